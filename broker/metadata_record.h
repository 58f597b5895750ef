// The metadata record: consumer offset commits, topic and subscription group configs as one message
// body of the system topic kMetadataTopic, so they replicate with the CommitLog (the HA stream, or
// the Raft log) and every replica applies them in log order (broker/metadata_log.h). The body is a
// FlatBuffers MetadataRecord (remoting/schema/remoting.fbs); decoding verifies it first, since
// a replica reads it from a log another broker wrote.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "broker/consumer_offset_manager.h"
#include "broker/subscription_group_manager.h"
#include "broker/system_topics.h"
#include "broker/topic_config_manager.h"
#include "common/status.h"

namespace comet::broker {

struct MetadataChanges {
  std::vector<ConsumerOffsetManager::Entry> offsets;  // forward-only commits
  std::vector<TopicConfig> topics;                    // upserts
  std::vector<SubscriptionGroupConfig> groups;        // upserts
  // Deletions, applied before everything else of the record (what the record holds of such a
  // group was noted after its deletion): config and offsets, or the config only.
  std::vector<std::string> deleted_groups;
  std::vector<std::string> deleted_group_configs;
  bool empty() const {
    return offsets.empty() && topics.empty() && groups.empty() && deleted_groups.empty() &&
           deleted_group_configs.empty();
  }
};

std::string encode_metadata_record(const MetadataChanges& changes);
// kCorruption for a body that is not a well-formed MetadataRecord, or that names an illegal
// group, topic or queue (or holds an invalid config); nothing of a bad record is applied.
Result<MetadataChanges> decode_metadata_record(std::string_view body);

}  // namespace comet::broker
