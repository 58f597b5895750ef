// What a retention pass destroys: before CommitLog segments are deleted (forced above
// diskSpaceCleanForciblyRatio, or expired), the broker counts per (consumer group, topic) the
// messages in the deleted range that the group has not consumed yet (its committed offset is
// below the queue offsets that go), logs one warning per group and topic, and adds them to
// brokerStatus (forcedDeleteUnconsumedMessages, expiredDeleteUnconsumedMessages). The store knows
// no consumer groups: it tells which queue offsets go (MessageStore::SegmentDeletion), this
// compares them with the offset manager's.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commitlog/message_store.h"

namespace comet::broker {

class BrokerStats;
class ConsumerOffsetManager;

struct UnconsumedLoss {
  std::string group;
  std::string topic;
  uint64_t messages = 0;
  bool operator==(const UnconsumedLoss&) const = default;
};

// The groups that consume a topic (those with a committed offset on it), sorted.
using GroupsOfTopic = std::function<std::vector<std::string>(std::string_view topic)>;
// A group's committed offset of (topic, queue), if any.
using CommittedOffset = std::function<std::optional<uint64_t>(
    std::string_view group, std::string_view topic, uint32_t queue_id)>;

// Per (group, topic), sorted, the messages of `deletion` the group has not consumed; pairs that
// lose nothing are left out. A group without an offset on one queue of a topic it consumes has
// consumed nothing of it.
std::vector<UnconsumedLoss> unconsumed_losses(const commitlog::MessageStore::SegmentDeletion& d,
                                              const GroupsOfTopic& groups_of_topic,
                                              const CommittedOffset& committed);

// The store's deletion listener for a broker: counts, logs and adds to `stats`.
commitlog::MessageStore::DeletionListener retention_accountant(const ConsumerOffsetManager& offsets,
                                                               BrokerStats& stats);

}  // namespace comet::broker
