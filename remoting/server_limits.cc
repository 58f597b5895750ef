#include "remoting/server_limits.h"

#include <limits>

#include "remoting/remoting_server.h"

namespace comet::remoting {

Result<ServerLimits> ServerLimits::from_properties(const Properties& p) {
  ServerLimits l;
  constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
  auto get = [&p](std::string_view key, uint64_t hi, uint32_t& out) {
    uint64_t v = out;
    COMET_RETURN_IF_ERROR(p.get_uint_in(key, 0, hi, v));
    out = static_cast<uint32_t>(v);
    return Status::ok();
  };
  COMET_RETURN_IF_ERROR(get("serverMaxConnections", kMax, l.max_connections));
  COMET_RETURN_IF_ERROR(get("serverMaxConnectionsPerIp", kMax, l.max_connections_per_ip));
  COMET_RETURN_IF_ERROR(get("serverMaxInflightRequests", kMax, l.max_inflight_requests));
  COMET_RETURN_IF_ERROR(get("serverFrameReadTimeoutMs", 86'400'000, l.frame_read_timeout_ms));
  COMET_RETURN_IF_ERROR(get("serverChannelMaxIdleTimeSeconds", 86'400, l.channel_max_idle_seconds));
  return l;
}

const std::vector<std::string_view>& ServerLimits::keys() {
  static const std::vector<std::string_view> k = {
      "serverMaxConnections", "serverMaxConnectionsPerIp", "serverMaxInflightRequests",
      "serverFrameReadTimeoutMs", "serverChannelMaxIdleTimeSeconds"};
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
