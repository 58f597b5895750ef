#include "namesrv/namesrv_config.h"

#include <arpa/inet.h>

namespace comet::namesrv {
namespace {

constexpr int kMaxIoThreads = 256;

bool is_ip_literal(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

Result<NamesrvConfig> NamesrvConfig::from_properties(const Properties& p) {
  NamesrvConfig c;
  int64_t port = c.listen_port;
  COMET_RETURN_IF_ERROR(p.get_int("listenPort", port));
  if (port < 0 || port > 65535) {
    return Status::invalid_argument("listenPort: must be within 0..65535, got " +
                                    std::to_string(port));
  }
  c.listen_port = static_cast<uint16_t>(port);
  COMET_RETURN_IF_ERROR(p.get_string("bindAddress", c.bind_address));
  COMET_RETURN_IF_ERROR(p.get_int("brokerExpiryMs", c.broker_expiry_ms));
  COMET_RETURN_IF_ERROR(
      p.get_int("scanNotActiveBrokerInterval", c.scan_not_active_broker_interval_ms));
  int64_t threads = c.io_threads;
  COMET_RETURN_IF_ERROR(p.get_int("ioThreads", threads));
  if (threads < 1 || threads > kMaxIoThreads) {
    return Status::invalid_argument("ioThreads: must be within 1.." +
                                    std::to_string(kMaxIoThreads) + ", got " +
                                    std::to_string(threads));
  }
  c.io_threads = static_cast<int>(threads);
  COMET_ASSIGN_OR_RETURN(c.server_limits, remoting::ServerLimits::from_properties(p));
  COMET_RETURN_IF_ERROR(c.validate());
  return c;
}

Status NamesrvConfig::validate() const {
  if (!is_ip_literal(bind_address)) {
    return Status::invalid_argument("bindAddress: '" + bind_address +
                                    "' is not an IPv4 or IPv6 address");
  }
  if (broker_expiry_ms <= 0) {
    return Status::invalid_argument("brokerExpiryMs: must be > 0, got " +
                                    std::to_string(broker_expiry_ms));
  }
  if (scan_not_active_broker_interval_ms <= 0) {
    return Status::invalid_argument("scanNotActiveBrokerInterval: must be > 0, got " +
                                    std::to_string(scan_not_active_broker_interval_ms));
  }
  if (io_threads < 1 || io_threads > kMaxIoThreads) {
    return Status::invalid_argument("ioThreads: must be within 1.." +
                                    std::to_string(kMaxIoThreads) + ", got " +
                                    std::to_string(io_threads));
  }
  return Status::ok();
}

const std::vector<std::string_view>& NamesrvConfig::known_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> k = {"listenPort", "bindAddress", "brokerExpiryMs",
                                       "scanNotActiveBrokerInterval", "ioThreads"};
    const auto& limits = remoting::ServerLimits::keys();
    k.insert(k.end(), limits.begin(), limits.end());
    return k;
  }();
  return keys;
}

}  // namespace comet::namesrv
