// TopicConfigManager: the broker's topic table, persisted in MetadataStore's "topics" column
// family (key = topic name, value = encode_topic_config()), loaded whole at startup and served
// from memory. Every change is written (synced) before it becomes visible, and bumps
// data_version() (a DataVersion: counter and time of the change), which is persisted with it so
// it keeps increasing across restarts; the broker sends its table to the name servers when it
// changes, and only a small heartbeat in between. Thread-safe (reads share a lock).
// The MetadataStore must outlive the manager.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker_config.h"
#include "broker/data_version.h"
#include "broker/metadata_store.h"
#include "common/status.h"
#include "remoting_generated.h"

namespace comet::broker {

struct TopicConfig {
  std::string name;
  uint32_t read_queue_nums = 8;
  uint32_t write_queue_nums = 8;
  uint32_t perm = kPermReadWrite;  // 4 read | 2 write
  bool order = false;

  bool operator==(const TopicConfig&) const = default;
  bool readable() const { return (perm & kPermRead) != 0; }
  bool writable() const { return (perm & kPermWrite) != 0; }

  protocol::TopicConfigT to_protocol() const;
  static TopicConfig from_protocol(const protocol::TopicConfigT& t);
};

// The whole table at one version (what a full registration sends).
struct TopicTable {
  DataVersion version;
  std::vector<TopicConfig> topics;  // sorted by name
};

// Checks the name (record::valid_topic_name), queue counts (1..1024) and perm (subset of 6).
Status validate_topic_config(const TopicConfig& c);

// Value layout, little-endian: u8 version (1) | u32 read_queue_nums | u32 write_queue_nums |
// u32 perm | u8 flags (bit 0: order). A decoder reads the fields it knows and ignores bytes a
// later version appends; the name is the key.
std::string encode_topic_config(const TopicConfig& c);
Result<TopicConfig> decode_topic_config(std::string_view name, std::string_view value);

class TopicConfigManager {
 public:
  static Result<std::unique_ptr<TopicConfigManager>> load(MetadataStore& store);

  // Runs after each config created or changed (not removed), under the manager's lock: it must
  // be cheap and must not call the manager. Set it before the first change.
  using ChangeListener = std::function<void(const TopicConfig&)>;
  void set_change_listener(ChangeListener listener) { listener_ = std::move(listener); }

  // Creates the topic or replaces its config; an identical config is not a change.
  Result<TopicConfig> create_or_update(TopicConfig config);
  // kNotFound if there is no such topic.
  Status remove(std::string_view name);
  std::optional<TopicConfig> find(std::string_view name) const;
  // The existing config, or a new read-write topic with `default_queue_nums` read and write
  // queues (send with autoCreateTopicEnable). Concurrent callers get the same config. Written
  // without an fsync, as a subscription group created on first use is (the send that creates
  // it is served on an I/O thread; see SubscriptionGroupManager::create_or_update).
  Result<TopicConfig> auto_create(std::string_view name, uint32_t default_queue_nums);
  std::vector<TopicConfig> all() const;  // sorted by name
  TopicTable table() const;              // all() with the version it is at
  size_t size() const;
  DataVersion data_version() const;

 private:
  explicit TopicConfigManager(MetadataStore& store) : store_(store) {}
  // Requires mu_ held exclusively.
  Status persist_locked(const TopicConfig* upsert, std::string_view remove_name, bool sync = true);

  MetadataStore& store_;
  ChangeListener listener_;
  mutable std::shared_mutex mu_;
  std::map<std::string, TopicConfig, std::less<>> topics_;
  DataVersion data_version_;
};

}  // namespace comet::broker
