// A lock-free latency histogram for benchmarks: log-linear buckets (64 per power of two, so
// ~1.6% precision) from 1 µs to ~1 hour, recorded from any thread with relaxed atomics.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>

namespace comet::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kMaxPow = 32;  // 2^32 µs ≈ 71 minutes

  void record(std::chrono::nanoseconds latency) {
    uint64_t us = static_cast<uint64_t>(std::max<int64_t>(1, latency.count() / 1000));
    counts_[index_of(us)].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
    uint64_t prev = max_us_.load(std::memory_order_relaxed);
    while (us > prev && !max_us_.compare_exchange_weak(prev, us, std::memory_order_relaxed)) {
    }
  }

  uint64_t count() const { return total_.load(std::memory_order_relaxed); }

  // Bucket counts at one moment, for percentiles over a window of time (comet-bench soak).
  struct Counts {
    std::array<uint64_t, static_cast<size_t>(kMaxPow - kSubBits + 1) * kSub> n{};
  };
  Counts snapshot() const {
    Counts c;
    for (size_t i = 0; i < counts_.size(); ++i)
      c.n[i] = counts_[i].load(std::memory_order_relaxed);
    return c;
  }
  // The latency (µs, bucket upper bound) at quantile q among the records made between two
  // snapshots; 0 when there were none.
  static uint64_t percentile_between(const Counts& before, const Counts& after, double q) {
    uint64_t n = 0;
    for (size_t i = 0; i < after.n.size(); ++i)
      n += after.n[i] - before.n[i];
    if (n == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(n - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < after.n.size(); ++i) {
      seen += after.n[i] - before.n[i];
      if (seen >= rank) return upper_of(i);
    }
    return upper_of(after.n.size() - 1);
  }
  uint64_t max_us() const { return max_us_.load(std::memory_order_relaxed); }

  // The latency (µs, bucket upper bound) at quantile q in [0, 1].
  uint64_t percentile_us(double q) const {
    const uint64_t n = count();
    if (n == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(n - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i].load(std::memory_order_relaxed);
      if (seen >= rank) return std::min(upper_of(i), max_us());
    }
    return max_us();
  }

 private:
  static size_t index_of(uint64_t us) {
    if (us < kSub) return static_cast<size_t>(us);
    const int pow = 63 - std::countl_zero(us);  // us in [2^pow, 2^(pow+1))
    const int shift = pow - kSubBits;
    const size_t sub = static_cast<size_t>((us >> shift) & (kSub - 1));
    const size_t idx = static_cast<size_t>(pow - kSubBits + 1) * kSub + sub;
    return std::min(idx, kBuckets - 1);
  }
  static uint64_t upper_of(size_t idx) {
    if (idx < kSub) return idx;
    const size_t pow = idx / kSub + kSubBits - 1;
    const size_t sub = idx % kSub;
    const int shift = static_cast<int>(pow) - kSubBits;
    return ((uint64_t{kSub} + sub + 1) << shift) - 1;
  }

  static constexpr size_t kBuckets = static_cast<size_t>(kMaxPow - kSubBits + 1) * kSub;
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> max_us_{0};
};

}  // namespace comet::bench
