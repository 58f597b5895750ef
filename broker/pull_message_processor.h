// PULL_MESSAGE: commits the consumer's offset if it sent one, reads up to maxMsgNums records of
// the queue (tag-filtered) and answers with the raw records straight from the mapped CommitLog.
// Nothing new → the pull is held (long polling) until a message arrives or it times out.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/broker_context.h"

namespace comet::broker {

class PullMessageProcessor {
 public:
  explicit PullMessageProcessor(BrokerContext& ctx) : ctx_(ctx) {}
  void process(const ConnectionPtr& conn, RemotingCommand req);

 private:
  // The tag expression the group's heartbeat registered for `topic`, if any.
  std::optional<std::string> group_subscription(const std::string& group,
                                                const std::string& topic) const;
  void pull(const ConnectionPtr& conn, const std::shared_ptr<RemotingCommand>& req,
            bool allow_suspend);

  BrokerContext& ctx_;
};

// "*" or "" → no filter; "TagA || TagB" → their hashes.
std::vector<uint64_t> parse_tag_filter(std::string_view expression);

}  // namespace comet::broker
