// BrokerStats: the sliding minute of per-second counters behind putTps, getTransferedTps and a
// group's consume TPS, on a manual clock.
#include <gtest/gtest.h>

#include "broker/broker_stats.h"
#include "test_util.h"

namespace comet::broker {
namespace {

using testing::ManualClock;

constexpr int64_t kT0 = 1'700'000'000'000;  // a whole second

TEST(SlidingSecondCounter, EmptyIsZero) {
  SlidingSecondCounter c;
  EXPECT_EQ(c.sum(kT0), 0u);
  EXPECT_EQ(c.per_second(kT0), 0);
  EXPECT_TRUE(c.idle(kT0));
}

TEST(SlidingSecondCounter, AveragesOverTheTimeSinceTheFirstCountUpToAMinute) {
  SlidingSecondCounter c;
  for (int s = 0; s < 10; ++s)
    c.add(kT0 + s * 1000 + 500, 100);
  EXPECT_EQ(c.sum(kT0 + 9'999), 1000u);
  EXPECT_DOUBLE_EQ(c.per_second(kT0 + 9'999), 100.0);  // ten seconds, not a minute
  // Fifty idle seconds later the window still holds all of it, now over a whole minute.
  EXPECT_DOUBLE_EQ(c.per_second(kT0 + 59'999), 1000.0 / 60);
}

TEST(SlidingSecondCounter, CountsOlderThanAMinuteLeaveTheWindow) {
  SlidingSecondCounter c;
  c.add(kT0, 60);
  c.add(kT0 + 30'000, 30);
  EXPECT_EQ(c.sum(kT0 + 59'999), 90u);
  EXPECT_EQ(c.sum(kT0 + 60'000), 30u);  // the first second left
  EXPECT_EQ(c.sum(kT0 + 90'000), 0u);
  EXPECT_TRUE(c.idle(kT0 + 90'000));
}

TEST(SlidingSecondCounter, ABucketReusedAMinuteLaterStartsFromZero) {
  SlidingSecondCounter c;
  c.add(kT0, 5);
  c.add(kT0 + 60'000, 7);  // the same bucket, a minute on
  EXPECT_EQ(c.sum(kT0 + 60'000), 7u);
}

TEST(SlidingSecondCounter, ManyCountsInOneSecondAddUp) {
  SlidingSecondCounter c;
  for (int i = 0; i < 1000; ++i)
    c.add(kT0 + i, 1);
  EXPECT_EQ(c.sum(kT0 + 999), 1000u);
  EXPECT_DOUBLE_EQ(c.per_second(kT0 + 999), 1000.0);
}

TEST(BrokerStats, StoredAndPulledAreSeparateRates) {
  ManualClock clock(kT0);
  BrokerStats stats(clock);
  stats.on_stored(32);  // a batch
  stats.on_stored(1);
  stats.on_pulled("g1", 10);
  stats.on_pulled("g2", 5);
  EXPECT_DOUBLE_EQ(stats.put_tps(), 33.0);
  EXPECT_DOUBLE_EQ(stats.get_transfered_tps(), 15.0);
  EXPECT_DOUBLE_EQ(stats.consume_tps("g1"), 10.0);
  EXPECT_DOUBLE_EQ(stats.consume_tps("g2"), 5.0);
  EXPECT_DOUBLE_EQ(stats.consume_tps("unknown"), 0.0);
  clock.advance(61'000);
  EXPECT_DOUBLE_EQ(stats.put_tps(), 0.0);
  EXPECT_DOUBLE_EQ(stats.consume_tps("g1"), 0.0);
}

TEST(BrokerStats, PullsWithoutAGroupCountOnlyInTheTotal) {
  ManualClock clock(kT0);
  BrokerStats stats(clock);
  stats.on_pulled("", 4);
  EXPECT_DOUBLE_EQ(stats.get_transfered_tps(), 4.0);
  EXPECT_DOUBLE_EQ(stats.consume_tps(""), 0.0);
}

TEST(BrokerStats, IdleGroupsMakeRoomForNewOnesAtTheCap) {
  ManualClock clock(kT0);
  BrokerStats stats(clock);
  for (size_t i = 0; i < BrokerStats::kMaxGroups; ++i)
    stats.on_pulled("old" + std::to_string(i), 1);
  clock.advance(61'000);  // all idle now
  stats.on_pulled("fresh", 3);
  EXPECT_DOUBLE_EQ(stats.consume_tps("fresh"), 3.0);
}

TEST(BrokerStats, AtTheCapWithEveryGroupBusyANewGroupIsNotTracked) {
  ManualClock clock(kT0);
  BrokerStats stats(clock);
  for (size_t i = 0; i < BrokerStats::kMaxGroups; ++i)
    stats.on_pulled("busy" + std::to_string(i), 1);
  stats.on_pulled("late", 3);
  EXPECT_DOUBLE_EQ(stats.consume_tps("late"), 0.0);
  EXPECT_DOUBLE_EQ(stats.consume_tps("busy0"), 1.0);
  EXPECT_DOUBLE_EQ(stats.get_transfered_tps(), static_cast<double>(BrokerStats::kMaxGroups + 3));
}

}  // namespace
}  // namespace comet::broker
