#include "namesrv/route_info_manager.h"

#include <mutex>

namespace comet::namesrv {
namespace {

Status validate(const protocol::RegisterBrokerRequestT& req) {
  if (req.cluster_name.empty()) return Status::invalid_argument("cluster_name is empty");
  if (req.broker_name.empty()) return Status::invalid_argument("broker_name is empty");
  if (req.broker_addr.empty()) return Status::invalid_argument("broker_addr is empty");
  if (req.broker_id < 0) {
    return Status::invalid_argument("broker_id must be >= 0, got " + std::to_string(req.broker_id));
  }
  for (const auto& tc : req.topic_configs) {
    if (!tc || tc->topic_name.empty()) {
      return Status::invalid_argument("a topic config of broker " + req.broker_name +
                                      " has no topic name");
    }
  }
  return Status::ok();
}

}  // namespace

RouteInfoManager::RouteInfoManager(int64_t default_expiry_ms)
    : default_expiry_ms_(default_expiry_ms) {}

Result<RegisterResult> RouteInfoManager::register_broker(
    const protocol::RegisterBrokerRequestT& req, int64_t now_ms) {
  COMET_RETURN_IF_ERROR(validate(req));
  std::unique_lock lock(mu_);
  RegisterResult result;

  // The address served another group before (a renamed broker): it leaves that group first.
  if (auto it = live_.find(req.broker_addr);
      it != live_.end() && it->second.broker_name != req.broker_name) {
    remove_address_locked(req.broker_addr);
  }

  int64_t& group_epoch = master_epochs_[req.broker_name];
  if (req.broker_id == 0) {
    auto g = groups_.find(req.broker_name);
    const std::string* live_master = nullptr;
    if (g != groups_.end()) {
      if (auto m = g->second.addrs.find(0);
          m != g->second.addrs.end() && m->second != req.broker_addr) {
        live_master = &m->second;
      }
    }
    if (req.epoch < group_epoch) {
      result.fenced = true;
      result.master_epoch = group_epoch;
      int64_t id = 1;
      if (g != groups_.end()) {
        while (true) {
          auto it = g->second.addrs.find(id);
          if (it == g->second.addrs.end() || it->second == req.broker_addr) break;
          ++id;
        }
      }
      result.assigned_broker_id = id;
      if (live_master != nullptr) {
        result.master_addr = *live_master;
        if (auto m = live_.find(*live_master); m != live_.end()) {
          result.ha_server_addr = m->second.ha_server_addr;
        }
      }
      return result;
    }
  }
  group_epoch = std::max(group_epoch, req.epoch);
  result.master_epoch = group_epoch;

  BrokerGroup& group = groups_[req.broker_name];
  if (group.cluster != req.cluster_name) {
    if (!group.cluster.empty()) {
      auto c = clusters_.find(group.cluster);
      if (c != clusters_.end()) {
        c->second.erase(req.broker_name);
        if (c->second.empty()) clusters_.erase(c);
      }
    }
    group.cluster = req.cluster_name;
  }
  clusters_[req.cluster_name].insert(req.broker_name);

  // One id per address: a slave promoted to master leaves its old id.
  std::erase_if(group.addrs, [&](const auto& kv) {
    return kv.second == req.broker_addr && kv.first != req.broker_id;
  });
  if (auto old = group.addrs.find(req.broker_id);
      old != group.addrs.end() && old->second != req.broker_addr) {
    result.replaced_addr = old->second;
    live_.erase(old->second);
  }
  group.addrs[req.broker_id] = req.broker_addr;

  auto [live, inserted] = live_.try_emplace(req.broker_addr);
  result.first_registration = inserted;
  LiveInfo& info = live->second;
  info.broker_name = req.broker_name;
  info.broker_id = req.broker_id;
  info.ha_server_addr = req.ha_server_addr;
  info.last_update_ms = now_ms;
  info.timeout_ms =
      req.heartbeat_timeout_millis > 0 ? req.heartbeat_timeout_millis : default_expiry_ms_;
  info.epoch = req.epoch;
  info.max_offset = req.max_offset;

  if (req.broker_id == 0) replace_queue_data_locked(req.broker_name, req);

  if (auto master = group.addrs.find(0); master != group.addrs.end()) {
    result.master_addr = master->second;
    if (auto m = live_.find(master->second); m != live_.end()) {
      result.ha_server_addr = m->second.ha_server_addr;
    }
  }
  return result;
}

void RouteInfoManager::replace_queue_data_locked(const std::string& broker_name,
                                                 const protocol::RegisterBrokerRequestT& req) {
  std::set<std::string_view> reported;
  for (const auto& tc : req.topic_configs) {
    reported.insert(tc->topic_name);
    protocol::QueueDataT& qd = topics_[tc->topic_name][broker_name];
    qd.broker_name = broker_name;
    qd.read_queue_nums = tc->read_queue_nums;
    qd.write_queue_nums = tc->write_queue_nums;
    qd.perm = tc->perm;
  }
  for (auto it = topics_.begin(); it != topics_.end();) {
    if (!reported.contains(it->first)) it->second.erase(broker_name);
    it = it->second.empty() ? topics_.erase(it) : std::next(it);
  }
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
  for (auto t = topics_.begin(); t != topics_.end();) {
    t->second.erase(broker_name);
    t = t->second.empty() ? topics_.erase(t) : std::next(t);
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
    info.live.push_back(std::move(l));
  }
  return info;
}

}  // namespace comet::namesrv
