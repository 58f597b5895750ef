#include "broker/send_message_processor.h"

#include <cstdio>
#include <vector>

#include "broker/delay_levels.h"
#include "broker/retry_rule.h"
#include "broker/schedule_message_service.h"
#include "broker/send_completion.h"
#include "broker/timer_messages.h"
#include "broker/topic_creation.h"
#include "broker/transaction_messages.h"
#include "common/clock.h"
#include "common/group_topics.h"
#include "common/logging.h"
#include "common/msg_id.h"
#include "common/record_codec.h"

namespace comet::broker {

// What a send's messages point into, kept until the append is done: the request's body and the
// properties of a message rewritten for a system topic (schedule, timer, half) or the DLQ.
struct SendMessageProcessor::HeldSend {
  std::string body;
  std::string properties;
  std::string dlq_topic;  // a spent retry's dead-letter queue
};

Result<bool> SendMessageProcessor::to_dead_letter_queue_if_spent(std::string_view retry_topic,
                                                                 Message& m, HeldSend& held) {
  const std::string_view group = retry_topic.substr(kRetryTopicPrefix.size());
  const SubscriptionGroupConfig config = ctx_.groups->find_or_default(group);
  if (!retry_send_goes_to_dlq(m.properties, m.reconsume_times, config.retry_max_times)) {
    return false;
  }
  held.dlq_topic = dlq_topic(group);
  COMET_ASSIGN_OR_RETURN(TopicConfig dlq, ensure_topic(ctx_, held.dlq_topic, kDlqQueueNums));
  if (!dlq.writable()) return Status::unavailable("topic " + held.dlq_topic + " is not writable");
  held.properties = dead_letter_properties(m.properties);
  logger("broker")->info("a message sent to {} goes to {}: consumed {} times (max {})", retry_topic,
                         held.dlq_topic, find_property(m.properties, kPropertyReconsumeTime),
                         config.retry_max_times);
  m.topic = held.dlq_topic;
  m.queue_id = 0;
  m.properties = held.properties;
  return true;
}

Status SendMessageProcessor::to_half_message(Message& m, bool batch, HeldSend& held,
                                             std::string& transaction_id) {
  if (batch) return to_half_topic(m, batch, held.properties);  // refused, before an id is made
  transaction_id = std::string(find_property(m.properties, kPropertyUniqKey));
  if (transaction_id.empty()) {
    // The producer's UNIQ_KEY is the transaction id it keeps its local state by; one without
    // gets an id the broker makes (RocketMQ's offsetMsgId is not known before the append).
    transaction_id = make_transaction_id(
        ctx_.store_host, start_ms_, transaction_sequence_.fetch_add(1, std::memory_order_relaxed));
    held.properties = with_property(m.properties, kPropertyUniqKey, transaction_id);
    m.properties = held.properties;
  }
  return to_half_topic(m, batch, held.properties);
}

void SendMessageProcessor::process(const ConnectionPtr& conn, RemotingCommand req) {
  const auto* ext = req.ext<protocol::SendMessageRequestT>();
  if (ext == nullptr)
    return reply(conn, req, ResponseCode::BAD_REQUEST, "SEND_MESSAGE lacks its header");
  if (Status writable = check_accepts_writes(ctx_); !writable.is_ok()) {
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE, writable.message());
  }
  const std::string& topic = ext->topic;
  if (!record::valid_topic_name(topic)) {
    return reply(conn, req, ResponseCode::ILLEGAL_TOPIC_NAME,
                 "illegal topic name '" + topic + "' (1-127 chars of [A-Za-z0-9_%|-])");
  }
  const bool to_retry_topic = is_retry_topic(topic);
  if (to_retry_topic && ext->batch) {
    return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL,
                 "a batch cannot be sent to retry topic " + topic);
  }
  auto config = ctx_.topics->find(topic);
  if (!config && to_retry_topic) {
    // A consumer group's retry topic exists on every broker a member sends it to (RocketMQ).
    auto created = ensure_topic(ctx_, topic, kRetryQueueNums);
    if (!created.is_ok()) {
      return reply(conn, req, response_code_for(created.status()), created.status().message());
    }
    config = created.value();
  }
  if (!config) {
    if (!ctx_.config.auto_create_topic_enable) {
      return reply(conn, req, ResponseCode::TOPIC_NOT_EXIST,
                   "topic " + topic + " does not exist on broker " + ctx_.config.broker_name);
    }
    auto created = ctx_.topics->auto_create(topic, ctx_.config.default_topic_queue_nums);
    if (!created.is_ok()) {
      return reply(conn, req, response_code_for(created.status()), created.status().message());
    }
    config = created.value();
    if (ctx_.topics_changed) ctx_.topics_changed();
  }
  if (!(config->perm & kPermWrite)) {
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE,
                 "topic " + topic + " is not writable");
  }
  uint32_t queue_id;
  if (ext->queue_id < 0) {
    queue_id = round_robin_.fetch_add(1, std::memory_order_relaxed) % config->write_queue_nums;
  } else if (static_cast<uint32_t>(ext->queue_id) < config->write_queue_nums) {
    queue_id = static_cast<uint32_t>(ext->queue_id);
  } else {
    return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL,
                 "queue " + std::to_string(ext->queue_id) + " out of range: topic " + topic +
                     " has " + std::to_string(config->write_queue_nums) + " write queues");
  }

  // Every record must be whole, sealed by its CRC, and of this topic.
  // The messages below point into the body; put_messages_async copies them into the CommitLog
  // before it returns, so the body only has to outlive that call.
  // (DLedger appends on its own thread: the body is shared with it.)
  const auto held = std::make_shared<HeldSend>();
  held->body = std::move(req.body.owned);
  const std::string& body = held->body;
  std::vector<Message> msgs;
  if (!ext->batch) msgs.reserve(1);
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  for (size_t pos = 0; pos < body.size();) {
    auto d = record::decode(p + pos, body.size() - pos, /*verify_crc=*/true);
    if (d.outcome != record::Outcome::kRecord) {
      return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL,
                   "message " + std::to_string(msgs.size()) +
                       " of the body is not a valid record (" +
                       (d.outcome == record::Outcome::kEnd ? "zero length" : d.reason) + ")");
    }
    if (d.record.topic != topic) {
      return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL,
                   "message topic '" + std::string(d.record.topic) +
                       "' differs from request topic '" + topic + "'");
    }
    Message m = record::message_of(d.record);
    m.queue_id = queue_id;  // the record's own is what the producer wrote; the broker chose
    msgs.push_back(m);
    pos += d.size;
  }
  if (msgs.empty()) return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL, "empty message body");
  if (!ext->batch && msgs.size() > 1) {
    return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL, "several messages in a non-batch send");
  }
  if (to_retry_topic) {
    auto moved = to_dead_letter_queue_if_spent(topic, msgs.front(), *held);
    if (!moved.is_ok()) {
      return reply(conn, req, response_code_for(moved.status()), moved.status().message());
    }
    if (*moved) queue_id = msgs.front().queue_id;
  }
  // A transactional message waits in the half topic until its transaction ends.
  std::string transaction_id;
  for (Message& m : msgs) {
    if (!is_transactional(m.properties)) continue;
    if (Status half = to_half_message(m, ext->batch, *held, transaction_id); !half.is_ok()) {
      return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL, half.message());
    }
  }
  // A timer message waits in the timer topic until due (RocketMQ 5: not in a batch).
  for (Message& m : msgs) {
    if (!has_timer_properties(m.properties)) continue;
    if (ext->batch) {
      return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL,
                   "a batch cannot carry timer messages (TIMER_DELIVER_MS, TIMER_DELAY_SEC, "
                   "TIMER_DELAY_MS)");
    }
    auto timer =
        to_timer_topic(m, SystemClock::instance().now_ms(), ctx_.config.timer_max_delay_sec,
                       ctx_.config.message_delay_levels_ms.size(), held->properties);
    if (!timer.is_ok()) {
      return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL, timer.status().message());
    }
  }
  // A delayed message waits in the schedule topic until due (RocketMQ: not in a batch).
  for (Message& m : msgs) {
    if (delay_level_of(find_property(m.properties, kPropertyDelayLevel),
                       ctx_.config.message_delay_levels_ms.size()) == 0) {
      continue;
    }
    if (ext->batch) {
      return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL,
                   "a batch cannot carry delayed messages (DELAY)");
    }
    to_schedule_topic(m, ctx_.config.message_delay_levels_ms.size(), held->properties);
  }

  append_and_answer(ctx_, deadlines_, conn, std::move(req), queue_id, std::move(msgs), held,
                    std::move(transaction_id));
}

}  // namespace comet::broker
