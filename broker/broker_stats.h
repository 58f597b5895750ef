// BrokerStats: the broker's rates over the last minute, as RocketMQ's BrokerStatsManager shows
// them: messages stored (putTps: sends and batches, counted once their append succeeded),
// messages pulled (getTransferedTps) and pulled per consumer group (a group's consume TPS in
// GET_CONSUME_STATS). Each rate is a sliding window of per-second counters, so it costs a
// fixed 60 counters per series whatever the traffic; the time comes from the Clock passed in.
// Thread-safe (one short lock per count).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace comet::broker {

// Counts per second over the last kWindowSeconds seconds; pure, not thread-safe.
class SlidingSecondCounter {
 public:
  static constexpr int64_t kWindowSeconds = 60;

  void add(int64_t now_ms, uint64_t n);
  // What was added in the window ending at now_ms (its current second included).
  uint64_t sum(int64_t now_ms) const;
  // sum() per second of the window, or of the time since the first count when that is shorter
  // (a broker up for ten seconds is not averaged over a minute).
  double per_second(int64_t now_ms) const;
  // Nothing counted within the window.
  bool idle(int64_t now_ms) const { return sum(now_ms) == 0; }

 private:
  struct Bucket {
    int64_t second = -1;
    uint64_t count = 0;
  };
  std::array<Bucket, kWindowSeconds> buckets_{};
  int64_t first_second_ = -1;
};

class BrokerStats {
 public:
  // Groups tracked at most; past it, groups idle for a window are forgotten first.
  static constexpr size_t kMaxGroups = 4096;

  explicit BrokerStats(const Clock& clock = SystemClock::instance()) : clock_(clock) {}

  void on_stored(uint64_t msgs);
  void on_pulled(std::string_view group, uint64_t msgs);

  // Retention deleted `segments` CommitLog segments holding `unconsumed` messages some consumer
  // group had not consumed (broker/retention_accounting.h). Totals since start.
  void on_segments_deleted(bool forced, uint64_t segments, uint64_t unconsumed);
  struct DeletionTotals {
    uint64_t forced_segments = 0;
    uint64_t forced_unconsumed_messages = 0;
    uint64_t expired_segments = 0;
    uint64_t expired_unconsumed_messages = 0;
  };
  DeletionTotals deletions() const;

  double put_tps() const;
  double get_transfered_tps() const;  // RocketMQ's spelling
  double consume_tps(std::string_view group) const;

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  SlidingSecondCounter stored_;
  SlidingSecondCounter pulled_;
  std::map<std::string, SlidingSecondCounter, std::less<>> pulled_by_group_;
  DeletionTotals deletions_;
};

}  // namespace comet::broker
