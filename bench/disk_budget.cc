#include "bench/disk_budget.h"

#include <algorithm>
#include <chrono>

#include "commitlog/store_health.h"

namespace comet::bench {

uint64_t free_disk_bytes(const std::string& path) {
  return commitlog::sample_disk_space(path).free_bytes;
}

uint64_t affordable_messages(uint64_t messages, uint64_t queues, uint64_t bytes_per_queue,
                             uint64_t budget_bytes) {
  if (bytes_per_queue == 0) return messages;
  const uint64_t affordable_queues = budget_bytes / 2 / bytes_per_queue;
  if (std::min(messages, queues) <= affordable_queues) return messages;
  return std::max<uint64_t>(1, affordable_queues);
}

DiskFallWatch::DiskFallWatch(std::string path, uint64_t budget_bytes, std::atomic<bool>& stop)
    : path_(std::move(path)),
      budget_(budget_bytes),
      start_free_(free_disk_bytes(path_)),
      stop_(stop) {
  thread_ = std::thread([this] { watch(); });
}

DiskFallWatch::~DiskFallWatch() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void DiskFallWatch::watch() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return done_; })) {
    if (free_disk_bytes(path_) + budget_ < start_free_) {
      exceeded_ = true;
      stop_ = true;
      return;
    }
  }
}

}  // namespace comet::bench
