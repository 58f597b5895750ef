// SEND_MESSAGE: checks the topic (auto-creating it when allowed), verifies every record of the
// body (CRC, topic), appends them as one batch and answers once the store says the batch is
// stored (ASYNC_FLUSH) or durable (SYNC_FLUSH; FLUSH_DISK_TIMEOUT after syncFlushTimeout).
// A send to a group's retry topic %RETRY%<group> (a consumer whose send-back failed, or an
// orderly consumer) creates that topic whatever autoCreateTopicEnable says, and goes to the
// group's dead-letter queue instead once the message was consumed its maximum times (RocketMQ's
// handleRetryAndDLQ, broker/retry_rule.h). A transactional message (TRAN_MSG=true), checked
// against its real topic as any send, is stored as a half message (broker/transaction_messages.h)
// and the answer carries its transaction id (its UNIQ_KEY; the broker makes one when absent).
#pragma once

#include <atomic>
#include <string>

#include "common/clock.h"

#include "broker/broker_context.h"
#include "broker/send_deadlines.h"

namespace comet::broker {

class SendMessageProcessor {
 public:
  explicit SendMessageProcessor(BrokerContext& ctx) : ctx_(ctx), deadlines_(*ctx.io) {}
  void process(const ConnectionPtr& conn, RemotingCommand req);

 private:
  struct HeldSend;  // what a send's messages point into until the append is done
  // A message sent to `retry_topic` that was consumed its maximum times is moved to the group's
  // DLQ (created on demand; its new properties kept in `held`): true when it was.
  Result<bool> to_dead_letter_queue_if_spent(std::string_view retry_topic, Message& m,
                                             HeldSend& held);
  // Rewrites `m` as a half message (its properties kept in `held`), its UNIQ_KEY, made when
  // absent, in `transaction_id`; kInvalidArgument for a message that cannot be one.
  Status to_half_message(Message& m, bool batch, HeldSend& held, std::string& transaction_id);

  BrokerContext& ctx_;
  SendDeadlines deadlines_;  // of sends that wait for a flush, a slave or a quorum
  std::atomic<uint32_t> round_robin_{0};
  // What a broker-made transaction id is unique by (broker/transaction_messages.h).
  const int64_t start_ms_ = SystemClock::instance().now_ms();
  std::atomic<uint32_t> transaction_sequence_{0};
};

}  // namespace comet::broker
