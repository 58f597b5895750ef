#include <filesystem>
#include <vector>

#include <gtest/gtest.h>

#include "commitlog/message_store.h"
#include "test_util.h"

namespace comet::commitlog {
namespace {

namespace fs = std::filesystem;
using comet::testing::body_for;
using comet::testing::make_message;
using comet::testing::ManualClock;
using comet::testing::small_config;
using comet::testing::TempDir;

constexpr int64_t kHourMs = 3600 * 1000;

MessageStore::DiskUsageProbe disk_at(double used) {
  return [used](const std::string&) { return used; };
}

// Segment files on disk that start below `offset`.
size_t segment_files_below(const StoreConfig& c, uint64_t offset) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(c.commit_log_dir())) {
    n += std::stoull(e.path().filename().string()) < offset;
  }
  return n;
}

TEST(Retention, DeletesExpiredSegmentsButNeverTheActiveOne) {
  TempDir dir;
  ManualClock clock;
  auto cfg = small_config(dir.path(), 4096);
  cfg.file_reserved_time_hours = 1;
  cfg.delete_files_batch_max = 100;
  auto opened = MessageStore::open(cfg, clock);
  ASSERT_TRUE(opened.is_ok());
  MessageStore& store = **opened;
  store.set_disk_usage_probe(disk_at(0.10));  // the host's own disk must not matter
  for (int i = 0; i < 100; ++i) {
    std::string body = body_for("Old", 0, i, 300);
    ASSERT_TRUE(store.put_message(make_message("Old", 0, body)).is_ok());
  }
  const size_t segments = store.commit_log().segment_count();
  ASSERT_GT(segments, 5u);
  ASSERT_TRUE(store.commit_log().flush().is_ok());
  ASSERT_TRUE(
      store.dispatched().wait(store.commit_log().max_offset(), std::chrono::seconds(10)).is_ok());

  clock.advance(kHourMs - 1000);  // not old enough yet
  EXPECT_EQ(store.delete_expired_files(), 0u);
  clock.advance(2000);
  EXPECT_EQ(store.delete_expired_files(), segments - 1);
  EXPECT_EQ(store.commit_log().segment_count(), 1u);
  EXPECT_EQ(segment_files_below(cfg, store.commit_log().min_offset()), 0u);
  EXPECT_EQ(store.delete_expired_files(), 0u);  // the active segment stays

  // Messages whose records are gone are reported as too old; the rest still read.
  const uint64_t min = store.min_queue_offset("Old", 0);
  EXPECT_GT(min, 0u);
  EXPECT_LT(min, 100u);
  auto gone = store.get_messages("Old", 0, 0, 10, 1 << 20);
  EXPECT_EQ(gone.status, GetStatus::kOffsetTooSmall);
  EXPECT_EQ(gone.next_begin_offset, min);
  auto kept = store.get_messages("Old", 0, min, 1000, 1 << 30);
  ASSERT_EQ(kept.status, GetStatus::kFound);
  EXPECT_EQ(kept.messages.size(), 100 - min);
  auto d = record::decode(kept.messages[0].data, kept.messages[0].size);
  EXPECT_EQ(d.record.body, body_for("Old", 0, min, 300));

  // Appends continue with dense queue offsets; a restart keeps the trimmed state.
  std::string body = body_for("Old", 0, 100, 300);
  auto r = store.put_message(make_message("Old", 0, body));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->queue_offset, 100u);
  ASSERT_TRUE(store.shutdown().is_ok());
  auto again = MessageStore::open(cfg, clock);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ((*again)->min_queue_offset("Old", 0), min);
  EXPECT_EQ((*again)->max_queue_offset("Old", 0), 101u);
}

TEST(Retention, OnlyOldEnoughSegmentsGoAndAtMostTheBatch) {
  TempDir dir;
  ManualClock clock;
  auto cfg = small_config(dir.path(), 4096);
  cfg.file_reserved_time_hours = 2;
  cfg.delete_files_batch_max = 2;
  auto opened = MessageStore::open(cfg, clock);
  ASSERT_TRUE(opened.is_ok());
  MessageStore& store = **opened;
  store.set_disk_usage_probe(disk_at(0.10));  // the host's own disk must not matter
  std::string body(1000, 'o');
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(store.put_message(make_message("A", 0, body)).is_ok());
  clock.advance(3 * kHourMs);  // the first batch of segments is now 3 hours old
  const uint64_t old_end = store.commit_log().max_offset();
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(store.put_message(make_message("A", 0, body)).is_ok());
  ASSERT_TRUE(store.commit_log().flush().is_ok());
  ASSERT_TRUE(
      store.dispatched().wait(store.commit_log().max_offset(), std::chrono::seconds(10)).is_ok());
  size_t deleted = 0;
  for (int round = 0; round < 20; ++round) {
    size_t n = store.delete_expired_files();
    EXPECT_LE(n, 2u);
    if (n == 0) break;
    deleted += n;
  }
  EXPECT_GT(deleted, 0u);
  // Everything newer than the retention time is still there.
  EXPECT_LE(store.commit_log().min_offset(), old_end);
  EXPECT_GE(store.commit_log().min_offset() + 4096, old_end);
}

TEST(Retention, AFullDiskForcesOutUnexpiredSegmentsOnlyAboveTheForciblyRatio) {
  TempDir dir;
  ManualClock clock;
  auto cfg = small_config(dir.path(), 4096);
  cfg.file_reserved_time_hours = 72;
  cfg.delete_files_batch_max = 100;
  auto opened = MessageStore::open(cfg, clock);
  ASSERT_TRUE(opened.is_ok());
  MessageStore& store = **opened;
  std::string body(1000, 'f');
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(store.put_message(make_message("F", 0, body)).is_ok());
  ASSERT_TRUE(store.commit_log().flush().is_ok());
  ASSERT_TRUE(
      store.dispatched().wait(store.commit_log().max_offset(), std::chrono::seconds(10)).is_ok());
  const size_t segments = store.commit_log().segment_count();
  ASSERT_GT(segments, 3u);

  store.set_disk_usage_probe(disk_at(0.80));  // above diskMaxUsedSpaceRatio (75) only
  EXPECT_EQ(store.delete_expired_files(), 0u);
  store.set_disk_usage_probe(disk_at(-1.0));  // usage unknown: nothing is forced
  EXPECT_EQ(store.delete_expired_files(), 0u);
  EXPECT_EQ(store.commit_log().segment_count(), segments);

  store.set_disk_usage_probe(disk_at(0.90));  // above diskSpaceCleanForciblyRatio (85)
  EXPECT_EQ(store.delete_expired_files(), segments - 1);
  EXPECT_EQ(store.commit_log().segment_count(), 1u);
  EXPECT_EQ(store.delete_expired_files(), 0u);  // never the active segment
}

TEST(Retention, TellsTheListenerWhichQueueOffsetsGoBeforeDeleting) {
  TempDir dir;
  ManualClock clock;
  auto cfg = small_config(dir.path(), 4096);
  cfg.file_reserved_time_hours = 72;
  cfg.delete_files_batch_max = 2;
  auto opened = MessageStore::open(cfg, clock);
  ASSERT_TRUE(opened.is_ok());
  MessageStore& store = **opened;
  std::vector<MessageStore::SegmentDeletion> told;
  store.set_deletion_listener([&](const MessageStore::SegmentDeletion& d) {
    // Told before the files go: the queue still starts at the first offset that goes.
    EXPECT_EQ(store.min_queue_offset("F", 0), d.queues.empty() ? 0 : d.queues.front().begin);
    told.push_back(d);
  });
  std::string body(1000, 'f');
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(store.put_message(make_message(i % 2 ? "F" : "H", 0, body)).is_ok());
  ASSERT_TRUE(store.commit_log().flush().is_ok());
  ASSERT_TRUE(
      store.dispatched().wait(store.commit_log().max_offset(), std::chrono::seconds(10)).is_ok());
  store.set_disk_usage_probe(disk_at(0.86));  // forcible: nothing has expired
  ASSERT_EQ(store.delete_expired_files(), 2u);
  ASSERT_EQ(told.size(), 1u);
  const auto& d = told.front();
  EXPECT_TRUE(d.forced);
  EXPECT_EQ(d.segments, 2u);
  EXPECT_EQ(d.log_end, store.commit_log().min_offset());
  ASSERT_EQ(d.queues.size(), 2u);
  uint64_t lost = 0;
  for (const auto& q : d.queues) {
    EXPECT_EQ(q.begin, 0u) << q.topic;
    EXPECT_EQ(q.end, store.min_queue_offset(q.topic, q.queue_id)) << q.topic;
    lost += q.end - q.begin;
  }
  EXPECT_EQ(lost, 6u);  // three 1 KiB records per 4 KiB segment

  // Expired segments are told too, not as forced.
  clock.advance(73 * kHourMs);
  store.set_disk_usage_probe(disk_at(0.10));
  ASSERT_EQ(store.delete_expired_files(), 2u);
  ASSERT_EQ(told.size(), 2u);
  EXPECT_FALSE(told.back().forced);
}

TEST(DiskFull, RefusesAppendsAboveTheWarningRatioAndAcceptsBelowIt) {
  TempDir dir;
  ManualClock clock;
  auto cfg = small_config(dir.path(), 4096);
  cfg.disk_space_warning_level_ratio = 90;
  auto opened = MessageStore::open(cfg, clock);
  ASSERT_TRUE(opened.is_ok());
  MessageStore& store = **opened;
  const std::string body(100, 'd');
  store.set_disk_usage_probe(disk_at(0.95));
  store.check_disk();
  auto refused = store.put_message(make_message("D", 0, body));
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_EQ(refused.status().message().rfind("disk full: 95.0% used", 0), 0u)
      << refused.status().message();
  std::vector<Message> batch{make_message("D", 0, body)};
  EXPECT_EQ(store.put_messages(batch).status().code(), Code::kUnavailable);
  bool called = false;
  store.put_message_async(make_message("D", 0, body), [&](Result<AppendResult> r) {
    called = true;
    EXPECT_EQ(r.status().code(), Code::kUnavailable);
  });
  EXPECT_TRUE(called);                             // at once: nothing waits
  EXPECT_EQ(store.commit_log().max_offset(), 0u);  // and nothing was written

  store.set_disk_usage_probe(disk_at(0.50));
  store.check_disk();
  EXPECT_TRUE(store.put_message(make_message("D", 0, body)).is_ok());
}

TEST(Retention, DiskUsageCountsTheSpaceThisProcessCanWrite) {
  // A disk seen on a CI machine: 66 M blocks, 49 M free, but only 8 M available to users (a
  // large reserve). df says 67% used (used / (used + available)).
  constexpr uint64_t kBlocks = 66053021, kFree = 49160212, kAvail = 8191488;
  // root may write the reserve: a quarter used, far from any retention ratio. (Counting only
  // the available blocks against all of them said 88%, and forced unconsumed segments out.)
  EXPECT_NEAR(MessageStore::disk_usage(kBlocks, kFree, kAvail, true), 0.256, 0.001);
  // Anyone else never can: the reserve counts for neither side, as in df.
  EXPECT_NEAR(MessageStore::disk_usage(kBlocks, kFree, kAvail, false), 0.673, 0.001);
  // A disk with a 5% reserve, down to the reserve: full for a user, 95% for root.
  EXPECT_DOUBLE_EQ(MessageStore::disk_usage(1000, 50, 0, false), 1.0);
  EXPECT_NEAR(MessageStore::disk_usage(1000, 50, 0, true), 0.95, 1e-9);
  EXPECT_DOUBLE_EQ(MessageStore::disk_usage(1000, 1000, 950, true), 0.0);
  EXPECT_DOUBLE_EQ(MessageStore::disk_usage(0, 0, 0, true), 1.0);  // nothing to write to
  // The probe the store uses by default agrees with statvfs of a real directory.
  const double here = MessageStore::file_system_usage("/tmp");
  EXPECT_GE(here, 0.0);
  EXPECT_LE(here, 1.0);
}

TEST(Retention, ForcedCleaningCanBeSwitchedOff) {
  TempDir dir;
  ManualClock clock;
  auto cfg = small_config(dir.path(), 4096);
  cfg.clean_file_forcibly_enable = false;
  auto opened = MessageStore::open(cfg, clock);
  ASSERT_TRUE(opened.is_ok());
  MessageStore& store = **opened;
  std::string body(1000, 'g');
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(store.put_message(make_message("G", 0, body)).is_ok());
  ASSERT_TRUE(store.commit_log().flush().is_ok());
  ASSERT_TRUE(
      store.dispatched().wait(store.commit_log().max_offset(), std::chrono::seconds(10)).is_ok());
  store.set_disk_usage_probe(disk_at(0.99));
  EXPECT_EQ(store.delete_expired_files(), 0u);
}

TEST(Retention, NeverDeletesWhatIsNotYetFlushed) {
  TempDir dir;
  ManualClock clock;
  auto cfg = small_config(dir.path(), 4096);
  cfg.file_reserved_time_hours = 1;
  cfg.flush_interval_commit_log_ms = 3600 * 1000;  // the background flush will not run
  cfg.flush_commit_log_least_pages = 1000;
  auto opened = MessageStore::open(cfg, clock);
  ASSERT_TRUE(opened.is_ok());
  MessageStore& store = **opened;
  store.set_disk_usage_probe(disk_at(0.10));  // the host's own disk must not matter
  std::string body(1000, 'f');
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(store.put_message(make_message("A", 0, body)).is_ok());
  clock.advance(10 * kHourMs);
  EXPECT_EQ(store.delete_expired_files(), 0u);
  ASSERT_TRUE(store.commit_log().flush().is_ok());
  ASSERT_TRUE(
      store.dispatched().wait(store.commit_log().max_offset(), std::chrono::seconds(10)).is_ok());
  EXPECT_GT(store.delete_expired_files(), 0u);
}

}  // namespace
}  // namespace comet::commitlog
