// ConsumerOffsetManager: committed consume offsets per (group, topic, queue), served from memory
// and written through to MetadataStore's "consumer_offsets" column family on every commit
// (unsynced, WAL on); persist() syncs, so call it periodically and at shutdown. The MetadataStore
// must outlive the manager. Thread-safe.
//
// Key:   "<topic>@<group>@<queueId in decimal>"   ('@' is in neither a topic nor a group name,
//        so "<topic>@" selects a topic and "<topic>@<group>@" one group of it)
// Value: u64 offset, 8 bytes little-endian.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/metadata_store.h"
#include "common/status.h"

namespace comet::broker {

class ConsumerOffsetManager {
 public:
  static Result<std::unique_ptr<ConsumerOffsetManager>> load(MetadataStore& store);

  // Records `offset` (the next offset to consume). An offset below the committed one is ignored
  // (a late commit from a consumer that lost the queue in a rebalance) unless `force`.
  // kInvalidArgument for a group or topic that is not 1-127 chars of [A-Za-z0-9_%|-].
  Status commit(std::string_view group, std::string_view topic, uint32_t queue_id, uint64_t offset,
                bool force = false);
  // Moves the offset anywhere, backwards included (admin reset).
  Status reset(std::string_view group, std::string_view topic, uint32_t queue_id, uint64_t offset) {
    return commit(group, topic, queue_id, offset, /*force=*/true);
  }
  std::optional<uint64_t> query(std::string_view group, std::string_view topic,
                                uint32_t queue_id) const;
  std::map<uint32_t, uint64_t> offsets(std::string_view group, std::string_view topic) const;
  std::vector<std::string> groups_of_topic(std::string_view topic) const;  // sorted
  struct Entry {
    std::string group;
    std::string topic;
    uint32_t queue_id = 0;
    uint64_t offset = 0;
  };
  std::vector<Entry> all() const;
  // Forgets every group's offsets of `topic`; an absent topic is not an error.
  Status remove_topic(std::string_view topic);
  // Forgets every offset of `group`, on every topic, in one synced batch; returns how many (0 for
  // an unknown group).
  Result<size_t> remove_group(std::string_view group);
  // Whether `group` has an offset on any topic.
  bool has_group(std::string_view group) const;
  // Makes every commit that returned before the call durable.
  Status persist();

  static std::string key(std::string_view group, std::string_view topic, uint32_t queue_id);

  // Runs after each commit that moved an offset, under the manager's lock (so listeners see
  // commits in the order they took effect): it must be cheap and must not call the manager.
  // Set it before the first commit.
  using CommitListener = std::function<void(const Entry&)>;
  void set_commit_listener(CommitListener listener) { listener_ = std::move(listener); }
  // The same after remove_group removed a group's offsets, with the group's name.
  using GroupRemoveListener = std::function<void(const std::string& group)>;
  void set_group_remove_listener(GroupRemoveListener listener) {
    group_remove_listener_ = std::move(listener);
  }

 private:
  using QueueOffsets = std::map<uint32_t, uint64_t>;
  using GroupOffsets = std::map<std::string, QueueOffsets, std::less<>>;

  explicit ConsumerOffsetManager(MetadataStore& store) : store_(store) {}
  // Both require mu_.
  const uint64_t* find_locked(std::string_view group, std::string_view topic,
                              uint32_t queue_id) const;
  QueueOffsets& queues_locked(std::string_view group, std::string_view topic);

  MetadataStore& store_;
  CommitListener listener_;
  GroupRemoveListener group_remove_listener_;
  mutable std::mutex mu_;
  std::map<std::string, GroupOffsets, std::less<>> by_topic_;  // topic -> group -> queue
};

}  // namespace comet::broker
