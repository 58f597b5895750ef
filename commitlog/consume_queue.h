// ConsumeQueue: the per-(topic, queueId) index into the CommitLog. Unit i (queue offset i) is
// 20 bytes at byte offset i*20: commitlog offset u64 | size u32 | tag hash u64. Derived data:
// rebuilt from the CommitLog by the dispatcher. One writer (the dispatcher), many readers.
// A unit of size 0 is a hole (never written) and is skipped by readers.
//
// What a queue costs is what it holds, so that a broker carries tens of thousands of them
// (docs/architecture.md, "What stays mapped"):
// - Files are sparse: a segment is created at its full size as a hole and takes disk blocks only
//   where units are written (commitlog/sparse_file.h).
// - New units wait in memory (`pending`) and are written out with pwrite by flush(), once per
//   flush interval, so the dispatcher never makes a system call per unit; readers see them there.
// - Units in files are read through the store's MappingCache (bounded, least recently used, no
//   descriptor kept), so a queue nobody reads holds no mapping and no descriptor.
// - load() reads only where the last file holds data.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "commitlog/mapping_cache.h"
#include "common/status.h"

namespace comet::commitlog {

struct CqUnit {
  uint64_t physical_offset = 0;
  uint32_t size = 0;
  uint64_t tag_hash = 0;
  bool operator==(const CqUnit&) const = default;
};

class ConsumeQueue {
 public:
  static constexpr uint64_t kUnitSize = 20;
  // How flush() makes what it wrote durable.
  enum class Sync {
    kEachFile,  // fdatasync each file written: few queues to flush
    kDeferred,  // not at all: the caller syncs the file system once and calls mark_synced()
  };

  // `mappings` (the store's) reads the files; without it the queue keeps a small cache of its own.
  ConsumeQueue(std::string topic, uint32_t queue_id, std::string dir, uint64_t file_size,
               MappingCache* mappings = nullptr);
  ~ConsumeQueue();
  ConsumeQueue(const ConsumeQueue&) = delete;
  ConsumeQueue& operator=(const ConsumeQueue&) = delete;

  const std::string& topic() const { return topic_; }
  uint32_t queue_id() const { return queue_id_; }

  // Finds the segment files on disk and the last written unit.
  Status load();
  // Drops every unit that points at or past CommitLog offset `physical_offset`, and every unit
  // after the last whole one below it (a unit torn by a page that never reached the disk).
  Status truncate_by_physical(uint64_t physical_offset);
  // Adds unit `queue_offset`. Rewriting an identical unit is a no-op; a unit past the end
  // leaves holes; a different unit below the end is corruption.
  Status put(uint64_t queue_offset, const CqUnit& unit);

  // Units in [from, from + max), stopping at max_offset(); holes come back with size 0.
  std::vector<CqUnit> read(uint64_t from, size_t max) const;
  std::optional<CqUnit> get(uint64_t queue_offset) const;

  // First readable queue offset (units below were deleted by retention).
  uint64_t min_offset() const { return min_offset_.load(std::memory_order_acquire); }
  // Next queue offset to be written.
  uint64_t max_offset() const { return max_offset_.load(std::memory_order_acquire); }
  // CommitLog offset just past the last unit's record, or 0 when empty.
  uint64_t max_physical_end() const;

  // The first queue offset at or past min_offset() whose unit points at or past CommitLog
  // offset `physical_offset` (max_offset() when none does): the units below it are those that
  // deleting the log below `physical_offset` would take away.
  uint64_t offset_at_physical(uint64_t physical_offset) const;

  // Whether units added since the last flush are not yet durable.
  bool needs_flush() const { return synced_end_.load(std::memory_order_acquire) < max_offset(); }
  // Writes the units waiting in memory to the files and, with Sync::kEachFile, syncs every file
  // written since the last sync. Units stay in memory (and readable) until written.
  Status flush(Sync sync = Sync::kEachFile);
  // After a Sync::kDeferred flush and a sync of the whole file system: what was written is
  // durable.
  void mark_synced();
  // Retention: deletes whole segments whose units all point below `min_physical_offset`
  // (never the last one) and moves min_offset() past units that do.
  void delete_expired(uint64_t min_physical_offset);
  // The queue is being deleted: it writes no file from now on (a flush in progress finishes
  // first) and drops the units waiting in memory.
  void retire();
  // Segment files on disk (tests and footprint checks).
  size_t file_count() const;

 private:
  uint64_t segment_start(uint64_t byte_pos) const { return byte_pos - byte_pos % file_size_; }
  std::string path_for(uint64_t start) const;
  // Units [from, to) that are in the files (below written_end_); segments past the last file
  // read as holes; stops early at a file that is gone.
  // Consumers read through the mapping cache; the queue's own upkeep (recovery, retention,
  // truncation) reads with pread, so it maps nothing and leaves the cache to readers.
  enum class Via { kMapping, kPread };
  void read_from_files(uint64_t from, uint64_t to, uint64_t files_end, Via via,
                       std::vector<CqUnit>& out) const;
  // Units [from, to), no bounds check; shorter when a file is gone.
  std::vector<CqUnit> read_range(uint64_t from, uint64_t to, Via via) const;
  // Creates the (sparse) segment files up to byte offset `end`. Under io_mu_.
  Status ensure_files_upto(uint64_t end);
  std::optional<CqUnit> unit_at(uint64_t queue_offset) const;  // no bounds check vs max
  // The first queue offset in [from, max_offset()) whose unit satisfies `stop`.
  template <typename Stop>
  uint64_t scan(uint64_t from, Stop stop) const;
  // The smallest unit the kernel or the disk writes back whole: a 4 KiB page or block (a larger
  // page size is a multiple of it).
  static constexpr uint64_t kWriteBackGranule = 4096;
  // Whether unit `queue_offset` (read as `unit`) straddles a write-back granule whose part of
  // it is zeros, and does not follow its predecessor in the log: torn, not a unit to keep.
  bool torn_at_page_edge(uint64_t queue_offset, const CqUnit& unit) const;
  // Cuts the queue at unit `end`: drops waiting units past it and zeroes the files from there.
  Status cut_at(uint64_t end);
  // Writes `bytes` at queue byte offset `pos`, creating segment files up to it. Under io_mu_.
  Status write_out(uint64_t pos, const std::vector<uint8_t>& bytes);
  Status sync_written();  // under io_mu_
  void correct_min_offset(uint64_t min_physical_offset);
  // Aborts unless `unit`, about to be added as unit `queue_offset`, lies in the log past the
  // queue's last unit (when it extends the queue).
  void assert_follows_last_unit(uint64_t queue_offset, const CqUnit& unit) const;  // under mu_
  // A different unit for an offset below the end: the one allowed case is a hole below
  // min_offset(), written in place.
  Status rewrite(uint64_t queue_offset, const CqUnit& unit);
  void forget_mappings(uint64_t from, uint64_t to);

  const std::string topic_;
  const uint32_t queue_id_;
  const std::string dir_;
  const uint64_t file_size_;
  std::unique_ptr<MappingCache> own_mappings_;  // when the store gave none
  MappingCache* const mappings_;
  const uint64_t mapping_owner_ = MappingCache::new_owner();

  // Held while files change (flush, truncation, retention), in that order before mu_; never
  // while a reader waits for mu_ behind it.
  mutable std::mutex io_mu_;
  // Guards the fields below. Units [min_offset_, written_end_) are in the files, units
  // [written_end_, max_offset_) in `pending_` (kUnitSize bytes each, encoded).
  mutable std::mutex mu_;
  std::vector<uint8_t> pending_;
  CqUnit last_unit_;               // the unit at max_offset_ - 1 (size 0: a hole, or none)
  uint64_t deferred_written_ = 0;  // written_end_ at the last Sync::kDeferred flush (io_mu_)
  bool retired_ = false;           // io_mu_
  uint64_t files_begin_ = 0;       // byte offset of the first segment file
  uint64_t files_end_ = 0;         // byte offset past the last segment file
  std::atomic<uint64_t> written_end_{0};
  std::atomic<uint64_t> synced_end_{0};
  std::atomic<uint64_t> min_offset_{0};
  std::atomic<uint64_t> max_offset_{0};
};

}  // namespace comet::commitlog
