// The rules of consumer retries (RocketMQ's SendMessageProcessor.consumerSendMsgBack and
// handleRetryAndDLQ), as pure functions of a stored message and a request: where a message a
// consumer failed goes next, and what the copy written there carries. The processors only read
// the message, create the topic and append what these return.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/record_codec.h"

namespace comet::broker {

// RocketMQ's SubscriptionGroupConfig.retryMaxTimes default: a message consumed this often
// without success goes to the group's dead-letter queue.
inline constexpr int32_t kDefaultRetryMaxTimes = 16;
// Each group's %DLQ% topic has one queue (RocketMQ's DLQ_NUMS_PER_GROUP); a retry topic a
// broker creates has one too.
inline constexpr uint32_t kDlqQueueNums = 1;
inline constexpr uint32_t kRetryQueueNums = 1;

// What CONSUMER_SEND_MSG_BACK asks, with the group's limit already resolved.
struct SendBackRequest {
  std::string_view group;
  int32_t delay_level = 0;          // 0: 3 + reconsume times; < 0: straight to the DLQ
  int32_t max_reconsume_times = 0;  // the request's when >= 0, else the group's retryMaxTimes
  std::string_view origin_msg_id;   // the id the consumer saw (may be empty)
  std::string_view offset_msg_id;   // the stored message's own id (store host + offset)
};

// The copy of a failed message to write, and where.
struct SendBack {
  bool dead_letter = false;      // %DLQ%<group>; else %RETRY%<group>, delayed
  std::string topic;             // %RETRY%<group> or %DLQ%<group>
  uint32_t delay_level = 0;      // the DELAY level a retry waits (0 for the DLQ)
  uint32_t reconsume_times = 0;  // the copy's reconsume_times field: the original's + 1
  std::string properties;        // every property of the original, and the retry ones
};

// The original message's reconsume times is its record field. It goes to the DLQ when that has
// reached the limit or the request asks (delay_level < 0); else to the retry topic with DELAY =
// the request's level, or 3 + its reconsume times. RETRY_TOPIC (the topic first consumed from)
// and ORIGIN_MESSAGE_ID (its id there) are set at the first retry and kept after; DELAY is set
// for a retry and dropped for the DLQ.
SendBack decide_send_back(const RecordView& original, const SendBackRequest& request);

// A send to %RETRY%<group> (a consumer whose send-back failed, or an orderly consumer):
// whether it goes to %DLQ%<group> instead. Its reconsume times is RECONSUME_TIME when that is a
// number, else the record's field; its limit MAX_RECONSUME_TIMES when that is a number, else
// `group_retry_max_times`.
bool retry_send_goes_to_dlq(std::string_view properties, uint32_t record_reconsume_times,
                            int32_t group_retry_max_times);
// The properties of a message moved to the DLQ: all but DELAY (a dead letter waits for nobody).
std::string dead_letter_properties(std::string_view properties);

// A property read as a whole decimal int32 (nullopt: absent or not a number).
std::optional<int32_t> int_property(std::string_view properties, std::string_view key);

}  // namespace comet::broker
