// DLedgerCommitLog: a broker's CommitLog replicated by a Raft group (RocketMQ's DLedger mode).
// The CommitLog is the Raft log: the leader appends the records of the sends waiting on its Raft
// thread to its CommitLog and proposes them as one entry (the bytes, with the offset they start
// at; up to dLegerMaxBatchBytes per entry); followers append the
// same bytes at the same offset, so every member's CommitLog and ConsumeQueues are identical. A
// send completes when its entry is committed (on a quorum); only committed records are indexed
// into ConsumeQueues (MessageStore's consensus mode), so consumers never see a record that a
// new leader could cut.
//
// Threads: the Raft node and everything it touches run on one thread (its own io_context):
// ticks, messages from peers (a RemotingServer on this member's dLegerPeers port), appends,
// persistence (DLedgerLog, CommitLog) and sends to peers (a RemotingClient, oneway frames).
// Handling each Ready: cut the log where told, append and index the new entries, persist the
// hard state (synced when term or vote changed), then send, then advance the committed offset.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

// After a standard header: see broker/send_deadlines.h.
#include <asio.hpp>

#include "commitlog/message_store.h"
#include "dledger/dledger_log.h"
#include "dledger/dledger_options.h"
#include "dledger/raft_node.h"
#include "remoting/remoting_client.h"
#include "remoting/remoting_server.h"

namespace comet::dledger {

class DLedgerCommitLog {
 public:
  using AppendCallback = std::function<void(Result<std::vector<commitlog::AppendResult>>)>;
  // Runs on the Raft thread when this member's role, term or known leader changes.
  using RoleListener = std::function<void(bool leader, int64_t term, const std::string& leader_id)>;

  // Opens the Raft metadata under `dir`; the MessageStore opens next, with committed_offset().
  static Result<std::unique_ptr<DLedgerCommitLog>> open(DLedgerOptions options,
                                                        const std::string& dir);
  ~DLedgerCommitLog();

  // Where the committed entries end in the CommitLog, as persisted.
  uint64_t committed_offset() const;
  void set_role_listener(RoleListener listener) { role_listener_ = std::move(listener); }

  // Reconciles the index with the store's CommitLog after a crash (each cut to what both
  // hold), listens on this member's port and starts the Raft clock.
  Status start(commitlog::MessageStore& store);
  void stop();

  // Leader: appends `msgs` (views kept alive by `keepalive`) and completes `done` once their
  // entry is committed. Elsewhere (or while leadership moves) `done` gets kUnavailable at once;
  // if leadership is lost before the entry commits, kTimeout: the outcome is unknown (the entry
  // is stored and may still commit under the next leader). The caller owns any timeout.
  void append(std::vector<comet::Message> msgs, std::shared_ptr<const void> keepalive,
              AppendCallback done);
  // Leader: hands leadership to member `target_id`; `done` runs once it leads (or with an
  // error after three election timeouts).
  void transfer_leadership(const std::string& target_id, std::function<void(Status)> done);

  bool is_leader() const { return leader_.load(); }
  int64_t term() const { return term_.load(); }
  const DLedgerOptions& options() const { return options_; }
  // Term, role, indexes, and (on the leader) each member's match index.
  Result<protocol::DLedgerStatusT> status();

 private:
  explicit DLedgerCommitLog(DLedgerOptions options);
  struct PendingAppend {
    std::vector<comet::Message> msgs;
    std::shared_ptr<const void> keepalive;
    AppendCallback done;
  };
  struct Transfer {
    NodeId target = kNoNode;
    int64_t term = 0;
    std::function<void(Status)> done;
  };

  Status reconcile();
  void schedule_tick();
  // A store that turned read-only on an I/O error (commitlog/store_health.h) can write nothing
  // this member would acknowledge: it stops taking part at once, as a member whose append
  // failed does, so a leader with a failed disk stops heartbeating and the others elect one
  // that can write. Checked every tick.
  void leave_if_store_failed();
  void on_message(remoting::RemotingCommand cmd);
  void drain_appends();
  // Handles every Ready the node has, then reports role changes.
  void process_ready();
  Status persist(Ready& ready);
  // Appends a follower's entry bytes at `start` (split where a blank ends a segment).
  Status append_bytes(uint64_t start, std::span<const uint8_t> bytes);
  void check_role();
  void finish_transfer(Status s);
  std::string member_id(NodeId id) const;

  const DLedgerOptions options_;
  const NodeId self_;
  std::unique_ptr<DLedgerLog> log_;
  commitlog::MessageStore* store_ = nullptr;
  std::unique_ptr<RaftNode> node_;
  RoleListener role_listener_;

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  asio::steady_timer tick_timer_;
  asio::steady_timer transfer_timer_;
  std::thread thread_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::unique_ptr<remoting::RemotingClient> client_;

  std::mutex pending_mu_;
  std::vector<PendingAppend> pending_;
  bool drain_posted_ = false;

  // Raft thread only.
  std::map<int64_t, EntryMeta> proposed_;  // leader: entries appended locally, not yet indexed
  Role last_role_ = Role::kFollower;
  NodeId last_leader_ = kNoNode;
  int64_t last_term_ = -1;
  int64_t applied_index_ = 0;
  std::optional<Transfer> transfer_;
  bool failed_ = false;  // the log could not be written: this member stops taking part

  std::atomic<bool> leader_{false};
  std::atomic<int64_t> term_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace comet::dledger
