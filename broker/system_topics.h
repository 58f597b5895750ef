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

// Transactions (broker/transaction_service.h; RocketMQ's names). Half messages wait in queue 0 of
// the half topic until their transaction ends; an op record (queue 0 of the op topic, tag "d",
// body the half message's queue offset) marks one ended. The group's offsets carry the service's
// progress to the replicas (queue 0 of each topic: where a rebuild starts reading).
inline constexpr std::string_view kTransHalfTopic = "RMQ_SYS_TRANS_HALF_TOPIC";
inline constexpr std::string_view kTransOpTopic = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
inline constexpr std::string_view kTransGroup = "CID_SYS_RMQ_TRANS";
// Where a half message goes after transactionCheckMax checks went unanswered: an ordinary topic
// (one queue) an operator can read.
inline constexpr std::string_view kTransCheckMaxTimeTopic = "TRANS_CHECK_MAX_TIME_TOPIC";

inline bool is_system_topic(std::string_view topic) {
  return topic == kMetadataTopic || topic == kScheduleTopic || topic == kTimerTopic ||
         topic == kTransHalfTopic || topic == kTransOpTopic;
}

}  // namespace comet::broker
