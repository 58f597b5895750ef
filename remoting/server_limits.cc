#include "remoting/server_limits.h"

#include <limits>

#include "remoting/remoting_server.h"

namespace comet::remoting {

namespace {

// Each key once: its field and its upper bound.
struct LimitKey {
  std::string_view name;
  uint64_t max;
  uint32_t ServerLimits::*field;
};
constexpr uint64_t kMaxCount = std::numeric_limits<uint32_t>::max();
constexpr LimitKey kLimitKeys[] = {
    {"serverMaxConnections", kMaxCount, &ServerLimits::max_connections},
    {"serverMaxConnectionsPerIp", kMaxCount, &ServerLimits::max_connections_per_ip},
    {"serverMaxInflightRequests", kMaxCount, &ServerLimits::max_inflight_requests},
    {"serverFrameReadTimeoutMs", 86'400'000, &ServerLimits::frame_read_timeout_ms},
    {"serverChannelMaxIdleTimeSeconds", 86'400, &ServerLimits::channel_max_idle_seconds},
};

}  // namespace

Result<ServerLimits> ServerLimits::from_properties(const Properties& p) {
  ServerLimits l;
  for (const LimitKey& k : kLimitKeys) {
    uint64_t v = l.*k.field;
    COMET_RETURN_IF_ERROR(p.get_uint_in(k.name, 0, k.max, v));
    l.*k.field = static_cast<uint32_t>(v);
  }
  return l;
}

const std::vector<std::string_view>& ServerLimits::keys() {
  static const std::vector<std::string_view> k = [] {
    std::vector<std::string_view> names;
    for (const LimitKey& key : kLimitKeys)
      names.push_back(key.name);
    return names;
  }();
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
