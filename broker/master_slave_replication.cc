#include "broker/master_slave_replication.h"

#include <charconv>

#include "common/logging.h"

namespace comet::broker {
namespace {

constexpr std::string_view kRoleKey = "role";
constexpr std::string_view kEpochsKey = "epochs";

}  // namespace

MasterSlaveReplication::MasterSlaveReplication(BrokerContext& ctx, MetadataStore& metadata)
    : ctx_(ctx), metadata_(metadata) {}

MasterSlaveReplication::~MasterSlaveReplication() {
  stop();
}

int64_t MasterSlaveReplication::epoch() const {
  std::lock_guard lock(mu_);
  return epochs_.last_epoch();
}

Status MasterSlaveReplication::check_writable() const {
  if (!is_master()) {
    return Status::unavailable("broker " + ctx_.config.broker_addr() +
                               " is a slave and takes no writes");
  }
  if (!confirmed_.load()) {
    return Status::unavailable("broker " + ctx_.config.broker_addr() +
                               " is not yet confirmed by a name server as master of its epoch");
  }
  return Status::ok();
}

std::string MasterSlaveReplication::ha_address() const {
  return ctx_.config.broker_ip1 + ":" + std::to_string(ha_port());
}

std::string MasterSlaveReplication::master_address() const {
  std::lock_guard lock(mu_);
  return master_addr_;
}

ha::HaOptions MasterSlaveReplication::ha_options() const {
  ha::HaOptions opts;
  opts.cluster_name = ctx_.config.broker_cluster_name;
  opts.broker_name = ctx_.config.broker_name;
  opts.transfer_batch_bytes = ctx_.config.ha_transfer_batch_size;
  opts.max_gap_not_in_sync = ctx_.config.ha_max_gap_not_in_sync;
  opts.heartbeat_interval_ms = ctx_.config.ha_heartbeat_interval_ms;
  opts.housekeeping_interval_ms = ctx_.config.ha_housekeeping_interval_ms;
  if (ctx_.cluster_links != nullptr) opts.security = *ctx_.cluster_links;
  return opts;
}

Status MasterSlaveReplication::persist_locked() {
  MetadataBatch b;
  b.put(Family::kHa, std::string(kRoleKey),
        std::string(broker_role_name(role_.load())) + ":" + std::to_string(broker_id_.load()));
  b.put(Family::kHa, std::string(kEpochsKey), epochs_.serialize());
  return metadata_.write(b, /*sync=*/true);
}

// A role changed by a promotion or demotion outlives restarts; the file's role is only the
// starting point of a fresh store.
Status MasterSlaveReplication::load_persisted_role() {
  role_ = ctx_.config.broker_role;
  broker_id_ = ctx_.config.broker_id;
  auto saved = metadata_.get(Family::kHa, kRoleKey);
  if (!saved.is_ok()) {
    return saved.status().code() == Code::kNotFound ? Status::ok() : saved.status();
  }
  const std::string& v = saved.value();
  const size_t colon = v.find(':');
  auto role = parse_broker_role(v.substr(0, colon));
  int64_t id = 0;
  const char* id_end = v.data() + v.size();
  if (colon == std::string::npos || !role.is_ok() ||
      std::from_chars(v.data() + colon + 1, id_end, id).ptr != id_end || colon + 1 == v.size()) {
    return Status::corruption("bad stored role '" + v + "'");
  }
  if (role.value() != ctx_.config.broker_role) {
    logger("broker")->warn("starting as {} (stored after a failover), not as the configured {}",
                           broker_role_name(role.value()),
                           broker_role_name(ctx_.config.broker_role));
  }
  role_ = role.value();
  broker_id_ = id;
  return Status::ok();
}

Status MasterSlaveReplication::load_epochs() {
  std::lock_guard lock(mu_);
  if (auto saved = metadata_.get(Family::kHa, kEpochsKey); saved.is_ok()) {
    COMET_ASSIGN_OR_RETURN(epochs_, ha::EpochCache::parse(saved.value()));
  } else if (saved.status().code() != Code::kNotFound) {
    return saved.status();
  }
  if (is_master() && epochs_.entries().empty()) {
    COMET_RETURN_IF_ERROR(epochs_.start_epoch(std::max<int64_t>(1, epochs_.max_seen() + 1),
                                              ctx_.store->commit_log().max_offset()));
  }
  return persist_locked();
}

void MasterSlaveReplication::start_service() {
  service_ = std::make_unique<ha::HAService>(
      *ctx_.store, ha_options(),
      [this] {
        ha::HAService::MasterView v;
        v.is_master = is_master();
        std::lock_guard lock(mu_);
        v.epoch = epochs_.last_epoch();
        v.epochs = epochs_.entries();
        v.role = std::string(broker_role_name(role_.load()));
        return v;
      },
      [this](int64_t higher) {
        logger("broker")->error("a slave has seen epoch {}: this master is stale; writes stop",
                                higher);
        confirmed_ = false;
        std::lock_guard lock(mu_);
        epochs_.observe(higher);
        (void)persist_locked();
      });
  service_->set_slave_listener([](const std::string& slave, uint64_t offset) {
    announce("slave " + slave + " in sync from offset " + std::to_string(offset));
  });
}

Status MasterSlaveReplication::start(ReplicationHooks hooks) {
  hooks_ = std::move(hooks);
  COMET_RETURN_IF_ERROR(load_persisted_role());
  COMET_RETURN_IF_ERROR(load_epochs());
  start_service();
  COMET_RETURN_IF_ERROR(service_->start(ctx_.config.bind_address, ctx_.config.ha_listen_port));
  ctx_.config.ha_listen_port = ha_port();  // the port bound, when haListenPort=0 picked one
  restart_replication(role_, ctx_.store->commit_log().max_offset());
  confirmed_ = ctx_.config.namesrv_addrs().empty();
  if (!is_master()) {
    std::lock_guard lock(mu_);
    start_client_locked(ctx_.config.ha_master_address);
  }
  logger("broker")->info("role {} (brokerId {}), epoch {}, HA port {}", broker_role_name(role()),
                         broker_id(), epoch(), ha_port());
  return Status::ok();
}

void MasterSlaveReplication::stop() {
  if (stopped_.exchange(true)) return;
  std::unique_ptr<ha::HAClient> client;
  {
    std::lock_guard lock(mu_);
    client = std::move(client_);
  }
  if (client) client->stop();
  if (service_) service_->stop();
}

void MasterSlaveReplication::append(std::vector<Message> msgs,
                                    std::shared_ptr<const void> /*keepalive*/,
                                    std::function<void()> stored, AppendDone done) {
  // Checked again here: a demotion may have come between the sender's check and this append.
  if (Status writable = check_writable(); !writable.is_ok()) {
    return done({std::move(writable), AppendFailure::kRefused, {}});
  }
  const bool sync_master = role() == BrokerRole::kSyncMaster;
  if (sync_master && !service_->has_in_sync_slave()) {
    return done(
        {Status::unavailable("SYNC_MASTER " + ctx_.config.broker_name + " has no slave in sync"),
         AppendFailure::kNoReplicaInSync,
         {}});
  }
  // The store copies the messages before it returns: the body they point into may go after.
  ctx_.store->put_messages_async(msgs, [this, sync_master, stored = std::move(stored),
                                        done = std::move(done)](
                                           Result<std::vector<commitlog::AppendResult>> r) {
    if (!r.is_ok()) return done({r.status(), AppendFailure::kNone, {}});
    if (!sync_master) return done({Status::ok(), AppendFailure::kNone, std::move(r).value()});
    // SYNC_MASTER: the answer waits until a slave holds everything up to the last message.
    stored();
    const uint64_t end = r->back().end_offset();
    service_->replicated().on_reach(end, [done, results = std::move(r).value()](Status s) {
      if (s.is_ok()) return done({Status::ok(), AppendFailure::kNone, results});
      done({Status::unavailable("stored on the master, but no slave is in sync: " + s.message()),
            AppendFailure::kNoReplicaInSync, results});
    });
  });
}

std::string_view MasterSlaveReplication::awaits() const {
  return role() == BrokerRole::kSyncMaster ? "no slave acknowledged the message" : "";
}

uint64_t MasterSlaveReplication::read_bound() const {
  return store_read_bound(*ctx_.store);
}

void MasterSlaveReplication::start_client_locked(const std::string& master_ha_addr) {
  if (!client_) {
    client_ = std::make_unique<ha::HAClient>(
        *ctx_.store, ha_options(), ha::HAClient::Identity{broker_id(), ctx_.config.broker_addr()},
        [this] {
          std::lock_guard lock(mu_);
          return epochs_;
        },
        [this](const std::vector<ha::EpochEntry>& epochs, int64_t master_epoch,
               const std::string& master_role) {
          std::lock_guard lock(mu_);
          epochs_.adopt(epochs);
          epochs_.observe(master_epoch);
          master_role_ = master_role;
          Status s = persist_locked();
          if (!s.is_ok()) logger("broker")->error("cannot persist epochs: {}", s.to_string());
        });
    client_->set_stream_listener([this](const std::string& master, uint64_t offset) {
      if (hooks_.following) hooks_.following();
      announce("streaming from master " + master + " at offset " + std::to_string(offset));
    });
    client_->start();
  }
  if (!master_ha_addr.empty()) client_->set_master(master_ha_addr);
}

void MasterSlaveReplication::on_registered(const protocol::RegisterBrokerResponseT& r,
                                           int64_t epoch) {
  if (stopped_) return;
  if (r.fenced && is_master()) {
    demote(r.assigned_broker_id, r.ha_server_addr, r.master_epoch);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (r.master_epoch > epochs_.max_seen()) {
      epochs_.observe(r.master_epoch);
      (void)persist_locked();
    }
    if (!is_master()) {
      master_addr_ = r.master_addr;
      if (!r.ha_server_addr.empty()) start_client_locked(r.ha_server_addr);
    }
  }
  // Registered as master for the epoch we still hold: writes may flow.
  if (is_master() && epoch == this->epoch() && !confirmed_.exchange(true)) {
    logger("broker")->info("name server confirmed this broker as master of epoch {}", epoch);
    announce("confirmed master of epoch " + std::to_string(epoch));
    if (hooks_.writable) hooks_.writable();
  }
}

void MasterSlaveReplication::demote(int64_t new_id, const std::string& master_ha_addr,
                                    int64_t master_epoch) {
  auto log = logger("broker");
  confirmed_ = false;
  {
    std::lock_guard lock(mu_);
    if (!is_master()) return;
    log->warn(
        "fenced: the group's master runs epoch {} (ours {}); becoming slave {} of {} and "
        "dropping any tail it does not have",
        master_epoch, epochs_.last_epoch(), new_id, master_ha_addr.empty() ? "?" : master_ha_addr);
    role_ = BrokerRole::kSlave;
    broker_id_ = std::max<int64_t>(1, new_id);
    epochs_.observe(master_epoch);
    Status s = persist_locked();
    if (!s.is_ok()) log->error("cannot persist the demotion: {}", s.to_string());
  }
  service_->drop_slaves();
  restart_replication(BrokerRole::kSlave, ctx_.store->commit_log().max_offset());
  std::unique_ptr<ha::HAClient> old;  // made for another id; stopped outside the lock
  {
    std::lock_guard lock(mu_);
    old = std::move(client_);
  }
  if (old) old->stop();
  {
    std::lock_guard lock(mu_);
    start_client_locked(master_ha_addr);
  }
  if (hooks_.role_changed) hooks_.role_changed();
}

// The role a promotion asks for: the named one, else the role of the master this slave
// followed last, else the configured one (a configured SLAVE becomes ASYNC_MASTER).
Result<BrokerRole> MasterSlaveReplication::promotion_role(const std::string& role_name) const {
  std::string name = role_name.empty() ? master_role_ : role_name;
  if (name.empty()) {
    name = ctx_.config.broker_role == BrokerRole::kSlave
               ? "ASYNC_MASTER"
               : std::string(broker_role_name(ctx_.config.broker_role));
  }
  COMET_ASSIGN_OR_RETURN(BrokerRole role, parse_broker_role(name));
  if (role == BrokerRole::kSlave) {
    return Status::invalid_argument("promote to ASYNC_MASTER or SYNC_MASTER, not SLAVE");
  }
  return role;
}

Status MasterSlaveReplication::promote(int64_t min_epoch, const std::string& role_name,
                                       std::string* detail) {
  std::unique_ptr<ha::HAClient> client;
  BrokerRole new_role;
  {
    std::lock_guard lock(mu_);
    if (is_master()) return Status::invalid_argument("already the master");
    COMET_ASSIGN_OR_RETURN(new_role, promotion_role(role_name));
    client = std::move(client_);
  }
  // Stop following first: nothing of the old master may land after the new epoch starts.
  if (client) client->stop();
  if (hooks_.becoming_master) hooks_.becoming_master();
  int64_t new_epoch;
  uint64_t start;
  {
    std::lock_guard lock(mu_);
    start = ctx_.store->commit_log().max_offset();
    new_epoch = std::max(min_epoch, epochs_.max_seen() + 1);
    COMET_RETURN_IF_ERROR(epochs_.start_epoch(new_epoch, start));
    restart_replication(new_role, start);
    broker_id_ = 0;
    role_ = new_role;
    confirmed_ = ctx_.config.namesrv_addrs().empty();
    COMET_RETURN_IF_ERROR(persist_locked());
  }
  *detail = "promoted to " + std::string(broker_role_name(new_role)) + " of epoch " +
            std::to_string(new_epoch) + " at offset " + std::to_string(start);
  logger("broker")->warn("{}", *detail);
  if (hooks_.role_changed) hooks_.role_changed();
  if (confirmed_.load() && hooks_.writable) hooks_.writable();  // no name server to confirm it
  return Status::ok();
}

void MasterSlaveReplication::restart_replication(BrokerRole role, uint64_t start) {
  service_->reset_replicated(start);
  if (role == BrokerRole::kSyncMaster) {
    ctx_.store->bound_to_committed(start);
  } else if (role == BrokerRole::kAsyncMaster) {
    ctx_.store->unbound();
  }
}

void MasterSlaveReplication::process_admin(const ConnectionPtr& conn, RemotingCommand req) {
  if (req.code() != static_cast<int32_t>(RequestCode::PROMOTE_SLAVE)) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "broker " + ctx_.config.broker_name + " does not run DLedger");
  }
  const auto* p = req.ext<protocol::PromoteSlaveRequestT>();
  if (p == nullptr)
    return reply(conn, req, ResponseCode::BAD_REQUEST, "PROMOTE_SLAVE lacks its header");
  // Stopping the HA client waits for its own I/O thread only: fine on this one.
  std::string detail;
  Status s = promote(p->epoch, p->role, &detail);
  reply(conn, req, s.is_ok() ? ResponseCode::SUCCESS : ResponseCode::BAD_REQUEST,
        s.is_ok() ? detail : s.message());
}

protocol::HaStatusT MasterSlaveReplication::status() const {
  protocol::HaStatusT s;
  s.role = std::string(broker_role_name(role()));
  s.broker_id = broker_id();
  s.max_offset = static_cast<int64_t>(ctx_.store->commit_log().max_offset());
  s.writable = check_writable().is_ok();
  {
    std::lock_guard lock(mu_);
    s.epoch = epochs_.last_epoch();
    s.epochs = ha::to_protocol(epochs_.entries());
    if (client_) {
      auto c = client_->state();
      s.master_ha_addr = c.master;
      s.connected = c.streaming;
      s.master_max_offset = static_cast<int64_t>(c.master_max_offset);
    }
  }
  if (is_master() && service_) fill_slave_status(s);
  return s;
}

void MasterSlaveReplication::fill_slave_status(protocol::HaStatusT& s) const {
  s.replicated_offset = static_cast<int64_t>(service_->replicated().get());
  for (const auto& i : service_->slaves()) {
    auto p = std::make_unique<protocol::HaSlaveStatusT>();
    p->broker_addr = i.broker_addr;
    p->remote_addr = i.remote_addr;
    p->broker_id = i.broker_id;
    p->acked_offset = static_cast<int64_t>(i.acked_offset);
    p->lag_bytes = static_cast<int64_t>(i.lag_bytes);
    p->in_sync = i.in_sync;
    p->last_ack_ms_ago = i.last_ack_ms_ago;
    s.slaves.push_back(std::move(p));
  }
}

}  // namespace comet::broker
