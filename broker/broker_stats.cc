#include "broker/broker_stats.h"

#include <algorithm>

namespace comet::broker {
namespace {

int64_t second_of(int64_t ms) {
  return ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
}

}  // namespace

void SlidingSecondCounter::add(int64_t now_ms, uint64_t n) {
  const int64_t s = second_of(now_ms);
  Bucket& b =
      buckets_[static_cast<size_t>(((s % kWindowSeconds) + kWindowSeconds) % kWindowSeconds)];
  if (b.second != s) b = Bucket{s, 0};
  b.count += n;
  if (first_second_ < 0 || s < first_second_) first_second_ = s;
}

uint64_t SlidingSecondCounter::sum(int64_t now_ms) const {
  const int64_t s = second_of(now_ms);
  uint64_t total = 0;
  for (const Bucket& b : buckets_) {
    if (b.second > s - kWindowSeconds && b.second <= s) total += b.count;
  }
  return total;
}

double SlidingSecondCounter::per_second(int64_t now_ms) const {
  if (first_second_ < 0) return 0;
  const int64_t s = second_of(now_ms);
  const int64_t span = std::clamp<int64_t>(s - first_second_ + 1, 1, kWindowSeconds);
  return static_cast<double>(sum(now_ms)) / static_cast<double>(span);
}

void BrokerStats::on_stored(uint64_t msgs) {
  const int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  stored_.add(now, msgs);
}

void BrokerStats::on_pulled(std::string_view group, uint64_t msgs) {
  const int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  pulled_.add(now, msgs);
  if (group.empty()) return;
  auto it = pulled_by_group_.find(group);
  if (it == pulled_by_group_.end()) {
    if (pulled_by_group_.size() >= kMaxGroups) {
      std::erase_if(pulled_by_group_, [now](const auto& kv) { return kv.second.idle(now); });
      if (pulled_by_group_.size() >= kMaxGroups) return;  // every one busy: not tracked
    }
    it = pulled_by_group_.try_emplace(std::string(group)).first;
  }
  it->second.add(now, msgs);
}

void BrokerStats::on_segments_deleted(bool forced, uint64_t segments, uint64_t unconsumed) {
  std::lock_guard lock(mu_);
  (forced ? deletions_.forced_segments : deletions_.expired_segments) += segments;
  (forced ? deletions_.forced_unconsumed_messages : deletions_.expired_unconsumed_messages) +=
      unconsumed;
}

BrokerStats::DeletionTotals BrokerStats::deletions() const {
  std::lock_guard lock(mu_);
  return deletions_;
}

double BrokerStats::put_tps() const {
  const int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  return stored_.per_second(now);
}

double BrokerStats::get_transfered_tps() const {
  const int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  return pulled_.per_second(now);
}

double BrokerStats::consume_tps(std::string_view group) const {
  const int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  auto it = pulled_by_group_.find(group);
  return it == pulled_by_group_.end() ? 0 : it->second.per_second(now);
}

}  // namespace comet::broker
