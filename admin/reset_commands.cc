// comet-admin resetOffsetByTime: moves a consumer group's offsets of a topic to a time, on every
// master of the topic; the brokers tell the group's online consumers
// (broker/offset_reset_service.h).
#include <charconv>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "admin/cluster_view.h"
#include "admin/handlers.h"
#include "admin/reset_time.h"
#include "admin/table.h"

namespace comet::admin {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Digits at [pos, pos + n) as a number; nullopt when they are not all digits.
std::optional<int> field_at(std::string_view s, size_t pos, size_t n) {
  std::string_view f = s.substr(pos, n);
  if (f.size() != n || !all_digits(f)) return std::nullopt;
  int v = 0;
  std::from_chars(f.data(), f.data() + f.size(), v);
  return v;
}

// yyyy-MM-dd#HH:mm:ss:SSS, local time.
std::optional<int64_t> parse_local_date(std::string_view s) {
  constexpr std::string_view kShape = "yyyy-MM-dd#HH:mm:ss:SSS";
  if (s.size() != kShape.size()) return std::nullopt;
  for (size_t i = 0; i < kShape.size(); ++i) {
    const bool sep = kShape[i] == '-' || kShape[i] == '#' || kShape[i] == ':';
    if (sep && s[i] != kShape[i]) return std::nullopt;
  }
  auto year = field_at(s, 0, 4), month = field_at(s, 5, 2), day = field_at(s, 8, 2);
  auto hour = field_at(s, 11, 2), minute = field_at(s, 14, 2), second = field_at(s, 17, 2);
  auto millis = field_at(s, 20, 3);
  if (!year || !month || !day || !hour || !minute || !second || !millis) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
      *second > 59) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  tm.tm_isdst = -1;  // as the local zone has it on that day
  const std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(t) * 1000 + *millis;
}

}  // namespace

Result<int64_t> parse_reset_time(std::string_view text) {
  if (text == "now") return kResetToNow;
  if (all_digits(text)) {
    int64_t ms = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc() && end == text.data() + text.size()) return ms;
  } else if (auto ms = parse_local_date(text)) {
    return *ms;
  }
  return Status::invalid_argument("time '" + std::string(text) +
                                  "' is not now, milliseconds since the epoch, or "
                                  "yyyy-MM-dd#HH:mm:ss:SSS");
}

// On every master of the topic's route; prints each queue's new offset.
int reset_offset_by_time(Context& c) {
  const std::string group = c.args.get("groupName");
  const std::string topic = c.args.get("topic");
  auto timestamp = parse_reset_time(c.args.get("timestamp"));
  if (!timestamp.is_ok()) return c.usage_error("-s: " + timestamp.status().message());
  const std::string force_arg = c.args.get("force", "true");
  if (force_arg != "true" && force_arg != "false") {
    return c.usage_error("-f takes true or false, not '" + force_arg + "'");
  }
  auto route = c.client.route(topic);
  if (!route.is_ok()) return c.fail(topic_what(topic), route.status());
  struct Row {
    std::string broker_name;
    int32_t queue_id;
    int64_t offset;
  };
  std::vector<Row> rows;
  for (const auto* qd : sorted_queue_datas(*route)) {
    const auto* bd = find_broker(*route, qd->broker_name);
    const std::string addr = bd ? master_addr(*bd) : std::string();
    const std::string where = "group " + group + " " + topic_what(topic) + " on broker " +
                              qd->broker_name + (addr.empty() ? "" : " (" + addr + ")");
    if (addr.empty()) {
      c.report(where, "no master in the route: offsets are reset on the master");
      continue;
    }
    auto r = c.client.reset_offset_by_time(addr, group, topic, *timestamp, force_arg == "true");
    if (!r.is_ok()) {
      c.report(where, r.status());
      continue;
    }
    for (const auto& e : r->offsets) {
      if (e) rows.push_back({qd->broker_name, e->queue_id, e->offset});
    }
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("group", group).field("topic", topic).field("timestamp", *timestamp);
    j.key("queues").begin_array();
    for (const auto& r : rows) {
      j.begin_object()
          .field("brokerName", r.broker_name)
          .field("queueId", r.queue_id)
          .field("offset", r.offset)
          .end_object();
    }
    j.end_array().end_object();
    return c.done();
  }
  Table t({"#brokerName", "#queueId", "#offset"});
  for (const auto& r : rows)
    t.add_row({r.broker_name, std::to_string(r.queue_id), std::to_string(r.offset)});
  t.print(c.out);
  return c.done();
}

}  // namespace comet::admin
