#include "dledger/dledger_commit_log.h"

#include <future>
#include <random>

#include "common/logging.h"
#include "common/record_codec.h"
#include "dledger/raft_codec.h"

namespace comet::dledger {
namespace {

// Applied entries stay in the node's memory (for followers a little behind) only briefly; older
// ones are read back from the index and the CommitLog.
constexpr int64_t kKeepApplied = 256;
constexpr int64_t kCompactStep = 256;
// Appends are refused while this many entries (each up to dLegerMaxBatchBytes) wait for a
// quorum: without one, memory stays bounded.
constexpr int64_t kMaxUncommitted = 1024;
constexpr size_t kMaxDrain = 256;  // appends proposed in one round
constexpr auto kTruncateTimeout = std::chrono::seconds(30);
constexpr auto kStatusTimeout = std::chrono::seconds(2);

}  // namespace

DLedgerCommitLog::DLedgerCommitLog(DLedgerOptions options)
    : options_(std::move(options)),
      self_(static_cast<NodeId>(options_.self_index())),
      tick_timer_(io_),
      transfer_timer_(io_) {}

Result<std::unique_ptr<DLedgerCommitLog>> DLedgerCommitLog::open(DLedgerOptions options,
                                                                 const std::string& dir) {
  COMET_RETURN_IF_ERROR(options.validate());
  std::unique_ptr<DLedgerCommitLog> d(new DLedgerCommitLog(std::move(options)));
  COMET_ASSIGN_OR_RETURN(d->log_, DLedgerLog::open(dir));
  return d;
}

DLedgerCommitLog::~DLedgerCommitLog() {
  stop();
}

uint64_t DLedgerCommitLog::committed_offset() const {
  auto end = log_->end_of(log_->hard_state().commit);
  return end.is_ok() ? end.value() : 0;
}

std::string DLedgerCommitLog::member_id(NodeId id) const {
  if (id < 0 || static_cast<size_t>(id) >= options_.peers.size()) return "";
  return options_.peers[static_cast<size_t>(id)].id;
}

Status DLedgerCommitLog::reconcile() {
  auto log = logger("dledger");
  commitlog::CommitLog& cl = store_->commit_log();
  if (log_->last_index() == 0) {
    if (cl.max_offset() != 0) {
      return Status::invalid_argument(
          "the store holds a CommitLog written outside DLedger (it ends at " +
          std::to_string(cl.max_offset()) + "); a DLedger member starts from an empty store");
    }
    return Status::ok();
  }
  // Index records whose bytes the CommitLog lost (a crash tore its tail) go.
  int64_t keep = log_->last_index();
  while (keep > 0) {
    COMET_ASSIGN_OR_RETURN(uint64_t end, log_->end_of(keep));
    if (end <= cl.max_offset()) break;
    --keep;
  }
  if (keep < log_->last_index()) {
    if (keep < log_->hard_state().commit) {
      log->error(
          "the CommitLog lost committed entries {}..{} (a machine crash under "
          "ASYNC_FLUSH?); the leader will send them again",
          keep + 1, log_->hard_state().commit);
    }
    HardState hs = log_->hard_state();
    hs.commit = std::min(hs.commit, keep);
    log->warn("dropping index records {}..{}: their bytes are not in the CommitLog", keep + 1,
              log_->last_index());
    COMET_RETURN_IF_ERROR(log_->write(hs, keep + 1, {}));
  }
  // Bytes past the last indexed entry (appended, then the process died before indexing) go.
  COMET_ASSIGN_OR_RETURN(uint64_t indexed_end, log_->end_of(log_->last_index()));
  if (cl.max_offset() > indexed_end) {
    log->warn("cutting the CommitLog from {} to {}: records no Raft entry holds", cl.max_offset(),
              indexed_end);
    COMET_RETURN_IF_ERROR(store_->truncate(indexed_end, kTruncateTimeout));
  }
  return Status::ok();
}

Status DLedgerCommitLog::start(commitlog::MessageStore& store) {
  auto log = logger("dledger");
  store_ = &store;
  log_->attach(&store.commit_log());
  COMET_RETURN_IF_ERROR(reconcile());
  store_->advance_committed(committed_offset());

  RaftConfig c;
  c.id = self_;
  for (size_t i = 0; i < options_.peers.size(); ++i)
    c.peers.push_back(static_cast<NodeId>(i));
  c.election_ticks = static_cast<int>(options_.election_timeout_ms / options_.tick_ms);
  c.heartbeat_ticks = static_cast<int>(options_.heartbeat_interval_ms / options_.tick_ms);
  c.max_inflight = static_cast<int>(options_.max_inflight);
  c.max_batch_bytes = options_.max_batch_bytes;
  c.committed_data = false;  // persist() put every entry's records in the CommitLog already
  c.seed = std::random_device{}();
  RestoredLog restored;
  restored.store = log_.get();
  restored.base_index = log_->last_index();
  restored.base_term = log_->last_term();
  const HardState hs = log_->hard_state();
  applied_index_ = hs.commit;
  node_ = std::make_unique<RaftNode>(c, hs, std::move(restored), hs.commit);
  term_ = hs.term;

  const DLedgerPeer& self = options_.peers[static_cast<size_t>(self_)];
  auto hp = remoting::split_host_port(self.address);
  if (!hp.is_ok()) return hp.status();
  remoting::ServerOptions so;
  so.bind_address = options_.bind_address;
  so.port = hp->second;
  so.io_threads = 1;
  so.connection.max_frame_bytes = options_.max_frame_bytes;
  options_.security.apply_to_server(so);
  server_ = std::make_unique<remoting::RemotingServer>(so);
  server_->register_handler(protocol::RequestCode::DLEDGER_RAFT,
                            [this](const std::shared_ptr<remoting::Connection>&,
                                   remoting::RemotingCommand cmd) { on_message(std::move(cmd)); });
  remoting::ClientOptions co;
  co.connect_timeout = std::chrono::milliseconds(options_.election_timeout_ms);
  co.connection.max_frame_bytes = options_.max_frame_bytes;
  options_.security.apply_to_client(co.connection);
  client_ = std::make_unique<remoting::RemotingClient>(co);
  COMET_RETURN_IF_ERROR(server_->start());

  work_.emplace(asio::make_work_guard(io_));
  thread_ = std::thread([this] { io_.run(); });
  started_ = true;
  asio::post(io_, [this] {
    schedule_tick();
    check_role();
  });
  log->info("DLedger member {} of group {} on {}: term {}, log [1, {}], commit {}", self.id,
            options_.group, self.address, hs.term, log_->last_index(), hs.commit);
  return Status::ok();
}

void DLedgerCommitLog::stop() {
  if (!started_ || stopped_.exchange(true)) return;
  server_->stop();
  std::promise<void> done;
  asio::post(io_, [this, &done] {
    tick_timer_.cancel();
    transfer_timer_.cancel();
    finish_transfer(Status::shutdown("the broker is stopping"));
    store_->committed().fail_all(Status::shutdown("the broker is stopping"), false);
    done.set_value();
  });
  done.get_future().wait();
  client_->shutdown();
  std::vector<PendingAppend> pending;
  {
    std::lock_guard lock(pending_mu_);
    pending.swap(pending_);
  }
  for (auto& p : pending)
    p.done(Status::shutdown("the broker is stopping"));
  work_.reset();
  io_.stop();
  thread_.join();
}

void DLedgerCommitLog::schedule_tick() {
  if (stopped_) return;
  tick_timer_.expires_after(std::chrono::milliseconds(options_.tick_ms));
  tick_timer_.async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    if (!failed_) leave_if_store_failed();
    if (!failed_) {
      node_->tick();
      process_ready();
    }
    schedule_tick();
  });
}

void DLedgerCommitLog::leave_if_store_failed() {
  Status s = store_->health().io_status();
  if (s.is_ok()) return;
  logger("dledger")->critical("DLedger member {} cannot persist its log and stops taking part: {}",
                              options_.self_id, s.to_string());
  failed_ = true;
  store_->committed().fail_all(s, true);
}

void DLedgerCommitLog::on_message(remoting::RemotingCommand cmd) {
  auto m = decode_raft_message(options_.group, static_cast<int>(options_.peers.size()), cmd);
  if (!m.is_ok()) {
    logger("dledger")->warn("dropped a Raft message: {}", m.status().to_string());
    return;
  }
  asio::post(io_, [this, m = std::move(m).value()] {
    if (failed_ || stopped_) return;
    node_->step(m);
    process_ready();
  });
}

void DLedgerCommitLog::append(std::vector<comet::Message> msgs,
                              std::shared_ptr<const void> keepalive, AppendCallback done) {
  if (!leader_.load()) {
    return done(Status::unavailable("DLedger member " + options_.self_id + " is not the leader"));
  }
  bool post = false;
  {
    std::lock_guard lock(pending_mu_);
    if (stopped_) return done(Status::shutdown("the broker is stopping"));
    pending_.push_back({std::move(msgs), std::move(keepalive), std::move(done)});
    post = !drain_posted_;
    drain_posted_ = true;
  }
  if (post) asio::post(io_, [this] { drain_appends(); });
}

void DLedgerCommitLog::drain_appends() {
  std::vector<PendingAppend> batch;
  {
    std::lock_guard lock(pending_mu_);
    if (pending_.size() <= kMaxDrain) {
      batch.swap(pending_);
      drain_posted_ = false;
    } else {
      batch.assign(std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.begin() + kMaxDrain));
      pending_.erase(pending_.begin(), pending_.begin() + kMaxDrain);
      asio::post(io_, [this] { drain_appends(); });
    }
  }
  // The sends drained together become one entry (up to dLegerMaxBatchBytes): one index
  // record, one copy and one append per follower for the group, not per send.
  commitlog::CommitLog& cl = store_->commit_log();
  std::vector<std::string> datas;
  std::vector<std::pair<PendingAppend*, std::vector<commitlog::AppendResult>>> appended;
  int64_t index = node_->last_index();
  std::string data;  // the open entry: start offset, then the records of its sends
  uint64_t entry_start = 0, entry_end = 0;
  auto close_entry = [&] {
    if (data.empty()) return;
    proposed_[++index] =
        EntryMeta{node_->term(), entry_start, static_cast<uint32_t>(entry_end - entry_start)};
    datas.push_back(std::move(data));
    data.clear();
  };
  for (PendingAppend& p : batch) {
    const int64_t waiting = index + (data.empty() ? 0 : 1) - node_->commit_index();
    if (waiting >= kMaxUncommitted) {
      p.done(Status::unavailable("DLedger leader " + options_.self_id + " has " +
                                 std::to_string(waiting) +
                                 " entries waiting for a quorum; is a majority down?"));
      continue;
    }
    if (failed_ || !node_->can_propose()) {
      p.done(Status::unavailable(
          "DLedger member " + options_.self_id +
          (node_->role() == Role::kLeader ? " is handing leadership over" : " is not the leader")));
      continue;
    }
    const uint64_t start = cl.max_offset();  // before any blank the append puts first
    auto r = cl.append_batch(p.msgs);
    if (!r.is_ok()) {
      p.done(r.status());
      continue;
    }
    const uint64_t end = r->back().end_offset();
    if (data.empty()) {
      entry_start = start;
      data = encode_entry_data(start, {});
    }
    if (Status read = cl.copy_range(start, end, &data); !read.is_ok()) {
      // The records are in the log but no entry holds them: stop before anything diverges.
      logger("dledger")->critical("cannot read back appended records at {}: {}", start,
                                  read.to_string());
      failed_ = true;
      p.done(read);
      data.clear();
      continue;
    }
    entry_end = end;
    appended.emplace_back(&p, std::move(r).value());
    if (data.size() >= options_.max_batch_bytes) close_entry();
  }
  close_entry();
  if (!datas.empty()) {
    auto last = node_->propose_batch(std::move(datas));
    if (!last.is_ok() || last.value() != index) {
      // Cannot happen (checked can_propose on this thread); fail loudly rather than ack.
      logger("dledger")->critical("proposal refused after can_propose: {}",
                                  last.is_ok() ? "index mismatch" : last.status().to_string());
      failed_ = true;
    }
    for (auto& [p, results] : appended) {
      const uint64_t end = results.back().end_offset();
      store_->committed().on_reach(end, [done = std::move(p->done), keepalive = p->keepalive,
                                         results = std::move(results)](Status s) mutable {
        if (s.is_ok()) return done(std::move(results));
        done(s);
      });
    }
  }
  process_ready();
}

Status DLedgerCommitLog::append_bytes(uint64_t start, std::span<const uint8_t> bytes) {
  size_t from = 0;
  for (size_t pos = 0; pos < bytes.size();) {
    auto d = record::decode(bytes.data() + pos, bytes.size() - pos, /*verify_crc=*/false);
    if (d.outcome == record::Outcome::kRecord) {
      pos += d.size;
      continue;
    }
    if (d.outcome != record::Outcome::kBlank) {
      return Status::corruption("entry bytes at " + std::to_string(start + pos) +
                                " are not whole records: " + d.reason);
    }
    pos += d.size;  // the blank ends a segment: what follows goes to the next one
    COMET_RETURN_IF_ERROR(
        store_->append_replica(start + from, bytes.subspan(from, pos - from)).status());
    from = pos;
  }
  if (from < bytes.size()) {
    COMET_RETURN_IF_ERROR(store_->append_replica(start + from, bytes.subspan(from)).status());
  }
  return Status::ok();
}

Status DLedgerCommitLog::persist(Ready& ready) {
  commitlog::CommitLog& cl = store_->commit_log();
  if (ready.truncate_from && *ready.truncate_from <= log_->last_index()) {
    COMET_ASSIGN_OR_RETURN(uint64_t cut, log_->end_of(*ready.truncate_from - 1));
    logger("dledger")->warn(
        "entries from {} conflict with the leader's: cutting the CommitLog at {}",
        *ready.truncate_from, cut);
    COMET_RETURN_IF_ERROR(store_->truncate(cut, kTruncateTimeout));
  }
  std::vector<std::pair<int64_t, EntryMeta>> metas;
  metas.reserve(ready.entries.size());
  uint64_t end = 0;
  if (!ready.entries.empty()) {
    const int64_t first = ready.entries.front().index;
    if (ready.truncate_from && *ready.truncate_from <= first) {
      COMET_ASSIGN_OR_RETURN(end, log_->end_of(*ready.truncate_from - 1));
    } else {
      COMET_ASSIGN_OR_RETURN(end, log_->end_of(first - 1));
    }
  }
  for (const Entry& e : ready.entries) {
    if (auto it = proposed_.find(e.index); it != proposed_.end()) {
      metas.emplace_back(e.index, it->second);  // ours: already in the CommitLog
      end = it->second.end();
      proposed_.erase(it);
      continue;
    }
    uint64_t start = end;
    std::span<const uint8_t> bytes;
    if (!decode_entry_data(e.data, &start, &bytes)) {
      return Status::corruption("entry " + std::to_string(e.index) + " has malformed data");
    }
    if (start != end || start != cl.max_offset()) {
      return Status::corruption("entry " + std::to_string(e.index) + " starts at offset " +
                                std::to_string(start) + " but the log ends at " +
                                std::to_string(cl.max_offset()) + " (previous entry ends at " +
                                std::to_string(end) + ")");
    }
    if (!bytes.empty()) COMET_RETURN_IF_ERROR(append_bytes(start, bytes));
    metas.emplace_back(e.index, EntryMeta{e.term, start, static_cast<uint32_t>(bytes.size())});
    end = start + bytes.size();
  }
  return log_->write(ready.hard_state, ready.truncate_from, metas);
}

void DLedgerCommitLog::process_ready() {
  auto log = logger("dledger");
  for (int rounds = 0; rounds < 1000 && !failed_; ++rounds) {
    Ready ready = node_->take_ready();
    if (ready.empty()) break;
    if (Status s = persist(ready); !s.is_ok()) {
      // Nothing more may leave this member: its log no longer matches what it would claim.
      log->critical("DLedger member {} cannot persist its log and stops taking part: {}",
                    options_.self_id, s.to_string());
      failed_ = true;
      store_->committed().fail_all(s, true);
      break;
    }
    for (Message& m : ready.messages) {
      const auto& addr = options_.peers[static_cast<size_t>(m.to)].address;
      (void)client_->invoke_oneway(addr, encode_raft_message(options_.group, std::move(m)));
    }
    if (!ready.committed.empty()) {
      applied_index_ = ready.committed.back().index;
      auto end = log_->end_of(applied_index_);
      if (end.is_ok()) {
        store_->advance_committed(end.value());
      } else {
        log->error("no index record of committed entry {}: {}", applied_index_,
                   end.status().to_string());
      }
    }
  }
  if (applied_index_ - kKeepApplied - node_->first_in_memory() >= kCompactStep) {
    node_->compact(applied_index_ - kKeepApplied);
    log_->trim_cache(applied_index_ - kKeepApplied);
  }
  check_role();
}

void DLedgerCommitLog::check_role() {
  const Role role = node_->role();
  const NodeId leader = node_->leader();
  const int64_t term = node_->term();
  term_ = term;
  if (transfer_ && leader == transfer_->target && term > transfer_->term) {
    finish_transfer(Status::ok());
  }
  if (role == last_role_ && leader == last_leader_ && term == last_term_) return;
  const bool was_leader = last_role_ == Role::kLeader;
  const bool is_leader = role == Role::kLeader;
  last_role_ = role;
  last_leader_ = leader;
  last_term_ = term;
  if (was_leader != is_leader || leader_.load() != is_leader) {
    leader_ = is_leader;
    if (was_leader && !is_leader) {
      proposed_.clear();
      store_->committed().fail_all(
          Status::timeout("leadership was lost before the entry committed; it may still commit "
                          "under the next leader"),
          false);
    }
    logger("dledger")->info("member {} is {} of term {}{}", options_.self_id, role_name(role), term,
                            leader == kNoNode ? "" : " (leader " + member_id(leader) + ")");
  }
  if (role == Role::kPreCandidate || role == Role::kCandidate) return;
  if (role_listener_) role_listener_(is_leader, term, member_id(leader));
}

void DLedgerCommitLog::transfer_leadership(const std::string& target_id,
                                           std::function<void(Status)> done) {
  asio::post(io_, [this, target_id, done = std::move(done)]() mutable {
    NodeId target = kNoNode;
    for (size_t i = 0; i < options_.peers.size(); ++i) {
      if (options_.peers[i].id == target_id) target = static_cast<NodeId>(i);
    }
    if (target == kNoNode) {
      return done(Status::invalid_argument("'" + target_id + "' is not a member of group " +
                                           options_.group));
    }
    if (node_->role() != Role::kLeader) {
      return done(Status::unavailable(
          "member " + options_.self_id + " is not the leader" +
          (node_->leader() == kNoNode ? "" : " (" + member_id(node_->leader()) + " is)")));
    }
    if (target == self_) return done(Status::ok());
    if (transfer_) return done(Status::unavailable("a leadership transfer is in progress"));
    if (Status s = node_->transfer_leadership(target); !s.is_ok()) return done(s);
    transfer_ = Transfer{target, node_->term(), std::move(done)};
    transfer_timer_.expires_after(std::chrono::milliseconds(3 * options_.election_timeout_ms));
    transfer_timer_.async_wait([this](std::error_code ec) {
      if (ec) return;
      finish_transfer(
          Status::timeout("the transfer did not complete within three election "
                          "timeouts"));
    });
    process_ready();
  });
}

void DLedgerCommitLog::finish_transfer(Status s) {
  if (!transfer_) return;
  auto done = std::move(transfer_->done);
  transfer_.reset();
  transfer_timer_.cancel();
  done(std::move(s));
}

Result<protocol::DLedgerStatusT> DLedgerCommitLog::status() {
  if (!started_ || stopped_) return Status::unavailable("DLedger is not running");
  auto promise = std::make_shared<std::promise<protocol::DLedgerStatusT>>();
  auto future = promise->get_future();
  asio::post(io_, [this, promise] {
    protocol::DLedgerStatusT s;
    s.group = options_.group;
    s.self_id = options_.self_id;
    s.role = role_name(node_->role());
    s.term = node_->term();
    s.leader_id = member_id(node_->leader());
    s.commit_index = node_->commit_index();
    s.last_index = node_->last_index();
    s.applied_index = applied_index_;
    s.committed_offset = static_cast<int64_t>(store_->committed().get());
    s.max_offset = static_cast<int64_t>(store_->commit_log().max_offset());
    for (size_t i = 0; i < options_.peers.size(); ++i) {
      auto m = std::make_unique<protocol::DLedgerMemberT>();
      m->self_id = options_.peers[i].id;
      m->address = options_.peers[i].address;
      m->is_self = static_cast<NodeId>(i) == self_;
      m->match_index =
          node_->role() == Role::kLeader ? node_->match_index(static_cast<NodeId>(i)) : -1;
      s.members.push_back(std::move(m));
    }
    promise->set_value(std::move(s));
  });
  if (future.wait_for(kStatusTimeout) != std::future_status::ready) {
    return Status::timeout("the DLedger thread did not answer");
  }
  return future.get();
}

}  // namespace comet::dledger
