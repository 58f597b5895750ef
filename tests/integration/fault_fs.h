// FaultFs: comet-faultfs (tests/faultfs) mounted for one test. mount() starts it on
// <dir>/backing at <dir>/mnt and returns once the kernel has its FUSE_INIT answered (the
// process's ready line: no sleeping); set() writes rules to its control file in one write(2)
// and clear() heals it; the destructor clears, stops the process and detaches the mount, even
// when the test failed. Needs root and /dev/fuse: skip_reason() says why not.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/child_process.h"
#include "common/status.h"

namespace comet::testing {

class FaultFs {
 public:
  // Empty when a test can mount comet-faultfs here; else why not (for GTEST_SKIP).
  static std::string skip_reason() {
    if (::geteuid() != 0) return "comet-faultfs needs root (FUSE mounts with allow_other)";
    if (::access("/dev/fuse", R_OK | W_OK) != 0) return "comet-faultfs needs /dev/fuse";
    return {};
  }

  // Mounts `dir`/backing at `dir`/mnt. Spawn from a thread that lives as long as the mount
  // (ChildProcess: the process dies with the thread that started it).
  static Result<std::unique_ptr<FaultFs>> mount(const std::string& dir) {
    std::unique_ptr<FaultFs> fs(new FaultFs(dir));
    std::error_code ec;
    std::filesystem::create_directories(fs->backing_, ec);
    std::filesystem::create_directories(fs->mountpoint_, ec);
    if (ec) return Status::io_error("mkdir under " + dir + ": " + ec.message());
    COMET_ASSIGN_OR_RETURN(fs->process_,
                           ChildProcess::spawn({COMET_FAULTFS_BIN, fs->backing_, fs->mountpoint_},
                                               dir + "/faultfs.log"));
    COMET_RETURN_IF_ERROR(
        fs->process_->wait_for_line("comet-faultfs ready on", std::chrono::seconds(10)).status());
    return fs;
  }

  ~FaultFs() {
    if (process_ && process_->running()) {
      (void)clear();  // a call waiting in a delay goes on at once, so the stop is quick
      process_->stop(std::chrono::seconds(10));
    }
    // The process unmounts as it stops; after a SIGKILL the dead mount is still there.
    ::umount2(mountpoint_.c_str(), MNT_DETACH);
  }
  FaultFs(const FaultFs&) = delete;
  FaultFs& operator=(const FaultFs&) = delete;

  // The mount point: where the program under test keeps its files.
  const std::string& path() const { return mountpoint_; }
  // The same files, bypassing the faults.
  const std::string& backing() const { return backing_; }
  const std::string& log_path() const { return process_->log_path(); }

  // Adds rules (tests/faultfs/fault_rules.h): "fsync */commitlog/* delay=3000\n".
  Status set(std::string_view rules) { return write_control(rules); }
  // Removes every rule.
  Status clear() { return write_control("clear\n"); }

 private:
  explicit FaultFs(const std::string& dir)
      : backing_(dir + "/backing"), mountpoint_(dir + "/mnt") {}

  Status write_control(std::string_view text) {
    const std::string control = mountpoint_ + "/.faultfs-control";
    int fd = ::open(control.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Status::from_errno("open " + control, errno);
    ssize_t n = ::write(fd, text.data(), text.size());
    int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(text.size())) {
      return Status::from_errno("write " + control + " (see " + log_path() + ")", err);
    }
    return Status::ok();
  }

  std::string backing_;
  std::string mountpoint_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace comet::testing
