// Delayed messages (RocketMQ's delay levels) against real comet-broker processes: a message sent
// with DELAY level n arrives in its topic once the level's delay has passed since it was stored,
// not before and not much later; it survives kill -9 of its broker, the promotion of a slave and
// kill -9 of the DLedger leader, arriving once.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "integration/metadata_offsets.h"
#include "integration/scheduled_messages.h"

namespace comet::testing {
namespace {

constexpr const char* kTopic = "Delayed";
constexpr const char* kLevels = "messageDelayLevel=1s 2s 3s";
constexpr int64_t kLateness = 1000;  // ms a delivery may come after its due time

RemotingCommand delayed_send(const std::string& topic, int32_t queue, const std::string& body,
                             const std::string& level) {
  return send_with_property(topic, queue, body, "DELAY", level);
}

class DelayProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { cluster_ = std::make_unique<LocalCluster>(dir_.path()); }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  std::string start(const std::string& key, std::vector<std::string> extra = {},
                    bool short_levels = true) {
    if (short_levels) extra.push_back(kLevels);
    extra.push_back("slaveSyncIntervalMs=3600000");  // only the metadata log carries progress
    auto addr = cluster_->start_broker_as(key, "delay-a", std::move(extra));
    EXPECT_TRUE(addr.is_ok()) << addr.status().to_string();
    return addr.is_ok() ? *addr : "";
  }

  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req) {
    return cluster_->client().invoke(addr, std::move(req), 10s);
  }

  void send_delayed(const std::string& addr, const std::string& body, const std::string& level) {
    auto r = call(addr, delayed_send(kTopic, 0, body, level));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  // Long-polls queue 0 (or `queue`) of `topic` on `addr` from `offset` until a message is there (or
  // `timeout`); the messages of the first pull that finds any.
  std::vector<Delivered> await_messages(const std::string& addr, const std::string& topic,
                                        int64_t offset, std::chrono::milliseconds timeout) {
    return await_messages(addr, topic, 0, offset, timeout);
  }
  std::vector<Delivered> await_messages(const std::string& addr, const std::string& topic,
                                        int32_t queue, int64_t offset,
                                        std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = cluster_->client().invoke(addr, pull_request(topic, queue, offset, 32, 1000), 5s);
      if (r.is_ok() && r->response_code() == ResponseCode::SUCCESS) return records_of(*r);
    }
    return {};
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(DelayProcessTest, ADelayedMessageArrivesWhenDueNotBeforeAndOnce) {
  const std::string broker = start("b");
  ASSERT_TRUE(call(broker, update_topic_request(kTopic, 1)).is_ok());
  const int64_t sent = wall_ms();
  ASSERT_NO_FATAL_FAILURE(send_delayed(broker, "after-2s", "2"));
  const int64_t acked = wall_ms();
  auto now = call(broker, pull_request(kTopic, 0, 0));
  ASSERT_TRUE(now.is_ok());
  EXPECT_NE(now->response_code(), ResponseCode::SUCCESS) << "delivered before its delay";

  auto got = await_messages(broker, kTopic, 0, 10s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "after-2s");
  EXPECT_GE(got[0].store_ms, sent + 2000);
  EXPECT_LE(got[0].store_ms, acked + 2000 + kLateness);
  // Delivered as sent: the scheduling properties are gone.
  EXPECT_TRUE(find_property(got[0].properties, "DELAY").empty()) << got[0].properties;
  EXPECT_TRUE(find_property(got[0].properties, "REAL_TOPIC").empty()) << got[0].properties;

  // A level past the last is the last (3 s), as RocketMQ clamps it.
  const int64_t sent_late = wall_ms();
  ASSERT_NO_FATAL_FAILURE(send_delayed(broker, "level-99", "99"));
  got = await_messages(broker, kTopic, 1, 10s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "level-99");
  EXPECT_GE(got[0].store_ms, sent_late + 3000);
  // Nothing arrives twice.
  EXPECT_TRUE(await_messages(broker, kTopic, 2, 1500ms).empty());
}

// RocketMQ's default levels: level 3 is 10 s after the message was stored, which happened
// between `sent` and `acked` (a moment apart on loopback).
TEST_F(DelayProcessTest, ALevelThreeMessageArrivesTenToElevenSecondsAfterItWasStored) {
  const std::string broker = start("b", {}, /*short_levels=*/false);
  ASSERT_TRUE(call(broker, update_topic_request(kTopic, 1)).is_ok());
  // The first delayed send creates the schedule queue's files: not the one to time.
  ASSERT_TRUE(call(broker, delayed_send(kTopic, 0, "warm-up", "4")).is_ok());
  const int64_t sent = wall_ms();
  ASSERT_NO_FATAL_FAILURE(send_delayed(broker, "level-3", "3"));
  const int64_t acked = wall_ms();
  ASSERT_LT(acked - sent, 200) << "the send took too long to bound its store time";

  auto got = await_messages(broker, kTopic, 0, 20s);
  const int64_t seen = wall_ms();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "level-3");
  EXPECT_GE(got[0].store_ms, sent + 10000);
  EXPECT_LE(got[0].store_ms, acked + 11000);
  EXPECT_LE(seen, acked + 11000 + 500) << "a consumer long-polling the topic saw it late";
}

TEST_F(DelayProcessTest, BadDelayedSendsGetTypedErrors) {
  const std::string broker = start("b");
  ASSERT_TRUE(call(broker, update_topic_request(kTopic, 1)).is_ok());
  auto batch = send_request(kTopic, 0, {"a", "b"});
  batch.body.owned =
      encode_records_with_properties(kTopic, {"a", "b"}, encode_properties({{"DELAY", "1"}}));
  auto r = call(broker, std::move(batch));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->response_code(), ResponseCode::MESSAGE_ILLEGAL);
  EXPECT_NE(r->remark().find("batch"), std::string::npos) << r->remark();
  // The schedule topic is the broker's own.
  r = call(broker, send_request("SCHEDULE_TOPIC_XXXX", 0, {"x"}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_NE(r->response_code(), ResponseCode::SUCCESS);
  EXPECT_NE(r->remark().find("reserved"), std::string::npos) << r->remark();
}

TEST_F(DelayProcessTest, APendingDelayedMessageSurvivesKillNine) {
  std::string broker = start("b");
  ASSERT_TRUE(call(broker, update_topic_request(kTopic, 1)).is_ok());
  const int64_t sent = wall_ms();
  ASSERT_NO_FATAL_FAILURE(send_delayed(broker, "survivor", "3"));
  cluster_->broker("b")->kill9();
  broker = start("b");
  auto got = await_messages(broker, kTopic, 0, 15s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "survivor");
  EXPECT_GE(got[0].store_ms, sent + 3000);
  EXPECT_TRUE(await_messages(broker, kTopic, 1, 1500ms).empty()) << "delivered twice";
}

// A promoted slave delivers what was pending on the old master, and not again what the old
// master delivered (its progress reached the slave with the metadata log).
TEST_F(DelayProcessTest, APromotedSlaveDeliversPendingMessagesOnce) {
  ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  const std::string master = start("m", {"brokerRole=ASYNC_MASTER"});
  const std::string slave = start("s", {"brokerRole=SLAVE", "brokerId=1"});
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s, true).is_ok());
  ASSERT_TRUE(call(master, update_topic_request(kTopic, 1)).is_ok());

  ASSERT_NO_FATAL_FAILURE(send_delayed(master, "early", "1"));
  ASSERT_EQ(await_messages(slave, kTopic, 0, 10s).size(), 1u) << "not delivered and copied";
  const OffsetMap progress = {{offset_key("%SCHEDULE%", "SCHEDULE_TOPIC_XXXX", 0), 1}};
  ASSERT_EQ(await_replicated_offsets(cluster_->client(), slave, progress, 10s), progress);

  ASSERT_NO_FATAL_FAILURE(send_delayed(master, "pending", "3"));
  // The slave holds it in the schedule topic (queue 2 for level 3) before the master dies.
  auto held =
      cluster_->client().invoke(slave, pull_request("SCHEDULE_TOPIC_XXXX", 2, 0, 32, 5000), 10s);
  ASSERT_TRUE(held.is_ok() && held->response_code() == ResponseCode::SUCCESS);
  cluster_->broker("m")->kill9();
  auto promoted = call(slave, promote_slave_request(2));
  ASSERT_TRUE(promoted.is_ok());
  ASSERT_EQ(promoted->response_code(), ResponseCode::SUCCESS) << promoted->remark();

  auto got = await_messages(slave, kTopic, 1, 15s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "pending");
  EXPECT_TRUE(await_messages(slave, kTopic, 2, 1500ms).empty()) << "delivered twice";
}

// The DLedger leader that delivers is killed with -9: the next leader delivers what was pending,
// and not again what the old one delivered (its progress was in the Raft log).
TEST_F(DelayProcessTest, ANewDLedgerLeaderDeliversPendingMessagesOnce) {
  ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  constexpr int kMembers = 3;
  const std::string peers = dledger_peers(kMembers);
  ASSERT_FALSE(peers.empty());
  std::string addrs[kMembers];
  for (int i = 0; i < kMembers; ++i) {
    addrs[i] = start(dledger_member_id(i), dledger_member_settings("delay-dl", peers, i));
    ASSERT_FALSE(addrs[i].empty());
  }
  const int leader = next_leader_announced(cluster_->broker(dledger_member_id(0)));
  ASSERT_GE(leader, 0) << "no leader elected";
  ASSERT_TRUE(call(addrs[leader], update_topic_request(kTopic, 1)).is_ok());

  ASSERT_NO_FATAL_FAILURE(send_delayed(addrs[leader], "early", "1"));
  const int follower = (leader + 1) % kMembers;
  ASSERT_EQ(await_messages(addrs[follower], kTopic, 0, 10s).size(), 1u) << "not delivered";
  const OffsetMap progress = {{offset_key("%SCHEDULE%", "SCHEDULE_TOPIC_XXXX", 0), 1}};
  ASSERT_EQ(await_replicated_offsets(cluster_->client(), addrs[follower], progress, 10s), progress);

  ASSERT_NO_FATAL_FAILURE(send_delayed(addrs[leader], "pending", "3"));
  cluster_->broker(dledger_member_id(leader))->kill9();
  int next = leader;
  for (int announced = 0; announced < 8 && next == leader; ++announced)
    next = next_leader_announced(cluster_->broker(dledger_member_id(follower)));
  ASSERT_GE(next, 0) << "no new leader";
  ASSERT_NE(next, leader);

  auto got = await_messages(addrs[next], kTopic, 1, 15s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "pending");
  EXPECT_TRUE(await_messages(addrs[next], kTopic, 2, 1500ms).empty()) << "delivered twice";
}

}  // namespace
}  // namespace comet::testing
