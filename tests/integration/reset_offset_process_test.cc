// Offsets by time against real comet-namesrv and comet-broker processes: the time search lands on
// the first message stored at or after the time; resetOffsetByTime while three push consumers
// run moves each of them to the reset point (checked against the bodies) and none commits an
// older offset afterwards (their listeners are held on a gate through the reset); with the group
// offline, a consumer started later begins at the reset point; a reset reaches the slave and
// survives promoteSlave; bad input gets typed errors naming what was wrong.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "admin/admin_client.h"
#include "admin/commands.h"
#include "consumer/pull_consumer.h"
#include "consumer/push_consumer.h"
#include "integration/cluster.h"
#include "integration/metadata_offsets.h"

namespace comet::testing {
namespace {

using client::ConsumeFromWhere;
using client::ConsumeStatus;
using client::MessageExt;
using client::MessageQueue;
using client::PullConsumer;
using client::PullStatus;
using client::PushConsumer;
using Clock = std::chrono::steady_clock;

constexpr const char* kTopic = "ResetTopic";
constexpr int kQueues = 6;
constexpr int kFirstBatch = 20;   // per queue, offsets 0..19
constexpr int kSecondBatch = 10;  // per queue, offsets 20..29
constexpr int kPerQueue = kFirstBatch + kSecondBatch;

std::string body_of(int q, uint64_t offset) {
  return "q" + std::to_string(q) + "-" + std::to_string(offset);
}

// Listener calls (one message each) in the order they began, per queue; while the gate is
// closed a call waits in the listener, counted as blocked.
class Deliveries {
 public:
  struct Entry {
    uint64_t offset;
    std::string body;
  };

  void deliver(const MessageExt& m) {
    std::unique_lock lock(mu_);
    by_queue_[m.queue_id].push_back({m.queue_offset, m.body});
    ++total_;
    ++blocked_;
    cv_.notify_all();
    // Bounded: the test opens the gate (or fails) well within this.
    cv_.wait_for(lock, 60s, [&] { return open_; });
    --blocked_;
  }
  void set_open(bool open) {
    std::lock_guard lock(mu_);
    open_ = open;
    cv_.notify_all();
  }
  // Waits until `pred()` holds (under the lock) or 30 s pass.
  template <typename Pred>
  bool wait(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 30s, [&] { return pred(); });
  }
  bool wait_blocked(size_t n) {
    return wait([&] { return blocked_ >= n; });
  }
  // Every offset [from, to) of every queue delivered at least once, from entry `skip[q]` on.
  bool wait_covered(const std::map<uint32_t, size_t>& skip,
                    const std::map<uint32_t, uint64_t>& from, uint64_t to) {
    return wait([&] {
      for (const auto& [q, start] : from) {
        std::set<uint64_t> seen;
        const auto& list = by_queue_[q];
        const size_t first = skip.count(q) ? skip.at(q) : 0;
        for (size_t i = first; i < list.size(); ++i)
          seen.insert(list[i].offset);
        for (uint64_t o = start; o < to; ++o)
          if (!seen.count(o)) return false;
      }
      return true;
    });
  }
  std::map<uint32_t, std::vector<Entry>> by_queue() {
    std::lock_guard lock(mu_);
    return by_queue_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint32_t, std::vector<Entry>> by_queue_;
  size_t total_ = 0;
  size_t blocked_ = 0;
  bool open_ = true;
};

class ResetOffsetProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  std::string start_broker(const std::string& key, std::vector<std::string> extra = {}) {
    auto addr = cluster_->start_broker_as(key, "broker-a", std::move(extra));
    EXPECT_TRUE(addr.is_ok()) << addr.status().to_string();
    return addr.is_ok() ? *addr : std::string();
  }

  void create_topic(const std::string& addr) {
    auto r = cluster_->client().invoke(addr, update_topic_request(kTopic, kQueues), 10s);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  // Offsets [from, to) of every queue, one message per send, the queues in turn (so store times
  // interleave across queues).
  void send(const std::string& addr, int from, int to) {
    for (int i = from; i < to; ++i) {
      for (int q = 0; q < kQueues; ++q) {
        auto r = cluster_->client().invoke(
            addr, send_request(kTopic, q, {body_of(q, static_cast<uint64_t>(i))}), 10s);
        ASSERT_TRUE(r.is_ok()) << r.status().to_string();
        ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
      }
    }
  }

  MessageQueue mq(int q) const {
    return MessageQueue{kTopic, "broker-a", static_cast<uint32_t>(q)};
  }

  // Store times of the first `per_queue` messages of each queue, read back with a pull
  // consumer. Long polls: the broker indexes a message a moment after acknowledging it.
  std::map<uint32_t, std::vector<int64_t>> store_times(PullConsumer& pc, size_t per_queue) {
    std::map<uint32_t, std::vector<int64_t>> out;
    for (int q = 0; q < kQueues; ++q) {
      auto& list = out[static_cast<uint32_t>(q)];
      for (int round = 0; round < 100 && list.size() < per_queue; ++round) {
        auto r = pc.pull_block_if_not_found(mq(q), "*", list.size(), 64);
        EXPECT_TRUE(r.is_ok()) << r.status().to_string();
        if (!r.is_ok()) break;
        for (const auto& m : r->msgs) {
          EXPECT_EQ(m.queue_offset, list.size());
          EXPECT_EQ(m.body, body_of(q, m.queue_offset));
          list.push_back(m.store_timestamp_ms);
        }
      }
      EXPECT_EQ(list.size(), per_queue) << "queue " << q;
    }
    return out;
  }

  // The time search's answer, worked out from the store times: the first offset stored at or
  // after `t` (the end when none was).
  static std::map<uint32_t, uint64_t> expected_offsets(
      const std::map<uint32_t, std::vector<int64_t>>& times, int64_t t) {
    std::map<uint32_t, uint64_t> out;
    for (const auto& [q, list] : times) {
      uint64_t o = 0;
      while (o < list.size() && list[o] < t)
        ++o;
      out[q] = o;
    }
    return out;
  }

  std::unique_ptr<PushConsumer> push_consumer(const std::string& group, const std::string& id,
                                              Deliveries& deliveries) {
    auto c = std::make_unique<PushConsumer>(group, cluster_->client_config(id));
    EXPECT_TRUE(c->subscribe(kTopic, "*").is_ok());
    c->set_consume_from_where(ConsumeFromWhere::kFirstOffset);
    c->set_consume_thread_count(8);
    c->set_rebalance_interval(300ms);
    c->set_persist_offset_interval(200ms);
    c->set_long_polling_suspend(1000ms);
    c->register_message_listener([&deliveries](const std::vector<MessageExt>& msgs) {
      for (const auto& m : msgs)
        deliveries.deliver(m);
      return ConsumeStatus::kSuccess;
    });
    EXPECT_TRUE(c->start().is_ok());
    return c;
  }

  std::map<uint32_t, uint64_t> broker_offsets(const std::string& addr, const std::string& group) {
    std::map<uint32_t, uint64_t> out;
    for (const auto& [k, v] : query_offsets(cluster_->client(), addr, group, kTopic, kQueues)) {
      const auto q = static_cast<uint32_t>(std::stoul(k.substr(k.rfind('/') + 1)));
      out[q] = static_cast<uint64_t>(v);
    }
    return out;
  }

  static std::map<uint32_t, uint64_t> offsets_of(const protocol::ResetOffsetResultT& r) {
    std::map<uint32_t, uint64_t> out;
    for (const auto& e : r.offsets)
      out[static_cast<uint32_t>(e->queue_id)] = static_cast<uint64_t>(e->offset);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(ResetOffsetProcessTest, TimeSearchLandsOnTheFirstMessageStoredAtOrAfterTheTime) {
  const std::string broker = start_broker("b");
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  ASSERT_NO_FATAL_FAILURE(send(broker, 0, kFirstBatch));
  PullConsumer pc("time-search", cluster_->client_config("time-search"));
  ASSERT_TRUE(pc.start().is_ok());
  const auto times = store_times(pc, kFirstBatch);
  ASSERT_EQ(times.size(), static_cast<size_t>(kQueues));
  for (int q = 0; q < kQueues; ++q) {
    const auto& list = times.at(static_cast<uint32_t>(q));
    ASSERT_EQ(list.size(), static_cast<size_t>(kFirstBatch));
    auto earliest = pc.earliest_msg_store_time(mq(q));
    ASSERT_TRUE(earliest.is_ok()) << earliest.status().to_string();
    EXPECT_EQ(*earliest, list.front());
    // Every message's own time, a moment before the first, and a time after the last.
    std::vector<int64_t> probes(list.begin(), list.end());
    probes.push_back(list.front() - 1000);
    probes.push_back(list.back() + 1);
    for (int64_t t : probes) {
      auto found = pc.search_offset(mq(q), t);
      ASSERT_TRUE(found.is_ok()) << found.status().to_string();
      EXPECT_EQ(*found, expected_offsets(times, t).at(static_cast<uint32_t>(q)))
          << "queue " << q << " time " << t;
    }
  }
}

TEST_F(ResetOffsetProcessTest, ThreeRunningPushConsumersContinueFromTheResetPoint) {
  const std::string broker = start_broker("b");
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  Deliveries deliveries;
  std::vector<std::unique_ptr<PushConsumer>> consumers;
  for (int i = 0; i < 3; ++i)
    consumers.push_back(push_consumer("reset-group", "reset-" + std::to_string(i), deliveries));
  ASSERT_NO_FATAL_FAILURE(send(broker, 0, kFirstBatch));
  std::map<uint32_t, uint64_t> zero;
  for (uint32_t q = 0; q < kQueues; ++q)
    zero[q] = 0;
  ASSERT_TRUE(deliveries.wait_covered({}, zero, kFirstBatch));
  for (const auto& c : consumers)
    ASSERT_EQ(c->assigned_queues().size(), 2u) << "the group has not settled: 2 queues each";

  // Hold every listener: each queue's next call (offset 20) waits on the gate.
  deliveries.set_open(false);
  ASSERT_NO_FATAL_FAILURE(send(broker, kFirstBatch, kPerQueue));
  ASSERT_TRUE(deliveries.wait_blocked(kQueues));
  std::map<uint32_t, size_t> held_at;  // the index of each queue's held call
  for (const auto& [q, list] : deliveries.by_queue())
    held_at[q] = list.size() - 1;

  PullConsumer pc("reset-reader", cluster_->client_config("reset-reader"));
  ASSERT_TRUE(pc.start().is_ok());
  const auto times = store_times(pc, kPerQueue);
  const int64_t t = times.at(0).at(10);  // back into the first batch
  const auto expected = expected_offsets(times, t);

  admin::AdminClient admin(cluster_->namesrv_addr(), 5s);
  const auto reset_began = Clock::now();
  auto reset = admin.reset_offset_by_time(broker, "reset-group", kTopic, t, /*force=*/true);
  ASSERT_TRUE(reset.is_ok()) << reset.status().to_string();
  std::printf("reset of %d queues with 3 online consumers answered in %lld ms\n", kQueues,
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - reset_began)
                      .count()));
  EXPECT_EQ(offsets_of(*reset), expected);
  EXPECT_EQ(reset->clients_notified, 3);
  EXPECT_EQ(reset->clients_acked, 3);
  EXPECT_EQ(broker_offsets(broker, "reset-group"), expected);

  // Each queue's next call begins at its reset offset (and waits on the gate too).
  ASSERT_TRUE(deliveries.wait_blocked(2 * kQueues));
  for (const auto& [q, list] : deliveries.by_queue()) {
    ASSERT_GT(list.size(), held_at[q] + 1) << "queue " << q;
    const auto& first = list[held_at[q] + 1];
    EXPECT_EQ(first.offset, expected.at(q)) << "queue " << q;
    EXPECT_EQ(first.body, body_of(static_cast<int>(q), expected.at(q)));
  }
  // While the listeners are held, pulls and periodic commits (every 200 ms) go on: none may
  // carry an offset from before the reset. Watch the broker for five commit rounds.
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(200ms);  // a quiet window, not a wait for an event
    EXPECT_EQ(broker_offsets(broker, "reset-group"), expected) << "round " << round;
  }

  deliveries.set_open(true);
  std::map<uint32_t, size_t> after_held;
  for (const auto& [q, i] : held_at)
    after_held[q] = i + 1;
  ASSERT_TRUE(deliveries.wait_covered(after_held, expected, kPerQueue));
  for (const auto& [q, list] : deliveries.by_queue()) {
    uint64_t want = expected.at(q);  // in order, from the reset point, nothing skipped
    for (size_t i = held_at[q] + 1; i < list.size() && want < kPerQueue; ++i, ++want) {
      EXPECT_EQ(list[i].offset, want) << "queue " << q;
      EXPECT_EQ(list[i].body, body_of(static_cast<int>(q), want));
    }
  }
  for (auto& c : consumers)
    c->shutdown();  // commits what was consumed
  std::map<uint32_t, uint64_t> end;
  for (uint32_t q = 0; q < kQueues; ++q)
    end[q] = kPerQueue;
  EXPECT_EQ(broker_offsets(broker, "reset-group"), end);
}

TEST_F(ResetOffsetProcessTest, AnOfflineGroupStartsAtTheResetPoint) {
  const std::string broker = start_broker("b");
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  ASSERT_NO_FATAL_FAILURE(send(broker, 0, kFirstBatch));
  for (int q = 0; q < kQueues; ++q) {
    auto r = cluster_->client().invoke(
        broker, commit_offset_request("offline-group", kTopic, q, kFirstBatch), 10s);
    ASSERT_TRUE(r.is_ok() && r->response_code() == ResponseCode::SUCCESS);
  }
  PullConsumer pc("offline-reader", cluster_->client_config("offline-reader"));
  ASSERT_TRUE(pc.start().is_ok());
  const auto times = store_times(pc, kFirstBatch);
  const int64_t t = times.at(2).at(5);
  const auto expected = expected_offsets(times, t);

  // As an operator runs it: comet-admin resetOffsetByTime, the time in ms.
  std::ostringstream out, err;
  const int rc = admin::run(
      {"resetOffsetByTime", "-g", "offline-group", "-t", kTopic, "-s", std::to_string(t)}, out, err,
      cluster_->namesrv_addr());
  ASSERT_EQ(rc, admin::kExitOk) << err.str();
  EXPECT_NE(out.str().find("#brokerName"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("broker-a"), std::string::npos) << out.str();
  EXPECT_EQ(broker_offsets(broker, "offline-group"), expected);

  Deliveries deliveries;
  auto consumer = push_consumer("offline-group", "offline-0", deliveries);
  ASSERT_TRUE(deliveries.wait_covered({}, expected, kFirstBatch));
  for (const auto& [q, list] : deliveries.by_queue()) {
    ASSERT_FALSE(list.empty());
    EXPECT_EQ(list.front().offset, expected.at(q)) << "queue " << q;
    EXPECT_EQ(list.front().body, body_of(static_cast<int>(q), expected.at(q)));
  }
  consumer->shutdown();
}

// The reset is a metadata record: the slave applies it (back from what was committed), a slave
// refuses to reset itself and names its master, and the promoted slave keeps the reset offsets.
TEST_F(ResetOffsetProcessTest, AResetReachesTheSlaveAndSurvivesPromotion) {
  const std::string master = start_broker("m", {"brokerRole=ASYNC_MASTER"});
  const std::string slave =
      start_broker("s", {"brokerRole=SLAVE", "brokerId=1", "slaveSyncIntervalMs=300"});
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s, true).is_ok());
  ASSERT_NO_FATAL_FAILURE(create_topic(master));
  ASSERT_NO_FATAL_FAILURE(send(master, 0, kFirstBatch));
  OffsetMap committed;
  for (int q = 0; q < kQueues; ++q) {
    auto r = cluster_->client().invoke(
        master, commit_offset_request("failover-group", kTopic, q, kFirstBatch), 10s);
    ASSERT_TRUE(r.is_ok() && r->response_code() == ResponseCode::SUCCESS);
    committed[offset_key("failover-group", kTopic, q)] = kFirstBatch;
  }
  ASSERT_EQ(await_replicated_offsets(cluster_->client(), slave, committed, 30s), committed);

  PullConsumer pc("failover-reader", cluster_->client_config("failover-reader"));
  ASSERT_TRUE(pc.start().is_ok());
  const auto times = store_times(pc, kFirstBatch);
  const int64_t t = times.at(0).at(4);
  const auto expected = expected_offsets(times, t);

  admin::AdminClient admin(cluster_->namesrv_addr(), 5s);
  auto refused = admin.reset_offset_by_time(slave, "failover-group", kTopic, t, true);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("master at " + master), std::string::npos)
      << refused.status().to_string();
  // The slave answers time searches from its own copy.
  auto search = cluster_->client().invoke(
      slave,
      [&] {
        auto req = RemotingCommand::request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP);
        protocol::SearchOffsetRequestT ext;
        ext.topic = kTopic;
        ext.queue_id = 1;
        ext.timestamp = t;
        req.set_ext(std::move(ext));
        return req;
      }(),
      10s);
  ASSERT_TRUE(search.is_ok() && search->response_code() == ResponseCode::SUCCESS);
  EXPECT_EQ(static_cast<uint64_t>(search->ext<protocol::QueueOffsetResponseT>()->offset),
            expected.at(1));

  auto reset = admin.reset_offset_by_time(master, "failover-group", kTopic, t, true);
  ASSERT_TRUE(reset.is_ok()) << reset.status().to_string();
  ASSERT_EQ(offsets_of(*reset), expected);
  // The slave's records carry the reset; its periodic sync (300 ms) must not push its older,
  // larger copy back to the master.
  ASSERT_TRUE(follow_metadata(
      cluster_->client(), slave,
      [&](const RemotingCommand& resp) {
        for (const auto& r : metadata_records_of(resp))
          for (const auto& e : r.offset_resets)
            if (e && e->consumer_group == "failover-group") return true;
        return false;
      },
      30s));
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(300ms);  // a sync interval: a quiet window, not a wait
    EXPECT_EQ(broker_offsets(master, "failover-group"), expected) << "round " << round;
  }
  EXPECT_EQ(broker_offsets(slave, "failover-group"), expected);

  cluster_->broker("m")->kill9();
  auto promoted = cluster_->client().invoke(slave, promote_slave_request(2), 10s);
  ASSERT_TRUE(promoted.is_ok());
  ASSERT_EQ(promoted->response_code(), ResponseCode::SUCCESS) << promoted->remark();
  EXPECT_EQ(broker_offsets(slave, "failover-group"), expected);
}

TEST_F(ResetOffsetProcessTest, BadInputGetsTypedErrorsNamingIt) {
  const std::string broker = start_broker("b");
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  ASSERT_NO_FATAL_FAILURE(send(broker, 0, 2));
  admin::AdminClient admin(cluster_->namesrv_addr(), 5s);

  auto unknown_group = admin.reset_offset_by_time(broker, "nobody-group", kTopic, -1, true);
  ASSERT_FALSE(unknown_group.is_ok());
  EXPECT_NE(unknown_group.status().message().find("SUBSCRIPTION_GROUP_NOT_EXIST"),
            std::string::npos)
      << unknown_group.status().to_string();
  EXPECT_NE(unknown_group.status().message().find("nobody-group"), std::string::npos);

  auto unknown_topic = admin.reset_offset_by_time(broker, "nobody-group", "NoSuchTopic", -1, true);
  ASSERT_FALSE(unknown_topic.is_ok());
  EXPECT_NE(unknown_topic.status().message().find("TOPIC_NOT_EXIST"), std::string::npos)
      << unknown_topic.status().to_string();
  EXPECT_NE(unknown_topic.status().message().find("NoSuchTopic"), std::string::npos);

  std::ostringstream out, err;
  int rc = admin::run({"resetOffsetByTime", "-g", "g", "-t", kTopic, "-s", "9 o'clock"}, out, err,
                      cluster_->namesrv_addr());
  EXPECT_EQ(rc, admin::kExitUsage);
  EXPECT_NE(err.str().find("time '9 o'clock'"), std::string::npos) << err.str();
  std::ostringstream out2, err2;
  rc = admin::run({"resetOffsetByTime", "-g", "g", "-t", "NoSuchTopic", "-s", "now"}, out2, err2,
                  cluster_->namesrv_addr());
  EXPECT_EQ(rc, admin::kExitFailure);
  EXPECT_NE(err2.str().find("NoSuchTopic"), std::string::npos) << err2.str();

  auto ask = [&](RequestCode code, const std::string& topic, int32_t queue) {
    auto req = RemotingCommand::request(code);
    if (code == RequestCode::SEARCH_OFFSET_BY_TIMESTAMP) {
      protocol::SearchOffsetRequestT ext;
      ext.topic = topic;
      ext.queue_id = queue;
      req.set_ext(std::move(ext));
    } else {
      protocol::QueueOffsetRequestT ext;
      ext.topic = topic;
      ext.queue_id = queue;
      req.set_ext(std::move(ext));
    }
    auto r = cluster_->client().invoke(broker, std::move(req), 10s);
    EXPECT_TRUE(r.is_ok());
    return r.is_ok() ? r->response_code() : ResponseCode::SYSTEM_ERROR;
  };
  EXPECT_EQ(ask(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, "NoSuchTopic", 0),
            ResponseCode::TOPIC_NOT_EXIST);
  EXPECT_EQ(ask(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, kTopic, kQueues),
            ResponseCode::BAD_REQUEST);
  EXPECT_EQ(ask(RequestCode::GET_EARLIEST_MSG_STORETIME, kTopic, -1), ResponseCode::BAD_REQUEST);
  EXPECT_EQ(ask(RequestCode::GET_EARLIEST_MSG_STORETIME, "NoSuchTopic", 0),
            ResponseCode::TOPIC_NOT_EXIST);
}

}  // namespace
}  // namespace comet::testing
