#include "broker/retention_accounting.h"

#include <algorithm>
#include <map>
#include <utility>

#include "broker/broker_stats.h"
#include "broker/consumer_offset_manager.h"
#include "common/logging.h"

namespace comet::broker {

std::vector<UnconsumedLoss> unconsumed_losses(const commitlog::MessageStore::SegmentDeletion& d,
                                              const GroupsOfTopic& groups_of_topic,
                                              const CommittedOffset& committed) {
  std::map<std::pair<std::string, std::string>, uint64_t> lost;
  std::map<std::string, std::vector<std::string>, std::less<>> groups;  // per topic, looked up once
  for (const auto& q : d.queues) {
    auto it = groups.find(q.topic);
    if (it == groups.end()) it = groups.emplace(q.topic, groups_of_topic(q.topic)).first;
    for (const std::string& group : it->second) {
      const uint64_t consumed_to = committed(group, q.topic, q.queue_id).value_or(0);
      if (consumed_to >= q.end) continue;
      lost[{group, q.topic}] += q.end - std::max(consumed_to, q.begin);
    }
  }
  std::vector<UnconsumedLoss> out;
  for (auto& [key, n] : lost)
    out.push_back({key.first, key.second, n});
  return out;
}

commitlog::MessageStore::DeletionListener retention_accountant(const ConsumerOffsetManager& offsets,
                                                               BrokerStats& stats) {
  return [&offsets, &stats](const commitlog::MessageStore::SegmentDeletion& d) {
    const auto losses = unconsumed_losses(
        d, [&](std::string_view topic) { return offsets.groups_of_topic(topic); },
        [&](std::string_view group, std::string_view topic, uint32_t queue_id) {
          return offsets.query(group, topic, queue_id);
        });
    uint64_t total = 0;
    auto log = logger("broker");
    const char* why = d.forced ? "forcibly (disk above diskSpaceCleanForciblyRatio)"
                               : "as expired (fileReservedTime)";
    for (const UnconsumedLoss& l : losses) {
      log->warn(
          "retention deletes CommitLog [{}, {}) {}: consumer group {} loses {} unconsumed "
          "message(s) of topic {}",
          d.log_begin, d.log_end, why, l.group, l.messages, l.topic);
      total += l.messages;
    }
    stats.on_segments_deleted(d.forced, d.segments, total);
  };
}

}  // namespace comet::broker
