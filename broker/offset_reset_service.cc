#include "broker/offset_reset_service.h"

#include <algorithm>
#include <memory>

#include "broker/replication.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {

void ResetRound::start() {
  if (left_.load() == 0) done();
}

void ResetRound::answered(bool success) {
  if (success) acked_.fetch_add(1);
  if (left_.fetch_sub(1) == 1) done();
}

void ResetRound::done() {
  if (finished_.exchange(true)) return;
  finish_(acked_.load());
}

std::map<uint32_t, uint64_t> reset_offsets_by_time(uint32_t queue_count, int64_t timestamp,
                                                   bool force,
                                                   const std::function<uint64_t(uint32_t)>& by_time,
                                                   const std::function<uint64_t(uint32_t)>& max,
                                                   const std::map<uint32_t, uint64_t>& committed) {
  std::map<uint32_t, uint64_t> out;
  for (uint32_t q = 0; q < queue_count; ++q) {
    uint64_t offset = timestamp < 0 ? max(q) : by_time(q);
    if (!force) {
      if (auto it = committed.find(q); it != committed.end()) offset = std::min(offset, it->second);
    }
    out[q] = offset;
  }
  return out;
}

void OffsetResetService::process(const ConnectionPtr& conn, RemotingCommand req) {
  switch (static_cast<RequestCode>(req.code())) {
    case RequestCode::SEARCH_OFFSET_BY_TIMESTAMP:
      return search_offset(conn, req);
    case RequestCode::GET_EARLIEST_MSG_STORETIME:
      return earliest_store_time(conn, req);
    case RequestCode::INVOKE_BROKER_TO_RESET_OFFSET:
      return reset_offset(conn, req);
    default:
      return reply(conn, req, ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                   "request code " + std::to_string(req.code()) + " is not supported");
  }
}

std::optional<uint32_t> OffsetResetService::readable_queue(const ConnectionPtr& conn,
                                                           const RemotingCommand& req,
                                                           const std::string& topic,
                                                           int32_t queue_id) {
  auto config = ctx_.topics->find(topic);
  // As for pulls: a slave answers for what its log holds even before it has the topic's config.
  if (!config && !ctx_.replication->is_master()) {
    config = TopicConfig{.name = topic, .read_queue_nums = kMaxQueueNums};
  }
  if (!config) {
    reply(conn, req, ResponseCode::TOPIC_NOT_EXIST, "topic " + topic + " does not exist");
    return std::nullopt;
  }
  const uint32_t queues = std::max(config->read_queue_nums, config->write_queue_nums);
  if (queue_id < 0 || static_cast<uint32_t>(queue_id) >= queues) {
    reply(conn, req, ResponseCode::BAD_REQUEST,
          "queue " + std::to_string(queue_id) + " out of range for topic " + topic + " (" +
              std::to_string(queues) + " queues)");
    return std::nullopt;
  }
  return static_cast<uint32_t>(queue_id);
}

void OffsetResetService::search_offset(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::SearchOffsetRequestT>();
  if (ext == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "SEARCH_OFFSET_BY_TIMESTAMP lacks topic/queue/timestamp");
  }
  auto q = readable_queue(conn, req, ext->topic, ext->queue_id);
  if (!q) return;
  protocol::QueueOffsetResponseT r;
  r.offset =
      static_cast<int64_t>(ctx_.store->search_offset_by_time(ext->topic, *q, ext->timestamp));
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  resp.set_ext(std::move(r));
  conn->send(std::move(resp));
}

void OffsetResetService::earliest_store_time(const ConnectionPtr& conn,
                                             const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::QueueOffsetRequestT>();
  if (ext == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "GET_EARLIEST_MSG_STORETIME lacks topic/queue");
  }
  auto q = readable_queue(conn, req, ext->topic, ext->queue_id);
  if (!q) return;
  auto time = ctx_.store->earliest_store_time(ext->topic, *q);
  if (!time) {
    return reply(conn, req, ResponseCode::QUERY_NOT_FOUND,
                 "queue " + ext->topic + ":" + std::to_string(*q) + " holds no message");
  }
  protocol::StoreTimeResponseT r;
  r.timestamp = *time;
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  resp.set_ext(std::move(r));
  conn->send(std::move(resp));
}

// Known: a config, offsets of any topic, or an online member.
bool OffsetResetService::group_known(const std::string& group) const {
  if (ctx_.groups->find(group)) return true;
  if (!ctx_.clients->consumers(group).empty()) return true;
  return ctx_.offsets->has_group(group);
}

void OffsetResetService::reset_offset(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::ResetOffsetRequestT>();
  if (ext == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "INVOKE_BROKER_TO_RESET_OFFSET lacks group/topic/timestamp");
  }
  if (!ctx_.replication->is_master()) {
    const std::string master = ctx_.replication->master_address();
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE,
                 "offsets are reset on the master" +
                     (master.empty() ? std::string(" (not known here now)") : " at " + master));
  }
  if (!record::valid_group_name(ext->consumer_group)) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "illegal consumer group '" + ext->consumer_group + "'");
  }
  const auto topic = ctx_.topics->find(ext->topic);
  if (!topic) {
    return reply(conn, req, ResponseCode::TOPIC_NOT_EXIST,
                 "topic " + ext->topic + " does not exist");
  }
  if (!group_known(ext->consumer_group)) {
    return reply(conn, req, ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                 "consumer group " + ext->consumer_group +
                     " does not exist here (no config, no offsets, no online consumer)");
  }
  const std::string group = ext->consumer_group;
  const std::string topic_name = ext->topic;
  auto offsets = std::make_shared<const std::map<uint32_t, uint64_t>>(reset_offsets_by_time(
      std::max(topic->read_queue_nums, topic->write_queue_nums), ext->timestamp, ext->force,
      [&](uint32_t q) { return ctx_.store->search_offset_by_time(topic_name, q, ext->timestamp); },
      [&](uint32_t q) { return ctx_.store->max_queue_offset(topic_name, q); },
      ctx_.offsets->offsets(group, topic_name)));

  // The members that subscribe to the topic.
  std::vector<ConnectionPtr> members;
  if (auto data = ctx_.clients->subscription(group)) {
    const bool subscribed = std::any_of(data->subscriptions.begin(), data->subscriptions.end(),
                                        [&](const auto& s) { return s && s->topic == topic_name; });
    if (subscribed) members = ctx_.clients->consumer_connections(group);
  }
  const size_t notified = members.size();
  const int64_t timestamp = ext->timestamp;
  auto answer =
      std::make_shared<RemotingCommand>(RemotingCommand::response_to(req, ResponseCode::SUCCESS));
  auto round = std::make_shared<ResetRound>(notified, [this, conn, answer, offsets, group,
                                                       topic_name, notified,
                                                       timestamp](size_t acked) {
    // Only now: whatever the members sent before their answers has been applied (see the header).
    protocol::ResetOffsetResultT result;
    Status failed;
    for (const auto& [q, offset] : *offsets) {
      if (Status s = ctx_.offsets->reset(group, topic_name, q, offset); !s.is_ok()) failed = s;
      auto e = std::make_unique<protocol::ConsumerOffsetEntryT>();
      e->consumer_group = group;
      e->topic = topic_name;
      e->queue_id = static_cast<int32_t>(q);
      e->offset = static_cast<int64_t>(offset);
      result.offsets.push_back(std::move(e));
    }
    result.clients_notified = static_cast<int32_t>(notified);
    result.clients_acked = static_cast<int32_t>(acked);
    logger("broker")->info(
        "consumer group {} reset on topic {} to time {}: {} queues, {} of {} online consumers "
        "took it{}",
        group, topic_name, timestamp, offsets->size(), acked, notified,
        failed.is_ok() ? "" : "; storing failed: " + failed.to_string());
    if (!failed.is_ok()) {
      conn->send(RemotingCommand::response_to(*answer, ResponseCode::SYSTEM_ERROR,
                                              "storing the reset offsets: " + failed.message()));
      return;
    }
    answer->set_ext(std::move(result));
    conn->send(std::move(*answer));
  });

  auto notice = RemotingCommand::request(RequestCode::RESET_CONSUMER_CLIENT_OFFSET);
  protocol::ResetOffsetRequestT to_client;
  to_client.consumer_group = group;
  to_client.topic = topic_name;
  to_client.timestamp = timestamp;
  to_client.force = ext->force;
  for (const auto& [q, offset] : *offsets) {
    auto e = std::make_unique<protocol::ConsumerOffsetEntryT>();
    e->consumer_group = group;
    e->topic = topic_name;
    e->queue_id = static_cast<int32_t>(q);
    e->offset = static_cast<int64_t>(offset);
    to_client.offsets.push_back(std::move(e));
  }
  notice.set_ext(std::move(to_client));
  for (const auto& member : members) {
    member->invoke(notice, kClientTimeout, [round, addr = member->remote_address()](auto r) {
      const bool ok = r.is_ok() && r->response_code() == ResponseCode::SUCCESS;
      if (!ok) {
        logger("broker")->warn("consumer at {} did not take the offset reset: {}", addr,
                               r.is_ok() ? r->remark() : r.status().to_string());
      }
      round->answered(ok);
    });
  }
  round->start();
}

}  // namespace comet::broker
