// The CommitLog: every message of every topic appended to one segmented, memory-mapped log.
// One writer at a time appends (a short critical section: reserve, encode, memcpy); a batch
// appends in one critical section and never spans segments. A background flush thread
// syncs written bytes: on an interval (ASYNC_FLUSH) or as soon as a waiter needs it, grouping
// every waiter that arrived meanwhile into one msync (SYNC_FLUSH group commit).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "commitlog/allocate_service.h"
#include "commitlog/mapped_file_queue.h"
#include "commitlog/store_config.h"
#include "commitlog/watermark.h"
#include "common/clock.h"
#include "common/record_codec.h"

namespace comet::commitlog {

struct AppendResult {
  uint64_t physical_offset = 0;
  uint32_t size = 0;
  uint64_t queue_offset = 0;
  int64_t store_timestamp_ms = 0;
  uint64_t end_offset() const { return physical_offset + size; }
};

// Bytes of one segment, kept mapped for as long as the view lives.
struct ReadView {
  MappedFilePtr file;
  const uint8_t* data = nullptr;
  uint32_t size = 0;
  uint64_t offset = 0;  // global offset of data[0]
  std::span<const uint8_t> bytes() const { return {data, size}; }
};

// (topic, queueId) as a hash key; lookups take a string_view without allocating.
struct TopicQueueKey {
  std::string topic;
  uint32_t queue_id = 0;
};
struct TopicQueueRef {
  std::string_view topic;
  uint32_t queue_id = 0;
};
struct TopicQueueHash {
  using is_transparent = void;
  size_t operator()(const TopicQueueRef& k) const {
    return std::hash<std::string_view>{}(k.topic) * 31 + k.queue_id;
  }
  size_t operator()(const TopicQueueKey& k) const {
    return (*this)(TopicQueueRef{k.topic, k.queue_id});
  }
};
struct TopicQueueEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return a.queue_id == b.queue_id && std::string_view(a.topic) == std::string_view(b.topic);
  }
};
template <typename V>
using TopicQueueMap = std::unordered_map<TopicQueueKey, V, TopicQueueHash, TopicQueueEq>;

class CommitLog {
 public:
  using RecordVisitor = std::function<void(const RecordView&)>;

  CommitLog(const StoreConfig& config, const Clock& clock, HostAddress store_host);
  ~CommitLog();

  // Maps the segments on disk; recover() must follow before appends.
  Status load();
  // Verifies records from the segment holding `verify_from` (or from the first segment that
  // was found short on disk, if earlier), calls `visit` for each valid record at or past
  // `dispatch_from`, and truncates the log at the first torn or corrupt record. Returns the
  // end offset of the valid log.
  Result<uint64_t> recover(uint64_t verify_from, uint64_t dispatch_from,
                           const RecordVisitor& visit);
  // Starts the flush thread.
  void start();
  // Flushes everything written and stops the flush thread.
  Status shutdown();

  Result<AppendResult> append(const Message& msg);
  // All or nothing: the batch lands contiguously in one segment.
  Result<std::vector<AppendResult>> append_batch(std::span<const Message> msgs);

  // Replica append: `bytes` are whole records (and possibly the blank that ends a segment)
  // copied from a master's log at `offset`, which must be this log's end. Every record is
  // CRC-checked and must claim the offset it lands at, so the replica stays byte-identical.
  // Returns the new end offset.
  Result<uint64_t> append_raw(uint64_t offset, std::span<const uint8_t> bytes);
  // Drops the whole log and makes it start (empty) at `base`: a replica too far behind its
  // master to catch up from what the master still retains.
  Status reset(uint64_t base);

  // Up to `max_bytes` from `offset`, within one segment, never past max_offset().
  Result<ReadView> read(uint64_t offset, uint32_t max_bytes) const;
  // Whole records from `offset` (which must start one), within one segment, about `max_bytes`
  // of them but at least one; the blank that ends a segment comes with the records before it.
  // What a master streams to its replicas.
  Result<ReadView> read_records(uint64_t offset, uint32_t max_bytes) const;
  // Appends the bytes [offset, end) to `out`, across segment ends (a replicated range).
  Status copy_range(uint64_t offset, uint64_t end, std::string* out) const;
  // Exactly `size` bytes at `offset` (one record, as a ConsumeQueue unit names it).
  Result<ReadView> read_exact(uint64_t offset, uint32_t size) const;

  uint64_t min_offset() const { return files_.min_offset(); }
  // End of the written (and readable) log.
  uint64_t max_offset() const { return max_offset_.load(std::memory_order_acquire); }
  Watermark& flushed() { return flushed_; }
  const Watermark& flushed() const { return flushed_; }

  // Syncs every byte written so far; with `least_pages` > 0 only when that many are dirty.
  // `waiters_completed`, if given, receives how many flush waiters the sync released.
  Status flush(uint32_t least_pages = 0, size_t* waiters_completed = nullptr);

  // Next queue offset per (topic, queueId), restored by recovery.
  void set_queue_offset(std::string_view topic, uint32_t queue_id, uint64_t next);
  // Forgets the next queue offsets of every queue of `topic` (a re-created topic starts at 0).
  // `at_cut(cut)` runs under the append lock with the log end at that moment: records below it
  // carry the old offsets, and no record at or above it exists before `at_cut` returns.
  void forget_topic(std::string_view topic, const std::function<void(uint64_t cut)>& at_cut);
  uint64_t queue_offset(std::string_view topic, uint32_t queue_id) const;

  // Cuts the log at `offset` (recovery, or a replica dropping a divergent tail) and rewinds
  // the next queue offsets to `queue_offsets` (what the ConsumeQueues hold below the cut).
  Status truncate(uint64_t offset);
  void reset_queue_offsets(TopicQueueMap<uint64_t> queue_offsets);

  // Retention: deletes up to `batch_max` of the oldest segments whose newest record is older
  // than `reserved_ms` (or any, with `force`), never the active segment and never one that
  // reaches past `deletable_end` (not yet dispatched or flushed). Returns how many.
  size_t delete_expired(int64_t now_ms, int64_t reserved_ms, bool force, uint64_t deletable_end,
                        size_t batch_max);
  // What delete_expired() would delete, without deleting: the first `count` segments, which
  // hold the log below `end_offset`. Then delete_oldest(count) deletes them.
  struct DeletionPlan {
    size_t count = 0;
    uint64_t end_offset = 0;
  };
  DeletionPlan plan_deletion(int64_t now_ms, int64_t reserved_ms, bool force,
                             uint64_t deletable_end, size_t batch_max) const;
  size_t delete_oldest(size_t count);

  size_t segment_count() const { return files_.count(); }
  // msync rounds that wrote something since start: messages per sync measures group commit.
  uint64_t sync_count() const { return sync_count_.load(std::memory_order_relaxed); }
  // Called after bytes become readable (outside the append lock); for the dispatcher.
  void set_append_hook(std::function<void()> hook) { append_hook_ = std::move(hook); }
  // Called once, on the flushing thread, when a sync fails (the store turns read-only), before
  // the flush waiters are failed; set before start(). Without one, the failure is logged.
  void set_io_error_hook(std::function<void(const Status&)> hook) {
    io_error_hook_ = std::move(hook);
  }
  // Called (under the append lock) after a new segment was taken on: the file system's use
  // changes in such steps, so the disk-full check samples it then too. Set before appends.
  void set_roll_hook(std::function<void()> hook) { roll_hook_ = std::move(hook); }

 private:
  // Makes room for `size` bytes in the active segment, filling the tail of a full one with a
  // blank and rolling over. Caller holds append_mu_.
  Result<MappedFile*> reserve(size_t size);
  // With warmMapedFileEnable: has the allocator warm the active segment a window ahead of `pos`
  // (MappedFile::warm) once the writer nears the end of what was warmed. Under append_mu_.
  void warm_ahead(uint64_t pos);
  // Aborts unless `physical_offset` is the log's end: where the next record must start. Under
  // append_mu_.
  void assert_continues_log(uint64_t physical_offset) const;
  // The next queue offset of (topic, queue), made 0 if absent. Caller holds append_mu_.
  uint64_t& queue_offset_slot(std::string_view topic, uint32_t queue_id);
  uint64_t next_queue_offset(std::string_view topic, uint32_t queue_id);
  void flush_loop();
  // SYNC_FLUSH: before syncing, waits (bounded by group_commit_gather_us) for as many waiters
  // as the previous sync released, so writers woken together are synced together.
  void gather_group(std::unique_lock<std::mutex>& lock, size_t expected);

  const StoreConfig config_;
  const Clock& clock_;
  const HostAddress store_host_;
  AllocateService allocator_;
  MappedFileQueue files_;

  mutable std::mutex append_mu_;
  MappedFilePtr active_;
  TopicQueueMap<uint64_t> queue_offsets_;
  Status sticky_error_;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> max_offset_{0};
  std::function<void()> append_hook_;
  std::function<void(const Status&)> io_error_hook_;
  std::function<void()> roll_hook_;

  Watermark flushed_;
  std::atomic<uint64_t> sync_count_{0};
  std::mutex flush_exec_mu_;  // one flush() at a time
  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool flush_requested_ = false;
  bool stop_ = false;
  std::thread flush_thread_;
};

}  // namespace comet::commitlog
