// AckTimeline: how many sends were acknowledged in each millisecond of a run, to measure the
// outage a failover causes: the longest stretch without an ack from the last ack before the kill.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace comet::bench {

// Acks per millisecond of a run, for the outage a failover causes.
class AckTimeline {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kSpanMs = 30 * 60 * 1000;  // runs longer than this are not charted
  explicit AckTimeline(Clock::time_point start) : start_(start), counts_(kSpanMs) {}

  void record(Clock::time_point t) {
    const size_t i = index(t);
    if (i < counts_.size()) counts_[i].fetch_add(1, std::memory_order_relaxed);
  }

  // The longest stretch without an ack that starts at or after the last ack before `kill`, up to
  // `end`, in milliseconds. The quiet tail after the last ack is not an outage, unless no ack came
  // after the kill at all: then the outage lasted up to `end`.
  double longest_gap_from(Clock::time_point kill, Clock::time_point end) const {
    const size_t k = std::min(index(kill), counts_.size() - 1);
    const size_t e = std::min(index(end), counts_.size() - 1);
    size_t prev = k;
    while (prev > 0 && counts_[prev].load(std::memory_order_relaxed) == 0)
      --prev;
    size_t best = 0;
    for (size_t i = prev + 1; i <= e; ++i) {
      if (counts_[i].load(std::memory_order_relaxed) == 0) continue;
      best = std::max(best, i - prev);
      prev = i;
    }
    // No ack after the kill at all: the outage lasted to the end.
    if (prev <= k) best = std::max(best, e > prev ? e - prev : 0);
    return static_cast<double>(best);
  }

 private:
  size_t index(Clock::time_point t) const {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - start_).count();
    return ms < 0 ? 0 : static_cast<size_t>(ms);
  }

  const Clock::time_point start_;
  std::vector<std::atomic<uint32_t>> counts_;
};

}  // namespace comet::bench
