// Consumers against a real comet-namesrv and comet-broker on loopback: PullConsumer read-back,
// a PushConsumer group whose members join and leave while 100,000 messages flow from two
// producers, offsets that survive a restart of the group, broadcasting, and a producer and a
// consumer that follow a master/slave failover without restarts.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "consumer/pull_consumer.h"
#include "consumer/push_consumer.h"
#include "integration/cluster.h"
#include "producer/producer.h"

namespace comet::testing {
namespace {

using client::ClientConfig;
using client::ConsumeFromWhere;
using client::ConsumeOrderlyStatus;
using client::ConsumeStatus;
using client::MessageExt;
using client::MessageModel;
using client::MessageQueue;
using client::Producer;
using client::ProducerMessage;
using client::PullConsumer;
using client::PullStatus;
using client::PushConsumer;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = 60s;

// Every delivery of every consumer, in order, with a condition variable to wait on.
class Deliveries {
 public:
  struct Key {
    uint32_t queue;
    uint64_t offset;
    auto operator<=>(const Key&) const = default;
  };

  client::MessageListener listener(int consumer) {
    return [this, consumer](const std::vector<MessageExt>& msgs) {
      std::lock_guard lock(mu_);
      record_locked(consumer, msgs);
      return ConsumeStatus::kSuccess;
    };
  }
  // Past `limit` successful deliveries the orderly listener suspends (and records nothing): its
  // queues stop at their first refused message, which is neither skipped nor retried elsewhere.
  client::MessageListenerOrderly orderly_listener(int consumer, size_t limit) {
    return [this, consumer, limit](const std::vector<MessageExt>& msgs) {
      std::lock_guard lock(mu_);
      if (total_ + msgs.size() > limit) return ConsumeOrderlyStatus::kSuspendCurrentQueueAMoment;
      record_locked(consumer, msgs);
      return ConsumeOrderlyStatus::kSuccess;
    };
  }

  bool wait_distinct(size_t n, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return distinct_ >= n; });
  }
  size_t distinct() {
    std::lock_guard lock(mu_);
    return distinct_;
  }
  size_t total() {
    std::lock_guard lock(mu_);
    return total_;
  }
  std::map<Key, int> counts() {
    std::lock_guard lock(mu_);
    return count_;
  }
  std::map<Key, std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  // consumer → queue → offsets in delivery order.
  std::map<int, std::map<uint32_t, std::vector<uint64_t>>> by_consumer() {
    std::lock_guard lock(mu_);
    return by_consumer_;
  }
  std::set<Key> keys_of(int consumer) {
    std::lock_guard lock(mu_);
    std::set<Key> out;
    for (const auto& [q, offsets] : by_consumer_[consumer])
      for (uint64_t o : offsets)
        out.insert({q, o});
    return out;
  }

 private:
  void record_locked(int consumer, const std::vector<MessageExt>& msgs) {
    for (const auto& m : msgs) {
      Key k{m.queue_id, m.queue_offset};
      by_consumer_[consumer][m.queue_id].push_back(m.queue_offset);
      if (++count_[k] == 1) ++distinct_;
      ++total_;
      bodies_[k] = m.body;
    }
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, int> count_;
  std::map<Key, std::string> bodies_;
  std::map<int, std::map<uint32_t, std::vector<uint64_t>>> by_consumer_;
  size_t distinct_ = 0;
  size_t total_ = 0;
};

class ConsumerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
    auto broker = cluster_->start_broker("broker-a");
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

  std::unique_ptr<PushConsumer> push_consumer(const std::string& group, const std::string& id,
                                              const std::string& topic,
                                              client::MessageListener listener) {
    auto c = std::make_unique<PushConsumer>(group, config(id));
    EXPECT_TRUE(c->subscribe(topic, "*").is_ok());
    c->set_consume_from_where(ConsumeFromWhere::kFirstOffset);
    c->set_rebalance_interval(300ms);
    c->set_persist_offset_interval(200ms);
    c->register_message_listener(std::move(listener));
    return c;
  }

  // Sends `count` messages from `producers` producers (each its own client) with `threads`
  // sending threads each; the stored (queue, offset) of each body.
  std::map<Deliveries::Key, std::string> send(const std::string& topic, int count,
                                              int producers = 1, int threads = 1) {
    std::vector<std::unique_ptr<Producer>> clients;
    for (int p = 0; p < producers; ++p) {
      clients.push_back(std::make_unique<Producer>(
          "consumer-test-producer", config("producer-" + std::to_string(p) + "@" + topic)));
      EXPECT_TRUE(clients.back()->start().is_ok());
    }
    std::mutex mu;
    std::map<Deliveries::Key, std::string> sent;
    std::vector<std::thread> senders;
    std::atomic<int> failures{0};
    const int stride = producers * threads;
    for (int t = 0; t < stride; ++t) {
      senders.emplace_back([&, t] {
        Producer& producer = *clients[static_cast<size_t>(t / threads)];
        for (int i = t; i < count; i += stride) {
          ProducerMessage m;
          m.topic = topic;
          m.body = "m-" + std::to_string(i);
          auto r = producer.send(m);
          if (!r.is_ok()) {
            ++failures;
            continue;
          }
          std::lock_guard lock(mu);
          sent[{r->queue_id, r->queue_offset}] = m.body;
        }
      });
    }
    for (auto& s : senders)
      s.join();
    EXPECT_EQ(failures.load(), 0);
    for (auto& producer : clients)
      producer->shutdown();
    return sent;
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string broker_;
};

TEST_F(ConsumerProcessTest, PullConsumerReadsBackEveryMessageInQueueOrder) {
  const std::string topic = "PullBack";
  create_topic(topic, 4);
  auto sent = send(topic, 1000);
  ASSERT_EQ(sent.size(), 1000u);

  PullConsumer consumer("pull-group", config("pull@1"));
  ASSERT_TRUE(consumer.start().is_ok());
  auto queues = consumer.fetch_subscribe_message_queues(topic);
  ASSERT_TRUE(queues.is_ok()) << queues.status().to_string();
  ASSERT_EQ(queues->size(), 4u);
  size_t read = 0;
  for (const MessageQueue& mq : *queues) {
    std::vector<std::string> expected;
    for (const auto& [key, body] : sent)
      if (key.queue == mq.queue_id) expected.push_back(body);  // map order: by offset
    auto min = consumer.min_offset(mq);
    ASSERT_TRUE(min.is_ok()) << min.status().to_string();
    EXPECT_EQ(*min, 0u);
    std::vector<std::string> got;
    uint64_t offset = *min;
    for (int round = 0; round < 200 && got.size() < expected.size(); ++round) {
      // Long polling: the index may trail the acknowledged sends for a moment.
      auto r = consumer.pull_block_if_not_found(mq, "*", offset, 32);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      for (auto& m : r->msgs) {
        EXPECT_EQ(m.queue_offset, offset + (&m - r->msgs.data()));
        EXPECT_EQ(m.topic, topic);
        EXPECT_EQ(m.msg_id.size(), 32u);
        got.push_back(m.body);
      }
      offset = r->next_begin_offset;
    }
    EXPECT_EQ(got, expected) << mq.to_string();
    read += got.size();
    EXPECT_EQ(consumer.max_offset(mq).value(), expected.size());
    EXPECT_FALSE(consumer.fetch_consume_offset(mq).value().has_value());
    ASSERT_TRUE(consumer.update_consume_offset(mq, offset).is_ok());
    EXPECT_EQ(consumer.fetch_consume_offset(mq).value(), std::optional<uint64_t>(offset));
    auto none = consumer.pull(mq, "*", offset, 32);
    ASSERT_TRUE(none.is_ok());
    EXPECT_EQ(none->status, PullStatus::kNoNewMsg);
  }
  EXPECT_EQ(read, 1000u);

  // A long poll at the end of queue 0 is answered by the next message on it.
  const MessageQueue q0 = (*queues)[0];
  const uint64_t end = consumer.max_offset(q0).value();
  std::thread late([&] {
    auto r = cluster_->client().invoke(broker_, send_request(topic, 0, {"late"}), 10s);
    EXPECT_TRUE(r.is_ok() && r->response_code() == ResponseCode::SUCCESS);
  });
  const auto begin = Clock::now();
  auto woken = consumer.pull_block_if_not_found(q0, "*", end, 32);
  late.join();
  ASSERT_TRUE(woken.is_ok()) << woken.status().to_string();
  ASSERT_EQ(woken->status, PullStatus::kFound);
  ASSERT_EQ(woken->msgs.size(), 1u);
  EXPECT_EQ(woken->msgs[0].body, "late");
  EXPECT_LT(Clock::now() - begin, 10s);
  consumer.shutdown();
}

TEST_F(ConsumerProcessTest, PushGroupMembersJoinAndLeaveWithoutLosingMessages) {
  const std::string topic = "PushGroup";
  const std::string group = "push-group";
  constexpr int kMessages = 100000;
  create_topic(topic, 8);
  Deliveries d;
  const auto begin = Clock::now();
  const auto deadline = begin + 4 * kWait;  // a bound for sanitizer builds, not the expected time

  auto a = push_consumer(group, "member-a@test", topic, d.listener(0));
  ASSERT_TRUE(a->start().is_ok());
  std::map<Deliveries::Key, std::string> sent;
  std::thread producers([&] { sent = send(topic, kMessages, /*producers=*/2, /*threads=*/2); });

  ASSERT_TRUE(d.wait_distinct(10000, deadline)) << d.distinct();
  auto b = push_consumer(group, "member-b@test", topic, d.listener(1));
  ASSERT_TRUE(b->start().is_ok());
  ASSERT_TRUE(d.wait_distinct(35000, deadline)) << d.distinct();
  auto c = push_consumer(group, "member-c@test", topic, d.listener(2));
  ASSERT_TRUE(c->start().is_ok());
  ASSERT_TRUE(d.wait_distinct(60000, deadline)) << d.distinct();
  const auto b_queues = b->assigned_queues();
  b->shutdown();  // leaves mid-run: its queues go to a and c
  producers.join();
  ASSERT_EQ(sent.size(), static_cast<size_t>(kMessages));
  ASSERT_TRUE(d.wait_distinct(kMessages, deadline)) << d.distinct();
  const auto took = Clock::now() - begin;
  a->shutdown();
  c->shutdown();

  // Everything sent arrived, as stored.
  auto counts = d.counts();
  auto bodies = d.bodies();
  ASSERT_EQ(counts.size(), sent.size());
  for (const auto& [key, body] : sent) {
    ASSERT_TRUE(counts.contains(key)) << key.queue << "@" << key.offset;
    ASSERT_EQ(bodies[key], body);
  }
  // Each member saw each queue in order; duplicates come only from queues that changed owner.
  auto views = d.by_consumer();
  std::map<uint32_t, std::set<int>> owners;
  for (const auto& [consumer, queues] : views) {
    for (const auto& [q, offsets] : queues) {
      owners[q].insert(consumer);
      for (size_t i = 1; i < offsets.size(); ++i)
        ASSERT_LT(offsets[i - 1], offsets[i]) << "consumer " << consumer << " queue " << q;
    }
  }
  size_t duplicates = 0;
  std::set<uint32_t> dup_queues;
  for (const auto& [key, n] : counts) {
    if (n == 1) continue;
    duplicates += static_cast<size_t>(n - 1);
    dup_queues.insert(key.queue);
    EXPECT_GE(owners[key.queue].size(), 2u)
        << "duplicate on queue " << key.queue << " that never changed owner";
  }
  EXPECT_FALSE(b_queues.empty());
  EXPECT_EQ(views.size(), 3u);
  // The listener never failed: nothing went to the retry topic.
  EXPECT_EQ(a->sent_back_messages() + b->sent_back_messages() + c->sent_back_messages(), 0u);
  std::printf(
      "push group: %d messages, %zu deliveries, %zu duplicates on %zu of 8 queues, %lld ms\n",
      kMessages, d.total(), duplicates, dup_queues.size(),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

TEST_F(ConsumerProcessTest, MembersRebalanceWhenTheBrokerSaysTheGroupChanged) {
  // The periodic rebalance is a minute away for both members: only the broker's notice
  // (NOTIFY_CONSUMER_IDS_CHANGED) can make a member give up queues to one that joined, or take
  // over the queues of one that left, within this test's bounds.
  const std::string topic = "GroupNotice";
  const std::string group = "notice-group";
  constexpr int kBatch = 2000;
  create_topic(topic, 8);
  Deliveries d;
  const auto deadline = Clock::now() + kWait;
  auto member = [&](const std::string& id, int n) {
    auto c = push_consumer(group, id, topic, d.listener(n));
    c->set_rebalance_interval(60s);
    return c;
  };
  auto a = member("notice-a@test", 0);
  ASSERT_TRUE(a->start().is_ok());
  send(topic, kBatch);
  ASSERT_TRUE(d.wait_distinct(kBatch, deadline)) << d.distinct();
  EXPECT_EQ(a->assigned_queues().size(), 8u);

  // b joins: a hears of it and gives up half its queues before b consumes them, so a second
  // batch is consumed once (a minute of both consuming b's queues would deliver half of it
  // twice).
  auto b = member("notice-b@test", 1);
  ASSERT_TRUE(b->start().is_ok());
  send(topic, kBatch);
  ASSERT_TRUE(d.wait_distinct(2 * kBatch, deadline)) << d.distinct();
  size_t duplicates = 0;
  for (const auto& [key, n] : d.counts())
    duplicates += static_cast<size_t>(n - 1);
  EXPECT_LT(duplicates * 20, static_cast<size_t>(kBatch)) << duplicates << " delivered twice";
  EXPECT_FALSE(d.keys_of(1).empty());
  EXPECT_EQ(a->assigned_queues().size() + b->assigned_queues().size(), 8u);

  // b leaves: a takes its queues back at once, well before its own next rebalance.
  b->shutdown();
  send(topic, kBatch);
  ASSERT_TRUE(d.wait_distinct(3 * kBatch, Clock::now() + 20s)) << d.distinct();
  EXPECT_EQ(a->assigned_queues().size(), 8u);
  a->shutdown();
}

TEST_F(ConsumerProcessTest, CommittedOffsetsSurviveAGroupRestart) {
  const std::string topic = "Resume";
  const std::string group = "resume-group";
  create_topic(topic, 4);
  auto sent = send(topic, 1000);
  ASSERT_EQ(sent.size(), 1000u);
  const auto deadline = Clock::now() + kWait;
  Deliveries d;

  // The first consumer takes 500 messages and refuses the rest until it is shut down.
  auto first = push_consumer(group, "resume-1@test", topic, d.listener(0));
  first->register_message_listener_orderly(d.orderly_listener(0, 500));
  first->set_suspend_current_queue_time(100ms);
  ASSERT_TRUE(first->start().is_ok());
  ASSERT_TRUE(d.wait_distinct(500, deadline));
  first->shutdown();
  const auto first_keys = d.keys_of(0);
  ASSERT_EQ(first_keys.size(), 500u);

  // Shutdown committed exactly what was consumed: per queue, one past the last delivery.
  PullConsumer reader(group, config("resume-reader@test"));
  ASSERT_TRUE(reader.start().is_ok());
  auto queues = reader.fetch_subscribe_message_queues(topic);
  ASSERT_TRUE(queues.is_ok());
  for (const auto& mq : *queues) {
    uint64_t consumed = 0;
    for (const auto& k : first_keys)
      if (k.queue == mq.queue_id) ++consumed;
    auto committed = reader.fetch_consume_offset(mq);
    ASSERT_TRUE(committed.is_ok()) << committed.status().to_string();
    ASSERT_TRUE(committed->has_value()) << mq.to_string();
    EXPECT_EQ(**committed, consumed) << mq.to_string();
  }
  reader.shutdown();

  auto second = push_consumer(group, "resume-2@test", topic, d.listener(1));
  ASSERT_TRUE(second->start().is_ok());
  ASSERT_TRUE(d.wait_distinct(1000, deadline)) << d.distinct();
  second->shutdown();
  const auto second_keys = d.keys_of(1);
  size_t redelivered = 0;
  for (const auto& k : second_keys)
    redelivered += first_keys.count(k);
  EXPECT_EQ(redelivered, 0u);
  EXPECT_EQ(first_keys.size() + second_keys.size(), 1000u);
  std::printf("resume: first consumer %zu, second %zu, redelivered %zu\n", first_keys.size(),
              second_keys.size(), redelivered);
}

TEST_F(ConsumerProcessTest, BroadcastingDeliversEverythingToEveryMember) {
  const std::string topic = "Broadcast";
  const std::string group = "broadcast-group";
  create_topic(topic, 4);
  const auto deadline = Clock::now() + kWait;
  Deliveries first, second;
  auto make = [&](const std::string& id, Deliveries& d) {
    auto c = push_consumer(group, id, topic, d.listener(0));
    c->set_message_model(MessageModel::kBroadcasting);
    c->set_offset_store_dir(dir_.path() + "/offsets/" + id);
    return c;
  };
  auto a = make("broadcast-a@test", first);
  auto b = make("broadcast-b@test", second);
  ASSERT_TRUE(a->start().is_ok());
  ASSERT_TRUE(b->start().is_ok());
  auto sent = send(topic, 400);
  ASSERT_EQ(sent.size(), 400u);
  ASSERT_TRUE(first.wait_distinct(400, deadline)) << first.distinct();
  ASSERT_TRUE(second.wait_distinct(400, deadline)) << second.distinct();
  a->shutdown();
  b->shutdown();
  EXPECT_EQ(first.counts().size(), 400u);
  EXPECT_EQ(second.counts().size(), 400u);
  EXPECT_EQ(first.bodies().size(), 400u);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/offsets/broadcast-a@test/offsets.txt"));
}

// The failover drill as clients see it: the master of a master/slave group is killed (-9); a
// consumer that starts meanwhile reads everything from the slave; the slave is promoted; the
// producer that was running all along sends to the new master once the route shows it, and the
// consumer follows. Neither client is restarted.
TEST_F(ConsumerProcessTest, ClientsFollowAMasterSlaveFailoverWithoutRestarts) {
  const std::string topic = "Failover";
  // A second group, broker-b: a SYNC_MASTER (every acknowledged message is on the slave) and
  // its slave. The topic lives on broker-b only.
  const std::vector<std::string> ha = {"slaveSyncIntervalMs=200", "haSendHeartbeatInterval=200"};
  auto with = [&](std::vector<std::string> v) {
    v.insert(v.end(), ha.begin(), ha.end());
    return v;
  };
  auto master = cluster_->start_broker_as("b-master", "broker-b", with({"brokerRole=SYNC_MASTER"}));
  ASSERT_TRUE(master.is_ok()) << master.status().to_string();
  auto slave =
      cluster_->start_broker_as("b-slave", "broker-b", with({"brokerRole=SLAVE", "brokerId=1"}));
  ASSERT_TRUE(slave.is_ok()) << slave.status().to_string();
  ASSERT_TRUE(cluster_->broker("b-master")->wait_for_line("in sync from offset", kWait).is_ok());
  auto created = cluster_->client().invoke(*master, update_topic_request(topic, 4), 10s);
  ASSERT_TRUE(created.is_ok() && created->response_code() == ResponseCode::SUCCESS);

  Producer producer("failover-producer", config("failover-producer@test"));
  producer.set_send_msg_timeout(3000ms);
  ASSERT_TRUE(producer.start().is_ok());
  std::set<std::string> acked;
  std::string last_error;
  // Sends messages [first, first + count), each until it is acknowledged or the deadline passes.
  auto send_all = [&](int first, int count, Clock::time_point deadline) {
    int failed_attempts = 0;
    for (int i = first; i < first + count; ++i) {
      ProducerMessage m{topic, "f-" + std::to_string(i), "", "", {}, 0};
      // A send waits (up to send_msg_timeout) while the route shows no master; one that fails
      // fast (the old master's address refusing) is tried again, a bounded number of times.
      for (int attempt = 0;; ++attempt) {
        auto r = producer.send(m);
        if (r.is_ok() && r->status == client::SendStatus::kSendOk) break;
        last_error =
            r.is_ok() ? std::string(client::send_status_name(r->status)) : r.status().to_string();
        ++failed_attempts;
        if (Clock::now() > deadline || attempt >= 200) return failed_attempts;
      }
      acked.insert(m.body);
    }
    return failed_attempts;
  };
  EXPECT_EQ(send_all(0, 1000, Clock::now() + kWait), 0);

  cluster_->broker("b-master")->kill9();

  // A consumer started now finds no master: it reads the queues from the slave.
  Deliveries d;
  auto consumer = push_consumer("failover-group", "failover-consumer@test", topic, d.listener(0));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(d.wait_distinct(1000, Clock::now() + kWait)) << d.distinct();

  // Promote the slave as comet-admin promoteSlave does, to ASYNC_MASTER: alone, a SYNC_MASTER
  // would refuse every send until a slave is back. The producer, unchanged, follows.
  auto promoted = cluster_->client().invoke(*slave, promote_slave_request(2, "ASYNC_MASTER"), 10s);
  ASSERT_TRUE(promoted.is_ok()) << promoted.status().to_string();
  ASSERT_EQ(promoted->response_code(), ResponseCode::SUCCESS) << promoted->remark();
  const auto promoted_at = Clock::now();
  const int retried = send_all(1000, 1000, promoted_at + kWait);
  ASSERT_EQ(acked.size(), 2000u) << "the producer did not follow the new master: " << last_error;
  const auto followed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - promoted_at).count();

  // The consumer follows too: everything acknowledged is delivered, with its body.
  ASSERT_TRUE(d.wait_distinct(2000, Clock::now() + kWait)) << d.distinct();
  std::set<std::string> delivered;
  for (const auto& [key, body] : d.bodies())
    delivered.insert(body);
  EXPECT_EQ(delivered, acked);
  consumer->shutdown();
  producer.shutdown();
  std::printf("failover: producer resent %d times, 1000 sends on the new master in %lld ms\n",
              retried, static_cast<long long>(followed_ms));
}

}  // namespace
}  // namespace comet::testing
