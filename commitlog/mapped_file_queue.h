// The ordered, contiguous list of segments in one directory. Segment i+1 starts where
// segment i ends; lookups by offset are O(1). Thread-safe: the list is guarded by a
// shared_mutex and readers hold segments by shared_ptr, so deletion never unmaps under them.
#pragma once

#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "commitlog/allocate_service.h"
#include "commitlog/mapped_file.h"

namespace comet::commitlog {

class MappedFileQueue {
 public:
  // `allocator` may be null: segments are then made on the caller's thread.
  MappedFileQueue(std::string dir, uint64_t file_size, AllocateService* allocator, bool prefault);

  // Maps the segments found in the directory. Files whose names are not offsets are ignored;
  // the list stops at the first gap (the segments past it are reported, not mapped).
  Status load();
  // Offsets of segments that load() found past a gap, and of short (extended) files.
  const std::vector<std::string>& orphaned_files() const { return orphaned_; }
  uint64_t first_short_offset() const { return first_short_offset_; }

  const std::string& dir() const { return dir_; }
  uint64_t file_size() const { return file_size_; }
  bool empty() const;
  size_t count() const;
  MappedFilePtr first() const;
  MappedFilePtr last() const;
  MappedFilePtr find(uint64_t offset) const;  // the segment holding `offset`, or null
  std::vector<MappedFilePtr> snapshot() const;

  // Offset of the first byte held (or the base offset when empty).
  uint64_t min_offset() const;
  // Offset just past the last written byte.
  uint64_t max_written_offset() const;

  // Appends a new segment starting at `start_offset`, which must be where the last one ends
  // (or anything, when the queue is empty).
  Result<MappedFilePtr> create_next(uint64_t start_offset);
  // Asks the allocator to make the segment that create_next() will want next.
  void prefetch_next();

  // Cuts the log at `offset`: segments wholly past it are deleted (last first), the one
  // holding it is zeroed from there. Crash-safe: repeating it gives the same result.
  Status truncate(uint64_t offset);
  // Deletes the first `n` segments; never the last one.
  size_t delete_first(size_t n);
  // Sets the offset an empty queue starts at.
  void set_base_offset(uint64_t offset);

 private:
  std::string path_for(uint64_t start_offset) const;

  const std::string dir_;
  const uint64_t file_size_;
  AllocateService* allocator_;
  const bool prefault_;
  mutable std::shared_mutex mu_;
  std::vector<MappedFilePtr> files_;
  uint64_t base_offset_ = 0;
  std::vector<std::string> orphaned_;
  uint64_t first_short_offset_ = UINT64_MAX;
};

}  // namespace comet::commitlog
