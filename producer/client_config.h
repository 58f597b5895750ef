// ClientConfig: what every comet client (producer or consumer) needs to reach the cluster. One
// MQClient serves each distinct client_id in a process; clients built from the same config share
// it (its connections, route cache and heartbeats).
#pragma once

#include <chrono>
#include <string>

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
};

}  // namespace comet::client
