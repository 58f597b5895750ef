// SlaveStream: the slave's side of replication as a pure state machine (in the style of
// dledger/raft_node.h): no sockets, threads, clocks or files. HAClient, its I/O shell, feeds it
// "connected", the master's handshake answer, "truncated", pushes, "appended", ticks (the time
// is passed in) and "closed", and does what it answers: send the handshake, truncate to where
// the logs agree, adopt the master's epochs durably (after the cut, before any of its records),
// append at exactly the log end, ack, reconnect. A bad answer or push is a typed outcome (the shell
// closes the connection), never a crash; the simulator (tests/unit/ha_sim_test.cc) drives the same
// machine.
//
// Phases: disconnected -> handshaking -> truncating (adopted the master's epochs; the log is
// being cut or restarted at the start offset) -> streaming -> disconnected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ha/epoch_cache.h"
#include "ha/ha_options.h"
#include "ha/stream_messages.h"

namespace comet::ha {

class SlaveStream {
 public:
  enum class Phase { kDisconnected, kHandshaking, kTruncating, kStreaming };

  // The stream begins: record `adopt` (the master's epochs) durably, then ack `ack`.
  struct Begin {
    std::vector<EpochEntry> adopt;
    int64_t master_epoch = 0;
    uint64_t ack = 0;
  };
  struct Attach {
    Refusal refusal = Refusal::kNone;  // not kNone: close and reconnect later
    std::string reason;
    // Accepted: either cut the log at `truncate_to` first (it does not end at the start
    // offset; on_truncated() then begins), or `begin` at once.
    std::optional<uint64_t> truncate_to;
    std::optional<Begin> begin;
    // Bytes this replica had acknowledged that the new start cuts: the master's history lacks
    // them (it lost a tail, or a less advanced replica was promoted). Reported, not fatal.
    uint64_t lost_acked_bytes = 0;
    bool accepted() const { return refusal == Refusal::kNone; }
  };
  enum class PushVerdict {
    kAppend,        // append the bytes at `offset` (the log end), then on_appended()
    kHeartbeat,     // no records: nothing to do
    kNotStreaming,  // a push before the stream began
    kStaleEpoch,    // from an epoch older than the master's we attached to
    kNewerEpoch,    // an epoch the handshake did not announce
    kOffsetGap,     // not at exactly our log end: a hole or an overlap
  };
  struct TickResult {
    bool reconnect = false;             // the master has been silent too long
    std::optional<uint64_t> heartbeat;  // ack our log end
  };

  SlaveStream(const HaOptions& options, uint64_t segment_bytes);

  // Not while cut_pending(): the hello would describe a log about to change.
  SlaveHello on_connect(const EpochCache& epochs, uint64_t log_min, uint64_t log_max,
                        int64_t now_ms);
  Attach on_answer(const HandshakeAnswer& answer, uint64_t log_end, int64_t now_ms);
  // The cut finished (also after its stream was closed: it ran anyway) and the log ends at
  // `log_end`: how the stream begins, or none (failed, or the stream is gone). The master's epochs
  // are adopted only now: adopted before the cut, they would label the divergent tail as the
  // master's if the slave crashed in between.
  std::optional<Begin> on_truncated(bool ok, uint64_t log_end);
  PushVerdict on_push(const PushRange& push, uint64_t bytes, uint64_t log_end, int64_t now_ms);
  // The log took the pushed bytes and ends at `log_end`: the offset to ack.
  uint64_t on_appended(uint64_t offset, uint64_t bytes, uint64_t log_end);
  TickResult on_tick(int64_t now_ms, uint64_t log_end);
  void on_closed() { phase_ = Phase::kDisconnected; }

  Phase phase() const { return phase_; }
  bool streaming() const { return phase_ == Phase::kStreaming; }
  // A cut was started and has not finished: the shell waits before handshaking again.
  bool cut_pending() const { return cut_pending_; }
  int64_t master_epoch() const { return master_epoch_; }
  uint64_t master_max() const { return master_max_; }
  uint64_t start_offset() const { return start_; }

 private:
  Attach refuse(Refusal why, std::string reason);
  Begin begin();

  const std::string cluster_name_;
  const std::string broker_name_;
  const uint64_t segment_bytes_;
  const int64_t housekeeping_interval_ms_;

  Phase phase_ = Phase::kDisconnected;
  int64_t master_epoch_ = 0;
  uint64_t start_ = 0;
  uint64_t master_max_ = 0;
  int64_t max_epoch_seen_ = 0;             // as told in the handshake
  std::vector<EpochEntry> master_epochs_;  // adopted when the stream begins
  int64_t last_push_ms_ = 0;
  uint64_t acked_offset_ = 0;  // the highest offset acknowledged (kept across reconnects)
  bool cut_pending_ = false;   // a cut of the log was asked for and has not completed
};

}  // namespace comet::ha
