#include "commitlog/consume_queue.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "commitlog/message_store.h"
#include "test_util.h"

namespace comet::commitlog {
namespace {

namespace fs = std::filesystem;
using comet::testing::body_for;
using comet::testing::make_message;
using comet::testing::read_file;
using comet::testing::small_config;
using comet::testing::TempDir;

TEST(ConsumeQueue, PutReadAndReloadAcrossSegments) {
  TempDir dir;
  {
    ConsumeQueue cq("T", 0, dir.path(), 20 * 8);
    ASSERT_TRUE(cq.load().is_ok());
    for (uint64_t i = 0; i < 30; ++i) {
      ASSERT_TRUE(cq.put(i, {i * 100, 50, i % 3}).is_ok());
    }
    EXPECT_EQ(cq.max_offset(), 30u);
    EXPECT_TRUE(cq.put(5, {500, 50, 2}).is_ok());  // identical rewrite: no-op
    EXPECT_EQ(cq.put(5, {501, 50, 2}).code(), Code::kCorruption);
    ASSERT_TRUE(cq.flush().is_ok());
  }
  ConsumeQueue cq("T", 0, dir.path(), 20 * 8);
  ASSERT_TRUE(cq.load().is_ok());
  EXPECT_EQ(cq.min_offset(), 0u);
  EXPECT_EQ(cq.max_offset(), 30u);
  auto units = cq.read(6, 100);
  ASSERT_EQ(units.size(), 24u);
  for (uint64_t i = 0; i < units.size(); ++i) {
    EXPECT_EQ(units[i], (CqUnit{(i + 6) * 100, 50, (i + 6) % 3}));
  }
  EXPECT_EQ(cq.max_physical_end(), 2950u);
}

TEST(ConsumeQueue, TruncateByPhysicalDropsUnitsAtOrPastIt) {
  TempDir dir;
  ConsumeQueue cq("T", 0, dir.path(), 20 * 8);
  ASSERT_TRUE(cq.load().is_ok());
  for (uint64_t i = 0; i < 20; ++i)
    ASSERT_TRUE(cq.put(i, {i * 100, 50, 0}).is_ok());
  ASSERT_TRUE(cq.truncate_by_physical(1000).is_ok());
  EXPECT_EQ(cq.max_offset(), 10u);
  EXPECT_FALSE(cq.get(10).has_value());
  ASSERT_TRUE(cq.put(10, {1234, 60, 0}).is_ok());  // the dispatcher refills from there
  EXPECT_EQ(cq.get(10)->physical_offset, 1234u);
}

// A page of the file that never reached the disk (a failed write-back, then later pages written
// back) leaves zeros in the middle and a unit torn across the page's edge: recovery's truncation
// must not stop at the torn unit, whose offset reads as 0, but at the last whole unit below the
// cut, so the dispatcher refills everything after it.
TEST(ConsumeQueue, TruncateByPhysicalSkipsAUnitTornByALostPage) {
  TempDir dir;
  constexpr uint64_t kUnits = 1000;  // 20,000 bytes: pages 0-4
  const std::string file = dir.path() + "/00000000000000000000";
  {
    ConsumeQueue cq("T", 0, dir.path(), 20 * 1200);
    ASSERT_TRUE(cq.load().is_ok());
    for (uint64_t i = 0; i < kUnits; ++i)
      ASSERT_TRUE(cq.put(i, {1000 + i * 100, 100, 7}).is_ok());
    ASSERT_TRUE(cq.flush().is_ok());
  }
  // Page 2 ([8192, 12288)) lost: unit 614 starts at 12280, its offset in page 2 and its size
  // in page 3.
  std::string bytes = read_file(file);
  ASSERT_GE(bytes.size(), 12288u);
  std::fill(bytes.begin() + 8192, bytes.begin() + 12288, '\0');
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ConsumeQueue cq("T", 0, dir.path(), 20 * 1200);
  ASSERT_TRUE(cq.load().is_ok());
  ASSERT_EQ(cq.max_offset(), kUnits);
  // The cut: what the last checkpoint covered, units 0-409 (pages 0-1 and the unit straddling
  // into page 2, whose page was synced then). Every unit after it points at or past the cut,
  // but the torn one reads as offset 0.
  ASSERT_TRUE(cq.truncate_by_physical(1000 + 410 * 100).is_ok());
  EXPECT_EQ(cq.max_offset(), 410u);
  EXPECT_EQ(cq.get(409)->physical_offset, 1000 + 409 * 100u);
  ASSERT_TRUE(cq.put(410, {1000 + 410 * 100, 100, 7}).is_ok());  // refilled from there
  // Untouched pages: the cut inside them works as before.
  ASSERT_TRUE(cq.truncate_by_physical(1000 + 200 * 100).is_ok());
  EXPECT_EQ(cq.max_offset(), 200u);
}

// Always-on invariants (common/assert.h): a unit that would hide a message, or index a record
// before the one the queue already ends with, aborts with its message instead of being written.
TEST(ConsumeQueueDeathTest, AUnitOfSizeZeroAborts) {
  TempDir dir;
  ConsumeQueue cq("T", 0, dir.path(), 20 * 8);
  ASSERT_TRUE(cq.load().is_ok());
  EXPECT_DEATH((void)cq.put(0, {100, 0, 0}), "assertion failed.*T-0: unit 0 of size 0");
}

TEST(ConsumeQueueDeathTest, AUnitBeforeTheLastOneAborts) {
  TempDir dir;
  ConsumeQueue cq("T", 0, dir.path(), 20 * 8);
  ASSERT_TRUE(cq.load().is_ok());
  ASSERT_TRUE(cq.put(0, {100, 50, 0}).is_ok());
  ASSERT_TRUE(cq.put(1, {150, 50, 0}).is_ok());  // right after the first: legal
  EXPECT_DEATH((void)cq.put(2, {120, 50, 0}),
               "unit 2 at log offset 120 does not follow unit 1 at 150");
}

TEST(ConsumeQueue, FirstUnitMayStartPastZero) {
  TempDir dir;
  {
    ConsumeQueue cq("T", 0, dir.path(), 20 * 8);
    ASSERT_TRUE(cq.load().is_ok());
    ASSERT_TRUE(cq.put(21, {7, 10, 0}).is_ok());
    ASSERT_TRUE(cq.put(22, {17, 10, 0}).is_ok());
    EXPECT_EQ(cq.min_offset(), 21u);
    ASSERT_TRUE(cq.flush().is_ok());  // units wait in memory until a flush writes them
  }
  ConsumeQueue cq("T", 0, dir.path(), 20 * 8);
  ASSERT_TRUE(cq.load().is_ok());
  EXPECT_EQ(cq.min_offset(), 21u);
  EXPECT_EQ(cq.max_offset(), 23u);
}

std::map<std::string, std::string> snapshot_tree(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) {
      files[fs::relative(e.path(), root).string()] = read_file(e.path().string());
    }
  }
  return files;
}

void fill_store(MessageStore& store, int n) {
  for (int i = 0; i < n; ++i) {
    std::string topic = i % 3 == 0 ? "Alpha" : "Beta";
    uint32_t q = static_cast<uint32_t>(i % 4);
    std::string body = body_for(topic, q, i, 40 + i % 200);
    std::string props = encode_properties({{"TAGS", i % 2 ? "odd" : "even"}});
    auto r = store.put_message(make_message(topic, q, body, props));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
}

TEST(ConsumeQueue, RebuildFromCommitLogEqualsTheOriginal) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 8192);
  {
    auto store = MessageStore::open(cfg);
    ASSERT_TRUE(store.is_ok());
    fill_store(**store, 600);
    ASSERT_TRUE((*store)->shutdown().is_ok());
  }
  auto original = snapshot_tree(cfg.consume_queue_dir());
  ASSERT_GT(original.size(), 8u);  // several queues, several segments each
  fs::remove_all(cfg.consume_queue_dir());
  {
    auto store = MessageStore::open(cfg);
    ASSERT_TRUE(store.is_ok());
    EXPECT_EQ((*store)->recovery_info().redispatched, 600u);
    ASSERT_TRUE((*store)->shutdown().is_ok());
  }
  EXPECT_EQ(snapshot_tree(cfg.consume_queue_dir()), original);
}

TEST(ConsumeQueue, StaleIndexPastTheCheckpointIsRebuiltAfterACrash) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 8192);
  // Only the explicit checkpoint below: a periodic one (every 50 ms in small_config) taken
  // during the second fill would vouch for part of the segment this test zeroes, and data a
  // checkpoint vouched for is not re-indexed (that was this test failing in slow builds).
  cfg.flush_consume_queue_interval_ms = 3600 * 1000;
  std::map<std::string, std::string> original;
  {
    auto store = MessageStore::open(cfg);
    ASSERT_TRUE(store.is_ok());
    fill_store(**store, 300);
    ASSERT_TRUE((*store)->checkpoint().is_ok());
    fill_store(**store, 300);
    ASSERT_TRUE((*store)
                    ->dispatched()
                    .wait((*store)->commit_log().max_offset(), std::chrono::seconds(10))
                    .is_ok());
    // The ConsumeQueues written past the checkpoint, as a crash between a flush and the
    // checkpoint after it leaves them.
    ASSERT_TRUE((*store)->flush_consume_queues().is_ok());
    (*store)->crash_for_test();
  }
  // Damage the index past the checkpoint: zero the newest segment of one queue.
  fs::path victim = fs::path(cfg.consume_queue_dir()) / "Beta" / "1";
  std::vector<fs::path> segs;
  for (const auto& e : fs::directory_iterator(victim))
    segs.push_back(e.path());
  std::sort(segs.begin(), segs.end());
  fs::resize_file(segs.back(), 0);
  auto store = MessageStore::open(cfg);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_TRUE((*store)->recovery_info().crashed);
  uint64_t max = (*store)->max_queue_offset("Beta", 1);
  EXPECT_EQ(max, 100u);  // 50 of each 300 have i % 4 == 1 and i % 3 != 0
  auto g = (*store)->get_messages("Beta", 1, 0, 1000, 1 << 30);
  ASSERT_EQ(g.status, GetStatus::kFound);
  EXPECT_EQ(g.messages.size(), 100u);
  for (size_t i = 0; i < g.messages.size(); ++i) {
    auto d = record::decode(g.messages[i].data, g.messages[i].size);
    ASSERT_EQ(d.outcome, record::Outcome::kRecord);
    EXPECT_EQ(d.record.queue_offset, i);
    EXPECT_EQ(d.record.topic, "Beta");
  }
}

}  // namespace
}  // namespace comet::commitlog
