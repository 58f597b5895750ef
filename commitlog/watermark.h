// A monotonically advancing offset (flushed, replica-acked, committed) with waiters that
// complete once the offset reaches theirs: the group-commit primitive. Waiters run on the
// thread that advances the watermark (or fails it), outside the internal lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

#include "common/status.h"

namespace comet::commitlog {

class Watermark {
 public:
  using Callback = std::function<void(Status)>;

  explicit Watermark(uint64_t initial = 0) : offset_(initial) {}

  uint64_t get() const { return offset_.load(std::memory_order_acquire); }
  // Moves the mark forward (never back) and completes every waiter at or below it; returns how
  // many it completed.
  size_t advance(uint64_t offset);
  // Resets the mark (recovery, truncation); no waiter may be pending.
  void reset(uint64_t offset);
  // Completes every pending waiter with `status`; later waits fail with it too while sticky.
  void fail_all(const Status& status, bool sticky);

  // Calls `cb` once the mark reaches `offset` (at once if it already has).
  void on_reach(uint64_t offset, Callback cb);
  // Blocking form of on_reach, bounded by `timeout`.
  Status wait(uint64_t offset, std::chrono::milliseconds timeout);

  size_t pending() const;
  // Lowest offset anybody waits for, or UINT64_MAX.
  uint64_t lowest_waiting() const;
  // Set by a service that wants to be woken when a waiter is added.
  void set_waiter_added_hook(std::function<void()> hook);

 private:
  std::atomic<uint64_t> offset_;
  mutable std::mutex mu_;
  std::multimap<uint64_t, Callback> waiters_;
  Status sticky_error_;
  std::function<void()> waiter_added_hook_;
};

}  // namespace comet::commitlog
