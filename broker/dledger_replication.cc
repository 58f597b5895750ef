#include "broker/dledger_replication.h"

#include "common/logging.h"

namespace comet::broker {

DLedgerReplication::DLedgerReplication(BrokerContext& ctx,
                                       std::unique_ptr<dledger::DLedgerCommitLog> log)
    : ctx_(ctx), log_(std::move(log)) {}

DLedgerReplication::~DLedgerReplication() {
  stop();
}

Status DLedgerReplication::start(ReplicationHooks hooks) {
  hooks_ = std::move(hooks);
  role_ = BrokerRole::kSlave;
  broker_id_ = ctx_.config.dledger.self_index() + 1;
  log_->set_role_listener([this](bool leader, int64_t term, const std::string& leader_id) {
    on_role(leader, term, leader_id);
  });
  COMET_RETURN_IF_ERROR(log_->start(*ctx_.store));
  logger("broker")->info("DLedger member {} of group {} (brokerId {} until it leads)",
                         ctx_.config.dledger.self_id, ctx_.config.dledger.group, broker_id());
  return Status::ok();
}

void DLedgerReplication::stop() {
  if (stopped_.exchange(true)) return;
  log_->stop();
}

Status DLedgerReplication::check_writable() const {
  // The Raft group, not the name server, decides who writes; a leader that just lost its
  // leadership fails the append itself.
  if (is_master()) return Status::ok();
  return Status::unavailable("broker " + ctx_.config.broker_addr() +
                             " is a DLedger follower and takes no writes");
}

void DLedgerReplication::on_role(bool leader, int64_t term, const std::string& leader_id) {
  if (stopped_) return;
  if (leader) {
    if (!is_master() && hooks_.becoming_master) hooks_.becoming_master();
    broker_id_ = 0;
    role_ = BrokerRole::kAsyncMaster;
  } else {
    role_ = BrokerRole::kSlave;
    broker_id_ = ctx_.config.dledger.self_index() + 1;
  }
  // A new leader, or the same one in a new term (a leader that stepped down and won again): both
  // are news to operators and to the tests that wait on these lines.
  if (!leader_id.empty() && (leader_id != leader_ || term != leader_term_)) {
    leader_ = leader_id;
    leader_term_ = term;
    announce("DLedger group " + ctx_.config.dledger.group + " is led by " + leader_id +
             " in term " + std::to_string(term));
  }
  if (hooks_.role_changed) hooks_.role_changed();
  if (leader && hooks_.writable) hooks_.writable();
}

void DLedgerReplication::append(std::vector<Message> msgs, std::shared_ptr<const void> keepalive,
                                std::function<void()> stored, AppendDone done) {
  // The entry is appended on the Raft thread; from here on the send waits for a quorum.
  stored();
  log_->append(std::move(msgs), std::move(keepalive),
               [done = std::move(done)](Result<std::vector<commitlog::AppendResult>> r) {
                 if (r.is_ok()) return done({Status::ok(), AppendFailure::kNone, r.value()});
                 if (r.status().code() == Code::kTimeout) {
                   // Stored, not known to be committed: not a refusal to retry.
                   return done({r.status(), AppendFailure::kOutcomeUnknown, {}});
                 }
                 // Not the leader (any more): nothing was stored.
                 done({r.status(),
                       r.status().code() == Code::kUnavailable ? AppendFailure::kRefused
                                                               : AppendFailure::kNone,
                       {}});
               });
}

void DLedgerReplication::on_registered(const protocol::RegisterBrokerResponseT& r,
                                       int64_t /*epoch*/) {
  if (stopped_) return;
  std::lock_guard lock(mu_);
  master_addr_ = r.master_addr;
}

std::string DLedgerReplication::master_address() const {
  std::lock_guard lock(mu_);
  return master_addr_;
}

void DLedgerReplication::process_admin(const ConnectionPtr& conn, RemotingCommand req) {
  switch (static_cast<RequestCode>(req.code())) {
    case RequestCode::GET_DLEDGER_STATUS: {
      auto s = log_->status();
      if (!s.is_ok()) return reply(conn, req, ResponseCode::SYSTEM_ERROR, s.status().message());
      auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
      resp.set_ext(std::move(s).value());
      conn->send(std::move(resp));
      return;
    }
    case RequestCode::DLEDGER_TRANSFER_LEADER:
      return transfer_leader(conn, std::move(req));
    default:
      return reply(conn, req, ResponseCode::BAD_REQUEST,
                   "a DLedger group elects its leader: use transferLeader instead of promoteSlave");
  }
}

void DLedgerReplication::transfer_leader(const ConnectionPtr& conn, RemotingCommand req) {
  const auto* t = req.ext<protocol::TransferLeaderRequestT>();
  if (t == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST, "DLEDGER_TRANSFER_LEADER lacks its header");
  }
  const std::string target = t->target_id;
  log_->transfer_leadership(target, [conn, req = std::move(req), target](Status s) {
    if (s.is_ok()) return reply(conn, req, ResponseCode::SUCCESS, target + " leads");
    reply(conn, req,
          s.code() == Code::kInvalidArgument ? ResponseCode::BAD_REQUEST
                                             : ResponseCode::SERVICE_NOT_AVAILABLE,
          s.message());
  });
}

protocol::HaStatusT DLedgerReplication::status() const {
  protocol::HaStatusT s;
  s.role = std::string(broker_role_name(role()));
  s.broker_id = broker_id();
  s.max_offset = static_cast<int64_t>(ctx_.store->commit_log().max_offset());
  s.writable = check_writable().is_ok();
  return s;
}

}  // namespace comet::broker
