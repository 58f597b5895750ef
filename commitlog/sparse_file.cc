#include "commitlog/sparse_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace comet::commitlog {
namespace {

// A descriptor closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

constexpr uint64_t kScanChunk = 64 * 1024;

Status write_zeroes(int fd, uint64_t from, uint64_t to, const std::string& path) {
  static const uint8_t kZero[kScanChunk] = {};
  for (const auto& [a, b] : data_ranges(fd, from, to)) {
    for (uint64_t p = a; p < b;) {
      const ssize_t n = ::pwrite(fd, kZero, std::min<uint64_t>(kScanChunk, b - p), p);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::from_errno("zero " + path, errno);
      }
      p += static_cast<uint64_t>(n);
    }
  }
  return Status::ok();
}

}  // namespace

Status create_sparse_file(const std::string& path, uint64_t size, bool* was_short) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.ok()) return Status::from_errno("open " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::from_errno("stat " + path, errno);
  const auto actual = static_cast<uint64_t>(st.st_size);
  if (actual > size) {
    return Status::invalid_argument(path + " is " + std::to_string(actual) +
                                    " bytes, larger than the configured segment size " +
                                    std::to_string(size));
  }
  if (was_short != nullptr) *was_short = actual != 0 && actual < size;
  if (actual < size && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    return Status::from_errno("extend " + path, errno);
  }
  return Status::ok();
}

Status write_file_at(const std::string& path, uint64_t pos, const uint8_t* bytes, size_t n,
                     bool sync) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.ok()) return Status::from_errno("open " + path, errno);
  for (size_t done = 0; done < n;) {
    const ssize_t w = ::pwrite(fd.get(), bytes + done, n - done, static_cast<off_t>(pos + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno("write " + path, errno);
    }
    done += static_cast<size_t>(w);
  }
  if (sync && ::fdatasync(fd.get()) != 0) return Status::from_errno("fdatasync " + path, errno);
  return Status::ok();
}

Status sync_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return Status::from_errno("open " + path, errno);
  if (::fdatasync(fd.get()) != 0) return Status::from_errno("fdatasync " + path, errno);
  return Status::ok();
}

Status sync_file_system(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return Status::from_errno("open " + path, errno);
  if (::syncfs(fd.get()) != 0) return Status::from_errno("syncfs " + path, errno);
  return Status::ok();
}

Status read_file_at(const std::string& path, uint64_t pos, uint8_t* out, size_t n) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return Status::from_errno("open " + path, errno);
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd.get(), out + done, n - done, static_cast<off_t>(pos + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno("read " + path, errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  std::memset(out + done, 0, n - done);
  return Status::ok();
}

Status zero_file_range(const std::string& path, uint64_t from, uint64_t to) {
  if (from >= to) return Status::ok();
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.ok()) return Status::from_errno("open " + path, errno);
  // A punched hole frees the blocks too; partial blocks at either end are zeroed in place.
  if (::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                  static_cast<off_t>(to - from)) != 0) {
    if (errno != EOPNOTSUPP && errno != ENOSYS) return Status::from_errno("zero " + path, errno);
    COMET_RETURN_IF_ERROR(write_zeroes(fd.get(), from, to, path));
  }
  if (::fdatasync(fd.get()) != 0) return Status::from_errno("fdatasync " + path, errno);
  return Status::ok();
}

std::vector<std::pair<uint64_t, uint64_t>> data_ranges(int fd, uint64_t from, uint64_t to) {
  // The ranges are listed before any is read: a read's read-ahead would make the next one data.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (uint64_t p = from; p < to;) {
    const off_t data = ::lseek(fd, static_cast<off_t>(p), SEEK_DATA);
    if (data < 0) {
      if (errno != ENXIO) ranges.emplace_back(p, to);  // ENXIO: no data past p
      break;
    }
    const off_t hole = ::lseek(fd, data, SEEK_HOLE);
    const uint64_t a = std::max<uint64_t>(p, static_cast<uint64_t>(data));
    const uint64_t b = hole < 0 ? to : std::min<uint64_t>(to, static_cast<uint64_t>(hole));
    if (a >= to) break;
    if (b <= a) {
      ranges.emplace_back(a, to);  // not what SEEK_HOLE promises: take the rest as data
      break;
    }
    ranges.emplace_back(a, b);
    p = b;
  }
  return ranges;
}

Result<uint64_t> end_of_data(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return Status::from_errno("open " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::from_errno("stat " + path, errno);
  const auto ranges = data_ranges(fd.get(), 0, static_cast<uint64_t>(st.st_size));
  static thread_local uint8_t buf[kScanChunk];
  // From the last range back: data that is all zeroes (allocated, never written) is skipped.
  for (auto range = ranges.rbegin(); range != ranges.rend(); ++range) {
    for (uint64_t end = range->second; end > range->first;) {
      const uint64_t start = end - std::min(kScanChunk, end - range->first);
      const size_t n = end - start;
      const ssize_t r = ::pread(fd.get(), buf, n, static_cast<off_t>(start));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::from_errno("read " + path, errno);
      }
      for (size_t i = static_cast<size_t>(r); i > 0; --i) {
        if (buf[i - 1] != 0) return start + i;
      }
      end = start;
    }
  }
  return uint64_t{0};
}

}  // namespace comet::commitlog
