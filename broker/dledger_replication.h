// DLedgerReplication: the broker as a member of a DLedger (Raft) group whose log is the CommitLog
// (dledger/dledger_commit_log.h). The Raft group decides the role: the leader is master
// (brokerId 0, epoch = its term), every other member a slave (brokerId = its position in
// dLegerPeers + 1). There is no HA service, no promotion and no fencing by the name server:
// an operator moves leadership with transferLeader. An append completes once a quorum holds
// it; only committed records are indexed, so consumers never read what a new leader could cut.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "broker/replication.h"
#include "dledger/dledger_commit_log.h"

namespace comet::broker {

class DLedgerReplication final : public Replication {
 public:
  DLedgerReplication(BrokerContext& ctx, std::unique_ptr<dledger::DLedgerCommitLog> log);
  ~DLedgerReplication() override;

  Status start(ReplicationHooks hooks) override;
  void stop() override;

  BrokerRole role() const override { return role_.load(); }
  int64_t broker_id() const override { return broker_id_.load(); }
  int64_t epoch() const override { return is_master() ? log_->term() : 0; }
  Status check_writable() const override;

  void append(std::vector<Message> msgs, std::shared_ptr<const void> keepalive,
              std::function<void()> stored, AppendDone done) override;
  std::string_view awaits() const override {
    return "no quorum of the DLedger group acknowledged the message";
  }
  uint64_t read_bound() const override { return store_read_bound(*ctx_.store); }

  std::string ha_address() const override { return ""; }  // the Raft group replicates
  void on_registered(const protocol::RegisterBrokerResponseT& r, int64_t epoch) override;
  std::string master_address() const override;
  void process_admin(const ConnectionPtr& conn, RemotingCommand req) override;
  protocol::HaStatusT status() const override;

 private:
  // Raft thread: the member's role or the group's leader changed.
  void on_role(bool leader, int64_t term, const std::string& leader_id);
  void transfer_leader(const ConnectionPtr& conn, RemotingCommand req);

  BrokerContext& ctx_;
  std::unique_ptr<dledger::DLedgerCommitLog> log_;
  ReplicationHooks hooks_;
  std::atomic<BrokerRole> role_{BrokerRole::kSlave};
  std::atomic<int64_t> broker_id_{0};
  std::atomic<bool> stopped_{false};
  std::string leader_;       // Raft thread only: the last leader announced
  int64_t leader_term_ = 0;  // Raft thread only: and its term
  mutable std::mutex mu_;
  std::string master_addr_;  // guarded by mu_: the leader's broker address, for metadata sync
};

}  // namespace comet::broker
