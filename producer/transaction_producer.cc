#include "producer/transaction_producer.h"

#include <array>
#include <exception>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::client {

using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;

namespace {

std::shared_ptr<spdlog::logger> transaction_log() {
  static auto l = logger("transaction");
  return l;
}

protocol::TransactionOutcome outcome_of(LocalTransactionState state) {
  switch (state) {
    case LocalTransactionState::kCommitMessage:
      return protocol::TransactionOutcome::COMMIT;
    case LocalTransactionState::kRollbackMessage:
      return protocol::TransactionOutcome::ROLLBACK;
    case LocalTransactionState::kUnknow:
      break;
  }
  return protocol::TransactionOutcome::UNKNOWN;
}

// Properties that would make the half message a delayed or timer message: the broker could not
// keep it invisible and deliver it later at once, so the send is refused here.
constexpr std::array<std::string_view, 4> kSchedulingProperties = {
    kPropertyDelayLevel, kPropertyTimerDeliverMs, kPropertyTimerDelaySec, kPropertyTimerDelayMs};

Status check_transactional(const ProducerMessage& msg) {
  if (msg.topic.empty()) return Status::invalid_argument("a transactional message needs a topic");
  if (msg.delay_level != 0) {
    return Status::invalid_argument(
        fmt::format("a transactional message cannot be delayed (delay level {})", msg.delay_level));
  }
  if (msg.is_timer()) {
    return Status::invalid_argument(
        "a transactional message cannot be a timer message (deliver_time_ms, delay_time_sec, "
        "delay_time_ms)");
  }
  for (std::string_view key : kSchedulingProperties) {
    if (msg.properties.contains(std::string(key))) {
      return Status::invalid_argument(
          fmt::format("a transactional message cannot carry the {} property", key));
    }
  }
  return Status::ok();
}

// Runs a listener callback; what it throws counts as "unknown": the broker's check asks again.
template <typename Fn>
LocalTransactionState run_listener(std::string_view what, const std::string& transaction_id,
                                   Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    transaction_log()->warn("{} of transaction {} threw: {}; its state is unknown", what,
                            transaction_id, e.what());
  } catch (...) {
    transaction_log()->warn("{} of transaction {} threw; its state is unknown", what,
                            transaction_id);
  }
  return LocalTransactionState::kUnknow;
}

std::string describe_end(const protocol::EndTransactionRequestT& req, const std::string& addr) {
  return fmt::format("END_TRANSACTION ({}{}) of transaction {} to {}",
                     protocol::EnumNameTransactionOutcome(req.commit_or_rollback),
                     req.from_transaction_check ? ", a check's answer" : "", req.transaction_id,
                     addr);
}

// What the broker made of an END_TRANSACTION, logged when it failed; a failure is not retried:
// the broker checks the transaction again.
Status end_result(const protocol::EndTransactionRequestT& req, const std::string& addr,
                  const Result<RemotingCommand>& response) {
  Status s = !response.is_ok() ? response.status()
             : response->response_code() != ResponseCode::SUCCESS
                 ? response_status(*response, "END_TRANSACTION")
                 : Status::ok();
  if (!s.is_ok()) {
    transaction_log()->warn("{} failed: {}; the broker's check settles it", describe_end(req, addr),
                            s.to_string());
  }
  return s;
}

RemotingCommand end_request(protocol::EndTransactionRequestT req) {
  auto request = RemotingCommand::request(RequestCode::END_TRANSACTION);
  request.set_ext(std::move(req));
  return request;
}

}  // namespace

std::string_view local_transaction_state_name(LocalTransactionState state) {
  switch (state) {
    case LocalTransactionState::kCommitMessage:
      return "COMMIT_MESSAGE";
    case LocalTransactionState::kRollbackMessage:
      return "ROLLBACK_MESSAGE";
    case LocalTransactionState::kUnknow:
      break;
  }
  return "UNKNOW";
}

class TransactionProducer::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(std::string group, ClientConfig config, std::shared_ptr<TransactionListener> listener)
      : group_(group),
        producer_(std::move(group), std::move(config)),
        listener_(std::move(listener)) {}

  Status start();
  void shutdown();
  Result<TransactionSendResult> send_in_transaction(const ProducerMessage& msg,
                                                    const std::any& arg);
  Producer& producer() { return producer_; }

 private:
  // Tells the broker that stored the half message what became of its transaction; the future
  // holds its answer (logged when a failure; not retried).
  std::shared_future<Status> end_after_send(const SendResult& sent,
                                            const std::string& transaction_id,
                                            LocalTransactionState state);
  // On a callback thread: asks the listener and answers the broker that asked.
  void on_check(TransactionCheck check);

  const std::string group_;
  Producer producer_;
  const std::shared_ptr<TransactionListener> listener_;
  std::mutex mu_;
  bool check_registered_ = false;  // guarded by mu_
};

Status TransactionProducer::Impl::start() {
  if (!listener_) {
    return Status::invalid_argument("transaction producer " + group_ + " has no listener");
  }
  std::lock_guard lock(mu_);
  COMET_RETURN_IF_ERROR(producer_.start());
  const std::weak_ptr<Impl> weak = weak_from_this();
  if (!producer_.client()->register_transaction_check(group_, [weak](TransactionCheck check) {
        if (auto self = weak.lock()) self->on_check(std::move(check));
      })) {
    producer_.shutdown();
    return Status(Code::kAlreadyExists, "a transaction producer of group " + group_ +
                                            " already runs in client " +
                                            producer_.client()->client_id());
  }
  check_registered_ = true;
  return Status::ok();
}

void TransactionProducer::Impl::shutdown() {
  std::lock_guard lock(mu_);
  // Checks still queued find no handler and are dropped: the broker asks again later.
  if (check_registered_) producer_.client()->unregister_transaction_check(group_);
  check_registered_ = false;
  producer_.shutdown();
}

Result<TransactionSendResult> TransactionProducer::Impl::send_in_transaction(
    const ProducerMessage& msg, const std::any& arg) {
  COMET_RETURN_IF_ERROR(check_transactional(msg));
  ProducerMessage half = msg;
  half.properties[std::string(kPropertyTransactionPrepared)] = "true";
  half.properties[std::string(kPropertyProducerGroup)] = group_;
  COMET_ASSIGN_OR_RETURN(SendResult sent, producer_.send(half));

  TransactionSendResult result;
  result.transaction_id = sent.transaction_id;
  if (result.transaction_id.empty()) {
    auto it = msg.properties.find(std::string(kPropertyUniqKey));
    result.transaction_id = it != msg.properties.end() ? it->second : sent.msg_id;
  }
  if (sent.status == SendStatus::kSendOk) {
    result.local_state = run_listener("execute_local_transaction", result.transaction_id, [&] {
      return listener_->execute_local_transaction(half, arg);
    });
  } else {
    // RocketMQ: a half message stored but not flushed or replicated is rolled back.
    transaction_log()->warn("half message of transaction {} stored with {}: rolled back",
                            result.transaction_id, send_status_name(sent.status));
    result.local_state = LocalTransactionState::kRollbackMessage;
  }
  result.end = end_after_send(sent, result.transaction_id, result.local_state);
  result.send = std::move(sent);
  return result;
}

std::shared_future<Status> TransactionProducer::Impl::end_after_send(
    const SendResult& sent, const std::string& transaction_id, LocalTransactionState state) {
  protocol::EndTransactionRequestT req;
  req.producer_group = group_;
  req.tran_state_table_offset = static_cast<int64_t>(sent.queue_offset);
  req.commit_log_offset = static_cast<int64_t>(sent.physical_offset);
  req.commit_or_rollback = outcome_of(state);
  req.from_transaction_check = false;
  // As RocketMQ's endTransaction: the broker's id of the half message.
  req.msg_id = sent.offset_msg_id.empty() ? sent.msg_id : sent.offset_msg_id;
  req.transaction_id = transaction_id;
  const auto addr = producer_.client()->find_broker_addr(sent.broker_name);
  if (!addr) {
    Status s = Status::unavailable("no address of broker " + sent.broker_name);
    transaction_log()->warn(
        "END_TRANSACTION of transaction {} not sent: {}; the broker's check settles it",
        transaction_id, s.message());
    std::promise<Status> failed;
    failed.set_value(std::move(s));
    return failed.get_future().share();
  }
  auto answered = std::make_shared<std::promise<Status>>();
  std::shared_future<Status> end = answered->get_future().share();
  producer_.client()->remoting().invoke_async(
      *addr, end_request(req), producer_.send_msg_timeout(),
      [req, addr = *addr, answered](Result<RemotingCommand> response) {
        answered->set_value(end_result(req, addr, response));
      });
  return end;
}

void TransactionProducer::Impl::on_check(TransactionCheck check) {
  const protocol::CheckTransactionStateRequestT& asked = check.request;
  protocol::EndTransactionRequestT req;
  req.producer_group = group_;
  req.tran_state_table_offset = asked.tran_state_table_offset;
  req.commit_log_offset = asked.commit_log_offset;
  req.from_transaction_check = true;
  req.msg_id = asked.msg_id.empty() ? check.msg.msg_id : asked.msg_id;
  req.transaction_id = asked.transaction_id.empty() ? check.msg.msg_id : asked.transaction_id;
  const LocalTransactionState state =
      run_listener("check_local_transaction", req.transaction_id,
                   [&] { return listener_->check_local_transaction(check.msg); });
  req.commit_or_rollback = outcome_of(state);
  transaction_log()->debug("transaction {} checked by {}: {}", req.transaction_id,
                           check.broker_addr, local_transaction_state_name(state));
  // Asynchronous: a storm of checks must not hold the callback threads on round trips.
  producer_.client()->remoting().invoke_async(
      check.broker_addr, end_request(req), producer_.send_msg_timeout(),
      [req, addr = check.broker_addr](Result<RemotingCommand> response) {
        (void)end_result(req, addr, response);  // logged there; the check comes again
      });
}

TransactionProducer::TransactionProducer(std::string group, ClientConfig config,
                                         std::shared_ptr<TransactionListener> listener)
    : impl_(std::make_shared<Impl>(std::move(group), std::move(config), std::move(listener))) {}

TransactionProducer::~TransactionProducer() {
  impl_->shutdown();
}

Status TransactionProducer::start() {
  return impl_->start();
}

void TransactionProducer::shutdown() {
  impl_->shutdown();
}

Result<TransactionSendResult> TransactionProducer::send_in_transaction(const ProducerMessage& msg,
                                                                       const std::any& arg) {
  return impl_->send_in_transaction(msg, arg);
}

Producer& TransactionProducer::producer() {
  return impl_->producer();
}

}  // namespace comet::client
