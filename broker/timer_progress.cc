#include "broker/timer_progress.h"

#include <algorithm>

namespace comet::broker {

TimerResume resume_from(std::optional<uint64_t> w, std::optional<uint64_t> q, int64_t now_ms,
                        uint64_t queue_min, uint64_t cursor) {
  TimerResume r;
  r.scanned_ms = w ? static_cast<int64_t>(*w) : now_ms;
  r.handled_below = q ? *q : queue_min;
  r.catch_up_from = std::max(r.handled_below, queue_min);
  // Below the cursor only: what the schedule inserts later is classified as it arrives.
  r.catch_up_to = std::max(r.catch_up_from, cursor);
  return r;
}

TimerArrival classify_arrival(uint64_t queue_offset, int64_t due_ms, uint64_t handled_below,
                              int64_t scanned_ms) {
  if (queue_offset < handled_below) return TimerArrival::kHandled;
  return due_ms < scanned_ms ? TimerArrival::kDueNow : TimerArrival::kScheduled;
}

}  // namespace comet::broker
