// Consumer and producer groups for operators (RocketMQ's AdminBrokerProcessor):
//   DELETE_SUBSCRIPTIONGROUP      a group's config and (clean_offset, the default) its offsets go;
//                                 masters only; the metadata log carries it to the replicas
//   GET_CONSUMER_CONNECTION_LIST  the group's online members (CONSUMER_NOT_ONLINE without any)
//   GET_PRODUCER_CONNECTION_LIST  the producer group's online members (the same)
//   GET_CONSUME_STATS             per queue: max offset, committed offset, store time of the last
//                                 message consumed; and the group's consume TPS over the last
//                                 minute (BrokerStats)
#pragma once

#include "broker/broker_context.h"

namespace comet::broker {

class GroupAdminProcessor {
 public:
  explicit GroupAdminProcessor(BrokerContext& ctx) : ctx_(ctx) {}
  void process(const ConnectionPtr& conn, RemotingCommand req);

 private:
  void delete_group(const ConnectionPtr& conn, const RemotingCommand& req);
  void consumer_connections(const ConnectionPtr& conn, const RemotingCommand& req);
  void producer_connections(const ConnectionPtr& conn, const RemotingCommand& req);
  void consume_stats(const ConnectionPtr& conn, const RemotingCommand& req);
  // The store time of the message at `offset` of the queue; 0 when there is none.
  int64_t store_time_at(const std::string& topic, uint32_t queue_id, uint64_t offset) const;

  BrokerContext& ctx_;
};

}  // namespace comet::broker
