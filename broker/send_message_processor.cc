#include "broker/send_message_processor.h"

#include <cstdio>
#include <vector>

#include "broker/role_manager.h"
#include "common/msg_id.h"
#include "common/record_codec.h"
#include "dledger/dledger_commit_log.h"

namespace comet::broker {
namespace {

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
           const char* replication = "no slave acknowledged the message") {
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
    if (code == ResponseCode::SUCCESS || code == ResponseCode::FLUSH_DISK_TIMEOUT ||
        code == ResponseCode::FLUSH_SLAVE_TIMEOUT || code == ResponseCode::SLAVE_NOT_AVAILABLE) {
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

  void finish(const Status& s, const std::vector<commitlog::AppendResult>& results) {
    if (s.is_ok()) return finish(ResponseCode::SUCCESS, "", results);
    finish(response_code_for(s), s.message(), results);
  }

 private:
  const char* replication_ = "";  // set before the store can complete, then only read
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
  if (!ctx_.roles->writable()) {
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE,
                 ctx_.roles->is_master()
                     ? "broker " + ctx_.config.broker_addr() +
                           " is not yet confirmed by a name server as master of its epoch"
                     : "broker " + ctx_.config.broker_addr() + " is a slave and takes no writes");
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
  const auto body_ptr = std::make_shared<const std::string>(std::move(req.body.owned));
  const std::string& body = *body_ptr;
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
    Message m;
    m.topic = topic;
    m.queue_id = queue_id;
    m.flags = d.record.flags;
    m.sys_flag = d.record.sys_flag;
    m.born_timestamp_ms = d.record.born_timestamp_ms;
    m.born_host = d.record.born_host;
    m.reconsume_times = d.record.reconsume_times;
    m.body = d.record.body;
    m.properties = d.record.properties;
    msgs.push_back(m);
    pos += d.size;
  }
  if (msgs.empty()) return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL, "empty message body");
  if (!ext->batch && msgs.size() > 1) {
    return reply(conn, req, ResponseCode::MESSAGE_ILLEGAL, "several messages in a non-batch send");
  }

  if (ctx_.dledger != nullptr) {
    // DLedger: the answer waits until a quorum of the group holds the entry.
    auto completion =
        std::make_shared<SendCompletion>(conn, std::move(req), ctx_.store_host, queue_id);
    completion->stored();
    completion->arm(deadlines_, std::chrono::milliseconds(ctx_.config.store.sync_flush_timeout_ms),
                    "no quorum of the DLedger group acknowledged the message");
    ctx_.dledger->append(
        std::move(msgs), body_ptr, [completion](Result<std::vector<commitlog::AppendResult>> r) {
          if (r.is_ok()) return completion->finish(Status::ok(), r.value());
          if (r.status().code() == Code::kTimeout) {
            // Stored, not known to be committed: not a refusal to retry.
            return completion->finish(ResponseCode::FLUSH_SLAVE_TIMEOUT, r.status().message(), {});
          }
          completion->finish(r.status(), {});
        });
    return;
  }
  const bool sync_flush = ctx_.config.store.flush_disk_type == commitlog::FlushDiskType::kSyncFlush;
  const bool sync_master = ctx_.roles->role() == BrokerRole::kSyncMaster;
  ha::HAService& ha = ctx_.roles->service();
  if (sync_master && !ha.has_in_sync_slave()) {
    return reply(conn, req, ResponseCode::SLAVE_NOT_AVAILABLE,
                 "SYNC_MASTER " + ctx_.config.broker_name + " has no slave in sync");
  }
  auto completion =
      std::make_shared<SendCompletion>(conn, std::move(req), ctx_.store_host, queue_id);
  if (sync_flush || sync_master) {
    completion->arm(deadlines_, std::chrono::milliseconds(ctx_.config.store.sync_flush_timeout_ms));
  }
  ctx_.store->put_messages_async(msgs, [completion, sync_master,
                                        &ha](Result<std::vector<commitlog::AppendResult>> r) {
    if (!r.is_ok()) return completion->finish(r.status(), {});
    if (!sync_master) return completion->finish(Status::ok(), r.value());
    // SYNC_MASTER: the answer waits until a slave holds everything up to the last message.
    completion->stored();
    const uint64_t end = r->back().end_offset();
    ha.replicated().on_reach(end, [completion, results = std::move(r).value()](Status s) {
      if (s.is_ok()) return completion->finish(ResponseCode::SUCCESS, "", results);
      completion->finish(ResponseCode::SLAVE_NOT_AVAILABLE,
                         "stored on the master, but no slave is in sync: " + s.message(), results);
    });
  });
}

}  // namespace comet::broker
