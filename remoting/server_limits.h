// The limits a server puts on its clients, read from the same keys by broker and name server:
//   serverMaxConnections             connections in all                         (4096)
//   serverMaxConnectionsPerIp        connections from one IP address            (1024)
//   serverMaxInflightRequests        unanswered requests per connection, past
//                                    which it is not read (backpressure)        (4096)
//   serverFrameReadTimeoutMs         a frame must arrive whole within this      (30000)
//   serverChannelMaxIdleTimeSeconds  a silent connection is closed after this   (120, RocketMQ's)
// 0 turns a limit off.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/config_table.h"
#include "common/properties.h"
#include "common/status.h"

namespace comet::remoting {

struct ServerOptions;

struct ServerLimits {
  uint32_t max_connections = 4096;
  uint32_t max_connections_per_ip = 1024;
  uint32_t max_inflight_requests = 4096;
  uint32_t frame_read_timeout_ms = 30000;
  uint32_t channel_max_idle_seconds = 120;

  // The keys above, over these defaults; a bad value is an error naming its key.
  static Result<ServerLimits> from_properties(const Properties& p);
  void apply(ServerOptions& options) const;
  // Each key once: name, description, bound and field (read by parsing and by --help).
  static const ConfigKeys<ServerLimits>& keys();
};

}  // namespace comet::remoting
