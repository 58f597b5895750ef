// TimerMessageService: delivers timer messages (RocketMQ 5's TimerMessageStore, simplified).
// SendMessageProcessor stores a timer message due later in queue 0 of rmq_sys_wheel_timer with
// TIMER_OUT_MS, REAL_TOPIC and REAL_QID (broker/timer_messages.h).
//
// Every replica (master, slave, follower) builds its own schedule from that queue, so a promoted
// replica has one already: it reads the queue in order from its insertion cursor and appends an
// entry per message to its timer log (broker/timer_log.h), linked into the timing wheel
// (broker/timer_wheel.h). A local checkpoint (timer/checkpoint: the queue offset inserted up to
// and the log length, synced) lets a restart, kill -9 included, cut the log there and insert
// again from that offset: nothing twice, nothing missed.
//
// Only the master (the Raft leader) delivers, on the strand, woken by a timer at the next due
// time (or the next occupied tick), by arrivals and by role changes; it never polls. It scans the
// wheel tick by tick from its delivered watermark W up to now, reads each due message from the
// CommitLog, restores its real topic and queue and appends it through Replication::append (so a
// delivery is as durable as a send), then advances W. A message read from the queue already due
// before the scanned time is delivered at once. Progress is replicated as consumer offsets of
// group %TIMER% (queue 0: Q, the queue offset below which the master handled every message;
// queue 1: W), which the metadata log carries to the replicas. A new master catches up over the
// queue offsets [Q, its insertion cursor) delivering those due before W, then scans from W:
// nothing is lost, and only what the old master delivered after its last metadata flush comes
// twice (docs/architecture.md, 5.7). A failed append is retried after a second, never dropped.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio.hpp>

#include "broker/broker_context.h"
#include "broker/replication.h"
#include "broker/timer_log.h"
#include "broker/timer_wheel.h"

namespace comet::broker {

class TimerMessageService {
 public:
  static constexpr uint32_t kMaxBatch = 32;             // messages per append
  static constexpr size_t kMaxJobTimers = 1024;         // timers gathered before appending
  static constexpr uint32_t kInsertBatch = 256;         // queue messages read per insertion step
  static constexpr uint64_t kSegmentEntries = 1 << 20;  // 32 MiB timer log segments

  TimerMessageService(BrokerContext& ctx, Replication& replication,
                      uint64_t segment_entries = kSegmentEntries);
  ~TimerMessageService();

  // Loads the checkpoint and the timer log and rebuilds the wheel (the store must be open).
  Status open();
  void start();
  // Writes a last checkpoint and stops.
  void stop();
  // The role may have changed: a master reloads the replicated progress and delivers.
  void wake_all();

 private:
  // Timers to append in order, then the progress to commit once all are appended.
  struct Job {
    std::vector<DueTimer> timers;
    size_t appended = 0;
    std::optional<int64_t> delivered_below_ms;  // W
    std::optional<uint64_t> handled_offset;     // Q
  };

  // All on the strand.
  void insert_more();
  void become_master();
  void step_down();
  bool leading();
  void catch_up();
  void scan_due();
  void arm_wake(int64_t at_ms);
  void push_job(Job job);
  void run_jobs();
  void appended(const AppendOutcome& out, size_t count);
  void commit_progress(const Job& job);
  void checkpoint();
  void schedule_checkpoint();
  void sync_loop();
  void fail(const Status& s);

  BrokerContext& ctx_;
  Replication& replication_;
  const uint64_t segment_entries_;
  const std::string dir_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer wake_timer_;
  asio::steady_timer retry_timer_;
  asio::steady_timer checkpoint_timer_;
  std::unique_ptr<TimerLog> log_;
  std::unique_ptr<TimerWheel> wheel_;
  std::atomic<bool> stopped_{false};
  bool started_ = false;
  std::atomic<bool> insert_posted_{false};
  bool failed_ = false;           // a timer log write failed: nothing more until a restart
  uint64_t cursor_ = 0;           // next timer queue offset to insert
  TimerCheckpoint checkpointed_;  // what the last checkpoint holds
  // The periodic checkpoint's fdatasync and file write run on their own thread, not on an I/O
  // thread: the strand hands over duplicated descriptors and the checkpoint they make true.
  struct SyncJob {
    std::vector<int> fds;
    TimerCheckpoint checkpoint;
  };
  std::thread sync_thread_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::optional<SyncJob> sync_job_;  // guarded by sync_mu_
  bool sync_stop_ = false;           // guarded by sync_mu_
  bool syncing_ = false;             // strand: a job is with the sync thread
  // Delivery (master only).
  bool leading_ = false;
  int64_t leading_epoch_ = 0;  // the epoch (term) this broker leads in
  bool catching_up_ = false;
  uint64_t catch_up_next_ = 0;
  uint64_t catch_up_end_ = 0;
  uint64_t handled_ = 0;    // Q as loaded: queue offsets below were handled before
  int64_t scanned_ms_ = 0;  // timers due before this were gathered for delivery
  std::optional<int64_t> wake_at_ms_;
  std::deque<Job> jobs_;
  bool appending_ = false;
  bool retry_armed_ = false;
  bool resume_after_jobs_ = false;
  uint64_t term_ = 0;  // bumped by step_down(): older appends are ignored  // work waited for the
                       // job queue to shrink
  int64_t pushed_scanned_ms_ = 0;  // the last W handed to a job
};

}  // namespace comet::broker
