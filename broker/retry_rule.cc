#include "broker/retry_rule.h"

#include "common/group_topics.h"
#include "common/whole_number.h"

namespace comet::broker {
namespace {

// RocketMQ: the first retry waits level 3 (10s by default), each later one a level more.
constexpr uint32_t kFirstRetryLevel = 3;

}  // namespace

std::optional<int32_t> int_property(std::string_view properties, std::string_view key) {
  return parse_whole_number<int32_t>(find_property(properties, key));
}

SendBack decide_send_back(const RecordView& original, const SendBackRequest& request) {
  SendBack out;
  const uint32_t times = original.reconsume_times;
  out.reconsume_times = times + 1;
  out.dead_letter = request.delay_level < 0 || request.max_reconsume_times < 0 ||
                    times >= static_cast<uint32_t>(request.max_reconsume_times);
  std::string props(original.properties);
  if (find_property(props, kPropertyRetryTopic).empty()) {
    props = with_property(props, kPropertyRetryTopic, original.topic);
  }
  if (find_property(props, kPropertyOriginMessageId).empty()) {
    const std::string_view id =
        request.origin_msg_id.empty() ? request.offset_msg_id : request.origin_msg_id;
    props = with_property(props, kPropertyOriginMessageId, id);
  }
  if (out.dead_letter) {
    out.topic = dlq_topic(request.group);
    out.properties = dead_letter_properties(props);
    return out;
  }
  out.topic = retry_topic(request.group);
  out.delay_level = request.delay_level > 0 ? static_cast<uint32_t>(request.delay_level)
                                            : kFirstRetryLevel + times;
  out.properties = with_property(props, kPropertyDelayLevel, std::to_string(out.delay_level));
  return out;
}

bool retry_send_goes_to_dlq(std::string_view properties, uint32_t record_reconsume_times,
                            int32_t group_retry_max_times) {
  const int64_t times =
      int_property(properties, kPropertyReconsumeTime).value_or(record_reconsume_times);
  // A negative MAX_RECONSUME_TIMES means "the group's", as -1 does in a send-back.
  const std::optional<int32_t> asked = int_property(properties, kPropertyMaxReconsumeTimes);
  const int32_t max = asked && *asked >= 0 ? *asked : group_retry_max_times;
  return times >= max;
}

std::string dead_letter_properties(std::string_view properties) {
  return without_properties(properties, {kPropertyDelayLevel});
}

}  // namespace comet::broker
