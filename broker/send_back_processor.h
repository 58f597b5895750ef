// CONSUMER_SEND_MSG_BACK (RocketMQ's SendMessageProcessor.consumerSendMsgBack): a consumer hands
// back a message it failed to consume. The processor reads the message at the request's offset
// from the store and writes a copy, through the replication seam, to the group's retry topic
// %RETRY%<group> delayed by level 3 + its reconsume times (via SCHEDULE_TOPIC_XXXX), or to its
// dead-letter queue %DLQ%<group> once it was consumed retryMaxTimes times (broker/retry_rule.h
// decides; the limit is the request's, else the group's retryMaxTimes). Both topics are created
// on demand (the DLQ with one queue, the retry topic with the group's retryQueueNums, 1 by
// default) whatever autoCreateTopicEnable says. The answer comes once the copy is as safe as a
// send.
#pragma once

#include <atomic>
#include <memory>

#include "broker/broker_context.h"
#include "broker/send_deadlines.h"

namespace comet::broker {

class SendBackProcessor {
 public:
  explicit SendBackProcessor(BrokerContext& ctx) : ctx_(ctx), deadlines_(*ctx.io) {}
  void process(const ConnectionPtr& conn, RemotingCommand req);

 private:
  struct HeldSendBack;  // what the copy points into until its append is done
  // kUnavailable when this broker takes no writes now; kInvalidArgument for an illegal group.
  Status check_request(const protocol::ConsumerSendMsgBackRequestT& ext) const;
  // The record stored at `offset`, held with its segment; kNotFound when none starts there.
  Result<commitlog::ReadView> read_record(int64_t offset) const;
  // Decides where `original` goes (retry or DLQ), creates that topic and appends the copy, whose
  // bytes `held` keeps; answers `req` once the append is done.
  void write_copy(const ConnectionPtr& conn, RemotingCommand req, const RecordView& original,
                  const SubscriptionGroupConfig& config, std::shared_ptr<HeldSendBack> held);

  BrokerContext& ctx_;
  SendDeadlines deadlines_;
  std::atomic<uint32_t> round_robin_{0};  // over the retry topic's queues
};

}  // namespace comet::broker
