// RouteInfoManager: the name server's tables (RocketMQ's RouteInfoManager): cluster → broker
// names, broker name → group {cluster, address per brokerId}, live info per broker address, and
// per topic the queue data of each group serving it. I/O-free and thread-safe (one shared_mutex);
// callers pass the time, so expiry is driven by explicit now_ms values.
//
// - register_broker() refreshes the broker's heartbeat. Only the master (brokerId 0) supplies
//   topic configs: its report replaces the group's queue data, and topics it no longer reports
//   lose the group's queue data. A (brokerName, brokerId) registered from a new address replaces
//   the old address; an address registered under a new brokerId (a role change) moves there.
// - Epoch fencing: the highest master epoch registered per group is remembered (even after
//   the group's brokers expire). A master registering with a lower epoch is fenced instead of
//   routed. A master with a higher epoch replaces the live one (a promoted slave), which is
//   fenced at its next heartbeat. Equal epochs replace as before (a master back at a new
//   address).
// - An address unheard for longer than its timeout (the request's heartbeat_timeout_millis if
//   > 0, else the default) is removed by scan_expired(); a group left without addresses goes
//   with its queue data and its cluster membership. Every listed address is live.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "remoting_generated.h"

namespace comet::namesrv {

namespace protocol = ::comet::protocol;

struct RegisterResult {
  std::string master_addr;          // the group's master; empty when it has none
  std::string ha_server_addr;       // the master's HA address
  bool first_registration = false;  // the address was not live before this request
  std::string replaced_addr;        // the address this (brokerName, brokerId) had before, if other
  int64_t master_epoch = 0;         // the highest master epoch seen for the group
  // The broker claimed master (brokerId 0) with an epoch below master_epoch. It was not
  // registered; it must become a slave under assigned_broker_id and follow master_addr.
  bool fenced = false;
  int64_t assigned_broker_id = 0;
};

class RouteInfoManager {
 public:
  explicit RouteInfoManager(int64_t default_expiry_ms);

  // kInvalidArgument when a required field (cluster, name, address, topic name) is empty or the
  // broker id is negative.
  Result<RegisterResult> register_broker(const protocol::RegisterBrokerRequestT& req,
                                         int64_t now_ms);
  // Removes the address if it is registered under (broker_name, broker_id); false otherwise.
  bool unregister_broker(const protocol::UnregisterBrokerRequestT& req);
  // Removes brokers whose last heartbeat is more than their timeout before now_ms; returns
  // their addresses.
  std::vector<std::string> scan_expired(int64_t now_ms);

  // Queue data of the topic and the broker data of the groups holding it; nullopt when no
  // group serves the topic.
  std::optional<protocol::TopicRouteDataT> route(std::string_view topic) const;
  protocol::ClusterInfoT cluster_info() const;

  int64_t default_expiry_ms() const { return default_expiry_ms_; }

 private:
  struct LiveInfo {
    std::string broker_name;
    int64_t broker_id = 0;
    std::string ha_server_addr;
    int64_t last_update_ms = 0;
    int64_t timeout_ms = 0;
    int64_t epoch = 0;
    int64_t max_offset = 0;
  };
  struct BrokerGroup {
    std::string cluster;
    std::map<int64_t, std::string> addrs;  // by broker id
  };

  void remove_address_locked(const std::string& addr);
  void remove_group_locked(const std::string& broker_name);
  void replace_queue_data_locked(const std::string& broker_name,
                                 const protocol::RegisterBrokerRequestT& req);
  std::unique_ptr<protocol::BrokerDataT> broker_data_locked(const std::string& broker_name,
                                                            const BrokerGroup& group) const;

  const int64_t default_expiry_ms_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::set<std::string>, std::less<>> clusters_;
  std::map<std::string, BrokerGroup, std::less<>> groups_;
  std::map<std::string, LiveInfo, std::less<>> live_;          // by broker address
  std::map<std::string, int64_t, std::less<>> master_epochs_;  // by broker name; never expire
  // topic → broker name → queue data
  std::map<std::string, std::map<std::string, protocol::QueueDataT>, std::less<>> topics_;
};

}  // namespace comet::namesrv
