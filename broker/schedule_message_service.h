// ScheduleMessageService: delivers delayed messages (RocketMQ's ScheduleMessageService).
// SendMessageProcessor stores a message sent with DELAY level n in queue n-1 of
// SCHEDULE_TOPIC_XXXX, its real topic and queue kept in properties (to_schedule_topic). Every
// message of a level waits the same delay and the queue is in store order, so a level's head is
// always its next message due.
//
// Only the master (the Raft leader) delivers. Per level it reads the messages at the head; those
// whose store time plus the level's delay has passed are appended to their real topic and queue
// through the replication seam (one batch, so a delivery is as durable as a send), and then the
// level's progress is committed as the consumer offset of group %SCHEDULE%, which the metadata
// log carries to the replicas. A new master resumes each level from that progress, so nothing due
// is lost, and a message is delivered twice only if the old master delivered it in the moment its
// progress had not yet reached the replicas (a metadata flush interval plus replication).
//
// Wakes, never polls: an arrival in a level with nothing pending (the dispatcher's listener), the
// head's due time (a timer per level), a failed append (retried after a second), and role
// changes (wake_all: becoming master, or a master confirmed by the name server).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>

#include "broker/broker_context.h"
#include "broker/replication.h"

namespace comet::broker {

// Rewrites a message whose DELAY property names a level for the schedule topic: its real topic and
// queue go into REAL_TOPIC and REAL_QID, DELAY is clamped to the highest level. The new
// properties are written to `storage`, which must outlive the append. Returns the level (0: the
// message is not delayed and was left as it was).
uint32_t to_schedule_topic(Message& m, size_t levels, std::string& storage);

class ScheduleMessageService {
 public:
  // At most this many messages, and bytes (or a quarter of a CommitLog segment: a batch must
  // fit in one), per append. One append per level is in flight, so a batch carries what fell
  // due during the previous one's round trip: with 32 a Raft group (a commit takes milliseconds)
  // delivered less than 40,000 msgs/s (comet-bench delay --mode dledger, docs/benchmarks.md).
  static constexpr uint32_t kMaxBatch = 256;
  static constexpr uint64_t kMaxBatchBytes = 1u << 20;

  ScheduleMessageService(BrokerContext& ctx, Replication& replication);
  ~ScheduleMessageService();

  void start();
  void stop();
  // The role may have changed: every level reloads its progress and looks at its head again.
  void wake_all();

 private:
  struct Level;
  void deliver(uint32_t level);  // on the strand
  void deliver_due(uint32_t level, commitlog::GetResult head);
  void wait_until(uint32_t level, std::chrono::milliseconds delay);
  void delivered(uint32_t level, uint64_t next, const AppendOutcome& out);
  uint64_t progress(uint32_t level) const;

  BrokerContext& ctx_;
  Replication& replication_;
  asio::strand<asio::io_context::executor_type> strand_;
  std::vector<std::unique_ptr<Level>> levels_;
  std::atomic<bool> stopped_{false};
};

}  // namespace comet::broker
