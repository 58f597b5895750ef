#include "broker/lock_batch_processor.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "broker/group_access.h"
#include "broker/replication.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {
namespace {

// A lock request, checked: the queues are those of this broker.
struct LockBatchCall {
  std::string group;
  std::string client;
  std::vector<LockedQueue> queues;
};

int64_t lock_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The request's fields, or the refusal to send.
std::optional<GroupRefusal> parse_lock_batch(BrokerContext& ctx, const RemotingCommand& req,
                                             LockBatchCall& call) {
  const auto* ext = req.ext<protocol::LockBatchRequestT>();
  const char* what = req.code() == static_cast<int>(RequestCode::LOCK_BATCH_MQ) ? "LOCK_BATCH_MQ"
                                                                                : "UNLOCK_BATCH_MQ";
  if (ext == nullptr) {
    return GroupRefusal{ResponseCode::BAD_REQUEST, std::string(what) + " lacks a LockBatchRequest"};
  }
  if (!record::valid_group_name(ext->consumer_group)) {
    return GroupRefusal{
        ResponseCode::BAD_REQUEST,
        "illegal consumer group '" + ext->consumer_group + "' (1-255 chars of [A-Za-z0-9_%|-])"};
  }
  if (ext->client_id.empty()) {
    return GroupRefusal{ResponseCode::BAD_REQUEST, std::string(what) + " lacks a client id"};
  }
  if (ext->queues.size() > kMaxLockBatchQueues) {
    return GroupRefusal{ResponseCode::BAD_REQUEST,
                        std::string(what) + " names " + std::to_string(ext->queues.size()) +
                            " queues, more than " + std::to_string(kMaxLockBatchQueues)};
  }
  call.group = ext->consumer_group;
  call.client = ext->client_id;
  for (const auto& q : ext->queues) {
    if (!q || !record::valid_topic_name(q->topic) || q->queue_id < 0) {
      return GroupRefusal{ResponseCode::BAD_REQUEST,
                          std::string(what) + " names an illegal queue '" +
                              (q ? q->topic + "#" + std::to_string(q->queue_id) : "") + "'"};
    }
    if (q->broker_name != ctx.config.broker_name) continue;  // never locked here
    call.queues.push_back({q->topic, q->queue_id});
  }
  return admit_group(ctx, call.group, /*create=*/false);
}

}  // namespace

void LockBatchProcessor::process(const ConnectionPtr& conn, RemotingCommand req) {
  switch (static_cast<RequestCode>(req.code())) {
    case RequestCode::LOCK_BATCH_MQ:
      return lock(conn, req);
    case RequestCode::UNLOCK_BATCH_MQ:
      return unlock(conn, req);
    default:
      return reply(conn, req, ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                   "request code " + std::to_string(req.code()) + " is not supported");
  }
}

void LockBatchProcessor::lock(const ConnectionPtr& conn, const RemotingCommand& req) {
  LockBatchCall call;
  if (auto refused = parse_lock_batch(ctx_, req, call)) {
    logger("broker")->warn("lock batch refused: {}", refused->remark);
    return reply(conn, req, refused->code, std::move(refused->remark));
  }
  protocol::LockBatchResponseT out;
  if (ctx_.replication->is_master()) {
    for (auto& q : locks_.try_lock_batch(call.group, call.queues, call.client, lock_clock_ms())) {
      auto mq = std::make_unique<protocol::MessageQueueT>();
      mq->topic = std::move(q.topic);
      mq->broker_name = ctx_.config.broker_name;
      mq->queue_id = q.queue_id;
      out.locked.push_back(std::move(mq));
    }
  } else {
    logger("broker")->debug("group {}: {} asked a slave for {} queue locks: none given", call.group,
                            call.client, call.queues.size());
  }
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  resp.set_ext(std::move(out));
  conn->send(std::move(resp));
}

void LockBatchProcessor::unlock(const ConnectionPtr& conn, const RemotingCommand& req) {
  LockBatchCall call;
  if (auto refused = parse_lock_batch(ctx_, req, call)) {
    logger("broker")->warn("unlock batch refused: {}", refused->remark);
    return reply(conn, req, refused->code, std::move(refused->remark));
  }
  if (ctx_.replication->is_master()) {
    const size_t released = locks_.unlock_batch(call.group, call.queues, call.client);
    if (released < call.queues.size()) {
      logger("broker")->info("group {}: {} unlocked {} of {} queues (the others were not its own)",
                             call.group, call.client, released, call.queues.size());
    }
  }
  reply(conn, req, ResponseCode::SUCCESS);
}

}  // namespace comet::broker
