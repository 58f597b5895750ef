// Reading the name server's answers for comet-admin's commands: masters and read replicas of a
// broker group, routes and clusters sorted for display, and the formatting the tables share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/command.h"

namespace comet::admin {

constexpr int32_t kPermRead = 4;
constexpr int32_t kPermWrite = 2;

// "2026-12-04 20:45:01.123" in local time; "-" for 0.
std::string format_time(int64_t ms);
// "RW", "R-", "-W", "--".
std::string perm_name(int32_t perm);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// "topic <name>": how failures name a topic.
std::string topic_what(const std::string& topic);

std::string master_addr(const protocol::BrokerDataT& bd);
// The master, else the lowest-id slave: where reads go when the master is away.
std::string read_addr(const protocol::BrokerDataT& bd);
const protocol::BrokerDataT* find_broker(const protocol::TopicRouteDataT& route,
                                         std::string_view name);
// Queue datas sorted by broker name.
std::vector<const protocol::QueueDataT*> sorted_queue_datas(const protocol::TopicRouteDataT& r);

struct BrokerRef {
  std::string cluster;
  std::string broker_name;
  std::string addr;
};

std::vector<const protocol::BrokerDataT*> sorted_broker_datas(const protocol::ClusterInfoT& info);
bool has_cluster(const protocol::ClusterInfoT& info, std::string_view cluster);
// "known: a, b" or "no broker is registered".
std::string known_clusters(const protocol::ClusterInfoT& info);
// The cluster's broker groups (every cluster when `cluster` is empty). A group without a live
// master is reported and left out.
Result<std::vector<BrokerRef>> masters(Context& c, const std::string& cluster);

struct RouteQueue {
  std::string broker_name;
  std::string addr;  // where reads and offset queries go
  int32_t queue_id;
};

// Every queue of the route (max of read and write queue numbers), broker by broker; a broker
// without an address is reported and left out.
std::vector<RouteQueue> route_queues(Context& c, const protocol::TopicRouteDataT& route);
// Every address of broker group `name` in the name server's view, master first.
Result<std::vector<std::pair<int64_t, std::string>>> group_addrs(Context& c,
                                                                 const std::string& name);

}  // namespace comet::admin
