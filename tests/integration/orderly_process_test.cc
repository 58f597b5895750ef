// Orderly consumption across a group against a real comet-namesrv and comet-broker: the broker's
// queue locks (LOCK/UNLOCK_BATCH_MQ) keep every queue in one member's listener at a time while
// members join and leave, and a member killed with SIGKILL keeps its queues until the broker's
// lease (rebalanceLockMaxLiveTime, 3000 ms here) lapses. Every listener call is recorded
// (queue, member, enter and exit on the steady clock, the message's sequence number in its
// queue); the checks: no two members' calls on one queue overlap, and each queue is delivered in
// order without a gap.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "consumer/push_consumer.h"
#include "integration/cluster.h"
#include "producer/producer.h"

namespace comet::testing {
namespace {

using client::ConsumeFromWhere;
using client::ConsumeOrderlyStatus;
using client::MessageExt;
using client::MessageQueue;
using client::Producer;
using client::ProducerMessage;
using client::PushConsumer;
using Clock = std::chrono::steady_clock;

constexpr int64_t kLeaseMs = 3000;  // the broker's rebalanceLockMaxLiveTime here
constexpr auto kLockRenew = 1000ms;
constexpr auto kLockLive = 2000ms;
constexpr auto kWait = 60s;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// One message in one listener call.
struct Call {
  uint32_t queue = 0;
  int member = 0;
  uint64_t seq = 0;
  int64_t enter_ns = 0;
  int64_t exit_ns = 0;
};

class Calls {
 public:
  client::MessageListenerOrderly listener(int member, std::chrono::milliseconds per_message) {
    return [this, member, per_message](const std::vector<MessageExt>& msgs) {
      for (const auto& m : msgs) {
        Call c{m.queue_id, member, std::stoull(m.body), now_ns(), 0};
        std::this_thread::sleep_for(per_message);
        c.exit_ns = now_ns();
        add(c);
      }
      return ConsumeOrderlyStatus::kSuccess;
    };
  }
  void add(const Call& c) {
    std::lock_guard lock(mu_);
    calls_.push_back(c);
    if (seen_.insert({c.queue, c.seq}).second) ++distinct_;
    if (c.member == 0) ++by_first_;
    cv_.notify_all();
  }
  bool wait_distinct(size_t n, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return distinct_ >= n; });
  }
  bool wait_member0(size_t n, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return by_first_ >= n; });
  }
  std::vector<Call> snapshot() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
  std::set<std::pair<uint32_t, uint64_t>> seen_;
  size_t distinct_ = 0;
  size_t by_first_ = 0;
};

struct QueueCheck {
  size_t duplicates = 0;
  std::set<int> members;
};

// Per queue, in order of entry: no call enters before every earlier one (any member's) exited,
// and the sequence numbers run 0, 1, 2, ... up to `per_queue` - 1, a redelivery going back at
// most to where it started (never past the highest one delivered + 1).
std::map<uint32_t, QueueCheck> check_calls(std::vector<Call> calls, uint64_t per_queue) {
  std::map<uint32_t, std::vector<Call>> by_queue;
  for (const auto& c : calls)
    by_queue[c.queue].push_back(c);
  std::map<uint32_t, QueueCheck> out;
  for (auto& [q, qc] : by_queue) {
    std::sort(qc.begin(), qc.end(),
              [](const Call& a, const Call& b) { return a.enter_ns < b.enter_ns; });
    int64_t last_exit = 0;
    int last_member = -1;
    int64_t next = 0;  // the highest sequence number delivered + 1
    QueueCheck& check = out[q];
    for (const auto& c : qc) {
      EXPECT_GE(c.enter_ns, last_exit)
          << "queue " << q << ": member " << c.member << " entered seq " << c.seq
          << " while member " << last_member << " was still in its listener";
      EXPECT_LE(static_cast<int64_t>(c.seq), next) << "queue " << q << ": gap before " << c.seq;
      if (static_cast<int64_t>(c.seq) == next) {
        ++next;
      } else {
        ++check.duplicates;
      }
      last_exit = std::max(last_exit, c.exit_ns);
      last_member = c.member;
      check.members.insert(c.member);
    }
    EXPECT_EQ(next, static_cast<int64_t>(per_queue)) << "queue " << q << " incomplete";
  }
  return out;
}

class OrderlyProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
    auto broker = cluster_->start_broker("broker-a",
                                         {"rebalanceLockMaxLiveTime=" + std::to_string(kLeaseMs)});
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

  std::unique_ptr<PushConsumer> member(const std::string& group, const std::string& id,
                                       const std::string& topic,
                                       client::MessageListenerOrderly listener) {
    auto c = std::make_unique<PushConsumer>(group, cluster_->client_config(id));
    EXPECT_TRUE(c->subscribe(topic, "*").is_ok());
    c->set_consume_from_where(ConsumeFromWhere::kFirstOffset);
    c->set_rebalance_interval(300ms);
    c->set_persist_offset_interval(200ms);
    c->set_lock_renew_interval(kLockRenew);
    c->set_lock_max_live_time(kLockLive);
    c->register_message_listener_orderly(std::move(listener));
    return c;
  }

  // Sends rounds of one message per queue (body: its sequence number in the queue), pausing
  // `pause` between rounds so that the group consumes while it rebalances.
  void send_rounds(const std::string& topic, uint32_t queues, uint64_t rounds,
                   std::chrono::milliseconds pause) {
    Producer producer("orderly-test-producer", cluster_->client_config("producer@" + topic));
    ASSERT_TRUE(producer.start().is_ok());
    for (uint64_t seq = 0; seq < rounds; ++seq) {
      for (uint32_t q = 0; q < queues; ++q) {
        ProducerMessage m;
        m.topic = topic;
        m.body = std::to_string(seq);
        auto r = producer.send(m, MessageQueue{topic, "broker-a", q});
        ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      }
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
    producer.shutdown();
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string broker_;
};

TEST_F(OrderlyProcessTest, NoQueueIsInTwoMembersListenersWhileTheGroupRebalances) {
  const std::string topic = "Ordered";
  const std::string group = "orderly-group";
  constexpr uint32_t kQueues = 8;
  constexpr uint64_t kRounds = 250;
  constexpr size_t kTotal = kQueues * kRounds;
  create_topic(topic, kQueues);
  const auto deadline = Clock::now() + 2 * kWait;
  Calls calls;
  auto a = member(group, "orderly-a@test", topic, calls.listener(0, 1ms));
  auto b = member(group, "orderly-b@test", topic, calls.listener(1, 1ms));
  ASSERT_TRUE(a->start().is_ok());
  ASSERT_TRUE(b->start().is_ok());
  std::thread producer([&] { send_rounds(topic, kQueues, kRounds, 15ms); });

  ASSERT_TRUE(calls.wait_distinct(kTotal / 4, deadline));
  auto c = member(group, "orderly-c@test", topic, calls.listener(2, 1ms));
  ASSERT_TRUE(c->start().is_ok());  // joins: queues move from a and b to c
  ASSERT_TRUE(calls.wait_distinct(kTotal * 3 / 5, deadline));
  b->shutdown();  // leaves: its queues move to a and c once it unlocked them
  producer.join();
  ASSERT_TRUE(calls.wait_distinct(kTotal, deadline));
  a->shutdown();
  c->shutdown();

  auto checked = check_calls(calls.snapshot(), kRounds);
  ASSERT_EQ(checked.size(), kQueues);
  size_t moved = 0;
  for (const auto& [q, check] : checked) {
    // Each owner committed before it unlocked, and the next started there.
    EXPECT_EQ(check.duplicates, 0u) << "queue " << q;
    if (check.members.size() > 1) ++moved;
  }
  EXPECT_GT(moved, 0u);
  std::printf("orderly group: %zu messages on %u queues, %zu queues changed owner\n", kTotal,
              kQueues, moved);
}

RemotingCommand lock_request(RequestCode code, const std::string& group, const std::string& client,
                             const std::vector<std::pair<std::string, int32_t>>& queues,
                             const std::string& broker_name = "broker-a") {
  auto req = RemotingCommand::request(code);
  protocol::LockBatchRequestT ext;
  ext.consumer_group = group;
  ext.client_id = client;
  for (const auto& [topic, id] : queues) {
    auto q = std::make_unique<protocol::MessageQueueT>();
    q->topic = topic;
    q->broker_name = broker_name;
    q->queue_id = id;
    ext.queues.push_back(std::move(q));
  }
  req.set_ext(std::move(ext));
  return req;
}

std::set<int32_t> locked_ids(const RemotingCommand& resp) {
  std::set<int32_t> out;
  if (const auto* ext = resp.ext<protocol::LockBatchResponseT>()) {
    for (const auto& q : ext->locked)
      out.insert(q->queue_id);
  }
  return out;
}

TEST_F(OrderlyProcessTest, TheBrokerLocksForOneClientAtATimeAndASlaveLocksNothing) {
  auto& net = cluster_->client();
  auto call = [&](const std::string& addr, RemotingCommand req) {
    auto r = net.invoke(addr, std::move(req), 10s);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? std::move(r).value() : RemotingCommand{};
  };
  auto lock = [&](const std::string& client, std::vector<std::pair<std::string, int32_t>> qs,
                  const std::string& broker_name = "broker-a") {
    return call(broker_,
                lock_request(RequestCode::LOCK_BATCH_MQ, "lock-g", client, qs, broker_name));
  };
  auto r = lock("c1", {{"T", 0}, {"T", 1}});
  ASSERT_EQ(r.response_code(), ResponseCode::SUCCESS) << r.remark();
  EXPECT_EQ(locked_ids(r), (std::set<int32_t>{0, 1}));
  EXPECT_EQ(locked_ids(lock("c2", {{"T", 1}, {"T", 2}})), (std::set<int32_t>{2}));
  EXPECT_TRUE(locked_ids(lock("c1", {{"T", 3}}, "broker-other")).empty());  // not this broker's
  // Only the owner unlocks.
  r = call(broker_, lock_request(RequestCode::UNLOCK_BATCH_MQ, "lock-g", "c2", {{"T", 1}}));
  EXPECT_EQ(r.response_code(), ResponseCode::SUCCESS);
  EXPECT_TRUE(locked_ids(lock("c2", {{"T", 1}})).empty());
  call(broker_, lock_request(RequestCode::UNLOCK_BATCH_MQ, "lock-g", "c1", {{"T", 1}}));
  EXPECT_EQ(locked_ids(lock("c2", {{"T", 1}})), (std::set<int32_t>{1}));

  // Bad requests get BAD_REQUEST, and the broker serves on.
  const std::vector<std::function<RemotingCommand()>> bad = {
      [] { return RemotingCommand::request(RequestCode::LOCK_BATCH_MQ); },  // no body
      [] {
        return lock_request(RequestCode::LOCK_BATCH_MQ, "bad group!", "c1", {{"T", 0}});
      },
      [] {
        return lock_request(RequestCode::LOCK_BATCH_MQ, "lock-g", "", {{"T", 0}});
      },
      [] {
        return lock_request(RequestCode::LOCK_BATCH_MQ, "lock-g", "c1", {{"T", -1}});
      },
      [] {
        return lock_request(RequestCode::UNLOCK_BATCH_MQ, "lock-g", "c1", {{"bad topic", 0}});
      },
  };
  for (const auto& make : bad) {
    r = call(broker_, make());
    EXPECT_EQ(r.response_code(), ResponseCode::BAD_REQUEST) << r.remark();
  }
  EXPECT_EQ(locked_ids(lock("c1", {{"T", 0}})), (std::set<int32_t>{0}));

  // A slave of broker-a holds no locks: it gives none.
  auto slave = cluster_->start_broker_as("a-slave", "broker-a", {"brokerRole=SLAVE", "brokerId=1"});
  ASSERT_TRUE(slave.is_ok()) << slave.status().to_string();
  r = call(*slave, lock_request(RequestCode::LOCK_BATCH_MQ, "lock-g", "c3", {{"T", 7}}));
  EXPECT_EQ(r.response_code(), ResponseCode::SUCCESS) << r.remark();
  EXPECT_TRUE(r.ext<protocol::LockBatchResponseT>() != nullptr);
  EXPECT_TRUE(locked_ids(r).empty());
  r = call(*slave, lock_request(RequestCode::UNLOCK_BATCH_MQ, "lock-g", "c3", {{"T", 7}}));
  EXPECT_EQ(r.response_code(), ResponseCode::SUCCESS) << r.remark();
  // The master still gives it.
  EXPECT_EQ(locked_ids(lock("c3", {{"T", 7}})), (std::set<int32_t>{7}));
}

// Records the member child wrote: "<queue> <seq> <enter ns> <exit ns>" per line.
std::vector<Call> read_records(const std::string& path, int member) {
  std::vector<Call> out;
  std::ifstream in(path);
  std::string line;
  for (int i = 0; i < 1'000'000 && std::getline(in, line); ++i) {
    std::istringstream fields(line);
    Call c;
    c.member = member;
    if (fields >> c.queue >> c.seq >> c.enter_ns >> c.exit_ns) out.push_back(c);
  }
  return out;
}

TEST_F(OrderlyProcessTest, AKilledMembersQueuesWaitForTheBrokersLeaseToLapse) {
  const std::string topic = "OrderedKill";
  const std::string group = "orderly-kill-group";
  constexpr uint32_t kQueues = 4;
  constexpr uint64_t kRounds = 250;
  constexpr int kChild = 1;
  create_topic(topic, kQueues);
  send_rounds(topic, kQueues, kRounds, 0ms);
  const auto deadline = Clock::now() + 2 * kWait;
  const std::string records = dir_.path() + "/member-records.txt";
  // 20 ms a message: it is still busy when it is killed.
  auto child = ChildProcess::spawn(
      {COMET_ORDERLY_MEMBER_BIN, cluster_->namesrv_addr(), group, topic, "orderly-child@test",
       records, "20", std::to_string(kLockRenew.count()), std::to_string(kLockLive.count())},
      dir_.path() + "/member.log");
  ASSERT_TRUE(child.is_ok()) << child.status().to_string();
  ASSERT_TRUE((*child)->wait_for_line("member ready", 30s).is_ok());
  ASSERT_TRUE((*child)->wait_for_line("progress 100", 30s).is_ok());

  Calls calls;
  auto a = member(group, "orderly-survivor@test", topic, calls.listener(0, 0ms));
  ASSERT_TRUE(a->start().is_ok());
  ASSERT_TRUE(calls.wait_member0(20, deadline));  // a took its half from the child
  ASSERT_TRUE((*child)->wait_for_line("progress 200", 30s).is_ok());
  const int64_t killed_ns = now_ns();
  (*child)->kill9();
  // The broker drops the member when its connection closes (as RocketMQ's does): the survivor
  // rebalances at once, and only the locks keep it off the dead member's queues.
  // a consumes every queue to the end: the child's once the broker lets it have them.
  for (const auto& c : read_records(records, kChild))
    calls.add(c);
  ASSERT_TRUE(calls.wait_distinct(kQueues * kRounds, deadline));
  a->shutdown();

  // The queues the child held when it died: those whose last call before the kill was its.
  const std::vector<Call> all = calls.snapshot();
  std::map<uint32_t, Call> last_before_kill;
  for (const auto& c : all) {
    if (c.enter_ns >= killed_ns) continue;
    auto& last = last_before_kill[c.queue];
    if (c.enter_ns >= last.enter_ns) last = c;
  }
  std::set<uint32_t> held_by_child;
  for (const auto& [q, c] : last_before_kill) {
    if (c.member == kChild) held_by_child.insert(q);
  }
  ASSERT_FALSE(held_by_child.empty());
  ASSERT_LT(held_by_child.size(), kQueues);  // a had its half before the kill
  for (uint32_t q : held_by_child) {
    int64_t first_after = INT64_MAX;
    for (const auto& c : all) {
      if (c.queue == q && c.member == 0 && c.enter_ns >= killed_ns) {
        first_after = std::min(first_after, c.enter_ns);
      }
    }
    ASSERT_NE(first_after, INT64_MAX) << "queue " << q << " never taken over";
    const int64_t waited_ms = (first_after - killed_ns) / 1'000'000;
    // The broker refused its queues until kLeaseMs after the child's last renewal, which came
    // at most a renewal period before the kill (two, for a renewal late on a loaded machine).
    // Without the locks a would take them at its first rebalance, within a few hundred ms.
    EXPECT_GE(waited_ms, kLeaseMs - 2 * kLockRenew.count()) << "queue " << q;
    EXPECT_LE(waited_ms, 20'000) << "queue " << q;
    std::printf("queue %u: taken over %lld ms after the kill (lease %lld ms)\n", q,
                static_cast<long long>(waited_ms), static_cast<long long>(kLeaseMs));
  }
  auto checked = check_calls(all, kRounds);
  ASSERT_EQ(checked.size(), kQueues);
}

}  // namespace
}  // namespace comet::testing
