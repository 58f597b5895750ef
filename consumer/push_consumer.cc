#include "consumer/push_consumer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include "common/group_topics.h"
#include "common/logging.h"
#include "common/record_codec.h"
#include "consumer/allocate_message_queue_averagely.h"
#include "consumer/consumer_api.h"
#include "consumer/offset_store.h"
#include "consumer/retry_message.h"
#include "producer/mq_client.h"
#include "producer/producer.h"

namespace comet::client {

using remoting::RemotingCommand;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

namespace {

constexpr Millis kPullBackoff{1000};
// A pull the broker refused for the group's config (NO_PERMISSION: consumeEnable or
// consumeBroadcastEnable false; SUBSCRIPTION_GROUP_NOT_EXIST: autoCreateSubscriptionGroup
// false) is asked again after this (RocketMQ's PULL_TIME_DELAY_MILLS_WHEN_EXCEPTION): an operator
// has to change the config first.
constexpr Millis kRefusedPullBackoff{3000};
// A pull answered at once with nothing (the broker did not hold it) is retried after this.
constexpr Millis kIdlePullDelay{100};
// The answer of a held pull may arrive this long after the suspend time.
constexpr Millis kPullTimeoutMargin{3000};
constexpr Millis kDropWait{10000};
constexpr Millis kShutdownWait{30000};
// A broker sets reset offsets once every member answered, within its wait for them (3 s): a queue
// taken over until then starts at the reset offset, not at the broker's older one.
constexpr Millis kResetHintTtl{5000};
constexpr int kServiceThreads = 2;
// Orderly (RocketMQ's ConsumeMessageOrderlyService.tryLockLaterAndReconsume): a queue whose lock
// is not valid is locked again after the first delay; delivery resumes right after a lock, or
// after the second delay without one.
constexpr Millis kRelockDelay{100};
constexpr Millis kRelockRefusedDelay{3000};

// The broker refused the group itself, not the queue or the moment.
bool is_group_refusal(const Status& s) {
  return s.code() == Code::kPermissionDenied ||
         (s.code() == Code::kNotFound &&
          s.message().find("SUBSCRIPTION_GROUP_NOT_EXIST") != std::string::npos);
}

// One assigned queue: the messages pulled and not yet consumed, and where pulling goes on.
struct ProcessQueue {
  ProcessQueue(MessageQueue q, std::string expr, uint64_t offset)
      : mq(std::move(q)),
        expression(std::move(expr)),
        tags(parse_subscription_tags(expression)),
        next_offset(offset) {}

  // Everything below it is consumed, taken back by the broker or filtered out: the offset to
  // commit.
  uint64_t committable() const {
    uint64_t offset = next_offset;
    if (!msgs.empty()) offset = std::min(offset, msgs.begin()->first);
    if (!held.empty()) offset = std::min(offset, held.begin()->first);
    if (in_flight_from) offset = std::min(offset, *in_flight_from);
    return offset;
  }
  size_t buffered() const { return msgs.size() + held.size() + in_flight_count; }

  const MessageQueue mq;
  const std::string expression;
  const std::vector<std::string> tags;

  std::mutex mu;
  std::condition_variable cv;           // in_callback went false
  std::map<uint64_t, MessageExt> msgs;  // pulled, waiting for the listener; by queue offset
  // Concurrent listener: failed, and neither sent back nor sent to the retry topic; moved back
  // to `msgs` by a timer after reconsume_delay.
  std::map<uint64_t, MessageExt> held;
  std::optional<uint64_t> in_flight_from;  // the lowest offset of the batch being delivered
  size_t in_flight_count = 0;
  uint64_t next_offset;               // of the next pull
  std::optional<uint64_t> committed;  // last offset handed to the offset store by persist
  bool dropped = false;               // no longer ours: pull and deliver nothing more
  bool paused = false;                // pulling stopped: the buffer is full
  bool consume_pending = false;       // a delivery is queued, running or the queue is suspended
  bool in_callback = false;           // the listener (or the send-backs after it) runs now
  bool held_timer = false;            // a timer will move `held` back to `msgs`
  uint64_t pull_errors = 0;           // consecutive
  // Orderly clustering: the broker lock of the queue, and when it was last locked or renewed
  // (the time the request left).
  bool locked = false;
  Clock::time_point last_locked{};
};

using ProcessQueuePtr = std::shared_ptr<ProcessQueue>;

// What becomes of a batch once the listener, and the send-backs after a failure, are done.
struct BatchOutcome {
  std::vector<MessageExt> back;  // return to the queue's buffer, to be delivered again
  std::vector<MessageExt> held;  // concurrent: deliver again after reconsume_delay
  bool suspend = false;          // orderly: deliver nothing on the queue for a while
};

// RocketMQ's CLIENT_INNER_PRODUCER, one per consumer group here (a client may run several
// groups, and a producer group is registered once per client).
std::string inner_producer_group(const std::string& consumer_group) {
  std::string name = "CLIENT_INNER_PRODUCER|" + consumer_group;
  name.resize(std::min(name.size(), record::kMaxGroupLength));
  return name;
}

}  // namespace

class PushConsumer::Impl {
 public:
  Impl(std::string group, ClientConfig config)
      : group_(std::move(group)), config_(std::move(config)) {}
  ~Impl() { shutdown(); }

  Status start();
  void shutdown();
  std::vector<MessageQueue> assigned_queues() const;

  const std::string group_;
  const ClientConfig config_;
  // Settings: written before start(), read after.
  std::map<std::string, std::string> subscriptions_;
  MessageListener listener_;
  MessageListenerOrderly orderly_listener_;
  MessageModel model_ = MessageModel::kClustering;
  ConsumeFromWhere from_where_ = ConsumeFromWhere::kLastOffset;
  int consume_threads_ = 4;
  int pull_batch_size_ = 32;
  int consume_batch_size_ = 1;
  int pull_threshold_ = 1000;
  Millis rebalance_interval_{2000};
  Millis persist_interval_{1000};
  int max_reconsume_times_ = -1;
  Millis reconsume_delay_{1000};
  Millis suspend_queue_time_{1000};
  Millis suspend_{5000};
  Millis lock_renew_interval_{20000};
  Millis lock_max_live_{30000};
  std::string offset_store_dir_;
  std::atomic<uint64_t> dropped_broadcast_{0};
  std::atomic<uint64_t> sent_back_{0};

 private:
  enum class State { kCreated, kRunning, kStopped };

  bool clustering() const { return model_ == MessageModel::kClustering; }
  bool orderly() const { return static_cast<bool>(orderly_listener_); }
  // RocketMQ locks the queues of orderly clustering consumers only.
  bool uses_locks() const { return orderly() && clustering(); }
  Status validate() const;
  protocol::ConsumerDataT consumer_data() const;

  void schedule(Millis delay, std::function<void()> fn);
  void rebalance();      // now, then again every rebalance_interval_
  void rebalance_now();  // once
  void rebalance_topic(const std::string& topic, const std::string& expression);
  void update_process_queues(const std::string& topic, const std::string& expression,
                             const std::vector<MessageQueue>& mine);
  Result<uint64_t> compute_pull_from_where(const MessageQueue& mq);
  // Stops the queue, waits until `deadline` for its listener call, commits its offset; false
  // when the listener still runs.
  bool drop_and_commit(const ProcessQueuePtr& pq, Clock::time_point deadline);

  // Broker queue locks (orderly clustering), batched per broker: the queues locked now.
  std::set<MessageQueue> lock_queues(const std::vector<MessageQueue>& queues);
  void unlock_queues(const std::vector<MessageQueue>& queues);
  void lock_all_periodically();
  // Renews the locks of every queue; a queue whose lock another member holds now is dropped.
  void lock_all();
  // The queue's lock, held and renewed within lock_max_live_: its listener may run.
  bool lock_valid(const ProcessQueue& pq) const;
  // Delivery found the lock invalid: lock the queue again, then deliver (or try again later).
  void relock_and_consume(const ProcessQueuePtr& pq);

  void pull(const ProcessQueuePtr& pq);
  void on_pull_response(const ProcessQueuePtr& pq, uint64_t offset, Clock::time_point begin,
                        Result<RemotingCommand> response);
  void submit_consume(const ProcessQueuePtr& pq);
  void consume(const ProcessQueuePtr& pq);
  bool active(const ProcessQueuePtr& pq);
  BatchOutcome consume_concurrently(const ProcessQueuePtr& pq, std::vector<MessageExt> batch);
  BatchOutcome consume_orderly(const ProcessQueuePtr& pq, std::vector<MessageExt> batch);
  void finish_batch(const ProcessQueuePtr& pq, BatchOutcome outcome);
  void redeliver_held(const ProcessQueuePtr& pq);
  ConsumeStatus call_listener(const std::vector<MessageExt>& batch);
  ConsumeOrderlyStatus call_orderly_listener(const std::vector<MessageExt>& batch);
  // A failed message of a concurrent listener to the broker for a later retry: send-back, else
  // a send to the retry topic. False when neither worked.
  bool hand_back(const MessageExt& msg);
  // An orderly message past max_reconsume_times to the DLQ; false when the send failed.
  bool send_to_dlq(const MessageExt& msg);
  void persist_all();
  // An admin's reset of this consumer's queues of one broker and topic.
  void reset_offsets(const OffsetReset& reset, const MQClient::ResetAnswer& answer);

  std::mutex lifecycle_mu_;
  State state_ = State::kCreated;
  std::atomic<bool> stopping_{false};
  // Read by the heartbeat provider, which may run after this object is gone.
  std::shared_ptr<std::atomic<bool>> left_group_ = std::make_shared<std::atomic<bool>>(false);

  std::shared_ptr<MQClient> client_;
  std::shared_ptr<ConsumerApi> api_;
  std::unique_ptr<OffsetStore> offset_store_;
  // Sends failed messages to the retry topic when the send-back fails, and orderly ones to the
  // DLQ.
  std::unique_ptr<Producer> retry_producer_;

  // Timers, pull responses, rebalancing and offset persistence run here; listeners on the
  // consume pool. Both are joined by shutdown(), so their handlers may use `this`. Remoting
  // callbacks only post here, keeping the io_context (not this object) alive.
  std::shared_ptr<asio::io_context> service_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> service_work_;
  std::vector<std::thread> service_threads_;
  std::unique_ptr<asio::thread_pool> consume_pool_;

  std::mutex rebalance_mu_;  // one rebalance (or reset) at a time; shutdown waits for it
  // Shared by whoever reads an offset to commit and sends it (pull, persist_all); exclusive for
  // an offset reset, so a commit read before the reset leaves before the reset's answer, and for
  // the last commit of a queue this member gives up (drop_and_commit).
  // Taken after rebalance_mu_.
  std::shared_mutex commit_mu_;
  // The latest reset offset of every queue a reset named (this member's and the others'), and
  // when it came (see kResetHintTtl); rebalance_mu_.
  std::map<MessageQueue, std::pair<uint64_t, Clock::time_point>> reset_hints_;
  std::map<std::string, std::string> last_rebalance_error_;  // by topic; rebalance_mu_
  std::set<MessageQueue> lock_refused_;  // logged once until locked; rebalance_mu_
  mutable std::mutex table_mu_;
  std::map<MessageQueue, ProcessQueuePtr> table_;
};

Status PushConsumer::Impl::validate() const {
  if (!record::valid_group_name(group_)) {
    return Status::invalid_argument("illegal consumer group '" + group_ +
                                    "' (1-255 chars of [A-Za-z0-9_%|-])");
  }
  if (subscriptions_.empty()) return Status::invalid_argument("no subscription: call subscribe()");
  if (!listener_ && !orderly_listener_) {
    return Status::invalid_argument("no message listener registered");
  }
  if (consume_threads_ < 1 || consume_threads_ > 1000) {
    return Status::invalid_argument("consume_thread_count must be within 1..1000");
  }
  if (pull_batch_size_ < 1 || pull_batch_size_ > 1024) {
    return Status::invalid_argument("pull_batch_size must be within 1..1024");
  }
  if (consume_batch_size_ < 1 || consume_batch_size_ > 1024) {
    return Status::invalid_argument("consume_message_batch_max_size must be within 1..1024");
  }
  if (pull_threshold_ < 1) return Status::invalid_argument("pull_threshold_for_queue must be > 0");
  if (rebalance_interval_.count() <= 0 || persist_interval_.count() <= 0) {
    return Status::invalid_argument("rebalance and persist intervals must be > 0");
  }
  if (max_reconsume_times_ < -1) {
    return Status::invalid_argument("max_reconsume_times must be >= -1 (-1: RocketMQ's default)");
  }
  if (lock_renew_interval_.count() <= 0 || lock_max_live_.count() <= 0) {
    return Status::invalid_argument("lock renew interval and lock max live time must be > 0");
  }
  if (reconsume_delay_.count() < 0 || suspend_.count() < 0 || suspend_queue_time_.count() < 0) {
    return Status::invalid_argument(
        "reconsume_delay, suspend and suspend_current_queue_time must be >= 0");
  }
  return Status::ok();
}

protocol::ConsumerDataT PushConsumer::Impl::consumer_data() const {
  protocol::ConsumerDataT data;
  data.group_name = group_;
  data.message_model = clustering() ? "CLUSTERING" : "BROADCASTING";
  data.consume_type = "CONSUME_PASSIVELY";  // RocketMQ's name for a push consumer
  data.consume_from_where = from_where_ == ConsumeFromWhere::kFirstOffset
                                ? "CONSUME_FROM_FIRST_OFFSET"
                                : "CONSUME_FROM_LAST_OFFSET";
  for (const auto& [topic, expression] : subscriptions_) {
    auto s = std::make_unique<protocol::SubscriptionT>();
    s->topic = topic;
    s->expression = expression;
    data.subscriptions.push_back(std::move(s));
  }
  return data;
}

Status PushConsumer::Impl::start() {
  std::lock_guard lifecycle(lifecycle_mu_);
  if (state_ != State::kCreated) {
    return Status::invalid_argument("push consumer " + group_ + " was started already");
  }
  COMET_RETURN_IF_ERROR(validate());
  // RocketMQ's copySubscription: the group's retried messages come back through its retry topic.
  if (clustering()) subscriptions_.try_emplace(retry_topic(group_), "*");
  auto client = MQClient::get_or_create(config_);
  COMET_RETURN_IF_ERROR(client->start());
  auto producer = std::make_unique<Producer>(inner_producer_group(group_), config_);
  if (Status s = producer->start(); !s.is_ok()) {
    client->shutdown();
    return s;
  }
  auto api = std::make_shared<ConsumerApi>(client, group_);
  std::unique_ptr<OffsetStore> store;
  if (clustering()) {
    store = std::make_unique<RemoteBrokerOffsetStore>(api);
  } else {
    std::string dir = offset_store_dir_.empty()
                          ? "/tmp/comet-offsets/" + client->client_id() + "/" + group_
                          : offset_store_dir_;
    auto local = LocalFileOffsetStore::open(dir);
    if (!local.is_ok()) {
      producer->shutdown();
      client->shutdown();
      return local.status();
    }
    store = std::move(local).value();
  }
  for (const auto& [topic, _] : subscriptions_) {
    // Heartbeats go to the brokers of cached routes: fetch them before registering. (The retry
    // topic exists once the group's first message was sent back.)
    if (auto route = client->find_route(topic); !route.is_ok() && !is_retry_topic(topic)) {
      consumer_log()->warn("consumer {}: route of subscribed topic {}: {}", group_, topic,
                           route.status().to_string());
    }
  }
  auto data = std::make_shared<const protocol::ConsumerDataT>(consumer_data());
  if (!client->register_consumer(group_, [data, left = left_group_] {
        // An empty group name is ignored by brokers: a heartbeat racing shutdown re-adds nothing.
        return left->load() ? protocol::ConsumerDataT() : *data;
      })) {
    producer->shutdown();
    client->shutdown();
    return Status(Code::kAlreadyExists,
                  "consumer group " + group_ + " already runs in client " + client->client_id());
  }
  // Before the first rebalance asks the brokers who is in the group.
  client->send_heartbeat_to_all_brokers();

  client_ = std::move(client);
  api_ = std::move(api);
  offset_store_ = std::move(store);
  retry_producer_ = std::move(producer);
  service_ = std::make_shared<asio::io_context>();
  service_work_.emplace(asio::make_work_guard(*service_));
  for (int i = 0; i < kServiceThreads; ++i) {
    service_threads_.emplace_back([io = service_] { io->run(); });
  }
  consume_pool_ = std::make_unique<asio::thread_pool>(static_cast<size_t>(consume_threads_));
  state_ = State::kRunning;
  // A broker's notice that the group's members changed: rebalance now, on a service thread,
  // besides the periodic run. (A notice after shutdown is posted to the stopped service, and
  // never runs.)
  client_->on_consumer_ids_changed(
      group_, [this, service = service_] { asio::post(*service, [this] { rebalance_now(); }); });
  client_->on_offset_reset(
      group_, [this, service = service_](OffsetReset reset, MQClient::ResetAnswer answer) {
        asio::post(*service, [this, reset = std::move(reset), answer = std::move(answer)] {
          reset_offsets(reset, answer);
        });
      });
  asio::post(*service_, [this] { rebalance(); });
  schedule(persist_interval_, [this] { persist_all(); });
  if (uses_locks()) schedule(lock_renew_interval_, [this] { lock_all_periodically(); });
  consumer_log()->info("push consumer {} ({}) started in client {}", group_,
                       clustering() ? "clustering" : "broadcasting", client_->client_id());
  return Status::ok();
}

void PushConsumer::Impl::shutdown() {
  std::lock_guard lifecycle(lifecycle_mu_);
  if (state_ != State::kRunning) {
    state_ = State::kStopped;
    return;
  }
  state_ = State::kStopped;
  {
    std::lock_guard lock(rebalance_mu_);
    stopping_ = true;
  }
  std::vector<ProcessQueuePtr> queues;
  {
    std::lock_guard lock(table_mu_);
    for (auto& [_, pq] : table_)
      queues.push_back(pq);
    table_.clear();
  }
  // Stop every queue first, then the service threads (no persist may race the final commits),
  // then wait for each listener call in flight and commit.
  for (const auto& pq : queues) {
    std::lock_guard lock(pq->mu);
    pq->dropped = true;
  }
  service_work_.reset();
  service_->stop();
  for (auto& t : service_threads_)
    t.join();
  service_threads_.clear();
  const auto deadline = Clock::now() + kShutdownWait;
  std::vector<MessageQueue> idle;
  for (const auto& pq : queues) {
    if (drop_and_commit(pq, deadline)) idle.push_back(pq->mq);
  }
  // The queues whose listener finished go to the others at once; a listener still running
  // keeps its queue's lock until the broker's lease lapses.
  if (uses_locks()) unlock_queues(idle);
  if (Status s = offset_store_->flush(); !s.is_ok()) {
    consumer_log()->error("consumer {}: writing offsets: {}", group_, s.to_string());
  }

  left_group_->store(true);
  client_->unregister_consumer(group_);
  std::vector<std::string> topics;
  for (const auto& [topic, _] : subscriptions_)
    topics.push_back(topic);
  // UNREGISTER_CLIENT answered by every broker: the other members rebalance at their next run.
  api_->unregister_client(topics);

  consume_pool_->stop();
  consume_pool_->join();
  retry_producer_->shutdown();
  client_->shutdown();
  consumer_log()->info("push consumer {} of client {} shut down", group_, client_->client_id());
}

std::vector<MessageQueue> PushConsumer::Impl::assigned_queues() const {
  std::lock_guard lock(table_mu_);
  std::vector<MessageQueue> out;
  for (const auto& [mq, _] : table_)
    out.push_back(mq);
  return out;
}

void PushConsumer::Impl::schedule(Millis delay, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(*service_, delay);
  timer->async_wait([this, timer, fn = std::move(fn)](const std::error_code& ec) {
    if (!ec && !stopping_) fn();
  });
}

// --- rebalancing ---------------------------------------------------------------------------

void PushConsumer::Impl::rebalance() {
  rebalance_now();
  schedule(rebalance_interval_, [this] { rebalance(); });
}

void PushConsumer::Impl::rebalance_now() {
  std::lock_guard lock(rebalance_mu_);
  if (stopping_) return;
  for (const auto& [topic, expression] : subscriptions_)
    rebalance_topic(topic, expression);
}

void PushConsumer::Impl::rebalance_topic(const std::string& topic, const std::string& expression) {
  auto failed = [&](const Status& s) {
    std::string& last = last_rebalance_error_[topic];
    // The group's retry topic is created with its first retried message: no warning before.
    if (is_retry_topic(topic) && s.code() == Code::kNotFound) {
      consumer_log()->debug("consumer {}: no retry topic {} yet", group_, topic);
      return;
    }
    if (last != s.message()) {
      consumer_log()->warn("consumer {}: rebalancing topic {}: {}", group_, topic, s.to_string());
      last = s.message();
    }
  };
  auto route = client_->find_route(topic);
  if (!route.is_ok()) return failed(route.status());
  std::vector<MessageQueue> all = (*route)->readable_queues(topic);
  std::vector<MessageQueue> mine;
  if (clustering()) {
    auto cids = api_->consumer_ids(topic);
    if (!cids.is_ok()) return failed(cids.status());
    if (std::find(cids->begin(), cids->end(), client_->client_id()) == cids->end()) {
      // Our heartbeat has not reached the broker yet: keep what we have until it has.
      client_->request_heartbeat();
      return failed(Status::unavailable("client " + client_->client_id() +
                                        " is not yet listed in the group"));
    }
    mine = AllocateMessageQueueAveragely::allocate(client_->client_id(), std::move(all),
                                                   std::move(cids).value());
  } else {
    mine = std::move(all);
  }
  last_rebalance_error_.erase(topic);
  update_process_queues(topic, expression, mine);
}

void PushConsumer::Impl::update_process_queues(const std::string& topic,
                                               const std::string& expression,
                                               const std::vector<MessageQueue>& mine) {
  const std::set<MessageQueue> wanted(mine.begin(), mine.end());
  std::vector<ProcessQueuePtr> lost;
  std::vector<MessageQueue> gained;
  {
    std::lock_guard lock(table_mu_);
    for (auto it = table_.begin(); it != table_.end();) {
      if (it->first.topic == topic && !wanted.contains(it->first)) {
        lost.push_back(it->second);
        it = table_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& mq : wanted) {
      if (!table_.contains(mq)) gained.push_back(mq);
    }
  }
  std::vector<MessageQueue> idle;
  for (const auto& pq : lost) {
    if (drop_and_commit(pq, Clock::now() + kDropWait)) idle.push_back(pq->mq);
    consumer_log()->info("consumer {} of {}: released {}", group_, client_->client_id(),
                         pq->mq.to_string());
  }
  // Unlocked once committed, so whoever locks it next starts where this member stopped; a queue
  // whose listener still runs keeps its lock until the broker's lease lapses.
  if (uses_locks()) unlock_queues(idle);
  // Locked before its offset is read (the last owner committed before it unlocked); a queue not
  // locked now is not taken, and the next rebalance tries again.
  const auto lock_time = Clock::now();
  std::set<MessageQueue> locked;
  if (uses_locks() && !gained.empty()) locked = lock_queues(gained);
  for (const auto& mq : gained) {
    if (stopping_) return;
    if (uses_locks() && !locked.contains(mq)) {
      if (lock_refused_.insert(mq).second) {
        consumer_log()->info("consumer {} of {}: {} is not locked yet; not consuming it", group_,
                             client_->client_id(), mq.to_string());
      }
      continue;
    }
    lock_refused_.erase(mq);
    auto offset = compute_pull_from_where(mq);
    if (!offset.is_ok()) {
      consumer_log()->warn("consumer {}: starting {}: {}", group_, mq.to_string(),
                           offset.status().to_string());
      // Not taken: its lock must not keep a member the group gives it to next waiting.
      if (uses_locks()) unlock_queues({mq});
      continue;
    }
    auto pq = std::make_shared<ProcessQueue>(mq, expression, *offset);
    pq->locked = uses_locks();
    pq->last_locked = lock_time;
    {
      std::lock_guard lock(table_mu_);
      table_[mq] = pq;
    }
    consumer_log()->info("consumer {} of {}: took {} at offset {}", group_, client_->client_id(),
                         mq.to_string(), *offset);
    pull(pq);
  }
}

Result<uint64_t> PushConsumer::Impl::compute_pull_from_where(const MessageQueue& mq) {
  if (auto hint = reset_hints_.find(mq); hint != reset_hints_.end()) {
    const auto [offset, at] = hint->second;
    reset_hints_.erase(hint);
    if (Clock::now() - at < kResetHintTtl) return offset;
  }
  COMET_ASSIGN_OR_RETURN(std::optional<uint64_t> stored, offset_store_->read(mq));
  if (stored) return *stored;
  uint64_t start = 0;
  if (from_where_ == ConsumeFromWhere::kFirstOffset) {
    COMET_ASSIGN_OR_RETURN(start, api_->min_offset(mq));
  } else {
    COMET_ASSIGN_OR_RETURN(start, api_->max_offset(mq));
  }
  // Recorded at once: a member taking the queue over before our first commit starts here too.
  if (Status s = offset_store_->commit(mq, start, /*sync=*/true); !s.is_ok()) {
    consumer_log()->warn("consumer {}: recording the start offset of {}: {}", group_,
                         mq.to_string(), s.to_string());
  }
  return start;
}

bool PushConsumer::Impl::drop_and_commit(const ProcessQueuePtr& pq, Clock::time_point deadline) {
  uint64_t offset = 0;
  bool idle = false;
  {
    std::unique_lock lock(pq->mu);
    pq->dropped = true;
    idle = pq->cv.wait_until(lock, deadline, [&] { return !pq->in_callback; });
  }
  // A pull or persist that read an older offset of the queue sends it before this commit (none
  // reads one after `dropped`): the next owner, which reads the group's offset once this member
  // unlocked the queue, starts here and not below.
  std::unique_lock commits(commit_mu_);
  {
    std::lock_guard lock(pq->mu);
    offset = pq->committable();
  }
  if (!idle) {
    consumer_log()->warn(
        "consumer {}: the listener still runs on {}; committing offset {} without it", group_,
        pq->mq.to_string(), offset);
  }
  if (Status s = offset_store_->commit(pq->mq, offset, /*sync=*/true); !s.is_ok()) {
    consumer_log()->warn("consumer {}: committing offset {} of {}: {}", group_, offset,
                         pq->mq.to_string(), s.to_string());
  }
  return idle;
}

// --- broker queue locks (orderly clustering) ----------------------------------------------

std::set<MessageQueue> PushConsumer::Impl::lock_queues(const std::vector<MessageQueue>& queues) {
  std::map<std::string, std::vector<MessageQueue>> by_broker;
  for (const auto& mq : queues)
    by_broker[mq.broker_name].push_back(mq);
  std::set<MessageQueue> locked;
  for (const auto& [broker, mqs] : by_broker) {
    auto got = api_->lock_batch(broker, mqs);
    if (!got.is_ok()) {
      consumer_log()->warn("consumer {}: locking {} queue(s) of broker {}: {}", group_, mqs.size(),
                           broker, got.status().to_string());
      continue;
    }
    locked.insert(got->begin(), got->end());
  }
  return locked;
}

void PushConsumer::Impl::unlock_queues(const std::vector<MessageQueue>& queues) {
  std::map<std::string, std::vector<MessageQueue>> by_broker;
  for (const auto& mq : queues)
    by_broker[mq.broker_name].push_back(mq);
  for (const auto& [broker, mqs] : by_broker) {
    if (Status s = api_->unlock_batch(broker, mqs); !s.is_ok()) {
      consumer_log()->warn("consumer {}: unlocking {} queue(s) of broker {}: {} (they lapse)",
                           group_, mqs.size(), broker, s.to_string());
    }
  }
}

void PushConsumer::Impl::lock_all_periodically() {
  lock_all();
  schedule(lock_renew_interval_, [this] { lock_all_periodically(); });
}

void PushConsumer::Impl::lock_all() {
  std::lock_guard rebalance_lock(rebalance_mu_);  // no queue is taken or released meanwhile
  if (stopping_) return;
  std::map<std::string, std::vector<ProcessQueuePtr>> by_broker;
  {
    std::lock_guard lock(table_mu_);
    for (const auto& [mq, pq] : table_)
      by_broker[mq.broker_name].push_back(pq);
  }
  std::vector<ProcessQueuePtr> lost;
  for (const auto& [broker, pqs] : by_broker) {
    std::vector<MessageQueue> mqs;
    for (const auto& pq : pqs)
      mqs.push_back(pq->mq);
    const auto now = Clock::now();
    auto got = api_->lock_batch(broker, mqs);
    if (!got.is_ok()) {
      // Not renewed: each queue's listener stops lock_max_live_ after its last renewal.
      consumer_log()->warn("consumer {}: renewing {} queue lock(s) on broker {}: {}", group_,
                           mqs.size(), broker, got.status().to_string());
      continue;
    }
    const std::set<MessageQueue> locked(got->begin(), got->end());
    for (const auto& pq : pqs) {
      std::lock_guard lock(pq->mu);
      if (locked.contains(pq->mq)) {
        pq->locked = true;
        pq->last_locked = now;
      } else {
        pq->locked = false;
        pq->dropped = true;
        lost.push_back(pq);
      }
    }
  }
  // Another member holds it now (this lock lapsed): consumed no further here, and not committed
  // (the other's commits are newer). A later rebalance may take it again from the group's offset.
  for (const auto& pq : lost) {
    {
      std::lock_guard lock(table_mu_);
      if (auto it = table_.find(pq->mq); it != table_.end() && it->second == pq) table_.erase(it);
    }
    consumer_log()->warn("consumer {} of {}: lost the lock of {}; stopped consuming it", group_,
                         client_->client_id(), pq->mq.to_string());
  }
}

bool PushConsumer::Impl::lock_valid(const ProcessQueue& pq) const {
  return pq.locked && Clock::now() - pq.last_locked <= lock_max_live_;
}

void PushConsumer::Impl::relock_and_consume(const ProcessQueuePtr& pq) {
  {
    std::lock_guard lock(pq->mu);
    if (pq->dropped || stopping_) {
      pq->consume_pending = false;
      return;
    }
  }
  const auto now = Clock::now();
  const bool locked = lock_queues({pq->mq}).contains(pq->mq);
  {
    std::lock_guard lock(pq->mu);
    if (locked) {
      pq->locked = true;
      pq->last_locked = now;
    }
  }
  if (locked) return submit_consume(pq);
  schedule(kRelockRefusedDelay, [this, pq] { submit_consume(pq); });
}

// --- pulling -------------------------------------------------------------------------------

void PushConsumer::Impl::pull(const ProcessQueuePtr& pq) {
  // The commit this pull carries is read and sent under it (see reset_offsets).
  std::shared_lock commits(commit_mu_);
  uint64_t offset = 0;
  std::optional<uint64_t> commit;
  {
    std::lock_guard lock(pq->mu);
    if (pq->dropped || stopping_) return;
    if (pq->buffered() >= static_cast<size_t>(pull_threshold_)) {
      pq->paused = true;
      return;
    }
    offset = pq->next_offset;
    if (clustering()) commit = pq->committable();
  }
  auto target = api_->read_target(pq->mq);
  if (!target.is_ok()) {
    consumer_log()->warn("consumer {}: pulling {}: {}", group_, pq->mq.to_string(),
                         target.status().to_string());
    client_->request_route_refresh(pq->mq.topic);
    schedule(kPullBackoff, [this, pq] { pull(pq); });
    return;
  }
  auto request =
      make_pull_request(group_, pq->mq, pq->expression, offset, pull_batch_size_, suspend_, commit);
  const auto begin = Clock::now();
  client_->remoting().invoke_async(
      target->addr, std::move(request), suspend_ + kPullTimeoutMargin,
      [this, io = service_, pq, offset, begin](Result<RemotingCommand> response) {
        asio::post(*io, [this, pq, offset, begin, r = std::move(response)]() mutable {
          on_pull_response(pq, offset, begin, std::move(r));
        });
      });
}

void PushConsumer::Impl::on_pull_response(const ProcessQueuePtr& pq, uint64_t offset,
                                          Clock::time_point begin,
                                          Result<RemotingCommand> response) {
  if (stopping_) return;
  auto result = to_pull_result(std::move(response), pq->mq, pq->tags);
  if (!result.is_ok()) {
    uint64_t errors = 0;
    {
      std::lock_guard lock(pq->mu);
      if (pq->dropped) return;
      errors = ++pq->pull_errors;
    }
    const bool refused = is_group_refusal(result.status());
    const Millis backoff = refused ? kRefusedPullBackoff : kPullBackoff;
    if (errors == 1 || errors % 30 == 0) {
      consumer_log()->warn("consumer {}: {} (failure {} in a row; retrying in {} ms)", group_,
                           result.status().to_string(), errors, backoff.count());
    }
    if (!refused) client_->request_route_refresh(pq->mq.topic);
    schedule(backoff, [this, pq] { pull(pq); });
    return;
  }
  PullResult& pr = *result;
  bool start_consume = false;
  {
    std::lock_guard lock(pq->mu);
    if (pq->dropped) return;
    pq->pull_errors = 0;
    if (pr.status == PullStatus::kFound) {
      for (auto& m : pr.msgs) {
        if (m.queue_offset < pq->next_offset) continue;
        show_under_original_topic(m, group_);
        const uint64_t offset = m.queue_offset;
        pq->msgs.emplace(offset, std::move(m));
      }
    } else if (pr.status == PullStatus::kOffsetIllegal) {
      consumer_log()->warn(
          "consumer {}: offset {} of {} is illegal (queue holds {}..{}); continuing at {}", group_,
          offset, pq->mq.to_string(), pr.min_offset, pr.max_offset, pr.next_begin_offset);
    }
    pq->next_offset = pr.next_begin_offset;
    if (!pq->consume_pending && !pq->msgs.empty()) {
      pq->consume_pending = true;
      start_consume = true;
    }
  }
  if (start_consume) submit_consume(pq);
  const bool progress = pr.next_begin_offset != offset;
  if (pr.status != PullStatus::kFound && !progress && Clock::now() - begin < suspend_ / 2) {
    schedule(kIdlePullDelay, [this, pq] { pull(pq); });
  } else {
    pull(pq);
  }
}

// --- consuming -----------------------------------------------------------------------------

void PushConsumer::Impl::submit_consume(const ProcessQueuePtr& pq) {
  asio::post(*consume_pool_, [this, pq] { consume(pq); });
}

ConsumeStatus PushConsumer::Impl::call_listener(const std::vector<MessageExt>& batch) {
  try {
    return listener_(batch);
  } catch (const std::exception& e) {
    consumer_log()->error("consumer {}: the listener threw on {}: {}", group_,
                          batch.front().topic + "#" + std::to_string(batch.front().queue_id),
                          e.what());
  } catch (...) {
    consumer_log()->error("consumer {}: the listener threw", group_);
  }
  return ConsumeStatus::kReconsumeLater;
}

ConsumeOrderlyStatus PushConsumer::Impl::call_orderly_listener(
    const std::vector<MessageExt>& batch) {
  try {
    return orderly_listener_(batch);
  } catch (const std::exception& e) {
    consumer_log()->error("consumer {}: the orderly listener threw on {}: {}", group_,
                          batch.front().topic + "#" + std::to_string(batch.front().queue_id),
                          e.what());
  } catch (...) {
    consumer_log()->error("consumer {}: the orderly listener threw", group_);
  }
  return ConsumeOrderlyStatus::kSuspendCurrentQueueAMoment;
}

void PushConsumer::Impl::consume(const ProcessQueuePtr& pq) {
  std::vector<MessageExt> batch;
  {
    std::lock_guard lock(pq->mu);
    if (pq->dropped || stopping_ || pq->msgs.empty()) {
      pq->consume_pending = false;
      return;
    }
    if (uses_locks() && !lock_valid(*pq)) {
      // consume_pending stays set: the relock delivers next.
      schedule(kRelockDelay, [this, pq] { relock_and_consume(pq); });
      return;
    }
    const size_t n = std::min(static_cast<size_t>(consume_batch_size_), pq->msgs.size());
    for (size_t i = 0; i < n; ++i)
      batch.push_back(std::move(pq->msgs.extract(pq->msgs.begin()).mapped()));
    pq->in_flight_from = batch.front().queue_offset;
    pq->in_flight_count = batch.size();
    pq->in_callback = true;
  }
  finish_batch(pq, orderly() ? consume_orderly(pq, std::move(batch))
                             : consume_concurrently(pq, std::move(batch)));
}

bool PushConsumer::Impl::active(const ProcessQueuePtr& pq) {
  std::lock_guard lock(pq->mu);
  return !pq->dropped && !stopping_;
}

BatchOutcome PushConsumer::Impl::consume_concurrently(const ProcessQueuePtr& pq,
                                                      std::vector<MessageExt> batch) {
  BatchOutcome out;
  if (call_listener(batch) == ConsumeStatus::kSuccess) return out;
  if (!active(pq)) {
    // The queue is no longer ours: its offset stays below the batch, and whoever takes the queue
    // delivers it again.
    out.back = std::move(batch);
    return out;
  }
  if (!clustering()) {
    dropped_broadcast_ += batch.size();
    consumer_log()->error(
        "consumer {}: broadcasting has no retry: dropping {} failed message(s) of {} from offset "
        "{}",
        group_, batch.size(), pq->mq.to_string(), batch.front().queue_offset);
    return out;
  }
  for (auto& m : batch) {
    if (hand_back(m)) {
      ++sent_back_;
      continue;
    }
    ++m.reconsume_times;
    out.held.push_back(std::move(m));
  }
  return out;
}

BatchOutcome PushConsumer::Impl::consume_orderly(const ProcessQueuePtr& pq,
                                                 std::vector<MessageExt> batch) {
  BatchOutcome out;
  if (call_orderly_listener(batch) == ConsumeOrderlyStatus::kSuccess) return out;
  if (!active(pq)) {
    out.back = std::move(batch);
    return out;
  }
  // RocketMQ's checkReconsumeTimes: a message failed once more at the limit goes to the DLQ;
  // the others (and one the DLQ did not take) are delivered again after the suspension.
  for (auto& m : batch) {
    const bool at_limit = max_reconsume_times_ >= 0 &&
                          m.reconsume_times >= static_cast<uint32_t>(max_reconsume_times_);
    if (at_limit && send_to_dlq(m)) {
      ++sent_back_;
      continue;
    }
    ++m.reconsume_times;
    out.back.push_back(std::move(m));
  }
  out.suspend = !out.back.empty();
  return out;
}

bool PushConsumer::Impl::hand_back(const MessageExt& msg) {
  const Status back = api_->send_message_back(msg, /*delay_level=*/0, max_reconsume_times_);
  if (back.is_ok()) return true;
  auto sent = retry_producer_->send(
      make_retry_message(msg, group_, msg.reconsume_times + 1, max_reconsume_times_));
  if (sent.is_ok()) {
    consumer_log()->warn("consumer {}: {}; sent {} to {} instead", group_, back.to_string(),
                         msg.msg_id, retry_topic(group_));
    return true;
  }
  consumer_log()->error(
      "consumer {}: {}; sending it to {}: {}; delivering it again here in {} ms (offset {} of "
      "{} waits for it)",
      group_, back.to_string(), retry_topic(group_), sent.status().to_string(),
      reconsume_delay_.count(), msg.queue_offset, msg.topic);
  return false;
}

bool PushConsumer::Impl::send_to_dlq(const MessageExt& msg) {
  // RECONSUME_TIME at MAX_RECONSUME_TIMES: the broker puts it in %DLQ%<group>.
  auto sent = retry_producer_->send(
      make_retry_message(msg, group_, msg.reconsume_times, max_reconsume_times_));
  if (sent.is_ok()) {
    consumer_log()->warn("consumer {}: {} failed {} times in order; sent to {}", group_, msg.msg_id,
                         msg.reconsume_times + 1, dlq_topic(group_));
    return true;
  }
  consumer_log()->error(
      "consumer {}: sending {} to the dead-letter queue: {}; its queue stays suspended", group_,
      msg.msg_id, sent.status().to_string());
  return false;
}

void PushConsumer::Impl::finish_batch(const ProcessQueuePtr& pq, BatchOutcome outcome) {
  bool next = false;
  bool resume = false;
  bool suspend = false;
  bool arm_held = false;
  {
    std::lock_guard lock(pq->mu);
    pq->in_callback = false;
    pq->in_flight_from.reset();
    pq->in_flight_count = 0;
    // Pulls add only offsets past these: nothing is replaced.
    for (auto& m : outcome.back) {
      const uint64_t offset = m.queue_offset;
      pq->msgs.emplace(offset, std::move(m));
    }
    for (auto& m : outcome.held) {
      const uint64_t offset = m.queue_offset;
      pq->held.emplace(offset, std::move(m));
    }
    const bool active = !pq->dropped && !stopping_;
    suspend = active && outcome.suspend;
    next = active && !suspend && !pq->msgs.empty();
    if (active && !pq->held.empty() && !pq->held_timer) {
      pq->held_timer = true;
      arm_held = true;
    }
    if (active && pq->paused && pq->buffered() <= static_cast<size_t>(pull_threshold_) / 2) {
      pq->paused = false;
      resume = true;
    }
    // Suspended: consume_pending stays set, so no pull starts a delivery before the timer does.
    if (!next && !suspend) pq->consume_pending = false;
    pq->cv.notify_all();
  }
  if (suspend) schedule(suspend_queue_time_, [this, pq] { submit_consume(pq); });
  if (arm_held) schedule(reconsume_delay_, [this, pq] { redeliver_held(pq); });
  if (next) submit_consume(pq);
  if (resume) asio::post(*service_, [this, pq] { pull(pq); });
}

void PushConsumer::Impl::redeliver_held(const ProcessQueuePtr& pq) {
  bool start = false;
  {
    std::lock_guard lock(pq->mu);
    pq->held_timer = false;
    if (pq->dropped || stopping_) return;
    pq->msgs.merge(pq->held);
    if (!pq->consume_pending && !pq->msgs.empty()) {
      pq->consume_pending = true;
      start = true;
    }
  }
  if (start) submit_consume(pq);
}

void PushConsumer::Impl::persist_all() {
  std::shared_lock commits(commit_mu_);  // see reset_offsets
  std::vector<ProcessQueuePtr> queues;
  {
    std::lock_guard lock(table_mu_);
    for (const auto& [_, pq] : table_)
      queues.push_back(pq);
  }
  for (const auto& pq : queues) {
    uint64_t offset = 0;
    {
      std::lock_guard lock(pq->mu);
      if (pq->dropped) continue;
      offset = pq->committable();
      if (pq->committed == offset) continue;
      pq->committed = offset;
    }
    if (Status s = offset_store_->commit(pq->mq, offset, /*sync=*/false); !s.is_ok()) {
      consumer_log()->warn("consumer {}: committing {} of {}: {}", group_, offset,
                           pq->mq.to_string(), s.to_string());
    }
  }
  if (Status s = offset_store_->flush(); !s.is_ok()) {
    consumer_log()->warn("consumer {}: writing offsets: {}", group_, s.to_string());
  }
  schedule(persist_interval_, [this] { persist_all(); });
}

// --- offset reset --------------------------------------------------------------------------

// On a service thread. The broker sets the group's offsets once every member told has answered,
// and applies what a member sent before its answer first (same connection), so nothing this
// consumer sends after answering may carry an offset from before the reset: the queues are
// swapped holding commit_mu_ exclusively (pull() and persist_all() read and send their commits
// under it), and rebalance_mu_, so no queue is taken or released (and committed) meanwhile. The
// old queues are dropped without a commit; a listener call still running on one finishes, and
// its outcome is not committed. A queue of the reset that this member takes over within
// kResetHintTtl starts at the reset offset (compute_pull_from_where), since the broker may not
// have set it yet.
void PushConsumer::Impl::reset_offsets(const OffsetReset& reset,
                                       const MQClient::ResetAnswer& answer) {
  std::vector<ProcessQueuePtr> restarted;
  {
    std::lock_guard rebalance_lock(rebalance_mu_);
    if (stopping_) {
      return answer(remoting::ResponseCode::SERVICE_NOT_AVAILABLE,
                    "consumer " + group_ + " is shutting down");
    }
    const auto now = Clock::now();
    std::erase_if(reset_hints_,
                  [&](const auto& kv) { return now - kv.second.second >= kResetHintTtl; });
    for (const auto& [q, offset] : reset.offsets)
      reset_hints_[MessageQueue{reset.topic, reset.broker_name, q}] = {offset, now};
    std::unique_lock commits(commit_mu_);
    std::lock_guard table_lock(table_mu_);
    for (auto& [mq, pq] : table_) {
      if (mq.topic != reset.topic || mq.broker_name != reset.broker_name) continue;
      auto it = reset.offsets.find(mq.queue_id);
      if (it == reset.offsets.end()) continue;
      {
        std::lock_guard lock(pq->mu);
        pq->dropped = true;
      }
      auto fresh = std::make_shared<ProcessQueue>(mq, pq->expression, it->second);
      {
        std::lock_guard lock(pq->mu);
        fresh->locked = pq->locked;  // the broker lock stays this member's
        fresh->last_locked = pq->last_locked;
      }
      pq = std::move(fresh);
      reset_hints_.erase(mq);  // taken here; a hint is for a queue taken over later
      restarted.push_back(pq);
      if (Status s = offset_store_->commit(mq, it->second, /*sync=*/false); !s.is_ok()) {
        consumer_log()->warn("consumer {}: storing the reset offset {} of {}: {}", group_,
                             it->second, mq.to_string(), s.to_string());
      }
    }
  }
  for (const auto& pq : restarted) {
    consumer_log()->info("consumer {} of {}: {} reset to offset {}", group_, client_->client_id(),
                         pq->mq.to_string(), pq->next_offset);
    pull(pq);
  }
  answer(remoting::ResponseCode::SUCCESS, {});
}

// --- PushConsumer --------------------------------------------------------------------------

PushConsumer::PushConsumer(std::string group, ClientConfig config)
    : impl_(std::make_unique<Impl>(std::move(group), std::move(config))) {}

PushConsumer::~PushConsumer() {
  impl_->shutdown();
}

Status PushConsumer::subscribe(const std::string& topic, const std::string& expression) {
  if (!record::valid_topic_name(topic)) {
    return Status::invalid_argument("illegal topic name '" + topic + "'");
  }
  impl_->subscriptions_[topic] = expression.empty() ? "*" : expression;
  return Status::ok();
}

void PushConsumer::register_message_listener(MessageListener listener) {
  impl_->listener_ = std::move(listener);
  impl_->orderly_listener_ = nullptr;
}
void PushConsumer::register_message_listener_orderly(MessageListenerOrderly listener) {
  impl_->orderly_listener_ = std::move(listener);
  impl_->listener_ = nullptr;
}
void PushConsumer::set_message_model(MessageModel model) {
  impl_->model_ = model;
}
void PushConsumer::set_consume_from_where(ConsumeFromWhere where) {
  impl_->from_where_ = where;
}
void PushConsumer::set_consume_thread_count(int threads) {
  impl_->consume_threads_ = threads;
}
void PushConsumer::set_pull_batch_size(int messages) {
  impl_->pull_batch_size_ = messages;
}
void PushConsumer::set_consume_message_batch_max_size(int messages) {
  impl_->consume_batch_size_ = messages;
}
void PushConsumer::set_pull_threshold_for_queue(int messages) {
  impl_->pull_threshold_ = messages;
}
void PushConsumer::set_rebalance_interval(std::chrono::milliseconds interval) {
  impl_->rebalance_interval_ = interval;
}
void PushConsumer::set_persist_offset_interval(std::chrono::milliseconds interval) {
  impl_->persist_interval_ = interval;
}
void PushConsumer::set_max_reconsume_times(int times) {
  impl_->max_reconsume_times_ = times;
}
void PushConsumer::set_reconsume_delay(std::chrono::milliseconds delay) {
  impl_->reconsume_delay_ = delay;
}
void PushConsumer::set_suspend_current_queue_time(std::chrono::milliseconds suspend) {
  impl_->suspend_queue_time_ = suspend;
}
void PushConsumer::set_long_polling_suspend(std::chrono::milliseconds suspend) {
  impl_->suspend_ = suspend;
}
void PushConsumer::set_lock_renew_interval(std::chrono::milliseconds interval) {
  impl_->lock_renew_interval_ = interval;
}
void PushConsumer::set_lock_max_live_time(std::chrono::milliseconds live) {
  impl_->lock_max_live_ = live;
}
void PushConsumer::set_offset_store_dir(std::string dir) {
  impl_->offset_store_dir_ = std::move(dir);
}

Status PushConsumer::start() {
  return impl_->start();
}
void PushConsumer::shutdown() {
  impl_->shutdown();
}
const std::string& PushConsumer::group() const {
  return impl_->group_;
}
const std::string& PushConsumer::client_id() const {
  return impl_->config_.client_id;
}
uint64_t PushConsumer::dropped_broadcast_messages() const {
  return impl_->dropped_broadcast_.load();
}
uint64_t PushConsumer::sent_back_messages() const {
  return impl_->sent_back_.load();
}
std::vector<MessageQueue> PushConsumer::assigned_queues() const {
  return impl_->assigned_queues();
}

}  // namespace comet::client
