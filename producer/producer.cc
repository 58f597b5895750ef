#include "producer/producer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <unordered_map>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/group_topics.h"
#include "common/logging.h"
#include "common/record_codec.h"
#include "common/whole_number.h"
#include "producer/latency_fault_tolerance.h"
#include "producer/unique_id.h"

namespace comet::client {

using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

namespace {

std::shared_ptr<spdlog::logger> producer_log() {
  static auto l = logger("producer");
  return l;
}

// 64-bit FNV-1a: stable across processes and builds, unlike std::hash.
uint64_t stable_hash(std::string_view key) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

Millis elapsed_since(Clock::time_point begin) {
  return std::chrono::duration_cast<Millis>(Clock::now() - begin);
}

// A message checked and ready to encode; the views point into the caller's ProducerMessage.
struct Prepared {
  std::string_view topic;
  std::string_view body;
  std::string properties;
  uint32_t flags = 0;
  int64_t born_timestamp_ms = 0;
  uint32_t reconsume_times = 0;
  std::string unique_id;  // its UNIQ_KEY: the caller's, or one made for it

  Message message(uint32_t queue_id) const {
    Message m;
    m.topic = topic;
    m.queue_id = queue_id;
    m.flags = flags;
    m.born_timestamp_ms = born_timestamp_ms;
    m.reconsume_times = reconsume_times;
    m.body = body;
    m.properties = properties;
    return m;
  }
};

bool has_separator(std::string_view s) {
  return s.find('\x01') != std::string_view::npos || s.find('\x02') != std::string_view::npos;
}

// The timer property of a timer message; a typed error for a value the broker would refuse.
Status add_timer_properties(const ProducerMessage& msg,
                            std::vector<std::pair<std::string, std::string>>& props) {
  const std::pair<std::string_view, const std::optional<int64_t>*> timers[] = {
      {kPropertyTimerDeliverMs, &msg.deliver_time_ms},
      {kPropertyTimerDelaySec, &msg.delay_time_sec},
      {kPropertyTimerDelayMs, &msg.delay_time_ms}};
  int set = 0;
  for (const auto& [key, value] : timers) {
    if (!*value) continue;
    if (**value < 0) {
      return Status::invalid_argument(std::string(key) + " " + std::to_string(**value) +
                                      " is negative");
    }
    if (++set > 1) {
      return Status::invalid_argument(
          "a message takes one of deliver_time_ms, delay_time_sec and delay_time_ms");
    }
    props.emplace_back(std::string(key), std::to_string(**value));
  }
  if (set > 0 && msg.delay_level != 0) {
    return Status::invalid_argument("a message takes a delay level or a timer, not both");
  }
  return Status::ok();
}

// The message's UNIQ_KEY: the one it carries (a retried or resent message keeps its id, as in
// RocketMQ), else a new one.
std::string unique_id_of(const ProducerMessage& msg) {
  const auto it = msg.properties.find(std::string(kPropertyUniqKey));
  return it != msg.properties.end() && !it->second.empty() ? it->second : create_unique_id();
}

Result<std::string> encode_message_properties(const ProducerMessage& msg,
                                              const std::string& unique_id) {
  std::vector<std::pair<std::string, std::string>> props;
  if (!msg.tags.empty()) props.emplace_back(std::string(kPropertyTags), msg.tags);
  if (!msg.keys.empty()) props.emplace_back(std::string(kPropertyKeys), msg.keys);
  for (const auto& [key, value] : msg.properties) {
    if (key.empty()) return Status::invalid_argument("message property with an empty key");
    if ((key == kPropertyTags && !msg.tags.empty()) ||
        (key == kPropertyKeys && !msg.keys.empty())) {
      continue;
    }
    if (key == kPropertyDelayLevel && msg.delay_level != 0) continue;
    if (key == kPropertyUniqKey) continue;
    if ((key == kPropertyTimerDeliverMs || key == kPropertyTimerDelaySec ||
         key == kPropertyTimerDelayMs) &&
        msg.is_timer()) {
      continue;
    }
    props.emplace_back(key, value);
  }
  props.emplace_back(std::string(kPropertyUniqKey), unique_id);
  COMET_RETURN_IF_ERROR(add_timer_properties(msg, props));
  if (msg.delay_level < 0) {
    return Status::invalid_argument("delay level " + std::to_string(msg.delay_level) +
                                    " is negative (0: no delay; 1, 2, ...: the broker's levels)");
  }
  if (msg.delay_level > 0) {
    props.emplace_back(std::string(kPropertyDelayLevel), std::to_string(msg.delay_level));
  }
  for (const auto& [key, value] : props) {
    if (has_separator(key) || has_separator(value)) {
      return Status::invalid_argument("message property '" + key +
                                      "' contains a \\x01 or \\x02 separator byte");
    }
  }
  return encode_properties(props);
}

// A message a consumer sends to its group's retry topic itself carries how often it was consumed
// as RECONSUME_TIME; the record keeps it as its reconsume times, as RocketMQ's sendKernelImpl puts
// it in the request header, so the retried message shows it when consumed again.
uint32_t retry_reconsume_times(const ProducerMessage& msg) {
  if (!is_retry_topic(msg.topic)) return 0;
  const auto it = msg.properties.find(std::string(kPropertyReconsumeTime));
  if (it == msg.properties.end()) return 0;
  return parse_whole_number<uint32_t>(it->second).value_or(0);
}

Result<std::vector<Prepared>> prepare(std::span<const ProducerMessage> msgs,
                                      size_t max_message_size) {
  if (msgs.empty()) return Status::invalid_argument("no message to send");
  std::vector<Prepared> out;
  out.reserve(msgs.size());
  const int64_t born = now_ms();
  size_t total_body = 0;
  for (const ProducerMessage& msg : msgs) {
    if (msg.topic != msgs.front().topic) {
      return Status::invalid_argument("a batch goes to one topic; got '" + msgs.front().topic +
                                      "' and '" + msg.topic + "'");
    }
    if (msgs.size() > 1 && msg.is_timer()) {
      return Status::invalid_argument(
          "a batch cannot carry timer messages (deliver_time_ms, delay_time_sec, delay_time_ms)");
    }
    if (msgs.size() > 1 && msg.delay_level != 0) {
      return Status::invalid_argument("a batch cannot carry delayed messages (delay level " +
                                      std::to_string(msg.delay_level) + ")");
    }
    if (msg.body.size() > max_message_size) {
      return Status::message_too_large(
          fmt::format("message body of {} bytes exceeds max_message_size of {} bytes",
                      msg.body.size(), max_message_size));
    }
    total_body += msg.body.size();
    std::string unique_id = unique_id_of(msg);
    COMET_ASSIGN_OR_RETURN(std::string properties, encode_message_properties(msg, unique_id));
    Prepared p{msg.topic,           msg.body, std::move(properties),
               msg.flags,           born,     retry_reconsume_times(msg),
               std::move(unique_id)};
    const Message m = p.message(0);
    if (Status s = record::validate(m, max_message_size); !s.is_ok()) {
      return Status(s.code(), "topic '" + msg.topic + "': " + s.message());
    }
    out.push_back(std::move(p));
  }
  if (msgs.size() > 1 && total_body > max_message_size) {
    return Status::message_too_large(
        fmt::format("batch of {} messages with {} body bytes exceeds max_message_size of {} bytes",
                    msgs.size(), total_body, max_message_size));
  }
  return out;
}

RemotingCommand make_send_request(const std::string& group, const MessageQueue& mq,
                                  const std::vector<Prepared>& msgs) {
  auto request = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  protocol::SendMessageRequestT ext;
  ext.producer_group = group;
  ext.topic = mq.topic;
  ext.queue_id = static_cast<int32_t>(mq.queue_id);
  ext.batch = msgs.size() > 1;
  request.set_ext(std::move(ext));
  size_t total = 0;
  for (const Prepared& p : msgs)
    total += record::encoded_size(p.message(mq.queue_id));
  std::string& body = request.body.owned;
  body.resize(total);
  auto* dst = reinterpret_cast<uint8_t*>(body.data());
  for (const Prepared& p : msgs) {
    const Message m = p.message(mq.queue_id);
    record::encode(m, /*queue_offset=*/0, /*physical_offset=*/0, /*store_timestamp_ms=*/0,
                   /*store_host=*/{}, dst);
    dst += record::encoded_size(m);
  }
  return request;
}

// A send's msg_id: its messages' UNIQ_KEYs, joined with ',' for a batch (as RocketMQ's).
std::string joined_unique_ids(const std::vector<Prepared>& msgs) {
  std::string out;
  out.reserve(msgs.size() * (kUniqueIdLength + 1));
  for (const Prepared& p : msgs) {
    if (!out.empty()) out += ',';
    out += p.unique_id;
  }
  return out;
}

// What the writable queues of a route look like to this producer; rebuilt when the route changes.
struct PublishInfo {
  std::shared_ptr<const TopicRoute> route;
  std::vector<MessageQueue> queues;
  std::shared_ptr<std::atomic<uint32_t>> next;  // round-robin position, kept across rebuilds
  // Set when the topic has no route yet and its queues come from the auto-create topic's
  // brokers; the name server is asked again once this passes.
  std::optional<Clock::time_point> default_route_until;
};

// RocketMQ's TBW102: brokers with autoCreateTopicEnable serve it, and a topic without a route is
// sent to them (they create it on the first message).
constexpr std::string_view kAutoCreateTopic = "TBW102";
constexpr uint32_t kDefaultTopicQueueNums = 4;
// A consumer group's retry topic is created with one queue per broker (as RocketMQ's heartbeat
// creates it): a send to it before its route exists uses queue 0 only.
constexpr uint32_t kRetryTopicQueueNums = 1;
constexpr auto kDefaultRouteRecheck = std::chrono::milliseconds(1000);
// A send that used up its attempts: the last failure, with how many there were.
Status failed_after(const std::string& topic, int attempts, const Status& last) {
  return Status(last.code(), fmt::format("send to topic {} failed after {} attempt(s): {}", topic,
                                         attempts, last.message()));
}

enum class Next { kDone, kRetry, kTopicGone };

struct Outcome {
  Result<SendResult> result;
  Next next;
};

struct AsyncSend;

}  // namespace

std::string_view send_status_name(SendStatus status) {
  switch (status) {
    case SendStatus::kSendOk:
      return "SEND_OK";
    case SendStatus::kFlushDiskTimeout:
      return "FLUSH_DISK_TIMEOUT";
    case SendStatus::kFlushSlaveTimeout:
      return "FLUSH_SLAVE_TIMEOUT";
    case SendStatus::kSlaveNotAvailable:
      return "SLAVE_NOT_AVAILABLE";
  }
  return "UNKNOWN";
}

class Producer::Impl : public std::enable_shared_from_this<Producer::Impl> {
 public:
  enum class State { kCreated, kRunning, kShutdown };

  Impl(std::string group, const ClientConfig& config)
      : group_(std::move(group)), client_(MQClient::get_or_create(config)) {}

  Status start();
  void shutdown();
  Status check_running() const;

  Result<SendResult> send_sync(std::span<const ProducerMessage> msgs);
  void send_async(std::vector<ProducerMessage> batch, SendCallback callback);
  Status send_oneway(const ProducerMessage& msg);
  Result<SendResult> send_ordered(const ProducerMessage& msg, std::string_view sharding_key);
  // One attempt to `mq` of `info`'s route (no retry elsewhere: the caller chose the queue).
  Result<SendResult> send_to_queue(const ProducerMessage& msg, const PublishInfo& info,
                                   const MessageQueue& mq);
  Result<std::shared_ptr<const PublishInfo>> publish_info(const std::string& topic);
  // The topic has no writable queue (its masters are gone, a failover is under way): waits for
  // its route to change, asking the name servers again every MQClient::kRouteWatchRecheck, up to
  // `deadline`.
  bool await_route_change(const std::string& topic, Clock::time_point deadline);

  const std::string group_;
  const std::shared_ptr<MQClient> client_;
  LatencyFaultTolerance fault_;

  std::atomic<int> retry_times_when_send_failed_{2};
  std::atomic<int> retry_times_when_send_async_failed_{2};
  std::atomic<int64_t> send_msg_timeout_ms_{3000};
  std::atomic<size_t> max_message_size_{kDefaultMaxMessageSize};
  std::atomic<bool> send_latency_fault_enable_{true};

 private:
  std::optional<MessageQueue> select_queue(const PublishInfo& info, const std::string& avoid);
  // Records the attempt with the fault tolerance and the route cache, and reads the response.
  Outcome finish_attempt(const MessageQueue& mq, const std::string& addr,
                         const std::vector<Prepared>& msgs, Result<RemotingCommand> response,
                         Millis latency);
  // One attempt. `on_caller`: running on the application's thread inside send_async (the first
  // attempt, so a send costs no thread hop); a failure is then reported on a callback thread,
  // never inside send_async.
  void async_step(const std::shared_ptr<AsyncSend>& s, bool on_caller = false);
  // On a callback thread, with s->response set.
  void async_handle(const std::shared_ptr<AsyncSend>& s);
  void async_finish(const std::shared_ptr<AsyncSend>& s, Result<SendResult> result);
  // The asynchronous await_route_change: the next step once the route of the send's topic is no
  // longer `seen`; the send fails with `failure` if it does not change before its deadline.
  void async_await_route(const std::shared_ptr<AsyncSend>& s,
                         std::shared_ptr<const TopicRoute> seen, Status failure);
  // Runs `fn` on a callback thread, or here when the client no longer runs any.
  void on_callback_thread(std::function<void()> fn);

  std::mutex lifecycle_mu_;
  std::atomic<State> state_{State::kCreated};
  std::mutex publish_mu_;
  std::unordered_map<std::string, std::shared_ptr<const PublishInfo>> publish_;

  std::mutex async_mu_;
  std::condition_variable async_cv_;
  size_t async_in_flight_ = 0;
};

namespace {

struct AsyncSend {
  std::vector<ProducerMessage> messages;  // one, or a batch for one queue
  std::vector<Prepared> msgs;             // views into `messages`
  Producer::SendCallback callback;
  Clock::time_point deadline;
  int attempts = 0;
  int max_attempts = 1;
  std::string avoid;
  std::string failed_addr;  // of the last failed attempt
  Status last;
  // The attempt in flight (one at a time): where it went, and its answer once it came. Kept
  // here so the completion hand-offs capture one pointer rather than copies of the strings.
  MessageQueue mq;
  std::string addr;
  Clock::time_point begin;
  Millis latency{0};
  std::optional<Result<remoting::RemotingCommand>> response;
};

}  // namespace

Status Producer::Impl::start() {
  if (!record::valid_group_name(group_)) {
    return Status::invalid_argument("illegal producer group '" + group_ +
                                    "' (1-255 chars of [A-Za-z0-9_%|-])");
  }
  std::lock_guard lock(lifecycle_mu_);
  if (state_.load() != State::kCreated) {
    return Status::invalid_argument("producer " + group_ + " was started already");
  }
  COMET_RETURN_IF_ERROR(client_->start());
  if (!client_->register_producer(group_)) {
    client_->shutdown();
    return Status(Code::kAlreadyExists,
                  "producer group " + group_ + " already runs in client " + client_->client_id());
  }
  state_ = State::kRunning;
  producer_log()->info("producer {} started in client {}", group_, client_->client_id());
  return Status::ok();
}

void Producer::Impl::shutdown() {
  std::lock_guard lifecycle(lifecycle_mu_);
  if (state_.exchange(State::kShutdown) != State::kRunning) return;
  // Async sends waiting for a route end now (their callbacks report the failure).
  client_->cancel_route_watches(this);
  {
    // Every async send ends within send_msg_timeout plus its callback; do not hang on a callback
    // that blocks (the sends keep this Impl alive).
    std::unique_lock lock(async_mu_);
    const auto bound = 2 * Millis(send_msg_timeout_ms_.load()) + std::chrono::seconds(1);
    if (!async_cv_.wait_for(lock, bound, [&] { return async_in_flight_ == 0; })) {
      producer_log()->warn("producer {}: {} async sends still in flight at shutdown", group_,
                           async_in_flight_);
    }
  }
  client_->unregister_producer(group_);
  client_->shutdown();
  producer_log()->info("producer {} shut down", group_);
}

Status Producer::Impl::check_running() const {
  switch (state_.load()) {
    case State::kRunning:
      return Status::ok();
    case State::kCreated:
      return Status::unavailable("producer " + group_ + " is not started");
    case State::kShutdown:
      break;
  }
  return Status::shutdown("producer " + group_ + " is shut down");
}

Result<std::shared_ptr<const PublishInfo>> Producer::Impl::publish_info(const std::string& topic) {
  {
    std::lock_guard lock(publish_mu_);
    auto it = publish_.find(topic);
    if (it != publish_.end() && it->second && it->second->default_route_until &&
        Clock::now() < *it->second->default_route_until) {
      return it->second;
    }
  }
  auto found = client_->find_route(topic);
  std::shared_ptr<const TopicRoute> route;
  std::vector<MessageQueue> queues;
  bool via_default = false;
  if (found.is_ok()) {
    route = std::move(found).value();
    queues = route->writable_queues(topic);
  } else if (found.status().code() == Code::kNotFound && topic != kAutoCreateTopic) {
    auto fallback = client_->find_route(std::string(kAutoCreateTopic));
    if (!fallback.is_ok()) return found.status();
    route = std::move(fallback).value();
    const uint32_t queue_nums =
        is_retry_topic(topic) ? kRetryTopicQueueNums : kDefaultTopicQueueNums;
    for (MessageQueue q : route->writable_queues(std::string(kAutoCreateTopic))) {
      if (q.queue_id >= queue_nums) continue;
      q.topic = topic;
      queues.push_back(std::move(q));
    }
    via_default = true;
  } else {
    return found.status();
  }
  std::lock_guard lock(publish_mu_);
  auto& slot = publish_[topic];
  const auto no_queue = [&] {
    return Status::unavailable("topic " + topic +
                               " has no writable queue on a broker with a master");
  };
  if (slot && slot->route == route && !via_default) {
    // The cached list may be empty (a route without a master): that is still "wait for the
    // route to change", for every send, not only the one that built it.
    if (slot->queues.empty()) return no_queue();
    return slot;
  }
  auto info = std::make_shared<PublishInfo>();
  info->route = route;
  info->queues = std::move(queues);
  if (via_default) info->default_route_until = Clock::now() + kDefaultRouteRecheck;
  if (slot) {
    info->next = slot->next;
  } else {
    std::random_device rd;
    info->next = std::make_shared<std::atomic<uint32_t>>(rd());
  }
  slot = info;
  if (info->queues.empty()) return no_queue();
  return slot;
}

bool Producer::Impl::await_route_change(const std::string& topic, Clock::time_point deadline) {
  const auto seen = client_->cached_route(topic);
  for (int rounds = 0; rounds < 1000 && Clock::now() < deadline; ++rounds) {
    client_->request_route_refresh(topic);
    if (client_->wait_route_change(
            topic, seen, std::min(deadline, Clock::now() + MQClient::kRouteWatchRecheck))) {
      return true;
    }
    if (!client_->running()) return false;
  }
  return false;
}

std::optional<MessageQueue> Producer::Impl::select_queue(const PublishInfo& info,
                                                         const std::string& avoid) {
  const bool fault = send_latency_fault_enable_.load();
  std::vector<const MessageQueue*> candidates;
  candidates.reserve(info.queues.size());
  auto pick = [&](auto&& accept) -> std::optional<MessageQueue> {
    candidates.clear();
    for (const MessageQueue& q : info.queues) {
      if (accept(q)) candidates.push_back(&q);
    }
    if (candidates.empty()) return std::nullopt;
    return *candidates[info.next->fetch_add(1, std::memory_order_relaxed) % candidates.size()];
  };
  if (auto q = pick([&](const MessageQueue& q) {
        return q.broker_name != avoid && (!fault || fault_.is_available(q.broker_name));
      })) {
    return q;
  }
  if (auto q = pick([&](const MessageQueue& q) { return q.broker_name != avoid; })) return q;
  return pick([](const MessageQueue&) { return true; });
}

Outcome Producer::Impl::finish_attempt(const MessageQueue& mq, const std::string& addr,
                                       const std::vector<Prepared>& msgs,
                                       Result<RemotingCommand> response, Millis latency) {
  const size_t count = msgs.size();
  const std::string context = "send to " + mq.to_string() + " at " + addr;
  const bool fault = send_latency_fault_enable_.load();
  auto failed = [&](Status status, Next next) {
    if (fault) fault_.update(mq.broker_name, latency, /*isolation=*/next == Next::kRetry);
    if (next != Next::kDone) client_->request_route_refresh(mq.topic);
    return Outcome{std::move(status), next};
  };
  if (!response.is_ok()) {
    const Status& s = response.status();
    if (s.code() == Code::kShutdown)
      return Outcome{Status::shutdown(context + ": " + s.message()), Next::kDone};
    return failed(Status(s.code(), context + ": " + s.message()), Next::kRetry);
  }
  SendStatus status = SendStatus::kSendOk;
  switch (response->response_code()) {
    case ResponseCode::SUCCESS:
      break;
    case ResponseCode::FLUSH_DISK_TIMEOUT:
      status = SendStatus::kFlushDiskTimeout;
      break;
    case ResponseCode::FLUSH_SLAVE_TIMEOUT:
      status = SendStatus::kFlushSlaveTimeout;
      break;
    case ResponseCode::SLAVE_NOT_AVAILABLE:
      // With a SendMessageResponse: stored, not replicated. Without: a SYNC_MASTER with no slave
      // in sync refused it before storing, and another broker may take it.
      if (response->ext<protocol::SendMessageResponseT>() == nullptr) {
        return failed(response_status(*response, context), Next::kRetry);
      }
      status = SendStatus::kSlaveNotAvailable;
      break;
    case ResponseCode::SYSTEM_BUSY:
    case ResponseCode::SERVICE_NOT_AVAILABLE:
    case ResponseCode::SYSTEM_ERROR:
      return failed(response_status(*response, context), Next::kRetry);
    case ResponseCode::TOPIC_NOT_EXIST:
      return failed(response_status(*response, context), Next::kTopicGone);
    default:
      return failed(response_status(*response, context), Next::kDone);
  }
  if (fault) fault_.update(mq.broker_name, latency, /*isolation=*/false);
  const auto* ext = response->ext<protocol::SendMessageResponseT>();
  if (!ext) {
    return Outcome{Status::corruption(context + ": " + describe_response(*response) +
                                      " without a SendMessageResponse"),
                   Next::kDone};
  }
  SendResult result;
  result.status = status;
  result.msg_id = joined_unique_ids(msgs);
  result.offset_msg_id = ext->msg_id;
  result.broker_name = mq.broker_name;
  result.queue_id = ext->queue_id >= 0 ? static_cast<uint32_t>(ext->queue_id) : mq.queue_id;
  result.queue_offset = static_cast<uint64_t>(ext->queue_offset);
  result.physical_offset = static_cast<uint64_t>(ext->physical_offset);
  result.count = ext->count > 0 ? static_cast<uint32_t>(ext->count) : static_cast<uint32_t>(count);
  result.transaction_id = ext->transaction_id;
  return Outcome{std::move(result), Next::kDone};
}

Result<SendResult> Producer::Impl::send_sync(std::span<const ProducerMessage> msgs) {
  COMET_RETURN_IF_ERROR(check_running());
  COMET_ASSIGN_OR_RETURN(std::vector<Prepared> prepared, prepare(msgs, max_message_size_.load()));
  const std::string& topic = msgs.front().topic;
  const Millis timeout(send_msg_timeout_ms_.load());
  const auto deadline = Clock::now() + timeout;
  const int max_attempts = 1 + std::max(0, retry_times_when_send_failed_.load());
  std::string avoid;
  std::string failed_addr;
  Status last;
  int attempts = 0;
  while (attempts < max_attempts) {
    auto found = publish_info(topic);
    if (!found.is_ok()) {
      if (found.status().code() == Code::kUnavailable && await_route_change(topic, deadline)) {
        continue;
      }
      return found.status();
    }
    std::shared_ptr<const PublishInfo> info = std::move(found).value();
    const auto remaining = std::chrono::ceil<Millis>(deadline - Clock::now());
    if (remaining <= Millis{0}) break;
    std::optional<MessageQueue> mq = select_queue(*info, avoid);
    if (!mq) return Status::unavailable("topic " + topic + " has no writable queue");
    const std::string addr = info->route->master_addr(mq->broker_name).value_or("");
    if (!failed_addr.empty() && addr == failed_addr) {
      // No other broker to try and the route still names the master that just failed (a
      // failover under way: a dead master, or a DLedger member that stopped leading): retry once
      // the name server names another, within send_msg_timeout.
      if (!await_route_change(topic, deadline)) break;
      failed_addr.clear();
      continue;
    }
    ++attempts;
    const auto begin = Clock::now();
    auto response =
        client_->remoting().invoke(addr, make_send_request(group_, *mq, prepared), remaining);
    Outcome outcome =
        finish_attempt(*mq, addr, prepared, std::move(response), elapsed_since(begin));
    if (outcome.next == Next::kDone) return std::move(outcome.result);
    if (outcome.next == Next::kTopicGone) {
      (void)client_->update_route(topic);
      return std::move(outcome.result);
    }
    last = outcome.result.status();
    avoid = mq->broker_name;
    failed_addr = addr;
    producer_log()->debug("{} (attempt {} of {})", last.to_string(), attempts, max_attempts);
  }
  if (attempts == 0) {
    return Status::timeout(
        fmt::format("send to topic {}: send_msg_timeout of {} ms passed before "
                    "the first attempt",
                    topic, timeout.count()));
  }
  return failed_after(topic, attempts, last);
}

void Producer::Impl::on_callback_thread(std::function<void()> fn) {
  if (!client_->post(fn)) fn();
}

void Producer::Impl::send_async(std::vector<ProducerMessage> batch, SendCallback callback) {
  if (Status st = check_running(); !st.is_ok()) {
    // Without a running client there is no callback thread; nothing may outlive the producer.
    if (callback) callback(st);
    return;
  }
  if (batch.empty()) {
    if (callback) callback(Status::invalid_argument("empty batch"));
    return;
  }
  auto s = std::make_shared<AsyncSend>();
  s->messages = std::move(batch);
  s->callback = std::move(callback);
  s->deadline = Clock::now() + Millis(send_msg_timeout_ms_.load());
  s->max_attempts = 1 + std::max(0, retry_times_when_send_async_failed_.load());
  {
    std::lock_guard lock(async_mu_);
    ++async_in_flight_;
  }
  Status st;
  auto prepared = prepare(std::span(s->messages), max_message_size_.load());
  if (prepared.is_ok()) {
    s->msgs = std::move(prepared).value();
  } else {
    st = prepared.status();
  }
  auto self = shared_from_this();
  if (!st.is_ok()) {
    on_callback_thread([self, s, st] { self->async_finish(s, st); });
    return;
  }
  async_step(s, /*on_caller=*/true);
}

void Producer::Impl::async_step(const std::shared_ptr<AsyncSend>& s, bool on_caller) {
  auto finish = [&](Result<SendResult> result) {
    if (!on_caller) return async_finish(s, std::move(result));
    auto self = shared_from_this();
    auto r = std::make_shared<Result<SendResult>>(std::move(result));
    on_callback_thread([self, s, r] { self->async_finish(s, std::move(*r)); });
  };
  const std::string& topic = s->messages.front().topic;
  auto info = publish_info(topic);
  if (!info.is_ok()) {
    if (info.status().code() == Code::kUnavailable) {
      // No writable queue: a failover under way. Wait for the route to name a master.
      async_await_route(s, client_->cached_route(topic), info.status());
      return;
    }
    finish(info.status());
    return;
  }
  const auto remaining = std::chrono::ceil<Millis>(s->deadline - Clock::now());
  if (remaining <= Millis{0}) {
    if (s->attempts == 0) {
      finish(Status::timeout("send to topic " + topic +
                             ": send_msg_timeout passed before the first attempt"));
    } else {
      finish(failed_after(topic, s->attempts, s->last));
    }
    return;
  }
  std::optional<MessageQueue> mq = select_queue(**info, s->avoid);
  if (!mq) {
    finish(Status::unavailable("topic " + topic + " has no writable queue"));
    return;
  }
  s->addr = (*info)->route->master_addr(mq->broker_name).value_or("");
  if (!s->failed_addr.empty() && s->addr == s->failed_addr) {
    // As send_sync: no other broker to try, and the route still names the master that just
    // failed. Retry once the name server names another.
    async_await_route(s, (*info)->route, failed_after(topic, s->attempts, s->last));
    return;
  }
  s->mq = std::move(*mq);
  ++s->attempts;
  s->begin = Clock::now();
  auto self = shared_from_this();
  client_->remoting().invoke_async(s->addr, make_send_request(group_, s->mq, s->msgs), remaining,
                                   [self, s](Result<RemotingCommand> response) {
                                     // On an I/O thread: hop off it before doing anything that may
                                     // block.
                                     s->latency = elapsed_since(s->begin);
                                     s->response.emplace(std::move(response));
                                     self->on_callback_thread([self, s] { self->async_handle(s); });
                                   });
}

void Producer::Impl::async_handle(const std::shared_ptr<AsyncSend>& s) {
  const MessageQueue& mq = s->mq;
  Outcome outcome = finish_attempt(mq, s->addr, s->msgs, std::move(*s->response), s->latency);
  s->response.reset();
  if (outcome.next == Next::kTopicGone) (void)client_->update_route(mq.topic);
  if (outcome.next != Next::kRetry) {
    async_finish(s, std::move(outcome.result));
    return;
  }
  s->last = outcome.result.status();
  s->avoid = mq.broker_name;
  s->failed_addr = s->addr;
  if (s->attempts >= s->max_attempts) {
    async_finish(s, failed_after(mq.topic, s->attempts, s->last));
    return;
  }
  async_step(s);
}

void Producer::Impl::async_await_route(const std::shared_ptr<AsyncSend>& s,
                                       std::shared_ptr<const TopicRoute> seen, Status failure) {
  auto self = shared_from_this();
  client_->watch_route_change(this, s->messages.front().topic, std::move(seen), s->deadline,
                              [self, s, failure = std::move(failure)](bool changed) {
                                if (!changed) return self->async_finish(s, failure);
                                s->failed_addr.clear();
                                self->async_step(s);
                              });
  // A shutdown that came while this registered has cancelled the others already.
  if (state_.load() != State::kRunning) client_->cancel_route_watches(this);
}

void Producer::Impl::async_finish(const std::shared_ptr<AsyncSend>& s, Result<SendResult> result) {
  if (s->callback) s->callback(std::move(result));
  std::lock_guard lock(async_mu_);
  if (--async_in_flight_ == 0) async_cv_.notify_all();
}

Status Producer::Impl::send_oneway(const ProducerMessage& msg) {
  COMET_RETURN_IF_ERROR(check_running());
  COMET_ASSIGN_OR_RETURN(std::vector<Prepared> prepared,
                         prepare(std::span(&msg, 1), max_message_size_.load()));
  COMET_ASSIGN_OR_RETURN(std::shared_ptr<const PublishInfo> info, publish_info(msg.topic));
  std::optional<MessageQueue> mq = select_queue(*info, {});
  if (!mq) return Status::unavailable("topic " + msg.topic + " has no writable queue");
  const std::string addr = info->route->master_addr(mq->broker_name).value_or("");
  Status s = client_->remoting().invoke_oneway(addr, make_send_request(group_, *mq, prepared));
  if (!s.is_ok()) {
    client_->request_route_refresh(msg.topic);
    return Status(s.code(),
                  "oneway send to " + mq->to_string() + " at " + addr + ": " + s.message());
  }
  return Status::ok();
}

Result<SendResult> Producer::Impl::send_ordered(const ProducerMessage& msg,
                                                std::string_view sharding_key) {
  COMET_RETURN_IF_ERROR(check_running());
  COMET_ASSIGN_OR_RETURN(std::shared_ptr<const PublishInfo> info, publish_info(msg.topic));
  return send_to_queue(msg, *info, info->queues[stable_hash(sharding_key) % info->queues.size()]);
}

Result<SendResult> Producer::Impl::send_to_queue(const ProducerMessage& msg,
                                                 const PublishInfo& info, const MessageQueue& mq) {
  COMET_ASSIGN_OR_RETURN(std::vector<Prepared> prepared,
                         prepare(std::span(&msg, 1), max_message_size_.load()));
  const std::string addr = info.route->master_addr(mq.broker_name).value_or("");
  if (addr.empty()) {
    return Status::unavailable("broker " + mq.broker_name + " of topic " + mq.topic +
                               " has no master in the route");
  }
  const auto begin = Clock::now();
  auto response = client_->remoting().invoke(addr, make_send_request(group_, mq, prepared),
                                             Millis(send_msg_timeout_ms_.load()));
  Outcome outcome = finish_attempt(mq, addr, prepared, std::move(response), elapsed_since(begin));
  if (outcome.next == Next::kTopicGone) (void)client_->update_route(msg.topic);
  return std::move(outcome.result);
}

// ---- Producer ---------------------------------------------------------------------------------

Producer::Producer(std::string group, ClientConfig config)
    : impl_(std::make_shared<Impl>(std::move(group), config)) {}

Producer::~Producer() {
  shutdown();
}

Status Producer::start() {
  return impl_->start();
}

void Producer::shutdown() {
  impl_->shutdown();
}

Result<SendResult> Producer::send(const ProducerMessage& msg) {
  return impl_->send_sync(std::span(&msg, 1));
}

void Producer::send_async(ProducerMessage msg, SendCallback callback) {
  std::vector<ProducerMessage> one;  // not {msg}: an initializer_list would copy the body
  one.reserve(1);
  one.push_back(std::move(msg));
  impl_->send_async(std::move(one), std::move(callback));
}

void Producer::send_async(std::vector<ProducerMessage> batch, SendCallback callback) {
  impl_->send_async(std::move(batch), std::move(callback));
}

Status Producer::send_oneway(const ProducerMessage& msg) {
  return impl_->send_oneway(msg);
}

Result<SendResult> Producer::send(const std::vector<ProducerMessage>& batch) {
  return impl_->send_sync(batch);
}

Result<SendResult> Producer::send_ordered(const ProducerMessage& msg,
                                          std::string_view sharding_key) {
  return impl_->send_ordered(msg, sharding_key);
}

Result<SendResult> Producer::send(const ProducerMessage& msg, const MessageQueue& mq) {
  COMET_RETURN_IF_ERROR(impl_->check_running());
  if (mq.topic != msg.topic) {
    return Status::invalid_argument("queue " + mq.to_string() + " is not of topic " + msg.topic);
  }
  COMET_ASSIGN_OR_RETURN(std::shared_ptr<const PublishInfo> info, impl_->publish_info(msg.topic));
  return impl_->send_to_queue(msg, *info, mq);
}

Result<std::vector<MessageQueue>> Producer::fetch_publish_queues(const std::string& topic) {
  COMET_RETURN_IF_ERROR(impl_->check_running());
  COMET_ASSIGN_OR_RETURN(std::shared_ptr<const PublishInfo> info, impl_->publish_info(topic));
  return info->queues;
}

const std::string& Producer::group() const {
  return impl_->group_;
}

const std::shared_ptr<MQClient>& Producer::client() const {
  return impl_->client_;
}

bool Producer::broker_available(const std::string& broker_name) const {
  return impl_->fault_.is_available(broker_name);
}

int Producer::retry_times_when_send_failed() const {
  return impl_->retry_times_when_send_failed_.load();
}

void Producer::set_retry_times_when_send_failed(int times) {
  impl_->retry_times_when_send_failed_ = std::max(0, times);
}

int Producer::retry_times_when_send_async_failed() const {
  return impl_->retry_times_when_send_async_failed_.load();
}

void Producer::set_retry_times_when_send_async_failed(int times) {
  impl_->retry_times_when_send_async_failed_ = std::max(0, times);
}

std::chrono::milliseconds Producer::send_msg_timeout() const {
  return Millis(impl_->send_msg_timeout_ms_.load());
}

void Producer::set_send_msg_timeout(std::chrono::milliseconds timeout) {
  impl_->send_msg_timeout_ms_ = std::max<int64_t>(1, timeout.count());
}

size_t Producer::max_message_size() const {
  return impl_->max_message_size_.load();
}

void Producer::set_max_message_size(size_t bytes) {
  impl_->max_message_size_ = bytes;
}

bool Producer::send_latency_fault_enable() const {
  return impl_->send_latency_fault_enable_.load();
}

void Producer::set_send_latency_fault_enable(bool enable) {
  impl_->send_latency_fault_enable_ = enable;
}

}  // namespace comet::client
