// comet-faultfs: a pass-through FUSE file system for tests that fails or delays chosen calls.
//
//   comet-faultfs <backing-dir> <mountpoint>
//
// Mounts <backing-dir> at <mountpoint> (foreground, multi-threaded) and prints
// "comet-faultfs ready on <mountpoint>" on stdout once the kernel's FUSE_INIT is answered:
// from then on the mount serves calls. SIGTERM or SIGINT unmounts and exits.
//
// Control, at run time and without remounting: write lines to the file "/.faultfs-control"
// inside the mount (it is not listed by readdir); reading it lists the rules in force. One
// command per line, all lines of one write(2) applied together or (on a bad line) none, which
// the write reports as EINVAL and the log (stderr) explains:
//
//   clear                            remove every rule; calls waiting in a delay go on at once
//   <ops> <glob> <effect>... [once]  add a rule
//     ops    write | read | fsync | flush | fallocate | open | create | truncate | any,
//            comma-separated: "fsync" covers fsync, fdatasync and fsyncdir
//     glob   fnmatch(3) pattern over the path inside the mount, '*' crossing '/':
//            "*/commitlog/*", "/data/a.txt"
//     effect eio | enospc | errno=<n> | delay=<ms>; a delay and an errno: wait, then fail
//     once   the rule fires on the first matching call only
//
//   e.g.  printf 'fsync */commitlog/* delay=3000\n' > mnt/.faultfs-control
//
// What the kernel turns a program's calls into (Linux 6.x, no writeback_cache, no direct_io,
// so MAP_SHARED works): write(2) is a synchronous WRITE, so its error reaches the caller; a
// store to an mmap'd page only dirties the page cache, and msync(MS_SYNC) (like fsync) writes
// the dirty pages back as WRITEs and then sends FSYNC: a failed write-back is recorded on the
// file and returned by that msync/fsync as EIO, and a delayed FSYNC delays the msync. The
// first matching rule decides each call (tests/faultfs/fault_rules.h).
#define FUSE_USE_VERSION 35

#include <dirent.h>
#include <fcntl.h>
#include <fuse.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "faultfs/fault_rules.h"

namespace {

using comet::faultfs::FaultOp;

constexpr const char* kControlPath = "/.faultfs-control";
// The file handle of the control file: never a real descriptor.
constexpr uint64_t kControlFh = ~uint64_t{0};

struct FaultFs {
  std::string backing;
  std::string mountpoint;
  comet::faultfs::FaultRuleSet rules;
  // Bumped by "clear": a delay in progress ends early when the rules are cleared.
  std::mutex heal_mu;
  std::condition_variable heal_cv;
  uint64_t heal_generation = 0;
};

FaultFs& fs() {
  return *static_cast<FaultFs*>(fuse_get_context()->private_data);
}

// A call on an open file that was unlinked (hard_remove) has no path.
std::string real_path(const char* path) {
  return fs().backing + (path != nullptr ? path : "");
}

// Applies the first matching rule: waits its delay (cut short by "clear"), then returns its
// error as a negative errno, or 0 to go on.
int inject(FaultOp op, const char* path) {
  FaultFs& f = fs();
  const char* p = path != nullptr ? path : "";
  auto effect = f.rules.match(op, p);
  if (!effect) return 0;
  std::fprintf(stderr, "comet-faultfs: %s %s: delay %u ms, errno %d\n",
               comet::faultfs::op_names(static_cast<uint32_t>(op)).c_str(), p, effect->delay_ms,
               effect->error);
  if (effect->delay_ms > 0) {
    std::unique_lock lock(f.heal_mu);
    const uint64_t gen = f.heal_generation;
    f.heal_cv.wait_for(lock, std::chrono::milliseconds(effect->delay_ms),
                       [&] { return f.heal_generation != gen; });
  }
  return -effect->error;
}

int errno_or(int rc) {
  return rc < 0 ? -errno : rc;
}

bool is_control(const char* path) {
  return path != nullptr && std::strcmp(path, kControlPath) == 0;
}

int control_write(const char* buf, size_t size) {
  FaultFs& f = fs();
  auto commands = comet::faultfs::parse_control_text(std::string_view(buf, size));
  comet::Status s = commands.is_ok() ? f.rules.apply(*commands) : commands.status();
  if (!s.is_ok()) {
    std::fprintf(stderr, "comet-faultfs: control refused: %s\n", s.to_string().c_str());
    return -EINVAL;
  }
  for (const auto& c : *commands) {
    if (c.kind != comet::faultfs::ControlCommand::Kind::kClear) continue;
    std::lock_guard lock(f.heal_mu);
    ++f.heal_generation;
    f.heal_cv.notify_all();
  }
  std::fprintf(stderr, "comet-faultfs: rules now:\n%s", f.rules.describe().c_str());
  return static_cast<int>(size);
}

void* ffs_init(fuse_conn_info* conn, fuse_config* cfg) {
  // Errors of write(2) must reach the caller: no write-back caching of write(2).
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  cfg->use_ino = 1;
  cfg->direct_io = 0;  // MAP_SHARED needs the page cache
  cfg->hard_remove = 1;
  cfg->nullpath_ok = 0;  // rules match calls on open files by path too
  FaultFs* f = static_cast<FaultFs*>(fuse_get_context()->private_data);
  std::printf("comet-faultfs ready on %s\n", f->mountpoint.c_str());
  std::fflush(stdout);
  return f;
}

int ffs_getattr(const char* path, struct stat* st, fuse_file_info* fi) {
  if (is_control(path) || (fi != nullptr && fi->fh == kControlFh)) {
    std::memset(st, 0, sizeof(*st));
    st->st_mode = S_IFREG | 0600;
    st->st_nlink = 1;
    return 0;
  }
  if (fi != nullptr && fi->fh != kControlFh) return errno_or(::fstat(static_cast<int>(fi->fh), st));
  return errno_or(::lstat(real_path(path).c_str(), st));
}

int ffs_readlink(const char* path, char* buf, size_t size) {
  ssize_t n = ::readlink(real_path(path).c_str(), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

int ffs_mkdir(const char* path, mode_t mode) {
  return errno_or(::mkdir(real_path(path).c_str(), mode));
}
int ffs_unlink(const char* path) {
  return errno_or(::unlink(real_path(path).c_str()));
}
int ffs_rmdir(const char* path) {
  return errno_or(::rmdir(real_path(path).c_str()));
}
int ffs_symlink(const char* target, const char* path) {
  return errno_or(::symlink(target, real_path(path).c_str()));
}
int ffs_link(const char* from, const char* to) {
  return errno_or(::link(real_path(from).c_str(), real_path(to).c_str()));
}

int ffs_rename(const char* from, const char* to, unsigned int flags) {
  return errno_or(
      ::renameat2(AT_FDCWD, real_path(from).c_str(), AT_FDCWD, real_path(to).c_str(), flags));
}

int ffs_chmod(const char* path, mode_t mode, fuse_file_info* fi) {
  if (fi != nullptr) return errno_or(::fchmod(static_cast<int>(fi->fh), mode));
  return errno_or(::chmod(real_path(path).c_str(), mode));
}

int ffs_chown(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  if (fi != nullptr) return errno_or(::fchown(static_cast<int>(fi->fh), uid, gid));
  return errno_or(::lchown(real_path(path).c_str(), uid, gid));
}

int ffs_truncate(const char* path, off_t size, fuse_file_info* fi) {
  if (is_control(path)) return 0;
  if (int rc = inject(FaultOp::kTruncate, path)) return rc;
  if (fi != nullptr) return errno_or(::ftruncate(static_cast<int>(fi->fh), size));
  return errno_or(::truncate(real_path(path).c_str(), size));
}

int ffs_utimens(const char* path, const struct timespec tv[2], fuse_file_info* fi) {
  if (fi != nullptr) return errno_or(::futimens(static_cast<int>(fi->fh), tv));
  return errno_or(::utimensat(AT_FDCWD, real_path(path).c_str(), tv, AT_SYMLINK_NOFOLLOW));
}

int open_control(fuse_file_info* fi) {
  fi->fh = kControlFh;
  fi->direct_io = 1;  // reads see the rules now, writes arrive as written
  return 0;
}

int ffs_open(const char* path, fuse_file_info* fi) {
  if (is_control(path)) return open_control(fi);
  if (int rc = inject(FaultOp::kOpen, path)) return rc;
  int fd = ::open(real_path(path).c_str(), fi->flags & ~O_NOFOLLOW);
  if (fd < 0) return -errno;
  fi->fh = static_cast<uint64_t>(fd);
  return 0;
}

int ffs_create(const char* path, mode_t mode, fuse_file_info* fi) {
  if (is_control(path)) return open_control(fi);
  if (int rc = inject(FaultOp::kOpen, path)) return rc;
  int fd = ::open(real_path(path).c_str(), fi->flags, mode);
  if (fd < 0) return -errno;
  fi->fh = static_cast<uint64_t>(fd);
  return 0;
}

int ffs_read(const char* path, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  if (fi->fh == kControlFh) {
    std::string rules = fs().rules.describe();
    if (static_cast<size_t>(off) >= rules.size()) return 0;
    size_t n = std::min(size, rules.size() - static_cast<size_t>(off));
    std::memcpy(buf, rules.data() + off, n);
    return static_cast<int>(n);
  }
  if (int rc = inject(FaultOp::kRead, path)) return rc;
  ssize_t n = ::pread(static_cast<int>(fi->fh), buf, size, off);
  return n < 0 ? -errno : static_cast<int>(n);
}

int ffs_write(const char* path, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  if (fi->fh == kControlFh) return control_write(buf, size);
  if (int rc = inject(FaultOp::kWrite, path)) return rc;
  ssize_t n = ::pwrite(static_cast<int>(fi->fh), buf, size, off);
  return n < 0 ? -errno : static_cast<int>(n);
}

int ffs_statfs(const char* path, struct statvfs* st) {
  (void)path;
  return errno_or(::statvfs(fs().backing.c_str(), st));
}

int ffs_flush(const char* path, fuse_file_info* fi) {
  if (fi->fh == kControlFh) return 0;
  return inject(FaultOp::kFlush, path);
}

int ffs_release(const char* path, fuse_file_info* fi) {
  (void)path;
  if (fi->fh != kControlFh) ::close(static_cast<int>(fi->fh));
  return 0;
}

int ffs_fsync(const char* path, int datasync, fuse_file_info* fi) {
  if (fi->fh == kControlFh) return 0;
  if (int rc = inject(FaultOp::kFsync, path)) return rc;
  const int fd = static_cast<int>(fi->fh);
  return errno_or(datasync ? ::fdatasync(fd) : ::fsync(fd));
}

int ffs_fsyncdir(const char* path, int datasync, fuse_file_info* fi) {
  if (int rc = inject(FaultOp::kFsync, path)) return rc;
  const int fd = ::dirfd(reinterpret_cast<DIR*>(fi->fh));
  return errno_or(datasync ? ::fdatasync(fd) : ::fsync(fd));
}

int ffs_fallocate(const char* path, int mode, off_t off, off_t len, fuse_file_info* fi) {
  if (int rc = inject(FaultOp::kFallocate, path)) return rc;
  return errno_or(::fallocate(static_cast<int>(fi->fh), mode, off, len));
}

int ffs_opendir(const char* path, fuse_file_info* fi) {
  DIR* dir = ::opendir(real_path(path).c_str());
  if (dir == nullptr) return -errno;
  fi->fh = reinterpret_cast<uint64_t>(dir);
  return 0;
}

int ffs_releasedir(const char* path, fuse_file_info* fi) {
  (void)path;
  ::closedir(reinterpret_cast<DIR*>(fi->fh));
  return 0;
}

// Lists the whole directory in one call (offset 0 to the filler: no seeking).
int ffs_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t off, fuse_file_info* fi,
                fuse_readdir_flags flags) {
  (void)path;
  (void)off;
  (void)flags;
  DIR* dir = reinterpret_cast<DIR*>(fi->fh);
  ::rewinddir(dir);
  while (dirent* e = ::readdir(dir)) {
    struct stat st {};
    st.st_ino = e->d_ino;
    st.st_mode = static_cast<mode_t>(DTTOIF(e->d_type));
    if (fill(buf, e->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0)) != 0) break;
  }
  return 0;
}

int ffs_access(const char* path, int mask) {
  if (is_control(path)) return 0;
  return errno_or(::access(real_path(path).c_str(), mask));
}

fuse_operations make_operations() {
  fuse_operations ops{};
  ops.init = ffs_init;
  ops.getattr = ffs_getattr;
  ops.readlink = ffs_readlink;
  ops.mkdir = ffs_mkdir;
  ops.unlink = ffs_unlink;
  ops.rmdir = ffs_rmdir;
  ops.symlink = ffs_symlink;
  ops.link = ffs_link;
  ops.rename = ffs_rename;
  ops.chmod = ffs_chmod;
  ops.chown = ffs_chown;
  ops.truncate = ffs_truncate;
  ops.utimens = ffs_utimens;
  ops.open = ffs_open;
  ops.create = ffs_create;
  ops.read = ffs_read;
  ops.write = ffs_write;
  ops.statfs = ffs_statfs;
  ops.flush = ffs_flush;
  ops.release = ffs_release;
  ops.fsync = ffs_fsync;
  ops.fsyncdir = ffs_fsyncdir;
  ops.fallocate = ffs_fallocate;
  ops.opendir = ffs_opendir;
  ops.releasedir = ffs_releasedir;
  ops.readdir = ffs_readdir;
  ops.access = ffs_access;
  return ops;
}

// Mounts and serves until SIGTERM/SIGINT; returns the exit code.
int serve(FaultFs& state) {
  const fuse_operations ops = make_operations();
  // Root mounts for tests: other users (a broker run as another user) may use the mount.
  const char* argv[] = {"comet-faultfs", "-o", "allow_other,fsname=comet-faultfs,subtype=faultfs"};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  fuse* f = fuse_new(&args, &ops, sizeof(ops), &state);
  if (f == nullptr) return 1;
  int rc = 1;
  if (fuse_mount(f, state.mountpoint.c_str()) == 0) {
    if (fuse_set_signal_handlers(fuse_get_session(f)) == 0) {
      // Many threads: a delayed call holds one, and the others must go on being served.
      fuse_loop_config* cfg = fuse_loop_cfg_create();
      fuse_loop_cfg_set_max_threads(cfg, 256);
      fuse_loop_cfg_set_idle_threads(cfg, 16);
      // A stop by SIGTERM/SIGINT is a success: the loop returns the signal's number.
      const int loop_rc = fuse_loop_mt(f, cfg);
      rc = (loop_rc == 0 || loop_rc == SIGTERM || loop_rc == SIGINT) ? 0 : 1;
      fuse_loop_cfg_destroy(cfg);
      fuse_remove_signal_handlers(fuse_get_session(f));
    }
    fuse_unmount(f);
  }
  fuse_destroy(f);
  fuse_opt_free_args(&args);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: comet-faultfs <backing-dir> <mountpoint>\n");
    return 2;
  }
  FaultFs state;
  char resolved[PATH_MAX];
  if (::realpath(argv[1], resolved) == nullptr) {
    std::fprintf(stderr, "comet-faultfs: %s: %s\n", argv[1], std::strerror(errno));
    return 2;
  }
  state.backing = resolved;
  state.mountpoint = argv[2];
  return serve(state);
}
