// Clients and groups: HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP, the queue locks
// of orderly consumers (41/42), and the requests the broker starts (39 to producers, 40 to
// consumers).
#include <string>

#include "common/msg_id.h"
#include "remoting/rocketmq_json.h"
#include "remoting/rocketmq_message.h"
#include "remoting/rocketmq_translate.h"

namespace comet::remoting::rocketmq::translate {

namespace {

std::unique_ptr<protocol::ConsumerDataT> consumer_data(const ConsumerJson& c) {
  auto d = std::make_unique<protocol::ConsumerDataT>();
  d->group_name = c.group_name;
  d->message_model = c.message_model;
  d->consume_type = c.consume_type;
  d->consume_from_where = c.consume_from_where;
  for (const SubscriptionJson& s : c.subscriptions) {
    auto sub = std::make_unique<protocol::SubscriptionT>();
    sub->topic = s.topic;
    sub->expression = s.sub_string.empty() ? "*" : s.sub_string;
    d->subscriptions.push_back(std::move(sub));
  }
  return d;
}

std::vector<std::unique_ptr<protocol::MessageQueueT>> native_queues(
    const std::vector<MessageQueueRef>& mqs) {
  std::vector<std::unique_ptr<protocol::MessageQueueT>> out;
  out.reserve(mqs.size());
  for (const MessageQueueRef& q : mqs) {
    auto mq = std::make_unique<protocol::MessageQueueT>();
    mq->topic = q.topic;
    mq->broker_name = q.broker_name;
    mq->queue_id = q.queue_id;
    out.push_back(std::move(mq));
  }
  return out;
}

Command server_request(int32_t code) {
  Command c;
  c.code = code;
  c.serialize_type = SerializeType::kJson;  // requests the server starts are JSON (reference §1)
  return c;
}

}  // namespace

ToNativeResult heartbeat_to_native(const Command& req, const Context&, PendingAnswer&) {
  auto hb = parse_heartbeat(req.body);
  if (!hb.is_ok()) return refuse(hb.status());
  protocol::HeartbeatRequestT ext;
  ext.client_id = hb->client_id;
  ext.producer_groups = hb->producer_groups;
  for (const ConsumerJson& c : hb->consumers)
    ext.consumers.push_back(consumer_data(c));
  ext.language = req.language;
  ext.version = req.version;
  RemotingCommand native = native_request(req, protocol::RequestCode::HEART_BEAT);
  native.set_ext(std::move(ext));
  return native;
}

ToNativeResult unregister_to_native(const Command& req, const Context&, PendingAnswer&) {
  protocol::UnregisterClientRequestT ext;
  ext.client_id = std::string(req.ext.get("clientID"));
  ext.consumer_group = std::string(req.ext.get("consumerGroup"));
  ext.producer_group = std::string(req.ext.get("producerGroup"));
  RemotingCommand native = native_request(req, protocol::RequestCode::UNREGISTER_CLIENT);
  native.set_ext(std::move(ext));
  return native;
}

ToNativeResult consumer_list_to_native(const Command& req, const Context&, PendingAnswer& pending) {
  protocol::ConsumerListRequestT ext;
  ext.consumer_group = std::string(req.ext.get("consumerGroup"));
  pending.subject = ext.consumer_group;
  RemotingCommand native = native_request(req, protocol::RequestCode::GET_CONSUMER_LIST_BY_GROUP);
  native.set_ext(std::move(ext));
  return native;
}

void consumer_list_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending,
                               Command& out) {
  const auto* r = native.ext<protocol::ConsumerListResponseT>();
  if (out.code != 0) return;
  if (r == nullptr || r->client_ids.empty()) {
    // Java's broker: a group with no member online is an error, not an empty list.
    out.code = static_cast<int32_t>(ResponseCode::SYSTEM_ERROR);
    out.remark = "no consumer for this group, " + pending.subject;
    return;
  }
  out.body = encode_consumer_id_list(r->client_ids);
}

ToNativeResult lock_to_native(const Command& req, const Context&, PendingAnswer&) {
  auto body = parse_lock_batch(req.body);
  if (!body.is_ok()) return refuse(body.status());
  protocol::LockBatchRequestT ext;
  ext.consumer_group = body->consumer_group;
  ext.client_id = body->client_id;
  ext.queues = native_queues(body->mqs);
  const auto code = req.code == 41 ? protocol::RequestCode::LOCK_BATCH_MQ
                                   : protocol::RequestCode::UNLOCK_BATCH_MQ;
  RemotingCommand native = native_request(req, code);
  native.set_ext(std::move(ext));
  return native;
}

void lock_to_rocketmq(const RemotingCommand& native, const PendingAnswer&, Command& out) {
  std::vector<MessageQueueRef> locked;
  if (const auto* r = native.ext<protocol::LockBatchResponseT>()) {
    for (const auto& q : r->locked) {
      if (q) locked.push_back(MessageQueueRef{q->topic, q->broker_name, q->queue_id});
    }
  }
  if (out.code == 0) out.body = encode_lock_ok(locked);
}

Result<Command> server_request_to_rocketmq(const RemotingCommand& native) {
  switch (static_cast<protocol::RequestCode>(native.code())) {
    case protocol::RequestCode::NOTIFY_CONSUMER_IDS_CHANGED: {
      Command c = server_request(native.code());
      if (const auto* e = native.ext<protocol::ConsumerListRequestT>()) {
        c.ext.set("consumerGroup", e->consumer_group);
      }
      return c;
    }
    case protocol::RequestCode::CHECK_TRANSACTION_STATE: {
      Command c = server_request(native.code());
      if (const auto* e = native.ext<protocol::CheckTransactionStateRequestT>()) {
        c.ext.set("tranStateTableOffset", std::to_string(e->tran_state_table_offset));
        c.ext.set("commitLogOffset", std::to_string(e->commit_log_offset));
        c.ext.set("msgId", e->msg_id);
        c.ext.set("transactionId", e->transaction_id);
        c.ext.set("offsetMsgId", e->offset_msg_id);
      }
      append_records_as_store_format(native.body, c.body);
      return c;
    }
    default:
      return Status::invalid_argument("request " + std::string(request_code_name(native.code())) +
                                      " has no RocketMQ form");
  }
}

}  // namespace comet::remoting::rocketmq::translate
