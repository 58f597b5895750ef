// StoreHealth: whether the store accepts writes, shared by the store and the broker (RocketMQ's
// RunningFlags). A condition that makes the store refuse writes is a state with a reason, not an
// error each append discovers: sends are refused at once with the reason as the remark, and
// accepted again when the condition clears by itself (a full disk; an I/O error never does).
//
// Conditions today: disk full (above diskSpaceWarningLevelRatio, or a segment that could not be
// allocated for want of space); an I/O error (RocketMQ's WRITE_LOGICS_QUEUE_ERROR and
// WRITE_INDEX_FILE_ERROR bits, for any store file): a write or sync of the CommitLog, a
// ConsumeQueue, the index or the checkpoint failed with an error other than ENOSPC. Each is one
// more member of Snapshot and one more check in writable().
//
// DiskFullState and IoErrorState are the decisions, pure and single-threaded; StoreHealth wraps
// them with a lock for the threads that sample the disk, append, flush and answer sends.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/status.h"

namespace comet::commitlog {

// One statvfs reading of the store's file system, as this process could use it.
struct DiskSpace {
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;
  double used_ratio = -1.0;  // 0..1; negative when unknown
  bool known() const { return used_ratio >= 0.0; }
};

// Disk full, decided from samples and failed allocations:
// - full when the used ratio exceeds the warning ratio, or when an allocation failed for want
//   of space (ENOSPC), whatever the ratio;
// - not full again once a sample shows the ratio at least kResumeMarginPercent below the warning
//   ratio and, after a failed allocation, room for it and for `resume_free_bytes` (a CommitLog
//   segment: a ConsumeQueue file that did not fit says the next segment will not either). The
//   margin keeps a disk hovering at the threshold from flapping between accepting and refusing.
class DiskFullState {
 public:
  static constexpr double kResumeMarginPercent = 1.0;

  DiskFullState(uint32_t warning_ratio_percent, uint64_t resume_free_bytes)
      : warning_percent_(warning_ratio_percent), resume_free_bytes_(resume_free_bytes) {}

  // A sample at `now_ms`; true when it changed full().
  bool on_sample(const DiskSpace& space, int64_t now_ms);
  // An allocation of `needed_bytes` failed with ENOSPC at `now_ms`; true when it changed full().
  bool on_no_space(uint64_t needed_bytes, int64_t now_ms);

  bool full() const { return full_; }
  int64_t since_ms() const { return since_ms_; }
  // Bytes that must be free before writes resume after a failed allocation; 0 when the state
  // is not full because of one.
  uint64_t needed_bytes() const { return needed_bytes_; }
  const DiskSpace& last_sample() const { return last_; }
  uint32_t warning_ratio_percent() const { return warning_percent_; }
  // "disk full: 91.2% used of 63.0 MiB, 5.5 MiB free (diskSpaceWarningLevelRatio 90%)".
  std::string remark() const;

 private:
  bool become(bool full, int64_t now_ms);

  const uint32_t warning_percent_;
  const uint64_t resume_free_bytes_;
  DiskSpace last_;
  bool full_ = false;
  int64_t since_ms_ = 0;
  uint64_t needed_bytes_ = 0;
  uint64_t failed_bytes_ = 0;  // the last failed allocation's size, for the remark
};

// An I/O error makes the store read-only until the broker restarts. It never clears by itself:
// a failed write-back is reported by the kernel once (the page's dirty bit is gone, the next
// sync returns 0), so no later successful sync proves the lost bytes reached the disk; only
// recovery at start, which verifies the CommitLog and rebuilds ConsumeQueues and the index from
// the last checkpoint, does. The first error is the one remembered; later ones are counted.
class IoErrorState {
 public:
  // `why` failed (an errno-carrying status naming the call and the file) at `now_ms`; true when
  // it changed failed().
  bool on_error(const Status& why, int64_t now_ms);

  bool failed() const { return failed_; }
  int64_t since_ms() const { return since_ms_; }
  uint64_t count() const { return count_; }
  // The first error: "msync /store/commitlog/000…: Input/output error".
  const std::string& first_error() const { return first_; }
  // "I/O error: msync /store/commitlog/000…: Input/output error; the store is read-only until
  // the broker restarts".
  std::string remark() const;

 private:
  bool failed_ = false;
  int64_t since_ms_ = 0;
  uint64_t count_ = 0;
  std::string first_;
};

class StoreHealth {
 public:
  struct Snapshot {
    bool disk_full = false;
    double disk_used_ratio = -1.0;
    uint64_t disk_capacity_bytes = 0;
    uint64_t disk_free_bytes = 0;
    int64_t disk_full_since_ms = 0;  // when it became full (valid while disk_full)
    std::string remark;              // why writes are refused; empty when they are not
    bool io_error = false;           // read-only until restart (IoErrorState)
    int64_t io_error_since_ms = 0;
    uint64_t io_errors = 0;       // failed calls counted since the first
    std::string io_error_remark;  // IoErrorState::remark(), while io_error
  };

  StoreHealth(uint32_t disk_warning_ratio_percent, uint64_t resume_free_bytes)
      : disk_(disk_warning_ratio_percent, resume_free_bytes) {}

  // OK, or kUnavailable with the reason writes are refused (the remark a send answers with).
  // Cheap while healthy: one atomic load.
  Status writable() const;
  bool disk_full() const { return disk_full_.load(std::memory_order_acquire); }
  bool io_failed() const { return io_failed_.load(std::memory_order_acquire); }
  // OK, or kUnavailable with IoErrorState::remark() once an I/O error made the store read-only.
  Status io_status() const;
  Snapshot snapshot() const;

  void on_disk_sample(const DiskSpace& space, int64_t now_ms);
  // An allocation failed with kNoSpace (`why`, the failed call); logs and refuses writes.
  void on_no_space(uint64_t needed_bytes, const Status& why, int64_t now_ms);
  // A store file's write or sync failed with `why` (not ENOSPC): refuses writes from now on and
  // logs one error line naming the call, the file and the errno text (later errors: a count).
  void on_io_error(const Status& why, int64_t now_ms);

 private:
  void log_change_locked(std::string_view cause) const;

  mutable std::mutex mu_;
  DiskFullState disk_;
  std::atomic<bool> disk_full_{false};
  IoErrorState io_;
  std::atomic<bool> io_failed_{false};
};

// Space from statvfs counts (blocks, free blocks, blocks available to unprivileged users).
DiskSpace disk_space_of(uint64_t blocks, uint64_t free, uint64_t available, uint64_t block_size,
                        bool privileged);
// What statvfs says about the file system holding `path` (unknown when it fails).
DiskSpace sample_disk_space(const std::string& path);

}  // namespace comet::commitlog
