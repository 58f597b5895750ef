#include "broker/metadata_record.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "common/record_codec.h"
#include "remoting_generated.h"

namespace comet::broker {
namespace {

Result<ConsumerOffsetManager::Entry> offset_entry(const protocol::ConsumerOffsetEntryT& e) {
  if (!record::valid_topic_name(e.consumer_group) || !record::valid_topic_name(e.topic) ||
      e.queue_id < 0 || e.offset < 0) {
    return Status::corruption("metadata record: bad offset entry for group '" + e.consumer_group +
                              "' topic '" + e.topic + "'");
  }
  return ConsumerOffsetManager::Entry{e.consumer_group, e.topic, static_cast<uint32_t>(e.queue_id),
                                      static_cast<uint64_t>(e.offset)};
}

std::unique_ptr<protocol::ConsumerOffsetEntryT> offset_entry_of(
    const ConsumerOffsetManager::Entry& e) {
  auto p = std::make_unique<protocol::ConsumerOffsetEntryT>();
  p->consumer_group = e.group;
  p->topic = e.topic;
  p->queue_id = static_cast<int32_t>(e.queue_id);
  p->offset = static_cast<int64_t>(e.offset);
  return p;
}

Result<std::vector<std::string>> group_names(std::vector<std::string> names) {
  for (const auto& g : names) {
    if (!record::valid_group_name(g)) {
      return Status::corruption("metadata record: bad deleted group name '" + g + "'");
    }
  }
  return names;
}

}  // namespace

std::string encode_metadata_record(const MetadataChanges& changes) {
  protocol::MetadataRecordT r;
  for (const auto& e : changes.offsets)
    r.offsets.push_back(offset_entry_of(e));
  for (const auto& e : changes.offset_resets)
    r.offset_resets.push_back(offset_entry_of(e));
  for (const auto& t : changes.topics) {
    r.topics.push_back(std::make_unique<protocol::TopicConfigT>(t.to_protocol()));
  }
  for (const auto& g : changes.groups) {
    r.subscription_groups.push_back(
        std::make_unique<protocol::SubscriptionGroupConfigT>(g.to_protocol()));
  }
  r.deleted_groups = changes.deleted_groups;
  r.deleted_group_configs = changes.deleted_group_configs;
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(protocol::MetadataRecord::Pack(fbb, &r));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Result<MetadataChanges> decode_metadata_record(std::string_view body) {
  // A record's body lies wherever the CommitLog put it; FlatBuffers reads its fields in place and
  // needs them aligned (UBSan: misaligned member call), so an unaligned body is copied first.
  std::vector<uint64_t> aligned;
  if (reinterpret_cast<uintptr_t>(body.data()) % alignof(uint64_t) != 0) {
    aligned.resize((body.size() + sizeof(uint64_t) - 1) / sizeof(uint64_t));
    std::memcpy(aligned.data(), body.data(), body.size());
    body = std::string_view(reinterpret_cast<const char*>(aligned.data()), body.size());
  }
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  if (!verifier.VerifyBuffer<protocol::MetadataRecord>(nullptr)) {
    return Status::corruption("metadata record: not a well-formed MetadataRecord (" +
                              std::to_string(body.size()) + " bytes)");
  }
  protocol::MetadataRecordT r;
  flatbuffers::GetRoot<protocol::MetadataRecord>(body.data())->UnPackTo(&r);
  MetadataChanges out;
  for (const auto& e : r.offsets) {
    if (!e) return Status::corruption("metadata record: empty offset entry");
    COMET_ASSIGN_OR_RETURN(auto entry, offset_entry(*e));
    out.offsets.push_back(std::move(entry));
  }
  for (const auto& e : r.offset_resets) {
    if (!e) return Status::corruption("metadata record: empty offset reset");
    COMET_ASSIGN_OR_RETURN(auto entry, offset_entry(*e));
    out.offset_resets.push_back(std::move(entry));
  }
  for (const auto& t : r.topics) {
    if (!t) return Status::corruption("metadata record: empty topic config");
    TopicConfig c = TopicConfig::from_protocol(*t);
    if (Status s = validate_topic_config(c); !s.is_ok()) {
      return Status::corruption("metadata record: " + s.message());
    }
    out.topics.push_back(std::move(c));
  }
  for (const auto& g : r.subscription_groups) {
    if (!g) return Status::corruption("metadata record: empty subscription group config");
    SubscriptionGroupConfig c = SubscriptionGroupConfig::from_protocol(*g);
    if (Status s = validate_subscription_group(c); !s.is_ok()) {
      return Status::corruption("metadata record: " + s.message());
    }
    out.groups.push_back(std::move(c));
  }
  COMET_ASSIGN_OR_RETURN(out.deleted_groups, group_names(std::move(r.deleted_groups)));
  COMET_ASSIGN_OR_RETURN(out.deleted_group_configs,
                         group_names(std::move(r.deleted_group_configs)));
  return out;
}

}  // namespace comet::broker
