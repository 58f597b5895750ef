#include "broker/pull_message_processor.h"

#include <algorithm>
#include <atomic>

#include "broker/client_manager.h"
#include "broker/group_access.h"
#include "broker/replication.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {

using commitlog::GetStatus;

namespace {
constexpr int32_t kMaxPullMessages = 1024;
constexpr uint64_t kMaxPullBytes = uint64_t{8} << 20;

// A refused group's consumers keep asking (backing off): one line a second says why.
void log_refusal(const GroupRefusal& refused) {
  static std::atomic<int64_t> last_ms{0};
  const int64_t now = now_ms();
  int64_t last = last_ms.load();
  if (now - last < 1000 || !last_ms.compare_exchange_strong(last, now)) return;
  logger("broker")->warn("pull refused: {}", refused.remark);
}

}  // namespace

std::vector<uint64_t> parse_tag_filter(std::string_view expression) {
  std::vector<uint64_t> out;
  for (std::string_view tag : split_tag_expression(expression))
    out.push_back(tag_hash(tag));
  return out;
}

void PullMessageProcessor::process(const ConnectionPtr& conn, RemotingCommand req) {
  const auto* ext = req.ext<protocol::PullMessageRequestT>();
  if (ext == nullptr)
    return reply(conn, req, ResponseCode::BAD_REQUEST, "PULL_MESSAGE lacks its header");
  auto config = ctx_.topics->find(ext->topic);
  // A slave serves what its log holds even before it synced the topic's config from the master.
  if (!config && !ctx_.replication->is_master()) {
    config = TopicConfig{.name = ext->topic, .read_queue_nums = kMaxQueueNums};
  }
  if (!config) {
    return reply(conn, req, ResponseCode::TOPIC_NOT_EXIST,
                 "topic " + ext->topic + " does not exist on broker " + ctx_.config.broker_name);
  }
  if (ext->queue_id < 0 || static_cast<uint32_t>(ext->queue_id) >= config->read_queue_nums) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "queue " + std::to_string(ext->queue_id) + " out of range: topic " + ext->topic +
                     " has " + std::to_string(config->read_queue_nums) + " read queues");
  }
  if (ext->queue_offset < 0 || ext->max_msg_nums <= 0) {
    return reply(conn, req, ResponseCode::BAD_REQUEST,
                 "queueOffset must be >= 0 and maxMsgNums > 0");
  }
  if (!ext->consumer_group.empty()) {
    if (auto refused = admit_pull(ctx_, ext->consumer_group)) {
      log_refusal(*refused);
      return reply(conn, req, refused->code, std::move(refused->remark));
    }
  }
  if (ext->use_group_subscription) {
    // RocketMQ's push consumers pull without a subscription (no PullSysFlag 0x4): the one their
    // group's heartbeat registered for the topic filters.
    auto expression = group_subscription(ext->consumer_group, ext->topic);
    if (!expression) {
      return reply(conn, req, ResponseCode::SUBSCRIPTION_NOT_EXIST,
                   "the consumer's subscription not exist, group " + ext->consumer_group +
                       " topic " + ext->topic);
    }
    auto* mutable_ext = req.header.ext.AsPullMessageRequest();
    mutable_ext->subscription = std::move(*expression);
    mutable_ext->use_group_subscription = false;
  }
  if (ext->commit_offset >= 0 && !ext->consumer_group.empty()) {
    Status s =
        ctx_.offsets->commit(ext->consumer_group, ext->topic, static_cast<uint32_t>(ext->queue_id),
                             static_cast<uint64_t>(ext->commit_offset));
    if (!s.is_ok()) logger("broker")->warn("offset commit with pull: {}", s.to_string());
  }
  pull(conn, std::make_shared<RemotingCommand>(std::move(req)), ctx_.config.long_polling_enable);
}

std::optional<std::string> PullMessageProcessor::group_subscription(
    const std::string& group, const std::string& topic) const {
  if (ctx_.clients == nullptr) return std::nullopt;
  return ctx_.clients->subscription_expression(group, topic);
}

void PullMessageProcessor::pull(const ConnectionPtr& conn,
                                const std::shared_ptr<RemotingCommand>& req, bool allow_suspend) {
  const auto* ext = req->ext<protocol::PullMessageRequestT>();
  const auto queue_id = static_cast<uint32_t>(ext->queue_id);
  const auto offset = static_cast<uint64_t>(ext->queue_offset);
  // A pull answers at most kMaxPullMessages messages and kMaxPullBytes bytes (at least one
  // message), whatever the request asks: one request must not make the broker walk or send a
  // whole queue (RocketMQ caps a pull batch at 1024 as well).
  const uint64_t max_bytes = ext->max_bytes > 0
                                 ? std::min(static_cast<uint64_t>(ext->max_bytes), kMaxPullBytes)
                                 : kMaxPullBytes;
  const auto max_msgs = static_cast<uint32_t>(std::min(ext->max_msg_nums, kMaxPullMessages));
  const std::vector<uint64_t> tags = parse_tag_filter(ext->subscription);
  auto got = ctx_.store->get_messages(ext->topic, queue_id, offset, max_msgs, max_bytes, tags);

  const bool nothing_new = got.status == GetStatus::kOffsetOverflowOne ||
                           got.status == GetStatus::kNoMessageInQueue ||
                           got.status == GetStatus::kNoMatchedLogicQueue;
  if (nothing_new && allow_suspend && ext->suspend_timeout_millis > 0 &&
      !ctx_.shutting_down.load()) {
    auto timeout = std::chrono::milliseconds(
        std::min<int64_t>(ext->suspend_timeout_millis, ctx_.config.suspend_max_time_millis));
    ctx_.holds->hold(ext->topic, queue_id, offset, timeout,
                     [this, conn, req] { pull(conn, req, /*allow_suspend=*/false); });
    return;
  }

  ResponseCode code;
  switch (got.status) {
    case GetStatus::kFound:
      code = ResponseCode::SUCCESS;
      break;
    case GetStatus::kNoMatchedMessage:
      code = ResponseCode::PULL_RETRY_IMMEDIATELY;
      break;
    case GetStatus::kOffsetTooSmall:
    case GetStatus::kOffsetOverflowBadly:
      code = ResponseCode::PULL_OFFSET_MOVED;
      break;
    default:
      code = ResponseCode::PULL_NOT_FOUND;
      break;
  }
  auto resp = RemotingCommand::response_to(*req, code);
  protocol::PullMessageResponseT rext;
  rext.next_begin_offset = static_cast<int64_t>(got.next_begin_offset);
  rext.min_offset = static_cast<int64_t>(got.min_offset);
  rext.max_offset = static_cast<int64_t>(got.max_offset);
  rext.suggest_which_broker_id = 0;
  resp.set_ext(std::move(rext));
  if (code == ResponseCode::SUCCESS) {
    // Zero copy: the response points into the mapped CommitLog, kept mapped until it is sent.
    auto views = std::make_shared<std::vector<commitlog::ReadView>>(std::move(got.messages));
    if (ctx_.stats) ctx_.stats->on_pulled(ext->consumer_group, views->size());
    for (const auto& v : *views)
      resp.body.views.emplace_back(v.data, v.size);
    resp.body.keepalive = views;
  }
  conn->send(std::move(resp));
}

}  // namespace comet::broker
