#include "broker/query_message_processor.h"

#include <algorithm>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "broker/replication.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {
namespace {

// At most this many messages a query (RocketMQ's maxMsgsNumBatch), and about this many bytes
// (the pull's cap): one request must not make the broker send a large part of its log.
constexpr int32_t kMaxQueryMessages = 64;
constexpr uint64_t kMaxQueryBytes = uint64_t{8} << 20;

std::shared_ptr<spdlog::logger> query_log() {
  static auto l = logger("broker");
  return l;
}

std::string time_range(int64_t begin_ms, int64_t end_ms) {
  return fmt::format(
      "[{}, {}]", begin_ms,
      end_ms == std::numeric_limits<int64_t>::max() ? "max" : std::to_string(end_ms));
}

// The record's UNIQ_KEY is `key` (the index also holds KEYS, and hashes collide).
bool has_unique_key(const commitlog::ReadView& v, std::string_view key) {
  const auto d = record::decode(v.data, v.size, /*verify_crc=*/false);
  return d.outcome == record::Outcome::kRecord &&
         find_property(d.record.properties, kPropertyUniqKey) == key;
}

// Zero copy: the body points into the mapped CommitLog, kept mapped until it is sent.
void set_body(RemotingCommand& resp, std::vector<commitlog::ReadView> views) {
  auto kept = std::make_shared<std::vector<commitlog::ReadView>>(std::move(views));
  for (const auto& v : *kept)
    resp.body.views.emplace_back(v.data, v.size);
  resp.body.keepalive = kept;
}

}  // namespace

void QueryMessageProcessor::process(const ConnectionPtr& conn, RemotingCommand req) {
  if (req.code() == static_cast<int32_t>(RequestCode::VIEW_MESSAGE_BY_ID))
    return view_message(conn, req);
  query_message(conn, req);
}

bool QueryMessageProcessor::topic_known(const std::string& topic) const {
  if (ctx_.topics->find(topic)) return true;
  if (ctx_.replication->is_master()) return false;
  const auto queues = ctx_.store->queues();
  return std::any_of(queues.begin(), queues.end(),
                     [&](const commitlog::TopicQueueKey& q) { return q.topic == topic; });
}

void QueryMessageProcessor::query_message(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::QueryMessageRequestT>();
  if (ext == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST, "QUERY_MESSAGE lacks its header");
  }
  const std::string& broker = ctx_.config.broker_name;
  if (ext->key.empty()) {
    return reply(conn, req, ResponseCode::BAD_REQUEST, "the key to query is empty");
  }
  if (ext->key.size() > record::kMaxKeyLength) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 fmt::format("key of {} bytes is longer than the {} a message key may have",
                             ext->key.size(), record::kMaxKeyLength));
  }
  if (ext->max_num <= 0) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 fmt::format("maxNum {} must be > 0", ext->max_num));
  }
  if (!topic_known(ext->topic)) {
    return reply(conn, req, ResponseCode::TOPIC_NOT_EXIST,
                 "topic " + ext->topic + " does not exist on broker " + broker);
  }
  // RocketMQ's tools send end = Long.MAX_VALUE for "no end"; 0 means the same here.
  const int64_t end_ms =
      ext->end_timestamp > 0 ? ext->end_timestamp : std::numeric_limits<int64_t>::max();
  const auto max_num = static_cast<uint32_t>(std::min(ext->max_num, kMaxQueryMessages));
  auto found =
      ctx_.store->query_messages(ext->topic, ext->key, max_num, ext->begin_timestamp, end_ms);
  if (!found.is_ok()) {
    const Status& s = found.status();
    query_log()->warn("QUERY_MESSAGE {} key {}: {}", ext->topic, ext->key, s.to_string());
    // kUnsupported (messageIndexEnable=false): this broker keeps no index, another replica may.
    ResponseCode code = ResponseCode::SYSTEM_ERROR;
    if (s.code() == Code::kInvalidArgument) code = ResponseCode::BAD_REQUEST;
    if (s.code() == Code::kUnsupported) code = ResponseCode::SERVICE_NOT_AVAILABLE;
    return reply(conn, req, code, "broker " + broker + ": " + s.message());
  }
  std::vector<commitlog::ReadView> views;
  uint64_t bytes = 0;
  for (auto& v : found->messages) {
    if (ext->unique_key && !has_unique_key(v, ext->key)) continue;
    if (!views.empty() && bytes + v.size > kMaxQueryBytes) break;
    bytes += v.size;
    views.push_back(std::move(v));
  }
  const std::string what =
      fmt::format("{} {} of topic {} stored in {}", ext->unique_key ? "unique key" : "key",
                  ext->key, ext->topic, time_range(ext->begin_timestamp, end_ms));
  if (views.empty()) {
    return reply(conn, req, ResponseCode::QUERY_NOT_FOUND,
                 "no message with " + what + " on broker " + broker);
  }
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::QueryMessageResponseT rext;
  rext.index_last_update_timestamp = found->index_last_update_ms;
  rext.index_last_update_phyoffset = static_cast<int64_t>(found->index_last_update_phy);
  resp.set_ext(std::move(rext));
  set_body(resp, std::move(views));
  conn->send(std::move(resp));
}

void QueryMessageProcessor::view_message(const ConnectionPtr& conn, const RemotingCommand& req) {
  const auto* ext = req.ext<protocol::ViewMessageRequestT>();
  if (ext == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST, "VIEW_MESSAGE_BY_ID lacks its header");
  }
  const std::string& broker = ctx_.config.broker_name;
  if (ext->offset < 0) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 fmt::format("CommitLog offset {} is negative", ext->offset));
  }
  const auto offset = static_cast<uint64_t>(ext->offset);
  const uint64_t bound = ctx_.replication->read_bound();
  if (offset >= bound) {
    return reply(conn, req, ResponseCode::QUERY_NOT_FOUND,
                 fmt::format("no message at CommitLog offset {} on broker {}: its readable log "
                             "ends at {}",
                             offset, broker, bound));
  }
  auto read = ctx_.store->read_message_at(offset);
  if (!read.is_ok()) {
    const Status& s = read.status();
    ResponseCode code = ResponseCode::SYSTEM_ERROR;
    if (s.code() == Code::kNotFound) code = ResponseCode::QUERY_NOT_FOUND;
    if (s.code() == Code::kInvalidArgument) code = ResponseCode::BAD_REQUEST;
    if (code == ResponseCode::SYSTEM_ERROR) {
      query_log()->warn("VIEW_MESSAGE_BY_ID offset {}: {}", offset, s.to_string());
    }
    return reply(conn, req, code,
                 fmt::format("CommitLog offset {} on broker {}: {}", offset, broker, s.message()));
  }
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  std::vector<commitlog::ReadView> views;
  views.push_back(std::move(read).value());
  set_body(resp, std::move(views));
  conn->send(std::move(resp));
}

}  // namespace comet::broker
