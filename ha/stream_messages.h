// The messages of the master/slave replication protocol as plain values, independent of the
// wire format (remoting's FlatBuffers tables): what MasterStream and SlaveStream consume and
// produce, and what the simulator (tests/unit/ha_sim_test.cc) carries between them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ha/epoch_cache.h"

namespace comet::ha {

// A slave's HA_HANDSHAKE: who it is and what its log holds.
struct SlaveHello {
  std::string cluster_name;
  std::string broker_name;
  uint64_t segment_bytes = 0;  // mappedFileSizeCommitLog: replicas must cut segments alike
  std::vector<EpochEntry> epochs;
  int64_t max_epoch = 0;  // the highest epoch the slave has seen anywhere
  uint64_t min_offset = 0;
  uint64_t max_offset = 0;
};

enum class Refusal {
  kNone,
  kWrongGroup,   // another cluster or broker name
  kSegmentSize,  // mappedFileSizeCommitLog differs
  kNotMaster,    // this broker is not (or no longer) a master
  kStaleMaster,  // the slave has seen a higher epoch than the master's
  kBadAnswer,    // slave side: the master's answer contradicts itself or what we have seen
};
const char* refusal_name(Refusal r);

// The master's answer to a handshake.
struct HandshakeAnswer {
  Refusal refusal = Refusal::kNone;
  std::string reason;         // set when refused
  uint64_t start_offset = 0;  // where the two logs agree: the slave truncates (or restarts) there
  int64_t master_epoch = 0;
  std::vector<EpochEntry> epochs;  // the master's history, which the slave adopts
  bool accepted() const { return refusal == Refusal::kNone; }
};

// An HA_PUSH: up to `max_bytes` of whole records from `offset` (the I/O shell reads them from
// the CommitLog); max_bytes 0 is a heartbeat.
struct PushRange {
  int64_t epoch = 0;
  uint64_t offset = 0;
  uint64_t max_bytes = 0;
  uint64_t master_max = 0;  // the master's log end when sent
};

}  // namespace comet::ha
