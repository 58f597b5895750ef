// AdminClient: the admin-only requests behind comet-admin (topics, subscription groups, offsets,
// runtime, HA and
// DLedger), blocking and typed, one per wire request, each bounded by the client's timeout. They go
// over the client core (comet_client's MQClient): its connections, and its name-server failover.
// Sends and pulls are not here: comet-admin makes them with the client's Producer and
// PullConsumer, on the same MQClient (client_config()).
// A failure is a Status whose message is either the transport failure ("cannot connect to ...",
// "no response from ... within N ms") or "<RESPONSE_CODE>: <remark>" as the server answered, its
// code the client's mapping (client::status_code_of).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "consumer/message_ext.h"
#include "producer/client_config.h"
#include "producer/mq_client.h"
#include "remoting/remoting_command.h"

namespace comet::admin {

namespace protocol = ::comet::protocol;
using remoting::ResponseCode;

class AdminClient {
 public:
  // `namesrv_addrs`: "host:port;host:port".
  AdminClient(const std::string& namesrv_addrs, std::chrono::milliseconds timeout);
  // With the credentials and TLS settings of `config` (its namesrv_addr, client_id and
  // security; the request timeout is `timeout`). Check setup_status() before use.
  AdminClient(client::ClientConfig config, std::chrono::milliseconds timeout);
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  Result<protocol::ClusterInfoT> cluster_info();
  Result<protocol::TopicRouteDataT> route(const std::string& topic);

  Status update_topic(const std::string& broker_addr, const protocol::TopicConfigT& config);
  // update_topic without waiting, for creating thousands of topics with many requests in flight
  // (comet-bench --topics): `done` runs once, on a client I/O thread, and must not block.
  void update_topic_async(const std::string& broker_addr, const protocol::TopicConfigT& config,
                          std::function<void(Status)> done);
  Status delete_topic(const std::string& broker_addr, const std::string& topic);
  Result<std::vector<protocol::TopicConfigT>> topic_configs(const std::string& broker_addr);
  // Creates or replaces a consumer group's config (retryMaxTimes, ...) on a master.
  Status update_subscription_group(const std::string& broker_addr,
                                   const protocol::SubscriptionGroupConfigT& config);
  Result<std::vector<protocol::SubscriptionGroupConfigT>> subscription_groups(
      const std::string& broker_addr);
  Result<int64_t> min_offset(const std::string& broker_addr, const std::string& topic,
                             int32_t queue_id);
  Result<int64_t> max_offset(const std::string& broker_addr, const std::string& topic,
                             int32_t queue_id);
  // nullopt when the group has committed nothing for the queue (QUERY_NOT_FOUND).
  Result<std::optional<int64_t>> consumer_offset(const std::string& broker_addr,
                                                 const std::string& group, const std::string& topic,
                                                 int32_t queue_id);
  Status update_consumer_offset(const std::string& broker_addr, const std::string& group,
                                const std::string& topic, int32_t queue_id, int64_t offset);
  // INVOKE_BROKER_TO_RESET_OFFSET on a master: the group's offsets of `topic` on that broker
  // move to the first message stored at or after `timestamp_ms` (-1: the queues' ends); the
  // broker tells the group's online consumers first, so this may take the broker's wait for
  // them (3 s) longer than other calls.
  Result<protocol::ResetOffsetResultT> reset_offset_by_time(const std::string& broker_addr,
                                                            const std::string& group,
                                                            const std::string& topic,
                                                            int64_t timestamp_ms, bool force);
  // Every committed offset the broker holds (GET_ALL_CONSUMER_OFFSET): which topics each group
  // consumes, as RocketMQ's consumer stats find them in the offset table.
  Result<std::vector<protocol::ConsumerOffsetEntryT>> all_consumer_offsets(
      const std::string& broker_addr);
  Result<std::vector<std::string>> consumer_list(const std::string& broker_addr,
                                                 const std::string& group);
  Result<std::vector<std::pair<std::string, std::string>>> runtime_info(
      const std::string& broker_addr);
  // Deletes a consumer group's config on a master, and its offsets with `clean_offset`.
  Status delete_subscription_group(const std::string& broker_addr, const std::string& group,
                                   bool clean_offset);
  // The group's online members on one broker (kNotFound: CONSUMER_NOT_ONLINE).
  Result<protocol::ConsumerConnectionT> consumer_connection(const std::string& broker_addr,
                                                            const std::string& group);
  Result<protocol::ProducerConnectionT> producer_connection(const std::string& broker_addr,
                                                            const std::string& group);
  // The group's progress on one broker (of `topic`, or of every topic it has offsets for) and
  // its consume TPS there.
  Result<protocol::ConsumeStatsT> consume_stats(const std::string& broker_addr,
                                                const std::string& group, const std::string& topic);

  Result<protocol::HaStatusT> ha_status(const std::string& broker_addr);
  // Makes the slave at `broker_addr` the master of a new epoch (>= min_epoch); `role` empty:
  // the role its master had. Returns the broker's description of what it did.
  Result<std::string> promote_slave(const std::string& broker_addr, int64_t min_epoch,
                                    const std::string& role);

  // DLedger: the member's view of its Raft group.
  Result<protocol::DLedgerStatusT> dledger_status(const std::string& broker_addr);
  // DLedger: asks the leader at `broker_addr` to hand leadership to member `target_id`; returns
  // once the target leads.
  Result<std::string> transfer_leader(const std::string& broker_addr, const std::string& target_id);

  // The open transactions of a master (GET_OPEN_TRANSACTIONS), oldest first: at most `limit`,
  // of `producer_group` only unless it is empty; `total` counts them all.
  Result<protocol::OpenTransactionListT> open_transactions(const std::string& broker_addr,
                                                           const std::string& producer_group,
                                                           int32_t limit);

  // --- Finding messages (admin/query_client.cc) ---
  // What one broker answered a lookup: `status` ok with the messages it holds, or its refusal
  // (QUERY_NOT_FOUND as kNotFound, BAD_REQUEST as kInvalidArgument, ...). The Result's own error
  // is a broker that did not answer (connection, timeout): the caller may ask another replica.
  struct LookupAnswer {
    ResponseCode code = ResponseCode::SUCCESS;
    Status status;
    std::vector<client::MessageExt> messages;  // as the broker sent them (newest first)
  };
  // QUERY_MESSAGE: messages of a topic by key (unique_key: by UNIQ_KEY only); `broker_name`
  // names the broker in the decoded messages.
  Result<LookupAnswer> query_messages(const std::string& broker_addr,
                                      const std::string& broker_name,
                                      const protocol::QueryMessageRequestT& query);
  // VIEW_MESSAGE_BY_ID: the message at a CommitLog offset.
  Result<LookupAnswer> view_message(const std::string& broker_addr, const std::string& broker_name,
                                    int64_t physical_offset);

  std::chrono::milliseconds timeout() const { return timeout_; }
  // Why the config's credentials or TLS files cannot be used (ok when they can).
  const Status& setup_status() const { return client_->setup_status(); }
  // For the Producer and PullConsumer of sendMessage and consumeMessage: they share this
  // client's MQClient (same client_id).
  const client::ClientConfig& client_config() const { return config_; }

 private:
  Result<remoting::RemotingCommand> call(const std::string& addr, remoting::RemotingCommand req,
                                         std::chrono::milliseconds timeout);
  Result<remoting::RemotingCommand> call(const std::string& addr, remoting::RemotingCommand req) {
    return call(addr, std::move(req), timeout_);
  }
  Result<remoting::RemotingCommand> call_namesrv(const remoting::RemotingCommand& req);
  Result<LookupAnswer> lookup(const std::string& broker_addr, const std::string& broker_name,
                              remoting::RemotingCommand req);
  Result<int64_t> queue_offset(const std::string& broker_addr, const std::string& topic,
                               int32_t queue_id, bool max);

  const client::ClientConfig config_;
  const std::chrono::milliseconds timeout_;
  const std::shared_ptr<client::MQClient> client_;
};

// A Status for a server's error answer: "<RESPONSE_CODE>: <remark>".
Status status_from_response(const remoting::RemotingCommand& resp);

}  // namespace comet::admin
