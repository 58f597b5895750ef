// Name server requests (105 GET_ROUTEINFO_BY_TOPIC, 106 GET_BROKER_CLUSTER_INFO) and the broker's
// offset and topic requests (14, 15, 29-32, 17).
#include <string>

#include "remoting/rocketmq_json.h"
#include "remoting/rocketmq_translate.h"

namespace comet::remoting::rocketmq::translate {

namespace {

// Java's name server quotes brokerAddrs' integer keys only for clients of version 401 (4.0.1)
// and later, or those that ask for standard JSON.
constexpr int32_t kStandardJsonVersion = 401;

bool wants_standard_json(const Command& req) {
  return req.version >= kStandardJsonVersion ||
         req.ext.get_bool_or("acceptStandardJsonOnly", false);
}

RouteBrokerJson broker_json(const protocol::BrokerDataT& b) {
  RouteBrokerJson out;
  out.cluster = b.cluster;
  out.broker_name = b.broker_name;
  for (const auto& a : b.broker_addrs) {
    if (a) out.addrs.emplace_back(a->broker_id, a->addr);
  }
  return out;
}

}  // namespace

ToNativeResult route_to_native(const Command& req, const Context&, PendingAnswer& pending) {
  protocol::GetRouteInfoRequestT ext;
  ext.topic = std::string(req.ext.get("topic"));
  pending.subject = ext.topic;
  pending.standard_json = wants_standard_json(req);
  RemotingCommand native = native_request(req, protocol::RequestCode::GET_ROUTEINFO_BY_TOPIC);
  native.set_ext(std::move(ext));
  return native;
}

void route_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending, Command& out) {
  if (out.code == static_cast<int32_t>(ResponseCode::TOPIC_NOT_EXIST)) {
    out.remark = "No topic route info in name server for the topic: " + pending.subject;
    return;
  }
  const auto* r = native.ext<protocol::TopicRouteDataT>();
  if (out.code != 0 || r == nullptr) return;
  RouteJson route;
  for (const auto& q : r->queue_datas) {
    if (!q) continue;
    route.queues.push_back(
        RouteQueueJson{q->broker_name, q->read_queue_nums, q->write_queue_nums, q->perm, 0});
  }
  for (const auto& b : r->broker_datas) {
    if (b) route.brokers.push_back(broker_json(*b));
  }
  out.body = encode_route(route, pending.standard_json);
}

ToNativeResult cluster_to_native(const Command& req, const Context&, PendingAnswer& pending) {
  pending.standard_json = wants_standard_json(req);
  return native_request(req, protocol::RequestCode::GET_BROKER_CLUSTER_INFO);
}

void cluster_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending,
                         Command& out) {
  const auto* r = native.ext<protocol::ClusterInfoT>();
  if (out.code != 0 || r == nullptr) return;
  ClusterJson c;
  for (const auto& b : r->broker_datas) {
    if (b) c.brokers.push_back(broker_json(*b));
  }
  for (const auto& e : r->clusters) {
    if (e) c.clusters.emplace_back(e->cluster_name, e->broker_names);
  }
  out.body = encode_cluster_info(c, pending.standard_json);
}

ToNativeResult consumer_offset_to_native(const Command& req, const Context&, PendingAnswer&) {
  protocol::ConsumerOffsetRequestT ext;
  auto queue_id = req.ext.get_int("queueId");
  if (!queue_id.is_ok()) return refuse(queue_id.status());
  ext.consumer_group = std::string(req.ext.get("consumerGroup"));
  ext.topic = std::string(req.ext.get("topic"));
  ext.queue_id = static_cast<int32_t>(*queue_id);
  const bool update =
      req.code == static_cast<int32_t>(protocol::RequestCode::UPDATE_CONSUMER_OFFSET);
  if (update) {
    auto commit = req.ext.get_int("commitOffset");
    if (!commit.is_ok()) return refuse(commit.status());
    ext.commit_offset = *commit;
  }
  RemotingCommand native =
      native_request(req, update ? protocol::RequestCode::UPDATE_CONSUMER_OFFSET
                                 : protocol::RequestCode::QUERY_CONSUMER_OFFSET);
  native.set_ext(std::move(ext));
  return native;
}

ToNativeResult queue_offset_to_native(const Command& req, const Context&, PendingAnswer&) {
  protocol::QueueOffsetRequestT ext;
  auto queue_id = req.ext.get_int("queueId");
  if (!queue_id.is_ok()) return refuse(queue_id.status());
  ext.topic = std::string(req.ext.get("topic"));
  ext.queue_id = static_cast<int32_t>(*queue_id);
  RemotingCommand native = native_request(req, static_cast<protocol::RequestCode>(req.code));
  native.set_ext(std::move(ext));
  return native;
}

ToNativeResult search_offset_to_native(const Command& req, const Context&, PendingAnswer&) {
  protocol::SearchOffsetRequestT ext;
  auto queue_id = req.ext.get_int("queueId");
  if (!queue_id.is_ok()) return refuse(queue_id.status());
  ext.topic = std::string(req.ext.get("topic"));
  ext.queue_id = static_cast<int32_t>(*queue_id);
  ext.timestamp = req.ext.get_int_or("timestamp", 0);
  RemotingCommand native = native_request(req, protocol::RequestCode::SEARCH_OFFSET_BY_TIMESTAMP);
  native.set_ext(std::move(ext));
  return native;
}

void offset_to_rocketmq(const RemotingCommand& native, const PendingAnswer&, Command& out) {
  if (const auto* r = native.ext<protocol::ConsumerOffsetResponseT>()) {
    out.ext.set("offset", std::to_string(r->offset));
  } else if (const auto* q = native.ext<protocol::QueueOffsetResponseT>()) {
    out.ext.set("offset", std::to_string(q->offset));
  } else if (const auto* t = native.ext<protocol::StoreTimeResponseT>()) {
    out.ext.set("timestamp", std::to_string(t->timestamp));
  }
}

ToNativeResult update_topic_to_native(const Command& req, const Context&, PendingAnswer&) {
  auto config = std::make_unique<protocol::TopicConfigT>();
  config->topic_name = std::string(req.ext.get("topic"));
  config->read_queue_nums = static_cast<int32_t>(req.ext.get_int_or("readQueueNums", 8));
  config->write_queue_nums = static_cast<int32_t>(req.ext.get_int_or("writeQueueNums", 8));
  config->perm = static_cast<int32_t>(req.ext.get_int_or("perm", 6));
  config->order = req.ext.get_bool_or("order", false);
  protocol::UpdateTopicRequestT ext;
  ext.config = std::move(config);
  RemotingCommand native = native_request(req, protocol::RequestCode::UPDATE_AND_CREATE_TOPIC);
  native.set_ext(std::move(ext));
  return native;
}

}  // namespace comet::remoting::rocketmq::translate
