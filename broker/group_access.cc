#include "broker/group_access.h"

#include "broker/replication.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {
namespace {

// The group's config: found, created now, or (nullopt with no refusal) the defaults.
std::optional<GroupRefusal> find_or_create(BrokerContext& ctx, std::string_view group, bool create,
                                           std::optional<SubscriptionGroupConfig>& config) {
  config = ctx.groups->find(group);
  if (config || is_system_group(group)) return std::nullopt;
  if (!ctx.config.auto_create_subscription_group) {
    return GroupRefusal{ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                        "subscription group " + std::string(group) + " does not exist on broker " +
                            ctx.config.broker_name + " (autoCreateSubscriptionGroup=false)"};
  }
  if (!record::valid_group_name(group)) {
    return GroupRefusal{ResponseCode::BAD_REQUEST, "illegal consumer group '" + std::string(group) +
                                                       "' (1-255 chars of [A-Za-z0-9_%|-])"};
  }
  // A replica takes the master's config from the metadata log.
  if (!create || !ctx.replication->is_master()) return std::nullopt;
  SubscriptionGroupConfig fresh;
  fresh.group_name = group;
  // Unsynced: this runs on an I/O thread (SubscriptionGroupManager::create_or_update).
  auto created = ctx.groups->create_or_update(fresh, /*sync=*/false);
  if (!created.is_ok()) {
    // Serve with the defaults anyway: the next use tries again.
    logger("broker")->warn("auto-creating subscription group {}: {}", group,
                           created.status().to_string());
    return std::nullopt;
  }
  logger("broker")->info("subscription group {} created on first use", group);
  config = std::move(created).value();
  return std::nullopt;
}

}  // namespace

std::optional<GroupRefusal> admit_group(BrokerContext& ctx, std::string_view group, bool create) {
  std::optional<SubscriptionGroupConfig> config;
  return find_or_create(ctx, group, create, config);
}

std::optional<GroupRefusal> admit_pull(BrokerContext& ctx, std::string_view group) {
  std::optional<SubscriptionGroupConfig> config;
  if (auto refused = find_or_create(ctx, group, /*create=*/true, config)) return refused;
  if (!config) return std::nullopt;
  if (!config->consume_enable) {
    return GroupRefusal{ResponseCode::NO_PERMISSION, "subscription group " + std::string(group) +
                                                         " may not consume (consumeEnable=false)"};
  }
  if (!config->consume_broadcast_enable) {
    auto data = ctx.clients->subscription(std::string(group));
    if (data && data->message_model == "BROADCASTING") {
      return GroupRefusal{ResponseCode::NO_PERMISSION,
                          "subscription group " + std::string(group) +
                              " may not consume by broadcast (consumeBroadcastEnable=false)"};
    }
  }
  return std::nullopt;
}

}  // namespace comet::broker
