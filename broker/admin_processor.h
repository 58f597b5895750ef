// The broker's smaller requests: topic admin (create/update, delete, list), subscription group
// configs (create/update, list), consumer offsets
// (query, update), queue min/max offsets, client heartbeats and consumer group membership, and
// runtime information for operators.
#pragma once

#include <functional>

#include "broker/broker_context.h"

namespace comet::broker {

class AdminProcessor {
 public:
  // After a topic is created, updated or deleted, `on_topics_changed(done)` re-registers with
  // the name servers and calls `done` when they have answered: the admin's request is answered
  // then, so a route lookup right after it sees the change.
  using TopicsChanged = std::function<void(std::function<void()> done)>;
  AdminProcessor(BrokerContext& ctx, TopicsChanged on_topics_changed)
      : ctx_(ctx), on_topics_changed_(std::move(on_topics_changed)) {}
  void process(const ConnectionPtr& conn, RemotingCommand req);

 private:
  void update_topic(const ConnectionPtr& conn, const RemotingCommand& req);
  void delete_topic(const ConnectionPtr& conn, const RemotingCommand& req);
  void answer_after_registration(const ConnectionPtr& conn, const RemotingCommand& req);
  void all_topics(const ConnectionPtr& conn, const RemotingCommand& req);
  void update_group(const ConnectionPtr& conn, const RemotingCommand& req);
  void all_groups(const ConnectionPtr& conn, const RemotingCommand& req);
  void query_offset(const ConnectionPtr& conn, const RemotingCommand& req);
  void update_offset(const ConnectionPtr& conn, const RemotingCommand& req);
  void queue_offset(const ConnectionPtr& conn, const RemotingCommand& req, bool max);
  void heartbeat(const ConnectionPtr& conn, const RemotingCommand& req);
  // %RETRY%<group> of each clustering group a RocketMQ client heartbeats.
  void create_retry_topics(const protocol::HeartbeatRequestT& hb);
  void unregister_client(const ConnectionPtr& conn, const RemotingCommand& req);
  void consumer_list(const ConnectionPtr& conn, const RemotingCommand& req);
  void all_offsets(const ConnectionPtr& conn, const RemotingCommand& req);
  void runtime_info(const ConnectionPtr& conn, const RemotingCommand& req);

  BrokerContext& ctx_;
  TopicsChanged on_topics_changed_;
};

}  // namespace comet::broker
