// Replication settings, named after RocketMQ's MessageStoreConfig HA keys.
#pragma once

#include <cstdint>
#include <string>

#include "remoting/link_security.h"

namespace comet::ha {

struct HaOptions {
  std::string cluster_name;
  std::string broker_name;
  uint32_t transfer_batch_bytes = 256 * 1024;   // haTransferBatchSize: bytes per push
  uint64_t max_gap_not_in_sync = 256ull << 20;  // haMaxGapNotInSync: a slave further behind
                                                // is not in sync
  uint32_t heartbeat_interval_ms = 1000;        // haSendHeartbeatInterval: both directions
  uint32_t housekeeping_interval_ms = 5000;     // haHousekeepingInterval: a silent peer is cut
  uint64_t window_bytes = 16ull << 20;          // pushed but not yet acked, per slave
  uint32_t connect_timeout_ms = 3000;
  uint32_t reconnect_interval_ms = 1000;
  // TLS and access control of the HA port, and of a slave's link to its master.
  remoting::LinkSecurity security;
};

}  // namespace comet::ha
