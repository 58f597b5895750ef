#include "namesrv/route_info_manager.h"

#include <algorithm>
#include <iterator>
#include <mutex>

namespace comet::namesrv {
namespace {

using BrokerIdentity = RouteInfoManager::BrokerIdentity;

template <typename Request>
BrokerIdentity identity_of(const Request& req) {
  BrokerIdentity b;
  b.cluster_name = req.cluster_name;
  b.broker_addr = req.broker_addr;
  b.broker_name = req.broker_name;
  b.ha_server_addr = req.ha_server_addr;
  b.broker_id = req.broker_id;
  b.epoch = req.epoch;
  b.max_offset = req.max_offset;
  b.heartbeat_timeout_millis = req.heartbeat_timeout_millis;
  return b;
}

std::optional<TableVersion> version_of(const std::unique_ptr<protocol::DataVersionT>& v) {
  if (!v) return std::nullopt;
  return TableVersion{v->timestamp_ms, v->counter};
}

Status validate(const BrokerIdentity& b) {
  if (b.cluster_name.empty()) return Status::invalid_argument("cluster_name is empty");
  if (b.broker_name.empty()) return Status::invalid_argument("broker_name is empty");
  if (b.broker_addr.empty()) return Status::invalid_argument("broker_addr is empty");
  if (b.broker_id < 0) {
    return Status::invalid_argument("broker_id must be >= 0, got " + std::to_string(b.broker_id));
  }
  return Status::ok();
}

// The report's topic names, sorted and unique; kInvalidArgument for a config without a name.
Result<std::vector<std::string>> reported_topics(const protocol::RegisterBrokerRequestT& req) {
  std::vector<std::string> names;
  names.reserve(req.topic_configs.size());
  for (const auto& tc : req.topic_configs) {
    if (!tc || tc->topic_name.empty()) {
      return Status::invalid_argument("a topic config of broker " + req.broker_name +
                                      " has no topic name");
    }
    names.push_back(tc->topic_name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace

RouteInfoManager::RouteInfoManager(int64_t default_expiry_ms)
    : default_expiry_ms_(default_expiry_ms) {}

Result<RegisterResult> RouteInfoManager::register_broker(
    const protocol::RegisterBrokerRequestT& req, int64_t now_ms) {
  const BrokerIdentity broker = identity_of(req);
  COMET_RETURN_IF_ERROR(validate(broker));
  // Sorted before the lock: lookups wait only for the table's update.
  COMET_ASSIGN_OR_RETURN(std::vector<std::string> reported, reported_topics(req));
  std::unique_lock lock(mu_);
  RegisterResult result;
  LiveInfo* info = admit_locked(broker, now_ms, result);
  if (info == nullptr) return result;
  info->table_version = version_of(req.data_version);
  ++info->full_registrations;
  info->topic_count = static_cast<int64_t>(reported.size());
  if (req.broker_id == 0) replace_queue_data_locked(req.broker_name, req, std::move(reported));
  fill_master_locked(req.broker_name, result);
  return result;
}

Result<RegisterResult> RouteInfoManager::broker_heartbeat(
    const protocol::BrokerHeartbeatRequestT& req, int64_t now_ms) {
  const BrokerIdentity broker = identity_of(req);
  COMET_RETURN_IF_ERROR(validate(broker));
  std::unique_lock lock(mu_);
  RegisterResult result;
  if (!holds_table_locked(broker, version_of(req.data_version))) {
    result.full_registration_needed = true;
    return result;
  }
  LiveInfo* info = admit_locked(broker, now_ms, result);
  if (info == nullptr) return result;
  ++info->heartbeats;
  fill_master_locked(req.broker_name, result);
  return result;
}

bool RouteInfoManager::holds_table_locked(const BrokerIdentity& broker,
                                          const std::optional<TableVersion>& version) const {
  auto live = live_.find(broker.broker_addr);
  if (live == live_.end() || !version) return false;
  const LiveInfo& info = live->second;
  if (info.broker_name != broker.broker_name || info.broker_id != broker.broker_id ||
      info.table_version != version) {
    return false;
  }
  auto g = groups_.find(broker.broker_name);
  return g != groups_.end() && g->second.cluster == broker.cluster_name;
}

RouteInfoManager::LiveInfo* RouteInfoManager::admit_locked(const BrokerIdentity& broker,
                                                           int64_t now_ms, RegisterResult& result) {
  const std::string addr(broker.broker_addr);
  const std::string name(broker.broker_name);
  // The address served another group before (a renamed broker): it leaves that group first.
  if (auto it = live_.find(addr); it != live_.end() && it->second.broker_name != name) {
    remove_address_locked(addr);
  }

  int64_t& group_epoch = master_epochs_[name];
  if (broker.broker_id == 0 && broker.epoch < group_epoch) {
    auto g = groups_.find(name);
    result.fenced = true;
    result.master_epoch = group_epoch;
    int64_t id = 1;
    if (g != groups_.end()) {
      while (true) {
        auto it = g->second.addrs.find(id);
        if (it == g->second.addrs.end() || it->second == addr) break;
        ++id;
      }
      if (auto m = g->second.addrs.find(0); m != g->second.addrs.end() && m->second != addr) {
        result.master_addr = m->second;
        if (auto ml = live_.find(m->second); ml != live_.end()) {
          result.ha_server_addr = ml->second.ha_server_addr;
        }
      }
    }
    result.assigned_broker_id = id;
    return nullptr;
  }
  group_epoch = std::max(group_epoch, broker.epoch);
  result.master_epoch = group_epoch;

  BrokerGroup& group = groups_[name];
  if (group.cluster != broker.cluster_name) {
    if (!group.cluster.empty()) {
      auto c = clusters_.find(group.cluster);
      if (c != clusters_.end()) {
        c->second.erase(name);
        if (c->second.empty()) clusters_.erase(c);
      }
    }
    group.cluster = broker.cluster_name;
  }
  clusters_[group.cluster].insert(name);

  // One id per address: a slave promoted to master leaves its old id.
  std::erase_if(group.addrs,
                [&](const auto& kv) { return kv.second == addr && kv.first != broker.broker_id; });
  if (auto old = group.addrs.find(broker.broker_id);
      old != group.addrs.end() && old->second != addr) {
    result.replaced_addr = old->second;
    live_.erase(old->second);
  }
  group.addrs[broker.broker_id] = addr;

  auto [live, inserted] = live_.try_emplace(addr);
  result.first_registration = inserted;
  LiveInfo& info = live->second;
  info.broker_name = name;
  info.broker_id = broker.broker_id;
  info.ha_server_addr = broker.ha_server_addr;
  info.last_update_ms = now_ms;
  info.timeout_ms =
      broker.heartbeat_timeout_millis > 0 ? broker.heartbeat_timeout_millis : default_expiry_ms_;
  info.epoch = broker.epoch;
  info.max_offset = broker.max_offset;
  return &info;
}

void RouteInfoManager::fill_master_locked(std::string_view broker_name,
                                          RegisterResult& result) const {
  auto g = groups_.find(broker_name);
  if (g == groups_.end()) return;
  if (auto master = g->second.addrs.find(0); master != g->second.addrs.end()) {
    result.master_addr = master->second;
    if (auto m = live_.find(master->second); m != live_.end()) {
      result.ha_server_addr = m->second.ha_server_addr;
    }
  }
}

void RouteInfoManager::replace_queue_data_locked(const std::string& broker_name,
                                                 const protocol::RegisterBrokerRequestT& req,
                                                 std::vector<std::string> reported) {
  for (const auto& tc : req.topic_configs) {
    protocol::QueueDataT& qd = topics_[tc->topic_name][broker_name];
    qd.broker_name = broker_name;
    qd.read_queue_nums = tc->read_queue_nums;
    qd.write_queue_nums = tc->write_queue_nums;
    qd.perm = tc->perm;
  }
  std::vector<std::string>& previous = group_topics_[broker_name];
  std::vector<std::string> dropped;
  std::set_difference(previous.begin(), previous.end(), reported.begin(), reported.end(),
                      std::back_inserter(dropped));
  for (const auto& topic : dropped)
    drop_queue_data_locked(topic, broker_name);
  previous = std::move(reported);
}

void RouteInfoManager::drop_queue_data_locked(const std::string& topic,
                                              const std::string& broker_name) {
  auto t = topics_.find(topic);
  if (t == topics_.end()) return;
  t->second.erase(broker_name);
  if (t->second.empty()) topics_.erase(t);
}

bool RouteInfoManager::unregister_broker(const protocol::UnregisterBrokerRequestT& req) {
  std::unique_lock lock(mu_);
  auto it = live_.find(req.broker_addr);
  if (it == live_.end() || it->second.broker_name != req.broker_name ||
      it->second.broker_id != req.broker_id) {
    return false;
  }
  remove_address_locked(req.broker_addr);
  return true;
}

std::vector<std::string> RouteInfoManager::scan_expired(int64_t now_ms) {
  std::vector<std::string> expired;
  {
    std::shared_lock lock(mu_);
    for (const auto& [addr, info] : live_) {
      if (now_ms - info.last_update_ms > info.timeout_ms) expired.push_back(addr);
    }
  }
  if (expired.empty()) return expired;
  std::unique_lock lock(mu_);
  // A heartbeat may have arrived between the two locks: check again.
  std::erase_if(expired, [&](const std::string& addr) {
    auto it = live_.find(addr);
    return it == live_.end() || now_ms - it->second.last_update_ms <= it->second.timeout_ms;
  });
  for (const auto& addr : expired)
    remove_address_locked(addr);
  return expired;
}

void RouteInfoManager::remove_address_locked(const std::string& addr) {
  auto it = live_.find(addr);
  if (it == live_.end()) return;
  const std::string broker_name = it->second.broker_name;
  live_.erase(it);
  auto g = groups_.find(broker_name);
  if (g == groups_.end()) return;
  std::erase_if(g->second.addrs, [&](const auto& kv) { return kv.second == addr; });
  if (g->second.addrs.empty()) remove_group_locked(broker_name);
}

void RouteInfoManager::remove_group_locked(const std::string& broker_name) {
  auto g = groups_.find(broker_name);
  if (g == groups_.end()) return;
  if (auto c = clusters_.find(g->second.cluster); c != clusters_.end()) {
    c->second.erase(broker_name);
    if (c->second.empty()) clusters_.erase(c);
  }
  groups_.erase(g);
  if (auto topics = group_topics_.find(broker_name); topics != group_topics_.end()) {
    for (const auto& topic : topics->second)
      drop_queue_data_locked(topic, broker_name);
    group_topics_.erase(topics);
  }
}

std::unique_ptr<protocol::BrokerDataT> RouteInfoManager::broker_data_locked(
    const std::string& broker_name, const BrokerGroup& group) const {
  auto bd = std::make_unique<protocol::BrokerDataT>();
  bd->cluster = group.cluster;
  bd->broker_name = broker_name;
  for (const auto& [id, addr] : group.addrs) {
    auto ba = std::make_unique<protocol::BrokerAddrT>();
    ba->broker_id = id;
    ba->addr = addr;
    bd->broker_addrs.push_back(std::move(ba));
  }
  return bd;
}

std::optional<protocol::TopicRouteDataT> RouteInfoManager::route(std::string_view topic) const {
  std::shared_lock lock(mu_);
  auto t = topics_.find(topic);
  if (t == topics_.end()) return std::nullopt;
  protocol::TopicRouteDataT route;
  for (const auto& [broker_name, qd] : t->second) {
    auto g = groups_.find(broker_name);
    if (g == groups_.end() || g->second.addrs.empty()) continue;
    route.queue_datas.push_back(std::make_unique<protocol::QueueDataT>(qd));
    route.broker_datas.push_back(broker_data_locked(broker_name, g->second));
  }
  if (route.queue_datas.empty()) return std::nullopt;
  return route;
}

protocol::ClusterInfoT RouteInfoManager::cluster_info() const {
  std::shared_lock lock(mu_);
  protocol::ClusterInfoT info;
  for (const auto& [name, group] : groups_)
    info.broker_datas.push_back(broker_data_locked(name, group));
  for (const auto& [cluster, names] : clusters_) {
    auto entry = std::make_unique<protocol::ClusterEntryT>();
    entry->cluster_name = cluster;
    entry->broker_names.assign(names.begin(), names.end());
    info.clusters.push_back(std::move(entry));
  }
  for (const auto& [addr, li] : live_) {
    auto l = std::make_unique<protocol::BrokerLiveInfoT>();
    l->broker_addr = addr;
    l->last_update_millis = li.last_update_ms;
    l->epoch = li.epoch;
    l->max_offset = li.max_offset;
    l->full_registrations = li.full_registrations;
    l->heartbeats = li.heartbeats;
    l->topic_count = li.topic_count;
    info.live.push_back(std::move(l));
  }
  return info;
}

}  // namespace comet::namesrv
