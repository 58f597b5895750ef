// The messages a push consumer sends to its group's retry topic itself (RocketMQ's
// DefaultMQPushConsumerImpl.sendMessageBack fallback and ConsumeMessageOrderlyService
// .sendMessageBack), and how a message pulled from that topic is shown to the listener
// (resetRetryAndNamespace).
#pragma once

#include <cstdint>
#include <string_view>

#include "consumer/message_ext.h"
#include "producer/producer.h"

namespace comet::client {

// A copy of `msg` for %RETRY%<group>: its body, flag and every property, plus RETRY_TOPIC (the
// topic the listener saw it under), ORIGIN_MESSAGE_ID (kept from an earlier retry, else its id),
// RECONSUME_TIME = `reconsume_time` and DELAY = 3 + its reconsume times. MAX_RECONSUME_TIMES is
// `max_reconsume_times`, or left out when it is negative (the broker then uses the group's
// retryMaxTimes). A broker puts a message whose RECONSUME_TIME reaches MAX_RECONSUME_TIMES in
// %DLQ%<group> instead.
ProducerMessage make_retry_message(const MessageExt& msg, std::string_view group,
                                   uint32_t reconsume_time, int max_reconsume_times);

// A message pulled from %RETRY%<group> carries the topic it was first consumed from as
// RETRY_TOPIC: the listener sees it under that topic (its queue, offsets and reconsume times stay
// the retry queue's). Any other message is left as it is.
void show_under_original_topic(MessageExt& msg, std::string_view group);

}  // namespace comet::client
