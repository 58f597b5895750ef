// Name server configuration, read from RocketMQ-style properties. Every key has a default;
// from_properties() fails with a message naming the key whose value is bad.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_table.h"
#include "common/properties.h"
#include "common/status.h"
#include "remoting/security_config.h"
#include "remoting/server_limits.h"

namespace comet::namesrv {

struct NamesrvConfig {
  uint16_t listen_port = 9876;                        // listenPort (0: any free port)
  std::string bind_address = "0.0.0.0";               // bindAddress (an IP literal)
  int64_t broker_expiry_ms = 3000;                    // brokerExpiryMs
  int64_t scan_not_active_broker_interval_ms = 1000;  // scanNotActiveBrokerInterval
  int io_threads = 2;                                 // ioThreads
  // serverMaxConnections, serverMaxConnectionsPerIp, serverMaxInflightRequests,
  // serverFrameReadTimeoutMs, serverChannelMaxIdleTimeSeconds (remoting/server_limits.h)
  remoting::ServerLimits server_limits;
  // aclEnable, aclFile, clusterCredentialFile, tls.* (remoting/security_config.h)
  remoting::SecurityConfig security;

  static Result<NamesrvConfig> from_properties(const Properties& props);
  Status validate() const;

  // Every key from_properties() reads (the server limits' included): parsing, --help and the
  // unknown-key warning all read this table.
  static const ConfigKeys<NamesrvConfig>& keys();
  // "  key=default   description" per key, the defaults those of NamesrvConfig{}.
  static std::string keys_help();
};

}  // namespace comet::namesrv
