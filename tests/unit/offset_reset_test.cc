// Offset resets: the broker sets the new offsets only after every member it told answered (or
// failed), exactly once (ResetRound); each queue's new offset by time, forced or only backwards;
// and the slave's sync rule (ConsumerOffsetManager::adopt_master_offsets): the master's offsets
// win, backwards too, except what the slave's own consumers committed since the last sync.
#include "broker/offset_reset_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <thread>
#include <vector>

#include "admin/reset_time.h"
#include "broker/consumer_offset_manager.h"
#include "broker/metadata_store.h"
#include "test_util.h"

namespace comet::broker {
namespace {

TEST(ResetRound, FinishesOnlyAfterTheLastMemberAnswered) {
  std::vector<size_t> finished;
  ResetRound round(3, [&](size_t acked) { finished.push_back(acked); });
  round.answered(true);
  round.answered(false);  // failed or timed out: counted, not acked
  round.start();
  EXPECT_TRUE(finished.empty()) << "set before every member answered";
  round.answered(true);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0], 2u);
}

TEST(ResetRound, WithoutMembersFinishesAtStart) {
  int runs = 0;
  ResetRound round(0, [&](size_t acked) {
    EXPECT_EQ(acked, 0u);
    ++runs;
  });
  EXPECT_EQ(runs, 0);
  round.start();
  round.start();
  EXPECT_EQ(runs, 1);
}

TEST(ResetRound, AnswersRacingTheStartFinishOnce) {
  for (int trial = 0; trial < 50; ++trial) {
    std::atomic<int> runs{0};
    auto round = std::make_shared<ResetRound>(4, [&](size_t acked) {
      EXPECT_EQ(acked, 4u);
      runs.fetch_add(1);
    });
    std::vector<std::thread> members;
    for (int i = 0; i < 4; ++i)
      members.emplace_back([round] { round->answered(true); });
    round->start();
    for (auto& t : members)
      t.join();
    EXPECT_EQ(runs.load(), 1);
  }
}

TEST(ResetOffsetsByTime, NowIsTheMaxOffsetAndForceMovesBothWays) {
  auto by_time = [](uint32_t q) -> uint64_t { return 10 + q; };
  auto max = [](uint32_t q) -> uint64_t { return 100 + q; };
  const std::map<uint32_t, uint64_t> committed{{0, 5}, {1, 50}};
  EXPECT_EQ(reset_offsets_by_time(3, -1, true, by_time, max, committed),
            (std::map<uint32_t, uint64_t>{{0, 100}, {1, 101}, {2, 102}}));
  EXPECT_EQ(reset_offsets_by_time(3, 1234, true, by_time, max, committed),
            (std::map<uint32_t, uint64_t>{{0, 10}, {1, 11}, {2, 12}}));
  // Without force a queue only moves back: queue 0's committed 5 is below its time's 10.
  EXPECT_EQ(reset_offsets_by_time(3, 1234, false, by_time, max, committed),
            (std::map<uint32_t, uint64_t>{{0, 5}, {1, 11}, {2, 12}}));
}

// resetOffsetByTime -s, as mqadmin reads it.
TEST(ResetTime, NowMillisecondsOrALocalDate) {
  EXPECT_EQ(admin::parse_reset_time("now").value(), admin::kResetToNow);
  EXPECT_EQ(admin::parse_reset_time("1733389200123").value(), 1733389200123);
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 11;
  tm.tm_mday = 5;
  tm.tm_hour = 9;
  tm.tm_isdst = -1;
  const int64_t nine = static_cast<int64_t>(std::mktime(&tm)) * 1000;
  EXPECT_EQ(admin::parse_reset_time("2026-12-05#09:00:00:000").value(), nine);
  EXPECT_EQ(admin::parse_reset_time("2026-12-05#09:00:01:250").value(), nine + 1250);
  for (const char* bad :
       {"", "yesterday", "-5", "12ab", "2026-12-05 09:00:00:000", "2026-13-05#09:00:00:000",
        "2026-12-05#24:00:00:000", "2026-12-05#09:00:00", "2026-12-05#09:00:00:0000"}) {
    auto r = admin::parse_reset_time(bad);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("'" + std::string(bad) + "'"), std::string::npos)
        << r.status().message();
  }
}

class SlaveOffsetSync : public ::testing::Test {
 protected:
  void SetUp() override {
    auto meta = MetadataStore::open(dir_.path());
    ASSERT_TRUE(meta.is_ok()) << meta.status().to_string();
    meta_ = std::move(*meta);
    auto offsets = ConsumerOffsetManager::load(*meta_);
    ASSERT_TRUE(offsets.is_ok()) << offsets.status().to_string();
    offsets_ = std::move(*offsets);
    offsets_->track_slave_commits([this] { return slave_.load(); });
  }
  uint64_t at(const std::string& group, uint32_t q) {
    return offsets_->query(group, "Orders", q).value_or(~0ull);
  }

  comet::testing::TempDir dir_;
  std::unique_ptr<MetadataStore> meta_;
  std::unique_ptr<ConsumerOffsetManager> offsets_;
  std::atomic<bool> slave_{true};
};

// The old rule ("the larger wins") pushed the slave's 500 back and undid the master's reset.
TEST_F(SlaveOffsetSync, TheMastersResetWinsOverALargerCopiedOffset) {
  ASSERT_TRUE(offsets_->apply_from_master("g", "Orders", 0, 500, false).is_ok());
  auto push = offsets_->adopt_master_offsets({{"g", "Orders", 0, 100}});
  EXPECT_TRUE(push.empty());
  EXPECT_EQ(at("g", 0), 100u);
}

TEST_F(SlaveOffsetSync, OwnConsumersCommitsAheadOfTheMasterArePushedOnce) {
  ASSERT_TRUE(offsets_->apply_from_master("g", "Orders", 0, 100, false).is_ok());
  ASSERT_TRUE(offsets_->commit("g", "Orders", 0, 130).is_ok());  // a consumer, on this slave
  ASSERT_TRUE(offsets_->commit("g", "Orders", 1, 7).is_ok());    // a queue the master lacks
  auto push = offsets_->adopt_master_offsets({{"g", "Orders", 0, 120}});
  ASSERT_EQ(push.size(), 2u);
  EXPECT_EQ(push[0].queue_id, 0u);
  EXPECT_EQ(push[0].offset, 130u);
  EXPECT_EQ(push[1].queue_id, 1u);
  EXPECT_EQ(push[1].offset, 7u);
  EXPECT_EQ(at("g", 0), 130u);  // kept
  // Next sync: nothing committed here since, so the master's value is taken, whatever it is.
  EXPECT_TRUE(offsets_->adopt_master_offsets({{"g", "Orders", 0, 90}}).empty());
  EXPECT_EQ(at("g", 0), 90u);
}

TEST_F(SlaveOffsetSync, CopiesAndResetsAppliedFromTheMasterAreNotTheSlavesOwn) {
  ASSERT_TRUE(offsets_->apply_from_master("g", "Orders", 0, 600, false).is_ok());
  ASSERT_TRUE(offsets_->apply_from_master("g", "Orders", 1, 3, true).is_ok());
  EXPECT_TRUE(offsets_->adopt_master_offsets({{"g", "Orders", 0, 100}}).empty());
  EXPECT_EQ(at("g", 0), 100u);
  EXPECT_EQ(at("g", 1), 3u);  // the master lacks it and no consumer committed it: left alone
}

TEST_F(SlaveOffsetSync, CommitsMadeWhileMasterAreNotPushedLater) {
  slave_ = false;
  ASSERT_TRUE(offsets_->commit("g", "Orders", 0, 500).is_ok());
  slave_ = true;  // demoted; the new master reset the queue
  EXPECT_TRUE(offsets_->adopt_master_offsets({{"g", "Orders", 0, 100}}).empty());
  EXPECT_EQ(at("g", 0), 100u);
}

TEST_F(SlaveOffsetSync, ResetsRunTheResetListenerAfterTheCommitListener) {
  std::vector<std::string> heard;
  offsets_->set_commit_listener(
      [&](const auto& e) { heard.push_back("commit " + std::to_string(e.offset)); });
  offsets_->set_reset_listener(
      [&](const auto& e) { heard.push_back("reset " + std::to_string(e.offset)); });
  ASSERT_TRUE(offsets_->commit("g", "Orders", 0, 50).is_ok());
  ASSERT_TRUE(offsets_->commit("g", "Orders", 0, 40).is_ok());  // back: ignored
  ASSERT_TRUE(offsets_->reset("g", "Orders", 0, 20).is_ok());
  EXPECT_EQ(heard, (std::vector<std::string>{"commit 50", "commit 20", "reset 20"}));
  EXPECT_EQ(at("g", 0), 20u);
}

}  // namespace
}  // namespace comet::broker
