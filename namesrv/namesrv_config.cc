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
  COMET_RETURN_IF_ERROR(parse_config_keys(keys(), p, c));
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
  return security.validate();
}

const ConfigKeys<NamesrvConfig>& NamesrvConfig::keys() {
  using N = NamesrvConfig;
  static const ConfigKeys<N> k = [] {
    ConfigKeys<N> all = {
        field_key<N>("listenPort", &N::listen_port, "port brokers and clients connect to (0: any)"),
        field_key<N>("bindAddress", &N::bind_address, "IP address the port binds"),
        field_key<N>("brokerExpiryMs", &N::broker_expiry_ms,
                     "ms without a heartbeat after which a broker is dropped"),
        field_key<N>("scanNotActiveBrokerInterval", &N::scan_not_active_broker_interval_ms,
                     "ms between scans for expired brokers"),
        field_key<N>("ioThreads", &N::io_threads, "network threads (1..256)",
                     KeyRange<int>{1, kMaxIoThreads}),
    };
    append_nested_keys(all, &N::server_limits, remoting::ServerLimits::keys());
    append_nested_keys(all, &N::security, remoting::SecurityConfig::keys());
    return all;
  }();
  return k;
}

std::string NamesrvConfig::keys_help() {
  return describe_config_keys(keys(), NamesrvConfig{});
}

}  // namespace comet::namesrv
