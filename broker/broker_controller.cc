#include "broker/broker_controller.h"

#include <arpa/inet.h>

#include <future>

#include "broker/request_access.h"
#include "broker/retention_accounting.h"
#include "common/logging.h"

namespace comet::broker {
namespace {

constexpr auto kNamesrvTimeout = std::chrono::milliseconds(3000);

HostAddress host_address(const std::string& ip, uint16_t port) {
  in_addr a{};
  HostAddress h;
  if (::inet_pton(AF_INET, ip.c_str(), &a) == 1) h.ipv4 = ntohl(a.s_addr);
  h.port = port;
  return h;
}

// With aclEnable, the HA and Raft ports admit only requests signed with the cluster credential
// (what the broker's own links sign with): a stranger can neither attach as a slave, fence the
// master with a high epoch, nor vote or campaign in the Raft group. Null without aclEnable.
std::shared_ptr<remoting::AclGate> cluster_only_gate(const remoting::SecurityConfig& config,
                                                     const remoting::LinkSecurity& links) {
  if (!config.acl_enable || !links.client.signer) return nullptr;
  return remoting::AclGate::cluster_only(links.client.signer->credentials(),
                                         config.acl_signature_window_ms, "broker");
}

}  // namespace

BrokerController::BrokerController(const BrokerConfig& config) {
  ctx_.config = config;
}

Result<std::unique_ptr<BrokerController>> BrokerController::create(const BrokerConfig& config) {
  COMET_RETURN_IF_ERROR(config.validate());
  std::unique_ptr<BrokerController> b(new BrokerController(config));
  COMET_ASSIGN_OR_RETURN(b->metadata_, MetadataStore::open(config.store.store_path_root_dir));
  COMET_ASSIGN_OR_RETURN(b->topics_, TopicConfigManager::load(*b->metadata_));
  COMET_ASSIGN_OR_RETURN(b->offsets_, ConsumerOffsetManager::load(*b->metadata_));
  COMET_ASSIGN_OR_RETURN(b->groups_, SubscriptionGroupManager::load(*b->metadata_));
  b->clients_ = std::make_unique<ClientManager>();
  b->stats_ = std::make_unique<BrokerStats>();
  b->locks_ = std::make_unique<RebalanceLockManager>(config.rebalance_lock_max_live_time_ms);

  remoting::ServerOptions opts;
  opts.bind_address = config.bind_address;
  opts.port = config.listen_port;
  opts.io_threads = static_cast<int>(config.io_threads);
  opts.connection.max_frame_bytes = config.max_frame_bytes;
  opts.connection.send_queue_max_bytes = config.send_queue_max_bytes;
  config.server_limits.apply(opts);
  COMET_ASSIGN_OR_RETURN(b->links_, remoting::LinkSecurity::from_config(config.security));
  if (config.security.acl_enable) {
    // Every request on the client port passes it (a missing or bad aclFile fails startup).
    COMET_ASSIGN_OR_RETURN(b->acl_gate_, remoting::AclGate::from_config(config.security, "broker",
                                                                        &broker_required_access));
    b->links_.gate = b->acl_gate_;
  }
  b->links_.apply_to_server(opts);
  b->cluster_gate_ = cluster_only_gate(config.security, b->links_);
  b->cluster_links_ = b->links_.with_gate(b->cluster_gate_);
  b->server_ = std::make_unique<remoting::RemotingServer>(opts);
  // A member whose connection closes leaves its groups at once, as on RocketMQ's broker: the
  // others take its queues now, not after client expiry.
  b->server_->set_close_handler(
      [clients = b->clients_.get()](remoting::Connection* c) { clients->connection_closed(c); });
  return b;
}

dledger::DLedgerOptions BrokerController::dledger_options() const {
  dledger::DLedgerOptions options = ctx_.config.dledger;
  options.security = cluster_links_;
  return options;
}

BrokerController::~BrokerController() {
  shutdown();
  if (stopped_) return;
  // A start that failed half way left threads running (the server's I/O threads, the store's
  // dispatcher, replication's own) that would call into the parts about to be destroyed: stop
  // them first, as shutdown() does for a broker that started.
  if (replication_) replication_->stop();
  if (acl_gate_) acl_gate_->stop();
  if (cluster_gate_) cluster_gate_->stop();
  if (server_) server_->stop();
  if (store_) (void)store_->shutdown();
}

std::string BrokerController::address() const {
  return ctx_.config.broker_ip1 + ":" + std::to_string(port());
}

Status BrokerController::start() {
  auto log = logger("broker");
  COMET_RETURN_IF_ERROR(server_->start());
  if (acl_gate_) acl_gate_->start(server_->io_context().get_executor());
  // The store learns its host (for message ids) once the port is known.
  ctx_.config.listen_port = server_->port();
  ctx_.store_host = host_address(ctx_.config.broker_ip1, server_->port());
  std::optional<uint64_t> committed;
  std::unique_ptr<dledger::DLedgerCommitLog> raft_log;
  if (ctx_.config.enable_dleger_commit_log) {
    // The Raft metadata first: it tells the store how far its log is committed.
    COMET_ASSIGN_OR_RETURN(
        raft_log, dledger::DLedgerCommitLog::open(
                      dledger_options(), ctx_.config.store.store_path_root_dir + "/dledger"));
    committed = raft_log->committed_offset();
  }
  COMET_ASSIGN_OR_RETURN(store_,
                         commitlog::MessageStore::open(ctx_.config.store, SystemClock::instance(),
                                                       ctx_.store_host, committed));
  holds_ = std::make_unique<PullRequestHoldService>(
      server_->io_context(),
      [this](std::string_view topic, uint32_t q) { return store_->max_queue_offset(topic, q); });
  store_->add_arrival_listener([this](std::string_view topic, uint32_t q, uint64_t max) {
    holds_->notify_arrival(topic, q, max);
  });
  store_->set_deletion_listener(retention_accountant(*offsets_, *stats_));
  // A metadata write (offsets, topics, groups) that found the disk full counts as the store's.
  metadata_->set_no_space_listener([store = store_.get()](const Status& s) {
    store->health().on_no_space(0, s, SystemClock::instance().now_ms());
  });
  ctx_.io = &server_->io_context();
  ctx_.store = store_.get();
  ctx_.topics = topics_.get();
  ctx_.offsets = offsets_.get();
  ctx_.groups = groups_.get();
  ctx_.clients = clients_.get();
  ctx_.stats = stats_.get();
  ctx_.holds = holds_.get();
  ctx_.links = &links_;
  ctx_.cluster_links = &cluster_links_;
  // The cluster-only gate forgets replay entries past the signature window on this timer.
  if (cluster_gate_) cluster_gate_->start(server_->io_context().get_executor());
  if (raft_log) {
    replication_ = std::make_unique<DLedgerReplication>(ctx_, std::move(raft_log));
  } else {
    replication_ = std::make_unique<MasterSlaveReplication>(ctx_, *metadata_);
  }
  ctx_.replication = replication_.get();
  metadata_sync_ = std::make_unique<SlaveMetadataSync>(ctx_, *replication_);
  metadata_log_ = std::make_unique<MetadataLog>(ctx_, *replication_, *metadata_);
  COMET_RETURN_IF_ERROR(metadata_log_->attach());
  schedule_ = std::make_unique<ScheduleMessageService>(ctx_, *replication_);
  timers_ = std::make_unique<TimerMessageService>(ctx_, *replication_);
  COMET_RETURN_IF_ERROR(timers_->open());
  transactions_ = std::make_unique<TransactionService>(ctx_, *replication_);
  COMET_RETURN_IF_ERROR(replication_->start(replication_hooks()));
  metadata_sync_->start();
  metadata_log_->start_flushing();
  schedule_->start();
  timers_->start();
  transactions_->start();
  ctx_.topics_changed = [this] { topics_changed(); };
  if (ctx_.config.auto_create_topic_enable) {
    // Producers send topics without a route to the brokers serving TBW102 (as RocketMQ).
    auto tbw = topics_->auto_create("TBW102", ctx_.config.default_topic_queue_nums);
    if (!tbw.is_ok()) return tbw.status();
  }
  send_ = std::make_unique<SendMessageProcessor>(ctx_);
  send_back_ = std::make_unique<SendBackProcessor>(ctx_);
  pull_ = std::make_unique<PullMessageProcessor>(ctx_);
  query_ = std::make_unique<QueryMessageProcessor>(ctx_);
  admin_ = std::make_unique<AdminProcessor>(
      ctx_, [this](std::function<void()> done) { register_all_namesrv(std::move(done)); });
  offset_reset_ = std::make_unique<OffsetResetService>(ctx_);
  group_admin_ = std::make_unique<GroupAdminProcessor>(ctx_);
  lock_batch_ = std::make_unique<LockBatchProcessor>(ctx_, *locks_);
  auto route = [](auto* processor) {
    return [processor](const ConnectionPtr& c, RemotingCommand req) {
      processor->process(c, std::move(req));
    };
  };
  server_->register_handler(RequestCode::SEND_MESSAGE, route(send_.get()));
  server_->register_handler(RequestCode::CONSUMER_SEND_MSG_BACK, route(send_back_.get()));
  server_->register_handler(RequestCode::PULL_MESSAGE, route(pull_.get()));
  // Reads: every role serves them (query_message_processor.h).
  server_->register_handler(RequestCode::QUERY_MESSAGE, route(query_.get()));
  server_->register_handler(RequestCode::VIEW_MESSAGE_BY_ID, route(query_.get()));
  server_->register_handler(RequestCode::END_TRANSACTION,
                            [this](const ConnectionPtr& c, RemotingCommand req) {
                              transactions_->end_transaction(c, std::move(req));
                            });
  server_->register_handler(RequestCode::GET_OPEN_TRANSACTIONS,
                            [this](const ConnectionPtr& c, RemotingCommand req) {
                              transactions_->open_transactions(c, std::move(req));
                            });
  for (RequestCode code :
       {RequestCode::UPDATE_AND_CREATE_TOPIC, RequestCode::DELETE_TOPIC_IN_BROKER,
        RequestCode::GET_ALL_TOPIC_CONFIG, RequestCode::QUERY_CONSUMER_OFFSET,
        RequestCode::UPDATE_CONSUMER_OFFSET, RequestCode::GET_MAX_OFFSET,
        RequestCode::GET_MIN_OFFSET, RequestCode::HEART_BEAT, RequestCode::UNREGISTER_CLIENT,
        RequestCode::GET_CONSUMER_LIST_BY_GROUP, RequestCode::GET_BROKER_RUNTIME_INFO,
        RequestCode::GET_ALL_CONSUMER_OFFSET, RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG}) {
    server_->register_handler(code, route(admin_.get()));
  }
  for (RequestCode code :
       {RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, RequestCode::GET_EARLIEST_MSG_STORETIME,
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET}) {
    server_->register_handler(code, route(offset_reset_.get()));
  }
  for (RequestCode code :
       {RequestCode::DELETE_SUBSCRIPTIONGROUP, RequestCode::GET_CONSUMER_CONNECTION_LIST,
        RequestCode::GET_PRODUCER_CONNECTION_LIST, RequestCode::GET_CONSUME_STATS}) {
    server_->register_handler(code, route(group_admin_.get()));
  }
  for (RequestCode code : {RequestCode::LOCK_BATCH_MQ, RequestCode::UNLOCK_BATCH_MQ}) {
    server_->register_handler(code, route(lock_batch_.get()));
  }
  for (RequestCode code : {RequestCode::PROMOTE_SLAVE, RequestCode::GET_DLEDGER_STATUS,
                           RequestCode::DLEDGER_TRANSFER_LEADER}) {
    server_->register_handler(code, [this](const ConnectionPtr& c, RemotingCommand req) {
      replication_->process_admin(c, std::move(req));
    });
  }
  server_->register_handler(RequestCode::GET_HA_STATUS,
                            [this](const ConnectionPtr& c, RemotingCommand req) {
                              auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
                              resp.set_ext(replication_->status());
                              c->send(std::move(resp));
                            });

  remoting::ClientOptions namesrv_options;
  links_.apply_to_client(namesrv_options.connection);
  namesrv_client_ = std::make_unique<remoting::RemotingClient>(namesrv_options);
  namesrv_addrs_ = ctx_.config.namesrv_addrs();
  namesrv_ok_.assign(namesrv_addrs_.size(), true);
  namesrv_registrations_.assign(namesrv_addrs_.size(), NamesrvRegistration{});
  heartbeat_timer_ = std::make_unique<asio::steady_timer>(server_->io_context());
  started_ = true;
  // Ready means routable: wait (bounded) until every name server has answered the first
  // registration, so a client acting on "ready" finds this broker in the routes.
  auto registered = std::make_shared<std::promise<void>>();
  register_all_namesrv([registered] { registered->set_value(); });
  if (registered->get_future().wait_for(kNamesrvTimeout + std::chrono::milliseconds(500)) !=
      std::future_status::ready) {
    log->warn("first registration with the name servers did not complete in time");
  }
  schedule_heartbeat();
  log->info("broker {} ({} id {}) serving on {} (HA {}), store {}", ctx_.config.broker_name,
            broker_role_name(replication_->role()), replication_->broker_id(), address(),
            replication_->ha_address(), ctx_.config.store.store_path_root_dir);
  return Status::ok();
}

ReplicationHooks BrokerController::replication_hooks() {
  ReplicationHooks hooks;
  hooks.role_changed = [this] {
    // A new role or epoch: the name servers take the whole table again (a promoted slave's
    // topics become the group's routes).
    forget_registrations();
    asio::post(server_->io_context(), [this] { register_all_namesrv(); });
    transactions_->wake();  // a broker that is no longer master drops its transactions
  };
  hooks.becoming_master = [this] {
    // Locks a former term of this broker gave are stale: the members lock again (as RocketMQ's
    // members do on a new master).
    locks_->clear();
    metadata_log_->on_becoming_master();
    metadata_sync_->adopt_logged_topics();
    transactions_->on_becoming_master();
  };
  hooks.following = [this] { metadata_sync_->sync_soon(); };
  hooks.writable = [this] {
    schedule_->wake_all();
    timers_->wake_all();
    transactions_->wake();
  };
  return hooks;
}

// The answers of one register_all_namesrv: the last runs `done`.
struct BrokerController::RegistrationRound {
  RegistrationRound(size_t n, std::function<void()> d) : remaining(n), done(std::move(d)) {}
  void one_done() {
    if (remaining.fetch_sub(1) == 1 && done) done();
  }
  std::atomic<size_t> remaining;
  std::function<void()> done;
};

template <typename Request>
void BrokerController::fill_identity(Request& r) const {
  r.cluster_name = ctx_.config.broker_cluster_name;
  r.broker_addr = ctx_.config.broker_addr();
  r.broker_name = ctx_.config.broker_name;
  r.broker_id = replication_->broker_id();
  r.epoch = replication_->epoch();
  r.ha_server_addr = replication_->ha_address();
  r.max_offset = static_cast<int64_t>(store_->commit_log().max_offset());
  r.heartbeat_timeout_millis = ctx_.config.broker_expiry_ms;
}

protocol::RegisterBrokerRequestT BrokerController::registration(const TopicTable& table) const {
  protocol::RegisterBrokerRequestT r;
  fill_identity(r);
  r.data_version = std::make_unique<protocol::DataVersionT>(table.version.to_protocol());
  r.topic_configs.reserve(table.topics.size());
  for (const auto& t : table.topics) {
    auto pt = std::make_unique<protocol::TopicConfigT>(t.to_protocol());
    // brokerPermission is read once at start: it cannot change the table between versions.
    pt->perm &= static_cast<int32_t>(ctx_.config.broker_permission);
    r.topic_configs.push_back(std::move(pt));
  }
  return r;
}

protocol::BrokerHeartbeatRequestT BrokerController::heartbeat(const DataVersion& accepted) const {
  protocol::BrokerHeartbeatRequestT r;
  fill_identity(r);
  r.data_version = std::make_unique<protocol::DataVersionT>(accepted.to_protocol());
  return r;
}

void BrokerController::register_all_namesrv(std::function<void()> done) {
  if (!started_ || stopped_ || namesrv_addrs_.empty()) {
    if (done) done();
    return;
  }
  auto round = std::make_shared<RegistrationRound>(namesrv_addrs_.size(), std::move(done));
  const DataVersion current = topics_->data_version();
  for (size_t i = 0; i < namesrv_addrs_.size(); ++i) {
    std::optional<DataVersion> accepted;
    {
      std::lock_guard lock(namesrv_mu_);
      if (namesrv_registrations_[i].next(current) == RegistrationKind::kHeartbeat) {
        accepted = namesrv_registrations_[i].accepted();
      }
    }
    if (accepted) {
      send_heartbeat(i, *accepted, round);
    } else {
      send_full_registration(i, round, /*requested=*/false);
    }
  }
}

void BrokerController::send_full_registration(size_t i, std::shared_ptr<RegistrationRound> round,
                                              bool requested) {
  const TopicTable table = topics_->table();
  auto req = RemotingCommand::request(RequestCode::REGISTER_BROKER);
  auto reg = registration(table);
  const int64_t epoch = reg.epoch;
  req.set_ext(std::move(reg));
  namesrv_client_->invoke_async(
      namesrv_addrs_[i], std::move(req), kNamesrvTimeout,
      [this, i, round, requested, epoch, version = table.version,
       topic_count = table.topics.size()](Result<RemotingCommand> r) {
        const bool ok = r.is_ok() && r->response_code() == ResponseCode::SUCCESS;
        const auto* answer = ok ? r->ext<protocol::RegisterBrokerResponseT>() : nullptr;
        if (answer) replication_->on_registered(*answer, epoch);
        {
          std::lock_guard lock(namesrv_mu_);
          if (answer) {
            namesrv_registrations_[i].on_full_answered(version, answer->fenced);
          } else {
            namesrv_registrations_[i].forget();
          }
        }
        if (answer && requested) {
          // Rare (a name server restarted or expired this broker): tests and operators wait on it.
          announce("re-registered with name server " + namesrv_addrs_[i] + ": " +
                   std::to_string(topic_count) + " topics at data version " + version.to_string());
        }
        note_namesrv_outcome(i, ok, r.is_ok() ? r->remark() : r.status().to_string());
        round->one_done();
      });
}

void BrokerController::send_heartbeat(size_t i, const DataVersion& accepted,
                                      std::shared_ptr<RegistrationRound> round) {
  auto req = RemotingCommand::request(RequestCode::BROKER_HEARTBEAT);
  auto hb = heartbeat(accepted);
  const int64_t epoch = hb.epoch;
  req.set_ext(std::move(hb));
  namesrv_client_->invoke_async(
      namesrv_addrs_[i], std::move(req), kNamesrvTimeout,
      [this, i, round, epoch](Result<RemotingCommand> r) {
        const bool ok = r.is_ok() && r->response_code() == ResponseCode::SUCCESS;
        const auto* answer = ok ? r->ext<protocol::RegisterBrokerResponseT>() : nullptr;
        if (answer && answer->full_registration_needed) {
          {
            std::lock_guard lock(namesrv_mu_);
            namesrv_registrations_[i].on_heartbeat_answered(/*full_needed=*/true);
          }
          logger("broker")->info("name server {} lacks this broker's topic table: registering",
                                 namesrv_addrs_[i]);
          return send_full_registration(i, round, /*requested=*/true);
        }
        if (answer) {
          replication_->on_registered(*answer, epoch);
        } else {
          std::lock_guard lock(namesrv_mu_);
          namesrv_registrations_[i].forget();
        }
        note_namesrv_outcome(i, ok, r.is_ok() ? r->remark() : r.status().to_string());
        round->one_done();
      });
}

void BrokerController::note_namesrv_outcome(size_t i, bool ok, const std::string& error) {
  std::lock_guard lock(namesrv_mu_);
  if (namesrv_ok_[i] == ok) return;
  namesrv_ok_[i] = ok;
  if (ok) {
    logger("broker")->info("registered with name server {}", namesrv_addrs_[i]);
  } else {
    logger("broker")->warn("cannot register with name server {}: {}", namesrv_addrs_[i], error);
  }
}

void BrokerController::forget_registrations() {
  std::lock_guard lock(namesrv_mu_);
  for (auto& r : namesrv_registrations_)
    r.forget();
}

void BrokerController::topics_changed() {
  if (topics_registration_posted_.exchange(true)) return;  // the posted one sends this change too
  asio::post(server_->io_context(), [this] {
    topics_registration_posted_.store(false);
    register_all_namesrv();
  });
}

void BrokerController::schedule_heartbeat() {
  heartbeat_timer_->expires_after(std::chrono::milliseconds(ctx_.config.heartbeat_interval_ms));
  heartbeat_timer_->async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    register_all_namesrv();
    clients_->scan_expired(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
    schedule_heartbeat();
  });
}

void BrokerController::shutdown() {
  if (!started_ || stopped_) return;
  auto log = logger("broker");
  ctx_.shutting_down = true;
  // Leave the routes first so clients stop sending here.
  for (const auto& addr : ctx_.config.namesrv_addrs()) {
    auto req = RemotingCommand::request(RequestCode::UNREGISTER_BROKER);
    protocol::UnregisterBrokerRequestT u;
    u.cluster_name = ctx_.config.broker_cluster_name;
    u.broker_addr = ctx_.config.broker_addr();
    u.broker_name = ctx_.config.broker_name;
    u.broker_id = replication_->broker_id();
    req.set_ext(std::move(u));
    auto r = namesrv_client_->invoke(addr, std::move(req), std::chrono::milliseconds(1000));
    if (!r.is_ok()) log->warn("unregister from {}: {}", addr, r.status().to_string());
  }
  stopped_ = true;
  asio::post(server_->io_context(), [this] { heartbeat_timer_->cancel(); });
  holds_->wake_all();
  metadata_sync_->stop();
  schedule_->stop();
  timers_->stop();
  transactions_->stop();
  metadata_log_->stop();
  replication_->stop();
  if (acl_gate_) acl_gate_->stop();
  if (cluster_gate_) cluster_gate_->stop();
  server_->stop();
  namesrv_client_->shutdown();
  Status s = store_->shutdown();
  if (!s.is_ok()) log->error("store shutdown: {}", s.to_string());
  s = offsets_->persist();
  if (!s.is_ok()) log->error("offset persist: {}", s.to_string());
  s = metadata_->flush();
  if (!s.is_ok()) log->error("metadata flush: {}", s.to_string());
  log->info("broker {} stopped", ctx_.config.broker_name);
}

}  // namespace comet::broker
