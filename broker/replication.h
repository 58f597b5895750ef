// Replication: the one seam between the broker and the way its broker group replicates the
// CommitLog. The send and pull processors, the registration with the name servers and the
// metadata sync call only this interface and never ask which mode they run in. Two
// implementations:
//   - MasterSlaveReplication (broker/master_slave_replication.h): ASYNC_MASTER, SYNC_MASTER or
//     SLAVE; the HA stream (ha/), epochs, fencing by the name server, the promoteSlave drill;
//   - DLedgerReplication (broker/dledger_replication.h): a Raft group whose log is the
//     CommitLog (dledger/); the leader is the master, elections replace promotion.
//
// What every implementation promises:
//   - append() completes `done` exactly once, and only when the messages are as safe as the
//     mode says: stored (ASYNC_MASTER), held by an in-sync slave (SYNC_MASTER) or committed by
//     a quorum (DLedger). Failures are typed (see AppendFailure) so the send processor can answer
//     as RocketMQ does.
//   - Consumers read only what cannot be cut by a failover: the implementation bounds the
//     store's index (MessageStore::bound_to_committed / the consensus mode) and read_bound()
//     says where that bound is.
//   - The role, broker id and epoch change only through the implementation; every change calls
//     the hooks, so the broker re-registers and adopts what the new role needs.
// Later features that append (retry, delay, transactions) call append() and inherit the
// failover behaviour of the mode the broker runs in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker_context.h"

namespace comet::broker {

// Why an append did not complete as the mode promises (Status::code() says the rest).
enum class AppendFailure {
  kNone,
  kRefused,          // nothing was stored: the broker cannot take writes now
  kNoReplicaInSync,  // SYNC_MASTER without a slave in sync (refused, or stored but not copied)
  kOutcomeUnknown,   // stored locally; whether the group keeps it is not known yet
};

struct AppendOutcome {
  Status status;
  AppendFailure failure = AppendFailure::kNone;
  std::vector<commitlog::AppendResult> results;  // what was stored (may be set on a failure)
};

// Calls the implementation makes into the broker. Each may run on any thread.
struct ReplicationHooks {
  // The role, broker id, epoch or the known master changed: register again.
  std::function<void()> role_changed;
  // This broker is becoming master (before it takes writes): adopt what the log holds.
  std::function<void()> becoming_master;
  // A slave began following a master: sync metadata now, not at the next interval.
  std::function<void()> following;
  // This broker, master now, may take writes from here on (a master confirmed by a name server
  // for its epoch, a Raft leader): work only a master does can start.
  std::function<void()> writable;
};

class Replication {
 public:
  using AppendDone = std::function<void(AppendOutcome)>;

  virtual ~Replication() = default;

  // Loads the persisted role state and starts replicating.
  virtual Status start(ReplicationHooks hooks) = 0;
  virtual void stop() = 0;

  // --- The role ---
  virtual BrokerRole role() const = 0;
  virtual int64_t broker_id() const = 0;
  // The epoch (master/slave) or term (DLedger leader) this broker writes in; 0 for a follower.
  virtual int64_t epoch() const = 0;
  bool is_master() const { return role() != BrokerRole::kSlave; }
  // OK when this broker takes writes now; kUnavailable with the reason otherwise.
  virtual Status check_writable() const = 0;

  // --- Appends ---
  // Appends `msgs` (whose views `keepalive` keeps valid until `done` has run) as one batch.
  // `stored` runs once the append is past the local store and waits only for replication (the
  // master's store holds it; the Raft thread has it): from then on a timeout means "stored, not
  // known replicated". It does not run for an append that waits for no replication (awaits()
  // empty) or that failed first. The caller owns any deadline: see awaits().
  virtual void append(std::vector<Message> msgs, std::shared_ptr<const void> keepalive,
                      std::function<void()> stored, AppendDone done) = 0;
  // What an append waits for after the local store, for a timeout's remark ("no slave
  // acknowledged the message"); empty when it waits for nothing. A literal: no allocation per
  // send.
  virtual std::string_view awaits() const = 0;
  // Consumers read records below this offset only (the log end when nothing bounds them).
  virtual uint64_t read_bound() const = 0;

  // --- The name servers and operators ---
  // The address slaves replicate from ("" when the mode has none to register).
  virtual std::string ha_address() const = 0;
  // A name server's answer to a registration sent with `epoch`.
  virtual void on_registered(const protocol::RegisterBrokerResponseT& r, int64_t epoch) = 0;
  // The master's broker address, as the name servers last said ("" on the master or unknown).
  virtual std::string master_address() const = 0;
  // PROMOTE_SLAVE, GET_DLEDGER_STATUS, DLEDGER_TRANSFER_LEADER: the mode's own operations
  // (each mode refuses the other's with a remark that names the one to use).
  virtual void process_admin(const ConnectionPtr& conn, RemotingCommand req) = 0;
  // GET_HA_STATUS: role, offsets and (master/slave) epochs and slaves.
  virtual protocol::HaStatusT status() const = 0;
};

// Prints a lifecycle event ("comet-broker <line>") to stdout, beside the ready line: scripts
// and tests wait on these.
void announce(const std::string& line);
// Where the store's index stops: its committed offset when bounded, else the log end.
uint64_t store_read_bound(commitlog::MessageStore& store);

}  // namespace comet::broker
