// A Replication seam for unit tests of the broker's services: an ASYNC_MASTER of epoch 1 over
// the test's own store, always writable, reading up to the log's end. A test's fake derives
// from it and implements append() (recording, failing on demand, ...) over store().
#pragma once

#include "broker/replication.h"
#include "commitlog/message_store.h"

namespace comet::broker {

class LocalReplication : public Replication {
 public:
  explicit LocalReplication(commitlog::MessageStore& store) : store_(store) {}

  Status start(ReplicationHooks) override { return Status::ok(); }
  void stop() override {}
  BrokerRole role() const override { return BrokerRole::kAsyncMaster; }
  int64_t broker_id() const override { return 0; }
  int64_t epoch() const override { return 1; }
  Status check_writable() const override { return Status::ok(); }
  std::string_view awaits() const override { return ""; }
  uint64_t read_bound() const override { return store_.commit_log().max_offset(); }
  std::string ha_address() const override { return ""; }
  void on_registered(const protocol::RegisterBrokerResponseT&, int64_t) override {}
  std::string master_address() const override { return ""; }
  void process_admin(const ConnectionPtr&, RemotingCommand) override {}
  protocol::HaStatusT status() const override { return {}; }

 protected:
  commitlog::MessageStore& store() { return store_; }

 private:
  commitlog::MessageStore& store_;
};

}  // namespace comet::broker
