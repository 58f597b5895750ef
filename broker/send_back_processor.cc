#include "broker/send_back_processor.h"

#include <string>

#include "broker/replication.h"
#include "broker/retry_rule.h"
#include "broker/schedule_message_service.h"
#include "broker/send_completion.h"
#include "broker/system_topics.h"
#include "broker/topic_creation.h"
#include "common/group_topics.h"
#include "common/logging.h"
#include "common/msg_id.h"

namespace comet::broker {

// What the copy points into until its append is done: the original record (its segment) and
// the copy's topic and properties, before and after the rewrite for the schedule topic.
struct SendBackProcessor::HeldSendBack {
  commitlog::ReadView record;
  std::string topic;
  std::string properties;
  std::string schedule_properties;
};

Result<commitlog::ReadView> SendBackProcessor::read_record(int64_t offset) const {
  const auto at = static_cast<uint64_t>(offset);
  const std::string where =
      "no message at offset " + std::to_string(offset) + " on broker " + ctx_.config.broker_name;
  if (offset < 0 || at >= ctx_.replication->read_bound()) return Status::not_found(where);
  // Enough for the largest record the store takes: its body, and topic and properties.
  const uint32_t max_bytes = ctx_.config.store.max_message_size + (64u << 10);
  auto view = ctx_.store->commit_log().read(at, max_bytes);
  if (!view.is_ok()) return Status::not_found(where + " (" + view.status().message() + ")");
  auto d = record::decode(view->data, view->size, /*verify_crc=*/true);
  if (d.outcome != record::Outcome::kRecord) {
    return Status::not_found(where + " (" + d.reason + ")");
  }
  commitlog::ReadView record = std::move(view).value();
  record.size = d.size;
  return record;
}

Status SendBackProcessor::check_request(const protocol::ConsumerSendMsgBackRequestT& ext) const {
  COMET_RETURN_IF_ERROR(check_accepts_writes(ctx_));
  // The longer of its topic names, %RETRY%<group>, must be a legal topic.
  if (!record::valid_group_name(ext.group) || !record::valid_topic_name(retry_topic(ext.group))) {
    return Status::invalid_argument("illegal consumer group '" + ext.group +
                                    "' (1-120 chars of [A-Za-z0-9_%|-]: its %RETRY% and %DLQ% "
                                    "topics must be legal)");
  }
  return Status::ok();
}

void SendBackProcessor::process(const ConnectionPtr& conn, RemotingCommand req) {
  const auto* ext = req.ext<protocol::ConsumerSendMsgBackRequestT>();
  if (ext == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST, "CONSUMER_SEND_MSG_BACK lacks its header");
  }
  if (Status s = check_request(*ext); !s.is_ok()) {
    if (s.code() != Code::kInvalidArgument) {
      return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE, s.message());
    }
    logger("broker")->warn("send-back refused: {}", s.message());
    return reply(conn, req, ResponseCode::BAD_REQUEST, s.message());
  }
  auto stored = read_record(ext->offset);
  if (!stored.is_ok()) {
    logger("broker")->warn("send-back from group {}: {}", ext->group, stored.status().message());
    return reply(conn, req, ResponseCode::SYSTEM_ERROR, stored.status().message());
  }
  auto held = std::make_shared<HeldSendBack>();
  held->record = std::move(stored).value();
  const RecordView original =
      record::decode(held->record.data, held->record.size, /*verify_crc=*/false).record;
  if (is_system_topic(original.topic)) {
    return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL,
                 "the message at offset " + std::to_string(ext->offset) + " is the broker's own (" +
                     std::string(original.topic) + "): it cannot be consumed or sent back");
  }
  const SubscriptionGroupConfig config = ctx_.groups->find_or_default(ext->group);
  if (config.retry_queue_nums <= 0) {
    // RocketMQ: a group without retry queues drops what its consumers fail.
    return reply(conn, req, ResponseCode::SUCCESS, "group " + ext->group + " has no retry queues");
  }
  write_copy(conn, std::move(req), original, config, std::move(held));
}

void SendBackProcessor::write_copy(const ConnectionPtr& conn, RemotingCommand req,
                                   const RecordView& original,
                                   const SubscriptionGroupConfig& config,
                                   std::shared_ptr<HeldSendBack> held) {
  const auto& ext = *req.ext<protocol::ConsumerSendMsgBackRequestT>();
  SendBackRequest request;
  request.group = ext.group;
  request.delay_level = ext.delay_level;
  request.max_reconsume_times =
      ext.max_reconsume_times >= 0 ? ext.max_reconsume_times : config.retry_max_times;
  request.origin_msg_id = ext.origin_msg_id;
  const std::string offset_msg_id = make_msg_id(original.store_host, original.physical_offset);
  request.offset_msg_id = offset_msg_id;
  SendBack back = decide_send_back(original, request);

  auto topic = ensure_topic(
      ctx_, back.topic,
      back.dead_letter ? kDlqQueueNums : static_cast<uint32_t>(config.retry_queue_nums));
  if (!topic.is_ok()) {
    return reply(conn, req, response_code_for(topic.status()), topic.status().message());
  }
  if (!topic->writable()) {
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE,
                 "topic " + back.topic + " is not writable");
  }
  if (back.dead_letter) {
    logger("broker")->info(
        "message {} (first id {}) of group {} goes to {} after {} consumes (max {}{})",
        offset_msg_id, find_property(back.properties, kPropertyOriginMessageId), ext.group,
        back.topic, original.reconsume_times, request.max_reconsume_times,
        ext.delay_level < 0 ? ", or the consumer asked" : "");
  }

  held->topic = std::move(back.topic);
  held->properties = std::move(back.properties);
  Message m = record::message_of(original);
  m.topic = held->topic;
  const uint32_t queue_id =
      round_robin_.fetch_add(1, std::memory_order_relaxed) % topic->write_queue_nums;
  m.queue_id = queue_id;
  m.reconsume_times = back.reconsume_times;
  m.properties = held->properties;
  if (!back.dead_letter) {
    // Waits in the schedule topic; the answer names the queue it will be delivered to.
    to_schedule_topic(m, ctx_.config.message_delay_levels_ms.size(), held->schedule_properties);
  }
  append_and_answer(ctx_, deadlines_, conn, std::move(req), queue_id, {m}, std::move(held));
}

}  // namespace comet::broker
