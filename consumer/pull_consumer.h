// PullConsumer: RocketMQ's DefaultMQPullConsumer for comet. The application picks the queues and
// offsets; every call is one blocking request (never call them from an I/O thread). Reads go to
// the master of the queue's broker, or to its lowest slave while the route lists no master
// (consumer/consumer_api.h). Offsets are the group's, stored on that broker.
//
// pull() answers at once; pull_block_if_not_found() long-polls: the broker holds the request up to
// 15 s (less when pull_timeout_when_suspend is shorter) until a message arrives.
// start(), shutdown() and the setters must not race other calls; the rest are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "consumer/pull_result.h"
#include "producer/client_config.h"
#include "producer/topic_route.h"

namespace comet::client {

class ConsumerApi;
class MQClient;

class PullConsumer {
 public:
  PullConsumer(std::string group, ClientConfig config);
  ~PullConsumer();
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  Status start();
  void shutdown();

  // The readable queues of `topic`, from the name server (sorted).
  Result<std::vector<MessageQueue>> fetch_subscribe_message_queues(const std::string& topic);

  Result<PullResult> pull(const MessageQueue& mq, std::string_view sub_expression, uint64_t offset,
                          int max_nums);
  Result<PullResult> pull_block_if_not_found(const MessageQueue& mq,
                                             std::string_view sub_expression, uint64_t offset,
                                             int max_nums);

  Status update_consume_offset(const MessageQueue& mq, uint64_t offset);
  // nullopt: the group has committed nothing on the queue.
  Result<std::optional<uint64_t>> fetch_consume_offset(const MessageQueue& mq);
  Result<uint64_t> max_offset(const MessageQueue& mq);
  Result<uint64_t> min_offset(const MessageQueue& mq);
  // RocketMQ's searchOffset: the first offset of `mq` whose message was stored at or after
  // `timestamp_ms` (ms since the epoch); the queue's max offset when none was.
  Result<uint64_t> search_offset(const MessageQueue& mq, int64_t timestamp_ms);
  // RocketMQ's earliestMsgStoreTime: the store time of the queue's first message (kNotFound for
  // an empty queue).
  Result<int64_t> earliest_msg_store_time(const MessageQueue& mq);

  const std::string& group() const { return group_; }
  const std::string& client_id() const { return config_.client_id; }
  // Timeout of pull() (default 10 s) and of pull_block_if_not_found() (default 20 s).
  void set_consumer_pull_timeout(std::chrono::milliseconds timeout);
  void set_pull_timeout_when_suspend(std::chrono::milliseconds timeout);
  // How long pull_block_if_not_found() asks the broker to hold a request at most (RocketMQ's
  // brokerSuspendMaxTimeMillis; default and upper bound 15 s).
  void set_broker_suspend_max_time(std::chrono::milliseconds max);

 private:
  Status check_running() const;

  const std::string group_;
  const ClientConfig config_;
  std::shared_ptr<MQClient> client_;
  std::shared_ptr<ConsumerApi> api_;
  bool running_ = false;
  std::chrono::milliseconds pull_timeout_{10000};
  std::chrono::milliseconds pull_timeout_when_suspend_{20000};
  std::chrono::milliseconds broker_suspend_max_{15000};
};

}  // namespace comet::client
