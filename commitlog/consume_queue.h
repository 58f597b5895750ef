// ConsumeQueue: the per-(topic, queueId) index into the CommitLog. Unit i (queue offset i) is
// 20 bytes at byte offset i*20: commitlog offset u64 | size u32 | tag hash u64. Derived data:
// rebuilt from the CommitLog by the dispatcher. One writer (the dispatcher), many readers.
// A unit of size 0 is a hole (never written) and is skipped by readers.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "commitlog/mapped_file_queue.h"

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

  ConsumeQueue(std::string topic, uint32_t queue_id, std::string dir, uint64_t file_size);

  const std::string& topic() const { return topic_; }
  uint32_t queue_id() const { return queue_id_; }

  // Maps the segments on disk and finds the last written unit.
  Status load();
  // Drops every unit that points at or past CommitLog offset `physical_offset`, and every unit
  // after the last whole one below it (a unit torn by a page that never reached the disk).
  Status truncate_by_physical(uint64_t physical_offset);
  // Writes unit `queue_offset`. Rewriting an identical unit is a no-op; a unit past the end
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

  Status flush();
  // Retention: deletes whole segments whose units all point below `min_physical_offset`
  // (never the last one) and moves min_offset() past units that do.
  void delete_expired(uint64_t min_physical_offset);

 private:
  std::optional<CqUnit> unit_at(uint64_t queue_offset) const;  // no bounds check vs max
  // The smallest unit the kernel or the disk writes back whole: a 4 KiB page or block (a larger
  // page size is a multiple of it).
  static constexpr uint64_t kWriteBackGranule = 4096;
  // Whether unit `queue_offset` (read as `unit`) straddles a write-back granule whose part of
  // it is zeros, and does not follow its predecessor in the log: torn, not a unit to keep.
  bool torn_at_page_edge(uint64_t queue_offset, const CqUnit& unit) const;
  void correct_min_offset(uint64_t min_physical_offset);
  // Aborts unless `unit`, about to be written at `pos` of `seg` as unit `queue_offset`, lies in
  // the log past the queue's last unit (when it extends the queue).
  void assert_follows_last_unit(uint64_t queue_offset, const CqUnit& unit, const MappedFile& seg,
                                uint64_t pos) const;

  const std::string topic_;
  const uint32_t queue_id_;
  MappedFileQueue files_;
  std::atomic<uint64_t> min_offset_{0};
  std::atomic<uint64_t> max_offset_{0};
};

}  // namespace comet::commitlog
