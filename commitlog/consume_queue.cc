#include "commitlog/consume_queue.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/logging.h"

namespace comet::commitlog {
namespace {

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

}  // namespace

ConsumeQueue::ConsumeQueue(std::string topic, uint32_t queue_id, std::string dir,
                           uint64_t file_size)
    : topic_(std::move(topic)),
      queue_id_(queue_id),
      files_(std::move(dir), file_size, nullptr, false) {}

Status ConsumeQueue::load() {
  COMET_RETURN_IF_ERROR(files_.load());
  auto segments = files_.snapshot();
  if (!files_.orphaned_files().empty()) {
    // Index files past a gap are derived data: drop them; the dispatcher rewrites them.
    logger("commitlog")
        ->warn("consume queue {}-{}: dropping {} segment(s) past a gap", topic_, queue_id_,
               files_.orphaned_files().size());
  }
  if (segments.empty()) return files_.truncate(files_.min_offset());
  if (!files_.orphaned_files().empty()) {
    COMET_RETURN_IF_ERROR(files_.truncate(segments.back()->end_offset()));
  }
  // Every segment but the last is full. Units are written in order into zeroed space, so the
  // last segment ends after its last non-zero byte, rounded up to a whole unit.
  const MappedFilePtr& last = segments.back();
  static const uint8_t kZero[4096] = {};
  uint64_t end = 0;
  for (uint64_t page_end = last->size(); page_end > 0;) {
    uint64_t page_start = page_end > sizeof(kZero) ? page_end - sizeof(kZero) : 0;
    const uint8_t* p = last->data() + page_start;
    if (std::memcmp(p, kZero, page_end - page_start) != 0) {
      uint64_t i = page_end - page_start;
      while (p[i - 1] == 0)
        --i;
      end = (page_start + i + kUnitSize - 1) / kUnitSize * kUnitSize;
      break;
    }
    page_end = page_start;
  }
  last->set_write_pos(end);
  last->set_flushed_pos(end);
  max_offset_.store((last->start_offset() + end) / kUnitSize, std::memory_order_release);
  uint64_t min = segments.front()->start_offset() / kUnitSize;
  // Skip leading holes.
  while (min < max_offset()) {
    auto u = unit_at(min);
    if (u && u->size != 0) break;
    ++min;
  }
  min_offset_.store(min, std::memory_order_release);
  return Status::ok();
}

std::optional<CqUnit> ConsumeQueue::unit_at(uint64_t queue_offset) const {
  MappedFilePtr seg = files_.find(queue_offset * kUnitSize);
  if (!seg) return std::nullopt;
  return decode_unit(seg->data() + queue_offset * kUnitSize - seg->start_offset());
}

uint64_t ConsumeQueue::max_physical_end() const {
  uint64_t max = max_offset();
  if (max == 0 || max <= min_offset()) return 0;
  auto u = unit_at(max - 1);
  return u ? u->physical_offset + u->size : 0;
}

bool ConsumeQueue::torn_at_page_edge(uint64_t queue_offset, const CqUnit& unit) const {
  // Write-back (and a power loss) goes page by page, so a page that failed to reach the disk
  // leaves zeros in the middle of the file while later pages did reach it. A unit that
  // straddles the edge of such a page reads as its bytes from the zeroed side and the real
  // ones from the other: an offset of 0 (or its high half) with a size. Its predecessor lies
  // in the zeroed page too, so it does not end before the unit starts, as a real one would.
  MappedFilePtr seg = files_.find(queue_offset * kUnitSize);
  if (!seg) return false;
  const uint64_t pos = queue_offset * kUnitSize - seg->start_offset();
  const uint64_t edge = (pos / kWriteBackGranule + 1) * kWriteBackGranule;
  if (edge >= pos + kUnitSize) return false;  // within one page
  const uint8_t* bytes = seg->data() + pos;
  if (std::any_of(bytes, bytes + (edge - pos), [](uint8_t b) { return b != 0; })) return false;
  if (queue_offset == 0 || queue_offset <= min_offset()) return true;
  const auto before = unit_at(queue_offset - 1);
  return !(before && before->size != 0 &&
           before->physical_offset + before->size <= unit.physical_offset);
}

Status ConsumeQueue::truncate_by_physical(uint64_t physical_offset) {
  uint64_t end = max_offset();
  const uint64_t min = min_offset();
  while (end > min) {
    auto u = unit_at(end - 1);
    if (u && u->size != 0 && u->physical_offset < physical_offset &&
        !torn_at_page_edge(end - 1, *u)) {
      break;
    }
    --end;
  }
  if (end == max_offset()) return Status::ok();
  COMET_RETURN_IF_ERROR(files_.truncate(end * kUnitSize));
  max_offset_.store(end, std::memory_order_release);
  if (min_offset() > end) min_offset_.store(end, std::memory_order_release);
  return Status::ok();
}

void ConsumeQueue::assert_follows_last_unit(uint64_t queue_offset, const CqUnit& unit,
                                            const MappedFile& seg, uint64_t pos) const {
  if (queue_offset != max_offset() || queue_offset <= min_offset()) return;  // a rewrite, a hole
  // The dispatcher indexes the log in order, so a queue's records lie in the log in queue order.
  // The last unit is usually just before `pos` in the same segment: no lookup.
  const std::optional<CqUnit> last =
      pos >= kUnitSize ? decode_unit(seg.data() + pos - kUnitSize) : unit_at(queue_offset - 1);
  if (!last || last->size == 0) return;
  COMET_ASSERT(last->physical_offset + last->size <= unit.physical_offset,
               fmt::format("consume queue {}-{}: unit {} at log offset {} does not follow unit {} "
                           "at {} (size {})",
                           topic_, queue_id_, queue_offset, unit.physical_offset, queue_offset - 1,
                           last->physical_offset, last->size));
}

Status ConsumeQueue::put(uint64_t queue_offset, const CqUnit& unit) {
  // A unit of size 0 is how readers see a hole: writing one would hide a message.
  COMET_ASSERT(unit.size > 0, fmt::format("consume queue {}-{}: unit {} of size 0 at offset {}",
                                          topic_, queue_id_, queue_offset, unit.physical_offset));
  const uint64_t max = max_offset();
  if (queue_offset < max) {
    auto existing = unit_at(queue_offset);
    if (existing && *existing == unit) return Status::ok();
    if (queue_offset >= min_offset() || (existing && existing->size != 0)) {
      return Status::corruption("consume queue " + topic_ + "-" + std::to_string(queue_id_) +
                                ": unit " + std::to_string(queue_offset) +
                                " already holds a different record");
    }
  }
  const uint64_t byte_pos = queue_offset * kUnitSize;
  if (files_.empty()) {
    // First unit of this queue (or first after all its files were lost): start the segment
    // that holds it, so offsets stay addressable.
    files_.set_base_offset(byte_pos - byte_pos % files_.file_size());
    min_offset_.store(queue_offset, std::memory_order_release);
  }
  MappedFilePtr seg = files_.find(byte_pos);
  while (!seg) {
    auto last = files_.last();
    uint64_t start = last ? last->end_offset() : files_.min_offset();
    if (start > byte_pos) {
      return Status::invalid_argument("queue offset " + std::to_string(queue_offset) +
                                      " is below the consume queue's first segment");
    }
    COMET_ASSIGN_OR_RETURN(auto made, files_.create_next(start));
    if (made->end_offset() > byte_pos) seg = made;
  }
  const uint64_t pos = byte_pos - seg->start_offset();
  assert_follows_last_unit(queue_offset, unit, *seg, pos);
  encode_unit(seg->data() + pos, unit);
  if (seg->write_pos() < pos + kUnitSize) seg->set_write_pos(pos + kUnitSize);
  if (queue_offset + 1 > max) max_offset_.store(queue_offset + 1, std::memory_order_release);
  return Status::ok();
}

std::vector<CqUnit> ConsumeQueue::read(uint64_t from, size_t max) const {
  std::vector<CqUnit> out;
  const uint64_t end = max_offset();
  if (from < min_offset() || from >= end) return out;
  uint64_t n = std::min<uint64_t>(max, end - from);
  out.reserve(n);
  MappedFilePtr seg;
  for (uint64_t q = from; q < from + n; ++q) {
    const uint64_t byte_pos = q * kUnitSize;
    if (!seg || byte_pos >= seg->end_offset()) seg = files_.find(byte_pos);
    if (!seg) break;
    out.push_back(decode_unit(seg->data() + byte_pos - seg->start_offset()));
  }
  return out;
}

std::optional<CqUnit> ConsumeQueue::get(uint64_t queue_offset) const {
  if (queue_offset < min_offset() || queue_offset >= max_offset()) return std::nullopt;
  return unit_at(queue_offset);
}

Status ConsumeQueue::flush() {
  for (const auto& seg : files_.snapshot()) {
    COMET_RETURN_IF_ERROR(seg->flush(seg->write_pos()));
  }
  return Status::ok();
}

uint64_t ConsumeQueue::offset_at_physical(uint64_t physical_offset) const {
  uint64_t q = min_offset();
  const uint64_t max = max_offset();
  // Units are in log order: scanning from the front stops at the first one past the cut.
  for (; q < max; ++q) {
    auto u = unit_at(q);
    if (u && u->size != 0 && u->physical_offset >= physical_offset) break;
  }
  return q;
}

void ConsumeQueue::correct_min_offset(uint64_t min_physical_offset) {
  uint64_t min = min_offset();
  const uint64_t max = max_offset();
  while (min < max) {
    auto u = unit_at(min);
    if (u && u->size != 0 && u->physical_offset >= min_physical_offset) break;
    ++min;
  }
  min_offset_.store(min, std::memory_order_release);
}

void ConsumeQueue::delete_expired(uint64_t min_physical_offset) {
  auto segments = files_.snapshot();
  size_t n = 0;
  // A segment can go when its last unit points below the CommitLog's first byte.
  while (n + 1 < segments.size()) {
    const auto& seg = segments[n];
    CqUnit last = decode_unit(seg->data() + seg->size() - kUnitSize);
    if (last.size != 0 && last.physical_offset >= min_physical_offset) break;
    ++n;
  }
  if (n > 0) {
    files_.delete_first(n);
    uint64_t first = files_.min_offset() / kUnitSize;
    if (min_offset() < first) min_offset_.store(first, std::memory_order_release);
  }
  correct_min_offset(min_physical_offset);
}

}  // namespace comet::commitlog
