#include "broker/topic_creation.h"

#include <algorithm>

#include "common/group_topics.h"
#include "common/logging.h"

namespace comet::broker {

Result<TopicConfig> ensure_topic(BrokerContext& ctx, std::string_view topic, uint32_t queue_nums) {
  if (auto existing = ctx.topics->find(topic)) return *existing;
  COMET_ASSIGN_OR_RETURN(TopicConfig created, ctx.topics->auto_create(topic, queue_nums));
  if (ctx.topics_changed) ctx.topics_changed();
  return created;
}

void ensure_delivery_topic(BrokerContext& ctx, std::string_view topic, uint32_t queue_id) {
  if (ctx.topics->find(topic)) return;
  const uint32_t usual =
      is_retry_topic(topic) || is_dlq_topic(topic) ? 1 : ctx.config.default_topic_queue_nums;
  auto created = ensure_topic(ctx, topic, std::max(usual, queue_id + 1));
  if (created.is_ok()) {
    logger("broker")->info(
        "topic {} created for a due message (its config had not reached this "
        "broker)",
        topic);
  } else {
    logger("broker")->warn("topic {} of a due message cannot be created: {}", topic,
                           created.status().to_string());
  }
}

}  // namespace comet::broker
