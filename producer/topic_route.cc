#include "producer/topic_route.h"

#include <algorithm>

namespace comet::client {

std::string MessageQueue::to_string() const {
  return topic + "@" + broker_name + "#" + std::to_string(queue_id);
}

std::optional<std::string> BrokerData::master_addr() const {
  auto it = addrs.find(kMasterId);
  if (it == addrs.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

TopicRoute TopicRoute::from_protocol(const protocol::TopicRouteDataT& data) {
  TopicRoute route;
  for (const auto& q : data.queue_datas) {
    if (!q) continue;
    route.queue_datas.push_back({q->broker_name, q->read_queue_nums, q->write_queue_nums, q->perm});
  }
  for (const auto& b : data.broker_datas) {
    if (!b) continue;
    BrokerData bd{b->cluster, b->broker_name, {}};
    for (const auto& a : b->broker_addrs) {
      if (a) bd.addrs[a->broker_id] = a->addr;
    }
    route.broker_datas.push_back(std::move(bd));
  }
  std::sort(route.queue_datas.begin(), route.queue_datas.end(),
            [](const QueueData& a, const QueueData& b) { return a.broker_name < b.broker_name; });
  std::sort(route.broker_datas.begin(), route.broker_datas.end(),
            [](const BrokerData& a, const BrokerData& b) { return a.broker_name < b.broker_name; });
  return route;
}

const BrokerData* TopicRoute::find_broker(const std::string& broker_name) const {
  for (const auto& b : broker_datas) {
    if (b.broker_name == broker_name) return &b;
  }
  return nullptr;
}

std::optional<std::string> TopicRoute::master_addr(const std::string& broker_name) const {
  const BrokerData* b = find_broker(broker_name);
  return b ? b->master_addr() : std::nullopt;
}

std::vector<MessageQueue> TopicRoute::writable_queues(const std::string& topic) const {
  std::vector<MessageQueue> out;
  for (const auto& q : queue_datas) {
    if ((q.perm & kPermWrite) == 0 || !master_addr(q.broker_name)) continue;
    for (int i = 0; i < q.write_queue_nums; ++i) {
      out.push_back({topic, q.broker_name, static_cast<uint32_t>(i)});
    }
  }
  return out;
}

std::vector<MessageQueue> TopicRoute::readable_queues(const std::string& topic) const {
  std::vector<MessageQueue> out;
  for (const auto& q : queue_datas) {
    if ((q.perm & kPermRead) == 0 || !find_broker(q.broker_name)) continue;
    for (int i = 0; i < q.read_queue_nums; ++i) {
      out.push_back({topic, q.broker_name, static_cast<uint32_t>(i)});
    }
  }
  return out;
}

}  // namespace comet::client
