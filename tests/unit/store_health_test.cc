// The disk-full state (commitlog/store_health.h): when the store refuses writes for want of
// space, what it says, and when it accepts them again.
#include "commitlog/store_health.h"

#include <cerrno>

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
  DiskFullState s(90, 8 * kMiB);
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
  DiskFullState s(90, 8 * kMiB);
  ASSERT_TRUE(s.on_sample(used(91), 1));
  EXPECT_FALSE(s.on_sample(used(89.5), 2));  // within the margin: a hovering disk does not flap
  EXPECT_TRUE(s.full());
  EXPECT_TRUE(s.on_sample(used(89.0), 3));
  EXPECT_FALSE(s.full());
}

TEST(DiskFullState, NoSpaceIsFullWhateverTheRatioUntilTheFileWouldFit) {
  DiskFullState s(90, 8 * kMiB);
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

TEST(DiskFullState, AfterASmallFileDidNotFitResumesOnlyWithRoomForASegment) {
  DiskFullState high(99, 8 * kMiB);
  ASSERT_FALSE(high.on_sample(used(97), 1));  // a high warning ratio: not full by the ratio
  EXPECT_TRUE(high.on_no_space(60000, 2));    // a ConsumeQueue file did not fit
  EXPECT_EQ(high.needed_bytes(), 8 * kMiB);
  EXPECT_NE(high.remark().find("a new file of 0.1 MiB did not fit"), std::string::npos);
  EXPECT_FALSE(high.on_sample(used(97), 3));  // 3 MiB free: the next segment would not fit
  EXPECT_TRUE(high.full());
  EXPECT_TRUE(high.on_sample(used(91), 4));
}

TEST(DiskFullState, AnUnknownSampleChangesNothing) {
  DiskFullState s(90, 8 * kMiB);
  ASSERT_TRUE(s.on_sample(used(95), 1));
  EXPECT_FALSE(s.on_sample(DiskSpace{}, 2));
  EXPECT_TRUE(s.full());
  EXPECT_EQ(s.last_sample().used_ratio, 0.95);
}

TEST(DiskFullState, TheRemarkGivesTheFigures) {
  DiskFullState s(90, 8 * kMiB);
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
  StoreHealth h(90, 8 * kMiB);
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
  StoreHealth h(90, 8 * kMiB);
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

TEST(IoErrorState, FirstErrorIsRememberedAndLaterOnesCounted) {
  IoErrorState s;
  EXPECT_FALSE(s.failed());
  EXPECT_TRUE(s.on_error(Status::from_errno("msync /store/commitlog/0", EIO), 7));
  EXPECT_TRUE(s.failed());
  EXPECT_EQ(s.since_ms(), 7);
  EXPECT_FALSE(s.on_error(Status::from_errno("write /store/checkpoint.tmp", EIO), 9));
  EXPECT_EQ(s.count(), 2u);
  EXPECT_EQ(s.since_ms(), 7);
  EXPECT_EQ(s.first_error(), "msync /store/commitlog/0: Input/output error");
  EXPECT_EQ(s.remark(),
            "I/O error: msync /store/commitlog/0: Input/output error; the store is read-only "
            "until the broker restarts");
}

TEST(StoreHealth, IoErrorRefusesWritesAndNeverClearsByItself) {
  StoreHealth h(90, 8 * kMiB);
  EXPECT_TRUE(h.writable().is_ok());
  EXPECT_TRUE(h.io_status().is_ok());
  h.on_io_error(Status::from_errno("msync /store/consumequeue/T/0/0", EIO), 5);
  EXPECT_TRUE(h.io_failed());
  Status refused = h.writable();
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_EQ(refused.message().rfind("I/O error: msync /store/consumequeue/T/0/0", 0), 0u)
      << refused.message();
  EXPECT_EQ(h.io_status().code(), Code::kUnavailable);
  // A healthy disk sample does not bring it back: only a restart's recovery does.
  DiskSpace fine;
  fine.capacity_bytes = 100;
  fine.free_bytes = 90;
  fine.used_ratio = 0.1;
  h.on_disk_sample(fine, 6);
  EXPECT_EQ(h.writable().code(), Code::kUnavailable);
  const auto snap = h.snapshot();
  EXPECT_TRUE(snap.io_error);
  EXPECT_FALSE(snap.disk_full);
  EXPECT_EQ(snap.io_error_since_ms, 5);
  EXPECT_EQ(snap.io_errors, 1u);
  EXPECT_EQ(snap.remark, snap.io_error_remark);
}

TEST(StoreHealth, IoErrorOutranksAFullDisk) {
  StoreHealth h(90, 8 * kMiB);
  h.on_no_space(1024, Status::no_space("create segment"), 1);
  ASSERT_TRUE(h.disk_full());
  EXPECT_EQ(h.writable().message().rfind("disk full: ", 0), 0u);
  h.on_io_error(Status::from_errno("fdatasync /store/checkpoint.tmp", EIO), 2);
  EXPECT_EQ(h.writable().message().rfind("I/O error: ", 0), 0u) << h.writable().message();
}

}  // namespace
}  // namespace comet::commitlog
