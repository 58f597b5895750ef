// Push consumer retries against a real comet-namesrv and comet-broker: a message the listener
// keeps failing goes through %RETRY%<group> (sent back by the consumer, delayed by the broker)
// and, after its 17th failure, to %DLQ%<group> with its body and properties, while the messages
// behind it in its queue are consumed at once; a listener failing 10% of the messages once
// consumes each of those exactly once more. Every delay level is 1 s, so the 16 retries take
// about 16 s.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/group_topics.h"
#include "consumer/pull_consumer.h"
#include "consumer/push_consumer.h"
#include "integration/cluster.h"
#include "producer/producer.h"

namespace comet::testing {
namespace {

using client::ClientConfig;
using client::ConsumeFromWhere;
using client::ConsumeStatus;
using client::MessageExt;
using client::Producer;
using client::ProducerMessage;
using client::PullConsumer;
using client::PullStatus;
using client::PushConsumer;
using Clock = std::chrono::steady_clock;

std::string all_levels_one_second() {
  std::string levels = "messageDelayLevel=1s";
  for (int i = 1; i < 18; ++i)
    levels += " 1s";
  return levels;
}

// Every delivery, by body, in order, with a condition variable to wait on.
class Deliveries {
 public:
  struct Seen {
    std::string topic;
    uint32_t reconsume_times;
    Clock::time_point at;
  };

  void add(const MessageExt& m) {
    std::lock_guard lock(mu_);
    seen_[m.body].push_back({m.topic, m.reconsume_times, Clock::now()});
    ++total_;
    cv_.notify_all();
  }
  bool wait_total(size_t n, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return total_ >= n; });
  }
  std::map<std::string, std::vector<Seen>> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  size_t total() {
    std::lock_guard lock(mu_);
    return total_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<Seen>> seen_;
  size_t total_ = 0;
};

class PushRetryProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
    auto broker = cluster_->start_broker("broker-a", {all_levels_one_second()});
    ASSERT_TRUE(broker.is_ok()) << broker.status().to_string();
    broker_ = *broker;
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  void create_topic(const std::string& topic, int queues) {
    auto r = cluster_->client().invoke(broker_, update_topic_request(topic, queues), 10s);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  ClientConfig config(const std::string& client_id) { return cluster_->client_config(client_id); }

  void send(const std::vector<ProducerMessage>& msgs) {
    Producer producer("retry-test-producer", config("retry-test-producer"));
    ASSERT_TRUE(producer.start().is_ok());
    for (const auto& m : msgs) {
      auto r = producer.send(m);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    }
    producer.shutdown();
  }

  std::unique_ptr<PushConsumer> push_consumer(const std::string& group, const std::string& topic,
                                              std::function<bool(const MessageExt&)> fail) {
    auto c = std::make_unique<PushConsumer>(group, config(group + "-consumer"));
    EXPECT_TRUE(c->subscribe(topic, "*").is_ok());
    c->set_consume_from_where(ConsumeFromWhere::kFirstOffset);
    c->set_rebalance_interval(300ms);
    c->set_persist_offset_interval(200ms);
    c->set_long_polling_suspend(1000ms);
    c->register_message_listener([this, fail](const std::vector<MessageExt>& msgs) {
      bool failed = false;
      for (const auto& m : msgs) {
        deliveries_.add(m);
        failed = failed || fail(m);
      }
      return failed ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
    });
    return c;
  }

  // The first messages of queue 0 of `topic` that arrive before `deadline`.
  std::vector<MessageExt> await_messages(const std::string& topic, Clock::time_point deadline) {
    PullConsumer reader("retry-test-reader", config("retry-test-reader"));
    EXPECT_TRUE(reader.start().is_ok());
    while (Clock::now() < deadline) {
      auto queues = reader.fetch_subscribe_message_queues(topic);
      if (!queues.is_ok() || queues->empty()) {
        // The topic is created by the broker with its first message: wait for its route.
        std::unique_lock lock(wait_mu_);
        wait_cv_.wait_for(lock, 200ms);
        continue;
      }
      auto r = reader.pull_block_if_not_found(queues->front(), "*", 0, 32);
      if (r.is_ok() && r->status == PullStatus::kFound) return r->msgs;
    }
    return {};
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string broker_;
  Deliveries deliveries_;
  std::mutex wait_mu_;  // only to wait a bounded moment for a route, never notified
  std::condition_variable wait_cv_;
};

TEST_F(PushRetryProcessTest, AMessageFailed17TimesGoesToTheDlqAndNothingWaitsForIt) {
  const std::string topic = "RetryDlq";
  const std::string group = "RetryDlqGroup";
  create_topic(topic, 1);
  std::vector<ProducerMessage> msgs;
  for (int i = 0; i < 20; ++i) {
    ProducerMessage m;
    m.topic = topic;
    m.body = i == 4 ? std::string("poison\0body", 11) : "m-" + std::to_string(i);
    if (i == 4) {
      m.tags = "TagP";
      m.keys = "key-poison";
      m.properties = {{"color", "red"}, {"origin", "retry-test"}};
    }
    msgs.push_back(std::move(m));
  }
  const std::string poison = msgs[4].body;
  ASSERT_NO_FATAL_FAILURE(send(msgs));

  const auto begin = Clock::now();
  auto consumer =
      push_consumer(group, topic, [&](const MessageExt& m) { return m.body == poison; });
  ASSERT_TRUE(consumer->start().is_ok());
  // 19 messages once, the poison 17 times (16 retries of 1 s each).
  ASSERT_TRUE(deliveries_.wait_total(19 + 17, begin + 35s)) << deliveries_.total() << " deliveries";
  auto dead = await_messages(dlq_topic(group), begin + 38s);
  const auto took = Clock::now() - begin;
  consumer->shutdown();

  auto seen = deliveries_.seen();
  ASSERT_EQ(seen[poison].size(), 17u);
  for (size_t i = 0; i < 17; ++i) {
    EXPECT_EQ(seen[poison][i].topic, topic) << i;
    EXPECT_EQ(seen[poison][i].reconsume_times, i) << i;
  }
  // The others were consumed once each, before the poison's first retry came back.
  for (int i = 0; i < 20; ++i) {
    if (i == 4) continue;
    const auto& s = seen["m-" + std::to_string(i)];
    ASSERT_EQ(s.size(), 1u) << i;
    EXPECT_LT(s[0].at, seen[poison][1].at) << i;
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].body, poison);
  EXPECT_EQ(dead[0].tags, "TagP");
  EXPECT_EQ(dead[0].keys, "key-poison");
  EXPECT_EQ(dead[0].properties["color"], "red");
  EXPECT_EQ(dead[0].properties["origin"], "retry-test");
  EXPECT_EQ(consumer->sent_back_messages(), 17u);
  std::printf(
      "poison message: 17 deliveries, in %s after %lld ms\n", dead[0].topic.c_str(),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

TEST_F(PushRetryProcessTest, FailingOneInTenOnceConsumesThoseExactlyOnceMore) {
  const std::string topic = "RetryTenth";
  const std::string group = "RetryTenthGroup";
  constexpr int kMessages = 500;
  create_topic(topic, 4);
  std::vector<ProducerMessage> msgs;
  for (int i = 0; i < kMessages; ++i) {
    ProducerMessage m;
    m.topic = topic;
    m.body = "m-" + std::to_string(i);
    msgs.push_back(std::move(m));
  }
  ASSERT_NO_FATAL_FAILURE(send(msgs));
  auto failing = [](const std::string& body) { return std::stoi(body.substr(2)) % 10 == 0; };

  const auto begin = Clock::now();
  auto consumer = push_consumer(
      group, topic, [&](const MessageExt& m) { return m.reconsume_times == 0 && failing(m.body); });
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(deliveries_.wait_total(kMessages + kMessages / 10, begin + 30s))
      << deliveries_.total() << " deliveries";
  consumer->shutdown();

  auto seen = deliveries_.seen();
  ASSERT_EQ(seen.size(), static_cast<size_t>(kMessages));
  for (const auto& [body, s] : seen) {
    ASSERT_EQ(s.size(), failing(body) ? 2u : 1u) << body;
    if (s.size() == 2) {
      EXPECT_EQ(s[1].topic, topic) << body;
      EXPECT_EQ(s[1].reconsume_times, 1u) << body;
    }
  }
  EXPECT_EQ(deliveries_.total(), static_cast<size_t>(kMessages + kMessages / 10));
  EXPECT_EQ(consumer->sent_back_messages(), static_cast<uint64_t>(kMessages / 10));
}

TEST_F(PushRetryProcessTest, AnOrderlyQueueSuspendsThenSendsTheMessageToTheDlqAndGoesOn) {
  const std::string topic = "RetryOrderly";
  const std::string group = "RetryOrderlyGroup";
  create_topic(topic, 1);
  std::vector<ProducerMessage> msgs;
  for (int i = 0; i < 5; ++i) {
    ProducerMessage m;
    m.topic = topic;
    m.body = "m-" + std::to_string(i);
    m.properties = {{"index", std::to_string(i)}};
    msgs.push_back(std::move(m));
  }
  ASSERT_NO_FATAL_FAILURE(send(msgs));

  const auto begin = Clock::now();
  auto consumer = push_consumer(group, topic, [](const MessageExt&) { return false; });
  consumer->set_max_reconsume_times(3);
  consumer->set_suspend_current_queue_time(100ms);
  std::mutex mu;
  std::vector<std::pair<std::string, uint32_t>> order;  // body, reconsume times
  consumer->register_message_listener_orderly([&](const std::vector<MessageExt>& batch) {
    bool suspend = false;
    for (const auto& m : batch) {
      deliveries_.add(m);
      std::lock_guard lock(mu);
      order.emplace_back(m.body, m.reconsume_times);
      suspend = suspend || m.body == "m-1";
    }
    return suspend ? client::ConsumeOrderlyStatus::kSuspendCurrentQueueAMoment
                   : client::ConsumeOrderlyStatus::kSuccess;
  });
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(deliveries_.wait_total(4 + 4, begin + 20s)) << deliveries_.total();
  auto dead = await_messages(dlq_topic(group), begin + 25s);
  consumer->shutdown();

  std::lock_guard lock(mu);
  const std::vector<std::pair<std::string, uint32_t>> expected = {
      {"m-0", 0}, {"m-1", 0}, {"m-1", 1}, {"m-1", 2},
      {"m-1", 3}, {"m-2", 0}, {"m-3", 0}, {"m-4", 0}};
  EXPECT_EQ(order, expected);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].body, "m-1");
  EXPECT_EQ(dead[0].properties["index"], "1");
  EXPECT_EQ(dead[0].properties["RETRY_TOPIC"], topic);
}

}  // namespace
}  // namespace comet::testing
