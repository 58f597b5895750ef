// SEND_MESSAGE: checks the topic (auto-creating it when allowed), verifies every record of the
// body (CRC, topic), appends them as one batch and answers once the store says the batch is
// stored (ASYNC_FLUSH) or durable (SYNC_FLUSH; FLUSH_DISK_TIMEOUT after syncFlushTimeout).
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
  BrokerContext& ctx_;
  SendDeadlines deadlines_;  // of sends that wait for a flush, a slave or a quorum
  std::atomic<uint32_t> round_robin_{0};
};

}  // namespace comet::broker
