// BrokerController: one broker process. Opens the store and the metadata, serves the remoting
// protocol (send, consumer send-back, pull with long polling, offsets, topic admin, client
// heartbeats), and registers with every name server: its whole topic table when the name server
// may not hold it at the current data version (at start, at once when topics or the role
// change, when a name server asks), else a small BROKER_HEARTBEAT each heartbeatIntervalMs
// (broker/namesrv_registration.h).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/admin_processor.h"
#include "broker/broker_context.h"
#include "broker/dledger_replication.h"
#include "broker/group_admin_processor.h"
#include "broker/lock_batch_processor.h"
#include "broker/master_slave_replication.h"
#include "broker/metadata_log.h"
#include "broker/metadata_store.h"
#include "broker/namesrv_registration.h"
#include "broker/offset_reset_service.h"
#include "broker/pull_message_processor.h"
#include "broker/query_message_processor.h"
#include "broker/rebalance_lock_manager.h"
#include "broker/schedule_message_service.h"
#include "broker/send_back_processor.h"
#include "broker/send_message_processor.h"
#include "broker/slave_metadata_sync.h"
#include "broker/timer_message_service.h"
#include "broker/transaction_service.h"
#include "remoting/acl_gate.h"
#include "remoting/remoting_client.h"
#include "remoting/remoting_server.h"

namespace comet::broker {

class BrokerController {
 public:
  // Opens (and recovers) the store and the metadata; does not listen yet.
  static Result<std::unique_ptr<BrokerController>> create(const BrokerConfig& config);
  ~BrokerController();

  // Listens, then registers with the name servers.
  Status start();
  // Unregisters from the name servers, answers held pulls, stops serving, closes the store.
  void shutdown();

  uint16_t port() const { return server_ ? server_->port() : 0; }
  // brokerIP1 with the port actually bound.
  std::string address() const;
  commitlog::MessageStore& store() { return *store_; }
  Replication& replication() { return *replication_; }
  const BrokerConfig& config() const { return ctx_.config; }

 private:
  // config.dledger with the broker's link security (the Raft port's and the peer links').
  dledger::DLedgerOptions dledger_options() const;
  explicit BrokerController(const BrokerConfig& config);
  struct RegistrationRound;
  // Registers with every name server, fully or by a heartbeat (NamesrvRegistration decides);
  // `done` (optional) runs once all have answered or failed.
  void register_all_namesrv(std::function<void()> done = nullptr);
  // REGISTER_BROKER with the whole table to name server `i`; `requested`: its heartbeat answer
  // asked for it.
  void send_full_registration(size_t i, std::shared_ptr<RegistrationRound> round, bool requested);
  void send_heartbeat(size_t i, const DataVersion& accepted,
                      std::shared_ptr<RegistrationRound> round);
  // Logs a change of name server i's outcome (registered / cannot register).
  void note_namesrv_outcome(size_t i, bool ok, const std::string& error);
  // The next registrations with every name server are full (the role changed).
  void forget_registrations();
  // Coalesces a burst of topic changes (auto-creation) into few full registrations.
  void topics_changed();
  void schedule_heartbeat();
  template <typename Request>
  void fill_identity(Request& r) const;
  protocol::RegisterBrokerRequestT registration(const TopicTable& table) const;
  protocol::BrokerHeartbeatRequestT heartbeat(const DataVersion& accepted) const;
  ReplicationHooks replication_hooks();

  BrokerContext ctx_;
  std::unique_ptr<commitlog::MessageStore> store_;
  std::unique_ptr<MetadataStore> metadata_;
  std::unique_ptr<TopicConfigManager> topics_;
  std::unique_ptr<ConsumerOffsetManager> offsets_;
  std::unique_ptr<SubscriptionGroupManager> groups_;
  std::unique_ptr<ClientManager> clients_;
  std::unique_ptr<BrokerStats> stats_;
  // Built from config.security before any server or link (ctx_.links points here).
  remoting::LinkSecurity links_;
  // The client port's access control (aclEnable), also in links_.gate; null without.
  std::shared_ptr<remoting::AclGate> acl_gate_;
  // links_ with the cluster-only gate, for the HA and Raft ports (ctx_.cluster_links points
  // here); the gate is null without aclEnable.
  remoting::LinkSecurity cluster_links_;
  std::shared_ptr<remoting::AclGate> cluster_gate_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::unique_ptr<PullRequestHoldService> holds_;
  std::unique_ptr<SendMessageProcessor> send_;
  std::unique_ptr<SendBackProcessor> send_back_;
  std::unique_ptr<PullMessageProcessor> pull_;
  std::unique_ptr<QueryMessageProcessor> query_;
  std::unique_ptr<AdminProcessor> admin_;
  std::unique_ptr<OffsetResetService> offset_reset_;
  std::unique_ptr<GroupAdminProcessor> group_admin_;
  std::unique_ptr<RebalanceLockManager> locks_;  // orderly consumers' queue locks
  std::unique_ptr<LockBatchProcessor> lock_batch_;
  // Declared before the replication: an append it completes while stopping may still reach it.
  std::unique_ptr<MetadataLog> metadata_log_;
  std::unique_ptr<ScheduleMessageService> schedule_;
  std::unique_ptr<TimerMessageService> timers_;
  std::unique_ptr<TransactionService> transactions_;
  std::unique_ptr<Replication> replication_;
  std::unique_ptr<SlaveMetadataSync> metadata_sync_;
  std::unique_ptr<remoting::RemotingClient> namesrv_client_;
  std::unique_ptr<asio::steady_timer> heartbeat_timer_;
  std::vector<std::string> namesrv_addrs_;
  std::vector<bool> namesrv_ok_;  // last outcome per name server, to log changes only
  std::vector<NamesrvRegistration> namesrv_registrations_;  // per name server
  std::mutex namesrv_mu_;                                   // guards the two above
  std::atomic<bool> topics_registration_posted_{false};
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace comet::broker
