#include "broker/held_pulls.h"

namespace comet::broker {

HeldPulls::Ticket HeldPulls::add(std::string topic, uint32_t queue_id, uint64_t offset) {
  const Ticket ticket = next_++;
  auto [queue, _] = queues_.try_emplace(commitlog::TopicQueueKey{std::move(topic), queue_id});
  auto at = queue->second.emplace(offset, ticket);
  where_.emplace(ticket, Where{&*queue, at});
  return ticket;
}

std::vector<HeldPulls::Ticket> HeldPulls::take_ready(std::string_view topic, uint32_t queue_id,
                                                     uint64_t max_offset) {
  std::vector<Ticket> ready;
  auto queue = queues_.find(commitlog::TopicQueueRef{topic, queue_id});
  if (queue == queues_.end()) return ready;
  ByOffset& pulls = queue->second;
  const auto end = pulls.lower_bound(max_offset);  // a pull at max_offset still waits
  for (auto p = pulls.begin(); p != end; ++p) {
    ready.push_back(p->second);
    where_.erase(p->second);
  }
  pulls.erase(pulls.begin(), end);
  if (pulls.empty()) queues_.erase(queue);
  return ready;
}

std::optional<commitlog::TopicQueueKey> HeldPulls::take(Ticket ticket) {
  auto it = where_.find(ticket);
  if (it == where_.end()) return std::nullopt;
  auto [queue, at] = it->second;
  where_.erase(it);
  commitlog::TopicQueueKey key = queue->first;
  queue->second.erase(at);
  if (queue->second.empty()) queues_.erase(key);
  return key;
}

std::vector<HeldPulls::Ticket> HeldPulls::take_all() {
  std::vector<Ticket> all;
  all.reserve(where_.size());
  for (const auto& [ticket, _] : where_)
    all.push_back(ticket);
  where_.clear();
  queues_.clear();
  return all;
}

}  // namespace comet::broker
