#include "consumer/consumer_api.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <set>

#include <fmt/format.h>

#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::client {

using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;

const std::shared_ptr<spdlog::logger>& consumer_log() {
  static const auto l = logger("consumer");
  return l;
}

namespace {

RemotingCommand offset_request(RequestCode code, const std::string& group, const MessageQueue& mq,
                               int64_t commit_offset) {
  auto request = RemotingCommand::request(code);
  protocol::ConsumerOffsetRequestT ext;
  ext.consumer_group = group;
  ext.topic = mq.topic;
  ext.queue_id = static_cast<int32_t>(mq.queue_id);
  ext.commit_offset = commit_offset;
  request.set_ext(std::move(ext));
  return request;
}

RemotingCommand lock_batch_request(RequestCode code, const std::string& group,
                                   const std::string& client_id,
                                   const std::vector<MessageQueue>& queues) {
  auto request = RemotingCommand::request(code);
  protocol::LockBatchRequestT ext;
  ext.consumer_group = group;
  ext.client_id = client_id;
  for (const auto& mq : queues) {
    auto q = std::make_unique<protocol::MessageQueueT>();
    q->topic = mq.topic;
    q->broker_name = mq.broker_name;
    q->queue_id = static_cast<int32_t>(mq.queue_id);
    ext.queues.push_back(std::move(q));
  }
  request.set_ext(std::move(ext));
  return request;
}

}  // namespace

std::string_view pull_status_name(PullStatus status) {
  switch (status) {
    case PullStatus::kFound:
      return "FOUND";
    case PullStatus::kNoNewMsg:
      return "NO_NEW_MSG";
    case PullStatus::kNoMatchedMsg:
      return "NO_MATCHED_MSG";
    case PullStatus::kOffsetIllegal:
      return "OFFSET_ILLEGAL";
  }
  return "UNKNOWN";
}

std::optional<ReadTarget> select_read_target(const BrokerData& broker, std::string_view avoid) {
  for (const auto& [id, addr] : broker.addrs) {  // ascending ids: the master first
    if (id >= kMasterId && !addr.empty() && addr != avoid) return ReadTarget{id, addr};
  }
  return std::nullopt;
}

std::vector<std::string> parse_subscription_tags(std::string_view expression) {
  std::vector<std::string> out;
  for (std::string_view tag : split_tag_expression(expression))
    out.emplace_back(tag);
  return out;
}

bool tags_match(const std::vector<std::string>& tags, std::string_view message_tags) {
  return tags.empty() || std::find(tags.begin(), tags.end(), message_tags) != tags.end();
}

RemotingCommand make_pull_request(const std::string& group, const MessageQueue& mq,
                                  std::string_view expression, uint64_t offset, int max_nums,
                                  std::chrono::milliseconds suspend,
                                  std::optional<uint64_t> commit_offset) {
  auto request = RemotingCommand::request(RequestCode::PULL_MESSAGE);
  protocol::PullMessageRequestT ext;
  ext.consumer_group = group;
  ext.topic = mq.topic;
  ext.queue_id = static_cast<int32_t>(mq.queue_id);
  ext.queue_offset = static_cast<int64_t>(offset);
  ext.max_msg_nums = max_nums;
  ext.suspend_timeout_millis = suspend.count();
  ext.commit_offset = commit_offset ? static_cast<int64_t>(*commit_offset) : -1;
  ext.subscription = expression.empty() ? std::string("*") : std::string(expression);
  request.set_ext(std::move(ext));
  return request;
}

Result<PullResult> to_pull_result(Result<RemotingCommand> response, const MessageQueue& mq,
                                  const std::vector<std::string>& tags) {
  const std::string context = "pull of " + mq.to_string();
  if (!response.is_ok()) {
    return Status(response.status().code(), context + ": " + response.status().message());
  }
  PullResult result;
  switch (response->response_code()) {
    case ResponseCode::SUCCESS:
      result.status = PullStatus::kFound;
      break;
    case ResponseCode::PULL_NOT_FOUND:
      result.status = PullStatus::kNoNewMsg;
      break;
    case ResponseCode::PULL_RETRY_IMMEDIATELY:
      result.status = PullStatus::kNoMatchedMsg;
      break;
    case ResponseCode::PULL_OFFSET_MOVED:
      result.status = PullStatus::kOffsetIllegal;
      break;
    default:
      return response_status(*response, context);
  }
  const auto* ext = response->ext<protocol::PullMessageResponseT>();
  if (ext == nullptr || ext->next_begin_offset < 0 || ext->min_offset < 0 || ext->max_offset < 0) {
    return Status::corruption(context + ": " + describe_response(*response) +
                              " without a valid PullMessageResponse");
  }
  result.next_begin_offset = static_cast<uint64_t>(ext->next_begin_offset);
  result.min_offset = static_cast<uint64_t>(ext->min_offset);
  result.max_offset = static_cast<uint64_t>(ext->max_offset);
  if (result.status != PullStatus::kFound) return result;

  const std::string body = response->body.to_string();
  auto decoded = decode_messages(body, mq.broker_name);
  if (!decoded.is_ok()) {
    return Status::corruption(context + ": " + decoded.status().message());
  }
  result.msgs = std::move(decoded).value();
  std::erase_if(result.msgs, [&](const MessageExt& m) {
    return m.topic != mq.topic || m.queue_id != mq.queue_id || !tags_match(tags, m.tags);
  });
  return result;
}

ConsumerApi::ConsumerApi(std::shared_ptr<MQClient> client, std::string group)
    : client_(std::move(client)), group_(std::move(group)) {}

Result<ReadTarget> ConsumerApi::read_target(const MessageQueue& mq, std::string_view avoid) {
  std::shared_ptr<const TopicRoute> route = client_->cached_route(mq.topic);
  if (!route) {
    COMET_ASSIGN_OR_RETURN(route, client_->find_route(mq.topic));
  }
  if (const BrokerData* broker = route->find_broker(mq.broker_name)) {
    if (auto target = select_read_target(*broker, avoid)) return *std::move(target);
  }
  return Status::unavailable("no " + std::string(avoid.empty() ? "" : "other ") +
                             "address of broker " + mq.broker_name + " in the route of " +
                             mq.topic);
}

Result<RemotingCommand> ConsumerApi::invoke_read(const MessageQueue& mq, RemotingCommand request,
                                                 std::chrono::milliseconds timeout,
                                                 std::string_view what) {
  COMET_ASSIGN_OR_RETURN(ReadTarget target, read_target(mq));
  RemotingCommand again = request;
  auto response = client_->remoting().invoke(target.addr, std::move(request), timeout);
  if (response.is_ok()) return response;
  client_->request_route_refresh(mq.topic);
  Status first(response.status().code(), fmt::format("{} of {} at {}: {}", what, mq.to_string(),
                                                     target.addr, response.status().message()));
  // No answer (the master was just killed and the route still names it, say): every replica
  // of the broker holds the queue, so the read goes to the next one rather than failing.
  auto other = read_target(mq, target.addr);
  if (!other.is_ok()) return first;
  auto second = client_->remoting().invoke(other->addr, std::move(again), timeout);
  if (second.is_ok()) return second;
  return Status(first.code(), first.message() + fmt::format("; then at {}: {}", other->addr,
                                                            second.status().message()));
}

Result<RemotingCommand> ConsumerApi::call(const MessageQueue& mq, RemotingCommand request,
                                          std::string_view what) {
  return invoke_read(mq, std::move(request), client_->config().request_timeout, what);
}

Result<PullResult> ConsumerApi::pull(const MessageQueue& mq, std::string_view expression,
                                     uint64_t offset, int max_nums,
                                     std::chrono::milliseconds suspend,
                                     std::chrono::milliseconds timeout,
                                     std::optional<uint64_t> commit_offset) {
  if (max_nums <= 0) return Status::invalid_argument("max_nums must be > 0");
  auto request =
      make_pull_request(group_, mq, expression, offset, max_nums, suspend, commit_offset);
  auto result = to_pull_result(invoke_read(mq, std::move(request), timeout, "pull"), mq,
                               parse_subscription_tags(expression));
  if (!result.is_ok()) client_->request_route_refresh(mq.topic);
  return result;
}

Result<std::optional<uint64_t>> ConsumerApi::query_consumer_offset(const MessageQueue& mq) {
  COMET_ASSIGN_OR_RETURN(
      RemotingCommand response,
      call(mq, offset_request(RequestCode::QUERY_CONSUMER_OFFSET, group_, mq, -1),
           "consumer offset query"));
  if (response.response_code() == ResponseCode::QUERY_NOT_FOUND) {
    return std::optional<uint64_t>();
  }
  const std::string context = "consumer offset of " + group_ + " on " + mq.to_string();
  if (response.response_code() != ResponseCode::SUCCESS) return response_status(response, context);
  const auto* ext = response.ext<protocol::ConsumerOffsetResponseT>();
  if (ext == nullptr || ext->offset < 0) {
    return Status::corruption(context + ": SUCCESS without a valid ConsumerOffsetResponse");
  }
  return std::optional<uint64_t>(static_cast<uint64_t>(ext->offset));
}

Status ConsumerApi::update_consumer_offset(const MessageQueue& mq, uint64_t offset) {
  COMET_ASSIGN_OR_RETURN(RemotingCommand response,
                         call(mq,
                              offset_request(RequestCode::UPDATE_CONSUMER_OFFSET, group_, mq,
                                             static_cast<int64_t>(offset)),
                              "consumer offset update"));
  return response_status(response, "offset commit of " + group_ + " on " + mq.to_string());
}

void ConsumerApi::update_consumer_offset_async(const MessageQueue& mq, uint64_t offset) {
  auto target = read_target(mq);
  if (!target.is_ok()) {
    consumer_log()->warn("offset commit of {} on {}: {}", group_, mq.to_string(),
                         target.status().to_string());
    return;
  }
  client_->remoting().invoke_async(
      target->addr,
      offset_request(RequestCode::UPDATE_CONSUMER_OFFSET, group_, mq, static_cast<int64_t>(offset)),
      client_->config().request_timeout,
      [group = group_, mq, addr = target->addr](Result<RemotingCommand> response) {
        Status s =
            response.is_ok() ? response_status(*response, "offset commit") : response.status();
        if (!s.is_ok() && s.code() != Code::kShutdown) {
          consumer_log()->warn("offset commit of {} on {} at {}: {}", group, mq.to_string(), addr,
                               s.to_string());
        }
      });
}

Result<uint64_t> ConsumerApi::queue_offset(const MessageQueue& mq, bool max) {
  auto request =
      RemotingCommand::request(max ? RequestCode::GET_MAX_OFFSET : RequestCode::GET_MIN_OFFSET);
  protocol::QueueOffsetRequestT ext;
  ext.topic = mq.topic;
  ext.queue_id = static_cast<int32_t>(mq.queue_id);
  request.set_ext(std::move(ext));
  const char* what = max ? "max offset" : "min offset";
  COMET_ASSIGN_OR_RETURN(RemotingCommand response, call(mq, std::move(request), what));
  const std::string context = fmt::format("{} of {}", what, mq.to_string());
  if (response.response_code() != ResponseCode::SUCCESS) return response_status(response, context);
  const auto* r = response.ext<protocol::QueueOffsetResponseT>();
  if (r == nullptr || r->offset < 0) {
    return Status::corruption(context + ": SUCCESS without a valid QueueOffsetResponse");
  }
  return static_cast<uint64_t>(r->offset);
}

Result<uint64_t> ConsumerApi::max_offset(const MessageQueue& mq) {
  return queue_offset(mq, true);
}

Result<uint64_t> ConsumerApi::min_offset(const MessageQueue& mq) {
  return queue_offset(mq, false);
}

Result<uint64_t> ConsumerApi::search_offset(const MessageQueue& mq, int64_t timestamp_ms) {
  auto request = RemotingCommand::request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP);
  protocol::SearchOffsetRequestT ext;
  ext.topic = mq.topic;
  ext.queue_id = static_cast<int32_t>(mq.queue_id);
  ext.timestamp = timestamp_ms;
  request.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(RemotingCommand response, call(mq, std::move(request), "time search"));
  const std::string context = fmt::format("offset of {} at time {}", mq.to_string(), timestamp_ms);
  if (response.response_code() != ResponseCode::SUCCESS) return response_status(response, context);
  const auto* r = response.ext<protocol::QueueOffsetResponseT>();
  if (r == nullptr || r->offset < 0) {
    return Status::corruption(context + ": SUCCESS without a valid QueueOffsetResponse");
  }
  return static_cast<uint64_t>(r->offset);
}

Result<int64_t> ConsumerApi::earliest_msg_store_time(const MessageQueue& mq) {
  auto request = RemotingCommand::request(RequestCode::GET_EARLIEST_MSG_STORETIME);
  protocol::QueueOffsetRequestT ext;
  ext.topic = mq.topic;
  ext.queue_id = static_cast<int32_t>(mq.queue_id);
  request.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(RemotingCommand response,
                         call(mq, std::move(request), "earliest store time"));
  const std::string context = "earliest store time of " + mq.to_string();
  if (response.response_code() != ResponseCode::SUCCESS) return response_status(response, context);
  const auto* r = response.ext<protocol::StoreTimeResponseT>();
  if (r == nullptr) return Status::corruption(context + ": SUCCESS without a StoreTimeResponse");
  return r->timestamp;
}

Status ConsumerApi::send_message_back(const MessageExt& msg, int delay_level,
                                      int max_reconsume_times) {
  const std::optional<std::string> master = client_->find_broker_addr(msg.broker_name, kMasterId);
  if (!master) {
    return Status::unavailable("send-back of " + msg.msg_id + ": no master of broker " +
                               msg.broker_name + " in the route");
  }
  auto request = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK);
  protocol::ConsumerSendMsgBackRequestT ext;
  ext.offset = static_cast<int64_t>(msg.physical_offset);
  ext.group = group_;
  ext.delay_level = delay_level;
  ext.origin_msg_id = msg.msg_id;
  ext.origin_topic = msg.topic;
  ext.max_reconsume_times = max_reconsume_times;
  request.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(
      RemotingCommand response,
      client_->remoting().invoke(*master, std::move(request), client_->config().request_timeout));
  return response_status(response, "send-back of " + msg.msg_id + " to " + *master);
}

Result<std::vector<MessageQueue>> ConsumerApi::lock_batch(const std::string& broker_name,
                                                          const std::vector<MessageQueue>& queues) {
  const std::optional<std::string> master = client_->find_broker_addr(broker_name, kMasterId);
  if (!master) {
    return Status::unavailable("locking queues of group " + group_ + ": no master of broker " +
                               broker_name + " in the route");
  }
  COMET_ASSIGN_OR_RETURN(
      RemotingCommand response,
      client_->remoting().invoke(
          *master,
          lock_batch_request(RequestCode::LOCK_BATCH_MQ, group_, client_->client_id(), queues),
          client_->config().request_timeout));
  const std::string context = "queue locks of group " + group_ + " on " + *master;
  if (response.response_code() != ResponseCode::SUCCESS) return response_status(response, context);
  const auto* ext = response.ext<protocol::LockBatchResponseT>();
  if (ext == nullptr) return Status::corruption(context + ": the answer lacks a LockBatchResponse");
  std::vector<MessageQueue> locked;
  for (const auto& q : ext->locked) {
    if (!q || q->queue_id < 0) continue;
    MessageQueue mq{q->topic, q->broker_name, static_cast<uint32_t>(q->queue_id)};
    // Only what was asked: an answer naming other queues grants nothing.
    if (std::find(queues.begin(), queues.end(), mq) != queues.end()) locked.push_back(mq);
  }
  return locked;
}

Status ConsumerApi::unlock_batch(const std::string& broker_name,
                                 const std::vector<MessageQueue>& queues) {
  const std::optional<std::string> master = client_->find_broker_addr(broker_name, kMasterId);
  if (!master) {
    return Status::unavailable("unlocking queues of group " + group_ + ": no master of broker " +
                               broker_name + " in the route");
  }
  COMET_ASSIGN_OR_RETURN(
      RemotingCommand response,
      client_->remoting().invoke(
          *master,
          lock_batch_request(RequestCode::UNLOCK_BATCH_MQ, group_, client_->client_id(), queues),
          client_->config().request_timeout));
  return response_status(response, "queue unlocks of group " + group_ + " on " + *master);
}

Result<std::vector<std::string>> ConsumerApi::consumer_ids(const std::string& topic) {
  COMET_ASSIGN_OR_RETURN(std::shared_ptr<const TopicRoute> route, client_->find_route(topic));
  std::vector<ReadTarget> targets;
  for (const auto& broker : route->broker_datas) {
    if (auto t = select_read_target(broker)) targets.push_back(*std::move(t));
  }
  if (targets.empty()) return Status::unavailable("no broker of topic " + topic + " to ask");
  thread_local std::minstd_rand rng{std::random_device{}()};
  const size_t first = rng() % targets.size();
  Status last;
  for (size_t i = 0; i < targets.size(); ++i) {
    const ReadTarget& target = targets[(first + i) % targets.size()];
    auto request = RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP);
    protocol::ConsumerListRequestT ext;
    ext.consumer_group = group_;
    request.set_ext(std::move(ext));
    auto response = client_->remoting().invoke(target.addr, std::move(request),
                                               client_->config().request_timeout);
    const std::string context = "consumers of group " + group_ + " at " + target.addr;
    if (!response.is_ok()) {
      last = Status(response.status().code(), context + ": " + response.status().message());
      continue;
    }
    if (response->response_code() != ResponseCode::SUCCESS) {
      last = response_status(*response, context);
      continue;
    }
    const auto* list = response->ext<protocol::ConsumerListResponseT>();
    if (list == nullptr) {
      last = Status::corruption(context + ": SUCCESS without a ConsumerListResponse");
      continue;
    }
    return list->client_ids;
  }
  client_->request_route_refresh(topic);
  return last;
}

void ConsumerApi::unregister_client(const std::vector<std::string>& topics) {
  std::set<std::string> addrs;
  for (const auto& topic : topics) {
    auto route = client_->cached_route(topic);
    if (!route) continue;
    for (const auto& broker : route->broker_datas) {
      for (const auto& [_, addr] : broker.addrs) {
        if (!addr.empty()) addrs.insert(addr);
      }
    }
  }
  if (addrs.empty()) return;
  struct Latch {
    std::mutex mu;
    std::condition_variable cv;
    size_t left = 0;
  };
  auto latch = std::make_shared<Latch>();
  latch->left = addrs.size();
  const auto timeout = client_->config().request_timeout;
  for (const auto& addr : addrs) {
    auto request = RemotingCommand::request(RequestCode::UNREGISTER_CLIENT);
    protocol::UnregisterClientRequestT ext;
    ext.client_id = client_->client_id();
    ext.consumer_group = group_;
    request.set_ext(std::move(ext));
    client_->remoting().invoke_async(
        addr, std::move(request), timeout, [latch, addr](Result<RemotingCommand> response) {
          if (!response.is_ok()) {
            consumer_log()->debug("unregistering at {}: {}", addr, response.status().to_string());
          }
          std::lock_guard lock(latch->mu);
          if (--latch->left == 0) latch->cv.notify_all();
        });
  }
  std::unique_lock lock(latch->mu);
  if (!latch->cv.wait_for(lock, timeout + std::chrono::milliseconds(500),
                          [&] { return latch->left == 0; })) {
    consumer_log()->warn("group {}: {} broker(s) did not answer UNREGISTER_CLIENT", group_,
                         latch->left);
  }
}

}  // namespace comet::client
