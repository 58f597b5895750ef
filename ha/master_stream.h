// MasterStream: the master's side of one slave's replication stream as a pure state machine
// (in the style of dledger/raft_node.h): no sockets, threads, clocks or files. HAService, its
// I/O shell, feeds it the slave's handshake with the master's view of its own log, the slave's
// acks, ticks (the time is passed in), "the log grew" and "the connection closed", and does
// what it answers: send the handshake answer or refusal, read and push (offset, max bytes)
// ranges of the CommitLog, send heartbeats, advance the replicated watermark, fence the master,
// close a silent slave. The simulator (tests/unit/ha_sim_test.cc) drives the same machine.
//
// Phases: awaiting the handshake -> awaiting the slave's first ack (it truncates first) ->
// streaming -> closed. Pushes run at most window_bytes ahead of the acks; a slave is in sync
// while streaming and at most haMaxGapNotInSync bytes behind the log end.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ha/ha_options.h"
#include "ha/stream_messages.h"

namespace comet::ha {

// The master's own side at the moment a slave handshakes.
struct MasterLogView {
  bool is_master = false;
  int64_t epoch = 0;
  std::vector<EpochEntry> epochs;
  uint64_t min_offset = 0;
  uint64_t max_offset = 0;
  uint64_t segment_bytes = 0;
};

class MasterStream {
 public:
  enum class Phase { kAwaitHello, kAwaitStartAck, kStreaming, kClosed };

  struct HandshakeResult {
    HandshakeAnswer answer;
    // > 0: the slave has seen this epoch, higher than ours: this master is stale.
    int64_t fence_epoch = 0;
  };
  struct AckResult {
    bool close = false;  // a protocol violation, told by `reason`
    std::string reason;
    bool began = false;  // the first ack: the stream starts at the acked offset
    // The slave holds the master's log up to here (never past the master's log end).
    std::optional<uint64_t> replicated;
  };
  enum class PushWait { kSend, kNotStreaming, kCaughtUp, kWindowFull };
  struct PushDecision {
    PushWait wait = PushWait::kNotStreaming;
    PushRange push;  // when kSend
  };
  struct TickResult {
    bool close_silent = false;           // no ack for longer than haHousekeepingInterval
    std::optional<PushRange> heartbeat;  // an idle stream tells the slave it is alive
  };

  explicit MasterStream(const HaOptions& options);

  HandshakeResult on_handshake(const SlaveHello& hello, const MasterLogView& master,
                               int64_t now_ms);
  AckResult on_ack(uint64_t offset, uint64_t log_end, int64_t now_ms);
  // The next push, or why there is none. Caught up marks the stream idle until wake().
  PushDecision next_push(uint64_t log_end);
  // The shell sent `bytes` (whole records, > 0) of the range next_push() gave.
  void on_pushed(uint64_t offset, uint64_t bytes);
  // The log grew: true when the stream was idle (the shell pumps it again).
  bool wake();
  TickResult on_tick(int64_t now_ms, uint64_t log_end);
  void on_closed() { phase_ = Phase::kClosed; }

  bool in_sync(uint64_t log_end) const {
    return streaming() && within_sync_gap(acked_, log_end, max_gap_not_in_sync_);
  }
  static bool within_sync_gap(uint64_t acked, uint64_t log_end, uint64_t max_gap) {
    return log_end - std::min(log_end, acked) <= max_gap;
  }

  Phase phase() const { return phase_; }
  bool streaming() const { return phase_ == Phase::kStreaming; }
  bool idle() const { return idle_; }
  int64_t epoch() const { return epoch_; }
  uint64_t start_offset() const { return start_; }
  uint64_t next_offset() const { return next_; }
  uint64_t acked_offset() const { return acked_; }
  int64_t last_ack_ms() const { return last_ack_ms_; }

 private:
  HandshakeResult refuse(Refusal why, std::string reason);
  void check_invariants() const;

  const std::string cluster_name_;
  const std::string broker_name_;
  const uint64_t window_bytes_;
  const uint64_t batch_bytes_;
  const uint64_t max_gap_not_in_sync_;
  const int64_t housekeeping_interval_ms_;

  Phase phase_ = Phase::kAwaitHello;
  int64_t epoch_ = 0;   // the master's epoch at the handshake; every push carries it
  uint64_t start_ = 0;  // the offset the handshake answered
  uint64_t next_ = 0;   // next offset to push
  uint64_t acked_ = 0;  // highest offset the slave acknowledged
  int64_t last_ack_ms_ = 0;
  bool idle_ = false;  // pushed everything written; waits for the log to grow
};

}  // namespace comet::ha
