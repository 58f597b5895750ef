#include "dledger/raft_node.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/assert.h"

namespace comet::dledger {

namespace {

int64_t term_of(const Payload& p) {
  return std::visit([](const auto& m) { return m.term; }, p);
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kFollower:
      return "FOLLOWER";
    case Role::kPreCandidate:
      return "PRE_CANDIDATE";
    case Role::kCandidate:
      return "CANDIDATE";
    case Role::kLeader:
      return "LEADER";
  }
  return "UNKNOWN";
}

RaftNode::RaftNode(RaftConfig config, HardState state, std::vector<Entry> log, int64_t applied)
    : RaftNode(std::move(config), state, RestoredLog{nullptr, 0, 0, std::move(log)}, applied) {}

RaftNode::RaftNode(RaftConfig config, HardState state, RestoredLog log, int64_t applied)
    : config_(std::move(config)),
      state_(state),
      store_(log.store),
      base_index_(log.store ? std::max<int64_t>(log.base_index, 0) : 0),
      base_term_(log.store ? log.base_term : 0),
      rng_(config_.seed),
      persisted_(state) {
  config_.election_ticks = std::max(config_.election_ticks, 2);
  config_.heartbeat_ticks = std::clamp(config_.heartbeat_ticks, 1, config_.election_ticks - 1);
  config_.max_inflight = std::max(config_.max_inflight, 1);
  config_.max_batch_entries = std::max<size_t>(config_.max_batch_entries, 1);
  if (std::find(config_.peers.begin(), config_.peers.end(), config_.id) == config_.peers.end()) {
    config_.peers.push_back(config_.id);
  }
  // Only a consecutive run after the base is a log.
  for (Entry& e : log.tail) {
    if (e.index != last_index() + 1) break;
    tail_.push_back(std::move(e));
  }
  state_.commit = std::min(state_.commit, last_index());
  applied_ = std::clamp<int64_t>(applied, 0, state_.commit);
  reset_election_timer();
}

int64_t RaftNode::term_at(int64_t index) const {
  if (index <= 0 || index > last_index()) return 0;
  if (index > base_index_) return tail_[static_cast<size_t>(index - base_index_ - 1)].term;
  if (index == base_index_) return base_term_;
  auto t = store_->term(index);
  return t.is_ok() ? t.value() : -1;
}

Result<Entry> RaftNode::entry(int64_t index) const {
  std::vector<Entry> one;
  COMET_RETURN_IF_ERROR(fetch(index, index + 1, 0, &one));
  return std::move(one.front());
}

Status RaftNode::fetch(int64_t lo, int64_t hi, size_t max_bytes, std::vector<Entry>* out) const {
  if (lo < 1 || hi > last_index() + 1 || lo >= hi) {
    return Status::out_of_range("entries [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                ") outside the log [1, " + std::to_string(last_index()) + "]");
  }
  const size_t first = out->size();
  size_t bytes = 0;
  if (lo <= base_index_) {
    const int64_t stored_end = std::min(hi, base_index_ + 1);
    COMET_RETURN_IF_ERROR(store_->entries(lo, stored_end, max_bytes, out));
    if (out->size() == first ||
        out->back().index != static_cast<int64_t>(out->size() - first) + lo - 1) {
      out->resize(first);
      return Status::io_error("the log store did not return entries from " + std::to_string(lo));
    }
    if (out->back().index != stored_end - 1) return Status::ok();  // stopped at max_bytes
    for (size_t i = first; i < out->size(); ++i)
      bytes += (*out)[i].data.size();
    lo = stored_end;
  }
  for (int64_t i = lo; i < hi; ++i) {
    const Entry& e = tail_[static_cast<size_t>(i - base_index_ - 1)];
    if (out->size() > first && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out->push_back(e);
  }
  return Status::ok();
}

void RaftNode::compact(int64_t index) {
  index = std::min(index, applied_);
  if (store_ == nullptr || index <= base_index_) return;
  base_term_ = term_at(index);
  tail_.erase(tail_.begin(), tail_.begin() + (index - base_index_));
  base_index_ = index;
}

int64_t RaftNode::match_index(NodeId peer) const {
  if (role_ != Role::kLeader) return 0;
  if (peer == config_.id) return last_index();
  auto it = progress_.find(peer);
  return it == progress_.end() ? 0 : it->second.match;
}

bool RaftNode::is_peer(NodeId id) const {
  return std::find(config_.peers.begin(), config_.peers.end(), id) != config_.peers.end();
}

bool RaftNode::in_lease() const {
  if (role_ == Role::kLeader) return true;  // check quorum steps it down when the lease is gone
  return role_ == Role::kFollower && leader_ != kNoNode && elapsed_ < config_.election_ticks;
}

bool RaftNode::log_up_to_date(int64_t last_index_of_other, int64_t last_term_of_other) const {
  const int64_t my_term = term_at(last_index());
  return last_term_of_other > my_term ||
         (last_term_of_other == my_term && last_index_of_other >= last_index());
}

void RaftNode::reset_election_timer() {
  elapsed_ = 0;
  randomized_timeout_ = config_.election_ticks +
                        static_cast<int>(rng_() % static_cast<uint64_t>(config_.election_ticks));
}

// ---- time ------------------------------------------------------------------------------------

void RaftNode::tick() {
  ++elapsed_;
  if (role_ != Role::kLeader) {
    if (elapsed_ >= randomized_timeout_) campaign();
    return;
  }
  if (transferee_ != kNoNode && ++transfer_elapsed_ >= config_.election_ticks) {
    transferee_ = kNoNode;  // the target did not take over in time: abort
  }
  if (elapsed_ >= config_.election_ticks) {
    // Check quorum: a leader that has not heard from a majority steps down.
    elapsed_ = 0;
    size_t active = 1;
    for (auto& [peer, pr] : progress_) {
      active += pr.active ? 1 : 0;
      pr.active = false;
    }
    if (active < quorum()) {
      become_follower(state_.term, kNoNode);
      return;
    }
  }
  // A follower behind that made no progress for a while lost a batch: resend from its match.
  const int stall_limit = std::max(2, config_.election_ticks / 2);
  for (auto& [peer, pr] : progress_) {
    if (pr.match >= last_index()) {
      pr.stalled = 0;
    } else if (++pr.stalled >= stall_limit) {
      pr.stalled = 0;
      pr.next = pr.match + 1;
      pr.inflight = 0;
      pr.probing = true;
      replicate(peer, false);
    }
  }
  if (++heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_append(true);
  }
}

// ---- role changes ----------------------------------------------------------------------------

void RaftNode::become_follower(int64_t term, NodeId leader) {
  // A node that went back to an older term could vote twice in it (Raft's election safety).
  COMET_ASSERT(term >= state_.term, fmt::format("node {}: term would go back from {} to {}",
                                                config_.id, state_.term, term));
  if (term > state_.term) {
    state_.term = term;
    state_.vote = kNoNode;
  }
  role_ = Role::kFollower;
  leader_ = leader;
  transferee_ = kNoNode;
  progress_.clear();
  votes_.clear();
  rejections_.clear();
  reset_election_timer();
}

void RaftNode::campaign() {
  if (role_ == Role::kLeader) return;
  if (quorum() == 1) {
    become_candidate(false);
    return;
  }
  become_pre_candidate();
}

void RaftNode::become_pre_candidate() {
  role_ = Role::kPreCandidate;
  leader_ = kNoNode;
  votes_ = {config_.id};
  rejections_.clear();
  reset_election_timer();
  broadcast_votes(/*pre_vote=*/true, /*transfer=*/false);
}

void RaftNode::become_candidate(bool transfer) {
  state_.term += 1;
  state_.vote = config_.id;
  role_ = Role::kCandidate;
  leader_ = kNoNode;
  votes_ = {config_.id};
  rejections_.clear();
  reset_election_timer();
  if (votes_.size() >= quorum()) {
    become_leader();
    return;
  }
  broadcast_votes(/*pre_vote=*/false, transfer);
}

void RaftNode::become_leader() {
  role_ = Role::kLeader;
  leader_ = config_.id;
  transferee_ = kNoNode;
  votes_.clear();
  rejections_.clear();
  progress_.clear();
  for (NodeId peer : config_.peers) {
    if (peer == config_.id) continue;
    Progress pr;
    pr.next = last_index() + 1;
    progress_[peer] = pr;
  }
  elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  // An entry of the new term: once it commits, so does everything before it.
  append_local({state_.term, last_index() + 1, {}});
  broadcast_append(false);
  maybe_commit();
}

// ---- the owner's calls -----------------------------------------------------------------------

Result<int64_t> RaftNode::propose(std::string data) {
  std::vector<std::string> one;
  one.push_back(std::move(data));
  return propose_batch(std::move(one));
}

Result<int64_t> RaftNode::propose_batch(std::vector<std::string> batch) {
  if (role_ != Role::kLeader) {
    return Status::unavailable(
        "node " + std::to_string(config_.id) + " is not the leader" +
        (leader_ == kNoNode ? "" : " (node " + std::to_string(leader_) + " is)"));
  }
  if (transferee_ != kNoNode) {
    return Status::unavailable("leadership is moving to node " + std::to_string(transferee_));
  }
  for (std::string& data : batch)
    append_local({state_.term, last_index() + 1, std::move(data)});
  broadcast_append(false);
  maybe_commit();
  return last_index();
}

Status RaftNode::transfer_leadership(NodeId target) {
  if (role_ != Role::kLeader) return Status::unavailable("not the leader");
  if (target == config_.id) return Status::ok();
  if (!is_peer(target)) {
    return Status::invalid_argument("node " + std::to_string(target) + " is not a member");
  }
  transferee_ = target;
  transfer_elapsed_ = 0;
  if (progress_[target].match == last_index()) {
    send(target, TimeoutNow{state_.term});
  } else {
    replicate(target, false);
  }
  return Status::ok();
}

Ready RaftNode::take_ready() {
  if (!(state_ == persisted_)) {
    ready_.hard_state = state_;
    persisted_ = state_;
  }
  if (unpersisted_from_ > 0) {
    ready_.entries.assign(tail_.begin() + (unpersisted_from_ - base_index_ - 1), tail_.end());
    unpersisted_from_ = 0;
  }
  // Hands out what is committed; an entry the LogStore cannot read now is retried next time.
  const int64_t commit = std::min(state_.commit, last_index());
  if (!config_.committed_data) {
    for (; applied_ < commit; ++applied_)
      ready_.committed.push_back(Entry{term_at(applied_ + 1), applied_ + 1, {}});
  }
  while (applied_ < commit) {
    const size_t before = ready_.committed.size();
    if (!fetch(applied_ + 1, commit + 1, config_.max_batch_bytes, &ready_.committed).is_ok()) break;
    applied_ += static_cast<int64_t>(ready_.committed.size() - before);
  }
  Ready out = std::move(ready_);
  ready_ = Ready{};
  return out;
}

// ---- messages --------------------------------------------------------------------------------

void RaftNode::send(NodeId to, Payload p) {
  ready_.messages.push_back(Message{config_.id, to, std::move(p)});
}

void RaftNode::step(const Message& m) {
  if (m.to != config_.id || m.from == config_.id || !is_peer(m.from)) return;
  const int64_t t = term_of(m.payload);
  const auto* vote_response = std::get_if<VoteResponse>(&m.payload);
  if (t > state_.term) {
    if (std::holds_alternative<VoteRequest>(m.payload)) {
      // on_vote_request decides (the leader lease may ignore it)
    } else if (vote_response != nullptr && vote_response->pre_vote && vote_response->granted) {
      // a granted pre-vote carries the term we would campaign in
    } else {
      const bool from_leader = std::holds_alternative<AppendRequest>(m.payload) ||
                               std::holds_alternative<TimeoutNow>(m.payload);
      become_follower(t, from_leader ? m.from : kNoNode);
    }
  } else if (t < state_.term) {
    if (std::holds_alternative<AppendRequest>(m.payload)) {
      AppendResponse stale;
      stale.term = state_.term;  // tells the old leader there is a newer term
      send(m.from, stale);
      return;
    }
    if (!std::holds_alternative<VoteRequest>(m.payload)) return;
  }
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, VoteRequest>) on_vote_request(m.from, p);
        if constexpr (std::is_same_v<T, VoteResponse>) on_vote_response(m.from, p);
        if constexpr (std::is_same_v<T, AppendRequest>) on_append_request(m.from, p);
        if constexpr (std::is_same_v<T, AppendResponse>) on_append_response(m.from, p);
        if constexpr (std::is_same_v<T, TimeoutNow>) on_timeout_now(m.from, p);
      },
      m.payload);
}

void RaftNode::broadcast_votes(bool pre_vote, bool transfer) {
  VoteRequest r;
  r.term = pre_vote ? state_.term + 1 : state_.term;
  r.last_index = last_index();
  r.last_term = term_at(last_index());
  r.pre_vote = pre_vote;
  r.transfer = transfer;
  for (NodeId peer : config_.peers) {
    if (peer != config_.id) send(peer, r);
  }
}

void RaftNode::on_vote_request(NodeId from, const VoteRequest& r) {
  if (r.term > state_.term && !r.transfer && in_lease()) return;  // a leader is alive
  VoteResponse resp;
  resp.pre_vote = r.pre_vote;
  if (r.term < state_.term) {
    resp.term = state_.term;
    send(from, resp);
    return;
  }
  if (!r.pre_vote && r.term > state_.term) become_follower(r.term, kNoNode);
  const bool up_to_date = log_up_to_date(r.last_index, r.last_term);
  if (r.pre_vote) {
    resp.granted = r.term > state_.term && up_to_date;
    resp.term = resp.granted ? r.term : state_.term;
  } else {
    resp.granted = (state_.vote == kNoNode || state_.vote == from) && up_to_date;
    resp.term = state_.term;
    if (resp.granted) {
      state_.vote = from;  // persisted (Ready.hard_state) before the response leaves
      elapsed_ = 0;
    }
  }
  send(from, resp);
}

void RaftNode::on_vote_response(NodeId from, const VoteResponse& r) {
  if (r.pre_vote) {
    if (role_ != Role::kPreCandidate) return;
  } else if (role_ != Role::kCandidate || r.term != state_.term) {
    return;
  }
  (r.granted ? votes_ : rejections_).insert(from);
  if (votes_.size() >= quorum()) {
    if (r.pre_vote) {
      become_candidate(false);
    } else {
      become_leader();
    }
  } else if (rejections_.size() >= quorum()) {
    become_follower(state_.term, kNoNode);
  }
}

bool RaftNode::well_formed(const AppendRequest& r) {
  int64_t index = r.prev_index;
  int64_t term = r.prev_term;
  for (const Entry& e : r.entries) {
    if (e.index != index + 1 || e.term < term || e.term > r.term) return false;
    index = e.index;
    term = e.term;
  }
  return r.prev_index >= 0;
}

void RaftNode::on_append_request(NodeId from, const AppendRequest& r) {
  if (!well_formed(r)) return;
  if (role_ != Role::kFollower || leader_ != from) become_follower(state_.term, from);
  elapsed_ = 0;
  AppendResponse resp;
  resp.term = state_.term;
  resp.heartbeat = r.heartbeat;
  if (r.prev_index > last_index()) {
    resp.rejected = r.prev_index;
    resp.hint = last_index() + 1;
    send(from, resp);
    return;
  }
  if (term_at(r.prev_index) != r.prev_term) {
    // Skip the whole conflicting term: the leader retries before its first entry.
    const int64_t conflict = term_at(r.prev_index);
    int64_t first = r.prev_index;
    while (first - 1 > state_.commit && term_at(first - 1) == conflict)
      --first;
    resp.rejected = r.prev_index;
    resp.hint = std::max<int64_t>(first, state_.commit + 1);
    send(from, resp);
    return;
  }
  for (const Entry& e : r.entries) {
    if (e.index <= last_index()) {
      if (term_at(e.index) == e.term) continue;
      if (e.index <= state_.commit) break;  // never cut a committed entry (cannot happen)
      truncate_local(e.index);
    }
    append_local(e);
  }
  const int64_t match = r.prev_index + static_cast<int64_t>(r.entries.size());
  if (r.commit > state_.commit) set_commit(std::min({r.commit, match, last_index()}));
  resp.success = true;
  resp.match_index = std::min(match, last_index());
  send(from, resp);
}

void RaftNode::on_append_response(NodeId from, const AppendResponse& r) {
  if (role_ != Role::kLeader) return;
  Progress& pr = progress_[from];
  pr.active = true;
  if (!r.heartbeat && pr.inflight > 0) --pr.inflight;
  if (r.success) {
    if (r.match_index > pr.match) {
      pr.match = r.match_index;
      pr.stalled = 0;
      pr.probing = false;
      maybe_commit();
    }
    pr.next = std::max(pr.next, pr.match + 1);
    if (transferee_ == from && pr.match == last_index()) send(from, TimeoutNow{state_.term});
    replicate(from, false);
    return;
  }
  if (r.rejected <= pr.match) return;                                      // stale
  if (pr.probing && r.rejected != pr.next - 1 && pr.inflight > 0) return;  // an older probe
  pr.next = std::clamp(r.hint, pr.match + 1, r.rejected);
  pr.probing = true;
  pr.inflight = 0;
  replicate(from, false);
}

void RaftNode::on_timeout_now(NodeId, const TimeoutNow& r) {
  if (role_ == Role::kLeader || r.term != state_.term) return;
  become_candidate(/*transfer=*/true);
}

// ---- replication -----------------------------------------------------------------------------

void RaftNode::broadcast_append(bool heartbeat) {
  for (auto& [peer, _] : progress_)
    replicate(peer, heartbeat);
}

void RaftNode::replicate(NodeId peer, bool heartbeat) {
  auto it = progress_.find(peer);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  if (heartbeat) {
    AppendRequest hb;
    hb.term = state_.term;
    hb.prev_index = pr.match;
    hb.prev_term = term_at(pr.match);
    hb.commit = std::min(state_.commit, pr.match);
    hb.heartbeat = true;
    send(peer, std::move(hb));
  }
  const int window = pr.probing ? 1 : config_.max_inflight;
  while (pr.next <= last_index() && pr.inflight < window) {
    AppendRequest r;
    r.term = state_.term;
    r.prev_index = pr.next - 1;
    r.prev_term = term_at(r.prev_index);
    r.commit = state_.commit;
    const int64_t hi =
        std::min(last_index(), pr.next + static_cast<int64_t>(config_.max_batch_entries) - 1);
    if (!fetch(pr.next, hi + 1, config_.max_batch_bytes, &r.entries).is_ok()) return;
    pr.next += static_cast<int64_t>(r.entries.size());
    ++pr.inflight;
    send(peer, std::move(r));
  }
}

void RaftNode::maybe_commit() {
  std::vector<int64_t> matches{last_index()};
  for (const auto& [_, pr] : progress_)
    matches.push_back(pr.match);
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const int64_t n = matches[quorum() - 1];
  // Only an entry of the leader's own term commits by counting replicas (Raft §5.4.2).
  if (n > state_.commit && term_at(n) == state_.term) set_commit(n);
}

void RaftNode::set_commit(int64_t index) {
  // Committed means held by a majority of this log's entries: there is no entry past the last.
  COMET_ASSERT(index <= last_index(), fmt::format("node {}: commit index {} past the last index {}",
                                                  config_.id, index, last_index()));
  state_.commit = std::max(state_.commit, index);
}

void RaftNode::append_local(Entry e) {
  // The log is a consecutive run of indexes whose terms never decrease and never pass ours.
  COMET_ASSERT(
      e.index == last_index() + 1 && e.term >= term_at(last_index()) && e.term <= state_.term,
      fmt::format("node {}: entry {} of term {} after index {} of term {} (term {})", config_.id,
                  e.index, e.term, last_index(), term_at(last_index()), state_.term));
  tail_.push_back(std::move(e));
  if (unpersisted_from_ == 0) unpersisted_from_ = last_index();
}

void RaftNode::truncate_local(int64_t from) {
  // A committed entry may already be applied (indexed, read, acknowledged): it is never cut.
  COMET_ASSERT(from > state_.commit,
               fmt::format("node {}: truncating from {} would cut committed entries up to {}",
                           config_.id, from, state_.commit));
  if (from <= base_index_) {
    // A restarted node's persisted but uncommitted entries: the base moves back below them.
    base_term_ = term_at(from - 1);
    base_index_ = from - 1;
    tail_.clear();
  } else {
    tail_.resize(static_cast<size_t>(from - base_index_ - 1));
  }
  ready_.truncate_from = ready_.truncate_from ? std::min(*ready_.truncate_from, from) : from;
  if (unpersisted_from_ > last_index()) unpersisted_from_ = 0;
}

}  // namespace comet::dledger
