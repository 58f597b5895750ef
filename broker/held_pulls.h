// The index of long-polled pulls, without timers or I/O (PullRequestHoldService owns those):
// which pulls wait on which (topic, queue), and at which offset. A message on one queue finds
// that queue's pulls with one hash lookup and takes the ones it satisfies in offset order, so it
// costs the pulls it wakes, not the ten thousand held on other queues; a pull whose suspend time
// ran out leaves by its ticket in O(log n), not by a walk of its queue's list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commitlog/commit_log.h"

namespace comet::broker {

class HeldPulls {
 public:
  using Ticket = uint64_t;

  // Holds a pull of (topic, queue) waiting for the queue's max offset to pass `offset`.
  Ticket add(std::string topic, uint32_t queue_id, uint64_t offset);
  // Takes the pulls on (topic, queue) that `max_offset` satisfies (their offset is below it),
  // lowest offset first.
  std::vector<Ticket> take_ready(std::string_view topic, uint32_t queue_id, uint64_t max_offset);
  // Takes one pull (its suspend time ran out) and says which queue it waited on; nullopt when
  // an arrival took it first.
  std::optional<commitlog::TopicQueueKey> take(Ticket ticket);
  // Takes every pull (shutdown).
  std::vector<Ticket> take_all();

  size_t size() const { return where_.size(); }
  // Queues with at least one pull held.
  size_t queues() const { return queues_.size(); }

 private:
  using ByOffset = std::multimap<uint64_t, Ticket>;
  using Queues = commitlog::TopicQueueMap<ByOffset>;
  struct Where {
    Queues::value_type* queue;  // stable: unordered_map nodes do not move
    ByOffset::iterator at;
  };

  Queues queues_;
  std::unordered_map<Ticket, Where> where_;
  Ticket next_ = 1;
};

}  // namespace comet::broker
