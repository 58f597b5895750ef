#include "commitlog/index_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

namespace comet::commitlog {
namespace {

static_assert(std::endian::native == std::endian::little, "index files are little-endian");

// Header field offsets.
constexpr size_t kOffBeginTimestamp = 0;
constexpr size_t kOffEndTimestamp = 8;
constexpr size_t kOffBeginPhy = 16;
constexpr size_t kOffEndPhy = 24;
constexpr size_t kOffHashSlotCount = 32;
constexpr size_t kOffIndexCount = 36;
// |timestamps| a valid header holds at most (year 292,278 in ms: lookups add up to 2^32 s
// to them without overflow).
constexpr int64_t kMaxTimestampMs = int64_t{1} << 62;
// Blocks of an index file are allocated a page at a time, before the page's first write.
constexpr uint64_t kIndexPageSize = 4096;
// Entry field offsets.
constexpr size_t kOffEntryHash = 0;
constexpr size_t kOffEntryPhy = 4;
constexpr size_t kOffEntryTimeDiff = 12;
constexpr size_t kOffEntryPrev = 16;

template <typename T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
void store_le(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

uint32_t fnv1a(uint32_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

}  // namespace

uint32_t index_key_hash(std::string_view topic, std::string_view key) {
  return fnv1a(fnv1a(fnv1a(2166136261u, topic), "#"), key);
}

uint64_t IndexFileView::file_size(uint32_t slot_num, uint32_t index_num) {
  return kHeaderSize + uint64_t{slot_num} * kSlotSize + uint64_t{index_num} * kEntrySize;
}

IndexFileView::IndexFileView(std::span<uint8_t> bytes, uint32_t slot_num, uint32_t index_num)
    : bytes_(bytes), slot_num_(slot_num), index_num_(index_num) {}

void IndexFileView::init(uint64_t begin_phy_offset) {
  IndexHeader h;
  h.begin_phy_offset = begin_phy_offset;
  h.end_phy_offset = begin_phy_offset;
  write_header(h);
}

IndexHeader IndexFileView::header() const {
  const uint8_t* p = bytes_.data();
  IndexHeader h;
  h.begin_timestamp_ms = load_le<int64_t>(p + kOffBeginTimestamp);
  h.end_timestamp_ms = load_le<int64_t>(p + kOffEndTimestamp);
  h.begin_phy_offset = load_le<uint64_t>(p + kOffBeginPhy);
  h.end_phy_offset = load_le<uint64_t>(p + kOffEndPhy);
  h.hash_slot_count = load_le<uint32_t>(p + kOffHashSlotCount);
  h.index_count = load_le<uint32_t>(p + kOffIndexCount);
  return h;
}

void IndexFileView::write_header(const IndexHeader& h) {
  uint8_t* p = bytes_.data();
  store_le(p + kOffBeginTimestamp, h.begin_timestamp_ms);
  store_le(p + kOffEndTimestamp, h.end_timestamp_ms);
  store_le(p + kOffBeginPhy, h.begin_phy_offset);
  store_le(p + kOffEndPhy, h.end_phy_offset);
  store_le(p + kOffHashSlotCount, h.hash_slot_count);
  // Last: an entry counts only once everything else about it is written (a kill before this
  // leaves it past index_count, where validate_and_repair() undoes it).
  store_le(p + kOffIndexCount, h.index_count);
}

uint32_t IndexFileView::slot_head(uint32_t slot) const {
  return load_le<uint32_t>(slot_ptr(slot));
}

void IndexFileView::set_slot_head(uint32_t slot, uint32_t index) {
  store_le(slot_ptr(slot), index);
}

IndexEntry IndexFileView::entry(uint32_t index) const {
  const uint8_t* p = entry_ptr(index);
  return IndexEntry{load_le<uint32_t>(p + kOffEntryHash), load_le<uint64_t>(p + kOffEntryPhy),
                    load_le<uint32_t>(p + kOffEntryTimeDiff), load_le<uint32_t>(p + kOffEntryPrev)};
}

uint32_t IndexFileView::free_entries() const {
  const uint32_t count = header().index_count;
  return count < index_num_ ? index_num_ - count : 0;
}

bool IndexFileView::put(uint32_t key_hash, uint64_t phy_offset, int64_t store_timestamp_ms) {
  IndexHeader h = header();
  if (h.index_count >= index_num_) return false;
  if (h.index_count == 1) {
    h.begin_timestamp_ms = store_timestamp_ms;
    h.end_timestamp_ms = store_timestamp_ms;
  }
  // A store time before the file's first (a clock that went back) counts as its first second.
  int64_t diff_ms = 0;
  if (__builtin_sub_overflow(store_timestamp_ms, h.begin_timestamp_ms, &diff_ms)) {
    diff_ms = store_timestamp_ms > h.begin_timestamp_ms ? INT64_MAX : 0;
  }
  const auto time_diff = static_cast<uint32_t>(
      std::clamp<int64_t>(diff_ms / 1000, 0, std::numeric_limits<uint32_t>::max()));
  const uint32_t slot = slot_of(key_hash);
  uint32_t prev = slot_head(slot);
  if (prev >= h.index_count) prev = 0;  // a head no counted entry backs: a damaged slot
  const uint32_t at = h.index_count;
  uint8_t* e = entry_ptr(at);
  store_le(e + kOffEntryHash, key_hash);
  store_le(e + kOffEntryPhy, phy_offset);
  store_le(e + kOffEntryTimeDiff, time_diff);
  store_le(e + kOffEntryPrev, prev);
  set_slot_head(slot, at);
  if (prev == 0) h.hash_slot_count = std::min(slot_num_, h.hash_slot_count + 1);
  h.end_timestamp_ms = std::max(h.end_timestamp_ms, store_timestamp_ms);
  h.index_count = at + 1;
  write_header(h);
  return true;
}

void IndexFileView::cover(uint64_t end_phy_offset) {
  store_le(bytes_.data() + kOffEndPhy, end_phy_offset);
}

bool IndexFileView::unlink(uint32_t index) {
  const IndexEntry e = entry(index);
  const uint32_t slot = slot_of(e.key_hash);
  const bool linked = slot_head(slot) == index;
  if (linked) set_slot_head(slot, e.prev_index < index ? e.prev_index : 0);
  std::memset(entry_ptr(index), 0, kEntrySize);
  return linked;
}

uint32_t IndexFileView::undo_from(uint64_t cut) {
  IndexHeader h = header();
  uint32_t undone = 0;
  while (h.index_count > 1 && entry(h.index_count - 1).phy_offset >= cut) {
    const uint32_t at = h.index_count - 1;
    const uint32_t prev = entry(at).prev_index;
    if (unlink(at) && (prev == 0 || prev >= at) && h.hash_slot_count > 0) --h.hash_slot_count;
    h.index_count = at;
    ++undone;
  }
  if (h.index_count == 1) {
    h.begin_timestamp_ms = 0;
    h.end_timestamp_ms = 0;
    h.hash_slot_count = 0;
  }
  h.end_phy_offset = std::min(h.end_phy_offset, cut);
  h.begin_phy_offset = std::min(h.begin_phy_offset, h.end_phy_offset);
  write_header(h);
  return undone;
}

Status IndexFileView::validate_and_repair(uint32_t* repaired) {
  if (repaired != nullptr) *repaired = 0;
  if (slot_num_ == 0 || index_num_ < 2 || bytes_.size() != file_size(slot_num_, index_num_)) {
    return Status::corruption("index file is " + std::to_string(bytes_.size()) +
                              " bytes where maxHashSlotNum " + std::to_string(slot_num_) +
                              " and maxIndexNum " + std::to_string(index_num_) + " make " +
                              std::to_string(file_size(slot_num_, index_num_)));
  }
  IndexHeader h = header();
  if (h.index_count < 1 || h.index_count > index_num_) {
    return Status::corruption("index count " + std::to_string(h.index_count) + " outside 1.." +
                              std::to_string(index_num_));
  }
  if (h.begin_phy_offset > h.end_phy_offset) {
    return Status::corruption("begin offset " + std::to_string(h.begin_phy_offset) +
                              " past end offset " + std::to_string(h.end_phy_offset));
  }
  if (h.index_count > 1 && h.begin_timestamp_ms > h.end_timestamp_ms) {
    return Status::corruption("begin timestamp past end timestamp");
  }
  if (std::abs(h.begin_timestamp_ms) > kMaxTimestampMs ||
      std::abs(h.end_timestamp_ms) > kMaxTimestampMs) {
    return Status::corruption("timestamps out of range");
  }
  // Entries a crash left past the count: written (the first all-zero one not heading its slot
  // ends them), maybe linked. Undone newest first, each slot's stack unwinds to its old head.
  uint32_t end = h.index_count;
  const uint64_t limit =
      std::min<uint64_t>(index_num_, uint64_t{h.index_count} + kMaxPendingEntries);
  static constexpr uint8_t kZero[kEntrySize] = {};
  while (end < limit &&
         (std::memcmp(entry_ptr(end), kZero, kEntrySize) != 0 || slot_head(slot_of(0)) == end)) {
    ++end;
  }
  for (uint32_t at = end; at > h.index_count; --at)
    unlink(at - 1);
  if (repaired != nullptr) *repaired = end - h.index_count;
  // A statistic a kill may leave one ahead of the count it goes with.
  h.hash_slot_count = std::min({h.hash_slot_count, h.index_count - 1, slot_num_});
  write_header(h);
  return Status::ok();
}

// --- IndexFile ----------------------------------------------------------------------------

IndexFile::IndexFile(std::string path, int fd, uint8_t* base, uint64_t size, uint32_t slot_num,
                     uint32_t index_num)
    : path_(std::move(path)),
      fd_(fd),
      base_(base),
      size_(size),
      view_(std::span<uint8_t>(base, size), slot_num, index_num),
      reserved_((size + kIndexPageSize - 1) / kIndexPageSize, false) {}

Status IndexFile::reserve_page(uint64_t page) {
  if (page >= reserved_.size() || reserved_[page]) return Status::ok();
  const uint64_t from = page * kIndexPageSize;
  const uint64_t len = std::min(kIndexPageSize, size_ - from);
  // Inside the file, so its size stays; already allocated blocks (a file reopened) make this a
  // no-op. posix_fallocate: glibc emulates it where the file system lacks fallocate.
  const int rc = ::posix_fallocate(fd_, static_cast<off_t>(from), static_cast<off_t>(len));
  if (rc != 0) return Status::from_errno("allocate a page of " + path_, rc);
  reserved_[page] = true;
  return Status::ok();
}

Status IndexFile::reserve_for_put(uint32_t key_hash) {
  const uint64_t slot = view_.slot_offset(key_hash);
  const uint64_t entry = view_.entry_offset(view_.header().index_count);
  COMET_RETURN_IF_ERROR(reserve_page(slot / kIndexPageSize));
  COMET_RETURN_IF_ERROR(reserve_page(entry / kIndexPageSize));
  // An entry may straddle two pages.
  return reserve_page((entry + IndexFileView::kEntrySize - 1) / kIndexPageSize);
}

IndexFile::~IndexFile() {
  if (base_ != nullptr) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<IndexFile>> IndexFile::map(const std::string& path, int fd,
                                                  uint32_t slot_num, uint32_t index_num) {
  const uint64_t size = IndexFileView::file_size(slot_num, index_num);
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    const int err = errno;
    ::close(fd);
    return Status::from_errno("mmap " + path, err);
  }
  // Slots and chains are read and written at random: readahead would only fault in neighbours.
  ::madvise(base, size, MADV_RANDOM);
  return std::unique_ptr<IndexFile>(
      new IndexFile(path, fd, static_cast<uint8_t*>(base), size, slot_num, index_num));
}

Result<std::unique_ptr<IndexFile>> IndexFile::create(const std::string& path, uint32_t slot_num,
                                                     uint32_t index_num,
                                                     uint64_t begin_phy_offset) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno("create " + path, errno);
  // Sparse on purpose: a file holds 420 MB at the default sizes, and most of its slots and
  // entries stay unwritten for a long time (or for ever on a quiet broker).
  const uint64_t size = IndexFileView::file_size(slot_num, index_num);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return Status::from_errno("size " + path, err);
  }
  COMET_ASSIGN_OR_RETURN(auto file, map(path, fd, slot_num, index_num));
  COMET_RETURN_IF_ERROR(file->reserve_page(0));  // the header
  file->view_.init(begin_phy_offset);
  return file;
}

Result<std::unique_ptr<IndexFile>> IndexFile::open(const std::string& path, uint32_t slot_num,
                                                   uint32_t index_num) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::from_errno("open " + path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::from_errno("stat " + path, err);
  }
  const uint64_t want = IndexFileView::file_size(slot_num, index_num);
  if (static_cast<uint64_t>(st.st_size) != want) {
    ::close(fd);
    return Status::corruption(path + " is " + std::to_string(st.st_size) +
                              " bytes; maxHashSlotNum and maxIndexNum make " +
                              std::to_string(want));
  }
  COMET_ASSIGN_OR_RETURN(auto file, map(path, fd, slot_num, index_num));
  // Validation writes the header, and a repair only pages that were written (so allocated).
  COMET_RETURN_IF_ERROR(file->reserve_page(0));
  COMET_RETURN_IF_ERROR(file->view_.validate_and_repair());
  return file;
}

Status IndexFile::flush() {
  if (::msync(base_, size_, MS_SYNC) != 0) return Status::from_errno("msync " + path_, errno);
  return Status::ok();
}

Status IndexFile::destroy() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return Status::from_errno("remove " + path_, errno);
  }
  return Status::ok();
}

}  // namespace comet::commitlog
