#include "consumer/retry_message.h"

#include <algorithm>
#include <limits>
#include <string>

#include "common/group_topics.h"
#include "common/record_codec.h"

namespace comet::client {

namespace {

// The delay level RocketMQ gives a message the consumer retries itself: 10 s for the first retry
// with the default levels, then one level longer each time (the broker clamps past the last).
constexpr uint32_t kFirstRetryDelayLevel = 3;

}  // namespace

ProducerMessage make_retry_message(const MessageExt& msg, std::string_view group,
                                   uint32_t reconsume_time, int max_reconsume_times) {
  ProducerMessage out;
  out.topic = retry_topic(group);
  out.body = msg.body;
  out.flags = msg.flags;
  out.properties = msg.properties;
  auto& props = out.properties;
  const auto origin = props.find(std::string(kPropertyOriginMessageId));
  if (origin == props.end() || origin->second.empty()) {
    props[std::string(kPropertyOriginMessageId)] = msg.msg_id;
  }
  props[std::string(kPropertyRetryTopic)] = msg.topic;
  props[std::string(kPropertyReconsumeTime)] = std::to_string(reconsume_time);
  if (max_reconsume_times >= 0) {
    props[std::string(kPropertyMaxReconsumeTimes)] = std::to_string(max_reconsume_times);
  } else {
    props.erase(std::string(kPropertyMaxReconsumeTimes));
  }
  // delay_level replaces any DELAY property the message still carries.
  out.delay_level = static_cast<int32_t>(std::min<uint64_t>(
      uint64_t{kFirstRetryDelayLevel} + msg.reconsume_times, std::numeric_limits<int32_t>::max()));
  return out;
}

void show_under_original_topic(MessageExt& msg, std::string_view group) {
  if (msg.topic != retry_topic(group)) return;
  const auto it = msg.properties.find(std::string(kPropertyRetryTopic));
  if (it != msg.properties.end() && !it->second.empty()) msg.topic = it->second;
}

}  // namespace comet::client
