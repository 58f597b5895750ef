// RoleManager: the broker's place in its replication group. It owns the role (ASYNC_MASTER,
// SYNC_MASTER or SLAVE), the broker id it registers under, the epoch history of its log
// (ha::EpochCache, in RocksDB), the HA service (master side, always listening) and the HA
// client (while a slave). Transitions:
//   - promote (admin PROMOTE_SLAVE): a slave stops following, starts a new epoch at its log end
//     and becomes master under brokerId 0;
//   - demote: a master the name server fences (it knows a higher epoch) becomes a slave of the
//     current master; the HA handshake then truncates any tail the new master does not have.
// A master takes writes only once a name server has accepted its registration for its epoch
// (at once without name servers), so a master coming back from the dead never writes in an
// epoch that was superseded. A slave syncs topic configs and consumer offsets with its master
// (both ways for offsets: commits made on the slave while the master was away go back to it).
// The state persists: a promoted broker restarts as master, a demoted one as slave.
// In DLedger mode the Raft group decides instead: the leader is master (brokerId 0, epoch = its
// term), every other member a slave (brokerId = its position in dLegerPeers + 1); there is no
// HA service, no promotion and no fencing by the name server. Followers still sync topic configs
// and consumer offsets with the leader.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "broker/broker_context.h"
#include "broker/metadata_store.h"
#include "ha/epoch_cache.h"
#include "ha/ha_client.h"
#include "ha/ha_service.h"
#include "remoting/remoting_client.h"

namespace comet::broker {

class RoleManager {
 public:
  RoleManager(BrokerContext& ctx, MetadataStore& metadata);
  ~RoleManager();

  // Loads the persisted role and epochs (or takes the configured ones), starts the HA service
  // and, as a slave, the HA client. `reregister` registers with the name servers now.
  Status start(std::function<void()> reregister);
  void stop();

  BrokerRole role() const { return role_.load(); }
  int64_t broker_id() const { return broker_id_.load(); }
  int64_t epoch() const;
  bool is_master() const { return role() != BrokerRole::kSlave; }
  // A master confirmed by a name server for its epoch.
  bool writable() const { return is_master() && confirmed_.load(); }
  uint16_t ha_port() const { return service_ ? service_->port() : 0; }
  std::string ha_address() const;
  ha::HAService& service() { return *service_; }

  // A name server's answer to a registration sent with `epoch`.
  void on_registered(const protocol::RegisterBrokerResponseT& r, int64_t epoch);
  // Admin requests: PROMOTE_SLAVE, GET_HA_STATUS, GET_DLEDGER_STATUS, DLEDGER_TRANSFER_LEADER.
  void process(const ConnectionPtr& conn, RemotingCommand req);
  protocol::HaStatusT status() const;

 private:
  Status start_dledger();
  // DLedger thread: the member's role or the group's leader changed.
  void on_dledger_role(bool leader, int64_t term, const std::string& leader_id);
  void process_dledger(const ConnectionPtr& conn, RemotingCommand req);
  Status promote(int64_t min_epoch, const std::string& role_name, std::string* detail);
  void demote(int64_t new_id, const std::string& master_ha_addr, int64_t master_epoch);
  ha::HaOptions ha_options() const;
  // The broker takes `role` with its log ending at `start`: slave acks of an earlier term say
  // nothing about it, and everything it holds is readable. From there a SYNC_MASTER's consumers
  // read only what a slave acknowledged (the store's read bound moves with the acks); an
  // ASYNC_MASTER's read everything; a demoted SYNC_MASTER's store stays bounded, so the tail no
  // slave acknowledged (which the new master may not have) is not indexed before the handshake
  // cuts it, and what the new master streams is indexed as it arrives.
  void restart_replication(BrokerRole role, uint64_t start);
  Status persist_locked();
  void adopt_logged_topics();
  void start_client_locked(const std::string& master_ha_addr);
  void schedule_slave_sync();
  void slave_sync();

  BrokerContext& ctx_;
  MetadataStore& metadata_;
  std::function<void()> reregister_;
  std::unique_ptr<ha::HAService> service_;
  std::unique_ptr<ha::HAClient> client_;
  std::unique_ptr<remoting::RemotingClient> sync_client_;
  std::unique_ptr<asio::steady_timer> sync_timer_;

  std::atomic<BrokerRole> role_{BrokerRole::kAsyncMaster};
  std::atomic<int64_t> broker_id_{0};
  std::atomic<bool> confirmed_{false};
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;  // guards the fields below
  ha::EpochCache epochs_;
  std::string master_role_;     // the role of the master this slave followed last
  std::string master_addr_;     // slave: the master's listen address, from the name server
  std::string dledger_leader_;  // DLedger thread only: the last leader announced
};

}  // namespace comet::broker
