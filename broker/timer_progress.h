// The rules of replicated timer progress (docs/architecture.md 5.7), without I/O: where a new
// master resumes, and what the master does with a timer it reads from the timer queue. The
// master's TimerMessageService applies them; tests/unit/timer_test.cc checks them against a
// failover played out on wheels and logs in memory.
//
// W (delivered below, ms) and Q (handled below, a timer queue offset) are what the master
// commits as consumer offsets of %TIMER%, after the appends they cover.
#pragma once

#include <cstdint>
#include <optional>

namespace comet::broker {

struct TimerResume {
  int64_t scanned_ms = 0;      // the wheel is scanned from here (W)
  uint64_t handled_below = 0;  // queue offsets below were handled by an earlier master (Q)
  // Catch-up: the queue offsets [from, to) are read again and those due before `scanned_ms`
  // delivered (the old master may have read them after scanning past their due time).
  uint64_t catch_up_from = 0;
  uint64_t catch_up_to = 0;
};

// A new master's start from the replicated W and Q (absent: now, and the queue's start),
// `queue_min` the timer queue's first offset and `cursor` the offset its schedule inserted to.
TimerResume resume_from(std::optional<uint64_t> w, std::optional<uint64_t> q, int64_t now_ms,
                        uint64_t queue_min, uint64_t cursor);

enum class TimerArrival {
  kHandled,    // below Q: an earlier master handled it (inserted only)
  kDueNow,     // due before the scanned time: the scan has passed it, deliver it at once
  kScheduled,  // the wheel scan delivers it
};
TimerArrival classify_arrival(uint64_t queue_offset, int64_t due_ms, uint64_t handled_below,
                              int64_t scanned_ms);

}  // namespace comet::broker
