// AllocateMessageQueueAveragely: RocketMQ's default rebalance strategy. Every consumer of a group
// sorts the queues and the consumer ids the same way and takes one contiguous block: with
// q queues and c consumers each gets q / c, and the first q % c consumers one more; with more
// consumers than queues the last ones get nothing. Each queue goes to exactly one consumer.
#pragma once

#include <string>
#include <vector>

#include "producer/topic_route.h"

namespace comet::client {

class AllocateMessageQueueAveragely {
 public:
  // The queues of `current_cid`; empty when it is not among `cid_all`. Inputs need not be sorted
  // nor free of duplicates.
  static std::vector<MessageQueue> allocate(const std::string& current_cid,
                                            std::vector<MessageQueue> mq_all,
                                            std::vector<std::string> cid_all);
};

}  // namespace comet::client
