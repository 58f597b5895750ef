// DLedger settings, named after RocketMQ's broker keys (dLegerGroup, dLegerPeers,
// dLegerSelfId) plus the Raft timing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "remoting/link_security.h"

namespace comet::dledger {

struct DLedgerPeer {
  std::string id;       // n0, n1, ...
  std::string address;  // host:port of its DLedger port
};

struct DLedgerOptions {
  std::string group;               // dLegerGroup (default: the broker name)
  std::vector<DLedgerPeer> peers;  // dLegerPeers, every member including this one
  std::string self_id;             // dLegerSelfId
  std::string bind_address = "0.0.0.0";
  uint32_t tick_ms = 50;                 // dLegerTickMs: the Raft clock
  uint32_t heartbeat_interval_ms = 100;  // dLegerHeartbeatIntervalMs
  // dLegerElectionTimeoutMs: a follower that hears no leader for a random time in [t, 2t)
  // campaigns; a leader that hears no quorum for t steps down.
  uint32_t election_timeout_ms = 600;
  uint32_t max_inflight = 64;              // dLegerMaxInflight: append batches in flight per peer
  uint32_t max_batch_bytes = 1024 * 1024;  // dLegerMaxBatchBytes: per append batch
  uint32_t max_frame_bytes = 16 * 1024 * 1024;
  // TLS and access control of the Raft port and of the links to the other peers (not a
  // configuration key: the broker sets it from its security keys).
  remoting::LinkSecurity security;

  // "n0-127.0.0.1:40911;n1-127.0.0.1:40912" (RocketMQ's dLegerPeers).
  static Result<std::vector<DLedgerPeer>> parse_peers(std::string_view text);
  // Position of self_id in peers, or -1.
  int self_index() const;
  const DLedgerPeer* find(std::string_view id) const;
  Status validate() const;
};

}  // namespace comet::dledger
