// RebalanceLockManager: the lease and takeover rules, and a randomized run against a reference
// model (a map of (group, queue) to owner and last renewal, with the rules written out again).
#include "broker/rebalance_lock_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace comet::broker {
namespace {

constexpr int64_t kLease = 60000;

std::vector<LockedQueue> queues(std::initializer_list<int32_t> ids,
                                const std::string& topic = "T") {
  std::vector<LockedQueue> out;
  for (int32_t id : ids)
    out.push_back({topic, id});
  return out;
}

TEST(RebalanceLockManager, FreeQueuesAreLockedAndOwnedUntilTheLeaseLapses) {
  RebalanceLockManager m(kLease);
  EXPECT_EQ(m.try_lock_batch("G", queues({0, 1}), "c1", 1000), queues({0, 1}));
  EXPECT_EQ(m.owner("G", {"T", 0}, 1000), "c1");
  EXPECT_EQ(m.owner("G", {"T", 0}, 1000 + kLease), "c1");  // lapsed only past the lease
  EXPECT_EQ(m.owner("G", {"T", 0}, 1001 + kLease), std::nullopt);
  EXPECT_EQ(m.owner("Other", {"T", 0}, 1000), std::nullopt);  // per group
}

TEST(RebalanceLockManager, AnotherClientsLiveLockIsRefused) {
  RebalanceLockManager m(kLease);
  m.try_lock_batch("G", queues({0, 1}), "c1", 0);
  EXPECT_EQ(m.try_lock_batch("G", queues({1, 2}), "c2", kLease), queues({2}));
  EXPECT_EQ(m.owner("G", {"T", 1}, kLease), "c1");
  // Another group locks the same queue independently.
  EXPECT_EQ(m.try_lock_batch("G2", queues({1}), "c2", 0), queues({1}));
}

TEST(RebalanceLockManager, RenewalExtendsTheLease) {
  RebalanceLockManager m(kLease);
  m.try_lock_batch("G", queues({0}), "c1", 0);
  EXPECT_EQ(m.try_lock_batch("G", queues({0}), "c1", 50000), queues({0}));
  EXPECT_TRUE(m.try_lock_batch("G", queues({0}), "c2", 50000 + kLease).empty());
  EXPECT_EQ(m.try_lock_batch("G", queues({0}), "c2", 50001 + kLease), queues({0}));
  EXPECT_EQ(m.owner("G", {"T", 0}, 50001 + kLease), "c2");
}

TEST(RebalanceLockManager, OwnLapsedLockIsRenewed) {
  RebalanceLockManager m(kLease);
  m.try_lock_batch("G", queues({0}), "c1", 0);
  EXPECT_EQ(m.try_lock_batch("G", queues({0}), "c1", 10 * kLease), queues({0}));
  EXPECT_EQ(m.owner("G", {"T", 0}, 10 * kLease), "c1");
}

TEST(RebalanceLockManager, OnlyTheOwnerUnlocks) {
  RebalanceLockManager m(kLease);
  m.try_lock_batch("G", queues({0, 1}), "c1", 0);
  EXPECT_EQ(m.unlock_batch("G", queues({0, 1, 7}), "c2"), 0u);
  EXPECT_EQ(m.owner("G", {"T", 0}, 0), "c1");
  EXPECT_EQ(m.unlock_batch("G", queues({0}), "c1"), 1u);
  EXPECT_EQ(m.owner("G", {"T", 0}, 0), std::nullopt);
  EXPECT_EQ(m.try_lock_batch("G", queues({0}), "c2", 1), queues({0}));
  EXPECT_EQ(m.unlock_batch("Nope", queues({1}), "c1"), 0u);
  EXPECT_EQ(m.size(), 2u);
}

TEST(RebalanceLockManager, DuplicatesAndEmptyBatches) {
  RebalanceLockManager m(kLease);
  EXPECT_TRUE(m.try_lock_batch("G", {}, "c1", 0).empty());
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.try_lock_batch("G", queues({3, 3, 3}), "c1", 0), queues({3}));
  EXPECT_EQ(m.try_lock_batch("G", queues({3}, "U"), "c1", 0), queues({3}, "U"));  // topics differ
  EXPECT_EQ(m.size(), 2u);
  m.clear();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.owner("G", {"T", 3}, 0), std::nullopt);
}

// The rules again, as plainly as possible.
class ReferenceLocks {
 public:
  explicit ReferenceLocks(int64_t lease) : lease_(lease) {}
  std::set<LockedQueue> lock(const std::string& g, const std::vector<LockedQueue>& qs,
                             const std::string& c, int64_t now) {
    std::set<LockedQueue> held;
    for (const auto& q : qs) {
      auto key = std::make_tuple(g, q.topic, q.queue_id);
      auto it = locks_.find(key);
      const bool free =
          it == locks_.end() || it->second.first == c || now - it->second.second > lease_;
      if (!free) continue;
      locks_[key] = {c, now};
      held.insert(q);
    }
    return held;
  }
  size_t unlock(const std::string& g, const std::vector<LockedQueue>& qs, const std::string& c) {
    size_t n = 0;
    for (const auto& q : qs) {
      auto it = locks_.find(std::make_tuple(g, q.topic, q.queue_id));
      if (it != locks_.end() && it->second.first == c) {
        locks_.erase(it);
        ++n;
      }
    }
    return n;
  }
  std::optional<std::string> owner(const std::string& g, const LockedQueue& q, int64_t now) {
    auto it = locks_.find(std::make_tuple(g, q.topic, q.queue_id));
    if (it == locks_.end() || now - it->second.second > lease_) return std::nullopt;
    return it->second.first;
  }

 private:
  int64_t lease_;
  std::map<std::tuple<std::string, std::string, int32_t>, std::pair<std::string, int64_t>> locks_;
};

TEST(RebalanceLockManager, MatchesTheReferenceModel) {
  constexpr int64_t kShortLease = 100;
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    std::mt19937 rng(seed);
    RebalanceLockManager m(kShortLease);
    ReferenceLocks ref(kShortLease);
    const std::vector<std::string> groups = {"G1", "G2"};
    const std::vector<std::string> clients = {"c1", "c2", "c3", "c4", "c5"};
    int64_t now = 0;
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    auto random_queues = [&] {
      std::vector<LockedQueue> qs;
      const size_t n = pick(5);
      for (size_t i = 0; i < n; ++i)
        qs.push_back({pick(3) == 0 ? "U" : "T", static_cast<int32_t>(pick(6))});
      return qs;
    };
    for (int step = 0; step < 300; ++step) {
      now += static_cast<int64_t>(pick(40));  // leases lapse every few steps
      const std::string& g = groups[pick(groups.size())];
      const std::string& c = clients[pick(clients.size())];
      const auto qs = random_queues();
      if (pick(3) != 0) {
        auto got = m.try_lock_batch(g, qs, c, now);
        std::set<LockedQueue> got_set(got.begin(), got.end());
        ASSERT_EQ(got_set.size(), got.size()) << "seed " << seed << " step " << step;
        ASSERT_EQ(got_set, ref.lock(g, qs, c, now)) << "seed " << seed << " step " << step;
      } else {
        ASSERT_EQ(m.unlock_batch(g, qs, c), ref.unlock(g, qs, c))
            << "seed " << seed << " step " << step;
      }
      for (const auto& q : qs) {
        ASSERT_EQ(m.owner(g, q, now), ref.owner(g, q, now)) << "seed " << seed << " step " << step;
      }
    }
  }
}

}  // namespace
}  // namespace comet::broker
