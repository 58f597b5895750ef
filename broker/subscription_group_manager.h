// SubscriptionGroupManager: the broker's consumer group configs (RocketMQ's
// SubscriptionGroupManager), persisted in MetadataStore's "subscription_groups" column family
// (key = group name, value = encode_subscription_group()), loaded whole at startup and served
// from memory. A group without a config behaves as the defaults say (RocketMQ creates one on
// first use; nothing here needs it stored). Changes are written (synced) before they become
// visible and reach the replicas with the metadata log (broker/metadata_log.h). Thread-safe.
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

#include "broker/metadata_store.h"
#include "broker/retry_rule.h"
#include "common/status.h"
#include "remoting_generated.h"

namespace comet::broker {

struct SubscriptionGroupConfig {
  std::string group_name;
  int32_t retry_max_times = kDefaultRetryMaxTimes;
  bool consume_enable = true;
  bool consume_broadcast_enable = true;
  int32_t retry_queue_nums = 1;

  bool operator==(const SubscriptionGroupConfig&) const = default;

  protocol::SubscriptionGroupConfigT to_protocol() const;
  static SubscriptionGroupConfig from_protocol(const protocol::SubscriptionGroupConfigT& g);
};

// Checks the name (record::valid_group_name), retry_max_times (>= 0) and retry_queue_nums
// (0..1024).
Status validate_subscription_group(const SubscriptionGroupConfig& c);

// Value layout, little-endian: u8 version (1) | i32 retry_max_times | i32 retry_queue_nums |
// u8 flags (bit 0: consume_enable, bit 1: consume_broadcast_enable). A decoder reads the fields
// it knows and ignores bytes a later version appends; the name is the key.
std::string encode_subscription_group(const SubscriptionGroupConfig& c);
Result<SubscriptionGroupConfig> decode_subscription_group(std::string_view name,
                                                          std::string_view value);

// Groups that need no config whatever autoCreateSubscriptionGroup says, and get none created:
// the broker's own (%SCHEDULE%, %TIMER%, CID_SYS_RMQ_TRANS) and comet-admin's tool group (RocketMQ
// creates configs for its TOOLS_CONSUMER and CID_SYS_RMQ_TRANS at startup for the same reason).
bool is_system_group(std::string_view group);

class SubscriptionGroupManager {
 public:
  static Result<std::unique_ptr<SubscriptionGroupManager>> load(MetadataStore& store);

  // Runs after each config created or changed, under the manager's lock: it must be cheap and
  // must not call the manager. Set it before the first change.
  using ChangeListener = std::function<void(const SubscriptionGroupConfig&)>;
  void set_change_listener(ChangeListener listener) { listener_ = std::move(listener); }
  // The same after each config deleted, with the group's name.
  using RemoveListener = std::function<void(const std::string& group)>;
  void set_remove_listener(RemoveListener listener) { remove_listener_ = std::move(listener); }

  // Creates the group's config or replaces it; an identical config is not a change. Synced
  // unless `sync` is false: a group created on first use is written to RocksDB's WAL without
  // an fsync, since the request that creates it is served on an I/O thread, which must not
  // wait for a slow disk (docs/reliability.md, slow disks). It survives a process crash (the
  // WAL is written), travels in the metadata log, and a machine crash that loses it only means
  // it is created again, with the same defaults, on its next use.
  Result<SubscriptionGroupConfig> create_or_update(SubscriptionGroupConfig config,
                                                   bool sync = true);
  // Deletes the group's config (synced); false when it had none.
  Result<bool> remove(std::string_view group);
  std::optional<SubscriptionGroupConfig> find(std::string_view group) const;
  // The group's config, or the defaults for a group that has none.
  SubscriptionGroupConfig find_or_default(std::string_view group) const;
  std::vector<SubscriptionGroupConfig> all() const;  // sorted by name

 private:
  explicit SubscriptionGroupManager(MetadataStore& store) : store_(store) {}

  MetadataStore& store_;
  ChangeListener listener_;
  RemoveListener remove_listener_;
  mutable std::shared_mutex mu_;
  std::map<std::string, SubscriptionGroupConfig, std::less<>> groups_;
};

}  // namespace comet::broker
