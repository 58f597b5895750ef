#include "commitlog/mapped_file.h"

#include "commitlog/sparse_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older glibc headers lack it
#endif

namespace comet::commitlog {
namespace {

constexpr uint64_t kPage = 4096;

bool page_is_zero(const uint8_t* p, size_t n) {
  static const uint8_t kZero[kPage] = {};
  return std::memcmp(p, kZero, n) == 0;
}

std::atomic<uint64_t> g_touched_pages{0};

// Faults the pages of [base, base + size) in: writable (and so dirty), or for reading (clean).
// MAP_POPULATE is no substitute for writable: it maps shared file pages clean and read-only, and
// each still takes a write fault on first store (measured: 4.1 M vs 17 M 1 KiB memcpy/s).
// In steps of 1 MiB: the call holds the process's mmap lock, and a thread that maps or unmaps
// memory meanwhile (malloc of a large block, a new ConsumeQueue file) waits for it, and then
// every page fault in the process waits behind that thread. A whole window at once made
// tens-of-ms stalls in the brokers' latency tails.
void populate(uint8_t* base, uint64_t size, bool writable) {
  constexpr uint64_t kStep = 1ull << 20;
  for (uint64_t off = 0; off < size; off += kStep) {
    const uint64_t n = std::min(kStep, size - off);
    if (::madvise(base + off, n, writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0) {
      continue;
    }
    // Kernels before 5.14: touch each page. A write fault needs a write, and the writer may
    // already be appending to the page: an atomic add of 0 faults it in writable without
    // changing a byte, where a plain store of 0 could overwrite a record's first byte.
    g_touched_pages.fetch_add((n + kPage - 1) / kPage, std::memory_order_relaxed);
    for (uint64_t p = off; p < off + n; p += kPage) {
      if (writable) {
        __atomic_fetch_add(base + p, uint8_t{0}, __ATOMIC_RELAXED);
      } else {
        (void)reinterpret_cast<volatile const uint8_t*>(base)[p];
      }
    }
  }
}

}  // namespace

MappedFile::MappedFile(std::string path, uint64_t start_offset, uint64_t size, int fd,
                       uint8_t* base)
    : path_(std::move(path)), start_offset_(start_offset), size_(size), fd_(fd), base_(base) {}

MappedFile::~MappedFile() {
  if (base_ != nullptr) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
}

std::string MappedFile::file_name(uint64_t start_offset) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(start_offset));
  return buf;
}

Result<MappedFilePtr> MappedFile::map(const std::string& path, uint64_t start_offset, uint64_t size,
                                      int fd, bool prefault) {
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    int err = errno;
    ::close(fd);
    return Status::from_errno("mmap " + path, err);
  }
  ::madvise(base, size, MADV_SEQUENTIAL);
  MappedFilePtr file(new MappedFile(path, start_offset, size, fd, static_cast<uint8_t*>(base)));
  if (prefault) {
    file->warm_requested_ = std::min(size, kWarmWindow);
    file->warm(0, file->warm_requested_);
  }
  return file;
}

Result<MappedFilePtr> MappedFile::create(const std::string& path, uint64_t start_offset,
                                         uint64_t size, bool prefault) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno("open " + path, errno);
  int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (rc != 0) {
    ::close(fd);
    ::unlink(path.c_str());
    return Status::from_errno("allocate " + std::to_string(size) + " bytes for " + path, rc);
  }
  return map(path, start_offset, size, fd, prefault);
}

Result<MappedFilePtr> MappedFile::open(const std::string& path, uint64_t start_offset,
                                       uint64_t size) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::from_errno("open " + path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::from_errno("stat " + path, err);
  }
  const auto actual = static_cast<uint64_t>(st.st_size);
  if (actual > size) {
    ::close(fd);
    return Status::invalid_argument(path + " is " + std::to_string(actual) +
                                    " bytes, larger than the configured segment size " +
                                    std::to_string(size));
  }
  bool was_short = actual < size;
  if (was_short) {
    int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
    if (rc != 0) {
      ::close(fd);
      return Status::from_errno("extend " + path, rc);
    }
  }
  auto mf = map(path, start_offset, size, fd, false);
  if (mf.is_ok()) mf.value()->was_short_ = was_short;
  return mf;
}

Status MappedFile::flush(uint64_t upto) {
  if (upto > size_) upto = size_;
  uint64_t from = flushed_pos();
  if (upto <= from) return Status::ok();
  uint64_t aligned = from & ~(kPage - 1);
  if (::msync(base_ + aligned, upto - aligned, MS_SYNC) != 0) {
    return Status::from_errno("msync " + path_, errno);
  }
  set_flushed_pos(upto);
  return Status::ok();
}

uint64_t MappedFile::pages_touched_one_by_one() {
  return g_touched_pages.load(std::memory_order_relaxed);
}

void MappedFile::warm(uint64_t from, uint64_t upto) {
  // Whole pages: madvise() takes a page-aligned start (EINVAL otherwise), and the writer's
  // positions, which `from` and `upto` come from, are not.
  upto = std::min((upto + kPage - 1) & ~(kPage - 1), size_);
  const uint64_t warmed = warmed_to();
  // A writer that overtook the warming faults its own pages; warming starts a little ahead of
  // it rather than on the very pages it is faulting.
  from = from >= warmed && warmed > 0 ? (from & ~(kPage - 1)) + kWarmLead
                                      : std::max(from, warmed) & ~(kPage - 1);
  if (from >= upto) return;
  populate(base_ + from, upto - from, /*writable=*/true);
  warmed_to_.store(upto, std::memory_order_release);
}

void MappedFile::fill(uint64_t from, uint64_t upto) {
  upto = std::min(upto, size_);
  from &= ~(kPage - 1);
  if (from < upto) populate(base_ + from, upto - from, /*writable=*/false);
}

uint64_t MappedFile::warm_request(uint64_t pos) {
  if (pos + kWarmWindow * 3 / 4 <= warm_requested_ || warm_requested_ >= size_) return 0;
  warm_requested_ = std::min(size_, pos + kWarmWindow);
  return warm_requested_;
}

Status MappedFile::zero_from(uint64_t pos) {
  if (pos >= size_) return Status::ok();
  uint64_t p = pos;
  // The partial first page always gets zeroed; whole pages only when they hold data.
  uint64_t first_end = std::min(size_, (pos + kPage) & ~(kPage - 1));
  std::memset(base_ + p, 0, first_end - p);
  // Only where the file has data: a range SEEK_DATA skips reads as zeroes already (never
  // written, and not in the page cache), and reading it through the mapping would only fill the
  // page cache with zeroes (a second or more for the tail of a 1 GiB segment on a slow VM).
  const auto ranges = data_ranges(fd_, first_end, size_);
  for (const auto& [from, to] : ranges) {
    for (p = from & ~(kPage - 1); p < to; p += kPage) {
      size_t n = std::min(kPage, size_ - p);
      if (!page_is_zero(base_ + p, n)) std::memset(base_ + p, 0, n);
    }
  }
  uint64_t aligned = pos & ~(kPage - 1);
  if (::msync(base_ + aligned, size_ - aligned, MS_SYNC) != 0) {
    return Status::from_errno("msync " + path_, errno);
  }
  if (write_pos() > pos) set_write_pos(pos);
  if (flushed_pos() > pos) set_flushed_pos(pos);
  return Status::ok();
}

Status MappedFile::destroy() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return Status::from_errno("unlink " + path_, errno);
  }
  return Status::ok();
}

}  // namespace comet::commitlog
