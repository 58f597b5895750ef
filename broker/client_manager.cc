#include "broker/client_manager.h"

namespace comet::broker {

ClientManager::Notice ClientManager::notice_locked(const std::string& name, const Group& g) {
  Notice n{name, {}};
  for (const auto& [_, m] : g.clients) {
    if (auto conn = m.conn.lock(); conn && conn->is_open()) n.members.push_back(std::move(conn));
  }
  return n;
}

void ClientManager::send(const std::vector<Notice>& notices) {
  for (const auto& n : notices) {
    if (n.members.empty()) continue;
    auto cmd =
        remoting::RemotingCommand::request(protocol::RequestCode::NOTIFY_CONSUMER_IDS_CHANGED);
    protocol::ConsumerListRequestT ext;
    ext.consumer_group = n.group;
    cmd.set_ext(std::move(ext));
    for (const auto& conn : n.members) {
      (void)conn->invoke_oneway(cmd);  // a closed one: that member is leaving anyway
    }
  }
}

void ClientManager::update_member(Member& m, const protocol::HeartbeatRequestT& hb, int64_t now_ms,
                                  const std::shared_ptr<remoting::Connection>& conn) {
  m.last_heartbeat_ms = now_ms;
  if (conn) {
    m.conn = conn;
    m.conn_id = conn.get();
    m.address = conn->remote_address();
  }
  m.language = hb.language;
  m.version = hb.version;
}

protocol::ClientConnectionT ClientManager::connection_of(const std::string& id, const Member& m) {
  protocol::ClientConnectionT c;
  c.client_id = id;
  c.client_addr = m.address;
  c.language = m.language;
  c.version = m.version;
  c.last_heartbeat_ms = m.last_heartbeat_ms;
  return c;
}

std::optional<protocol::ConsumerConnectionT> ClientManager::consumer_connection(
    const std::string& group) const {
  std::lock_guard lock(mu_);
  auto it = consumer_groups_.find(group);
  if (it == consumer_groups_.end() || it->second.clients.empty()) return std::nullopt;
  const protocol::ConsumerDataT& data = it->second.data;
  protocol::ConsumerConnectionT out;
  for (const auto& [id, m] : it->second.clients) {
    out.connections.push_back(std::make_unique<protocol::ClientConnectionT>(connection_of(id, m)));
  }
  out.consume_type = data.consume_type;
  out.message_model = data.message_model;
  out.consume_from_where = data.consume_from_where;
  for (const auto& s : data.subscriptions) {
    if (s) out.subscriptions.push_back(std::make_unique<protocol::SubscriptionT>(*s));
  }
  return out;
}

std::vector<protocol::ClientConnectionT> ClientManager::producer_connection_list(
    const std::string& group) const {
  std::lock_guard lock(mu_);
  std::vector<protocol::ClientConnectionT> out;
  if (auto it = producer_groups_.find(group); it != producer_groups_.end()) {
    for (const auto& [id, m] : it->second.clients)
      out.push_back(connection_of(id, m));
  }
  return out;
}

bool ClientManager::heartbeat(const protocol::HeartbeatRequestT& hb, int64_t now_ms,
                              const std::shared_ptr<remoting::Connection>& conn) {
  std::vector<Notice> notices;
  {
    std::lock_guard lock(mu_);
    for (const auto& c : hb.consumers) {
      if (!c || c->group_name.empty()) continue;
      Group& g = consumer_groups_[c->group_name];
      g.data = *c;
      auto [it, joined] = g.clients.try_emplace(hb.client_id);
      const remoting::Connection* before = it->second.conn_id;
      update_member(it->second, hb, now_ms, conn);
      if (before != it->second.conn_id) {
        reindex_locked({false, c->group_name, hb.client_id}, before, it->second.conn_id);
      }
      if (joined) notices.push_back(notice_locked(c->group_name, g));
    }
    for (const auto& p : hb.producer_groups) {
      Member& m = producer_groups_[p].clients[hb.client_id];
      const remoting::Connection* before = m.conn_id;
      update_member(m, hb, now_ms, conn);
      if (before != m.conn_id) reindex_locked({true, p, hb.client_id}, before, m.conn_id);
    }
  }
  send(notices);
  return !notices.empty();
}

void ClientManager::reindex_locked(const MemberKey& key, const remoting::Connection* before,
                                   const remoting::Connection* after) {
  if (before == after) return;
  if (auto it = members_by_conn_.find(before); before != nullptr && it != members_by_conn_.end()) {
    it->second.erase(key);
    if (it->second.empty()) members_by_conn_.erase(it);
  }
  if (after != nullptr) members_by_conn_[after].insert(key);
}

bool ClientManager::erase_consumer_locked(std::map<std::string, Group>::iterator g,
                                          const std::string& id) {
  auto m = g->second.clients.find(id);
  if (m == g->second.clients.end()) return false;
  reindex_locked({false, g->first, id}, m->second.conn_id, nullptr);
  g->second.clients.erase(m);
  return true;
}

void ClientManager::unregister(const std::string& client_id, const std::string& consumer_group,
                               const std::string& producer_group) {
  std::vector<Notice> notices;
  {
    std::lock_guard lock(mu_);
    if (auto it = consumer_groups_.find(consumer_group); it != consumer_groups_.end()) {
      if (erase_consumer_locked(it, client_id)) {
        notices.push_back(notice_locked(consumer_group, it->second));
      }
      if (it->second.clients.empty()) consumer_groups_.erase(it);
    }
    if (auto it = producer_groups_.find(producer_group); it != producer_groups_.end()) {
      if (auto m = it->second.clients.find(client_id); m != it->second.clients.end()) {
        reindex_locked({true, producer_group, client_id}, m->second.conn_id, nullptr);
        it->second.clients.erase(m);
      }
      if (it->second.clients.empty()) producer_groups_.erase(it);
    }
  }
  send(notices);
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

std::optional<std::string> ClientManager::subscription_expression(const std::string& group,
                                                                  const std::string& topic) const {
  std::lock_guard lock(mu_);
  auto it = consumer_groups_.find(group);
  if (it == consumer_groups_.end()) return std::nullopt;
  for (const auto& sub : it->second.data.subscriptions) {
    if (sub && sub->topic == topic) return sub->expression;
  }
  return std::nullopt;
}

std::vector<std::string> ClientManager::consumer_groups() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, _] : consumer_groups_)
    out.push_back(name);
  return out;
}

std::vector<std::shared_ptr<remoting::Connection>> ClientManager::consumer_connections(
    const std::string& group) const {
  std::lock_guard lock(mu_);
  auto it = consumer_groups_.find(group);
  if (it == consumer_groups_.end()) return {};
  return notice_locked(group, it->second).members;
}

std::vector<std::string> ClientManager::producers(const std::string& group) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  if (auto it = producer_groups_.find(group); it != producer_groups_.end()) {
    for (const auto& [id, _] : it->second.clients)
      out.push_back(id);
  }
  return out;
}

std::shared_ptr<remoting::Connection> ClientManager::producer_connection(const std::string& group) {
  std::lock_guard lock(mu_);
  auto it = producer_groups_.find(group);
  if (it == producer_groups_.end()) return nullptr;
  ProducerGroup& g = it->second;
  const size_t n = g.clients.size();
  // One pass round the members, from the one after the last chosen.
  const size_t start = g.next % n;
  auto member = std::next(g.clients.begin(), static_cast<std::ptrdiff_t>(start));
  for (size_t i = 0; i < n; ++i, ++member) {
    if (member == g.clients.end()) member = g.clients.begin();
    if (auto conn = member->second.conn.lock(); conn && conn->is_open()) {
      g.next = (start + i + 1) % n;
      return conn;
    }
  }
  return nullptr;
}

size_t ClientManager::erase_expired_locked(bool producer, const std::string& group,
                                           std::map<std::string, Member>& members, int64_t now_ms) {
  size_t n = 0;
  for (auto m = members.begin(); m != members.end();) {
    if (now_ms - m->second.last_heartbeat_ms <= expiry_ms_) {
      ++m;
      continue;
    }
    reindex_locked({producer, group, m->first}, m->second.conn_id, nullptr);
    m = members.erase(m);
    ++n;
  }
  return n;
}

size_t ClientManager::drop_expired_locked(int64_t now_ms, std::vector<Notice>& notices) {
  size_t n = 0;
  for (auto g = consumer_groups_.begin(); g != consumer_groups_.end();) {
    const size_t dropped = erase_expired_locked(false, g->first, g->second.clients, now_ms);
    n += dropped;
    if (dropped > 0 && !g->second.clients.empty()) {
      notices.push_back(notice_locked(g->first, g->second));
    }
    g = g->second.clients.empty() ? consumer_groups_.erase(g) : std::next(g);
  }
  for (auto p = producer_groups_.begin(); p != producer_groups_.end();) {
    erase_expired_locked(true, p->first, p->second.clients, now_ms);
    p = p->second.clients.empty() ? producer_groups_.erase(p) : std::next(p);
  }
  return n;
}

size_t ClientManager::scan_expired(int64_t now_ms) {
  std::vector<Notice> notices;
  size_t n = 0;
  {
    std::lock_guard lock(mu_);
    n = drop_expired_locked(now_ms, notices);
  }
  send(notices);
  return n;
}

size_t ClientManager::connection_closed(const remoting::Connection* conn) {
  if (conn == nullptr) return 0;
  std::vector<Notice> notices;
  size_t n = 0;
  {
    std::lock_guard lock(mu_);
    auto heard = members_by_conn_.extract(conn);
    if (heard.empty()) return 0;
    std::set<std::string> changed;  // consumer groups that lost a member
    for (const MemberKey& key : heard.mapped()) {
      if (key.producer) {
        if (auto p = producer_groups_.find(key.group); p != producer_groups_.end()) {
          p->second.clients.erase(key.client_id);
          if (p->second.clients.empty()) producer_groups_.erase(p);
        }
      } else if (auto g = consumer_groups_.find(key.group);
                 g != consumer_groups_.end() && g->second.clients.erase(key.client_id) > 0) {
        ++n;
        changed.insert(key.group);
      }
    }
    for (const std::string& name : changed) {
      auto g = consumer_groups_.find(name);
      if (g->second.clients.empty()) {
        consumer_groups_.erase(g);
      } else {
        notices.push_back(notice_locked(name, g->second));
      }
    }
  }
  send(notices);
  return n;
}

}  // namespace comet::broker
