// comet-faultfs as a real program sees it: each kind of fault reaches the system call a store
// makes (write, fsync, an mmap'd store and msync), a delay delays, a once-rule fires once, a
// bad control line is refused, and clearing heals.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/fault_fs.h"
#include "unit/test_util.h"

namespace comet::testing {
namespace {

using Clock = std::chrono::steady_clock;

class FaultFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto reason = FaultFs::skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    auto mounted = FaultFs::mount(dir_.path());
    ASSERT_TRUE(mounted.is_ok()) << mounted.status().to_string();
    fs_ = std::move(mounted).value();
    file_ = fs_->path() + "/data/seg";
    ASSERT_EQ(::mkdir((fs_->path() + "/data").c_str(), 0755), 0) << std::strerror(errno);
    fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd_, 0) << std::strerror(errno);
    ASSERT_EQ(::ftruncate(fd_, 4096), 0) << std::strerror(errno);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }

  // errno of a call that returned -1, or 0.
  static int error_of(long rc) { return rc < 0 ? errno : 0; }

  TempDir dir_;  // outlives fs_: the mount is gone before the directory is removed
  std::unique_ptr<FaultFs> fs_;
  std::string file_;
  int fd_ = -1;
};

TEST_F(FaultFsTest, WriteFailsWithTheRulesErrnoUntilCleared) {
  ASSERT_TRUE(fs_->set("write */data/* eio\n").is_ok());
  EXPECT_EQ(error_of(::pwrite(fd_, "abc", 3, 0)), EIO);
  ASSERT_TRUE(fs_->set("clear\nwrite */data/* enospc\n").is_ok());
  EXPECT_EQ(error_of(::pwrite(fd_, "abc", 3, 0)), ENOSPC);
  ASSERT_TRUE(fs_->clear().is_ok());
  EXPECT_EQ(::pwrite(fd_, "abc", 3, 0), 3);
  EXPECT_EQ(error_of(::fsync(fd_)), 0);
}

TEST_F(FaultFsTest, FsyncAndFdatasyncFailWithEio) {
  ASSERT_EQ(::pwrite(fd_, "abc", 3, 0), 3);
  ASSERT_TRUE(fs_->set("fsync /data/seg eio\n").is_ok());
  EXPECT_EQ(error_of(::fsync(fd_)), EIO);
  EXPECT_EQ(error_of(::fdatasync(fd_)), EIO);
  // The rule names one file: another is untouched.
  int other = ::open((fs_->path() + "/data/other").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(other, 0);
  EXPECT_EQ(error_of(::fsync(other)), 0);
  ::close(other);
  ASSERT_TRUE(fs_->clear().is_ok());
  EXPECT_EQ(error_of(::fsync(fd_)), 0);
}

// What the CommitLog meets: stores into a MAP_SHARED page only dirty the page cache; msync
// writes them back (WRITE) and syncs (FSYNC). A failed write-back is reported by that msync,
// once: the kernel has dropped the page's dirty bit, so the next msync succeeds although the
// bytes never reached the backing file. Only a sticky error in the program keeps the loss seen.
TEST_F(FaultFsTest, MmapWriteBackFailureIsReportedByMsyncOnce) {
  auto* map = static_cast<char*>(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0));
  ASSERT_NE(map, MAP_FAILED) << std::strerror(errno);
  ASSERT_TRUE(fs_->set("write */seg eio\n").is_ok());
  std::memcpy(map, "lost", 4);
  EXPECT_EQ(error_of(::msync(map, 4096, MS_SYNC)), EIO);
  EXPECT_EQ(error_of(::msync(map, 4096, MS_SYNC)), 0)
      << "the kernel reports a write-back error once";
  ASSERT_TRUE(fs_->clear().is_ok());
  std::ifstream backing(fs_->backing() + "/data/seg");
  std::string head(4, '\0');
  backing.read(head.data(), 4);
  EXPECT_NE(head, "lost") << "the failed write-back did not reach the disk";
  // Healed: the next store and msync land.
  std::memcpy(map, "kept", 4);
  EXPECT_EQ(error_of(::msync(map, 4096, MS_SYNC)), 0);
  std::ifstream again(fs_->backing() + "/data/seg");
  again.read(head.data(), 4);
  EXPECT_EQ(head, "kept");
  ::munmap(map, 4096);
}

TEST_F(FaultFsTest, FsyncFailureReachesMsyncOfAMappedFile) {
  auto* map = static_cast<char*>(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0));
  ASSERT_NE(map, MAP_FAILED) << std::strerror(errno);
  ASSERT_TRUE(fs_->set("fsync */seg eio\n").is_ok());
  std::memcpy(map, "sync", 4);
  EXPECT_EQ(error_of(::msync(map, 4096, MS_SYNC)), EIO);
  ASSERT_TRUE(fs_->clear().is_ok());
  EXPECT_EQ(error_of(::msync(map, 4096, MS_SYNC)), 0);
  ::munmap(map, 4096);
}

TEST_F(FaultFsTest, DelayedFsyncTakesAtLeastTheDelayAndClearingHeals) {
  constexpr auto kDelay = std::chrono::milliseconds(300);
  ASSERT_EQ(::pwrite(fd_, "abc", 3, 0), 3);
  ASSERT_TRUE(fs_->set("fsync */seg delay=300\n").is_ok());
  auto start = Clock::now();
  EXPECT_EQ(error_of(::fsync(fd_)), 0);
  EXPECT_GE(Clock::now() - start, kDelay);
  // Reads and writes of the same file are not delayed.
  start = Clock::now();
  EXPECT_EQ(::pwrite(fd_, "def", 3, 3), 3);
  char buf[6];
  EXPECT_EQ(::pread(fd_, buf, 6, 0), 6);
  EXPECT_LT(Clock::now() - start, kDelay);
  ASSERT_TRUE(fs_->clear().is_ok());
  start = Clock::now();
  EXPECT_EQ(error_of(::fsync(fd_)), 0);
  EXPECT_LT(Clock::now() - start, kDelay);
}

TEST_F(FaultFsTest, OnceRuleFiresOnceAndOpenCanFail) {
  ASSERT_TRUE(fs_->set("fsync */seg eio once\nopen */locked eio\n").is_ok());
  EXPECT_EQ(error_of(::fsync(fd_)), EIO);
  EXPECT_EQ(error_of(::fsync(fd_)), 0);
  EXPECT_EQ(error_of(::open((fs_->path() + "/data/locked").c_str(), O_RDWR | O_CREAT, 0644)), EIO);
}

TEST_F(FaultFsTest, BadControlLineIsRefusedAndChangesNothing) {
  ASSERT_TRUE(fs_->set("write */seg eio\n").is_ok());
  Status bad = fs_->set("clear\nfsync */seg sometimes\n");
  EXPECT_FALSE(bad.is_ok());
  EXPECT_NE(bad.to_string().find("Invalid argument"), std::string::npos) << bad.to_string();
  // The whole write was refused: the write rule is still there.
  EXPECT_EQ(error_of(::pwrite(fd_, "abc", 3, 0)), EIO);
  std::ifstream control(fs_->path() + "/.faultfs-control");
  std::stringstream rules;
  rules << control.rdbuf();
  EXPECT_EQ(rules.str(), "write */seg errno=5\n");
}

}  // namespace
}  // namespace comet::testing
