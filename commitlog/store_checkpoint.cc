#include "commitlog/store_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/crc32c.h"

namespace comet::commitlog {
namespace {

constexpr uint32_t kMagic = 0x43504b43;  // "CKPC"
constexpr size_t kSize = 4 + 8 + 8 + 8 + 4;

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno("open " + dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::ok() : Status::from_errno("fsync " + dir, err);
}

}  // namespace

std::optional<StoreCheckpoint> StoreCheckpoint::read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  uint8_t buf[kSize];
  ssize_t n = ::pread(fd, buf, kSize, 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(kSize)) return std::nullopt;
  uint32_t magic, crc;
  std::memcpy(&magic, buf, 4);
  std::memcpy(&crc, buf + kSize - 4, 4);
  if (magic != kMagic || crc32c::unmask(crc) != crc32c::value(buf, kSize - 4)) {
    return std::nullopt;
  }
  StoreCheckpoint cp;
  std::memcpy(&cp.physical_flushed, buf + 4, 8);
  std::memcpy(&cp.logics_flushed, buf + 12, 8);
  std::memcpy(&cp.timestamp_ms, buf + 20, 8);
  return cp;
}

Status StoreCheckpoint::write(const std::string& path) const {
  uint8_t buf[kSize];
  std::memcpy(buf, &kMagic, 4);
  std::memcpy(buf + 4, &physical_flushed, 8);
  std::memcpy(buf + 12, &logics_flushed, 8);
  std::memcpy(buf + 20, &timestamp_ms, 8);
  uint32_t crc = crc32c::mask(crc32c::value(buf, kSize - 4));
  std::memcpy(buf + kSize - 4, &crc, 4);
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno("open " + tmp, errno);
  bool ok = ::pwrite(fd, buf, kSize, 0) == static_cast<ssize_t>(kSize) && ::fdatasync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) return Status::from_errno("write " + tmp, err);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::from_errno("rename " + tmp, errno);
  return fsync_dir(std::filesystem::path(path).parent_path().string());
}

}  // namespace comet::commitlog
