// The open-transaction table's rules (broker/transaction_table.h): what opens, updates and ends a
// transaction, which records are ignored, the low water H, when a transaction is due for a check
// and the in-flight marks; then a randomized comparison with a plain reference model.
#include "broker/transaction_table.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>

namespace comet::broker {
namespace {

constexpr TransactionTiming kTiming{.timeout_ms = 6000, .check_interval_ms = 1000};

// The first half message of a transaction: its origin is its own queue offset.
HalfRecordInfo first_half(uint64_t queue_offset, int64_t born_ms, std::string_view group = "PG") {
  HalfRecordInfo h;
  h.origin = queue_offset;
  h.queue_offset = queue_offset;
  h.physical_offset = 1000 + queue_offset * 100;
  h.born_ms = born_ms;
  h.stored_ms = born_ms;
  h.producer_group = group;
  return h;
}

// A check's copy of `origin`, appended at queue offset `queue_offset` at `stored_ms`.
HalfRecordInfo check_copy(uint64_t origin, uint64_t queue_offset, uint32_t check_times,
                          int64_t stored_ms, int64_t born_ms = 0) {
  HalfRecordInfo h = first_half(queue_offset, born_ms);
  h.origin = origin;
  h.check_times = check_times;
  h.stored_ms = stored_ms;
  return h;
}

std::vector<uint64_t> origins(const std::vector<OpenEntry>& v) {
  std::vector<uint64_t> out;
  for (const OpenEntry& e : v)
    out.push_back(e.origin);
  return out;
}

TEST(TransactionTable, AFirstHalfOpensAndAnOpEnds) {
  TransactionTable t(kTiming, 0);
  t.on_half(first_half(0, 100));
  t.on_half(first_half(1, 100));
  EXPECT_TRUE(t.is_open(0));
  EXPECT_TRUE(t.is_open(1));
  EXPECT_EQ(t.size(), 2u);
  t.on_op(0);
  EXPECT_FALSE(t.is_open(0));
  EXPECT_TRUE(t.is_open(1));
  const auto e = t.find(1);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->physical_offset, 1100u);
  EXPECT_EQ(e->producer_group, "PG");
  EXPECT_EQ(e->check_times, 0u);
}

TEST(TransactionTable, ACopyUpdatesItsOpenTransaction) {
  TransactionTable t(kTiming, 0);
  t.on_half(first_half(0, 100));
  t.on_half(check_copy(0, 1, 1, 7000, 100));
  const auto e = t.find(0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->check_times, 1u);
  EXPECT_EQ(e->physical_offset, 1100u);  // the copy's
  EXPECT_EQ(e->born_ms, 100);
  EXPECT_EQ(e->due_ms, 8000);  // the copy's store time + interval
  EXPECT_FALSE(t.is_open(1));  // a copy opens nothing
  EXPECT_EQ(t.size(), 1u);
}

TEST(TransactionTable, ACopyOrOpOfASettledOriginIsIgnored) {
  TransactionTable t(kTiming, 0);
  t.on_half(first_half(0, 100));
  t.on_op(0);
  t.on_half(check_copy(0, 1, 1, 7000));  // a check raced with the end: the end wins
  EXPECT_FALSE(t.is_open(0));
  EXPECT_EQ(t.size(), 0u);
  t.on_op(0);   // twice
  t.on_op(42);  // never existed
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.low_water(), 2u);
}

TEST(TransactionTable, RecordsBelowTheLowWaterItStartedFromAreSettled) {
  TransactionTable t(kTiming, 10);
  t.on_half(first_half(5, 100));         // below H: ended before H was committed
  t.on_half(check_copy(7, 10, 2, 200));  // a copy of a transaction below H
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.low_water(), 11u);  // the half queue's end
  t.on_half(first_half(11, 100));
  EXPECT_EQ(t.low_water(), 11u);
}

TEST(TransactionTable, TheLowWaterIsTheOldestOpenOriginAndNeverMovesBack) {
  TransactionTable t(kTiming, 3);
  EXPECT_EQ(t.low_water(), 3u);
  t.on_half(first_half(3, 0));
  t.on_half(first_half(4, 0));
  t.on_half(check_copy(3, 5, 1, 10));
  EXPECT_EQ(t.low_water(), 3u);
  EXPECT_EQ(t.half_end(), 6u);
  t.on_op(4);
  EXPECT_EQ(t.low_water(), 3u);
  t.on_op(3);
  EXPECT_EQ(t.low_water(), 6u);  // none open: the half queue's end
  t.on_half(first_half(6, 0));
  EXPECT_EQ(t.low_water(), 6u);
}

TEST(TransactionTable, TheFirstCheckWaitsForTheTimeoutOrTheImmunity) {
  TransactionTable t(kTiming, 0);
  t.on_half(first_half(0, 1000));
  HalfRecordInfo immune = first_half(1, 1000);
  immune.immunity_ms = 20000;
  t.on_half(immune);
  HalfRecordInfo eager = first_half(2, 1000);
  eager.immunity_ms = 0;
  t.on_half(eager);

  DueScan s = t.due(6999, 100);
  EXPECT_EQ(origins(s.due), (std::vector<uint64_t>{2}));
  EXPECT_EQ(s.next_due_ms, 7000);
  s = t.due(7000, 100);
  EXPECT_EQ(origins(s.due), (std::vector<uint64_t>{0, 2}));
  EXPECT_EQ(s.next_due_ms, 21000);
  s = t.due(21000, 100);
  EXPECT_EQ(origins(s.due), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_FALSE(s.next_due_ms);

  // Counted from the store time: a producer clock far behind does not make it due at once.
  HalfRecordInfo skewed = first_half(3, 1);
  skewed.stored_ms = 30000;
  t.on_half(skewed);
  EXPECT_EQ(t.find(3)->due_ms, 36000);
  EXPECT_EQ(t.find(3)->born_ms, 1);
}

TEST(TransactionTable, LaterChecksWaitTheIntervalAfterTheLastOne) {
  TransactionTable t(kTiming, 0);
  t.on_half(first_half(0, 0));
  ASSERT_EQ(t.due(6000, 10).due.size(), 1u);
  ASSERT_TRUE(t.mark_in_flight(0, InFlight::kCheck));
  t.on_half(check_copy(0, 1, 1, 6500));
  EXPECT_TRUE(t.due(7499, 10).due.empty());
  EXPECT_EQ(t.due(7499, 10).next_due_ms, 7500);
  EXPECT_EQ(origins(t.due(7500, 10).due), (std::vector<uint64_t>{0}));
}

TEST(TransactionTable, DueIsInOriginOrderAndStopsAtTheLimit) {
  TransactionTable t(kTiming, 0);
  for (uint64_t q = 0; q < 10; ++q)
    t.on_half(first_half(q, static_cast<int64_t>(100 - q)));
  const DueScan s = t.due(1'000'000, 4);
  EXPECT_EQ(origins(s.due), (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_FALSE(s.next_due_ms);  // the scan stopped: not known
  EXPECT_TRUE(t.due(1'000'000, 0).due.empty());
}

// A backlog larger than a round: each scan resumes after the last origin taken and wraps, so the
// newest are reached before the oldest come round again.
TEST(TransactionTable, DueResumesFromAnOriginAndWrapsToTheOldest) {
  TransactionTable t(kTiming, 0);
  for (uint64_t q = 0; q < 10; ++q)
    t.on_half(first_half(q, 0));
  EXPECT_EQ(origins(t.due(1'000'000, 4, 8).due), (std::vector<uint64_t>{8, 9, 0, 1}));
  const DueScan whole = t.due(1'000'000, 20, 5);
  EXPECT_EQ(origins(whole.due), (std::vector<uint64_t>{5, 6, 7, 8, 9, 0, 1, 2, 3, 4}));
  // Past the newest: from the oldest.
  EXPECT_EQ(origins(t.due(1'000'000, 2, 100).due), (std::vector<uint64_t>{0, 1}));
}

TEST(TransactionTable, InFlightIsNotDueAndIsClearedByItsCopyItsOpOrTheService) {
  TransactionTable t(kTiming, 0);
  t.on_half(first_half(0, 0));
  t.on_half(first_half(1, 0));
  EXPECT_TRUE(t.mark_in_flight(0, InFlight::kEnd));
  EXPECT_FALSE(t.mark_in_flight(0, InFlight::kEnd));    // decided once
  EXPECT_FALSE(t.mark_in_flight(0, InFlight::kCheck));  // no check while it ends
  EXPECT_FALSE(t.mark_in_flight(9, InFlight::kEnd));    // not open
  EXPECT_EQ(t.in_flight(0), InFlight::kEnd);
  EXPECT_EQ(origins(t.due(10'000, 10).due), (std::vector<uint64_t>{1}));
  t.clear_in_flight(0, InFlight::kCheck);  // not its mark: kept
  EXPECT_EQ(t.in_flight(0), InFlight::kEnd);
  t.clear_in_flight(0, InFlight::kEnd);  // a refused append
  EXPECT_EQ(t.in_flight(0), InFlight::kNone);
  EXPECT_EQ(origins(t.due(10'000, 10).due), (std::vector<uint64_t>{0, 1}));

  ASSERT_TRUE(t.mark_in_flight(1, InFlight::kCheck));
  EXPECT_FALSE(t.mark_in_flight(1, InFlight::kCheck));
  t.on_half(check_copy(1, 2, 1, 10'000));  // the check's copy arrived
  EXPECT_EQ(t.in_flight(1), InFlight::kNone);

  // An END overtakes a check; the check's copy arriving then leaves the END's mark.
  ASSERT_TRUE(t.mark_in_flight(1, InFlight::kCheck));
  ASSERT_TRUE(t.mark_in_flight(1, InFlight::kEnd));
  t.on_half(check_copy(1, 3, 2, 11'000));
  EXPECT_EQ(t.in_flight(1), InFlight::kEnd);
  EXPECT_EQ(t.find(1)->check_times, 2u);
  t.on_op(1);  // the END's op arrived
  EXPECT_EQ(t.in_flight(1), InFlight::kNone);
  EXPECT_FALSE(t.is_open(1));
}

TEST(TransactionTable, ListingIsOldestFirstPerGroupWithATotal) {
  TransactionTable t(kTiming, 0);
  t.on_half(first_half(0, 0, "A"));
  t.on_half(first_half(1, 0, "B"));
  t.on_half(first_half(2, 0, "A"));
  t.on_half(first_half(3, 0, "A"));
  uint64_t total = 0;
  EXPECT_EQ(origins(t.list("A", 2, total)), (std::vector<uint64_t>{0, 2}));
  EXPECT_EQ(total, 3u);
  EXPECT_EQ(origins(t.list("", 10, total)), (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(total, 4u);
  EXPECT_TRUE(t.list("C", 10, total).empty());
  EXPECT_EQ(total, 0u);
  EXPECT_EQ(t.find(1)->producer_group, "B");
}

// The reference: every half record kept in a vector, every question answered by a full scan.
class ReferenceTable {
 public:
  ReferenceTable(TransactionTiming timing, uint64_t low) : timing_(timing), floor_(low) {}

  void on_half(const HalfRecordInfo& h) {
    end_ = std::max(end_, h.queue_offset + 1);
    if (h.origin < floor_ || ended_.contains(h.origin)) return;
    if (h.origin == h.queue_offset) {
      if (!first_.contains(h.origin))
        first_[h.origin] = {h.born_ms, h.stored_ms + h.immunity_ms.value_or(timing_.timeout_ms), 0};
      return;
    }
    auto it = first_.find(h.origin);
    if (it == first_.end()) return;
    it->second.due = h.stored_ms + timing_.check_interval_ms;
    it->second.checks = std::max(it->second.checks, h.check_times);
    clear(h.origin, InFlight::kCheck);
  }
  void on_op(uint64_t origin) {
    if (first_.erase(origin)) ended_.insert(origin);
    marks_.erase(origin);
  }
  std::vector<uint64_t> due(int64_t now, size_t limit) const {
    std::vector<uint64_t> out;
    for (const auto& [o, s] : first_)
      if (!marks_.contains(o) && s.due <= now && out.size() < limit) out.push_back(o);
    return out;
  }
  uint64_t low_water() const { return first_.empty() ? end_ : first_.begin()->first; }
  bool mark(uint64_t o, InFlight kind) {
    if (!first_.contains(o)) return false;
    const auto it = marks_.find(o);
    if (it != marks_.end() && it->second >= kind) return false;
    marks_[o] = kind;
    return true;
  }
  void clear(uint64_t o, InFlight kind) {
    const auto it = marks_.find(o);
    if (it != marks_.end() && it->second == kind) marks_.erase(it);
  }
  InFlight mark_of(uint64_t o) const {
    const auto it = marks_.find(o);
    return it == marks_.end() ? InFlight::kNone : it->second;
  }
  size_t size() const { return first_.size(); }
  uint32_t checks(uint64_t o) const { return first_.at(o).checks; }

 private:
  struct State {
    int64_t born, due;
    uint32_t checks;
  };
  TransactionTiming timing_;
  uint64_t floor_;
  uint64_t end_ = floor_;
  std::map<uint64_t, State> first_;
  std::set<uint64_t> ended_;
  std::map<uint64_t, InFlight> marks_;
};

uint32_t model_seed() {
  const char* s = std::getenv("COMET_TXN_SEED");
  return s ? static_cast<uint32_t>(std::strtoul(s, nullptr, 10)) : 0;
}

// Random halves, copies (of open, ended and unknown origins), ops, marks and scans; the table
// and the reference agree after every step. COMET_TXN_SEED=<n> replays one seed.
TEST(TransactionTable, AgreesWithAReferenceModelOverRandomHistories) {
  const uint32_t only = model_seed();
  for (uint32_t seed = only ? only : 1; seed <= (only ? only : 300u); ++seed) {
    SCOPED_TRACE("COMET_TXN_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
    const uint64_t start = pick(5);
    const TransactionTiming timing{static_cast<int64_t>(pick(3000)),
                                   static_cast<int64_t>(10 + pick(2000))};
    TransactionTable t(timing, start);
    ReferenceTable r(timing, start);
    uint64_t next_q = start;
    int64_t now = 0;
    uint64_t last_low = t.low_water();
    for (int step = 0; step < 400; ++step) {
      now += static_cast<int64_t>(pick(200));
      const uint64_t op = pick(10);
      HalfRecordInfo h;
      if (op < 3) {  // a new transaction's first half
        h = first_half(next_q, now - static_cast<int64_t>(pick(100)), pick(2) ? "A" : "B");
        h.stored_ms = now;
        if (pick(4) == 0) h.immunity_ms = static_cast<int64_t>(pick(5000));
        ++next_q;
        t.on_half(h);
        r.on_half(h);
      } else if (op < 5 && next_q > 0) {  // a copy of an older origin (maybe ended or below H)
        const uint64_t origin = pick(next_q);
        h = check_copy(origin, next_q++, static_cast<uint32_t>(1 + pick(20)), now);
        t.on_half(h);
        r.on_half(h);
      } else if (op < 7) {  // an op of some origin
        const uint64_t origin = pick(next_q + 2);
        t.on_op(origin);
        r.on_op(origin);
      } else if (op < 8) {  // an END or a check being appended
        const uint64_t origin = pick(next_q + 1);
        const InFlight kind = pick(2) ? InFlight::kEnd : InFlight::kCheck;
        ASSERT_EQ(t.mark_in_flight(origin, kind), r.mark(origin, kind)) << origin;
      } else if (op < 9) {  // a refused append
        const uint64_t origin = pick(next_q + 1);
        const InFlight kind = pick(2) ? InFlight::kEnd : InFlight::kCheck;
        t.clear_in_flight(origin, kind);
        r.clear(origin, kind);
        ASSERT_EQ(t.in_flight(origin), r.mark_of(origin));
        if (t.is_open(origin)) {
          ASSERT_EQ(t.find(origin)->check_times, r.checks(origin));
        }
      } else {
        const size_t limit = 1 + pick(8);
        ASSERT_EQ(origins(t.due(now, limit).due), r.due(now, limit));
      }
      ASSERT_EQ(t.size(), r.size());
      ASSERT_EQ(t.low_water(), r.low_water());
      ASSERT_GE(t.low_water(), last_low);
      last_low = t.low_water();
    }
  }
}

}  // namespace
}  // namespace comet::broker
