// ConsumerApi: the requests a consumer makes to brokers, over the shared MQClient of its
// client_id: PULL_MESSAGE, consumer offsets (QUERY/UPDATE_CONSUMER_OFFSET), queue offsets
// (GET_MAX/MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP, GET_EARLIEST_MSG_STORETIME), group membership
// (GET_CONSUMER_LIST_BY_GROUP, UNREGISTER_CLIENT), orderly queue locks (LOCK/UNLOCK_BATCH_MQ).
//
// Reads of a queue go to the master (broker id 0) of its broker group; when the route lists no
// master for it (dead and expired), to the slave with the lowest id, and so do the offsets
// committed meanwhile. The blocking calls must not run on an I/O thread of the MQClient.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/logging.h"
#include "common/status.h"
#include "consumer/message_ext.h"
#include "consumer/pull_result.h"
#include "producer/mq_client.h"
#include "producer/topic_route.h"
#include "remoting/remoting_command.h"

namespace comet::client {

// The "consumer" logger, shared by the pull and push consumers.
const std::shared_ptr<spdlog::logger>& consumer_log();

struct ReadTarget {
  int64_t broker_id = kMasterId;
  std::string addr;
  bool operator==(const ReadTarget&) const = default;
};

// The master of `broker`, else its slave with the lowest id, leaving out any replica at `avoid`;
// nullopt when none is left.
std::optional<ReadTarget> select_read_target(const BrokerData& broker, std::string_view avoid = {});

// The tags of a subscription expression ("TagA || TagB"); empty for "*" or "" (every message).
// Parsed as the broker parses it (split_tag_expression in common/record_codec.h).
std::vector<std::string> parse_subscription_tags(std::string_view expression);
bool tags_match(const std::vector<std::string>& tags, std::string_view message_tags);

// A PULL_MESSAGE request; commit_offset, when set, is committed by the broker with the pull.
remoting::RemotingCommand make_pull_request(const std::string& group, const MessageQueue& mq,
                                            std::string_view expression, uint64_t offset,
                                            int max_nums, std::chrono::milliseconds suspend,
                                            std::optional<uint64_t> commit_offset);

// A PULL_MESSAGE response (or the transport failure) as a PullResult: SUCCESS → kFound with the
// records decoded and filtered again by `tags` (the broker filters by tag hash), PULL_NOT_FOUND →
// kNoNewMsg, PULL_RETRY_IMMEDIATELY → kNoMatchedMsg, PULL_OFFSET_MOVED → kOffsetIllegal; any other
// code, a missing header or a corrupt record is an error.
Result<PullResult> to_pull_result(Result<remoting::RemotingCommand> response,
                                  const MessageQueue& mq, const std::vector<std::string>& tags);

class ConsumerApi {
 public:
  ConsumerApi(std::shared_ptr<MQClient> client, std::string group);

  MQClient& client() { return *client_; }
  const std::shared_ptr<MQClient>& client_ptr() const { return client_; }
  const std::string& group() const { return group_; }

  // From the cached route of mq.topic (fetched when not cached).
  // The replica to read `mq` from: the master, else the lowest slave; with `avoid`, the first
  // replica (master included) at another address.
  Result<ReadTarget> read_target(const MessageQueue& mq, std::string_view avoid = {});

  Result<PullResult> pull(const MessageQueue& mq, std::string_view expression, uint64_t offset,
                          int max_nums, std::chrono::milliseconds suspend,
                          std::chrono::milliseconds timeout,
                          std::optional<uint64_t> commit_offset = std::nullopt);

  // nullopt: the group has no committed offset for the queue (QUERY_NOT_FOUND).
  Result<std::optional<uint64_t>> query_consumer_offset(const MessageQueue& mq);
  Status update_consumer_offset(const MessageQueue& mq, uint64_t offset);
  // Fire and forget; a failure is logged.
  void update_consumer_offset_async(const MessageQueue& mq, uint64_t offset);
  Result<uint64_t> max_offset(const MessageQueue& mq);
  Result<uint64_t> min_offset(const MessageQueue& mq);
  // SEARCH_OFFSET_BY_TIMESTAMP: the first offset of `mq` stored at or after `timestamp_ms`
  // (the queue's max offset when none was).
  Result<uint64_t> search_offset(const MessageQueue& mq, int64_t timestamp_ms);
  // GET_EARLIEST_MSG_STORETIME: the store time of the queue's first message, ms since the epoch
  // (kNotFound for an empty queue).
  Result<int64_t> earliest_msg_store_time(const MessageQueue& mq);

  // CONSUMER_SEND_MSG_BACK to the master of the broker `msg` was pulled from: that broker writes
  // it to %RETRY%<group>, delayed by `delay_level` (0: level 3 + its reconsume times), or, once
  // it was consumed `max_reconsume_times` times (-1: the group's retryMaxTimes), to
  // %DLQ%<group>. kUnavailable when the route names no master for that broker; any other
  // failure is the broker's answer or the transport's.
  Status send_message_back(const MessageExt& msg, int delay_level, int max_reconsume_times);

  // LOCK_BATCH_MQ for this client to the master of `broker_name` (RocketMQ locks on masters
  // only): the queues of `queues` (that broker's) the client holds now, locked or renewed.
  // kUnavailable when the route names no master for it.
  Result<std::vector<MessageQueue>> lock_batch(const std::string& broker_name,
                                               const std::vector<MessageQueue>& queues);
  // UNLOCK_BATCH_MQ for this client to the master of `broker_name`.
  Status unlock_batch(const std::string& broker_name, const std::vector<MessageQueue>& queues);

  // Client ids of the group as a broker of `topic` knows them (the first that answers).
  Result<std::vector<std::string>> consumer_ids(const std::string& topic);
  // UNREGISTER_CLIENT for the group to every broker (masters and slaves) of the routes of
  // `topics`, waiting for the answers up to the request timeout.
  void unregister_client(const std::vector<std::string>& topics);

 private:
  // Sends `request` to read_target(mq); when that replica does not answer, once more to the
  // next one (reads and offset commits are served by every replica of a broker).
  Result<remoting::RemotingCommand> invoke_read(const MessageQueue& mq,
                                                remoting::RemotingCommand request,
                                                std::chrono::milliseconds timeout,
                                                std::string_view what);
  Result<remoting::RemotingCommand> call(const MessageQueue& mq, remoting::RemotingCommand request,
                                         std::string_view what);
  Result<uint64_t> queue_offset(const MessageQueue& mq, bool max);

  const std::shared_ptr<MQClient> client_;
  const std::string group_;
};

}  // namespace comet::client
