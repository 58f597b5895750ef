// Consumer and producer groups as the broker knows them from client heartbeats: which clients
// are in a consumer group (what rebalancing divides queues among) and what they subscribe to.
// A client drops out when its heartbeats stop for `client_expiry_ms` or it unregisters.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "remoting/remoting_command.h"

namespace comet::broker {

class ClientManager {
 public:
  explicit ClientManager(int64_t client_expiry_ms = 120000) : expiry_ms_(client_expiry_ms) {}

  // Returns true when a consumer group's membership changed.
  bool heartbeat(const protocol::HeartbeatRequestT& hb, int64_t now_ms);
  void unregister(const std::string& client_id, const std::string& consumer_group,
                  const std::string& producer_group);
  // Client ids of a consumer group, sorted (every member sorts the same way to rebalance).
  std::vector<std::string> consumers(const std::string& group) const;
  std::optional<protocol::ConsumerDataT> subscription(const std::string& group) const;
  std::vector<std::string> consumer_groups() const;
  // Drops clients not heard from; returns how many.
  size_t scan_expired(int64_t now_ms);

 private:
  struct Group {
    protocol::ConsumerDataT data;
    std::map<std::string, int64_t> clients;  // client id → last heartbeat
  };
  const int64_t expiry_ms_;
  mutable std::mutex mu_;
  std::map<std::string, Group> consumer_groups_;
  std::map<std::string, std::map<std::string, int64_t>> producer_groups_;
};

}  // namespace comet::broker
