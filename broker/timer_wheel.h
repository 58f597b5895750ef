// The timing wheel over the timer log (broker/timer_log.h): pure logic, no I/O of its own.
//
// Time is cut into ticks of timerPrecisionMs; tick t lands in slot t mod `slots`. Per slot the
// wheel keeps only the position of the newest log entry (the head; the older ones are found
// through each entry's `prev`) and one occupancy bit, so its memory is fixed by the slot count.
// A slot may hold entries of several rounds (ticks t, t + slots, ...): scanning tick t delivers
// only the entries of tick t, and entries of a later round are re-linked (appended again to the
// log as a fresh chain) so the slot's chain no longer reaches the delivered ones. Correctness
// does not depend on the span: a far timer is a later round until its tick comes.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "broker/timer_log.h"

namespace comet::broker {

// One timer found due by a scan, with where its message is.
struct DueTimer {
  int64_t due_ms = 0;
  int64_t pos = 0;
  uint64_t commitlog_offset = 0;
  uint32_t size = 0;
  bool operator==(const DueTimer&) const = default;
};

// What a scan of one tick found, walking its slot's chain.
struct TickScan {
  std::vector<DueTimer> due;                // due within [from, now], by (due, position)
  std::optional<int64_t> earliest_pending;  // the earliest due of this tick still after `now`
  std::vector<TimerEntry> later_rounds;     // entries of a later tick of the same slot
  size_t walked = 0;                        // entries read
};

// What gather() found: the timers due from the scanned time up to now, in delivery order.
struct Gathered {
  std::vector<DueTimer> due;
  int64_t scanned_ms = 0;                   // every timer due before this is in `due` or earlier
  std::optional<int64_t> earliest_pending;  // the earliest due of the current tick after now
  bool more = false;                        // stopped at the limit: gather again
};

class TimerWheel {
 public:
  TimerWheel(int64_t precision_ms, uint64_t slots);

  int64_t precision_ms() const { return precision_ms_; }
  uint64_t slots() const { return heads_.size(); }
  int64_t tick_of(int64_t due_ms) const { return due_ms / precision_ms_; }
  uint64_t slot_of_tick(int64_t tick) const { return static_cast<uint64_t>(tick) % slots(); }

  // Appends an entry for a timer to `log`, linked to its slot's chain; its position.
  Result<int64_t> insert(TimerEntrySource& log, uint64_t commitlog_offset, uint32_t size,
                         int64_t due_ms);
  // Rebuild at start: an entry read from the log in position order becomes its slot's head.
  void restore(int64_t pos, const TimerEntry& e);

  // The first tick in [from, to] whose slot is occupied; nullopt when none.
  std::optional<int64_t> next_occupied_tick(int64_t from, int64_t to) const;

  // Walks the chain of `tick`'s slot. Entries of the tick due in [from_ms, now_ms] are due;
  // those of the tick due after `now_ms` pending; those of an earlier tick (or before `from_ms`)
  // were delivered and are skipped. A chain that reaches a deleted segment ends there; an
  // unreadable entry ends it with an error.
  Result<TickScan> scan(const TimerEntrySource& log, int64_t tick, int64_t from_ms,
                        int64_t now_ms) const;
  // `tick` is delivered: its slot keeps only `later_rounds` (re-linked), or is emptied.
  Status finish(TimerEntrySource& log, int64_t tick, const std::vector<TimerEntry>& later_rounds);

  // Scans the ticks from `scanned_ms` (timers due before it were gathered already) up to
  // `now_ms` (>= scanned_ms), finishing every tick it passes whole, and gathers the due timers,
  // about `max_timers` of them (whole ticks). The master delivers them, then commits the new
  // scanned time as its watermark W.
  Result<Gathered> gather(TimerEntrySource& log, int64_t scanned_ms, int64_t now_ms,
                          size_t max_timers);
  // When to scan next after a gather at `now_ms`: the earliest pending due of the current tick
  // (not before `now_ms` + `min_wait_ms`), else the start of the next occupied tick; nullopt
  // when the wheel is empty (an arrival wakes the master).
  std::optional<int64_t> next_wake_ms(const Gathered& g, int64_t now_ms, int64_t min_wait_ms) const;

  int64_t head(uint64_t slot) const { return heads_[slot]; }
  bool occupied(uint64_t slot) const { return (bits_[slot / 64] >> (slot % 64)) & 1u; }

 private:
  void mark(uint64_t slot) { bits_[slot / 64] |= uint64_t{1} << (slot % 64); }
  void clear(uint64_t slot) { bits_[slot / 64] &= ~(uint64_t{1} << (slot % 64)); }

  int64_t precision_ms_;
  std::vector<int64_t> heads_;  // -1: empty
  std::vector<uint64_t> bits_;  // occupancy, one bit per slot
};

// Slots for a wheel that spans `max_delay_ms` at `precision_ms` (plus a margin), capped so the
// wheel stays small whatever the keys say (a longer delay is then a later round).
uint64_t timer_wheel_slots(int64_t max_delay_ms, int64_t precision_ms);

}  // namespace comet::broker
