// PushConsumer: RocketMQ's DefaultMQPushConsumer for comet. The consumer pulls its queues itself
// (long polling) and hands the messages to a listener.
//
// Clustering (default): the group's members divide the readable queues of every subscribed topic
// with AllocateMessageQueueAveragely, re-run every rebalance_interval and once right after start;
// offsets are the group's, kept by the brokers. Broadcasting: every member consumes every queue
// and keeps its own offsets in <offset_store_dir>/offsets.txt. A queue without an offset starts
// at consume_from_where (the queue's max offset, or its min offset).
//
// Delivery: serial per queue (one listener call in flight per queue, in queue order), parallel
// across queues on consume_thread_count threads; at most pull_threshold_for_queue messages are
// buffered per queue. At least once: a queue's offset moves past a message only once the
// listener returned kSuccess for it and for everything before it; offsets are committed every
// persist_offset_interval, with pulls, when a queue moves to another member and at shutdown.
// kReconsumeLater redelivers the same batch on its queue after reconsume_delay, up to
// max_reconsume_times times; then the batch is skipped, logged and counted
// (dropped_after_retries()).
//
// Settings and subscriptions are taken before start(). shutdown() stops pulling, waits (bounded)
// for the listener calls in flight, commits the offsets and leaves the group, so the others
// rebalance at once; never call it from the listener.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "consumer/message_ext.h"
#include "producer/client_config.h"
#include "producer/topic_route.h"

namespace comet::client {

enum class ConsumeStatus { kSuccess, kReconsumeLater };
enum class MessageModel { kClustering, kBroadcasting };
enum class ConsumeFromWhere { kLastOffset, kFirstOffset };

using MessageListener = std::function<ConsumeStatus(const std::vector<MessageExt>&)>;

class PushConsumer {
 public:
  PushConsumer(std::string group, ClientConfig config);
  ~PushConsumer();
  PushConsumer(const PushConsumer&) = delete;
  PushConsumer& operator=(const PushConsumer&) = delete;

  // `expression`: "*" or "TagA || TagB".
  Status subscribe(const std::string& topic, const std::string& expression = "*");
  void register_message_listener(MessageListener listener);
  void set_message_model(MessageModel model);
  void set_consume_from_where(ConsumeFromWhere where);
  void set_consume_thread_count(int threads);                            // default 4
  void set_pull_batch_size(int messages);                                // default 32
  void set_consume_message_batch_max_size(int messages);                 // default 1
  void set_pull_threshold_for_queue(int messages);                       // default 1000
  void set_rebalance_interval(std::chrono::milliseconds interval);       // default 2000 ms
  void set_persist_offset_interval(std::chrono::milliseconds interval);  // default 1000 ms
  void set_max_reconsume_times(int times);                               // default 16
  void set_reconsume_delay(std::chrono::milliseconds delay);             // default 1000 ms
  // How long a broker may hold a pull waiting for messages (default 5000 ms).
  void set_long_polling_suspend(std::chrono::milliseconds suspend);
  // Broadcasting only; default /tmp/comet-offsets/<client_id>/<group>.
  void set_offset_store_dir(std::string dir);

  Status start();
  void shutdown();

  const std::string& group() const;
  const std::string& client_id() const;
  // Messages skipped after max_reconsume_times redeliveries.
  uint64_t dropped_after_retries() const;
  // The queues this consumer pulls now.
  std::vector<MessageQueue> assigned_queues() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace comet::client
