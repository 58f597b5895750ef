// Timer messages (RocketMQ 5's TIMER_DELIVER_MS / TIMER_DELAY_SEC) against real comet-broker
// processes: a timer arrives in its topic at its due time, not before and at most a second late;
// 10,000 timers spread over a minute all arrive, once each; a timer beyond timerMaxDelaySec is
// refused; pending timers survive kill -9 of the broker and the promotion of a slave.
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "integration/metadata_offsets.h"
#include "integration/scheduled_messages.h"

namespace comet::testing {
namespace {

constexpr int64_t kLateness = 1000;  // ms a delivery may come after its due time

class TimerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { cluster_ = std::make_unique<LocalCluster>(dir_.path()); }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  std::string start(const std::string& key, std::vector<std::string> extra = {}) {
    extra.push_back("slaveSyncIntervalMs=3600000");  // only the metadata log carries progress
    auto addr = cluster_->start_broker_as(key, "timer-a", std::move(extra));
    EXPECT_TRUE(addr.is_ok()) << addr.status().to_string();
    return addr.is_ok() ? *addr : "";
  }

  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req) {
    return cluster_->client().invoke(addr, std::move(req), 10s);
  }

  void send_timer(const std::string& addr, const std::string& topic, const std::string& body,
                  const std::string& key, const std::string& value) {
    auto r = call(addr, send_with_property(topic, 0, body, key, value));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  // Pulls queue 0 of `topic` from `*offset` until `want` messages came (or `deadline`).
  std::vector<Delivered> collect(const std::string& addr, const std::string& topic, int64_t* offset,
                                 size_t want, std::chrono::steady_clock::time_point deadline) {
    std::vector<Delivered> out;
    while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
      auto r = cluster_->client().invoke(addr, pull_request(topic, 0, *offset, 32, 500), 5s);
      if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) continue;
      auto got = records_of(*r);
      *offset += static_cast<int64_t>(got.size());
      for (auto& d : got)
        out.push_back(std::move(d));
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
};

// One 30 s timer and 10,000 spread over a minute, at the same time (one minute of CI, not two).
TEST_F(TimerProcessTest, TimersArriveWhenDueOnceEachAndNotBefore) {
  const std::string broker = start("b");
  ASSERT_TRUE(call(broker, update_topic_request("TimerOne", 1)).is_ok());
  ASSERT_TRUE(call(broker, update_topic_request("TimerMany", 1)).is_ok());
  const int64_t sent = wall_ms();
  ASSERT_NO_FATAL_FAILURE(send_timer(broker, "TimerOne", "in-30s", "TIMER_DELAY_SEC", "30"));
  const int64_t acked = wall_ms();
  // Due 5..60 s after the start, in the order sent scrambled so the wheel's ticks fill unevenly.
  constexpr int kMany = 10'000;
  const int64_t base = wall_ms() + 5'000;
  std::map<std::string, int64_t> due_of;
  for (int i = 0; i < kMany; ++i) {
    const int64_t due = base + (static_cast<int64_t>(i) * 7919 % kMany) * 55'000 / kMany;
    const std::string body = "t" + std::to_string(i);
    due_of[body] = due;
    ASSERT_NO_FATAL_FAILURE(
        send_timer(broker, "TimerMany", body, "TIMER_DELIVER_MS", std::to_string(due)));
  }
  std::printf("sent %d timers in %lld ms\n", kMany, static_cast<long long>(wall_ms() - acked));
  auto early = call(broker, pull_request("TimerOne", 0, 0));
  ASSERT_TRUE(early.is_ok());
  EXPECT_NE(early->response_code(), ResponseCode::SUCCESS) << "delivered before it was due";

  const auto deadline = std::chrono::steady_clock::now() + 75s;
  int64_t many_offset = 0;
  auto many = collect(broker, "TimerMany", &many_offset, kMany, deadline);
  int64_t one_offset = 0;
  auto one = collect(broker, "TimerOne", &one_offset, 1, deadline);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].body, "in-30s");
  EXPECT_GE(one[0].store_ms, sent + 30'000);
  EXPECT_LE(one[0].store_ms, acked + 30'000 + kLateness);
  EXPECT_TRUE(find_property(one[0].properties, "TIMER_OUT_MS").empty()) << one[0].properties;
  EXPECT_TRUE(find_property(one[0].properties, "REAL_TOPIC").empty()) << one[0].properties;

  ASSERT_EQ(many.size(), static_cast<size_t>(kMany));
  std::map<std::string, int> seen;
  std::vector<int64_t> late;
  for (const Delivered& d : many) {
    ++seen[d.body];
    ASSERT_TRUE(due_of.count(d.body)) << d.body;
    EXPECT_GE(d.store_ms, due_of[d.body]) << d.body << " delivered early";
    late.push_back(d.store_ms - due_of[d.body]);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kMany)) << "some arrived twice";
  std::sort(late.begin(), late.end());
  std::printf("lateness of %d timers: p50 %lld ms, p99 %lld ms, max %lld ms\n", kMany,
              static_cast<long long>(late[late.size() / 2]),
              static_cast<long long>(late[late.size() * 99 / 100]),
              static_cast<long long>(late.back()));
  EXPECT_LE(late[late.size() * 99 / 100], kLateness);
  // Nothing more arrives.
  EXPECT_TRUE(
      collect(broker, "TimerMany", &many_offset, 1, std::chrono::steady_clock::now() + 1s).empty());
}

TEST_F(TimerProcessTest, BadTimerSendsGetTypedErrors) {
  const std::string broker = start("b", {"timerMaxDelaySec=3600"});
  ASSERT_TRUE(call(broker, update_topic_request("Timers", 1)).is_ok());
  auto r = call(broker, send_with_property("Timers", 0, "far", "TIMER_DELAY_SEC", "3601"));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->response_code(), ResponseCode::MESSAGE_ILLEGAL);
  EXPECT_NE(r->remark().find("timerMaxDelaySec (3600 s)"), std::string::npos) << r->remark();
  r = call(broker, send_with_property("Timers", 0, "bad", "TIMER_DELIVER_MS", "soon"));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->response_code(), ResponseCode::MESSAGE_ILLEGAL);
  EXPECT_NE(r->remark().find("TIMER_DELIVER_MS"), std::string::npos) << r->remark();
  auto batch = send_request("Timers", 0, {"a", "b"});
  batch.body.owned = encode_records_with_properties("Timers", {"a", "b"},
                                                    encode_properties({{"TIMER_DELAY_SEC", "1"}}));
  r = call(broker, std::move(batch));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->response_code(), ResponseCode::MESSAGE_ILLEGAL);
  EXPECT_NE(r->remark().find("batch"), std::string::npos) << r->remark();
  r = call(broker, send_request("rmq_sys_wheel_timer", 0, {"x"}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_NE(r->response_code(), ResponseCode::SUCCESS);
  EXPECT_NE(r->remark().find("reserved"), std::string::npos) << r->remark();
  // A due time in the past is now: stored in its topic at once.
  r = call(broker, send_with_property("Timers", 0, "past", "TIMER_DELIVER_MS", "1000"));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  int64_t offset = 0;
  auto got = collect(broker, "Timers", &offset, 1, std::chrono::steady_clock::now() + 5s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "past");
}

TEST_F(TimerProcessTest, PendingTimersSurviveKillNineOnce) {
  std::string broker = start("b");
  ASSERT_TRUE(call(broker, update_topic_request("Timers", 1)).is_ok());
  const int64_t sent = wall_ms();
  constexpr int kCount = 50;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_NO_FATAL_FAILURE(send_timer(broker, "Timers", "k" + std::to_string(i), "TIMER_DELAY_MS",
                                       std::to_string(3000 + i * 20)));
  }
  cluster_->broker("b")->kill9();
  broker = start("b");
  int64_t offset = 0;
  auto got = collect(broker, "Timers", &offset, kCount, std::chrono::steady_clock::now() + 15s);
  ASSERT_EQ(got.size(), static_cast<size_t>(kCount));
  std::map<std::string, int> seen;
  for (const Delivered& d : got) {
    ++seen[d.body];
    EXPECT_GE(d.store_ms, sent + 3000);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount)) << "some arrived twice";
  EXPECT_TRUE(
      collect(broker, "Timers", &offset, 1, std::chrono::steady_clock::now() + 1500ms).empty())
      << "delivered twice";
}

// The schedule is derived: with its directory gone, a restart rebuilds it from the timer queue
// and the replicated progress, delivering what was pending once and nothing delivered before.
TEST_F(TimerProcessTest, ALostScheduleIsRebuiltFromTheTimerQueue) {
  std::string broker = start("b");
  ASSERT_TRUE(call(broker, update_topic_request("Timers", 1)).is_ok());
  ASSERT_NO_FATAL_FAILURE(send_timer(broker, "Timers", "early", "TIMER_DELAY_MS", "200"));
  int64_t offset = 0;
  ASSERT_EQ(collect(broker, "Timers", &offset, 1, std::chrono::steady_clock::now() + 10s).size(),
            1u);
  const int64_t sent = wall_ms();
  constexpr int kCount = 20;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_NO_FATAL_FAILURE(send_timer(broker, "Timers", "r" + std::to_string(i), "TIMER_DELAY_MS",
                                       std::to_string(2500 + i * 20)));
  }
  cluster_->broker("b")->kill9();
  std::filesystem::remove_all(dir_.path() + "/b/timer");
  broker = start("b");
  auto got = collect(broker, "Timers", &offset, kCount, std::chrono::steady_clock::now() + 15s);
  ASSERT_EQ(got.size(), static_cast<size_t>(kCount));
  std::map<std::string, int> seen;
  for (const Delivered& d : got) {
    ++seen[d.body];
    EXPECT_GE(d.store_ms, sent + 2500) << d.body << " delivered early";
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount)) << "some arrived twice";
  EXPECT_EQ(seen.count("early"), 0u) << "delivered again after the rebuild";
  EXPECT_TRUE(
      collect(broker, "Timers", &offset, 1, std::chrono::steady_clock::now() + 1500ms).empty())
      << "delivered twice";
}

// A promoted slave delivers the timers pending on the old master from its own schedule, and
// not again those the old master delivered (its progress reached the slave).
TEST_F(TimerProcessTest, APromotedSlaveDeliversPendingTimersOnce) {
  ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  const std::string master = start("m", {"brokerRole=ASYNC_MASTER"});
  const std::string slave = start("s", {"brokerRole=SLAVE", "brokerId=1"});
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s, true).is_ok());
  ASSERT_TRUE(call(master, update_topic_request("Timers", 1)).is_ok());

  ASSERT_NO_FATAL_FAILURE(send_timer(master, "Timers", "early", "TIMER_DELAY_MS", "500"));
  int64_t offset = 0;
  ASSERT_EQ(collect(slave, "Timers", &offset, 1, std::chrono::steady_clock::now() + 10s).size(), 1u)
      << "not delivered and copied";
  const std::string handled = offset_key("%TIMER%", "rmq_sys_wheel_timer", 0);
  ASSERT_EQ(await_replicated_offsets(cluster_->client(), slave, {{handled, 1}}, 10s)[handled], 1);

  const int64_t sent = wall_ms();
  ASSERT_NO_FATAL_FAILURE(send_timer(master, "Timers", "pending", "TIMER_DELAY_SEC", "3"));
  auto held =
      cluster_->client().invoke(slave, pull_request("rmq_sys_wheel_timer", 0, 1, 32, 5000), 10s);
  ASSERT_TRUE(held.is_ok() && held->response_code() == ResponseCode::SUCCESS);
  cluster_->broker("m")->kill9();
  auto promoted = call(slave, promote_slave_request(2));
  ASSERT_TRUE(promoted.is_ok());
  ASSERT_EQ(promoted->response_code(), ResponseCode::SUCCESS) << promoted->remark();

  auto got = collect(slave, "Timers", &offset, 1, std::chrono::steady_clock::now() + 15s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "pending");
  EXPECT_GE(got[0].store_ms, sent + 3000);
  EXPECT_TRUE(
      collect(slave, "Timers", &offset, 1, std::chrono::steady_clock::now() + 1500ms).empty())
      << "delivered twice";
}

// A DLedger group: the leader is killed with -9 while timers are pending; whichever member leads
// next delivers them from its own schedule, each once, and not again what the old leader did.
TEST_F(TimerProcessTest, TimersSurviveKillNineOfTheDLedgerLeaderOnce) {
  ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  constexpr int kMembers = 3;
  std::string peers;
  for (int i = 0; i < kMembers; ++i) {
    const uint16_t port = free_loopback_port();
    ASSERT_NE(port, 0);
    peers += (i ? ";" : "") + ("n" + std::to_string(i)) + "-127.0.0.1:" + std::to_string(port);
  }
  std::string addrs[kMembers];
  for (int i = 0; i < kMembers; ++i) {
    const std::string id = "n" + std::to_string(i);
    auto addr = cluster_->start_broker_as(
        id, "dl-timer",
        {"enableDLegerCommitLog=true", "dLegerGroup=dl-timer", "dLegerPeers=" + peers,
         "dLegerSelfId=" + id, "slaveSyncIntervalMs=3600000"});
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    addrs[i] = *addr;
  }
  const int first = next_leader_announced(cluster_->broker("n0"), 60s);
  ASSERT_GE(first, 0) << "no leader elected";
  ASSERT_TRUE(call(addrs[first], update_topic_request("Timers", 1)).is_ok());
  ASSERT_NO_FATAL_FAILURE(send_timer(addrs[first], "Timers", "early", "TIMER_DELAY_MS", "300"));
  const int watcher = (first + 1) % kMembers;
  int64_t offset = 0;
  ASSERT_EQ(
      collect(addrs[watcher], "Timers", &offset, 1, std::chrono::steady_clock::now() + 10s).size(),
      1u);
  const std::string handled = offset_key("%TIMER%", "rmq_sys_wheel_timer", 0);
  ASSERT_EQ(
      await_replicated_offsets(cluster_->client(), addrs[watcher], {{handled, 1}}, 10s)[handled],
      1);

  const int64_t sent = wall_ms();
  constexpr int kCount = 20;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_NO_FATAL_FAILURE(send_timer(addrs[first], "Timers", "p" + std::to_string(i),
                                       "TIMER_DELAY_MS", std::to_string(3000 + i * 50)));
  }
  cluster_->broker("n" + std::to_string(first))->kill9();
  int next = first;
  for (int announced = 0; announced < 8 && next == first; ++announced)
    next = next_leader_announced(cluster_->broker("n" + std::to_string(watcher)), 30s);
  ASSERT_GE(next, 0) << "no new leader";
  ASSERT_NE(next, first);
  auto got =
      collect(addrs[next], "Timers", &offset, kCount, std::chrono::steady_clock::now() + 20s);
  ASSERT_EQ(got.size(), static_cast<size_t>(kCount));
  std::map<std::string, int> seen;
  for (const Delivered& d : got) {
    ++seen[d.body];
    EXPECT_GE(d.store_ms, sent + 3000) << d.body << " delivered early";
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount)) << "some arrived twice";
  EXPECT_EQ(seen.count("early"), 0u) << "delivered again by the new leader";
  EXPECT_TRUE(
      collect(addrs[next], "Timers", &offset, 1, std::chrono::steady_clock::now() + 1500ms).empty())
      << "delivered twice";
}

}  // namespace
}  // namespace comet::testing
