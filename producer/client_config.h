// ClientConfig: what every comet client (producer or consumer) needs to reach the cluster. One
// MQClient serves each distinct client_id in a process; clients built from the same config share
// it (its connections, route cache and heartbeats), and so its credentials and TLS settings: the
// first config of a client_id decides them.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "remoting/credentials.h"
#include "remoting/security_config.h"

namespace comet::client {

// "host@pid@random": unique per process and per call.
std::string default_client_id();

struct ClientConfig {
  // "host:port;host:port"; tried in turn until one answers. Empty: $NAMESRV_ADDR.
  std::string namesrv_addr;
  std::string client_id = default_client_id();
  std::chrono::milliseconds poll_name_server_interval{30000};
  std::chrono::milliseconds heartbeat_interval{30000};
  // Timeout of a request to a name server, and of heartbeats.
  std::chrono::milliseconds request_timeout{3000};
  // Threads that run user callbacks and async sends, never on an I/O thread.
  int callback_threads = 4;
  // Signs every request, to name servers and brokers alike, for a cluster with aclEnable
  // (docs/security.md); none: requests go unsigned. remoting::resolve_credentials reads them
  // from options, the environment or a tools.yml-shaped file. The secret is never logged.
  std::optional<remoting::Credentials> credentials;
  // TLS on every connection when tls.enable: the server's certificate checked against
  // tls.trust_cert_path (and its name against the host dialled, with verify_hostname), and a
  // client certificate when cert_path and key_path are set (tls.server.need.client.auth).
  remoting::TlsClientConfig tls;
};

}  // namespace comet::client
