#include "admin/cluster_view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>
#include <tuple>

namespace comet::admin {

std::string format_time(int64_t ms) {
  if (ms <= 0) return "-";
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  localtime_r(&secs, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03d", static_cast<int>(ms % 1000));
  return buf;
}

std::string perm_name(int32_t perm) {
  std::string s;
  s += (perm & kPermRead) ? 'R' : '-';
  s += (perm & kPermWrite) ? 'W' : '-';
  return s;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string master_addr(const protocol::BrokerDataT& bd) {
  for (const auto& a : bd.broker_addrs) {
    if (a && a->broker_id == 0) return a->addr;
  }
  return {};
}

// The master, else the lowest-id slave: where reads go when the master is away.
std::string read_addr(const protocol::BrokerDataT& bd) {
  std::string m = master_addr(bd);
  if (!m.empty()) return m;
  const protocol::BrokerAddrT* best = nullptr;
  for (const auto& a : bd.broker_addrs) {
    if (a && (!best || a->broker_id < best->broker_id)) best = a.get();
  }
  return best ? best->addr : std::string();
}

const protocol::BrokerDataT* find_broker(const protocol::TopicRouteDataT& route,
                                         std::string_view name) {
  for (const auto& bd : route.broker_datas) {
    if (bd && bd->broker_name == name) return bd.get();
  }
  return nullptr;
}

// Queue datas sorted by broker name.
std::vector<const protocol::QueueDataT*> sorted_queue_datas(const protocol::TopicRouteDataT& r) {
  std::vector<const protocol::QueueDataT*> out;
  for (const auto& qd : r.queue_datas) {
    if (qd) out.push_back(qd.get());
  }
  std::sort(out.begin(), out.end(),
            [](const auto* a, const auto* b) { return a->broker_name < b->broker_name; });
  return out;
}

std::vector<const protocol::BrokerDataT*> sorted_broker_datas(const protocol::ClusterInfoT& info) {
  std::vector<const protocol::BrokerDataT*> out;
  for (const auto& bd : info.broker_datas) {
    if (bd) out.push_back(bd.get());
  }
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return std::tie(a->cluster, a->broker_name) < std::tie(b->cluster, b->broker_name);
  });
  return out;
}

bool has_cluster(const protocol::ClusterInfoT& info, std::string_view cluster) {
  for (const auto& c : info.clusters) {
    if (c && c->cluster_name == cluster) return true;
  }
  for (const auto& bd : info.broker_datas) {
    if (bd && bd->cluster == cluster) return true;
  }
  return false;
}

std::string known_clusters(const protocol::ClusterInfoT& info) {
  std::set<std::string> names;
  for (const auto& bd : info.broker_datas) {
    if (bd) names.insert(bd->cluster);
  }
  if (names.empty()) return "no broker is registered";
  return "known: " + join({names.begin(), names.end()}, ", ");
}

// The cluster's broker groups (every cluster when `cluster` is empty). A group without a live
// master is reported and left out.
Result<std::vector<BrokerRef>> masters(Context& c, const std::string& cluster) {
  auto info = c.client.cluster_info();
  if (!info.is_ok()) return info.status();
  if (!cluster.empty() && !has_cluster(*info, cluster)) {
    return Status::not_found("cluster " + cluster + " is not in the name server (" +
                             known_clusters(*info) + ")");
  }
  std::vector<BrokerRef> out;
  for (const auto* bd : sorted_broker_datas(*info)) {
    if (!cluster.empty() && bd->cluster != cluster) continue;
    std::string addr = master_addr(*bd);
    if (addr.empty()) {
      c.report("broker " + bd->broker_name, "has no master registered; skipped");
      continue;
    }
    out.push_back({bd->cluster, bd->broker_name, std::move(addr)});
  }
  return out;
}

std::string topic_what(const std::string& topic) {
  return "topic " + topic;
}

// Every queue of the route (max of read and write queue numbers), broker by broker.
std::vector<RouteQueue> route_queues(Context& c, const protocol::TopicRouteDataT& route) {
  std::vector<RouteQueue> out;
  for (const auto* qd : sorted_queue_datas(route)) {
    const auto* bd = find_broker(route, qd->broker_name);
    const std::string addr = bd ? read_addr(*bd) : std::string();
    if (addr.empty()) {
      c.report("broker " + qd->broker_name, "has no address in the route; skipped");
      continue;
    }
    const int32_t n = std::max(qd->read_queue_nums, qd->write_queue_nums);
    for (int32_t q = 0; q < n; ++q)
      out.push_back({qd->broker_name, addr, q});
  }
  return out;
}

// Every address of broker group `name` in the name server's view, master first.
Result<std::vector<std::pair<int64_t, std::string>>> group_addrs(Context& c,
                                                                 const std::string& name) {
  COMET_ASSIGN_OR_RETURN(auto info, c.client.cluster_info());
  for (const auto* bd : sorted_broker_datas(info)) {
    if (bd->broker_name != name) continue;
    std::vector<std::pair<int64_t, std::string>> out;
    for (const auto& a : bd->broker_addrs)
      if (a) out.emplace_back(a->broker_id, a->addr);
    std::sort(out.begin(), out.end());
    return out;
  }
  return Status::not_found("broker group " + name + " is not in the name server");
}

}  // namespace comet::admin
