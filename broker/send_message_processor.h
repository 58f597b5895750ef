// SEND_MESSAGE: checks the topic (auto-creating it when allowed), verifies every record of the
// body (CRC, topic), appends them as one batch and answers once the store says the batch is
// stored (ASYNC_FLUSH) or durable (SYNC_FLUSH; FLUSH_DISK_TIMEOUT after syncFlushTimeout).
// A send to a group's retry topic %RETRY%<group> (a consumer whose send-back failed, or an
// orderly consumer) creates that topic whatever autoCreateTopicEnable says, and goes to the
// group's dead-letter queue instead once the message was consumed its maximum times (RocketMQ's
// handleRetryAndDLQ, broker/retry_rule.h).
#pragma once

#include <atomic>

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

  BrokerContext& ctx_;
  SendDeadlines deadlines_;  // of sends that wait for a flush, a slave or a quorum
  std::atomic<uint32_t> round_robin_{0};
};

}  // namespace comet::broker
