// MasterSlaveReplication: the broker's place in a master/slave group. It owns the role
// (ASYNC_MASTER, SYNC_MASTER or SLAVE), the broker id it registers under, the epoch history of
// its log (ha::EpochCache, in RocksDB), the HA service (master side, always listening) and the
// HA client (while a slave). Transitions:
//   - promote (admin PROMOTE_SLAVE): a slave stops following, starts a new epoch at its log end
//     and becomes master under brokerId 0;
//   - demote: a master the name server fences (it knows a higher epoch) becomes a slave of the
//     current master; the HA handshake then truncates any tail the new master does not have.
// A master takes writes only once a name server has accepted its registration for its epoch
// (at once without name servers), so a master coming back from the dead never writes in an
// epoch that was superseded. The state persists: a promoted broker restarts as master, a
// demoted one as slave.
// Appends: an ASYNC_MASTER completes once the store holds the batch; a SYNC_MASTER once a slave
// acknowledged everything up to the batch's end (HAService::replicated()), and refuses sends
// while no slave is in sync. A SYNC_MASTER's consumers read only what a slave acknowledged.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "broker/metadata_store.h"
#include "broker/replication.h"
#include "ha/epoch_cache.h"
#include "ha/ha_client.h"
#include "ha/ha_service.h"

namespace comet::broker {

class MasterSlaveReplication final : public Replication {
 public:
  MasterSlaveReplication(BrokerContext& ctx, MetadataStore& metadata);
  ~MasterSlaveReplication() override;

  Status start(ReplicationHooks hooks) override;
  void stop() override;

  BrokerRole role() const override { return role_.load(); }
  int64_t broker_id() const override { return broker_id_.load(); }
  int64_t epoch() const override;
  Status check_writable() const override;

  void append(std::vector<Message> msgs, std::shared_ptr<const void> keepalive,
              std::function<void()> stored, AppendDone done) override;
  std::string_view awaits() const override;
  uint64_t read_bound() const override;

  std::string ha_address() const override;
  void on_registered(const protocol::RegisterBrokerResponseT& r, int64_t epoch) override;
  std::string master_address() const override;
  void process_admin(const ConnectionPtr& conn, RemotingCommand req) override;
  protocol::HaStatusT status() const override;

 private:
  uint16_t ha_port() const { return service_ ? service_->port() : 0; }
  Status load_persisted_role();
  Status load_epochs();
  void start_service();
  Status promote(int64_t min_epoch, const std::string& role_name, std::string* detail);
  Result<BrokerRole> promotion_role(const std::string& role_name) const;
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
  void start_client_locked(const std::string& master_ha_addr);
  void fill_slave_status(protocol::HaStatusT& s) const;

  BrokerContext& ctx_;
  MetadataStore& metadata_;
  ReplicationHooks hooks_;
  std::unique_ptr<ha::HAService> service_;
  std::unique_ptr<ha::HAClient> client_;

  std::atomic<BrokerRole> role_{BrokerRole::kAsyncMaster};
  std::atomic<int64_t> broker_id_{0};
  std::atomic<bool> confirmed_{false};
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;  // guards the fields below
  ha::EpochCache epochs_;
  std::string master_role_;  // the role of the master this slave followed last
  std::string master_addr_;  // slave: the master's listen address, from the name server
};

}  // namespace comet::broker
