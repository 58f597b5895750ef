// Producer: RocketMQ's DefaultMQProducer for comet. Sends the messages of a producer group to the
// master brokers of a topic's route, as CommitLog-format records (common/record_codec.h).
//
// Queue choice: round-robin over the route's writable queues; a retry avoids the broker that just
// failed, and with send_latency_fault_enable brokers isolated by LatencyFaultTolerance are skipped
// while any other remains. send() and send_async() retry SYSTEM_BUSY, SERVICE_NOT_AVAILABLE,
// SYSTEM_ERROR, timeouts and connection errors, up to retry_times + 1 attempts that all fit in
// send_msg_timeout; other errors come back at once (TOPIC_NOT_EXIST after a forced route refresh).
// send_ordered(), send(msg, mq) and send_oneway() make one attempt. A send (sync or async) that
// finds no writable queue, or whose retry would go to the sole master that just failed (a failover
// under way), waits within send_msg_timeout for the route to change, asking the name servers again
// every 200 ms; an async send waits without holding a thread. FLUSH_DISK_TIMEOUT,
// FLUSH_SLAVE_TIMEOUT and SLAVE_NOT_AVAILABLE with the stored position mean "stored, not yet
// flushed or replicated": a SendResult with that status. SLAVE_NOT_AVAILABLE without one (a
// SYNC_MASTER with no slave in sync refuses before storing) is retried on another broker.
//
// Settings are meant to be set before start(). Sends are thread-safe. Async callbacks run on the
// client's callback threads, never on an I/O thread, and on the caller's thread only when the
// producer is not running. shutdown() waits (bounded) for the callbacks of sends in flight; do not
// call it from a callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "producer/client_config.h"
#include "producer/mq_client.h"
#include "producer/topic_route.h"

namespace comet::client {

struct ProducerMessage {
  std::string topic;
  std::string body;
  std::string tags;
  std::string keys;
  std::map<std::string, std::string> properties;
  uint32_t flags = 0;
  // RocketMQ's setDelayTimeLevel: 0 delivers at once; level n waits the broker's n-th
  // messageDelayLevel (1s 5s 10s 30s 1m ... 2h by default; a level past the last is the last).
  // Negative is refused before sending, and so is a delayed message in a batch.
  int32_t delay_level = 0;
  // RocketMQ 5's timer messages: at most one of these, and not with a delay level. The broker
  // delivers the message at that time (a past time: at once); later than its timerMaxDelaySec
  // (3 days by default) it refuses the send. Negative values, two set together, one set with a
  // delay level, and any in a batch are refused before sending.
  std::optional<int64_t> deliver_time_ms = std::nullopt;  // setDeliverTimeMs: ms since the epoch
  std::optional<int64_t> delay_time_sec = std::nullopt;   // setDelayTimeSec: s from the send
  std::optional<int64_t> delay_time_ms = std::nullopt;    // setDelayTimeMs: ms from the send
  bool is_timer() const { return deliver_time_ms || delay_time_sec || delay_time_ms; }
};

enum class SendStatus { kSendOk, kFlushDiskTimeout, kFlushSlaveTimeout, kSlaveNotAvailable };
std::string_view send_status_name(SendStatus status);

struct SendResult {
  SendStatus status = SendStatus::kSendOk;
  // The message's UNIQ_KEY (producer/unique_id.h), as consumers see it; a batch's are joined
  // with ','. What queryMsgByUniqueKey and queryMsgById -t look up.
  std::string msg_id;
  // The broker's id of the stored message (common/msg_id.h: store host + CommitLog offset; a
  // batch: of its first message). What queryMsgById reads directly.
  std::string offset_msg_id;
  std::string broker_name;
  uint32_t queue_id = 0;
  uint64_t queue_offset = 0;  // of the first message
  uint64_t physical_offset = 0;
  uint32_t count = 1;          // messages stored by the request
  std::string transaction_id;  // a half message (TRAN_MSG): the broker's id of its transaction
};

class Producer {
 public:
  using SendCallback = std::function<void(Result<SendResult>)>;

  static constexpr size_t kDefaultMaxMessageSize = 4 * 1024 * 1024;

  Producer(std::string group, ClientConfig config);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  Status start();
  void shutdown();

  Result<SendResult> send(const ProducerMessage& msg);
  // By value: pass an rvalue and the body is moved, not copied.
  void send_async(ProducerMessage msg, SendCallback callback);
  Status send_oneway(const ProducerMessage& msg);
  // One request: every message goes to the same topic and the same queue.
  Result<SendResult> send(const std::vector<ProducerMessage>& batch);
  // Asynchronous form of the batch send (same retries as send_async).
  void send_async(std::vector<ProducerMessage> batch, SendCallback callback);
  // Queue = hash(sharding_key) % writable queue count: a key always lands on the same queue while
  // the route stays the same. No retry on another broker (it would break the order).
  Result<SendResult> send_ordered(const ProducerMessage& msg, std::string_view sharding_key);
  // To the queue the caller chose (RocketMQ's send(msg, mq)): one attempt, no retry elsewhere.
  Result<SendResult> send(const ProducerMessage& msg, const MessageQueue& mq);

  // The writable queues of `topic`, in the order queue selection uses.
  Result<std::vector<MessageQueue>> fetch_publish_queues(const std::string& topic);

  const std::string& group() const;
  const std::shared_ptr<MQClient>& client() const;
  // False while the fault tolerance isolates `broker_name`.
  bool broker_available(const std::string& broker_name) const;

  int retry_times_when_send_failed() const;
  void set_retry_times_when_send_failed(int times);
  int retry_times_when_send_async_failed() const;
  void set_retry_times_when_send_async_failed(int times);
  std::chrono::milliseconds send_msg_timeout() const;
  void set_send_msg_timeout(std::chrono::milliseconds timeout);
  size_t max_message_size() const;
  void set_max_message_size(size_t bytes);
  bool send_latency_fault_enable() const;
  void set_send_latency_fault_enable(bool enable);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace comet::client
