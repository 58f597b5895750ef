#include "ha/epoch_cache.h"

#include <algorithm>
#include <charconv>

#include "common/assert.h"

namespace comet::ha {
namespace {

// End of entry i: the next entry's start, or the log end.
uint64_t end_of(const std::vector<EpochEntry>& e, size_t i, uint64_t log_end) {
  return i + 1 < e.size() ? std::min(e[i + 1].start_offset, log_end) : log_end;
}

template <typename T>
bool parse_int(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

EpochCache::EpochCache(std::vector<EpochEntry> entries, int64_t max_seen)
    : entries_(std::move(entries)), max_seen_(max_seen) {
  for (const auto& e : entries_)
    observe(e.epoch);
}

Result<EpochCache> EpochCache::parse(std::string_view text) {
  auto bad = [&] { return Status::corruption("bad epoch list '" + std::string(text) + "'"); };
  const size_t semi = text.find(';');
  if (semi == std::string_view::npos) return bad();
  int64_t max_seen = 0;
  if (!parse_int(text.substr(semi + 1), max_seen)) return bad();
  std::vector<EpochEntry> entries;
  std::string_view list = text.substr(0, semi);
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    const size_t colon = item.find(':');
    EpochEntry e;
    if (colon == std::string_view::npos || !parse_int(item.substr(0, colon), e.epoch) ||
        !parse_int(item.substr(colon + 1), e.start_offset)) {
      return bad();
    }
    if (!entries.empty() &&
        (e.epoch <= entries.back().epoch || e.start_offset < entries.back().start_offset)) {
      return bad();
    }
    entries.push_back(e);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return EpochCache(std::move(entries), max_seen);
}

std::string EpochCache::serialize() const {
  std::string out;
  for (const auto& e : entries_) {
    if (!out.empty()) out += ',';
    out += std::to_string(e.epoch) + ":" + std::to_string(e.start_offset);
  }
  return out + ";" + std::to_string(max_seen_);
}

Status EpochCache::start_epoch(int64_t epoch, uint64_t start_offset) {
  if (epoch <= max_seen_) {
    return Status::invalid_argument("epoch " + std::to_string(epoch) +
                                    " is not above the highest epoch seen, " +
                                    std::to_string(max_seen_));
  }
  while (!entries_.empty() && entries_.back().start_offset > start_offset)
    entries_.pop_back();
  // An epoch that wrote nothing is replaced by the one starting at the same offset.
  if (!entries_.empty() && entries_.back().start_offset == start_offset) entries_.pop_back();
  entries_.push_back({epoch, start_offset});
  max_seen_ = epoch;
  return Status::ok();
}

void EpochCache::adopt(const std::vector<EpochEntry>& master) {
  // SlaveStream refuses a master whose history is out of order: one here would mislabel the log.
  COMET_ASSERT(is_ordered(master), "adopting an epoch history out of order");
  entries_ = master;
  for (const auto& e : entries_)
    observe(e.epoch);
}

bool EpochCache::is_ordered(const std::vector<EpochEntry>& entries) {
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].epoch <= entries[i - 1].epoch) return false;
    if (entries[i].start_offset < entries[i - 1].start_offset) return false;
  }
  return true;
}

uint64_t EpochCache::consistent_offset(const std::vector<EpochEntry>& a, uint64_t a_end,
                                       const std::vector<EpochEntry>& b, uint64_t b_end) {
  // Both logs implicitly start with epoch 0 at offset 0.
  std::vector<EpochEntry> ea{{0, 0}}, eb{{0, 0}};
  ea.insert(ea.end(), a.begin(), a.end());
  eb.insert(eb.end(), b.begin(), b.end());
  for (size_t i = ea.size(); i-- > 0;) {
    for (size_t j = eb.size(); j-- > 0;) {
      if (eb[j].epoch != ea[i].epoch) continue;
      if (eb[j].start_offset != ea[i].start_offset) break;  // same number, other history
      return std::min({end_of(ea, i, a_end), end_of(eb, j, b_end), a_end, b_end});
    }
  }
  return 0;
}

}  // namespace comet::ha
