// Whether a consumer group may use this broker, as RocketMQ's PullMessageProcessor and
// ClientManageProcessor decide it. A group without a config gets one with the defaults on a
// master when autoCreateSubscriptionGroup is on and it heartbeats or pulls (so subGroupList
// shows every group in use, and the metadata log carries it to the replicas); an offset commit
// alone creates none (a slave's periodic sync pushes offsets back, and would re-create a group
// deleted meanwhile). With it off, the group is refused (SUBSCRIPTION_GROUP_NOT_EXIST naming it). A
// replica never creates one: it takes the master's. System groups (is_system_group) need no config.
// For pulls the config must also allow them: consumeEnable=false refuses every pull of the group,
// consumeBroadcastEnable=false those of a group whose members heartbeat BROADCASTING (NO_PERMISSION
// naming the group).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/broker_context.h"

namespace comet::broker {

struct GroupRefusal {
  ResponseCode code;
  std::string remark;
};

// Heartbeats (`create` true) and offset commits: the group exists, or was just created, or may
// be used without a config.
std::optional<GroupRefusal> admit_group(BrokerContext& ctx, std::string_view group, bool create);
// Pulls: admit_group, then consumeEnable and consumeBroadcastEnable.
std::optional<GroupRefusal> admit_pull(BrokerContext& ctx, std::string_view group);

}  // namespace comet::broker
