// MessageStore: the CommitLog plus its ConsumeQueues, the dispatcher that builds them, crash
// recovery, checkpointing and retention. This is what a broker (or a replica) embeds.
//
// Threads: the CommitLog's flush thread; a dispatcher thread woken by appends (never by
// polling) that turns new records into ConsumeQueue units and tells listeners; and a
// housekeeping thread that flushes ConsumeQueues, writes the checkpoint and runs retention
// on timers.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "commitlog/commit_log.h"
#include "commitlog/consume_queue.h"
#include "commitlog/store_checkpoint.h"
#include "commitlog/store_config.h"
#include "commitlog/store_health.h"
#include "commitlog/watermark.h"
#include "common/clock.h"

namespace comet::commitlog {

class IndexService;  // commitlog/index_service.h

enum class GetStatus {
  kFound,
  kNoMatchedMessage,     // units read but all filtered out by tag; next_begin_offset moves on
  kNoMatchedLogicQueue,  // no such (topic, queue)
  kNoMessageInQueue,     // the queue exists but is empty
  kOffsetTooSmall,       // below min_offset (deleted by retention)
  kOffsetOverflowOne,    // == max_offset: nothing new yet (long-poll)
  kOffsetOverflowBadly,  // > max_offset
};
std::string_view get_status_name(GetStatus s);

struct GetResult {
  GetStatus status = GetStatus::kNoMatchedLogicQueue;
  std::vector<ReadView> messages;  // one view per record, in queue order
  uint64_t next_begin_offset = 0;
  uint64_t min_offset = 0;
  uint64_t max_offset = 0;
  uint64_t total_bytes = 0;
};

struct RecoveryInfo {
  bool crashed = false;  // the abort marker was present: the last run did not stop cleanly
  bool checkpoint_found = false;
  uint64_t verified_from = 0;  // CommitLog offset where CRC verification started
  uint64_t end_offset = 0;     // end of the valid log after recovery
  uint64_t redispatched = 0;   // records replayed into ConsumeQueues
  uint64_t reindexed = 0;      // records the message index caught up on (it lagged)
};

class MessageStore {
 public:
  // (topic, queueId, new max queue offset) after the dispatcher indexed new messages.
  using ArrivalListener = std::function<void(std::string_view, uint32_t, uint64_t)>;
  using PutCallback = std::function<void(Result<AppendResult>)>;
  using BatchPutCallback = std::function<void(Result<std::vector<AppendResult>>)>;

  // Opens (and recovers) the store under config.store_path_root_dir. Fails with kUnavailable
  // when another process (or another MessageStore) has the directory open.
  // With `committed` set the log is replicated by consensus (DLedger): only records below the
  // committed offset are indexed into ConsumeQueues (so only committed messages are ever read),
  // starting from `*committed` and moving with advance_committed().
  static Result<std::unique_ptr<MessageStore>> open(const StoreConfig& config,
                                                    const Clock& clock = SystemClock::instance(),
                                                    HostAddress store_host = {},
                                                    std::optional<uint64_t> committed = {});
  ~MessageStore();

  // Appends; under SYNC_FLUSH returns once the record is durable, or kTimeout (appended but
  // not known durable) after syncFlushTimeout.
  Result<AppendResult> put_message(const Message& msg);
  Result<std::vector<AppendResult>> put_messages(std::span<const Message> msgs);
  // Appends now; `done` runs after the append (ASYNC_FLUSH) or once flushed (SYNC_FLUSH), on
  // the flushing thread. The caller owns any timeout.
  void put_message_async(const Message& msg, PutCallback done);
  void put_messages_async(std::span<const Message> msgs, BatchPutCallback done);

  // Up to `max_msgs` messages (and about `max_bytes`) of (topic, queue) from `offset`.
  // `tag_hashes`, when non-empty, keeps only messages whose tag hash is listed.
  GetResult get_messages(std::string_view topic, uint32_t queue_id, uint64_t offset,
                         uint32_t max_msgs, uint64_t max_bytes,
                         std::span<const uint64_t> tag_hashes = {}) const;
  uint64_t min_queue_offset(std::string_view topic, uint32_t queue_id) const;
  uint64_t max_queue_offset(std::string_view topic, uint32_t queue_id) const;
  // Every (topic, queueId) that has a ConsumeQueue.
  std::vector<TopicQueueKey> queues() const;

  // --- Finding messages (issue 21; commitlog/index_service.h builds the index) ---------
  // Messages of `topic` whose KEYS (space-separated) hold `key` or whose UNIQ_KEY is `key`,
  // stored in [begin_ms, end_ms], newest first, at most `max_num`. Each hit is read back and
  // checked (hashes collide), and only indexed records (below dispatched()) are returned.
  // kUnsupported when messageIndexEnable is off; kInvalidArgument for an empty key or one
  // longer than record::kMaxKeyLength.
  struct QueryResult {
    std::vector<ReadView> messages;
    int64_t index_last_update_ms = 0;    // store time of the last record indexed
    uint64_t index_last_update_phy = 0;  // CommitLog offset the index covers
  };
  Result<QueryResult> query_messages(std::string_view topic, std::string_view key, uint32_t max_num,
                                     int64_t begin_ms, int64_t end_ms) const;
  // The whole record at `physical_offset` (an offsetMsgId's), CRC-checked. kNotFound outside the
  // readable log (below min, at or above the read bound the dispatcher indexes up to: a message a
  // pull returned is readable, even while the dispatcher is still finishing its batch);
  // kInvalidArgument when no record starts there.
  Result<ReadView> read_message_at(uint64_t physical_offset) const;
  // The first queue offset of (topic, queue) whose message was stored at or after
  // `timestamp_ms`; max_queue_offset() when none was; min_queue_offset() when all were.
  uint64_t search_offset_by_time(std::string_view topic, uint32_t queue_id,
                                 int64_t timestamp_ms) const;
  // Store time of the queue's first (min offset) message; nullopt for an empty queue.
  std::optional<int64_t> earliest_store_time(std::string_view topic, uint32_t queue_id) const;

  void add_arrival_listener(ArrivalListener listener);
  // Runs on the appending thread after every append (replication wakes its senders with it).
  // Set it before the first append; it must be cheap.
  void set_append_listener(std::function<void()> listener) {
    append_listener_ = std::move(listener);
  }

  CommitLog& commit_log() { return commit_log_; }
  const CommitLog& commit_log() const { return commit_log_; }
  // CommitLog offset up to which ConsumeQueues are built.
  Watermark& dispatched() { return dispatched_; }
  // Consensus mode: the committed end of the log. Waiters complete as it advances.
  Watermark& committed() { return committed_; }
  bool commit_bounded() const { return commit_bounded_.load(std::memory_order_acquire); }
  // Consensus mode: records below `offset` are committed; the dispatcher indexes them.
  void advance_committed(uint64_t offset);
  // Master/slave: from now on only records below the committed offset are indexed (and so
  // read); it starts at `committed` (when the store was not bounded yet) and moves with
  // advance_committed(). A SYNC_MASTER bounds its reads by what a slave acknowledged, so no
  // consumer sees a message a promoted slave would not have. Records indexed already stay.
  void bound_to_committed(uint64_t committed);
  // Every record written is indexed again (ASYNC_MASTER, a slave that follows a master).
  void unbound();
  const RecoveryInfo& recovery_info() const { return recovery_; }
  // The message index; null when messageIndexEnable is off.
  const IndexService* index_service() const { return index_.get(); }
  const StoreConfig& config() const { return config_; }

  // Deletes every ConsumeQueue of `topic` (its files too) and forgets its queue offsets, so a
  // topic created again under the name starts empty at offset 0. The dispatcher applies the
  // deletion at the log position where it was asked for: records appended before go with the
  // old queues, records after it go to new ones. `done` runs on the dispatcher thread once the
  // queues are gone (and a checkpoint records it), or with an error if the store stops first.
  // Readers holding a queue keep a valid (unlinked) mapping until they let go of it.
  void delete_topic_async(std::string topic, std::function<void(Status)> done);
  Status delete_topic(std::string topic, std::chrono::milliseconds timeout);

  // Replica side of master/slave replication. append_replica() appends bytes copied from the
  // master's log at the same offset (CommitLog::append_raw); the dispatcher indexes them as it
  // does local appends.
  Result<uint64_t> append_replica(uint64_t offset, std::span<const uint8_t> bytes);
  // Cuts the log at `offset` (a divergent tail) and the ConsumeQueues with it, rewinding the
  // next queue offsets. An `offset` outside [min, max] of the log drops the whole log and its
  // ConsumeQueues and restarts it empty at `offset` (a replica the master cannot catch up).
  // Runs on the dispatcher thread once it has indexed everything written; no append may race
  // it. `done` runs there too.
  void truncate_async(uint64_t offset, std::function<void(Status)> done);
  Status truncate(uint64_t offset, std::chrono::milliseconds timeout);

  // Runs one retention pass now; returns the CommitLog segments deleted.
  size_t delete_expired_files();
  // What a retention pass is about to delete: told before the files go, on the housekeeping
  // thread. `queues` holds, per ConsumeQueue that loses units, the queue offsets
  // [begin, end) that go with the log below `log_end` (the broker compares them with what each
  // consumer group committed).
  struct QueueCut {
    std::string topic;
    uint32_t queue_id = 0;
    uint64_t begin = 0;
    uint64_t end = 0;
  };
  struct SegmentDeletion {
    bool forced = false;  // above diskSpaceCleanForciblyRatio, not expired yet
    size_t segments = 0;
    uint64_t log_begin = 0;
    uint64_t log_end = 0;
    std::vector<QueueCut> queues;
  };
  using DeletionListener = std::function<void(const SegmentDeletion&)>;
  // One listener; a later call replaces it.
  void set_deletion_listener(DeletionListener listener);
  // Whether writes are accepted (disk full refuses them); sampled every kDiskCheckInterval and
  // at once when an allocation finds no space.
  StoreHealth& health() { return health_; }
  const StoreHealth& health() const { return health_; }
  static constexpr std::chrono::milliseconds kDiskCheckInterval{100};
  // Samples the disk now (the housekeeping thread does it every kDiskCheckInterval).
  void check_disk();
  // Fraction (0..1) of the store's file system in use, or a negative value when unknown.
  // Retention and the disk-full state read it through this probe; tests replace it to be
  // independent of the host (with a ratio only: capacity and free bytes then read 0).
  using DiskUsageProbe = std::function<double(const std::string& path)>;
  void set_disk_usage_probe(DiskUsageProbe probe);
  using DiskSpaceProbe = std::function<DiskSpace(const std::string& path)>;
  void set_disk_space_probe(DiskSpaceProbe probe);
  static double file_system_usage(const std::string& path);
  // The fraction of the space this process could ever write that is used, from statvfs counts
  // (blocks, free blocks, blocks available to unprivileged users). A privileged process (root)
  // may write the reserved blocks too; an unprivileged one never can, so they count for neither
  // used nor capacity (df's Use%).
  static double disk_usage(uint64_t blocks, uint64_t free, uint64_t available, bool privileged);
  // Writes out and syncs every ConsumeQueue with units not yet durable (part of the checkpoint;
  // tests call it alone to leave files ahead of the checkpoint, as a crash between the two does).
  Status flush_consume_queues();
  // Flushes ConsumeQueues and the message index and writes the checkpoint now.
  Status checkpoint();

  // Clean stop: waits for the dispatcher to catch up, flushes everything, writes the
  // checkpoint and removes the abort marker.
  Status shutdown();
  // Stops every thread at once, flushing nothing and leaving the abort marker: what a
  // kill -9 leaves behind. For crash tests.
  void crash_for_test();

 private:
  MessageStore(const StoreConfig& config, const Clock& clock, HostAddress store_host);
  Status recover();
  void start_threads();
  void stop_threads();
  Status load_consume_queues();
  void release_lock();
  using ConsumeQueuePtr = std::shared_ptr<ConsumeQueue>;
  ConsumeQueuePtr find_or_create_cq(std::string_view topic, uint32_t queue_id);
  ConsumeQueuePtr find_cq(std::string_view topic, uint32_t queue_id) const;
  std::vector<ConsumeQueuePtr> all_cqs() const;
  // Removes the ConsumeQueues `which` selects from the map and returns them, to be released
  // (unmapped) after the lock.
  std::vector<ConsumeQueuePtr> take_queues(const std::function<bool(const TopicQueueKey&)>& which);
  // Runs `add` (which queues work for the dispatcher) under dispatch_mu_ and wakes the
  // dispatcher; false (without running `add`) once the store stopped.
  bool hand_to_dispatcher(const std::function<void()>& add);
  // Dispatcher thread: applies the topic deletions asked for at or below `position`.
  void apply_topic_deletions(uint64_t position);
  Status dispatch_record(const RecordView& r);
  // Recovery: indexes the records of [from, to) into the message index only (it lags the
  // ConsumeQueues: its directory was deleted, or it was just enabled).
  Status index_range(uint64_t from, uint64_t to, uint64_t* records);
  // The message index continues at this CommitLog offset (at or past the log's start).
  uint64_t index_resume_offset() const;
  // Dispatcher thread, caught up: applies the pending truncation, if any.
  void apply_truncation();
  Status truncate_now(uint64_t offset);
  void dispatch_loop();
  // Where indexing stops: the log end, or the committed offset in consensus mode.
  uint64_t dispatch_end() const;
  // Aborts unless `r`, found at log offset `at`, claims that offset and ends below `bound`.
  static void assert_indexable(const RecordView& r, uint64_t at, uint64_t bound);
  static void wake_dispatcher(void* store);
  void housekeeping_loop();
  // The periodic checkpoint flushes the message index only every kIndexFlushInterval. The
  // dispatcher writes the index's slot table at random, so within a second nearly every slot page
  // is dirty again; an msync then cleans thousands of pages, each a TLB shootdown on every CPU
  // and a write fault when the dispatcher touches it next. Flushed every second that doubled the
  // broker's CPU per message (docs/benchmarks.md, "The message index"). Nothing is lost on kill
  // -9 (the page cache survives it); after a power loss the index is not trustworthy either way
  // (docs/reliability.md).
  static constexpr std::chrono::seconds kIndexFlushInterval{60};
  Status write_checkpoint(bool flush_index);
  // Syncs the ConsumeQueues (and the index) and writes the checkpoint; write_checkpoint() keeps
  // it from running past an I/O error.
  Status sync_and_write_checkpoint(bool flush_index);

  // A failed allocation (`s`, of kNoSpace, for a file of `bytes`) makes the store refuse
  // writes; returns the refusal to answer with. Other statuses come back as they are.
  Status on_append_failure(const Status& s, uint64_t bytes);
  template <typename T>
  Result<T> refuse_if_no_space(Result<T> r, uint64_t bytes);
  DiskSpace sample_disk();
  // Retention: tells the deletion listener what deleting the log below `log_end` takes away.
  void announce_deletion(bool forced, size_t segments, uint64_t log_end);

  const StoreConfig config_;
  const Clock& clock_;
  DiskSpaceProbe disk_space_ = &sample_disk_space;
  std::mutex disk_usage_mu_;
  StoreHealth health_;
  std::mutex deletion_listener_mu_;
  DeletionListener deletion_listener_;  // guarded by deletion_listener_mu_
  CommitLog commit_log_;
  std::unique_ptr<IndexService> index_;  // null when messageIndexEnable is off
  RecoveryInfo recovery_;
  std::string abort_path_;
  int lock_fd_ = -1;  // flock'd `lock` file: one process per store directory
  std::string checkpoint_path_;

  // Before cqs_: a ConsumeQueue forgets its mappings when it goes.
  MappingCache cq_mappings_;
  mutable std::shared_mutex cq_mu_;
  TopicQueueMap<ConsumeQueuePtr> cqs_;

  struct TopicDeletion {
    std::string topic;
    uint64_t cut;  // log position: records below it belong to the deleted queues
    std::function<void(Status)> done;
  };
  // Guards deletions_ and truncations_. Lock order: dispatch_mu_, the CommitLog append lock,
  // deletions_mu_.
  std::mutex deletions_mu_;
  std::vector<TopicDeletion> deletions_;
  std::atomic<bool> deletions_pending_{false};

  struct Truncation {
    uint64_t offset;
    std::function<void(Status)> done;
  };
  std::vector<Truncation> truncations_;  // guarded by deletions_mu_
  std::atomic<bool> truncation_pending_{false};

  std::function<void()> append_listener_;
  std::vector<ArrivalListener> listeners_;
  std::mutex listeners_mu_;

  Watermark dispatched_;
  std::atomic<bool> commit_bounded_{false};
  Watermark committed_;
  uint64_t reput_offset_ = 0;  // dispatcher thread only
  std::atomic<bool> dispatcher_idle_{false};
  std::mutex dispatch_mu_;
  std::condition_variable dispatch_cv_;

  std::mutex house_mu_;
  std::condition_variable house_cv_;
  std::mutex checkpoint_mu_;

  bool stop_ = false;  // guarded by dispatch_mu_ and house_mu_ (set under both)
  bool closed_ = false;
  std::thread dispatch_thread_;
  std::thread house_thread_;
};

}  // namespace comet::commitlog
