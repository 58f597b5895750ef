// RouteInfoManager: the name server's tables (RocketMQ's RouteInfoManager): cluster → broker
// names, broker name → group {cluster, address per brokerId}, live info per broker address, and
// per topic the queue data of each group serving it. I/O-free and thread-safe (one shared_mutex);
// callers pass the time, so expiry is driven by explicit now_ms values.
//
// - register_broker() refreshes the broker's heartbeat. Only the master (brokerId 0) supplies
//   topic configs: its report replaces the group's queue data, and topics it no longer reports
//   lose the group's queue data. It costs the size of the report and of the group's previous
//   one (a per-group index of its topics), not the number of topics of all groups.
// - broker_heartbeat() (BROKER_HEARTBEAT) is a registration without the table: it refreshes the
//   broker and applies its role and epoch as register_broker() does, but only while the name
//   server holds the broker's table at the heartbeat's data version (the address is live under
//   the same group and id, and its last full registration carried that version). Otherwise it
//   changes nothing and answers full_registration_needed (RocketMQ's QUERY_DATA_VERSION
//   "changed"): after a name server restart, an expiry, or a change the broker's full
//   registration has not delivered yet. A (brokerName, brokerId) registered from a new address
//   replaces the old address; an address registered under a new brokerId (a role change) moves
//   there.
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

// A broker's topic table version (broker/data_version.h): equal versions, equal tables.
struct TableVersion {
  int64_t timestamp_ms = 0;
  int64_t counter = 0;
  bool operator==(const TableVersion&) const = default;
};

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
  // broker_heartbeat() only: the table is not held at the heartbeat's version; nothing changed.
  bool full_registration_needed = false;
};

class RouteInfoManager {
 public:
  explicit RouteInfoManager(int64_t default_expiry_ms);

  // kInvalidArgument when a required field (cluster, name, address, topic name) is empty or the
  // broker id is negative.
  Result<RegisterResult> register_broker(const protocol::RegisterBrokerRequestT& req,
                                         int64_t now_ms);
  // kInvalidArgument when cluster, name or address is empty or the broker id is negative.
  Result<RegisterResult> broker_heartbeat(const protocol::BrokerHeartbeatRequestT& req,
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

  // What both requests say about the broker (views into the request).
  struct BrokerIdentity {
    std::string_view cluster_name;
    std::string_view broker_addr;
    std::string_view broker_name;
    std::string_view ha_server_addr;
    int64_t broker_id = 0;
    int64_t epoch = 0;
    int64_t max_offset = 0;
    int64_t heartbeat_timeout_millis = 0;
  };

 private:
  struct LiveInfo {
    std::string broker_name;
    int64_t broker_id = 0;
    std::string ha_server_addr;
    int64_t last_update_ms = 0;
    int64_t timeout_ms = 0;
    int64_t epoch = 0;
    int64_t max_offset = 0;
    std::optional<TableVersion> table_version;  // of its last full registration
    int64_t full_registrations = 0;
    int64_t heartbeats = 0;
    int64_t topic_count = 0;
  };
  struct BrokerGroup {
    std::string cluster;
    std::map<int64_t, std::string> addrs;  // by broker id
  };

  // Refreshes the broker and applies its group, id and epoch; null when it is fenced (then
  // `result` says so and nothing changed).
  LiveInfo* admit_locked(const BrokerIdentity& broker, int64_t now_ms, RegisterResult& result);
  // The group's master and its HA address into `result`.
  void fill_master_locked(std::string_view broker_name, RegisterResult& result) const;
  bool holds_table_locked(const BrokerIdentity& broker,
                          const std::optional<TableVersion>& version) const;
  void remove_address_locked(const std::string& addr);
  void remove_group_locked(const std::string& broker_name);
  // `reported`: the report's topic names, sorted and unique.
  void replace_queue_data_locked(const std::string& broker_name,
                                 const protocol::RegisterBrokerRequestT& req,
                                 std::vector<std::string> reported);
  void drop_queue_data_locked(const std::string& topic, const std::string& broker_name);
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
  // broker name → the topics (sorted) its master last reported: what a new report or the
  // group's removal touches, without a walk over every topic.
  std::map<std::string, std::vector<std::string>, std::less<>> group_topics_;
};

}  // namespace comet::namesrv
