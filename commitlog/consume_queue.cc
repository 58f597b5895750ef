#include "commitlog/consume_queue.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "commitlog/mapped_file.h"
#include "commitlog/sparse_file.h"
#include "common/assert.h"
#include "common/logging.h"

namespace comet::commitlog {

namespace fs = std::filesystem;

namespace {

// A queue the store did not give a cache to (tests, tools) maps at most this many of its files.
constexpr size_t kOwnMappings = 4;
// Units of holes a put() past the end may leave waiting in memory; more is not a gap the
// dispatcher makes, but a queue offset gone wrong.
constexpr uint64_t kMaxPendingHoles = 1ull << 22;
// Units read at a time by a scan.
constexpr uint64_t kScanBatch = 1024;

void encode_unit(uint8_t* p, const CqUnit& u) {
  std::memcpy(p, &u.physical_offset, 8);
  std::memcpy(p + 8, &u.size, 4);
  std::memcpy(p + 12, &u.tag_hash, 8);
}

CqUnit decode_unit(const uint8_t* p) {
  CqUnit u;
  std::memcpy(&u.physical_offset, p, 8);
  std::memcpy(&u.size, p + 8, 4);
  std::memcpy(&u.tag_hash, p + 12, 8);
  return u;
}

bool is_segment_name(const std::string& name) {
  return name.size() == 20 &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Start offsets of the segment files in `dir`, in order.
Result<std::vector<uint64_t>> list_segments(const std::string& dir) {
  std::vector<uint64_t> starts;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (is_segment_name(name) && entry.is_regular_file()) starts.push_back(std::stoull(name));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status::io_error("list " + dir + ": " + ec.message());
  }
  std::sort(starts.begin(), starts.end());
  return starts;
}

}  // namespace

ConsumeQueue::ConsumeQueue(std::string topic, uint32_t queue_id, std::string dir,
                           uint64_t file_size, MappingCache* mappings)
    : topic_(std::move(topic)),
      queue_id_(queue_id),
      dir_(std::move(dir)),
      file_size_(file_size),
      own_mappings_(mappings ? nullptr : std::make_unique<MappingCache>(kOwnMappings)),
      mappings_(mappings ? mappings : own_mappings_.get()) {}

ConsumeQueue::~ConsumeQueue() {
  forget_mappings(files_begin_, files_end_);
}

std::string ConsumeQueue::path_for(uint64_t start) const {
  return dir_ + "/" + MappedFile::file_name(start);
}

void ConsumeQueue::forget_mappings(uint64_t from, uint64_t to) {
  for (uint64_t start = from; start < to; start += file_size_)
    mappings_->forget({mapping_owner_, start});
}

size_t ConsumeQueue::file_count() const {
  std::lock_guard lock(mu_);
  return (files_end_ - files_begin_) / file_size_;
}

Status ConsumeQueue::load() {
  COMET_ASSIGN_OR_RETURN(auto starts, list_segments(dir_));
  // Files past a gap are derived data: dropped; the dispatcher rewrites them.
  size_t kept = 0;
  while (kept < starts.size() && (kept == 0 || starts[kept] == starts[kept - 1] + file_size_))
    ++kept;
  if (kept < starts.size()) {
    logger("commitlog")
        ->warn("consume queue {}-{}: dropping {} segment(s) past a gap", topic_, queue_id_,
               starts.size() - kept);
    for (size_t i = kept; i < starts.size(); ++i) {
      std::error_code ec;
      fs::remove(path_for(starts[i]), ec);
    }
    starts.resize(kept);
  }
  std::lock_guard io(io_mu_);
  if (starts.empty()) return Status::ok();
  for (uint64_t start : starts)  // a short file (a lost tail) is extended with holes
    COMET_RETURN_IF_ERROR(create_sparse_file(path_for(start), file_size_));
  // Units are written in order, so the queue ends after the last non-zero byte of the last
  // file, rounded up to a whole unit (a torn last unit is judged by truncate_by_physical).
  COMET_ASSIGN_OR_RETURN(uint64_t data_end, end_of_data(path_for(starts.back())));
  const uint64_t end = (starts.back() + data_end + kUnitSize - 1) / kUnitSize;
  {
    std::lock_guard lock(mu_);
    files_begin_ = starts.front();
    files_end_ = starts.back() + file_size_;
    written_end_.store(end, std::memory_order_release);
    synced_end_.store(end, std::memory_order_release);
    min_offset_.store(files_begin_ / kUnitSize, std::memory_order_release);
    max_offset_.store(end, std::memory_order_release);
  }
  const uint64_t first = files_begin_ / kUnitSize;
  if (end > first) {
    auto last = read_range(end - 1, end, Via::kPread);
    std::lock_guard lock(mu_);
    last_unit_ = last.empty() ? CqUnit{} : last.front();
  }
  // Skip leading holes.
  min_offset_.store(scan(first, [](const CqUnit& u) { return u.size != 0; }),
                    std::memory_order_release);
  return Status::ok();
}

void ConsumeQueue::read_from_files(uint64_t from, uint64_t to, uint64_t files_end, Via via,
                                   std::vector<CqUnit>& out) const {
  std::vector<uint8_t> buf;
  for (uint64_t q = from; q < to;) {
    const uint64_t start = segment_start(q * kUnitSize);
    const uint64_t upto = std::min(to, (start + file_size_) / kUnitSize);
    if (start >= files_end) {  // holes past the last file (a gap not written out yet)
      out.resize(out.size() + (upto - q));
      q = upto;
      continue;
    }
    const uint8_t* units = nullptr;
    MappingPin pin;
    if (via == Via::kMapping) {
      auto mapped = mappings_->acquire({mapping_owner_, start}, path_for(start), file_size_);
      if (!mapped.is_ok()) return;  // deleted by retention meanwhile: the reader is below min
      pin = std::move(mapped).value();
      units = pin->data() + q * kUnitSize - start;
    } else {
      buf.resize((upto - q) * kUnitSize);
      if (!read_file_at(path_for(start), q * kUnitSize - start, buf.data(), buf.size()).is_ok()) {
        return;
      }
      units = buf.data();
    }
    for (const uint64_t first = q; q < upto; ++q)
      out.push_back(decode_unit(units + (q - first) * kUnitSize));
  }
}

std::vector<CqUnit> ConsumeQueue::read_range(uint64_t from, uint64_t to, Via via) const {
  std::vector<CqUnit> out;
  out.reserve(to - from);
  uint64_t written, files_end;
  std::vector<CqUnit> tail;
  {
    std::lock_guard lock(mu_);
    written = written_end_.load(std::memory_order_relaxed);
    files_end = files_end_;
    to = std::min(to, max_offset());
    for (uint64_t q = std::max(from, written); q < to; ++q)
      tail.push_back(decode_unit(pending_.data() + (q - written) * kUnitSize));
  }
  if (from < written) {
    const uint64_t file_to = std::min(to, written);
    read_from_files(from, file_to, files_end, via, out);
    if (out.size() != file_to - from) return out;
  }
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

std::optional<CqUnit> ConsumeQueue::unit_at(uint64_t queue_offset) const {
  auto units = read_range(queue_offset, queue_offset + 1, Via::kPread);
  if (units.empty()) return std::nullopt;
  return units.front();
}

template <typename Stop>
uint64_t ConsumeQueue::scan(uint64_t from, Stop stop) const {
  uint64_t q = from;
  while (q < max_offset()) {
    const auto units = read_range(q, q + kScanBatch, Via::kPread);
    if (units.empty()) break;
    for (const CqUnit& u : units) {
      if (stop(u)) return q;
      ++q;
    }
  }
  return q;
}

uint64_t ConsumeQueue::max_physical_end() const {
  std::lock_guard lock(mu_);
  if (max_offset() == 0 || max_offset() <= min_offset()) return 0;
  return last_unit_.physical_offset + last_unit_.size;
}

bool ConsumeQueue::torn_at_page_edge(uint64_t queue_offset, const CqUnit& unit) const {
  // Write-back (and a power loss) goes page by page, so a page that failed to reach the disk
  // leaves zeros in the middle of the file while later pages did reach it. A unit that
  // straddles the edge of such a page reads as its bytes from the zeroed side and the real
  // ones from the other: an offset of 0 (or its high half) with a size. Its predecessor lies
  // in the zeroed page too, so it does not end before the unit starts, as a real one would.
  // Units still in memory were never torn.
  if (queue_offset >= written_end_.load(std::memory_order_acquire)) return false;
  const uint64_t pos = queue_offset * kUnitSize % file_size_;
  const uint64_t edge = (pos / kWriteBackGranule + 1) * kWriteBackGranule;
  if (edge >= pos + kUnitSize) return false;  // within one page
  uint8_t bytes[kUnitSize];
  encode_unit(bytes, unit);  // the bytes it was read from
  if (std::any_of(bytes, bytes + (edge - pos), [](uint8_t b) { return b != 0; })) return false;
  if (queue_offset == 0 || queue_offset <= min_offset()) return true;
  const auto before = unit_at(queue_offset - 1);
  return !(before && before->size != 0 &&
           before->physical_offset + before->size <= unit.physical_offset);
}

Status ConsumeQueue::truncate_by_physical(uint64_t physical_offset) {
  std::lock_guard io(io_mu_);
  uint64_t end = max_offset();
  const uint64_t min = min_offset();
  while (end > min) {
    std::optional<CqUnit> u;
    if (end == max_offset()) {
      std::lock_guard lock(mu_);
      u = last_unit_;  // recovery's common case: no read at all
    } else {
      u = unit_at(end - 1);
    }
    if (u && u->size != 0 && u->physical_offset < physical_offset &&
        !torn_at_page_edge(end - 1, *u)) {
      break;
    }
    --end;
  }
  if (end == max_offset()) return Status::ok();
  return cut_at(end);
}

Status ConsumeQueue::cut_at(uint64_t end) {
  const uint64_t cut = end * kUnitSize;
  uint64_t files_begin, files_end;
  bool in_memory;
  {
    std::lock_guard lock(mu_);
    const uint64_t written = written_end_.load(std::memory_order_relaxed);
    in_memory = end >= written;
    if (in_memory) pending_.resize((end - written) * kUnitSize);
    files_begin = files_begin_;
    files_end = files_end_;
  }
  if (!in_memory) {
    // Crash-safe: repeating the cut gives the same files. Wholly past it: deleted, last first.
    uint64_t keep_end = std::max(files_begin, segment_start(cut));
    if (cut > keep_end) keep_end += file_size_;  // the file holding the cut stays
    for (uint64_t start = files_end; start > keep_end;) {
      start -= file_size_;
      mappings_->forget({mapping_owner_, start});
      std::error_code ec;
      fs::remove(path_for(start), ec);
      if (ec) return Status::io_error("delete " + path_for(start) + ": " + ec.message());
    }
    keep_end = std::min(keep_end, std::max(files_begin, files_end));
    if (cut > files_begin && cut < keep_end) {
      const uint64_t start = keep_end - file_size_;
      COMET_RETURN_IF_ERROR(zero_file_range(path_for(start), cut - start, file_size_));
    }
    std::lock_guard lock(mu_);
    pending_.clear();
    files_end_ = keep_end;
    if (files_end_ == files_begin_) files_begin_ = files_end_ = segment_start(cut);
    written_end_.store(end, std::memory_order_release);
    if (synced_end_.load(std::memory_order_relaxed) > end) {
      synced_end_.store(end, std::memory_order_release);
    }
  }
  {
    std::lock_guard lock(mu_);
    max_offset_.store(end, std::memory_order_release);
    if (min_offset() > end) min_offset_.store(end, std::memory_order_release);
  }
  auto last = end > 0 ? unit_at(end - 1) : std::nullopt;
  std::lock_guard lock(mu_);
  last_unit_ = last.value_or(CqUnit{});
  return Status::ok();
}

void ConsumeQueue::assert_follows_last_unit(uint64_t queue_offset, const CqUnit& unit) const {
  if (queue_offset != max_offset() || queue_offset <= min_offset()) return;  // a rewrite, a hole
  // The dispatcher indexes the log in order, so a queue's records lie in the log in queue order.
  const CqUnit& last = last_unit_;
  if (last.size == 0) return;
  COMET_ASSERT(last.physical_offset + last.size <= unit.physical_offset,
               fmt::format("consume queue {}-{}: unit {} at log offset {} does not follow unit {} "
                           "at {} (size {})",
                           topic_, queue_id_, queue_offset, unit.physical_offset, queue_offset - 1,
                           last.physical_offset, last.size));
}

Status ConsumeQueue::put(uint64_t queue_offset, const CqUnit& unit) {
  // A unit of size 0 is how readers see a hole: writing one would hide a message.
  COMET_ASSERT(unit.size > 0, fmt::format("consume queue {}-{}: unit {} of size 0 at offset {}",
                                          topic_, queue_id_, queue_offset, unit.physical_offset));
  if (queue_offset < max_offset()) return rewrite(queue_offset, unit);
  std::lock_guard lock(mu_);
  const uint64_t max = max_offset();
  if (files_begin_ == files_end_ && pending_.empty() && written_end_.load() == max) {
    // First unit of this queue (or first after all its files were lost): its files start at the
    // segment that holds it, so offsets stay addressable.
    files_begin_ = files_end_ = segment_start(queue_offset * kUnitSize);
    written_end_.store(queue_offset, std::memory_order_release);
    synced_end_.store(queue_offset, std::memory_order_release);
    min_offset_.store(queue_offset, std::memory_order_release);
  } else if (queue_offset > max && pending_.empty()) {
    // Holes with nothing waiting before them cost nothing: the files are written from here.
    written_end_.store(queue_offset, std::memory_order_release);
  } else if (queue_offset > max) {
    if (queue_offset - max > kMaxPendingHoles) {
      return Status::corruption(fmt::format("consume queue {}-{}: unit {} leaves {} holes after {}",
                                            topic_, queue_id_, queue_offset, queue_offset - max,
                                            max));
    }
    pending_.resize(pending_.size() + (queue_offset - max) * kUnitSize, 0);
  }
  assert_follows_last_unit(queue_offset, unit);
  pending_.resize(pending_.size() + kUnitSize);
  encode_unit(pending_.data() + pending_.size() - kUnitSize, unit);
  last_unit_ = unit;
  max_offset_.store(queue_offset + 1, std::memory_order_release);
  return Status::ok();
}

Status ConsumeQueue::rewrite(uint64_t queue_offset, const CqUnit& unit) {
  auto existing = unit_at(queue_offset);
  if (existing && *existing == unit) return Status::ok();
  if (queue_offset >= min_offset() || (existing && existing->size != 0)) {
    return Status::corruption("consume queue " + topic_ + "-" + std::to_string(queue_id_) +
                              ": unit " + std::to_string(queue_offset) +
                              " already holds a different record");
  }
  // A hole below the first readable unit: filled in place, where it is.
  std::lock_guard io(io_mu_);
  if (retired_) return Status::ok();
  {
    std::lock_guard lock(mu_);
    const uint64_t written = written_end_.load(std::memory_order_relaxed);
    if (queue_offset >= written) {
      encode_unit(pending_.data() + (queue_offset - written) * kUnitSize, unit);
      return Status::ok();
    }
    if (queue_offset * kUnitSize < files_begin_) {
      return Status::invalid_argument("queue offset " + std::to_string(queue_offset) +
                                      " is below the consume queue's first segment");
    }
  }
  uint8_t bytes[kUnitSize];
  encode_unit(bytes, unit);
  const uint64_t start = segment_start(queue_offset * kUnitSize);
  return write_file_at(path_for(start), queue_offset * kUnitSize - start, bytes, kUnitSize,
                       /*sync=*/true);
}

std::vector<CqUnit> ConsumeQueue::read(uint64_t from, size_t max) const {
  const uint64_t end = max_offset();
  if (from < min_offset() || from >= end) return {};
  return read_range(from, from + std::min<uint64_t>(max, end - from), Via::kMapping);
}

std::optional<CqUnit> ConsumeQueue::get(uint64_t queue_offset) const {
  if (queue_offset < min_offset() || queue_offset >= max_offset()) return std::nullopt;
  return unit_at(queue_offset);
}

Status ConsumeQueue::ensure_files_upto(uint64_t end) {
  uint64_t files_end;
  {
    std::lock_guard lock(mu_);
    files_end = files_end_;
  }
  if (files_end >= end) return Status::ok();
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Status::io_error("create " + dir_ + ": " + ec.message());
  for (; files_end < end; files_end += file_size_) {
    COMET_RETURN_IF_ERROR(create_sparse_file(path_for(files_end), file_size_));
    std::lock_guard lock(mu_);
    files_end_ = files_end + file_size_;
  }
  return Status::ok();
}

Status ConsumeQueue::write_out(uint64_t pos, const std::vector<uint8_t>& bytes) {
  for (uint64_t done = 0; done < bytes.size();) {
    const uint64_t at = pos + done;
    const uint64_t start = segment_start(at);
    COMET_RETURN_IF_ERROR(ensure_files_upto(start + file_size_));
    const uint64_t n = std::min<uint64_t>(bytes.size() - done, start + file_size_ - at);
    COMET_RETURN_IF_ERROR(
        write_file_at(path_for(start), at - start, bytes.data() + done, n, /*sync=*/false));
    done += n;
  }
  return Status::ok();
}

void ConsumeQueue::retire() {
  std::lock_guard io(io_mu_);
  retired_ = true;
  std::lock_guard lock(mu_);
  std::vector<uint8_t>().swap(pending_);
  written_end_.store(max_offset(), std::memory_order_release);
  synced_end_.store(max_offset(), std::memory_order_release);
}

Status ConsumeQueue::flush(Sync sync) {
  std::lock_guard io(io_mu_);
  if (retired_) return Status::ok();
  std::vector<uint8_t> bytes;
  uint64_t from;
  {
    std::lock_guard lock(mu_);
    bytes = pending_;
    from = written_end_.load(std::memory_order_relaxed);
  }
  if (!bytes.empty()) {
    // Units stay waiting (and readable) until they are in the files: a full disk or an I/O
    // error leaves them for the next flush.
    COMET_RETURN_IF_ERROR(write_out(from * kUnitSize, bytes));
    std::lock_guard lock(mu_);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(bytes.size()));
    if (pending_.empty()) std::vector<uint8_t>().swap(pending_);  // an idle queue holds none
    written_end_.store(from + bytes.size() / kUnitSize, std::memory_order_release);
  }
  if (sync == Sync::kDeferred) {
    deferred_written_ = written_end_.load(std::memory_order_acquire);
    return Status::ok();
  }
  return sync_written();
}

Status ConsumeQueue::sync_written() {
  const uint64_t from = synced_end_.load(std::memory_order_acquire) * kUnitSize;
  const uint64_t to = written_end_.load(std::memory_order_acquire) * kUnitSize;
  uint64_t files_begin, files_end;
  {
    std::lock_guard lock(mu_);
    files_begin = files_begin_;
    files_end = files_end_;
  }
  for (uint64_t start = std::max(files_begin, segment_start(from)); start < std::min(to, files_end);
       start += file_size_) {
    COMET_RETURN_IF_ERROR(sync_file(path_for(start)));
  }
  if (to / kUnitSize > synced_end_.load(std::memory_order_acquire)) {
    synced_end_.store(to / kUnitSize, std::memory_order_release);
  }
  return Status::ok();
}

void ConsumeQueue::mark_synced() {
  std::lock_guard io(io_mu_);
  if (deferred_written_ > synced_end_.load(std::memory_order_acquire)) {
    synced_end_.store(deferred_written_, std::memory_order_release);
  }
}

uint64_t ConsumeQueue::offset_at_physical(uint64_t physical_offset) const {
  // Units are in log order: scanning from the front stops at the first one past the cut.
  return scan(min_offset(),
              [&](const CqUnit& u) { return u.size != 0 && u.physical_offset >= physical_offset; });
}

void ConsumeQueue::correct_min_offset(uint64_t min_physical_offset) {
  min_offset_.store(offset_at_physical(min_physical_offset), std::memory_order_release);
}

void ConsumeQueue::delete_expired(uint64_t min_physical_offset) {
  std::lock_guard io(io_mu_);
  uint64_t begin, end;
  {
    std::lock_guard lock(mu_);
    begin = files_begin_;
    end = files_end_;
  }
  const uint64_t written = written_end_.load(std::memory_order_acquire) * kUnitSize;
  // A file can go when its last unit points below the CommitLog's first byte; never the last
  // file, nor one whose units are not all written out.
  uint64_t start = begin;
  while (start + file_size_ < end && start + file_size_ <= written) {
    auto last = unit_at((start + file_size_) / kUnitSize - 1);
    if (!last || (last->size != 0 && last->physical_offset >= min_physical_offset)) break;
    start += file_size_;
  }
  if (start > begin) {
    {
      std::lock_guard lock(mu_);
      files_begin_ = start;
    }
    if (min_offset() < start / kUnitSize) {
      min_offset_.store(start / kUnitSize, std::memory_order_release);
    }
    for (uint64_t s = begin; s < start; s += file_size_) {
      mappings_->forget({mapping_owner_, s});
      std::error_code ec;
      fs::remove(path_for(s), ec);
      if (ec) logger("commitlog")->warn("delete {}: {}", path_for(s), ec.message());
    }
  }
  correct_min_offset(min_physical_offset);
}

}  // namespace comet::commitlog
