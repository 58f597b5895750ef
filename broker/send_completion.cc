#include "broker/send_completion.h"

#include <atomic>
#include <string>
#include <string_view>

#include "broker/replication.h"
#include "common/msg_id.h"

namespace comet::broker {
namespace {

// Completes a send exactly once: with the store's result (after a slave acked it, for a
// SYNC_MASTER), or FLUSH_DISK_TIMEOUT / FLUSH_SLAVE_TIMEOUT when that takes longer than
// syncFlushTimeout (SendDeadlines expires it). An ASYNC_FLUSH send to an ASYNC_MASTER has no
// deadline and costs no hand-off at all.
class SendCompletion : public Expirable, public std::enable_shared_from_this<SendCompletion> {
 public:
  SendCompletion(ConnectionPtr conn, RemotingCommand req, HostAddress store_host, uint32_t queue_id,
                 std::string transaction_id)
      : conn_(std::move(conn)),
        req_(std::move(req)),
        store_host_(store_host),
        queue_id_(queue_id),
        transaction_id_(std::move(transaction_id)) {}

  // Not a send (END_TRANSACTION): the same codes and remarks, no SendMessageResponse; `then`
  // sees the outcome first.
  void answer_without_send_response(std::function<void(const AppendOutcome&)> then) {
    send_response_ = false;
    then_ = std::move(then);
  }

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
    if (send_response_ &&
        (code == ResponseCode::SUCCESS || code == ResponseCode::FLUSH_DISK_TIMEOUT ||
         code == ResponseCode::FLUSH_SLAVE_TIMEOUT ||
         (code == ResponseCode::SLAVE_NOT_AVAILABLE && !results.empty()))) {
      protocol::SendMessageResponseT ext;
      ext.queue_id = static_cast<int32_t>(queue_id_);
      ext.transaction_id = transaction_id_;
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
    if (then_) then_(out);
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
  std::string transaction_id_;  // a half message's; empty otherwise
  bool send_response_ = true;
  std::function<void(const AppendOutcome&)> then_;
  std::atomic<bool> stored_{false};
  std::atomic<bool> done_{false};
};

}  // namespace

Status check_accepts_writes(const BrokerContext& ctx) {
  if (ctx.shutting_down.load()) return Status::unavailable("broker is shutting down");
  COMET_RETURN_IF_ERROR(ctx.replication->check_writable());
  if (!(ctx.config.broker_permission & kPermWrite)) {
    return Status::unavailable("broker is not writable");
  }
  // Disk full (RocketMQ's RunningFlags DISK_FULL): refused at once, with the figures.
  return ctx.store != nullptr ? ctx.store->health().writable() : Status::ok();
}

namespace {

// `count_stored`: a send's messages count towards putTps once stored as the mode promises.
void append_completing(BrokerContext& ctx, SendDeadlines& deadlines,
                       const std::shared_ptr<SendCompletion>& completion, std::vector<Message> msgs,
                       std::shared_ptr<const void> held, bool count_stored) {
  Replication& replication = *ctx.replication;
  const std::string_view awaits = replication.awaits();
  if (!awaits.empty() || ctx.config.store.flush_disk_type == commitlog::FlushDiskType::kSyncFlush) {
    completion->arm(deadlines, std::chrono::milliseconds(ctx.config.store.sync_flush_timeout_ms),
                    awaits);
  }
  replication.append(
      std::move(msgs), std::move(held), [completion] { completion->stored(); },
      [completion, stats = count_stored ? ctx.stats : nullptr](AppendOutcome out) {
        if (stats && out.status.is_ok() && out.failure == AppendFailure::kNone) {
          stats->on_stored(out.results.size());
        }
        completion->finish(std::move(out));
      });
}

}  // namespace

void append_and_answer(BrokerContext& ctx, SendDeadlines& deadlines, const ConnectionPtr& conn,
                       RemotingCommand req, uint32_t queue_id, std::vector<Message> msgs,
                       std::shared_ptr<const void> held, std::string transaction_id) {
  append_completing(ctx, deadlines,
                    std::make_shared<SendCompletion>(conn, std::move(req), ctx.store_host, queue_id,
                                                     std::move(transaction_id)),
                    std::move(msgs), std::move(held), /*count_stored=*/true);
}

void append_and_reply(BrokerContext& ctx, SendDeadlines& deadlines, const ConnectionPtr& conn,
                      RemotingCommand req, std::vector<Message> msgs,
                      std::shared_ptr<const void> held,
                      std::function<void(const AppendOutcome&)> then) {
  auto completion =
      std::make_shared<SendCompletion>(conn, std::move(req), ctx.store_host, 0, std::string());
  completion->answer_without_send_response(std::move(then));
  append_completing(ctx, deadlines, completion, std::move(msgs), std::move(held),
                    /*count_stored=*/false);
}

}  // namespace comet::broker
