// The disk-full state (commitlog/store_health.h): when the store refuses writes for want of
// space, what it says, and when it accepts them again.
#include "commitlog/store_health.h"

#include <gtest/gtest.h>

namespace comet::commitlog {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// A sample of a 100 MiB file system `used_percent` full.
DiskSpace used(double used_percent) {
  DiskSpace d;
  d.capacity_bytes = 100 * kMiB;
  d.free_bytes = static_cast<uint64_t>((100.0 - used_percent) * kMiB);
  d.used_ratio = used_percent / 100.0;
  return d;
}

TEST(DiskFullState, FullOnlyAboveTheWarningRatio) {
  DiskFullState s(90);
  EXPECT_FALSE(s.on_sample(used(89.9), 1));
  EXPECT_FALSE(s.on_sample(used(90.0), 2));  // RocketMQ: above, not at
  EXPECT_FALSE(s.full());
  EXPECT_TRUE(s.on_sample(used(90.1), 3));
  EXPECT_TRUE(s.full());
  EXPECT_EQ(s.since_ms(), 3);
  EXPECT_FALSE(s.on_sample(used(95), 4));  // still full: no change, the start time stays
  EXPECT_EQ(s.since_ms(), 3);
}

TEST(DiskFullState, AcceptsAgainOnlyAMarginBelowTheWarningRatio) {
  DiskFullState s(90);
  ASSERT_TRUE(s.on_sample(used(91), 1));
  EXPECT_FALSE(s.on_sample(used(89.5), 2));  // within the margin: a hovering disk does not flap
  EXPECT_TRUE(s.full());
  EXPECT_TRUE(s.on_sample(used(89.0), 3));
  EXPECT_FALSE(s.full());
}

TEST(DiskFullState, NoSpaceIsFullWhateverTheRatioUntilTheFileWouldFit) {
  DiskFullState s(90);
  ASSERT_FALSE(s.on_sample(used(50), 1));
  EXPECT_TRUE(s.on_no_space(64 * kMiB, 2));  // a 64 MiB segment did not fit in 50 MiB
  EXPECT_TRUE(s.full());
  EXPECT_EQ(s.needed_bytes(), 64 * kMiB);
  EXPECT_FALSE(s.on_sample(used(50), 3));  // well below the ratio, but no room yet
  EXPECT_TRUE(s.full());
  EXPECT_TRUE(s.on_sample(used(30), 4));  // 70 MiB free: the segment fits
  EXPECT_FALSE(s.full());
  EXPECT_EQ(s.needed_bytes(), 0u);
}

TEST(DiskFullState, AnUnknownSampleChangesNothing) {
  DiskFullState s(90);
  ASSERT_TRUE(s.on_sample(used(95), 1));
  EXPECT_FALSE(s.on_sample(DiskSpace{}, 2));
  EXPECT_TRUE(s.full());
  EXPECT_EQ(s.last_sample().used_ratio, 0.95);
}

TEST(DiskFullState, TheRemarkGivesTheFigures) {
  DiskFullState s(90);
  DiskSpace d;
  d.capacity_bytes = 63 * kMiB;
  d.free_bytes = 5 * kMiB + kMiB / 2;
  d.used_ratio = 0.912;
  ASSERT_TRUE(s.on_sample(d, 1));
  EXPECT_EQ(s.remark(),
            "disk full: 91.2% used of 63.0 MiB, 5.5 MiB free (diskSpaceWarningLevelRatio 90%)");
  (void)s.on_no_space(8 * kMiB, 2);
  EXPECT_NE(s.remark().find("a new file of 8.0 MiB did not fit"), std::string::npos);
}

TEST(StoreHealth, WritableUntilFullThenRefusesWithTheRemark) {
  StoreHealth h(90);
  EXPECT_TRUE(h.writable().is_ok());
  h.on_disk_sample(used(92), 10);
  Status s = h.writable();
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(s.message().rfind("disk full: 92.0% used of 100.0 MiB", 0), 0u) << s.message();
  auto snap = h.snapshot();
  EXPECT_TRUE(snap.disk_full);
  EXPECT_EQ(snap.disk_full_since_ms, 10);
  EXPECT_EQ(snap.remark, s.message());
  h.on_disk_sample(used(80), 20);
  EXPECT_TRUE(h.writable().is_ok());
  EXPECT_FALSE(h.snapshot().disk_full);
  EXPECT_TRUE(h.snapshot().remark.empty());
}

TEST(StoreHealth, NoSpaceRefusesAtOnce) {
  StoreHealth h(90);
  h.on_disk_sample(used(10), 1);
  h.on_no_space(8 * kMiB, Status::no_space("allocate 8388608 bytes for x: No space left"), 2);
  EXPECT_TRUE(h.disk_full());
  EXPECT_EQ(h.writable().code(), Code::kUnavailable);
}

TEST(DiskSpace, FromStatvfsCountsLikeDf) {
  // 1000 blocks of 4 KiB, 300 free, 250 of them available to unprivileged users.
  const DiskSpace root = disk_space_of(1000, 300, 250, 4096, true);
  EXPECT_EQ(root.capacity_bytes, 1000u * 4096);
  EXPECT_EQ(root.free_bytes, 300u * 4096);
  EXPECT_NEAR(root.used_ratio, 0.70, 1e-9);
  const DiskSpace user = disk_space_of(1000, 300, 250, 4096, false);
  EXPECT_EQ(user.capacity_bytes, 950u * 4096);  // the reserve is no one's capacity
  EXPECT_EQ(user.free_bytes, 250u * 4096);
  EXPECT_NEAR(user.used_ratio, 700.0 / 950.0, 1e-9);
  EXPECT_FALSE(sample_disk_space("/nonexistent/comet/path").known());
  EXPECT_TRUE(sample_disk_space("/tmp").known());
}

}  // namespace
}  // namespace comet::commitlog
