// Consumer retries and dead letters against real comet-broker processes: a message sent back with
// CONSUMER_SEND_MSG_BACK (ConsumerApi::send_message_back) comes back in %RETRY%<group> after its
// delay level with everything it had and the retry properties; past its limit (the request's,
// else the group's retryMaxTimes set by comet-admin updateSubGroup) it lands in %DLQ%<group>. A
// send to %RETRY%<group> goes to the DLQ past the limit too; a slave refuses send-backs, and a
// group config reaches it with the metadata log, so a promoted slave honours it. A retry still
// waiting for its delay survives kill -9 of its broker and of the DLedger leader, arriving once.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consumer/consumer_api.h"
#include "consumer/message_ext.h"
#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "producer/mq_client.h"

namespace comet::testing {
namespace {

using client::ConsumerApi;
using client::MessageExt;

constexpr const char* kTopic = "Orders";
constexpr const char* kBrokerName = "retry-a";
// Every level 1 s: a retry (level 3 + n) is back after about a second.
constexpr const char* kLevels = "messageDelayLevel=1s 1s 1s 1s 1s 1s 1s 1s";

class RetryProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  }
  void TearDown() override {
    api_.reset();
    if (client_) client_->shutdown();
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  // The broker's own topics only: retry and DLQ topics must come into being without
  // autoCreateTopicEnable.
  std::string start(const std::string& key, std::vector<std::string> extra = {},
                    const std::string& levels = kLevels) {
    extra.push_back(levels);
    extra.push_back("autoCreateTopicEnable=false");
    auto addr = cluster_->start_broker_as(key, kBrokerName, std::move(extra));
    EXPECT_TRUE(addr.is_ok()) << addr.status().to_string();
    return addr.is_ok() ? *addr : "";
  }

  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req) {
    return cluster_->client().invoke(addr, std::move(req), 10s);
  }

  ConsumerApi& api(const std::string& group) {
    if (!client_) {
      client::ClientConfig c;
      c.namesrv_addr = cluster_->namesrv_addr();
      c.client_id = "retry-test";
      client_ = client::MQClient::get_or_create(c);
      EXPECT_TRUE(client_->start().is_ok());
    }
    api_ = std::make_unique<ConsumerApi>(client_, group);
    return *api_;
  }

  RunResult admin(std::vector<std::string> args) {
    args.insert(args.begin(), COMET_ADMIN_BIN);
    args.push_back("-n");
    args.push_back(cluster_->namesrv_addr());
    return run_process(args);
  }

  // One message to queue 0 of kTopic with tags, keys and a property of its own.
  void send_original(const std::string& addr, const std::string& body) {
    auto req = send_request(kTopic, 0, {body});
    req.body.owned = encode_records_with_properties(
        kTopic, {body}, encode_properties({{"TAGS", "TagA"}, {"KEYS", "k1"}, {"mine", "v"}}));
    auto r = call(addr, std::move(req));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  // Long-polls queue 0 of `topic` on `addr` at `offset` until a message is there (bounded by
  // `timeout`); nullopt when none came.
  std::optional<MessageExt> await_message(const std::string& addr, const std::string& topic,
                                          int64_t offset, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = call(addr, pull_request(topic, 0, offset, 1, 1000));
      if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) continue;
      auto msgs = client::decode_messages(r->body.to_string(), kBrokerName);
      if (msgs.is_ok() && !msgs->empty()) return std::move(msgs->front());
    }
    return std::nullopt;
  }

  std::optional<protocol::TopicConfigT> topic_config(const std::string& addr,
                                                     const std::string& topic) {
    auto r = call(addr, RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG));
    if (!r.is_ok()) return std::nullopt;
    const auto* list = r->ext<protocol::TopicConfigListT>();
    if (list == nullptr) return std::nullopt;
    for (const auto& c : list->configs) {
      if (c && c->topic_name == topic) return *c;
    }
    return std::nullopt;
  }

  std::optional<int32_t> retry_max_times_on(const std::string& addr, const std::string& group) {
    auto r = call(addr, RemotingCommand::request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG));
    if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) return std::nullopt;
    const auto* list = r->ext<protocol::SubscriptionGroupListT>();
    if (list == nullptr) return std::nullopt;
    for (const auto& g : list->groups) {
      if (g && g->group_name == group) return g->retry_max_times;
    }
    return std::nullopt;
  }

  // The original message, pulled through the consumer API (which caches the broker's route);
  // a long poll, since the queue is indexed after the send was answered.
  MessageExt pull_original(ConsumerApi& consumer) {
    client::MessageQueue mq{kTopic, kBrokerName, 0};
    auto r = consumer.pull(mq, "*", 0, 1, 3000ms, 5s);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    if (!r.is_ok() || r->msgs.empty()) return {};
    return r->msgs.front();
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::shared_ptr<client::MQClient> client_;
  std::unique_ptr<ConsumerApi> api_;
};

void expect_kept(const MessageExt& copy, const MessageExt& original) {
  EXPECT_EQ(copy.body, original.body);
  EXPECT_EQ(copy.tags, "TagA");
  EXPECT_EQ(copy.keys, "k1");
  EXPECT_EQ(copy.properties.at("mine"), "v");
  EXPECT_EQ(copy.born_timestamp_ms, original.born_timestamp_ms);
  EXPECT_EQ(copy.flags, original.flags);
  EXPECT_EQ(copy.properties.at("RETRY_TOPIC"), kTopic);
  EXPECT_EQ(copy.properties.count("DELAY"), 0u);
  EXPECT_EQ(copy.properties.count("REAL_TOPIC"), 0u);
}

TEST_F(RetryProcessTest, ASentBackMessageIsRetriedThenDeadLettered) {
  const std::string broker = start("b");
  ASSERT_TRUE(call(broker, update_topic_request(kTopic, 1)).is_ok());
  ASSERT_NO_FATAL_FAILURE(send_original(broker, "pay-42"));
  ConsumerApi& consumer = api("G");
  const MessageExt original = pull_original(consumer);
  ASSERT_EQ(original.body, "pay-42");

  // Two retries allowed: back in %RETRY%G twice, then in %DLQ%G.
  ASSERT_TRUE(consumer.send_message_back(original, 0, 2).is_ok());
  auto first = await_message(broker, "%RETRY%G", 0);
  ASSERT_TRUE(first.has_value()) << "no retry";
  expect_kept(*first, original);
  EXPECT_EQ(first->reconsume_times, 1u);
  EXPECT_EQ(first->properties.at("ORIGIN_MESSAGE_ID"), original.msg_id);
  auto retry_topic = topic_config(broker, "%RETRY%G");
  ASSERT_TRUE(retry_topic.has_value());
  EXPECT_EQ(retry_topic->write_queue_nums, 1);

  ASSERT_TRUE(consumer.send_message_back(*first, 0, 2).is_ok());
  auto second = await_message(broker, "%RETRY%G", 1);
  ASSERT_TRUE(second.has_value()) << "no second retry";
  expect_kept(*second, original);
  EXPECT_EQ(second->reconsume_times, 2u);
  EXPECT_EQ(second->properties.at("ORIGIN_MESSAGE_ID"), original.msg_id) << "not kept";
  // Not before its level: the second retry was stored at least a level's second after the first.
  EXPECT_GE(second->store_timestamp_ms, first->store_timestamp_ms + 1000);

  ASSERT_TRUE(consumer.send_message_back(*second, 0, 2).is_ok());
  auto dead = await_message(broker, "%DLQ%G", 0, 5s);
  ASSERT_TRUE(dead.has_value()) << "not dead-lettered";
  expect_kept(*dead, original);
  EXPECT_EQ(dead->reconsume_times, 3u);
  EXPECT_EQ(dead->properties.at("ORIGIN_MESSAGE_ID"), original.msg_id);
  auto dlq = topic_config(broker, "%DLQ%G");
  ASSERT_TRUE(dlq.has_value());
  EXPECT_EQ(dlq->read_queue_nums, 1);
  EXPECT_EQ(dlq->write_queue_nums, 1);
  EXPECT_EQ(dlq->perm, 6);
  EXPECT_FALSE(await_message(broker, "%RETRY%G", 2, 1500ms).has_value()) << "retried again";
  // The name server routes both topics.
  EXPECT_TRUE(client_->find_route("%DLQ%G").is_ok());
  EXPECT_TRUE(client_->find_route("%RETRY%G").is_ok());

  // A level < 0 goes straight to the DLQ; an offset where no message starts is a typed error.
  ASSERT_TRUE(consumer.send_message_back(original, -1, 16).is_ok());
  auto asked = await_message(broker, "%DLQ%G", 1, 5s);
  ASSERT_TRUE(asked.has_value());
  EXPECT_EQ(asked->reconsume_times, 1u);
  MessageExt nowhere = original;
  nowhere.physical_offset += 3;
  Status bad = consumer.send_message_back(nowhere, 0, 16);
  EXPECT_FALSE(bad.is_ok());
  EXPECT_NE(bad.message().find("no message at offset"), std::string::npos) << bad.message();
}

TEST_F(RetryProcessTest, TheGroupsRetryMaxTimesFromUpdateSubGroupIsHonoured) {
  const std::string broker = start("b");
  ASSERT_TRUE(call(broker, update_topic_request(kTopic, 1)).is_ok());
  auto set = admin({"updateSubGroup", "-g", "G1", "-r", "1", "-b", broker});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  auto list = admin({"subGroupList"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("G1"), std::string::npos) << list.out;
  auto bad = admin({"updateSubGroup", "-g", "G1", "-r", "-2", "-b", broker});
  EXPECT_NE(bad.exit_code, 0);

  ASSERT_NO_FATAL_FAILURE(send_original(broker, "once"));
  ConsumerApi& consumer = api("G1");
  const MessageExt original = pull_original(consumer);
  ASSERT_TRUE(consumer.send_message_back(original, 0, -1).is_ok());
  auto retried = await_message(broker, "%RETRY%G1", 0);
  ASSERT_TRUE(retried.has_value());
  ASSERT_TRUE(consumer.send_message_back(*retried, 0, -1).is_ok());
  auto dead = await_message(broker, "%DLQ%G1", 0, 5s);
  ASSERT_TRUE(dead.has_value()) << "retryMaxTimes 1 not honoured";
  EXPECT_EQ(dead->reconsume_times, 2u);
}

// What the push consumer does when a send-back fails, and an orderly consumer always does.
TEST_F(RetryProcessTest, ASendToTheRetryTopicGoesToTheDlqPastTheLimit) {
  const std::string broker = start("b");
  auto send_retry = [&](const std::string& body, const std::string& times) {
    auto req = send_request("%RETRY%G2", -1, {body});
    req.body.owned = encode_records_with_properties(
        "%RETRY%G2", {body},
        encode_properties({{"RECONSUME_TIME", times}, {"MAX_RECONSUME_TIMES", "3"}}));
    return call(broker, std::move(req));
  };
  auto r = send_retry("still-retrying", "2");
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  auto retried = await_message(broker, "%RETRY%G2", 0, 5s);
  ASSERT_TRUE(retried.has_value());
  EXPECT_EQ(retried->body, "still-retrying");

  r = send_retry("spent", "3");
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  auto dead = await_message(broker, "%DLQ%G2", 0, 5s);
  ASSERT_TRUE(dead.has_value());
  EXPECT_EQ(dead->body, "spent");
  EXPECT_EQ(dead->properties.at("RECONSUME_TIME"), "3");
  EXPECT_FALSE(await_message(broker, "%RETRY%G2", 1, 1000ms).has_value());

  // A group whose %RETRY% topic could not be named is refused with a typed error.
  auto back = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK);
  protocol::ConsumerSendMsgBackRequestT ext;
  ext.group = std::string(121, 'g');
  back.set_ext(std::move(ext));
  r = call(broker, std::move(back));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->response_code(), ResponseCode::BAD_REQUEST) << r->remark();

  auto batch = send_request("%RETRY%G2", 0, {"a", "b"});
  r = call(broker, std::move(batch));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->response_code(), ResponseCode::MESSAGE_ILLEGAL) << r->remark();
}

// A slave refuses send-backs; the group config reaches it with the metadata log, and once
// promoted it dead-letters by that config.
TEST_F(RetryProcessTest, ASlaveRefusesAndAPromotedSlaveHonoursTheGroupConfig) {
  const std::string master = start("m", {"brokerRole=ASYNC_MASTER"});
  // Only the metadata log may carry the group config (not the periodic sync).
  const std::string slave =
      start("s", {"brokerRole=SLAVE", "brokerId=1", "slaveSyncIntervalMs=3600000"});
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s, true).is_ok());
  ASSERT_TRUE(call(master, update_topic_request(kTopic, 1)).is_ok());
  ASSERT_NO_FATAL_FAILURE(send_original(master, "replicated"));
  auto on_slave = await_message(slave, kTopic, 0);
  ASSERT_TRUE(on_slave.has_value());

  auto back = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK);
  protocol::ConsumerSendMsgBackRequestT ext;
  ext.offset = static_cast<int64_t>(on_slave->physical_offset);
  ext.group = "G3";
  back.set_ext(protocol::ConsumerSendMsgBackRequestT(ext));
  auto refused = call(slave, std::move(back));
  ASSERT_TRUE(refused.is_ok());
  EXPECT_EQ(refused->response_code(), ResponseCode::SERVICE_NOT_AVAILABLE) << refused->remark();

  auto set = admin({"updateSubGroup", "-g", "G3", "-r", "0", "-b", master});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  // The config travels in a metadata record: wait (bounded) for the slave to apply it.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  int64_t next = 0;  // of the slave's metadata topic: each pull waits for the next record
  while (retry_max_times_on(slave, "G3") != 0 && std::chrono::steady_clock::now() < deadline) {
    auto r = call(slave, pull_request("COMET_SYS_METADATA", 0, next, 32, 500));
    if (!r.is_ok()) continue;
    if (const auto* e = r->ext<protocol::PullMessageResponseT>()) next = e->next_begin_offset;
  }
  ASSERT_EQ(retry_max_times_on(slave, "G3"), 0) << "the group config did not reach the slave";

  cluster_->broker("m")->kill9();
  auto promoted = call(slave, promote_slave_request(2));
  ASSERT_TRUE(promoted.is_ok());
  ASSERT_EQ(promoted->response_code(), ResponseCode::SUCCESS) << promoted->remark();
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("confirmed master of epoch", 10s).is_ok());
  back = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK);
  back.set_ext(std::move(ext));
  auto sent_back = call(slave, std::move(back));
  ASSERT_TRUE(sent_back.is_ok());
  ASSERT_EQ(sent_back->response_code(), ResponseCode::SUCCESS) << sent_back->remark();
  auto dead = await_message(slave, "%DLQ%G3", 0, 5s);
  ASSERT_TRUE(dead.has_value()) << "retryMaxTimes 0 not honoured by the promoted slave";
  EXPECT_EQ(dead->body, "replicated");
}

// Level 3 (a first retry) waits 4 s: long enough to kill the broker while the retry is pending.
constexpr const char* kSlowRetryLevels = "messageDelayLevel=1s 1s 4s 1s";

TEST_F(RetryProcessTest, APendingRetrySurvivesKillNineOfItsBroker) {
  std::string broker = start("b", {}, kSlowRetryLevels);
  ASSERT_TRUE(call(broker, update_topic_request(kTopic, 1)).is_ok());
  ASSERT_NO_FATAL_FAILURE(send_original(broker, "pay-7"));
  ConsumerApi& consumer = api("G");
  const MessageExt original = pull_original(consumer);
  ASSERT_TRUE(consumer.send_message_back(original, 0, 16).is_ok());
  cluster_->broker("b")->kill9();
  broker = start("b", {}, kSlowRetryLevels);

  auto retried = await_message(broker, "%RETRY%G", 0, 15s);
  ASSERT_TRUE(retried.has_value()) << "the pending retry was lost";
  expect_kept(*retried, original);
  EXPECT_EQ(retried->reconsume_times, 1u);
  EXPECT_FALSE(await_message(broker, "%RETRY%G", 1, 1500ms).has_value()) << "retried twice";
}

// Send-back through the seam in DLedger mode: the leader stores the retry in the schedule topic
// (a quorum holds it before the answer), is killed with -9, and the next leader delivers it once.
TEST_F(RetryProcessTest, APendingRetrySurvivesKillNineOfTheDLedgerLeader) {
  constexpr int kMembers = 3;
  const std::string peers = dledger_peers(kMembers);
  ASSERT_FALSE(peers.empty());
  std::string addrs[kMembers];
  for (int i = 0; i < kMembers; ++i) {
    addrs[i] = start(dledger_member_id(i), dledger_member_settings("retry-dl", peers, i),
                     kSlowRetryLevels);
    ASSERT_FALSE(addrs[i].empty());
  }
  const int leader = next_leader_announced(cluster_->broker(dledger_member_id(0)));
  ASSERT_GE(leader, 0) << "no leader elected";
  ASSERT_TRUE(call(addrs[leader], update_topic_request(kTopic, 1)).is_ok());
  ASSERT_NO_FATAL_FAILURE(send_original(addrs[leader], "pay-9"));
  ConsumerApi& consumer = api("G");
  const MessageExt original = pull_original(consumer);
  ASSERT_EQ(original.body, "pay-9");
  ASSERT_TRUE(consumer.send_message_back(original, 0, 16).is_ok());

  cluster_->broker(dledger_member_id(leader))->kill9();
  const int watcher = (leader + 1) % kMembers;
  int next = leader;
  for (int announced = 0; announced < 8 && next == leader; ++announced)
    next = next_leader_announced(cluster_->broker(dledger_member_id(watcher)));
  ASSERT_GE(next, 0) << "no new leader";
  ASSERT_NE(next, leader);

  auto retried = await_message(addrs[next], "%RETRY%G", 0, 15s);
  ASSERT_TRUE(retried.has_value()) << "the pending retry was lost";
  expect_kept(*retried, original);
  EXPECT_EQ(retried->reconsume_times, 1u);
  EXPECT_FALSE(await_message(addrs[next], "%RETRY%G", 1, 1500ms).has_value()) << "retried twice";
}

}  // namespace
}  // namespace comet::testing
