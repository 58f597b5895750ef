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
// listener returned kSuccess for it, or the broker took it back for a retry (below), and the
// same holds for everything before it; offsets are committed every persist_offset_interval, with
// pulls, when a queue moves to another member and at shutdown. A clustering consumer never
// skips a message.
//
// Retries (RocketMQ's ConsumeMessageConcurrentlyService and ConsumeMessageOrderlyService):
// - A clustering consumer also subscribes to its group's retry topic %RETRY%<group> ("*") and
//   divides its queues like any topic's. A message from there is shown to the listener under the
//   topic it was first consumed from (its RETRY_TOPIC), with the reconsume times the broker
//   stored; its queue, offsets and broker_name stay the retry queue's.
// - Concurrent listener (register_message_listener): for each message of a batch answered with
//   kReconsumeLater, CONSUMER_SEND_MSG_BACK to the master of the broker it came from (delay level
//   0: the broker delays it by level 3 + its reconsume times; max_reconsume_times travels with it,
//   and past it the broker puts it in %DLQ%<group>), and the queue moves on: the offset advances
//   past it and the queue's later messages do not wait. A send-back that fails is replaced by a
//   send of the message to %RETRY%<group> by this consumer's own producer (RETRY_TOPIC,
//   ORIGIN_MESSAGE_ID, RECONSUME_TIME = n + 1, MAX_RECONSUME_TIMES, DELAY = 3 + n, every other
//   property kept); if that fails too, the message is redelivered here after reconsume_delay with
//   its reconsume times + 1, and the queue's offset stays below it meanwhile.
//   Broadcasting has no retry topic: a failed message is dropped with an error line, as RocketMQ
//   does, and counted (dropped_broadcast_messages()).
// - Orderly listener (register_message_listener_orderly): kSuspendCurrentQueueAMoment suspends
//   the queue for suspend_current_queue_time and redelivers the same messages on it, in order,
//   each time with reconsume times + 1. A message failed once more when its reconsume times has
//   reached max_reconsume_times goes to the DLQ (sent by this consumer to %RETRY%<group> with
//   RECONSUME_TIME = MAX_RECONSUME_TIMES, which the broker puts in %DLQ%<group>) and the queue
//   moves on; if that send fails, the queue stays suspended and it is tried again. With
//   max_reconsume_times -1 (the default) orderly retries are unbounded, as RocketMQ's
//   Integer.MAX_VALUE.
// - Orderly across the group (clustering; RocketMQ's RebalancePushImpl and ProcessQueue locks):
//   a member locks a newly assigned queue on the master of its broker (LOCK_BATCH_MQ, batched
//   per broker) before it reads its offset and pulls it; a queue it cannot lock (another member
//   still holds it) is not taken, and the next rebalance tries again. Every
//   lock_renew_interval it renews all its locks; a queue whose lock another member holds now
//   is dropped (not committed), and one whose renewal did not reach the broker is not delivered
//   once lock_max_live_time passed since its last renewal (shorter than the broker's
//   rebalanceLockMaxLiveTime lease, so a member cut off stops before another may take the queue
//   over). A queue a rebalance takes away is committed and unlocked once its listener call
//   finished (one still running after 10 s keeps the lock until the lease lapses); shutdown
//   unlocks every queue the same way. Concurrent listeners and broadcasting lock nothing.
// - max_reconsume_times: -1 (default) is, for a concurrent listener, the group's retryMaxTimes
//   on the broker (16 unless set), and for an orderly one unbounded; n >= 0 sends the message to
//   the DLQ once it was redelivered n times (so the listener sees it n + 1 times).
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
enum class ConsumeOrderlyStatus { kSuccess, kSuspendCurrentQueueAMoment };
enum class MessageModel { kClustering, kBroadcasting };
enum class ConsumeFromWhere { kLastOffset, kFirstOffset };

using MessageListener = std::function<ConsumeStatus(const std::vector<MessageExt>&)>;
using MessageListenerOrderly = std::function<ConsumeOrderlyStatus(const std::vector<MessageExt>&)>;

class PushConsumer {
 public:
  PushConsumer(std::string group, ClientConfig config);
  ~PushConsumer();
  PushConsumer(const PushConsumer&) = delete;
  PushConsumer& operator=(const PushConsumer&) = delete;

  // `expression`: "*" or "TagA || TagB".
  Status subscribe(const std::string& topic, const std::string& expression = "*");
  // One listener: registering either kind replaces the other.
  void register_message_listener(MessageListener listener);
  void register_message_listener_orderly(MessageListenerOrderly listener);
  void set_message_model(MessageModel model);
  void set_consume_from_where(ConsumeFromWhere where);
  void set_consume_thread_count(int threads);                            // default 4
  void set_pull_batch_size(int messages);                                // default 32
  void set_consume_message_batch_max_size(int messages);                 // default 1
  void set_pull_threshold_for_queue(int messages);                       // default 1000
  void set_rebalance_interval(std::chrono::milliseconds interval);       // default 2000 ms
  void set_persist_offset_interval(std::chrono::milliseconds interval);  // default 1000 ms
  void set_max_reconsume_times(int times);                               // default -1
  // A concurrent message neither sent back nor sent to the retry topic waits this long.
  void set_reconsume_delay(std::chrono::milliseconds delay);  // default 1000 ms
  // Orderly: how long kSuspendCurrentQueueAMoment suspends the queue.
  void set_suspend_current_queue_time(std::chrono::milliseconds suspend);  // default 1000 ms
  // How long a broker may hold a pull waiting for messages (default 5000 ms).
  void set_long_polling_suspend(std::chrono::milliseconds suspend);
  // Orderly clustering: how often the queue locks are renewed, and how long after its last
  // renewal a lock lets the listener run (RocketMQ's 20 s and 30 s).
  void set_lock_renew_interval(std::chrono::milliseconds interval);  // default 20000 ms
  void set_lock_max_live_time(std::chrono::milliseconds live);       // default 30000 ms
  // Broadcasting only; default /tmp/comet-offsets/<client_id>/<group>.
  void set_offset_store_dir(std::string dir);

  Status start();
  void shutdown();

  const std::string& group() const;
  const std::string& client_id() const;
  // Broadcasting: messages the listener failed, dropped (there is no retry topic).
  uint64_t dropped_broadcast_messages() const;
  // Failed messages the broker took back (send-back) or this consumer sent to the retry topic
  // (or, orderly, to the DLQ) itself.
  uint64_t sent_back_messages() const;
  // The queues this consumer pulls now (its group's retry topic's among them, once it exists).
  std::vector<MessageQueue> assigned_queues() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace comet::client
