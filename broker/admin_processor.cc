#include "broker/admin_processor.h"

#include "broker/group_access.h"
#include "broker/replication.h"
#include "broker/topic_creation.h"
#include "common/group_topics.h"

#include <chrono>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {
void AdminProcessor::process(const ConnectionPtr& conn, RemotingCommand req) {
  switch (static_cast<RequestCode>(req.code())) {
    case RequestCode::UPDATE_AND_CREATE_TOPIC:
      return update_topic(conn, req);
    case RequestCode::DELETE_TOPIC_IN_BROKER:
      return delete_topic(conn, req);
    case RequestCode::GET_ALL_TOPIC_CONFIG:
      return all_topics(conn, req);
    case RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP:
      return update_group(conn, req);
    case RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG:
      return all_groups(conn, req);
    case RequestCode::QUERY_CONSUMER_OFFSET:
      return query_offset(conn, req);
    case RequestCode::UPDATE_CONSUMER_OFFSET:
      return update_offset(conn, req);
    case RequestCode::GET_MAX_OFFSET:
      return queue_offset(conn, req, true);
    case RequestCode::GET_MIN_OFFSET:
      return queue_offset(conn, req, false);
    case RequestCode::HEART_BEAT:
      return heartbeat(conn, req);
    case RequestCode::UNREGISTER_CLIENT:
      return unregister_client(conn, req);
    case RequestCode::GET_CONSUMER_LIST_BY_GROUP:
      return consumer_list(conn, req);
    case RequestCode::GET_BROKER_RUNTIME_INFO:
      return runtime_info(conn, req);
    case RequestCode::GET_ALL_CONSUMER_OFFSET:
      return all_offsets(conn, req);
    default:
      return reply(conn, req, ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                   "request code " + std::to_string(req.code()) + " is not supported");
  }
}

void AdminProcessor::update_topic(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::UpdateTopicRequestT>();
  if (ext == nullptr || !ext->config) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "UPDATE_AND_CREATE_TOPIC lacks a topic config");
  }
  auto r = ctx_.topics->create_or_update(TopicConfig::from_protocol(*ext->config));
  if (!r.is_ok()) {
    auto code = record::valid_topic_name(ext->config->topic_name)
                    ? ResponseCode::BAD_REQUEST
                    : ResponseCode::ILLEGAL_TOPIC_NAME;
    return reply(conn, req, code, r.status().message());
  }
  logger("broker")->info("topic {} now has {} write / {} read queues, perm {}", r->name,
                         r->write_queue_nums, r->read_queue_nums, r->perm);
  answer_after_registration(conn, req);
}

void AdminProcessor::answer_after_registration(const ConnectionPtr& conn,
                                               const RemotingCommand& req) {
  if (!on_topics_changed_) return reply(conn, req, ResponseCode::SUCCESS);
  auto answer =
      std::make_shared<RemotingCommand>(RemotingCommand::response_to(req, ResponseCode::SUCCESS));
  const bool oneway = req.is_oneway();
  on_topics_changed_([conn, answer, oneway] {
    if (!oneway) conn->send(std::move(*answer));
  });
}

void AdminProcessor::delete_topic(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::DeleteTopicRequestT>();
  if (ext == nullptr)
    return reply(conn, req, ResponseCode::BAD_REQUEST, "DELETE_TOPIC lacks a topic");
  if (!ctx_.topics->find(ext->topic)) {
    return reply(conn, req, ResponseCode::TOPIC_NOT_EXIST,
                 "topic " + ext->topic + " does not exist");
  }
  Status s = ctx_.topics->remove(ext->topic);
  if (s.is_ok()) s = ctx_.offsets->remove_topic(ext->topic);
  if (!s.is_ok()) return reply(conn, req, ResponseCode::SYSTEM_ERROR, s.message());
  // The config is gone, so sends are refused from here on; the ConsumeQueues go once the
  // dispatcher has indexed what was appended before. Answer after both, and after the name
  // servers dropped the route.
  auto answer =
      std::make_shared<RemotingCommand>(RemotingCommand::response_to(req, ResponseCode::SUCCESS));
  const bool oneway = req.is_oneway();
  ctx_.store->delete_topic_async(
      ext->topic, [changed = on_topics_changed_, conn, answer, oneway](Status deleted) {
        if (!deleted.is_ok()) {
          if (!oneway) {
            conn->send(RemotingCommand::response_to(
                *answer, ResponseCode::SYSTEM_ERROR,
                "topic config removed, but not its ConsumeQueues: " + deleted.to_string()));
          }
          return;
        }
        auto send = [conn, answer, oneway] {
          if (!oneway) conn->send(std::move(*answer));
        };
        if (changed) {
          changed(std::move(send));
        } else {
          send();
        }
      });
}

void AdminProcessor::all_topics(const ConnectionPtr& conn, const RemotingCommand& req) {
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::TopicConfigListT list;
  for (const auto& t : ctx_.topics->all()) {
    list.configs.push_back(std::make_unique<protocol::TopicConfigT>(t.to_protocol()));
  }
  resp.set_ext(std::move(list));
  conn->send(std::move(resp));
}

// Only a master takes group configs: the metadata log carries them to its replicas, and a
// replica's own change would be overwritten by the master's next one.
void AdminProcessor::update_group(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::SubscriptionGroupConfigT>();
  if (ext == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP lacks a subscription group config");
  }
  if (Status writable = ctx_.replication->check_writable(); !writable.is_ok()) {
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE,
                 "group configs are changed on the master: " + writable.message());
  }
  auto r = ctx_.groups->create_or_update(SubscriptionGroupConfig::from_protocol(*ext));
  if (!r.is_ok()) {
    logger("broker")->warn("subscription group config refused: {}", r.status().message());
    const auto code = r.status().code() == Code::kInvalidArgument ? ResponseCode::BAD_REQUEST
                                                                  : ResponseCode::SYSTEM_ERROR;
    return reply(conn, req, code, r.status().message());
  }
  logger("broker")->info(
      "subscription group {}: retryMaxTimes {}, retryQueueNums {}, consumeEnable {}, "
      "consumeBroadcastEnable {}",
      r->group_name, r->retry_max_times, r->retry_queue_nums, r->consume_enable,
      r->consume_broadcast_enable);
  reply(conn, req, ResponseCode::SUCCESS);
}

void AdminProcessor::all_groups(const ConnectionPtr& conn, const RemotingCommand& req) {
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::SubscriptionGroupListT list;
  for (const auto& g : ctx_.groups->all()) {
    list.groups.push_back(std::make_unique<protocol::SubscriptionGroupConfigT>(g.to_protocol()));
  }
  resp.set_ext(std::move(list));
  conn->send(std::move(resp));
}

void AdminProcessor::query_offset(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::ConsumerOffsetRequestT>();
  if (ext == nullptr || ext->queue_id < 0) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "QUERY_CONSUMER_OFFSET lacks group/topic/queue");
  }
  auto off =
      ctx_.offsets->query(ext->consumer_group, ext->topic, static_cast<uint32_t>(ext->queue_id));
  if (!off && conn->protocol() == remoting::Protocol::kRocketmq &&
      ctx_.store->min_queue_offset(ext->topic, static_cast<uint32_t>(ext->queue_id)) == 0) {
    // Java's broker answers 0 for a group without an offset while the queue still starts at 0,
    // so a new RocketMQ group reads from the start whatever consumeFromWhere says (as on a
    // fresh Java broker); comet's own consumers apply their consume_from_where instead.
    off = 0;
  }
  if (!off) {
    return reply(conn, req, ResponseCode::QUERY_NOT_FOUND,
                 "no committed offset for group " + ext->consumer_group + " on " + ext->topic +
                     ":" + std::to_string(ext->queue_id));
  }
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::ConsumerOffsetResponseT r;
  r.offset = static_cast<int64_t>(*off);
  resp.set_ext(std::move(r));
  conn->send(std::move(resp));
}

void AdminProcessor::update_offset(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::ConsumerOffsetRequestT>();
  if (ext == nullptr || ext->queue_id < 0 || ext->commit_offset < 0) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "UPDATE_CONSUMER_OFFSET lacks group/topic/queue/offset");
  }
  if (auto refused = admit_group(ctx_, ext->consumer_group, /*create=*/false)) {
    logger("broker")->warn("offset commit refused: {}", refused->remark);
    return reply(conn, req, refused->code, std::move(refused->remark));
  }
  Status s =
      ctx_.offsets->commit(ext->consumer_group, ext->topic, static_cast<uint32_t>(ext->queue_id),
                           static_cast<uint64_t>(ext->commit_offset));
  reply(conn, req, s.is_ok() ? ResponseCode::SUCCESS : ResponseCode::SYSTEM_ERROR, s.message());
}

void AdminProcessor::queue_offset(const ConnectionPtr& conn, const RemotingCommand& req, bool max) {
  const auto* ext = req.ext<protocol::QueueOffsetRequestT>();
  if (ext == nullptr || ext->queue_id < 0) {
    return reply(conn, req, ResponseCode::BAD_REQUEST, "offset request lacks topic/queue");
  }
  auto topic = ctx_.topics->find(ext->topic);
  // As for pulls: a slave answers for what its log holds even before it has the topic's config
  // (its master may have died before the config reached it).
  if (!topic && !ctx_.replication->is_master()) {
    topic = TopicConfig{.name = ext->topic, .read_queue_nums = kMaxQueueNums};
  }
  if (!topic) {
    return reply(conn, req, ResponseCode::TOPIC_NOT_EXIST,
                 "topic " + ext->topic + " does not exist");
  }
  const auto q = static_cast<uint32_t>(ext->queue_id);
  if (q >= std::max(topic->read_queue_nums, topic->write_queue_nums)) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "queue " + std::to_string(q) + " out of range for topic " + ext->topic);
  }
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::QueueOffsetResponseT r;
  r.offset = static_cast<int64_t>(max ? ctx_.store->max_queue_offset(ext->topic, q)
                                      : ctx_.store->min_queue_offset(ext->topic, q));
  resp.set_ext(std::move(r));
  conn->send(std::move(resp));
}

void AdminProcessor::heartbeat(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::HeartbeatRequestT>();
  if (ext == nullptr || ext->client_id.empty()) {
    return reply(conn, req, ResponseCode::BAD_REQUEST, "HEART_BEAT lacks a client id");
  }
  // A group refused here is left out: its client does not join it, so no queue is given to it.
  protocol::HeartbeatRequestT admitted(*ext);
  std::optional<GroupRefusal> refused;
  std::erase_if(admitted.consumers, [&](const auto& c) {
    if (!c) return true;
    auto why = admit_group(ctx_, c->group_name, /*create=*/true);
    if (!why) return false;
    logger("broker")->warn("heartbeat of client {}: {}", ext->client_id, why->remark);
    refused = std::move(why);
    return true;
  });
  if (conn->protocol() == remoting::Protocol::kRocketmq && ctx_.replication->is_master()) {
    create_retry_topics(admitted);
  }
  if (ctx_.clients->heartbeat(admitted, now_ms(), conn)) {
    logger("broker")->info("client {} joined consumer group(s)", ext->client_id);
  }
  if (refused) return reply(conn, req, refused->code, std::move(refused->remark));
  reply(conn, req, ResponseCode::SUCCESS);
}

void AdminProcessor::create_retry_topics(const protocol::HeartbeatRequestT& hb) {
  // A RocketMQ clustering consumer subscribes %RETRY%<group> itself and asks the name servers
  // for its route right after its first heartbeat: create it now (Java's broker does the same),
  // and ensure_topic registers it with the name servers at once.
  for (const auto& c : hb.consumers) {
    if (!c || c->message_model == "BROADCASTING") continue;
    auto created = ensure_topic(ctx_, retry_topic(c->group_name), 1);
    if (!created.is_ok()) {
      logger("broker")->warn("retry topic of group {}: {}", c->group_name,
                             created.status().to_string());
    }
  }
}

void AdminProcessor::unregister_client(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::UnregisterClientRequestT>();
  if (ext == nullptr)
    return reply(conn, req, ResponseCode::BAD_REQUEST, "UNREGISTER_CLIENT lacks its header");
  ctx_.clients->unregister(ext->client_id, ext->consumer_group, ext->producer_group);
  reply(conn, req, ResponseCode::SUCCESS);
}

void AdminProcessor::consumer_list(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::ConsumerListRequestT>();
  if (ext == nullptr)
    return reply(conn, req, ResponseCode::BAD_REQUEST, "request lacks a consumer group");
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::ConsumerListResponseT r;
  r.client_ids = ctx_.clients->consumers(ext->consumer_group);
  resp.set_ext(std::move(r));
  conn->send(std::move(resp));
}

void AdminProcessor::all_offsets(const ConnectionPtr& conn, const RemotingCommand& req) {
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::ConsumerOffsetListT list;
  for (auto& e : ctx_.offsets->all()) {
    auto p = std::make_unique<protocol::ConsumerOffsetEntryT>();
    p->consumer_group = std::move(e.group);
    p->topic = std::move(e.topic);
    p->queue_id = static_cast<int32_t>(e.queue_id);
    p->offset = static_cast<int64_t>(e.offset);
    list.entries.push_back(std::move(p));
  }
  resp.set_ext(std::move(list));
  conn->send(std::move(resp));
}

void AdminProcessor::runtime_info(const ConnectionPtr& conn, const RemotingCommand& req) {
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::RuntimeInfoT info;
  auto add = [&](std::string k, std::string v) {
    auto kv = std::make_unique<protocol::KeyValueT>();
    kv->key = std::move(k);
    kv->value = std::move(v);
    info.entries.push_back(std::move(kv));
  };
  const auto& log = ctx_.store->commit_log();
  add("brokerName", ctx_.config.broker_name);
  add("brokerId", std::to_string(ctx_.replication->broker_id()));
  add("brokerRole", std::string(broker_role_name(ctx_.replication->role())));
  add("epoch", std::to_string(ctx_.replication->epoch()));
  add("brokerAddr", ctx_.config.broker_addr());
  add("flushDiskType", ctx_.config.store.flush_disk_type == commitlog::FlushDiskType::kSyncFlush
                           ? "SYNC_FLUSH"
                           : "ASYNC_FLUSH");
  add("commitLogMinOffset", std::to_string(log.min_offset()));
  add("commitLogMaxOffset", std::to_string(log.max_offset()));
  add("commitLogFlushedOffset", std::to_string(log.flushed().get()));
  add("dispatchedOffset", std::to_string(ctx_.store->dispatched().get()));
  // What consumers may read: a SYNC_MASTER's slave-acked or a Raft group's committed offset.
  add("readBound", std::to_string(ctx_.replication->read_bound()));
  add("commitLogSegments", std::to_string(log.segment_count()));
  add("syncCount", std::to_string(log.sync_count()));
  add("topicCount", std::to_string(ctx_.topics->all().size()));
  add("heldPullRequests", std::to_string(ctx_.holds->held()));
  add("consumerGroups", std::to_string(ctx_.clients->consumer_groups().size()));
  // RocketMQ's keys: messages stored and pulled per second over the last minute.
  if (ctx_.stats) {
    add("putTps", fmt::format("{:.2f}", ctx_.stats->put_tps()));
    add("getTransferedTps", fmt::format("{:.2f}", ctx_.stats->get_transfered_tps()));
    // What retention destroyed that consumer groups had not consumed (retention_accounting.h).
    const auto deleted = ctx_.stats->deletions();
    add("forcedDeleteSegments", std::to_string(deleted.forced_segments));
    add("forcedDeleteUnconsumedMessages", std::to_string(deleted.forced_unconsumed_messages));
    add("expiredDeleteSegments", std::to_string(deleted.expired_segments));
    add("expiredDeleteUnconsumedMessages", std::to_string(deleted.expired_unconsumed_messages));
  }
  // Disk full refuses sends (commitlog/store_health.h).
  const auto health = ctx_.store->health().snapshot();
  add("diskFull", health.disk_full ? "true" : "false");
  add("diskUsedRatio", fmt::format("{:.4f}", health.disk_used_ratio));
  add("diskFreeBytes", std::to_string(health.disk_free_bytes));
  if (health.disk_full) add("diskFullRemark", health.remark);
  // An I/O error makes the store read-only until restart (IoErrorState).
  add("storeReadOnly", health.io_error ? "true" : "false");
  if (health.io_error) {
    add("storeIoError", health.io_error_remark);
    add("storeIoErrorSinceMs", std::to_string(health.io_error_since_ms));
    add("storeIoErrors", std::to_string(health.io_errors));
  }
  resp.set_ext(std::move(info));
  conn->send(std::move(resp));
}

}  // namespace comet::broker
