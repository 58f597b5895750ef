// Window: bounds the requests a benchmark sender keeps in flight. Pacer: spaces its sends to
// offer a fixed rate.
#pragma once

#include <algorithm>
#include <chrono>
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

// Offers `rate` sends per second (0: as fast as possible) from one thread: pace() returns when
// the next send is due. It sleeps (a timed wait) only when ahead of schedule by more than
// kSlack: a timed wait costs tens of microseconds itself, more than the interval between sends at
// high rates.
class Pacer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kSlack = std::chrono::microseconds(200);

  explicit Pacer(double rate)
      : interval_(rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(1.0 / rate))
                           : Clock::duration::zero()),
        next_(Clock::now()) {}

  void pace() {
    if (interval_ == Clock::duration::zero()) return;
    if (next_ - Clock::now() > kSlack) {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_, [] { return false; });  // never notified: only the time
    }
    next_ += interval_;
  }

 private:
  const Clock::duration interval_;
  Clock::time_point next_;
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace comet::bench
