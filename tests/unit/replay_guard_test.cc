// ReplayGuard (remoting/replay_guard.h): once per (access key, prefix, counter), a window for
// out-of-order counters, expiry after the signature window, the caps; and a randomized run
// against a reference model that also checks the property the guard exists for: a request the
// timestamp check would still let through is never accepted twice.
#include "remoting/replay_guard.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace comet::remoting {
namespace {

using V = ReplayGuard::Verdict;
constexpr int64_t kWindowMs = 300'000;
constexpr uint64_t kW = ReplayGuardOptions::kWindow;

ReplayGuardOptions opts(size_t max_prefixes = 1000, size_t per_account = 1000) {
  ReplayGuardOptions o;
  o.signature_window_ms = kWindowMs;
  o.max_prefixes = max_prefixes;
  o.max_prefixes_per_account = per_account;
  return o;
}

std::string nonce(uint64_t prefix, uint64_t counter) {
  std::string n(16, '\0');
  for (int i = 0; i < 8; ++i) {
    n[i] = static_cast<char>(prefix >> (56 - 8 * i));
    n[8 + i] = static_cast<char>(counter >> (56 - 8 * i));
  }
  return n;
}

TEST(ReplayGuard, EachNonceIsAcceptedOnce) {
  ReplayGuard g(opts());
  EXPECT_EQ(g.check("app", nonce(7, 1), 1000, 1000), V::kAccepted);
  EXPECT_EQ(g.check("app", nonce(7, 1), 1000, 1001), V::kReplayed);
  EXPECT_EQ(g.check("app", nonce(7, 2), 1000, 1001), V::kAccepted);
  EXPECT_EQ(g.check("other", nonce(7, 1), 1000, 1001), V::kAccepted);  // per account
  EXPECT_EQ(g.check("app", nonce(8, 1), 1000, 1001), V::kAccepted);    // per prefix
  EXPECT_EQ(g.check("app", "short", 1000, 1001), V::kBadNonce);
  EXPECT_EQ(g.prefixes(), 3u);
}

TEST(ReplayGuard, OutOfOrderWithinTheWindowPassesOnceAndBelowItIsRefused) {
  ReplayGuard g(opts());
  EXPECT_EQ(g.check("app", 1, 100, 0, 0), V::kAccepted);
  EXPECT_EQ(g.check("app", 1, 98, 0, 0), V::kAccepted);
  EXPECT_EQ(g.check("app", 1, 99, 0, 0), V::kAccepted);
  EXPECT_EQ(g.check("app", 1, 98, 0, 0), V::kReplayed);
  EXPECT_EQ(g.check("app", 1, 100 + kW, 0, 0), V::kAccepted);
  EXPECT_EQ(g.check("app", 1, 101, 0, 0), V::kAccepted);           // highest - (W - 1): inside
  EXPECT_EQ(g.check("app", 1, 100, 0, 0), V::kTooOld);             // highest - W: below the window
  EXPECT_EQ(g.check("app", 1, 100 + 5 * kW, 0, 0), V::kAccepted);  // a jump clears the bitmap
  EXPECT_EQ(g.check("app", 1, 100 + 5 * kW - 1, 0, 0), V::kAccepted);
  EXPECT_EQ(g.check("app", 1, 100 + kW, 0, 0), V::kTooOld);
}

TEST(ReplayGuard, EntriesExpireOnlyAfterTheirNewestRequestLeavesTheSignatureWindow) {
  ReplayGuard g(opts());
  // Signed 100 s in the future (allowed), so it stays replayable until 100 s + window.
  EXPECT_EQ(g.check("app", 1, 5, 100'000, 0), V::kAccepted);
  EXPECT_EQ(g.expire(kWindowMs), 0u);
  EXPECT_EQ(g.check("app", 1, 5, 100'000, 100'000 + kWindowMs), V::kReplayed);
  EXPECT_EQ(g.expire(100'001 + kWindowMs), 1u);
  EXPECT_EQ(g.prefixes(), 0u);
}

TEST(ReplayGuard, AtTheCapNewPrefixesAreRefusedUntilOldOnesExpire) {
  ReplayGuard g(opts(/*max_prefixes=*/3, /*per_account=*/2));
  EXPECT_EQ(g.check("a", 1, 1, 0, 0), V::kAccepted);
  EXPECT_EQ(g.check("a", 2, 1, 0, 0), V::kAccepted);
  EXPECT_EQ(g.check("a", 3, 1, 0, 0), V::kFull);  // the account's cap
  EXPECT_EQ(g.check("b", 1, 1, 10, 10), V::kAccepted);
  EXPECT_EQ(g.check("c", 1, 1, 10, 10), V::kFull);      // the guard's cap
  EXPECT_EQ(g.check("a", 1, 2, 10, 10), V::kAccepted);  // live prefixes go on
  // Past the window of a's prefix 2 (newest timestamp 0) but not of prefix 1 (10): one frees.
  EXPECT_EQ(g.check("c", 1, 1, kWindowMs + 5, kWindowMs + 5), V::kAccepted);
  EXPECT_EQ(g.check("a", 1, 2, 10, kWindowMs + 5), V::kReplayed);  // never forgotten while live
  EXPECT_EQ(g.prefixes(), 3u);
}

// The rules written out again, with a set of accepted counters instead of the bitmap.
class Model {
 public:
  V check(const std::string& key, uint64_t prefix, uint64_t counter, int64_t ts, int64_t now) {
    auto it = entries_.find({key, prefix});
    if (it != entries_.end() && now > it->second.newest + kWindowMs) {
      entries_.erase(it);
      it = entries_.end();
    }
    if (it == entries_.end()) {
      entries_[{key, prefix}] = {counter, {counter}, ts};
      return V::kAccepted;
    }
    Entry& e = it->second;
    if (counter > e.highest) {
      e.highest = counter;
    } else if (e.highest - counter >= kW) {
      return V::kTooOld;
    } else if (e.accepted.contains(counter)) {
      return V::kReplayed;
    }
    e.accepted.insert(counter);
    e.newest = std::max(e.newest, ts);
    return V::kAccepted;
  }

 private:
  struct Entry {
    uint64_t highest;
    std::set<uint64_t> accepted;
    int64_t newest;
  };
  std::map<std::pair<std::string, uint64_t>, Entry> entries_;
};

struct Sent {
  std::string key;
  uint64_t prefix;
  uint64_t counter;
  int64_t ts;
};

TEST(ReplayGuard, MatchesTheModelAndNeverAcceptsAReplayTheClockWouldLetThrough) {
  const int seeds = 30;
  for (int seed = 1; seed <= seeds; ++seed) {
    std::mt19937_64 rng(seed);
    ReplayGuard guard(opts(100'000, 100'000));
    Model model;
    std::vector<Sent> accepted;
    std::map<std::pair<std::string, uint64_t>, uint64_t> next;  // per signer's counter
    int64_t now = 1'700'000'000'000;
    for (int step = 0; step < 4000; ++step) {
      now += static_cast<int64_t>(rng() % 2000);
      if (rng() % 97 == 0) now += kWindowMs;  // a quiet spell: entries expire
      Sent s;
      const bool replay = !accepted.empty() && rng() % 4 == 0;
      if (replay) {
        s = accepted[rng() % accepted.size()];
      } else {
        s.key = rng() % 2 ? "app" : "ops";
        s.prefix = rng() % 3;
        uint64_t& n = next[{s.key, s.prefix}];
        const uint64_t jitter = rng() % 40;
        n += 1 + (rng() % 50 == 0 ? kW + rng() % 100 : 0);
        s.counter = n > jitter ? n - jitter : n;  // concurrent senders reorder a little
        s.ts = now + static_cast<int64_t>(rng() % (2 * kWindowMs)) - kWindowMs;
      }
      if (std::llabs(s.ts - now) > kWindowMs) continue;  // the timestamp check refuses it
      const V got = guard.check(s.key, s.prefix, s.counter, s.ts, now);
      ASSERT_EQ(got, model.check(s.key, s.prefix, s.counter, s.ts, now))
          << "seed " << seed << " step " << step;
      if (replay) {
        ASSERT_NE(got, V::kAccepted) << "a replay inside the window passed, seed " << seed;
      }
      if (got == V::kAccepted) accepted.push_back(s);
      if (rng() % 500 == 0) guard.expire(now);
    }
  }
}

}  // namespace
}  // namespace comet::remoting
