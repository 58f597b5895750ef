// comet-bench chaos --failing-listener: which messages the verifying consumer fails, and how
// often. A message's fate is a seeded hash of its identity (producer, sequence number), so one
// seed fails the same messages in every run and on every member of the group:
//   1 in 10    fails once: its first delivery answers RECONSUME_LATER, its retry is consumed
//   1 in 1000  fails always: after maxReconsumeTimes deliveries it belongs in %DLQ%<group>
// The rest is consumed at the first delivery.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace comet::bench {

enum class Fate { kConsume, kFailOnce, kFailAlways };

class FailurePlan {
 public:
  // Out of 10,000 messages.
  static constexpr uint64_t kFailAlwaysPer10k = 10;
  static constexpr uint64_t kFailOncePer10k = 1000;

  FailurePlan(uint64_t seed, uint32_t producers, uint64_t per_producer);

  // kConsume for an identity outside the run's shape.
  Fate fate(uint32_t producer, uint64_t seq) const;
  // Whether the listener fails this delivery of (producer, seq): every one of a kFailAlways
  // message, the first one of a kFailOnce message. Thread-safe.
  bool fail_delivery(uint32_t producer, uint64_t seq);
  uint64_t failed_deliveries() const { return failed_deliveries_.load(); }

 private:
  const uint64_t seed_;
  const uint32_t producers_;
  const uint64_t per_producer_;
  std::vector<std::atomic<uint8_t>> failed_once_;  // per message: its one failure is done
  std::atomic<uint64_t> failed_deliveries_{0};
};

}  // namespace comet::bench
