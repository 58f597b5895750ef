#include "broker/role_manager.h"

#include <cstdio>
#include <future>
#include <map>

#include "common/logging.h"
#include "dledger/dledger_commit_log.h"

namespace comet::broker {
namespace {

constexpr std::string_view kRoleKey = "role";
constexpr std::string_view kEpochsKey = "epochs";
constexpr auto kSyncTimeout = std::chrono::milliseconds(3000);

// Lifecycle events go to stdout with the ready line: scripts and tests wait on them.
void announce(const std::string& line) {
  std::printf("comet-broker %s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

RoleManager::RoleManager(BrokerContext& ctx, MetadataStore& metadata)
    : ctx_(ctx), metadata_(metadata) {}

RoleManager::~RoleManager() {
  stop();
}

int64_t RoleManager::epoch() const {
  if (ctx_.dledger != nullptr) return is_master() ? ctx_.dledger->term() : 0;
  std::lock_guard lock(mu_);
  return epochs_.last_epoch();
}

std::string RoleManager::ha_address() const {
  if (ctx_.dledger != nullptr) return "";  // no HA port: the Raft group replicates
  return ctx_.config.broker_ip1 + ":" + std::to_string(ha_port());
}

ha::HaOptions RoleManager::ha_options() const {
  ha::HaOptions opts;
  opts.cluster_name = ctx_.config.broker_cluster_name;
  opts.broker_name = ctx_.config.broker_name;
  opts.transfer_batch_bytes = ctx_.config.ha_transfer_batch_size;
  opts.max_gap_not_in_sync = ctx_.config.ha_max_gap_not_in_sync;
  opts.heartbeat_interval_ms = ctx_.config.ha_heartbeat_interval_ms;
  opts.housekeeping_interval_ms = ctx_.config.ha_housekeeping_interval_ms;
  return opts;
}

Status RoleManager::persist_locked() {
  MetadataBatch b;
  b.put(Family::kHa, std::string(kRoleKey),
        std::string(broker_role_name(role_.load())) + ":" + std::to_string(broker_id_.load()));
  b.put(Family::kHa, std::string(kEpochsKey), epochs_.serialize());
  return metadata_.write(b, /*sync=*/true);
}

Status RoleManager::start_dledger() {
  role_ = BrokerRole::kSlave;
  broker_id_ = ctx_.config.dledger.self_index() + 1;
  confirmed_ = true;  // the Raft group, not the name server, decides who writes
  sync_client_ = std::make_unique<remoting::RemotingClient>();
  sync_timer_ = std::make_unique<asio::steady_timer>(*ctx_.io);
  ctx_.dledger->set_role_listener([this](bool leader, int64_t term, const std::string& leader_id) {
    on_dledger_role(leader, term, leader_id);
  });
  COMET_RETURN_IF_ERROR(ctx_.dledger->start(*ctx_.store));
  asio::post(*ctx_.io, [this] { schedule_slave_sync(); });
  logger("broker")->info("DLedger member {} of group {} (brokerId {} until it leads)",
                         ctx_.config.dledger.self_id, ctx_.config.dledger.group, broker_id());
  return Status::ok();
}

void RoleManager::on_dledger_role(bool leader, int64_t term, const std::string& leader_id) {
  if (stopped_) return;
  const bool was = is_master();
  if (leader) {
    if (!was) adopt_logged_topics();
    broker_id_ = 0;
    role_ = BrokerRole::kAsyncMaster;
  } else {
    role_ = BrokerRole::kSlave;
    broker_id_ = ctx_.config.dledger.self_index() + 1;
  }
  if (!leader_id.empty() && leader_id != dledger_leader_) {
    dledger_leader_ = leader_id;
    announce("DLedger group " + ctx_.config.dledger.group + " is led by " + leader_id +
             " in term " + std::to_string(term));
  }
  if (reregister_) reregister_();
}

Status RoleManager::start(std::function<void()> reregister) {
  auto log = logger("broker");
  reregister_ = std::move(reregister);
  if (ctx_.dledger != nullptr) return start_dledger();
  role_ = ctx_.config.broker_role;
  broker_id_ = ctx_.config.broker_id;
  // A role changed by a promotion or demotion outlives restarts; the file's role is only the
  // starting point of a fresh store.
  if (auto saved = metadata_.get(Family::kHa, kRoleKey); saved.is_ok()) {
    const std::string& v = saved.value();
    const size_t colon = v.find(':');
    auto role = parse_broker_role(v.substr(0, colon));
    if (colon == std::string::npos || !role.is_ok()) {
      return Status::corruption("bad stored role '" + v + "'");
    }
    if (role.value() != ctx_.config.broker_role) {
      log->warn("starting as {} (stored after a failover), not as the configured {}",
                broker_role_name(role.value()), broker_role_name(ctx_.config.broker_role));
    }
    role_ = role.value();
    broker_id_ = std::stoll(v.substr(colon + 1));
  } else if (saved.status().code() != Code::kNotFound) {
    return saved.status();
  }
  {
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
    COMET_RETURN_IF_ERROR(persist_locked());
  }

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
  COMET_RETURN_IF_ERROR(service_->start(ctx_.config.bind_address, ctx_.config.ha_listen_port));
  restart_replication(role_, ctx_.store->commit_log().max_offset());
  sync_client_ = std::make_unique<remoting::RemotingClient>();
  sync_timer_ = std::make_unique<asio::steady_timer>(*ctx_.io);
  confirmed_ = ctx_.config.namesrv_addrs().empty();
  if (!is_master()) {
    std::lock_guard lock(mu_);
    start_client_locked(ctx_.config.ha_master_address);
  }
  asio::post(*ctx_.io, [this] { schedule_slave_sync(); });
  log->info("role {} (brokerId {}), epoch {}, HA port {}", broker_role_name(role()), broker_id(),
            epoch(), ha_port());
  return Status::ok();
}

void RoleManager::stop() {
  if (stopped_.exchange(true)) return;
  std::unique_ptr<ha::HAClient> client;
  {
    std::lock_guard lock(mu_);
    client = std::move(client_);
  }
  if (client) client->stop();
  if (sync_timer_) {
    std::promise<void> done;
    asio::post(*ctx_.io, [&] {
      sync_timer_->cancel();
      done.set_value();
    });
    if (done.get_future().wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      logger("broker")->warn("slave sync timer did not stop in time");
    }
  }
  if (service_) service_->stop();
  if (sync_client_) sync_client_->shutdown();
}

void RoleManager::start_client_locked(const std::string& master_ha_addr) {
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
      asio::post(*ctx_.io, [this] { slave_sync(); });  // configs now, not at the next interval
      announce("streaming from master " + master + " at offset " + std::to_string(offset));
    });
    client_->start();
  }
  if (!master_ha_addr.empty()) client_->set_master(master_ha_addr);
}

void RoleManager::on_registered(const protocol::RegisterBrokerResponseT& r, int64_t epoch) {
  if (stopped_) return;
  if (ctx_.dledger != nullptr) {
    std::lock_guard lock(mu_);
    master_addr_ = r.master_addr;  // the leader, for the topic and offset sync
    return;
  }
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
  }
}

void RoleManager::demote(int64_t new_id, const std::string& master_ha_addr, int64_t master_epoch) {
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
  if (reregister_) reregister_();
}

Status RoleManager::promote(int64_t min_epoch, const std::string& role_name, std::string* detail) {
  std::unique_ptr<ha::HAClient> client;
  BrokerRole new_role;
  int64_t new_epoch;
  uint64_t start;
  {
    std::lock_guard lock(mu_);
    if (is_master()) return Status::invalid_argument("already the master");
    std::string name = role_name.empty() ? master_role_ : role_name;
    if (name.empty()) {
      name = ctx_.config.broker_role == BrokerRole::kSlave
                 ? "ASYNC_MASTER"
                 : std::string(broker_role_name(ctx_.config.broker_role));
    }
    COMET_ASSIGN_OR_RETURN(new_role, parse_broker_role(name));
    if (new_role == BrokerRole::kSlave) {
      return Status::invalid_argument("promote to ASYNC_MASTER or SYNC_MASTER, not SLAVE");
    }
    client = std::move(client_);
  }
  // Stop following first: nothing of the old master may land after the new epoch starts.
  if (client) client->stop();
  {
    std::lock_guard lock(mu_);
    start = ctx_.store->commit_log().max_offset();
    new_epoch = std::max(min_epoch, epochs_.max_seen() + 1);
    COMET_RETURN_IF_ERROR(epochs_.start_epoch(new_epoch, start));
    restart_replication(new_role, start);
    adopt_logged_topics();
    broker_id_ = 0;
    role_ = new_role;
    confirmed_ = ctx_.config.namesrv_addrs().empty();
    COMET_RETURN_IF_ERROR(persist_locked());
  }
  *detail = "promoted to " + std::string(broker_role_name(new_role)) + " of epoch " +
            std::to_string(new_epoch) + " at offset " + std::to_string(start);
  logger("broker")->warn("{}", *detail);
  if (reregister_) reregister_();
  return Status::ok();
}

void RoleManager::restart_replication(BrokerRole role, uint64_t start) {
  service_->reset_replicated(start);
  if (role == BrokerRole::kSyncMaster) {
    ctx_.store->bound_to_committed(start);
  } else if (role == BrokerRole::kAsyncMaster) {
    ctx_.store->unbound();
  }
}

void RoleManager::adopt_logged_topics() {
  // Topics the log holds but whose config never reached this slave (created on the master
  // just before it died) become topics here, with the queues the log shows.
  std::map<std::string, uint32_t> queues;
  for (const auto& k : ctx_.store->queues()) {
    uint32_t& n = queues[k.topic];
    n = std::max(n, k.queue_id + 1);
  }
  for (const auto& [topic, n] : queues) {
    if (ctx_.topics->find(topic)) continue;
    TopicConfig c;
    c.name = topic;
    c.read_queue_nums = c.write_queue_nums = std::max(n, ctx_.config.default_topic_queue_nums);
    auto r = ctx_.topics->create_or_update(c);
    logger("broker")->warn("topic {} found in the log without a config: created with {} queues{}",
                           topic, c.read_queue_nums,
                           r.is_ok() ? "" : " failed: " + r.status().to_string());
  }
}

void RoleManager::process_dledger(const ConnectionPtr& conn, RemotingCommand req) {
  if (ctx_.dledger == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "broker " + ctx_.config.broker_name + " does not run DLedger");
  }
  if (req.code() == static_cast<int32_t>(RequestCode::GET_DLEDGER_STATUS)) {
    auto s = ctx_.dledger->status();
    if (!s.is_ok()) return reply(conn, req, ResponseCode::SYSTEM_ERROR, s.status().message());
    auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
    resp.set_ext(std::move(s).value());
    conn->send(std::move(resp));
    return;
  }
  const auto* t = req.ext<protocol::TransferLeaderRequestT>();
  if (t == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST, "DLEDGER_TRANSFER_LEADER lacks its header");
  }
  const std::string target = t->target_id;
  ctx_.dledger->transfer_leadership(target, [conn, req = std::move(req), target](Status s) {
    if (s.is_ok()) return reply(conn, req, ResponseCode::SUCCESS, target + " leads");
    reply(conn, req,
          s.code() == Code::kInvalidArgument ? ResponseCode::BAD_REQUEST
                                             : ResponseCode::SERVICE_NOT_AVAILABLE,
          s.message());
  });
}

void RoleManager::process(const ConnectionPtr& conn, RemotingCommand req) {
  if (req.code() == static_cast<int32_t>(RequestCode::GET_DLEDGER_STATUS) ||
      req.code() == static_cast<int32_t>(RequestCode::DLEDGER_TRANSFER_LEADER)) {
    return process_dledger(conn, std::move(req));
  }
  if (ctx_.dledger != nullptr && req.code() == static_cast<int32_t>(RequestCode::PROMOTE_SLAVE)) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "a DLedger group elects its leader: use transferLeader instead of promoteSlave");
  }
  if (req.code() == static_cast<int32_t>(RequestCode::GET_HA_STATUS)) {
    auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
    resp.set_ext(status());
    conn->send(std::move(resp));
    return;
  }
  const auto* p = req.ext<protocol::PromoteSlaveRequestT>();
  if (p == nullptr)
    return reply(conn, req, ResponseCode::BAD_REQUEST, "PROMOTE_SLAVE lacks its header");
  // Stopping the HA client waits for its own I/O thread only: fine on this one.
  std::string detail;
  Status s = promote(p->epoch, p->role, &detail);
  if (s.is_ok()) {
    reply(conn, req, ResponseCode::SUCCESS, detail);
  } else {
    reply(conn, req, ResponseCode::BAD_REQUEST, s.message());
  }
}

protocol::HaStatusT RoleManager::status() const {
  protocol::HaStatusT s;
  s.role = std::string(broker_role_name(role()));
  s.broker_id = broker_id();
  s.max_offset = static_cast<int64_t>(ctx_.store->commit_log().max_offset());
  s.writable = writable();
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
  if (is_master() && service_) {
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
  return s;
}

void RoleManager::schedule_slave_sync() {
  if (stopped_) return;
  sync_timer_->expires_after(std::chrono::milliseconds(ctx_.config.slave_sync_interval_ms));
  sync_timer_->async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    slave_sync();
    schedule_slave_sync();
  });
}

void RoleManager::slave_sync() {
  std::string master;
  {
    std::lock_guard lock(mu_);
    master = master_addr_;
  }
  if (is_master() || master.empty()) return;
  // Topic configs: the master's are the truth (a slave serves reads of them).
  sync_client_->invoke_async(
      master, RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG), kSyncTimeout,
      [this](Result<RemotingCommand> r) {
        if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) return;
        const auto* list = r->ext<protocol::TopicConfigListT>();
        if (list == nullptr || is_master()) return;
        // create_or_update writes only what differs.
        for (const auto& t : list->configs) {
          if (t) (void)ctx_.topics->create_or_update(TopicConfig::from_protocol(*t));
        }
      });
  // Consumer offsets, both ways: the larger wins (commits only move forward).
  sync_client_->invoke_async(
      master, RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET), kSyncTimeout,
      [this, master](Result<RemotingCommand> r) {
        if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) return;
        const auto* list = r->ext<protocol::ConsumerOffsetListT>();
        if (list == nullptr || is_master()) return;
        std::map<std::string, uint64_t> theirs;
        for (const auto& e : list->entries) {
          if (!e || e->queue_id < 0 || e->offset < 0) continue;
          theirs[ConsumerOffsetManager::key(e->consumer_group, e->topic,
                                            static_cast<uint32_t>(e->queue_id))] =
              static_cast<uint64_t>(e->offset);
          (void)ctx_.offsets->commit(e->consumer_group, e->topic,
                                     static_cast<uint32_t>(e->queue_id),
                                     static_cast<uint64_t>(e->offset));
        }
        for (const auto& mine : ctx_.offsets->all()) {
          auto it = theirs.find(ConsumerOffsetManager::key(mine.group, mine.topic, mine.queue_id));
          if (it != theirs.end() && it->second >= mine.offset) continue;
          auto req = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET);
          protocol::ConsumerOffsetRequestT u;
          u.consumer_group = mine.group;
          u.topic = mine.topic;
          u.queue_id = static_cast<int32_t>(mine.queue_id);
          u.commit_offset = static_cast<int64_t>(mine.offset);
          req.set_ext(std::move(u));
          (void)sync_client_->invoke_oneway(master, std::move(req));
        }
      });
}

}  // namespace comet::broker
