#include "broker/send_message_processor.h"

#include <cstdio>
#include <vector>

#include "broker/delay_levels.h"
#include "broker/replication.h"
#include "broker/schedule_message_service.h"
#include "broker/timer_messages.h"
#include "common/clock.h"
#include "common/msg_id.h"
#include "common/record_codec.h"

namespace comet::broker {
namespace {

// What a send's messages point into, kept until the append is done: the request's body and the
// properties of a message rewritten for the schedule topic.
struct HeldSend {
  std::string body;
  std::string properties;
};

// Completes a send exactly once: with the store's result (after a slave acked it, for a
// SYNC_MASTER), or FLUSH_DISK_TIMEOUT / FLUSH_SLAVE_TIMEOUT when that takes longer than
// syncFlushTimeout (SendDeadlines expires it). An ASYNC_FLUSH send to an ASYNC_MASTER has no
// deadline and costs no hand-off at all.
class SendCompletion : public Expirable, public std::enable_shared_from_this<SendCompletion> {
 public:
  SendCompletion(ConnectionPtr conn, RemotingCommand req, HostAddress store_host, uint32_t queue_id)
      : conn_(std::move(conn)),
        req_(std::move(req)),
        store_host_(store_host),
        queue_id_(queue_id) {}

  // `replication` names what a stored message waits for, in the timeout's remark.
  void arm(SendDeadlines& deadlines, std::chrono::milliseconds timeout,
           std::string_view replication) {
    replication_ = replication;
    deadlines.add(SendDeadlines::Clock::now() + timeout, shared_from_this());
  }

  bool finished() const override { return done_.load(std::memory_order_acquire); }

  void expire() override {
    if (stored_.load()) {
      finish(ResponseCode::FLUSH_SLAVE_TIMEOUT,
             std::string(replication_) + " within syncFlushTimeout", {});
    } else {
      finish(ResponseCode::FLUSH_DISK_TIMEOUT, "flush took longer than syncFlushTimeout", {});
    }
  }

  // The store holds (and, under SYNC_FLUSH, has flushed) the messages.
  void stored() { stored_.store(true); }

  void finish(ResponseCode code, std::string remark,
              const std::vector<commitlog::AppendResult>& results) {
    if (done_.exchange(true, std::memory_order_acq_rel)) return;
    if (req_.is_oneway()) return;
    auto resp = RemotingCommand::response_to(req_, code, std::move(remark));
    // SLAVE_NOT_AVAILABLE carries the stored position only when it was stored: without one,
    // clients know the send was refused and may take it elsewhere.
    if (code == ResponseCode::SUCCESS || code == ResponseCode::FLUSH_DISK_TIMEOUT ||
        code == ResponseCode::FLUSH_SLAVE_TIMEOUT ||
        (code == ResponseCode::SLAVE_NOT_AVAILABLE && !results.empty())) {
      protocol::SendMessageResponseT ext;
      ext.queue_id = static_cast<int32_t>(queue_id_);
      if (!results.empty()) {
        ext.msg_id = make_msg_id(store_host_, results.front().physical_offset);
        ext.queue_offset = static_cast<int64_t>(results.front().queue_offset);
        ext.physical_offset = static_cast<int64_t>(results.front().physical_offset);
        ext.count = static_cast<int32_t>(results.size());
      }
      resp.set_ext(std::move(ext));
    }
    conn_->send(std::move(resp));
  }

  // The answer RocketMQ gives for each outcome of a replicated append.
  void finish(AppendOutcome out) {
    switch (out.failure) {
      case AppendFailure::kNoReplicaInSync:
        return finish(ResponseCode::SLAVE_NOT_AVAILABLE, out.status.message(), out.results);
      case AppendFailure::kOutcomeUnknown:
        // Stored, not known to be replicated: not a refusal to retry.
        return finish(ResponseCode::FLUSH_SLAVE_TIMEOUT, out.status.message(), out.results);
      case AppendFailure::kRefused:
        return finish(ResponseCode::SERVICE_NOT_AVAILABLE, out.status.message(), {});
      case AppendFailure::kNone:
        break;
    }
    if (out.status.is_ok()) return finish(ResponseCode::SUCCESS, "", out.results);
    finish(response_code_for(out.status), out.status.message(), out.results);
  }

 private:
  std::string_view replication_;  // a literal; set before the store can complete, then read
  ConnectionPtr conn_;
  RemotingCommand req_;
  HostAddress store_host_;
  uint32_t queue_id_;
  std::atomic<bool> stored_{false};
  std::atomic<bool> done_{false};
};

}  // namespace

void SendMessageProcessor::process(const ConnectionPtr& conn, RemotingCommand req) {
  const auto* ext = req.ext<protocol::SendMessageRequestT>();
  if (ext == nullptr)
    return reply(conn, req, ResponseCode::BAD_REQUEST, "SEND_MESSAGE lacks its header");
  if (ctx_.shutting_down.load()) {
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE, "broker is shutting down");
  }
  if (Status writable = ctx_.replication->check_writable(); !writable.is_ok()) {
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE, writable.message());
  }
  if (!(ctx_.config.broker_permission & kPermWrite)) {
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE, "broker is not writable");
  }
  const std::string& topic = ext->topic;
  if (!record::valid_topic_name(topic)) {
    return reply(conn, req, ResponseCode::ILLEGAL_TOPIC_NAME,
                 "illegal topic name '" + topic + "' (1-127 chars of [A-Za-z0-9_%|-])");
  }
  auto config = ctx_.topics->find(topic);
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

  auto completion =
      std::make_shared<SendCompletion>(conn, std::move(req), ctx_.store_host, queue_id);
  Replication& replication = *ctx_.replication;
  const std::string_view awaits = replication.awaits();
  if (!awaits.empty() ||
      ctx_.config.store.flush_disk_type == commitlog::FlushDiskType::kSyncFlush) {
    completion->arm(deadlines_, std::chrono::milliseconds(ctx_.config.store.sync_flush_timeout_ms),
                    awaits);
  }
  replication.append(
      std::move(msgs), held, [completion] { completion->stored(); },
      [completion](AppendOutcome out) { completion->finish(std::move(out)); });
}

}  // namespace comet::broker
