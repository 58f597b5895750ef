// What comet-bench scale may cost the machine's disk. A store that allocates a whole ConsumeQueue
// file per queue (5.9 MB each) would fill a disk long before 10,000 topics × 8 queues hold data,
// and it allocates them (fallocate) faster than any watcher could stop it. So a run first
// measures what a queue with data costs and sends only what fits (affordable_messages, pure),
// and a watcher (DiskFallWatch) stops the sends if the free space falls by more than the budget
// all the same.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace comet::bench {

// Free bytes of the file system holding `path` (commitlog/store_health.h's reading of statvfs).
uint64_t free_disk_bytes(const std::string& path);

// How many of `messages` a run sends over `queues` queues: all, unless the queues they fill
// (round robin: each of the first messages fills a queue of its own) would take more than half
// of `budget_bytes` in ConsumeQueues at `bytes_per_queue`; then as many as fill that half (at
// least one). 0 bytes per queue (a sparse store before its first flush) costs nothing.
uint64_t affordable_messages(uint64_t messages, uint64_t queues, uint64_t bytes_per_queue,
                             uint64_t budget_bytes);

// Watches the free space of the file system holding `path` while a run sends, every 100 ms,
// and sets `stop` once it fell by more than `budget_bytes` since construction.
class DiskFallWatch {
 public:
  DiskFallWatch(std::string path, uint64_t budget_bytes, std::atomic<bool>& stop);
  ~DiskFallWatch();
  DiskFallWatch(const DiskFallWatch&) = delete;
  DiskFallWatch& operator=(const DiskFallWatch&) = delete;

  bool exceeded() const { return exceeded_.load(); }

 private:
  void watch();

  const std::string path_;
  const uint64_t budget_;
  const uint64_t start_free_;
  std::atomic<bool>& stop_;
  std::atomic<bool> exceeded_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace comet::bench
