// ha::EpochCache: where two logs agree by their epoch histories, promotion, and the stored form.
#include <gtest/gtest.h>

#include "ha/epoch_cache.h"

namespace comet::ha {
namespace {

TEST(EpochCache, LogsAgreeUpToTheEndOfTheLastEpochTheyShare) {
  // Same history, one log shorter: they agree up to the shorter end.
  std::vector<EpochEntry> a{{1, 0}, {2, 500}};
  EXPECT_EQ(EpochCache::consistent_offset(a, 900, a, 700), 700u);
  EXPECT_EQ(EpochCache::consistent_offset(a, 700, a, 900), 700u);
  // An old master wrote past 500 in epoch 1 while the promoted slave started epoch 2 at 500:
  // the old master's tail beyond 500 is divergent.
  std::vector<EpochEntry> old_master{{1, 0}};
  EXPECT_EQ(EpochCache::consistent_offset(a, 900, old_master, 800), 500u);
  // ... and a slave of it that has less than 500 keeps everything it has.
  EXPECT_EQ(EpochCache::consistent_offset(a, 900, old_master, 300), 300u);
  // No epochs at all: both logs hold "epoch 0" from 0.
  EXPECT_EQ(EpochCache::consistent_offset({}, 400, {}, 0), 0u);
  EXPECT_EQ(EpochCache::consistent_offset({{1, 100}}, 400, {}, 250), 100u);
  // The same epoch number with another start is another history: look further back.
  std::vector<EpochEntry> other{{1, 0}, {2, 450}};
  EXPECT_EQ(EpochCache::consistent_offset(a, 900, other, 800), 450u);
  // Nothing in common but epoch 0 when both started their first epoch at 0.
  EXPECT_EQ(EpochCache::consistent_offset({{3, 0}}, 900, {{1, 0}}, 800), 0u);
}

TEST(EpochCache, PromotionStartsAHigherEpochAndDropsEpochsWithoutData) {
  EpochCache c({{1, 0}, {2, 500}});
  EXPECT_EQ(c.last_epoch(), 2);
  c.observe(4);  // a master's epoch seen in a handshake
  EXPECT_FALSE(c.start_epoch(4, 300).is_ok()) << "not above the highest epoch seen";
  ASSERT_TRUE(c.start_epoch(5, 300).is_ok());  // the log ends at 300: epoch 2 wrote nothing here
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{1, 0}, {5, 300}}));
  EXPECT_EQ(c.max_seen(), 5);
}

TEST(EpochCache, RoundTripsThroughItsStoredFormAndRejectsGarbage) {
  EpochCache c({{1, 0}, {3, 4096}}, 7);
  auto back = EpochCache::parse(c.serialize());
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back->entries(), c.entries());
  EXPECT_EQ(back->max_seen(), 7);
  auto empty = EpochCache::parse(EpochCache().serialize());
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->entries().empty());
  for (const char* bad : {"", "1:0", "1:0;x", "1-0;1", "2:0,1:5;2", "1:9,2:5;2", "a:b;1"}) {
    EXPECT_FALSE(EpochCache::parse(bad).is_ok()) << bad;
  }
}

}  // namespace
}  // namespace comet::ha
