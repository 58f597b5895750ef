// What retention destroys per consumer group and topic (broker/retention_accounting.h).
#include "broker/retention_accounting.h"

#include <map>
#include <tuple>

#include <gtest/gtest.h>

#include "broker/broker_stats.h"

namespace comet::broker {
namespace {

using Deletion = commitlog::MessageStore::SegmentDeletion;

struct Offsets {
  std::map<std::string, std::vector<std::string>> groups;  // per topic
  std::map<std::tuple<std::string, std::string, uint32_t>, uint64_t> committed;

  std::vector<UnconsumedLoss> losses(const Deletion& d) const {
    return unconsumed_losses(
        d,
        [&](std::string_view topic) {
          auto it = groups.find(std::string(topic));
          return it == groups.end() ? std::vector<std::string>{} : it->second;
        },
        [&](std::string_view g, std::string_view t, uint32_t q) -> std::optional<uint64_t> {
          auto it = committed.find({std::string(g), std::string(t), q});
          if (it == committed.end()) return std::nullopt;
          return it->second;
        });
  }
};

TEST(UnconsumedLosses, CountsPerGroupAndTopicWhatLiesAboveTheCommittedOffset) {
  Offsets o;
  o.groups["T"] = {"behind", "caught-up", "half"};
  o.committed[{"behind", "T", 0}] = 0;
  o.committed[{"behind", "T", 1}] = 10;
  o.committed[{"caught-up", "T", 0}] = 100;
  o.committed[{"caught-up", "T", 1}] = 60;
  o.committed[{"half", "T", 0}] = 50;  // nothing committed on queue 1: it consumed none of it
  Deletion d;
  d.forced = true;
  d.queues = {{"T", 0, 0, 100}, {"T", 1, 20, 60}, {"U", 0, 0, 5}};
  const std::vector<UnconsumedLoss> want = {
      {"behind", "T", 100 + 40},  // queue 1: its committed 10 is below what remains (20)
      {"half", "T", 50 + 40},
  };
  EXPECT_EQ(o.losses(d), want);  // "U" has no consumer group: nobody loses anything
}

TEST(UnconsumedLosses, NothingWhenEveryGroupIsPastTheCut) {
  Offsets o;
  o.groups["T"] = {"g"};
  o.committed[{"g", "T", 0}] = 7;
  Deletion d;
  d.queues = {{"T", 0, 0, 7}};
  EXPECT_TRUE(o.losses(d).empty());
}

TEST(BrokerStats, CountsDeletionsSinceStart) {
  BrokerStats stats;
  stats.on_segments_deleted(true, 2, 140);
  stats.on_segments_deleted(false, 1, 5);
  stats.on_segments_deleted(true, 1, 0);
  const auto d = stats.deletions();
  EXPECT_EQ(d.forced_segments, 3u);
  EXPECT_EQ(d.forced_unconsumed_messages, 140u);
  EXPECT_EQ(d.expired_segments, 1u);
  EXPECT_EQ(d.expired_unconsumed_messages, 5u);
}

}  // namespace
}  // namespace comet::broker
