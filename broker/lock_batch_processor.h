// LOCK_BATCH_MQ and UNLOCK_BATCH_MQ (RocketMQ's AdminBrokerProcessor.lockBatchMQ/unlockBatchMQ):
// a member of an orderly consumer group locks, renews and unlocks the queues it consumes
// (broker/rebalance_lock_manager.h). A LockBatchRequest names the group, the client and the
// queues; a lock is answered with the queues the client holds now (LockBatchResponse), an
// unlock with SUCCESS. Queues of another broker name are never locked here.
//
// Only a master keeps locks. RocketMQ's clients lock on the master alone (and consume nothing of
// a broker without one); a slave or DLedger follower asked anyway locks nothing: it answers a
// lock with an empty LockBatchResponse and an unlock with SUCCESS, so a client that asks it
// consumes nothing, as RocketMQ's would without a master, and no queue is ever held on two
// replicas at once. A broker that becomes master starts without locks (the members lock again).
//
// Typed errors: BAD_REQUEST for a missing body, an illegal group name, an empty client id, an
// illegal topic, a negative queue id or more than kMaxLockBatchQueues queues;
// SUBSCRIPTION_GROUP_NOT_EXIST for a group without a config when autoCreateSubscriptionGroup is
// off (broker/group_access.h; locking creates no config).
#pragma once

#include <cstddef>

#include "broker/broker_context.h"
#include "broker/rebalance_lock_manager.h"

namespace comet::broker {

constexpr size_t kMaxLockBatchQueues = 65536;

class LockBatchProcessor {
 public:
  LockBatchProcessor(BrokerContext& ctx, RebalanceLockManager& locks) : ctx_(ctx), locks_(locks) {}
  void process(const ConnectionPtr& conn, RemotingCommand req);

 private:
  void lock(const ConnectionPtr& conn, const RemotingCommand& req);
  void unlock(const ConnectionPtr& conn, const RemotingCommand& req);

  BrokerContext& ctx_;
  RebalanceLockManager& locks_;
};

}  // namespace comet::broker
