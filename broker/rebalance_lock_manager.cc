#include "broker/rebalance_lock_manager.h"

#include <set>

#include "common/logging.h"

namespace comet::broker {

bool RebalanceLockManager::may_log(RateLimit& limit, int64_t now_ms, uint64_t& suppressed) {
  if (limit.last_ms != INT64_MIN && now_ms - limit.last_ms < 1000) {
    ++limit.suppressed;
    return false;
  }
  limit.last_ms = now_ms;
  suppressed = limit.suppressed;
  limit.suppressed = 0;
  return true;
}

std::vector<LockedQueue> RebalanceLockManager::try_lock_batch(
    std::string_view group, const std::vector<LockedQueue>& queues, std::string_view client,
    int64_t now_ms) {
  std::vector<LockedQueue> held;
  std::set<LockedQueue> seen;
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) it = groups_.emplace(std::string(group), GroupLocks{}).first;
  GroupLocks& locks = it->second;
  for (const auto& q : queues) {
    if (!seen.insert(q).second) continue;
    auto [entry, fresh] = locks.try_emplace(q, Entry{std::string(client), now_ms});
    Entry& e = entry->second;
    if (!fresh && e.client != client) {
      uint64_t suppressed = 0;
      if (!lapsed(e, now_ms)) {
        if (may_log(refusal_log_, now_ms, suppressed)) {
          logger("broker")->warn(
              "group {}: lock of {}#{} for {} refused: {} holds it (renewed {} ms ago; {} more "
              "refusals not logged)",
              group, q.topic, q.queue_id, client, e.client, now_ms - e.last_renewed_ms, suppressed);
        }
        continue;
      }
      if (may_log(takeover_log_, now_ms, suppressed)) {
        logger("broker")->warn(
            "group {}: {} takes {}#{} over from {}, whose lock lapsed {} ms ago ({} more "
            "takeovers not logged)",
            group, client, q.topic, q.queue_id, e.client, now_ms - e.last_renewed_ms - lease_ms_,
            suppressed);
      }
      e.client = std::string(client);
    }
    e.last_renewed_ms = now_ms;
    held.push_back(q);
  }
  if (locks.empty()) groups_.erase(it);
  return held;
}

size_t RebalanceLockManager::unlock_batch(std::string_view group,
                                          const std::vector<LockedQueue>& queues,
                                          std::string_view client) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return 0;
  size_t released = 0;
  for (const auto& q : queues) {
    auto e = it->second.find(q);
    if (e == it->second.end() || e->second.client != client) continue;
    it->second.erase(e);
    ++released;
  }
  if (it->second.empty()) groups_.erase(it);
  return released;
}

std::optional<std::string> RebalanceLockManager::owner(std::string_view group,
                                                       const LockedQueue& queue,
                                                       int64_t now_ms) const {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return std::nullopt;
  auto e = it->second.find(queue);
  if (e == it->second.end() || lapsed(e->second, now_ms)) return std::nullopt;
  return e->second.client;
}

void RebalanceLockManager::clear() {
  std::lock_guard lock(mu_);
  groups_.clear();
}

size_t RebalanceLockManager::size() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [_, locks] : groups_)
    n += locks.size();
  return n;
}

}  // namespace comet::broker
