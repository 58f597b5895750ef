// comet-admin updateSubGroup, deleteSubGroup and subGroupList: consumer group configs (RocketMQ's
// SubscriptionGroupConfig), of which retryMaxTimes decides when a failed message goes to the
// group's dead-letter queue and consumeEnable whether the group may pull at all.
#include "admin/handlers.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "admin/cluster_view.h"
#include "admin/table.h"
#include "common/record_codec.h"

namespace comet::admin {
namespace {

constexpr int64_t kMaxRetryQueueNums = 1024;
constexpr int64_t kMaxRetryMaxTimes = INT32_MAX;

// A true/false option; nullopt (after a usage error) for anything else.
std::optional<bool> bool_option(Context& c, std::string_view name, bool fallback) {
  const std::string v = c.args.get(name, fallback ? "true" : "false");
  if (v == "true") return true;
  if (v == "false") return false;
  return std::nullopt;
}

Result<std::vector<BrokerRef>> targets_of(Context& c) {
  if (c.args.has("brokerAddr")) return std::vector<BrokerRef>{{"", "", c.args.get("brokerAddr")}};
  const std::string cluster = c.args.get("clusterName");
  COMET_ASSIGN_OR_RETURN(auto m, masters(c, cluster));
  if (m.empty()) return Status::not_found("cluster " + cluster + " has no master");
  return m;
}

void print_config_json(JsonWriter& j, const protocol::SubscriptionGroupConfigT& g) {
  j.field("groupName", g.group_name)
      .field("retryMaxTimes", g.retry_max_times)
      .field("retryQueueNums", g.retry_queue_nums)
      .field("consumeEnable", g.consume_enable)
      .field("consumeBroadcastEnable", g.consume_broadcast_enable);
}

// What each broker answered, one per target.
using Outcomes = std::vector<std::pair<BrokerRef, Status>>;

// The "results" field: one object per broker (brokerName, addr, result OK or FAILED, and the
// error of a failure).
void print_outcomes_json(JsonWriter& j, const Outcomes& outcomes) {
  j.key("results").begin_array();
  for (const auto& [b, s] : outcomes) {
    j.begin_object()
        .field("brokerName", b.broker_name)
        .field("addr", b.addr)
        .field("result", s.is_ok() ? "OK" : "FAILED");
    if (!s.is_ok()) j.field("error", s.message());
    j.end_object();
  }
  j.end_array();
}

}  // namespace

int update_sub_group(Context& c) {
  const std::string group = c.args.get("groupName");
  if (!record::valid_group_name(group)) {
    return c.usage_error("illegal group name '" + group + "': 1-255 characters of [A-Za-z0-9_%|-]");
  }
  if (c.args.has("clusterName") == c.args.has("brokerAddr")) {
    return c.usage_error("give exactly one of -c <clusterName> and -b <brokerAddr>");
  }
  const int64_t retry_max = c.args.get_int("retryMaxTimes", 16);
  const int64_t retry_queues = c.args.get_int("retryQueueNums", 1);
  if (retry_max < 0 || retry_max > kMaxRetryMaxTimes) {
    return c.usage_error("retryMaxTimes must be >= 0, got " + std::to_string(retry_max));
  }
  if (retry_queues < 0 || retry_queues > kMaxRetryQueueNums) {
    return c.usage_error("retryQueueNums must be within 0..1024, got " +
                         std::to_string(retry_queues));
  }
  const auto consume = bool_option(c, "consumeEnable", true);
  const auto broadcast = bool_option(c, "consumeBroadcastEnable", true);
  if (!consume || !broadcast) return c.usage_error("-s and -d take true or false");

  protocol::SubscriptionGroupConfigT config;
  config.group_name = group;
  config.retry_max_times = static_cast<int32_t>(retry_max);
  config.retry_queue_nums = static_cast<int32_t>(retry_queues);
  config.consume_enable = *consume;
  config.consume_broadcast_enable = *broadcast;

  auto targets = targets_of(c);
  if (!targets.is_ok()) return c.fail("group " + group, targets.status());
  Outcomes outcomes;
  for (const auto& b : *targets) {
    Status s = c.client.update_subscription_group(b.addr, config);
    if (!s.is_ok()) c.report("group " + group + " on broker " + b.addr, s);
    outcomes.emplace_back(b, s);
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().key("subscriptionGroupConfig").begin_object();
    print_config_json(j, config);
    j.end_object();
    print_outcomes_json(j, outcomes);
    j.end_object();
    return c.done();
  }
  Table t({"#Broker Name", "#Broker Addr", "#Result"});
  for (const auto& [b, s] : outcomes) {
    t.add_row({b.broker_name.empty() ? "-" : b.broker_name, b.addr, s.is_ok() ? "OK" : "FAILED"});
  }
  t.print(c.out);
  c.out << "SubscriptionGroupConfig [groupName=" << group << ", retryMaxTimes=" << retry_max
        << ", retryQueueNums=" << retry_queues
        << ", consumeEnable=" << (*consume ? "true" : "false")
        << ", consumeBroadcastEnable=" << (*broadcast ? "true" : "false") << "]\n";
  return c.done();
}

int sub_group_list(Context& c) {
  const std::string cluster = c.args.get("clusterName");
  auto targets = masters(c, cluster);
  if (!targets.is_ok()) {
    return c.fail(cluster.empty() ? "cluster info" : "cluster " + cluster, targets.status());
  }
  struct Entry {
    BrokerRef broker;
    protocol::SubscriptionGroupConfigT config;
  };
  std::map<std::string, std::vector<Entry>> groups;
  for (const auto& b : *targets) {
    auto configs = c.client.subscription_groups(b.addr);
    if (!configs.is_ok()) {
      c.report("groups of broker " + b.broker_name + " (" + b.addr + ")", configs.status());
      continue;
    }
    for (auto& g : *configs)
      groups[g.group_name].push_back({b, std::move(g)});
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().key("groups").begin_array();
    for (const auto& [name, entries] : groups) {
      for (const auto& e : entries) {
        j.begin_object()
            .field("cluster", e.broker.cluster)
            .field("brokerName", e.broker.broker_name)
            .field("addr", e.broker.addr);
        print_config_json(j, e.config);
        j.end_object();
      }
    }
    j.end_array().end_object();
    return c.done();
  }
  Table t({"#Group", "#Cluster Name", "#Broker Name", "#Retry Max Times", "#Retry Queues",
           "#Consume", "#Broadcast"});
  for (const auto& [name, entries] : groups) {
    for (const auto& e : entries) {
      t.add_row(
          {name, e.broker.cluster, e.broker.broker_name, std::to_string(e.config.retry_max_times),
           std::to_string(e.config.retry_queue_nums), e.config.consume_enable ? "true" : "false",
           e.config.consume_broadcast_enable ? "true" : "false"});
    }
  }
  t.print(c.out);
  return c.done();
}

// mqadmin's deleteSubGroup: the group's config, and its offsets unless --cleanOffset false, go
// from one broker (-b) or every master of a cluster (-c); the masters' replicas follow through
// the metadata log. A broker that does not know the group says so (SUBSCRIPTION_GROUP_NOT_EXIST).
int delete_sub_group(Context& c) {
  const std::string group = c.args.get("groupName");
  if (!record::valid_group_name(group)) {
    return c.usage_error("illegal group name '" + group + "': 1-255 characters of [A-Za-z0-9_%|-]");
  }
  if (c.args.has("clusterName") == c.args.has("brokerAddr")) {
    return c.usage_error("give exactly one of -c <clusterName> and -b <brokerAddr>");
  }
  const auto clean = bool_option(c, "cleanOffset", true);
  if (!clean) return c.usage_error("--cleanOffset takes true or false");
  auto targets = targets_of(c);
  if (!targets.is_ok()) return c.fail("group " + group, targets.status());
  Outcomes outcomes;
  for (const auto& b : *targets) {
    Status s = c.client.delete_subscription_group(b.addr, group, *clean);
    if (!s.is_ok()) c.report("group " + group + " on broker " + b.addr, s);
    outcomes.emplace_back(b, s);
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("group", group).field("cleanOffset", *clean);
    print_outcomes_json(j, outcomes);
    j.end_object();
    return c.done();
  }
  for (const auto& [b, s] : outcomes) {
    if (s.is_ok()) {
      c.out << "delete subscription group [" << group << "] from broker ["
            << (b.broker_name.empty() ? b.addr : b.broker_name) << "] success"
            << (*clean ? ", offsets removed" : ", offsets kept") << ".\n";
    }
  }
  return c.done();
}

}  // namespace comet::admin
