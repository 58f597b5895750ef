#include "broker/transaction_table.h"

#include <algorithm>

namespace comet::broker {
namespace {

constexpr uint32_t kMaxCheckTimes = (1u << 30) - 1;  // the entry's field; checks stop at 15

}  // namespace

TransactionTable::TransactionTable(TransactionTiming timing, uint64_t low_water)
    : timing_(timing), floor_(low_water), half_end_(low_water) {}

int64_t TransactionTable::first_due_ms(const HalfRecordInfo& h) const {
  // RocketMQ: the immunity time replaces transactionTimeOut for the first check. Counted from
  // the store time (the broker's clock), not the born time as RocketMQ does: a producer whose
  // clock is behind would be checked at once.
  return h.stored_ms + (h.immunity_ms ? *h.immunity_ms : timing_.timeout_ms);
}

void TransactionTable::on_half(const HalfRecordInfo& h) {
  half_end_ = std::max(half_end_, h.queue_offset + 1);
  if (h.origin < floor_) return;  // settled before H was committed
  const auto it = open_.find(h.origin);
  if (h.origin == h.queue_offset) {
    if (it != open_.end()) return;  // the same record fed twice: nothing new
    Entry e{};
    e.physical_offset = h.physical_offset;
    e.born_ms = h.born_ms;
    e.due_ms = first_due_ms(h);
    e.group = intern(h.producer_group);
    e.check_times = std::min<uint32_t>(h.check_times, kMaxCheckTimes);
    e.in_flight = 0;
    open_.emplace(h.origin, e);
    return;
  }
  if (it == open_.end()) return;  // a copy of a settled transaction
  Entry& e = it->second;
  e.physical_offset = h.physical_offset;
  e.check_times =
      std::max<uint32_t>(e.check_times, std::min<uint32_t>(h.check_times, kMaxCheckTimes));
  e.due_ms = h.stored_ms + timing_.check_interval_ms;
  // The check it was marked for is in the log now (an END's mark stays until its op).
  if (e.in_flight == static_cast<uint32_t>(InFlight::kCheck)) e.in_flight = 0;
}

void TransactionTable::on_op(uint64_t origin) {
  open_.erase(origin);
}

DueScan TransactionTable::due(int64_t now_ms, size_t limit, uint64_t from_origin) const {
  DueScan scan;
  if (limit == 0) return scan;
  // From `from_origin` to the end, then from the start up to it: one pass over the table.
  const auto split = open_.lower_bound(from_origin);
  auto take = [&](auto it, auto end) {
    for (; it != end; ++it) {
      const auto& [origin, e] = *it;
      if (e.in_flight) continue;
      if (e.due_ms <= now_ms) {
        scan.due.push_back(view(origin, e));
        if (scan.due.size() >= limit) return false;
      } else if (!scan.next_due_ms || e.due_ms < *scan.next_due_ms) {
        scan.next_due_ms = e.due_ms;
      }
    }
    return true;
  };
  if (!take(split, open_.end()) || !take(open_.begin(), split)) scan.next_due_ms.reset();
  return scan;
}

std::optional<OpenEntry> TransactionTable::find(uint64_t origin) const {
  const auto it = open_.find(origin);
  if (it == open_.end()) return std::nullopt;
  return view(origin, it->second);
}

uint64_t TransactionTable::low_water() const {
  return open_.empty() ? half_end_ : open_.begin()->first;
}

std::vector<OpenEntry> TransactionTable::list(std::string_view group, size_t limit,
                                              uint64_t& total) const {
  std::vector<OpenEntry> out;
  total = 0;
  std::optional<uint32_t> id;
  if (!group.empty()) {
    const auto g = group_ids_.find(std::string(group));
    if (g == group_ids_.end()) return out;
    id = g->second;
  }
  for (const auto& [origin, e] : open_) {
    if (id && e.group != *id) continue;
    ++total;
    if (out.size() < limit) out.push_back(view(origin, e));
  }
  return out;
}

bool TransactionTable::mark_in_flight(uint64_t origin, InFlight kind) {
  const auto it = open_.find(origin);
  if (it == open_.end() || it->second.in_flight >= static_cast<uint32_t>(kind)) return false;
  it->second.in_flight = static_cast<uint32_t>(kind);
  return true;
}

void TransactionTable::clear_in_flight(uint64_t origin, InFlight kind) {
  const auto it = open_.find(origin);
  if (it != open_.end() && it->second.in_flight == static_cast<uint32_t>(kind)) {
    it->second.in_flight = 0;
  }
}

InFlight TransactionTable::in_flight(uint64_t origin) const {
  const auto it = open_.find(origin);
  return it == open_.end() ? InFlight::kNone : static_cast<InFlight>(it->second.in_flight);
}

uint32_t TransactionTable::intern(std::string_view group) {
  const auto [it, added] =
      group_ids_.try_emplace(std::string(group), static_cast<uint32_t>(groups_.size()));
  if (added) groups_.emplace_back(group);
  return it->second;
}

OpenEntry TransactionTable::view(uint64_t origin, const Entry& e) const {
  return OpenEntry{origin, e.physical_offset, e.born_ms, e.due_ms, e.check_times, groups_[e.group]};
}

}  // namespace comet::broker
