// The topics a consumer group owns (RocketMQ's MixAll.getRetryTopic / getDLQTopic): its retry
// topic, which every clustering member of the group also consumes, and its dead-letter queue.
// Both are created on demand by the broker that first writes to them.
#pragma once

#include <string>
#include <string_view>

namespace comet {

inline constexpr std::string_view kRetryTopicPrefix = "%RETRY%";
inline constexpr std::string_view kDlqTopicPrefix = "%DLQ%";

inline std::string retry_topic(std::string_view group) {
  return std::string(kRetryTopicPrefix).append(group);
}
inline std::string dlq_topic(std::string_view group) {
  return std::string(kDlqTopicPrefix).append(group);
}
inline bool is_retry_topic(std::string_view topic) {
  return topic.starts_with(kRetryTopicPrefix);
}
inline bool is_dlq_topic(std::string_view topic) {
  return topic.starts_with(kDlqTopicPrefix);
}

}  // namespace comet
