#include "consumer/pull_consumer.h"

#include <algorithm>

#include "common/logging.h"
#include "common/record_codec.h"
#include "consumer/consumer_api.h"
#include "producer/mq_client.h"

namespace comet::client {

namespace {

constexpr std::chrono::milliseconds kMaxSuspend{15000};

}  // namespace

PullConsumer::PullConsumer(std::string group, ClientConfig config)
    : group_(std::move(group)), config_(std::move(config)) {}

PullConsumer::~PullConsumer() {
  shutdown();
}

Status PullConsumer::start() {
  if (running_) return Status::invalid_argument("pull consumer " + group_ + " is started already");
  if (!record::valid_group_name(group_)) {
    return Status::invalid_argument("illegal consumer group '" + group_ +
                                    "' (1-255 chars of [A-Za-z0-9_%|-])");
  }
  client_ = MQClient::get_or_create(config_);
  if (Status s = client_->start(); !s.is_ok()) {
    client_.reset();
    return s;
  }
  api_ = std::make_shared<ConsumerApi>(client_, group_);
  running_ = true;
  logger("consumer")->info("pull consumer {} started in client {}", group_, client_->client_id());
  return Status::ok();
}

void PullConsumer::shutdown() {
  if (!running_) return;
  running_ = false;
  api_.reset();
  client_->shutdown();
  client_.reset();
}

Status PullConsumer::check_running() const {
  return running_ ? Status::ok()
                  : Status::unavailable("pull consumer " + group_ + " is not running");
}

void PullConsumer::set_consumer_pull_timeout(std::chrono::milliseconds timeout) {
  pull_timeout_ = timeout;
}

void PullConsumer::set_pull_timeout_when_suspend(std::chrono::milliseconds timeout) {
  pull_timeout_when_suspend_ = timeout;
}

void PullConsumer::set_broker_suspend_max_time(std::chrono::milliseconds max) {
  broker_suspend_max_ = std::clamp(max, std::chrono::milliseconds(0), kMaxSuspend);
}

Result<std::vector<MessageQueue>> PullConsumer::fetch_subscribe_message_queues(
    const std::string& topic) {
  COMET_RETURN_IF_ERROR(check_running());
  COMET_ASSIGN_OR_RETURN(std::shared_ptr<const TopicRoute> route, client_->update_route(topic));
  std::vector<MessageQueue> queues = route->readable_queues(topic);
  std::sort(queues.begin(), queues.end());
  if (queues.empty()) return Status::not_found("topic " + topic + " has no readable queue");
  return queues;
}

Result<PullResult> PullConsumer::pull(const MessageQueue& mq, std::string_view sub_expression,
                                      uint64_t offset, int max_nums) {
  COMET_RETURN_IF_ERROR(check_running());
  return api_->pull(mq, sub_expression, offset, max_nums, std::chrono::milliseconds(0),
                    pull_timeout_);
}

Result<PullResult> PullConsumer::pull_block_if_not_found(const MessageQueue& mq,
                                                         std::string_view sub_expression,
                                                         uint64_t offset, int max_nums) {
  COMET_RETURN_IF_ERROR(check_running());
  const auto timeout = pull_timeout_when_suspend_;
  // Leave the answer time to travel back before the request times out.
  const auto margin = std::min(timeout / 4, std::chrono::milliseconds(5000));
  const auto suspend =
      std::clamp(timeout - margin, std::chrono::milliseconds(0), broker_suspend_max_);
  return api_->pull(mq, sub_expression, offset, max_nums, suspend, timeout);
}

Status PullConsumer::update_consume_offset(const MessageQueue& mq, uint64_t offset) {
  COMET_RETURN_IF_ERROR(check_running());
  return api_->update_consumer_offset(mq, offset);
}

Result<std::optional<uint64_t>> PullConsumer::fetch_consume_offset(const MessageQueue& mq) {
  COMET_RETURN_IF_ERROR(check_running());
  return api_->query_consumer_offset(mq);
}

Result<uint64_t> PullConsumer::max_offset(const MessageQueue& mq) {
  COMET_RETURN_IF_ERROR(check_running());
  return api_->max_offset(mq);
}

Result<uint64_t> PullConsumer::min_offset(const MessageQueue& mq) {
  COMET_RETURN_IF_ERROR(check_running());
  return api_->min_offset(mq);
}

Result<uint64_t> PullConsumer::search_offset(const MessageQueue& mq, int64_t timestamp_ms) {
  COMET_RETURN_IF_ERROR(check_running());
  return api_->search_offset(mq, timestamp_ms);
}

Result<int64_t> PullConsumer::earliest_msg_store_time(const MessageQueue& mq) {
  COMET_RETURN_IF_ERROR(check_running());
  return api_->earliest_msg_store_time(mq);
}

}  // namespace comet::client
