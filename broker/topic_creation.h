// Topics the broker creates for itself, whatever autoCreateTopicEnable says: a consumer group's
// %RETRY% and %DLQ% topics (created by a send-back or a send to the retry topic), and the topic a
// due delayed or timer message is delivered to.
#pragma once

#include <cstdint>
#include <string_view>

#include "broker/broker_context.h"

namespace comet::broker {

// The config of `topic`, created with `queue_nums` read-write queues when missing (the name
// servers then learn it).
Result<TopicConfig> ensure_topic(BrokerContext& ctx, std::string_view topic, uint32_t queue_nums);

// Before the master delivers a due message to queue `queue_id` of `topic`: the topic is created
// when this broker has no config for it, so what is delivered can be read and is routed. That
// happens when the master that created it failed before the metadata log carried its config to
// this one (a retry topic created by a send-back just before the failover, say). A group's
// %RETRY%/%DLQ% topic gets one queue, any other topic defaultTopicQueueNums; at least queue_id + 1.
void ensure_delivery_topic(BrokerContext& ctx, std::string_view topic, uint32_t queue_id);

}  // namespace comet::broker
