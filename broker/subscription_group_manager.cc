#include "broker/subscription_group_manager.h"

#include <mutex>

#include "broker/broker_config.h"
#include "broker/system_topics.h"
#include "common/little_endian.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {
namespace {

constexpr uint8_t kGroupConfigVersion = 1;
constexpr size_t kGroupConfigV1Size = 1 + 4 + 4 + 1;
constexpr uint8_t kFlagConsumeEnable = 1;
constexpr uint8_t kFlagConsumeBroadcastEnable = 2;

}  // namespace

protocol::SubscriptionGroupConfigT SubscriptionGroupConfig::to_protocol() const {
  protocol::SubscriptionGroupConfigT g;
  g.group_name = group_name;
  g.retry_max_times = retry_max_times;
  g.consume_enable = consume_enable;
  g.consume_broadcast_enable = consume_broadcast_enable;
  g.retry_queue_nums = retry_queue_nums;
  return g;
}

SubscriptionGroupConfig SubscriptionGroupConfig::from_protocol(
    const protocol::SubscriptionGroupConfigT& g) {
  SubscriptionGroupConfig c;
  c.group_name = g.group_name;
  c.retry_max_times = g.retry_max_times;
  c.consume_enable = g.consume_enable;
  c.consume_broadcast_enable = g.consume_broadcast_enable;
  c.retry_queue_nums = g.retry_queue_nums;
  return c;
}

Status validate_subscription_group(const SubscriptionGroupConfig& c) {
  if (!record::valid_group_name(c.group_name)) {
    return Status::invalid_argument("illegal consumer group '" + c.group_name +
                                    "' (1-255 chars of [A-Za-z0-9_%|-])");
  }
  if (c.retry_max_times < 0) {
    return Status::invalid_argument("group " + c.group_name + ": retryMaxTimes must be >= 0, got " +
                                    std::to_string(c.retry_max_times));
  }
  if (c.retry_queue_nums < 0 || c.retry_queue_nums > static_cast<int32_t>(kMaxQueueNums)) {
    return Status::invalid_argument("group " + c.group_name +
                                    ": retryQueueNums must be within 0..1024, got " +
                                    std::to_string(c.retry_queue_nums));
  }
  return Status::ok();
}

std::string encode_subscription_group(const SubscriptionGroupConfig& c) {
  std::string out;
  out.reserve(kGroupConfigV1Size);
  out.push_back(static_cast<char>(kGroupConfigVersion));
  put_u32(out, static_cast<uint32_t>(c.retry_max_times));
  put_u32(out, static_cast<uint32_t>(c.retry_queue_nums));
  out.push_back(static_cast<char>((c.consume_enable ? kFlagConsumeEnable : 0) |
                                  (c.consume_broadcast_enable ? kFlagConsumeBroadcastEnable : 0)));
  return out;
}

Result<SubscriptionGroupConfig> decode_subscription_group(std::string_view name,
                                                          std::string_view value) {
  if (value.empty() || static_cast<uint8_t>(value[0]) < kGroupConfigVersion ||
      value.size() < kGroupConfigV1Size) {
    return Status::corruption("subscription group config of '" + std::string(name) +
                              "': bad encoding (" + std::to_string(value.size()) + " bytes)");
  }
  SubscriptionGroupConfig c;
  c.group_name = name;
  c.retry_max_times = static_cast<int32_t>(get_u32(value.data() + 1));
  c.retry_queue_nums = static_cast<int32_t>(get_u32(value.data() + 5));
  const auto flags = static_cast<uint8_t>(value[9]);
  c.consume_enable = (flags & kFlagConsumeEnable) != 0;
  c.consume_broadcast_enable = (flags & kFlagConsumeBroadcastEnable) != 0;
  return c;
}

bool is_system_group(std::string_view group) {
  return group == kScheduleGroup || group == kTimerGroup || group == kTransGroup ||
         group == "comet-admin";
}

Result<std::unique_ptr<SubscriptionGroupManager>> SubscriptionGroupManager::load(
    MetadataStore& store) {
  std::unique_ptr<SubscriptionGroupManager> m(new SubscriptionGroupManager(store));
  Status decode_error;
  COMET_RETURN_IF_ERROR(store.for_each(Family::kSubscriptionGroups, "",
                                       [&](std::string_view key, std::string_view value) {
                                         auto c = decode_subscription_group(key, value);
                                         if (c.is_ok()) {
                                           Status valid = validate_subscription_group(*c);
                                           if (!valid.is_ok())
                                             c = Status::corruption("stored " + valid.message());
                                         }
                                         if (!c.is_ok()) {
                                           decode_error = c.status();
                                           return false;
                                         }
                                         m->groups_.emplace(std::string(key), std::move(c).value());
                                         return true;
                                       }));
  COMET_RETURN_IF_ERROR(decode_error);
  logger("broker")->info("loaded {} subscription group configs from {}", m->groups_.size(),
                         store.path());
  return m;
}

Result<SubscriptionGroupConfig> SubscriptionGroupManager::create_or_update(
    SubscriptionGroupConfig config, bool sync) {
  COMET_RETURN_IF_ERROR(validate_subscription_group(config));
  std::unique_lock lock(mu_);
  auto it = groups_.find(config.group_name);
  if (it != groups_.end() && it->second == config) return config;
  COMET_RETURN_IF_ERROR(store_.put(Family::kSubscriptionGroups, config.group_name,
                                   encode_subscription_group(config), sync));
  groups_.insert_or_assign(config.group_name, config);
  if (listener_) listener_(config);
  return config;
}

Result<bool> SubscriptionGroupManager::remove(std::string_view group) {
  std::unique_lock lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return false;
  COMET_RETURN_IF_ERROR(store_.remove(Family::kSubscriptionGroups, group, /*sync=*/true));
  const std::string name = it->first;
  groups_.erase(it);
  if (remove_listener_) remove_listener_(name);
  return true;
}

std::optional<SubscriptionGroupConfig> SubscriptionGroupManager::find(
    std::string_view group) const {
  std::shared_lock lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}

SubscriptionGroupConfig SubscriptionGroupManager::find_or_default(std::string_view group) const {
  if (auto found = find(group)) return *std::move(found);
  SubscriptionGroupConfig c;
  c.group_name = group;
  return c;
}

std::vector<SubscriptionGroupConfig> SubscriptionGroupManager::all() const {
  std::shared_lock lock(mu_);
  std::vector<SubscriptionGroupConfig> out;
  out.reserve(groups_.size());
  for (const auto& [name, c] : groups_)
    out.push_back(c);
  return out;
}

}  // namespace comet::broker
