#include "broker/group_admin_processor.h"

#include <set>

#include "broker/replication.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {

void GroupAdminProcessor::process(const ConnectionPtr& conn, RemotingCommand req) {
  switch (static_cast<RequestCode>(req.code())) {
    case RequestCode::DELETE_SUBSCRIPTIONGROUP:
      return delete_group(conn, req);
    case RequestCode::GET_CONSUMER_CONNECTION_LIST:
      return consumer_connections(conn, req);
    case RequestCode::GET_PRODUCER_CONNECTION_LIST:
      return producer_connections(conn, req);
    case RequestCode::GET_CONSUME_STATS:
      return consume_stats(conn, req);
    default:
      return reply(conn, req, ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                   "request code " + std::to_string(req.code()) + " is not supported");
  }
}

// Only a master deletes: the metadata log carries the deletion to its replicas (a replica's own
// would be undone by the master's next record of the group, and never reach the others).
void GroupAdminProcessor::delete_group(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::DeleteSubscriptionGroupRequestT>();
  if (ext == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "DELETE_SUBSCRIPTIONGROUP lacks a DeleteSubscriptionGroupRequest");
  }
  const std::string& group = ext->group_name;
  if (!record::valid_group_name(group)) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "illegal consumer group '" + group + "' (1-255 chars of [A-Za-z0-9_%|-])");
  }
  if (is_system_group(group)) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "group " + group + " is the broker's own and cannot be deleted");
  }
  if (Status writable = ctx_.replication->check_writable(); !writable.is_ok()) {
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE,
                 "groups are deleted on the master: " + writable.message());
  }
  const bool has_offsets = ext->clean_offset && ctx_.offsets->has_group(group);
  if (!ctx_.groups->find(group) && !has_offsets) {
    logger("broker")->warn("delete of unknown subscription group {} refused", group);
    return reply(
        conn, req, ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
        "subscription group " + group + " does not exist on broker " + ctx_.config.broker_name);
  }
  auto config_removed = ctx_.groups->remove(group);
  if (!config_removed.is_ok()) {
    return reply(conn, req, ResponseCode::SYSTEM_ERROR, config_removed.status().message());
  }
  size_t offsets_removed = 0;
  if (ext->clean_offset) {
    auto removed = ctx_.offsets->remove_group(group);
    if (!removed.is_ok()) {
      return reply(
          conn, req, ResponseCode::SYSTEM_ERROR,
          "config of " + group + " deleted, its offsets not: " + removed.status().message());
    }
    offsets_removed = *removed;
  }
  logger("broker")->info("subscription group {} deleted (config {}, {} offsets removed)", group,
                         *config_removed ? "removed" : "absent", offsets_removed);
  reply(conn, req, ResponseCode::SUCCESS);
}

void GroupAdminProcessor::consumer_connections(const ConnectionPtr& conn,
                                               const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::ConsumerConnectionRequestT>();
  if (ext == nullptr || ext->consumer_group.empty()) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "GET_CONSUMER_CONNECTION_LIST lacks a consumer group");
  }
  auto connection = ctx_.clients->consumer_connection(ext->consumer_group);
  if (!connection) {
    return reply(conn, req, ResponseCode::CONSUMER_NOT_ONLINE,
                 "consumer group " + ext->consumer_group + " has no member online on broker " +
                     ctx_.config.broker_name);
  }
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  resp.set_ext(std::move(*connection));
  conn->send(std::move(resp));
}

void GroupAdminProcessor::producer_connections(const ConnectionPtr& conn,
                                               const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::ProducerConnectionRequestT>();
  if (ext == nullptr || ext->producer_group.empty()) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "GET_PRODUCER_CONNECTION_LIST lacks a producer group");
  }
  auto list = ctx_.clients->producer_connection_list(ext->producer_group);
  if (list.empty()) {
    return reply(conn, req, ResponseCode::CONSUMER_NOT_ONLINE,
                 "producer group " + ext->producer_group + " has no member online on broker " +
                     ctx_.config.broker_name);
  }
  protocol::ProducerConnectionT out;
  for (auto& c : list)
    out.connections.push_back(std::make_unique<protocol::ClientConnectionT>(std::move(c)));
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  resp.set_ext(std::move(out));
  conn->send(std::move(resp));
}

int64_t GroupAdminProcessor::store_time_at(const std::string& topic, uint32_t queue_id,
                                           uint64_t offset) const {
  auto got = ctx_.store->get_messages(topic, queue_id, offset, 1, 1u << 20);
  if (got.status != commitlog::GetStatus::kFound || got.messages.empty()) return 0;
  return record::peek_store_timestamp(got.messages.front().data);
}

// A group unknown here (no config, no offsets, never pulled) is SUBSCRIPTION_GROUP_NOT_EXIST; a
// topic asked for that this broker does not have is TOPIC_NOT_EXIST.
void GroupAdminProcessor::consume_stats(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::ConsumeStatsRequestT>();
  if (ext == nullptr || ext->consumer_group.empty()) {
    return reply(conn, req, ResponseCode::BAD_REQUEST, "GET_CONSUME_STATS lacks a consumer group");
  }
  const std::string& group = ext->consumer_group;
  const double tps = ctx_.stats ? ctx_.stats->consume_tps(group) : 0;
  std::set<std::string> topics;
  if (!ext->topic.empty()) {
    topics.insert(ext->topic);
  } else {
    for (const auto& e : ctx_.offsets->all()) {
      if (e.group == group) topics.insert(e.topic);
    }
  }
  if (topics.empty() && !ctx_.groups->find(group) && tps == 0) {
    return reply(conn, req, ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                 "consumer group " + group + " is not known on broker " + ctx_.config.broker_name);
  }
  protocol::ConsumeStatsT stats;
  stats.consume_tps = tps;
  for (const auto& topic : topics) {
    auto committed = ctx_.offsets->offsets(group, topic);
    std::set<uint32_t> queues;
    for (const auto& [q, _] : committed)
      queues.insert(q);
    if (auto config = ctx_.topics->find(topic)) {
      for (uint32_t q = 0; q < config->read_queue_nums; ++q)
        queues.insert(q);
    } else if (!ext->topic.empty() && committed.empty()) {
      return reply(conn, req, ResponseCode::TOPIC_NOT_EXIST,
                   "topic " + topic + " does not exist on broker " + ctx_.config.broker_name);
    }
    for (uint32_t q : queues) {
      auto e = std::make_unique<protocol::QueueConsumeStatsT>();
      e->topic = topic;
      e->queue_id = static_cast<int32_t>(q);
      e->broker_offset = static_cast<int64_t>(ctx_.store->max_queue_offset(topic, q));
      auto c = committed.find(q);
      e->consumer_offset = c == committed.end() ? -1 : static_cast<int64_t>(c->second);
      if (c != committed.end() && c->second > 0) {
        e->last_timestamp = store_time_at(topic, q, c->second - 1);
      }
      stats.entries.push_back(std::move(e));
    }
  }
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  resp.set_ext(std::move(stats));
  conn->send(std::move(resp));
}

}  // namespace comet::broker
