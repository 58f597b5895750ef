// Window: bounds the requests a benchmark sender keeps in flight.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace comet::bench {

// Bounds the requests in flight; waits on a condition variable, never spins. A full window
// sleeps until an eighth of it is free again (hysteresis), so the sender is woken once per
// group of completions rather than once per completion: a wake-up is a futex call on each side,
// which would otherwise cost as much as the send itself.
class Window {
 public:
  explicit Window(int limit) : limit_(limit), resume_at_(limit - std::max(1, limit / 8)) {}
  void acquire() {
    std::unique_lock lock(mu_);
    if (used_ >= limit_) {
      waiting_ = true;
      cv_.wait(lock, [&] { return used_ <= resume_at_; });
      waiting_ = false;
    }
    ++used_;
  }
  void release() {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      --used_;
      wake = waiting_ && (used_ <= resume_at_ || used_ == 0);
    }
    if (wake) cv_.notify_all();
  }
  void drain() {
    std::unique_lock lock(mu_);
    waiting_ = true;
    resume_at_ = 0;
    cv_.wait(lock, [&] { return used_ == 0; });
  }

 private:
  const int limit_;
  int resume_at_;
  std::mutex mu_;
  std::condition_variable cv_;
  int used_ = 0;
  bool waiting_ = false;
};

}  // namespace comet::bench
