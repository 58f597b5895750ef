// HeldPulls, the index of long-polled pulls: an arrival takes exactly the pulls on its queue that
// it satisfies, a timed-out pull leaves by its ticket, and nothing is taken twice.
#include "broker/held_pulls.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace comet::broker {
namespace {

using Tickets = std::vector<HeldPulls::Ticket>;

Tickets sorted(Tickets t) {
  std::sort(t.begin(), t.end());
  return t;
}

TEST(HeldPulls, AnArrivalTakesOnlyThePullsOfItsQueueThatItPasses) {
  HeldPulls held;
  const auto a0 = held.add("A", 0, 5);
  const auto a0_later = held.add("A", 0, 9);
  const auto a1 = held.add("A", 1, 5);
  const auto b0 = held.add("B", 0, 5);
  EXPECT_EQ(held.size(), 4u);
  EXPECT_EQ(held.queues(), 3u);

  EXPECT_TRUE(held.take_ready("A", 0, 5).empty()) << "max offset 5 does not pass offset 5";
  EXPECT_EQ(held.take_ready("A", 0, 6), Tickets{a0});
  EXPECT_EQ(held.size(), 3u);
  EXPECT_EQ(held.take_ready("A", 0, 100), Tickets{a0_later});
  EXPECT_EQ(held.queues(), 2u) << "an emptied queue leaves the index";
  EXPECT_TRUE(held.take_ready("C", 0, 100).empty());
  EXPECT_EQ(sorted(held.take_all()), sorted({a1, b0}));
  EXPECT_EQ(held.size(), 0u);
  EXPECT_EQ(held.queues(), 0u);
}

TEST(HeldPulls, ReadyPullsComeLowestOffsetFirst) {
  HeldPulls held;
  const auto at7 = held.add("T", 3, 7);
  const auto at2 = held.add("T", 3, 2);
  const auto at4 = held.add("T", 3, 4);
  EXPECT_EQ(held.take_ready("T", 3, 8), (Tickets{at2, at4, at7}));
}

TEST(HeldPulls, ATimedOutPullLeavesByItsTicketOnce) {
  HeldPulls held;
  const auto first = held.add("T", 0, 1);
  const auto second = held.add("T", 0, 1);
  auto queue = held.take(first);
  ASSERT_TRUE(queue.has_value());
  EXPECT_EQ(queue->topic, "T");
  EXPECT_EQ(queue->queue_id, 0u);
  EXPECT_FALSE(held.take(first).has_value()) << "already gone";
  EXPECT_EQ(held.take_ready("T", 0, 2), Tickets{second});
  EXPECT_FALSE(held.take(second).has_value())
      << "the arrival took it first: its timer must not retry it";
  EXPECT_EQ(held.queues(), 0u);
}

// Ten thousand pulls over 160 queues: an arrival on one queue takes that queue's and no other.
TEST(HeldPulls, TenThousandHeldAcrossQueues) {
  HeldPulls held;
  constexpr uint32_t kTopics = 20, kQueues = 8, kPulls = 10'000;
  for (uint32_t i = 0; i < kPulls; ++i) {
    held.add("topic-" + std::to_string(i % kTopics), (i / kTopics) % kQueues, 0);
  }
  EXPECT_EQ(held.queues(), kTopics * kQueues);
  const size_t per_queue = kPulls / (kTopics * kQueues);
  EXPECT_EQ(held.take_ready("topic-3", 5, 1).size(), per_queue);
  EXPECT_EQ(held.size(), kPulls - per_queue);
  EXPECT_TRUE(held.take_ready("topic-3", 5, 1).empty());
}

}  // namespace
}  // namespace comet::broker
