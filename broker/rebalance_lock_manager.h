// RebalanceLockManager: RocketMQ's broker-side queue locks for orderly consumption. Per consumer
// group and queue (topic, queue id; the broker is this one) it keeps the client that holds the
// queue and when it last locked it. A member of an orderly group locks the queues a rebalance
// gave it before it pulls them, renews them every 20 s and unlocks them once it let them go, so
// two members never consume one queue at once while the group rebalances.
//
// A lock is live until `lease_ms` have passed since its last renewal (RocketMQ's
// rocketmq.broker.rebalance.lockMaxLiveTime, rebalanceLockMaxLiveTime here); a lapsed lock is
// anyone's. Locks are memory only, on the master (a restarted or newly elected master starts
// without any and the members lock again within their renewal period).
//
// Pure and thread-safe: time is passed in (ms, any monotonic origin). Takeovers of lapsed locks
// and refusals are logged, at most one line per kind a second.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace comet::broker {

// A queue of this broker.
struct LockedQueue {
  std::string topic;
  int32_t queue_id = 0;
  auto operator<=>(const LockedQueue&) const = default;
  bool operator==(const LockedQueue&) const = default;
};

class RebalanceLockManager {
 public:
  explicit RebalanceLockManager(int64_t lease_ms) : lease_ms_(lease_ms) {}

  // Locks or renews every queue of `queues` that is free, lapsed or already `client`'s; a queue
  // another client holds live is refused. Returns the queues of `queues` that `client` holds
  // now (each once).
  std::vector<LockedQueue> try_lock_batch(std::string_view group,
                                          const std::vector<LockedQueue>& queues,
                                          std::string_view client, int64_t now_ms);
  // Releases the queues of `queues` that `client` holds (lapsed or not); another client's stay.
  // Returns how many were released.
  size_t unlock_batch(std::string_view group, const std::vector<LockedQueue>& queues,
                      std::string_view client);
  // The client holding `queue` live; nullopt when it is free or lapsed.
  std::optional<std::string> owner(std::string_view group, const LockedQueue& queue,
                                   int64_t now_ms) const;
  // Forgets every lock (a broker that stops being master).
  void clear();
  // Locks kept, lapsed ones included (they go when taken over, unlocked or cleared).
  size_t size() const;
  int64_t lease_ms() const { return lease_ms_; }

 private:
  struct Entry {
    std::string client;
    int64_t last_renewed_ms = 0;
  };
  using GroupLocks = std::map<LockedQueue, Entry>;

  bool lapsed(const Entry& e, int64_t now_ms) const {
    return now_ms - e.last_renewed_ms > lease_ms_;
  }
  // At most one line a second per kind; counts what it left out.
  struct RateLimit {
    int64_t last_ms = INT64_MIN;
    uint64_t suppressed = 0;
  };
  bool may_log(RateLimit& limit, int64_t now_ms, uint64_t& suppressed);

  const int64_t lease_ms_;
  mutable std::mutex mu_;
  std::map<std::string, GroupLocks, std::less<>> groups_;
  RateLimit takeover_log_;
  RateLimit refusal_log_;
};

}  // namespace comet::broker
