#include "commitlog/store_health.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/logging.h"

namespace comet::commitlog {
namespace {

std::string mib(uint64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace

bool DiskFullState::become(bool full, int64_t now_ms) {
  if (full == full_) return false;
  full_ = full;
  if (full) {
    since_ms_ = now_ms;
  } else {
    needed_bytes_ = 0;
    failed_bytes_ = 0;
  }
  return true;
}

bool DiskFullState::on_sample(const DiskSpace& space, int64_t now_ms) {
  if (!space.known()) return false;  // statvfs failed: keep what we knew
  last_ = space;
  const double used_percent = space.used_ratio * 100.0;
  if (!full_) return become(used_percent > warning_percent_, now_ms);
  const bool below_margin = used_percent <= warning_percent_ - kResumeMarginPercent;
  const bool room_for_failed = space.free_bytes >= needed_bytes_;
  return become(!(below_margin && room_for_failed), now_ms);
}

bool DiskFullState::on_no_space(uint64_t needed_bytes, int64_t now_ms) {
  const bool changed = become(true, now_ms);
  failed_bytes_ = needed_bytes;
  needed_bytes_ = std::max({needed_bytes_, needed_bytes, resume_free_bytes_});
  return changed;
}

std::string DiskFullState::remark() const {
  std::string r = "disk full: ";
  if (last_.known()) {
    r += fmt::format("{:.1f}% used of {}, {} free", last_.used_ratio * 100.0,
                     mib(last_.capacity_bytes), mib(last_.free_bytes));
  } else {
    r += "usage unknown";
  }
  r += fmt::format(" (diskSpaceWarningLevelRatio {}%)", warning_percent_);
  if (failed_bytes_ > 0) r += "; a new file of " + mib(failed_bytes_) + " did not fit";
  return r;
}

bool IoErrorState::on_error(const Status& why, int64_t now_ms) {
  ++count_;
  if (failed_) return false;
  failed_ = true;
  since_ms_ = now_ms;
  first_ = why.message();
  return true;
}

std::string IoErrorState::remark() const {
  return "I/O error: " + first_ + "; the store is read-only until the broker restarts";
}

Status StoreHealth::writable() const {
  if (!disk_full_.load(std::memory_order_acquire) && !io_failed_.load(std::memory_order_acquire)) {
    return Status::ok();
  }
  std::lock_guard lock(mu_);
  // An I/O error outranks a full disk: it does not clear when space returns.
  if (io_.failed()) return Status::unavailable(io_.remark());
  if (!disk_.full()) return Status::ok();
  return Status::unavailable(disk_.remark());
}

Status StoreHealth::io_status() const {
  if (!io_failed_.load(std::memory_order_acquire)) return Status::ok();
  std::lock_guard lock(mu_);
  return Status::unavailable(io_.remark());
}

StoreHealth::Snapshot StoreHealth::snapshot() const {
  std::lock_guard lock(mu_);
  Snapshot s;
  s.disk_full = disk_.full();
  s.disk_used_ratio = disk_.last_sample().used_ratio;
  s.disk_capacity_bytes = disk_.last_sample().capacity_bytes;
  s.disk_free_bytes = disk_.last_sample().free_bytes;
  s.disk_full_since_ms = disk_.since_ms();
  if (s.disk_full) s.remark = disk_.remark();
  s.io_error = io_.failed();
  s.io_error_since_ms = io_.since_ms();
  s.io_errors = io_.count();
  if (s.io_error) s.io_error_remark = s.remark = io_.remark();
  return s;
}

void StoreHealth::log_change_locked(std::string_view cause) const {
  auto log = logger("commitlog");
  if (disk_.full()) {
    log->warn("store refuses writes ({}): {}", cause, disk_.remark());
  } else {
    log->warn("store accepts writes again: disk {:.1f}% used, {} free",
              disk_.last_sample().used_ratio * 100.0, mib(disk_.last_sample().free_bytes));
  }
}

void StoreHealth::on_disk_sample(const DiskSpace& space, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!disk_.on_sample(space, now_ms)) return;
  disk_full_.store(disk_.full(), std::memory_order_release);
  log_change_locked("disk sample");
}

void StoreHealth::on_no_space(uint64_t needed_bytes, const Status& why, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!disk_.on_no_space(needed_bytes, now_ms)) return;
  disk_full_.store(true, std::memory_order_release);
  log_change_locked(why.message());
}

void StoreHealth::on_io_error(const Status& why, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!io_.on_error(why, now_ms)) return;
  io_failed_.store(true, std::memory_order_release);
  // One line, once: the call, the file and the errno text are in `why`.
  logger("commitlog")->error("store refuses writes, read-only until restart: {}", why.message());
}

DiskSpace disk_space_of(uint64_t blocks, uint64_t free, uint64_t available, uint64_t block_size,
                        bool privileged) {
  // A privileged process (root) may write the reserved blocks too; an unprivileged one never
  // can, so they count for neither used nor capacity (df's Use%).
  available = std::min(available, free);
  const uint64_t unusable = privileged ? 0 : free - available;
  const uint64_t capacity = blocks > unusable ? blocks - unusable : 0;
  DiskSpace d;
  d.capacity_bytes = capacity * block_size;
  const uint64_t usable_free = std::min(privileged ? free : available, capacity);
  d.free_bytes = usable_free * block_size;
  d.used_ratio =
      capacity == 0 ? 1.0 : 1.0 - static_cast<double>(usable_free) / static_cast<double>(capacity);
  return d;
}

DiskSpace sample_disk_space(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0 || st.f_blocks == 0) return {};
  return disk_space_of(st.f_blocks, st.f_bfree, st.f_bavail, st.f_frsize, ::geteuid() == 0);
}

}  // namespace comet::commitlog
