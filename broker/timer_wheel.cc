#include "broker/timer_wheel.h"

#include <algorithm>

namespace comet::broker {

uint64_t timer_wheel_slots(int64_t max_delay_ms, int64_t precision_ms) {
  constexpr uint64_t kMaxSlots = uint64_t{1} << 22;  // 32 MiB of heads at most
  const uint64_t span = static_cast<uint64_t>(max_delay_ms / precision_ms) + 2;
  return std::clamp<uint64_t>(span, 64, kMaxSlots);
}

TimerWheel::TimerWheel(int64_t precision_ms, uint64_t slots)
    : precision_ms_(precision_ms), heads_(slots, -1), bits_((slots + 63) / 64, 0) {}

Result<int64_t> TimerWheel::insert(TimerEntrySource& log, uint64_t commitlog_offset, uint32_t size,
                                   int64_t due_ms) {
  const uint64_t slot = slot_of_tick(tick_of(due_ms));
  COMET_ASSIGN_OR_RETURN(const int64_t pos,
                         log.append({commitlog_offset, size, due_ms, heads_[slot]}));
  heads_[slot] = pos;
  mark(slot);
  return pos;
}

void TimerWheel::restore(int64_t pos, const TimerEntry& e) {
  const uint64_t slot = slot_of_tick(tick_of(e.due_ms));
  heads_[slot] = pos;
  mark(slot);
}

std::optional<int64_t> TimerWheel::next_occupied_tick(int64_t from, int64_t to) const {
  if (from > to) return std::nullopt;
  // Past one turn every slot has been seen: look at most one turn ahead.
  const int64_t span = std::min<int64_t>(to - from + 1, static_cast<int64_t>(slots()));
  int64_t tick = from;
  for (int64_t left = span; left > 0;) {
    const uint64_t slot = slot_of_tick(tick);
    const uint64_t word = bits_[slot / 64] >> (slot % 64);
    const int64_t in_word = std::min<int64_t>(
        {left, static_cast<int64_t>(64 - slot % 64), static_cast<int64_t>(slots() - slot)});
    if (word != 0) {
      const int64_t skip = __builtin_ctzll(word);
      if (skip < in_word) return tick + skip;
    }
    tick += in_word;
    left -= in_word;
  }
  return std::nullopt;
}

Result<TickScan> TimerWheel::scan(const TimerEntrySource& log, int64_t tick, int64_t from_ms,
                                  int64_t now_ms) const {
  TickScan out;
  // Every live entry at most once: the chain only points back.
  const auto bound = static_cast<size_t>((log.end() - log.begin()) / kTimerEntrySize) + 1;
  for (int64_t pos = heads_[slot_of_tick(tick)]; pos >= log.begin() && out.walked < bound;) {
    COMET_ASSIGN_OR_RETURN(const TimerEntry e, log.read(pos));
    ++out.walked;
    const int64_t t = tick_of(e.due_ms);
    if (t > tick) {
      out.later_rounds.push_back({e.commitlog_offset, e.size, e.due_ms, -1});
    } else if (t == tick && e.due_ms >= from_ms) {
      if (e.due_ms <= now_ms) {
        out.due.push_back({e.due_ms, pos, e.commitlog_offset, e.size});
      } else if (!out.earliest_pending || e.due_ms < *out.earliest_pending) {
        out.earliest_pending = e.due_ms;
      }
    }
    pos = e.prev;
  }
  std::sort(out.due.begin(), out.due.end(), [](const DueTimer& a, const DueTimer& b) {
    return a.due_ms != b.due_ms ? a.due_ms < b.due_ms : a.pos < b.pos;
  });
  // The chain is newest first; re-linking oldest first keeps the log's order.
  std::reverse(out.later_rounds.begin(), out.later_rounds.end());
  return out;
}

Status TimerWheel::finish(TimerEntrySource& log, int64_t tick,
                          const std::vector<TimerEntry>& later_rounds) {
  const uint64_t slot = slot_of_tick(tick);
  const int64_t old_head = heads_[slot];
  heads_[slot] = -1;
  clear(slot);
  for (const TimerEntry& e : later_rounds) {
    if (Status s = insert(log, e.commitlog_offset, e.size, e.due_ms).status(); !s.is_ok()) {
      heads_[slot] = old_head;  // the old chain still reaches every entry: scan it again later
      mark(slot);
      return s;
    }
  }
  return Status::ok();
}

Result<Gathered> TimerWheel::gather(TimerEntrySource& log, int64_t scanned_ms, int64_t now_ms,
                                    size_t max_timers) {
  Gathered g;
  g.scanned_ms = scanned_ms;
  const int64_t now_tick = tick_of(now_ms);
  for (int64_t tick = tick_of(scanned_ms); tick <= now_tick;) {
    const auto t = next_occupied_tick(tick, now_tick);
    if (!t) {
      g.scanned_ms = now_ms + 1;
      break;
    }
    COMET_ASSIGN_OR_RETURN(TickScan scan, this->scan(log, *t, g.scanned_ms, now_ms));
    g.due.insert(g.due.end(), scan.due.begin(), scan.due.end());
    if (scan.earliest_pending) {  // only the current tick has timers due after now
      g.earliest_pending = scan.earliest_pending;
      g.scanned_ms = now_ms + 1;
      break;
    }
    COMET_RETURN_IF_ERROR(finish(log, *t, scan.later_rounds));
    tick = *t + 1;
    g.scanned_ms = std::min(std::max(g.scanned_ms, tick * precision_ms_), now_ms + 1);
    if (g.due.size() >= max_timers) {
      g.more = tick <= now_tick;
      break;
    }
  }
  return g;
}

std::optional<int64_t> TimerWheel::next_wake_ms(const Gathered& g, int64_t now_ms,
                                                int64_t min_wait_ms) const {
  if (g.earliest_pending) return std::max(*g.earliest_pending, now_ms + min_wait_ms);
  const int64_t now_tick = tick_of(now_ms);
  auto next = next_occupied_tick(now_tick + 1, now_tick + static_cast<int64_t>(slots()));
  if (!next) return std::nullopt;
  return *next * precision_ms_;
}

}  // namespace comet::broker
