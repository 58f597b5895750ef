// RocketMQ 4.x JSON bodies (RapidJSON): heartbeats, queue lock requests and answers, routes,
// cluster info and consumer id lists (/work/shared/rocketmq-remoting.md §2-3). Parsers accept
// what the clients send (enum ordinals, numbers as strings, missing empty sets); writers produce
// the compact form the Java name server and broker write.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace comet::remoting::rocketmq {

struct MessageQueueRef {
  std::string topic, broker_name;
  int32_t queue_id = 0;
  bool operator==(const MessageQueueRef&) const = default;
};
struct SubscriptionJson {
  std::string topic, sub_string, expression_type = "TAG";
  std::vector<std::string> tags;
  int64_t sub_version = 0;
  bool operator==(const SubscriptionJson&) const = default;
};
struct ConsumerJson {
  std::string group_name;
  std::string consume_type;        // normalized to the NAME: CONSUME_ACTIVELY / CONSUME_PASSIVELY
  std::string message_model;       // CLUSTERING / BROADCASTING
  std::string consume_from_where;  // CONSUME_FROM_LAST_OFFSET / ..._FIRST_OFFSET / ..._TIMESTAMP
  bool unit_mode = false;
  std::vector<SubscriptionJson> subscriptions;
  bool operator==(const ConsumerJson&) const = default;
};
struct HeartbeatJson {
  std::string client_id;
  std::vector<std::string> producer_groups;
  std::vector<ConsumerJson> consumers;
  bool operator==(const HeartbeatJson&) const = default;
};
Result<HeartbeatJson> parse_heartbeat(std::string_view json);  // ordinals or names
std::string encode_heartbeat(const HeartbeatJson& h);          // names; for test/bench clients

struct LockBatchJson {
  std::string consumer_group, client_id;
  std::vector<MessageQueueRef> mqs;
  bool only_this_broker = false;
  bool operator==(const LockBatchJson&) const = default;
};
Result<LockBatchJson> parse_lock_batch(std::string_view json);  // LOCK/UNLOCK request bodies
std::string encode_lock_batch(const LockBatchJson& b);
Result<std::vector<MessageQueueRef>> parse_lock_ok(std::string_view json);  // {"lockOKMQSet":[..]}
std::string encode_lock_ok(const std::vector<MessageQueueRef>& mqs);

struct RouteQueueJson {
  std::string broker_name;
  int32_t read_queue_nums = 0, write_queue_nums = 0, perm = 6, topic_sys_flag = 0;
  bool operator==(const RouteQueueJson&) const = default;
};
struct RouteBrokerJson {
  std::string cluster, broker_name;
  std::vector<std::pair<int64_t, std::string>> addrs;  // id → host:port
  bool operator==(const RouteBrokerJson&) const = default;
};
struct RouteJson {
  std::vector<RouteQueueJson> queues;
  std::vector<RouteBrokerJson> brokers;
  bool operator==(const RouteJson&) const = default;
};
// The exact compact TopicRouteData form; standard_json false writes brokerAddrs keys unquoted
// ({0:"..."}) as Java's name server does for clients older than version 401.
std::string encode_route(const RouteJson& r, bool standard_json);
Result<RouteJson> parse_route(std::string_view json);  // both forms (test/bench clients)
struct ClusterJson {
  std::vector<RouteBrokerJson> brokers;
  std::vector<std::pair<std::string, std::vector<std::string>>> clusters;
};
std::string encode_cluster_info(const ClusterJson& c, bool standard_json);

std::string encode_consumer_id_list(
    const std::vector<std::string>& ids);  // {"consumerIdList":[..]}
Result<std::vector<std::string>> parse_consumer_id_list(std::string_view json);

}  // namespace comet::remoting::rocketmq
