// Timer messages (RocketMQ 5): what the send path and the delivery do to a message, without I/O.
//
// A message carrying TIMER_DELAY_SEC, TIMER_DELAY_MS (both relative to the send) or
// TIMER_DELIVER_MS (absolute ms since the epoch) is due at that time. When due later than now it
// is stored in queue 0 of rmq_sys_wheel_timer with TIMER_OUT_MS = its due time and its real topic
// and queue in REAL_TOPIC / REAL_QID (to_timer_topic); when due now or in the past it is stored
// in its topic at once, as RocketMQ does. A message that also names a DELAY level is a delayed
// message: its timer properties are dropped (RocketMQ's HookUtils.checkIfTimerMessage).
// TimerMessageService (broker/timer_message_service.h) turns it back with real_timer_message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/record_codec.h"
#include "common/status.h"

namespace comet::broker {

// True when `properties` carry any of the timer properties a producer sets.
bool has_timer_properties(std::string_view properties);

// The due time (ms since the epoch) the timer properties of `properties` name, sent at `now_ms`;
// kInvalidArgument, naming the property, for a value that is not a non-negative integer (or
// overflows). TIMER_DELAY_SEC wins over TIMER_DELAY_MS, which wins over TIMER_DELIVER_MS (the
// order RocketMQ reads them in).
Result<int64_t> timer_due_ms(std::string_view properties, int64_t now_ms);

enum class TimerSend {
  kNotTimer,   // no timer properties (or a DELAY level, which wins): the message was not changed
  kDueNow,     // due now or in the past: stored in its topic as it is
  kScheduled,  // rewritten for the timer topic
};

// Rewrites `m` for the timer topic when it is a timer message due after `now_ms`. Its new
// properties are written to `storage`, which must outlive the append. kInvalidArgument for a bad
// value or a due time beyond now + `max_delay_sec` (the remark names timerMaxDelaySec).
// `delay_levels` is the number of DELAY levels (a message with a level is not a timer message).
Result<TimerSend> to_timer_topic(Message& m, int64_t now_ms, int64_t max_delay_sec,
                                 size_t delay_levels, std::string& storage);

// The message a timer record stands for, in its real topic and queue, without the TIMER_* and
// REAL_* properties (written to `properties`, which must outlive the message); kCorruption for a
// record without a legal REAL_TOPIC and REAL_QID.
Result<Message> real_timer_message(const RecordView& r, std::string& properties);

// TIMER_OUT_MS of a stored timer record; nullopt when absent or not a number.
std::optional<int64_t> timer_out_ms(std::string_view properties);

}  // namespace comet::broker
