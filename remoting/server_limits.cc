#include "remoting/server_limits.h"

#include "remoting/remoting_server.h"

namespace comet::remoting {

namespace {

constexpr KeyRange<uint32_t> kAnyCount{};
constexpr KeyRange<uint32_t> kUpToADayMs{0, 86'400'000};
constexpr KeyRange<uint32_t> kUpToADaySeconds{0, 86'400};

}  // namespace

Result<ServerLimits> ServerLimits::from_properties(const Properties& p) {
  ServerLimits l;
  COMET_RETURN_IF_ERROR(parse_config_keys(keys(), p, l));
  return l;
}

const ConfigKeys<ServerLimits>& ServerLimits::keys() {
  using L = ServerLimits;
  static const ConfigKeys<L> k = {
      field_key<L>("serverMaxConnections", &L::max_connections,
                   "connections in all; past it a new one is closed (0: no limit)", kAnyCount),
      field_key<L>("serverMaxConnectionsPerIp", &L::max_connections_per_ip,
                   "connections from one IP address (0: no limit)", kAnyCount),
      field_key<L>("serverMaxInflightRequests", &L::max_inflight_requests,
                   "unanswered requests per connection before it is not read (0: no limit)",
                   kAnyCount),
      field_key<L>("serverFrameReadTimeoutMs", &L::frame_read_timeout_ms,
                   "a frame must arrive whole within this (0: no limit)", kUpToADayMs),
      field_key<L>("serverChannelMaxIdleTimeSeconds", &L::channel_max_idle_seconds,
                   "a connection silent this long is closed (0: never)", kUpToADaySeconds),
  };
  return k;
}

void ServerLimits::apply(ServerOptions& options) const {
  options.max_connections = max_connections;
  options.max_connections_per_ip = max_connections_per_ip;
  options.connection.max_inflight_requests = max_inflight_requests;
  options.frame_read_timeout = std::chrono::milliseconds(frame_read_timeout_ms);
  options.idle_timeout = std::chrono::seconds(channel_max_idle_seconds);
}

}  // namespace comet::remoting
