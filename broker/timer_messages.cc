#include "broker/timer_messages.h"

#include <limits>
#include <optional>

#include "broker/delay_levels.h"
#include "broker/scheduled_record.h"
#include "broker/system_topics.h"
#include "common/whole_number.h"

namespace comet::broker {
namespace {

std::optional<int64_t> parse_non_negative(std::string_view text) {
  const auto v = parse_whole_number<int64_t>(text);
  if (!v || *v < 0) return std::nullopt;
  return v;
}

Status bad_value(std::string_view key, std::string_view value) {
  std::string why(key);
  why.append(" '").append(value).append("' is not a non-negative integer");
  return Status::invalid_argument(why);
}

// `now_ms` + `delay` * `unit_ms`, or nullopt on overflow.
std::optional<int64_t> add_delay(int64_t now_ms, int64_t delay, int64_t unit_ms) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (delay > (kMax - now_ms) / unit_ms) return std::nullopt;
  return now_ms + delay * unit_ms;
}

std::string without_timer_properties(std::string_view properties) {
  return without_properties(
      properties, {kPropertyTimerDelaySec, kPropertyTimerDelayMs, kPropertyTimerDeliverMs});
}

}  // namespace

bool has_timer_properties(std::string_view properties) {
  return !find_property(properties, kPropertyTimerDelaySec).empty() ||
         !find_property(properties, kPropertyTimerDelayMs).empty() ||
         !find_property(properties, kPropertyTimerDeliverMs).empty();
}

Result<int64_t> timer_due_ms(std::string_view properties, int64_t now_ms) {
  struct Rule {
    std::string_view key;
    int64_t unit_ms;
    bool relative;
  };
  for (const Rule& r :
       {Rule{kPropertyTimerDelaySec, 1000, true}, Rule{kPropertyTimerDelayMs, 1, true},
        Rule{kPropertyTimerDeliverMs, 1, false}}) {
    const std::string_view text = find_property(properties, r.key);
    if (text.empty()) continue;
    const auto v = parse_non_negative(text);
    if (!v) return bad_value(r.key, text);
    if (!r.relative) return *v;
    const auto due = add_delay(now_ms, *v, r.unit_ms);
    if (!due) return bad_value(r.key, text);
    return *due;
  }
  return Status::invalid_argument("no timer property");
}

Result<TimerSend> to_timer_topic(Message& m, int64_t now_ms, int64_t max_delay_sec,
                                 size_t delay_levels, std::string& storage) {
  if (!has_timer_properties(m.properties)) return TimerSend::kNotTimer;
  if (delay_level_of(find_property(m.properties, kPropertyDelayLevel), delay_levels) != 0) {
    storage = without_timer_properties(m.properties);  // the DELAY level wins, as in RocketMQ
    m.properties = storage;
    return TimerSend::kNotTimer;
  }
  COMET_ASSIGN_OR_RETURN(const int64_t due, timer_due_ms(m.properties, now_ms));
  if (due <= now_ms) return TimerSend::kDueNow;
  if (due - now_ms > max_delay_sec * 1000) {
    return Status::invalid_argument(
        "timer message due in " + std::to_string((due - now_ms + 999) / 1000) +
        " s is beyond timerMaxDelaySec (" + std::to_string(max_delay_sec) + " s)");
  }
  storage = with_property(m.properties, kPropertyTimerOutMs, std::to_string(due));
  storage = with_property(storage, kPropertyRealTopic, m.topic);
  storage = with_property(storage, kPropertyRealQueueId, std::to_string(m.queue_id));
  m.properties = storage;
  m.topic = kTimerTopic;
  m.queue_id = 0;
  return TimerSend::kScheduled;
}

Result<Message> real_timer_message(const RecordView& r, std::string& properties) {
  return real_message_of(r, "timer",
                         {kPropertyTimerOutMs, kPropertyTimerDelaySec, kPropertyTimerDelayMs,
                          kPropertyTimerDeliverMs, kPropertyRealTopic, kPropertyRealQueueId},
                         properties);
}

std::optional<int64_t> timer_out_ms(std::string_view properties) {
  return parse_non_negative(find_property(properties, kPropertyTimerOutMs));
}

}  // namespace comet::broker
