// Offsets by time (RocketMQ's searchOffset, getEarliestMsgStoretime and resetOffset):
//   - SEARCH_OFFSET_BY_TIMESTAMP: the first queue offset stored at or after a time, and
//     GET_EARLIEST_MSG_STORETIME: the store time of a queue's first message. Reads: every replica
//     serves them (MessageStore::search_offset_by_time, earliest_store_time).
//   - INVOKE_BROKER_TO_RESET_OFFSET (the master only): moves a group's offsets of a topic to the
//     first message stored at or after a time (-1: the queues' ends), back or forth, and tells
//     the group's online members that subscribe to the topic (RESET_CONSUMER_CLIENT_OFFSET, a
//     request with an answer, bounded by kClientTimeout).
//
// Ordering, so that no stale commit survives: the broker sets the offsets
// (ConsumerOffsetManager::reset) only once every member told has answered or timed out. A
// member answers after it took the reset, and everything it sent before (a pull carrying a
// commit, an UPDATE_CONSUMER_OFFSET) travels on the same connection ahead of the answer, so the
// broker has applied it already and the reset overwrites it; what the member commits after
// answering starts from the new offsets. A member that did not answer in time may still commit
// an old offset later; the reset is logged with how many answered.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "broker/broker_context.h"

namespace comet::broker {

// One reset waiting for the members it told: the last answer (or failure, or timeout) runs
// `finish` with the number that answered SUCCESS, exactly once. With no member, finish() runs at
// once from start(). Thread-safe; no I/O (tests/unit/offset_reset_test.cc).
class ResetRound {
 public:
  ResetRound(size_t members, std::function<void(size_t acked)> finish)
      : left_(members), finish_(std::move(finish)) {}
  // After every member was asked: finishes now when there were none.
  void start();
  void answered(bool success);

 private:
  void done();
  std::atomic<size_t> left_;
  std::atomic<size_t> acked_{0};
  std::atomic<bool> finished_{false};
  std::function<void(size_t)> finish_;
};

// The new offset of each queue: `timestamp` -1 is the queue's max offset, else the first offset
// stored at or after it; without `force`, a queue whose committed offset is below that keeps it
// (RocketMQ's isForce).
std::map<uint32_t, uint64_t> reset_offsets_by_time(uint32_t queue_count, int64_t timestamp,
                                                   bool force,
                                                   const std::function<uint64_t(uint32_t)>& by_time,
                                                   const std::function<uint64_t(uint32_t)>& max,
                                                   const std::map<uint32_t, uint64_t>& committed);

class OffsetResetService {
 public:
  static constexpr std::chrono::milliseconds kClientTimeout{3000};

  explicit OffsetResetService(BrokerContext& ctx) : ctx_(ctx) {}
  // SEARCH_OFFSET_BY_TIMESTAMP, GET_EARLIEST_MSG_STORETIME, INVOKE_BROKER_TO_RESET_OFFSET.
  void process(const ConnectionPtr& conn, RemotingCommand req);

 private:
  void search_offset(const ConnectionPtr& conn, const RemotingCommand& req);
  void earliest_store_time(const ConnectionPtr& conn, const RemotingCommand& req);
  void reset_offset(const ConnectionPtr& conn, const RemotingCommand& req);
  // The topic's config, or on a slave one for what its log holds (as pulls); nullopt and an
  // answer sent when the topic or queue is unknown.
  std::optional<uint32_t> readable_queue(const ConnectionPtr& conn, const RemotingCommand& req,
                                         const std::string& topic, int32_t queue_id);
  bool group_known(const std::string& group) const;

  BrokerContext& ctx_;
};

}  // namespace comet::broker
