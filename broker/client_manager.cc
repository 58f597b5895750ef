#include "broker/client_manager.h"

namespace comet::broker {

bool ClientManager::heartbeat(const protocol::HeartbeatRequestT& hb, int64_t now_ms) {
  std::lock_guard lock(mu_);
  bool changed = false;
  for (const auto& c : hb.consumers) {
    if (!c || c->group_name.empty()) continue;
    Group& g = consumer_groups_[c->group_name];
    g.data = *c;
    changed |= g.clients.emplace(hb.client_id, now_ms).second;
    g.clients[hb.client_id] = now_ms;
  }
  for (const auto& p : hb.producer_groups)
    producer_groups_[p][hb.client_id] = now_ms;
  return changed;
}

void ClientManager::unregister(const std::string& client_id, const std::string& consumer_group,
                               const std::string& producer_group) {
  std::lock_guard lock(mu_);
  if (auto it = consumer_groups_.find(consumer_group); it != consumer_groups_.end()) {
    it->second.clients.erase(client_id);
    if (it->second.clients.empty()) consumer_groups_.erase(it);
  }
  if (auto it = producer_groups_.find(producer_group); it != producer_groups_.end()) {
    it->second.erase(client_id);
    if (it->second.empty()) producer_groups_.erase(it);
  }
}

std::vector<std::string> ClientManager::consumers(const std::string& group) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  if (auto it = consumer_groups_.find(group); it != consumer_groups_.end()) {
    for (const auto& [id, _] : it->second.clients)
      out.push_back(id);
  }
  return out;  // std::map keeps them sorted
}

std::optional<protocol::ConsumerDataT> ClientManager::subscription(const std::string& group) const {
  std::lock_guard lock(mu_);
  auto it = consumer_groups_.find(group);
  if (it == consumer_groups_.end()) return std::nullopt;
  return it->second.data;
}

std::vector<std::string> ClientManager::consumer_groups() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, _] : consumer_groups_)
    out.push_back(name);
  return out;
}

size_t ClientManager::scan_expired(int64_t now_ms) {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (auto g = consumer_groups_.begin(); g != consumer_groups_.end();) {
    auto& clients = g->second.clients;
    for (auto c = clients.begin(); c != clients.end();) {
      if (now_ms - c->second > expiry_ms_) {
        c = clients.erase(c);
        ++n;
      } else {
        ++c;
      }
    }
    g = clients.empty() ? consumer_groups_.erase(g) : std::next(g);
  }
  for (auto p = producer_groups_.begin(); p != producer_groups_.end();) {
    std::erase_if(p->second, [&](const auto& kv) { return now_ms - kv.second > expiry_ms_; });
    p = p->second.empty() ? producer_groups_.erase(p) : std::next(p);
  }
  return n;
}

}  // namespace comet::broker
