// RaftNode: the Raft consensus core of a DLedger group, as a pure state machine in the style of
// etcd-io/raft. It has no threads, sockets, clocks or files: the owner feeds it ticks (its only
// notion of time), messages from peers and proposals, and drains a Ready after each call:
//   1. persist `hard_state` (term, vote, commit) and `entries` (after cutting the log at
//      `truncate_from` when set) durably;
//   2. then send `messages` (a vote is never answered before the vote it grants is durable);
//   3. apply `committed` in order.
// Elections use randomized timeouts and PreVote (a node that cannot win does not bump terms), a
// leader that has not heard from a quorum for an election timeout steps down (check quorum), and
// nodes that heard from a leader within the timeout ignore votes (a rejoining node cannot
// depose a healthy leader). AppendEntries is pipelined (up to max_inflight batches per peer) and
// batched (up to max_batch_entries / max_batch_bytes); a follower that rejects gives a hint so
// the leader skips a whole conflicting term. A new leader appends an empty entry of its term so
// entries of earlier terms commit. Leadership transfer: the leader stops taking proposals, brings
// the target up to date and sends it TimeoutNow; the target campaigns at once.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"

namespace comet::dledger {

using NodeId = int32_t;
constexpr NodeId kNoNode = -1;

struct Entry {
  int64_t term = 0;
  int64_t index = 0;
  std::string data;  // empty: the no-op a new leader appends
  bool operator==(const Entry&) const = default;
};

struct HardState {
  int64_t term = 0;
  NodeId vote = kNoNode;
  int64_t commit = 0;
  bool operator==(const HardState&) const = default;
};

struct VoteRequest {
  int64_t term = 0;  // for a pre-vote: the term the candidate would campaign in
  int64_t last_index = 0;
  int64_t last_term = 0;
  bool pre_vote = false;
  bool transfer = false;  // campaigning on TimeoutNow: ignores the leader lease
};
struct VoteResponse {
  int64_t term = 0;
  bool granted = false;
  bool pre_vote = false;
};
struct AppendRequest {
  int64_t term = 0;
  int64_t prev_index = 0;
  int64_t prev_term = 0;
  std::vector<Entry> entries;
  int64_t commit = 0;
  bool heartbeat = false;  // prev_index is the follower's known match: never rejected for the log
};
struct AppendResponse {
  int64_t term = 0;
  bool success = false;
  int64_t match_index = 0;  // success: the follower's log matches the leader's up to here
  int64_t rejected = 0;     // failure: the prev_index that did not match
  int64_t hint = 0;         // failure: the next index worth trying
  bool heartbeat = false;
};
struct TimeoutNow {
  int64_t term = 0;
};

using Payload = std::variant<VoteRequest, VoteResponse, AppendRequest, AppendResponse, TimeoutNow>;

struct Message {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Payload payload;
};

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* role_name(Role role);

struct Ready {
  std::optional<HardState> hard_state;   // changed: persist before sending
  std::optional<int64_t> truncate_from;  // drop persisted entries at and after this index first
  std::vector<Entry> entries;            // then append these
  std::vector<Message> messages;
  std::vector<Entry> committed;  // newly committed, in order
  bool empty() const {
    return !hard_state && !truncate_from && entries.empty() && messages.empty() &&
           committed.empty();
  }
};

// What the owner persisted, read back for entries the node no longer keeps in memory (those at
// or below its compacted base): the DLedger CommitLog serves them from its index and mapped
// segments, the simulator from its model of the disk. Reads only; the node never writes it.
class LogStore {
 public:
  virtual ~LogStore() = default;
  virtual Result<int64_t> term(int64_t index) const = 0;
  // Entries [lo, hi) in order: at least one when lo < hi, then stopping before `max_bytes`
  // of data would be exceeded.
  virtual Status entries(int64_t lo, int64_t hi, size_t max_bytes,
                         std::vector<Entry>* out) const = 0;
};

// Where a restarted node's log stands: entries up to `base_index` are in `store` (`base_term`
// is the term of the last of them), the ones after it are `tail`, in order.
struct RestoredLog {
  const LogStore* store = nullptr;
  int64_t base_index = 0;
  int64_t base_term = 0;
  std::vector<Entry> tail;
};

struct RaftConfig {
  NodeId id = 0;
  std::vector<NodeId> peers;  // every member, this node included
  int election_ticks = 10;    // the timeout is random in [election_ticks, 2 * election_ticks)
  int heartbeat_ticks = 1;
  int max_inflight = 64;  // append batches in flight per peer
  size_t max_batch_entries = 256;
  size_t max_batch_bytes = 1 << 20;
  uint64_t seed = 1;  // of the election-timeout randomness
  // false: Ready::committed entries carry their index and term but no data, for an owner that
  // applied the data when it persisted the entries (the DLedger CommitLog); saves a copy of
  // every entry, or a read of it back from the LogStore.
  bool committed_data = true;
};

class RaftNode {
 public:
  // A node restarted from what it persisted (`log` holds indexes 1..n, in order); entries up to
  // `applied` are not handed out as committed again.
  RaftNode(RaftConfig config, HardState state, std::vector<Entry> log, int64_t applied = 0);
  // A node whose older entries stay in a LogStore (only the tail is held in memory).
  RaftNode(RaftConfig config, HardState state, RestoredLog log, int64_t applied);

  void tick();
  // A message from a peer (unknown senders and messages for others are ignored).
  void step(const Message& m);
  // Appends an entry when this node leads (and is not transferring leadership); its index.
  Result<int64_t> propose(std::string data);
  // Appends several entries and sends them in one round; the index of the last.
  Result<int64_t> propose_batch(std::vector<std::string> batch);
  // Whether propose() would take an entry now.
  bool can_propose() const { return role_ == Role::kLeader && transferee_ == kNoNode; }
  // Hands leadership to `target` (a caught-up follower gets TimeoutNow); aborted after an
  // election timeout.
  Status transfer_leadership(NodeId target);
  // Starts an election now (a pre-vote first), as an expired timeout would.
  void campaign();
  // Drops the in-memory copies of entries up to `index` (at most the last handed out as
  // committed, which the owner has persisted); later reads of them go to the LogStore. No-op
  // without a LogStore.
  void compact(int64_t index);

  Ready take_ready();

  NodeId id() const { return config_.id; }
  Role role() const { return role_; }
  int64_t term() const { return state_.term; }
  NodeId leader() const { return leader_; }
  int64_t commit_index() const { return state_.commit; }
  int64_t last_index() const { return base_index_ + static_cast<int64_t>(tail_.size()); }
  // 0 outside [1, last_index()]; -1 when the LogStore cannot tell.
  int64_t term_at(int64_t index) const;
  Result<Entry> entry(int64_t index) const;
  // First index held in memory (base + 1).
  int64_t first_in_memory() const { return base_index_ + 1; }
  // Leader only: the highest index known to be on `peer` (its own last index for itself).
  int64_t match_index(NodeId peer) const;

 private:
  struct Progress {
    int64_t next = 1;
    int64_t match = 0;
    int inflight = 0;     // batches sent and not answered
    bool probing = true;  // one batch at a time until the follower matches
    bool active = false;  // heard from since the last quorum check
    int stalled = 0;      // ticks behind without progress: the pipeline restarts from match
  };

  void become_follower(int64_t term, NodeId leader);
  void become_pre_candidate();
  void become_candidate(bool transfer);
  void become_leader();
  void reset_election_timer();
  size_t quorum() const { return config_.peers.size() / 2 + 1; }

  void on_vote_request(NodeId from, const VoteRequest& r);
  void on_vote_response(NodeId from, const VoteResponse& r);
  void on_append_request(NodeId from, const AppendRequest& r);
  // Entries that continue prev_index one index at a time, in terms that never decrease from
  // prev_term and never pass the request's: what a correct leader sends. Anything else comes
  // from a faulty peer and is dropped (the log's own checks are for this node's mistakes).
  static bool well_formed(const AppendRequest& r);
  void on_append_response(NodeId from, const AppendResponse& r);
  void on_timeout_now(NodeId from, const TimeoutNow& r);

  void send(NodeId to, Payload p);
  void broadcast_votes(bool pre_vote, bool transfer);
  // Sends `peer` what it lacks, within the pipeline window; `heartbeat` sends even if empty.
  void replicate(NodeId peer, bool heartbeat);
  void broadcast_append(bool heartbeat);
  void maybe_commit();
  void set_commit(int64_t index);
  void append_local(Entry e);
  void truncate_local(int64_t from);
  bool log_up_to_date(int64_t last_index, int64_t last_term) const;
  bool in_lease() const;
  bool is_peer(NodeId id) const;
  // Entries [lo, hi) from memory or the LogStore, within max_bytes (at least one).
  Status fetch(int64_t lo, int64_t hi, size_t max_bytes, std::vector<Entry>* out) const;

  RaftConfig config_;
  HardState state_;
  const LogStore* store_ = nullptr;
  int64_t base_index_ = 0;  // entries up to here live only in store_
  int64_t base_term_ = 0;
  std::deque<Entry> tail_;  // tail_[i] has index base_index_ + 1 + i
  Role role_ = Role::kFollower;
  NodeId leader_ = kNoNode;
  std::mt19937_64 rng_;
  int elapsed_ = 0;  // ticks since the last reset (election or heartbeat clock)
  int randomized_timeout_ = 0;
  int heartbeat_elapsed_ = 0;
  std::set<NodeId> votes_;  // granted, in the current (pre-)campaign
  std::set<NodeId> rejections_;
  std::map<NodeId, Progress> progress_;
  NodeId transferee_ = kNoNode;
  int transfer_elapsed_ = 0;
  int64_t applied_ = 0;

  Ready ready_;
  HardState persisted_;
  int64_t unpersisted_from_ = 0;  // first index not yet handed out in a Ready (0: none)
};

}  // namespace comet::dledger
