// Topics the broker writes for itself. Clients may not create them or send to them: what a
// replica reads from them it applies (broker/metadata_log.h), so only the broker may write them.
#pragma once

#include <string_view>

namespace comet::broker {

// Consumer offsets and topic configs on their way to the replicas (broker/metadata_record.h).
inline constexpr std::string_view kMetadataTopic = "COMET_SYS_METADATA";

// Delayed messages, queue n-1 for level n, until due (broker/schedule_message_service.h).
inline constexpr std::string_view kScheduleTopic = "SCHEDULE_TOPIC_XXXX";
// The consumer group under which each level's delivery progress is kept: as a consumer offset,
// it reaches the replicas with the metadata log.
inline constexpr std::string_view kScheduleGroup = "%SCHEDULE%";

// Timer messages, queue 0, until due (broker/timer_message_service.h; RocketMQ 5's name).
inline constexpr std::string_view kTimerTopic = "rmq_sys_wheel_timer";
// The group under which timer delivery progress is kept (queue 0: the timer queue offset the
// master has handled; queue 1: the delivered watermark in ms), carried by the metadata log.
inline constexpr std::string_view kTimerGroup = "%TIMER%";

inline bool is_system_topic(std::string_view topic) {
  return topic == kMetadataTopic || topic == kScheduleTopic || topic == kTimerTopic;
}

}  // namespace comet::broker
