// One fixed-size, memory-mapped segment of a log (CommitLog or ConsumeQueue). The file name is
// the 20-digit zero-padded global offset of its first byte. Blocks are allocated up front
// (fallocate), so a write through the mapping never lands in a hole: a full disk fails the
// segment's creation with an error instead of a SIGBUS later.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace comet::commitlog {

class MappedFile {
 public:
  // How far ahead of the writer a segment is kept pre-faulted (see warm()).
  static constexpr uint64_t kWarmWindow = 64ull << 20;
  // Where warming starts past a writer that has overtaken it.
  static constexpr uint64_t kWarmLead = 4ull << 20;

  // Creates (or reuses, if present) the segment file, allocates its blocks and maps it.
  // `prefault` warms its first kWarmWindow bytes now (see warm()).
  static Result<std::shared_ptr<MappedFile>> create(const std::string& path, uint64_t start_offset,
                                                    uint64_t size, bool prefault);
  // Maps an existing segment. A file shorter than `size` (a lost tail) is extended with
  // zeroes and reported by was_short(); a longer one is an error.
  static Result<std::shared_ptr<MappedFile>> open(const std::string& path, uint64_t start_offset,
                                                  uint64_t size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  static std::string file_name(uint64_t start_offset);  // 20-digit zero-padded

  const std::string& path() const { return path_; }
  uint64_t start_offset() const { return start_offset_; }
  uint64_t size() const { return size_; }
  uint64_t end_offset() const { return start_offset_ + size_; }
  uint8_t* data() const { return base_; }
  bool was_short() const { return was_short_; }

  // Bytes written so far; readers see [0, write_pos()).
  uint64_t write_pos() const { return write_pos_.load(std::memory_order_acquire); }
  void set_write_pos(uint64_t pos) { write_pos_.store(pos, std::memory_order_release); }
  bool is_full() const { return write_pos() >= size_; }
  uint64_t flushed_pos() const { return flushed_pos_.load(std::memory_order_acquire); }
  void set_flushed_pos(uint64_t pos) { flushed_pos_.store(pos, std::memory_order_release); }

  // Faults the pages of [from, upto) in writable (clamped to the segment; pages already warmed
  // are skipped, and when `from` is past the warmed end, the writer having overtaken the
  // warming, it starts kWarmLead further on), so that appends there take no page faults. Warmed
  // pages are dirty zeroes: the kernel writes them back like data, so a segment is warmed a window
  // ahead of its writer rather than whole (a whole 1 GiB segment per broker saturated slow disks
  // with zeroes and stalled every fsync behind them). One thread at a time.
  void warm(uint64_t from, uint64_t upto);
  uint64_t warmed_to() const { return warmed_to_.load(std::memory_order_acquire); }
  // Pages warm() and fill() faulted in one at a time, in this process: the fallback for a
  // madvise(MADV_POPULATE_*) the kernel refused (before Linux 5.14, or a bad range).
  static uint64_t pages_touched_one_by_one();
  // Faults the pages of [from, upto) in for reading: the kernel allocates and zero-fills them
  // (the costly part of a first touch; on some VMs the host's too) but they stay clean, with
  // nothing to write back. Writing one later costs a minor fault, and warm() takes even that off
  // the writer.
  void fill(uint64_t from, uint64_t upto);
  // The writer's side (under its lock): whether the window ahead of `pos` should be warmed
  // further, and if so the end to warm to (recorded as requested, so each window is asked once).
  uint64_t warm_request(uint64_t pos);

  // msync(MS_SYNC)s [flushed_pos, upto) and moves flushed_pos to `upto`.
  Status flush(uint64_t upto);
  // Zeroes [pos, size) (skipping pages that are already zero) and syncs it: truncation.
  Status zero_from(uint64_t pos);
  // Unlinks the file now; the mapping stays valid until the last reference is dropped.
  Status destroy();

 private:
  MappedFile(std::string path, uint64_t start_offset, uint64_t size, int fd, uint8_t* base);
  static Result<std::shared_ptr<MappedFile>> map(const std::string& path, uint64_t start_offset,
                                                 uint64_t size, int fd, bool prefault);

  std::string path_;
  uint64_t start_offset_;
  uint64_t size_;
  int fd_;
  uint8_t* base_;
  bool was_short_ = false;
  std::atomic<uint64_t> write_pos_{0};
  std::atomic<uint64_t> flushed_pos_{0};
  std::atomic<uint64_t> warmed_to_{0};
  uint64_t warm_requested_ = 0;  // the writer's
};

using MappedFilePtr = std::shared_ptr<MappedFile>;

}  // namespace comet::commitlog
