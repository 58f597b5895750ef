// RocketMQ 4.x clients on comet's own ports, with real processes: a comet-namesrv and a
// comet-broker, spoken to by a raw RocketMQ client (rocketmq_wire_client.h) in JSON and ROCKETMQ
// binary headers, while comet's own clients use the same ports. Routes (both JSON forms), cluster
// info, sends (V1, V2, batch, compressed) pulled back, long polling, pulls with the group's
// heartbeat subscription, offsets, send-back to %RETRY%, transactions with a check-back, unknown
// codes and malformed frames, and messages crossing between the two protocols.
#include <algorithm>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/msg_id.h"
#include "common/record_codec.h"
#include "consumer/pull_consumer.h"
#include "integration/cluster.h"
#include "integration/rocketmq_wire_client.h"
#include "producer/producer.h"
#include "remoting/rocketmq_json.h"
#include "remoting/rocketmq_message.h"

namespace comet::testing {
namespace {

using remoting::rocketmq::Command;
using remoting::rocketmq::SerializeType;
namespace rmq = remoting::rocketmq;

constexpr int32_t kSendV1 = 10;
constexpr int32_t kSendV2 = 310;
constexpr int32_t kSendBatch = 320;

Command rmq_request(int32_t code, SerializeType type = SerializeType::kJson) {
  Command c;
  c.code = code;
  c.version = 373;  // ali-ons' 4.x version: below 401
  c.language = "JAVA";
  c.serialize_type = type;
  return c;
}

Command send_v2(const std::string& topic, int32_t queue, const std::string& body,
                const std::string& props, SerializeType type = SerializeType::kJson) {
  Command c = rmq_request(kSendV2, type);
  c.ext.set("a", "RmqPG");
  c.ext.set("b", topic);
  c.ext.set("c", "TBW102");
  c.ext.set("d", "4");
  c.ext.set("e", std::to_string(queue));
  c.ext.set("f", "0");
  c.ext.set("g", "1700000000000");
  c.ext.set("h", "0");
  c.ext.set("i", props);
  c.ext.set("j", "0");
  c.ext.set("k", "false");
  c.body = body;
  return c;
}

Command pull(const std::string& group, const std::string& topic, int32_t queue, int64_t offset,
             int64_t sys_flag, const std::string& subscription = "*",
             SerializeType type = SerializeType::kJson) {
  Command c = rmq_request(11, type);
  c.ext.set("consumerGroup", group);
  c.ext.set("topic", topic);
  c.ext.set("queueId", std::to_string(queue));
  c.ext.set("queueOffset", std::to_string(offset));
  c.ext.set("maxMsgNums", "32");
  c.ext.set("sysFlag", std::to_string(sys_flag));
  c.ext.set("commitOffset", "0");
  c.ext.set("suspendTimeoutMillis", "10000");
  c.ext.set("subscription", subscription);
  c.ext.set("subVersion", "0");
  return c;
}

Command heartbeat(const std::string& client, const std::string& group, const std::string& topic,
                  const std::string& expression, const std::string& producer_group = "") {
  rmq::HeartbeatJson hb;
  hb.client_id = client;
  if (!producer_group.empty()) hb.producer_groups.push_back(producer_group);
  if (!group.empty()) {
    rmq::ConsumerJson c;
    c.group_name = group;
    c.consume_type = "CONSUME_PASSIVELY";
    c.message_model = "CLUSTERING";
    c.consume_from_where = "CONSUME_FROM_FIRST_OFFSET";
    c.subscriptions.push_back(rmq::SubscriptionJson{topic, expression, "TAG", {}, 1});
    c.subscriptions.push_back(rmq::SubscriptionJson{"%RETRY%" + group, "*", "TAG", {}, 1});
    hb.consumers.push_back(c);
  }
  Command cmd = rmq_request(34);
  cmd.body = rmq::encode_heartbeat(hb);
  return cmd;
}

class RocketmqProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    cluster_ = new LocalCluster(dir_->path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
    auto addr = cluster_->start_broker("broker-a",
                                       {"messageDelayLevel=1s 1s 1s 1s", "transactionTimeOut=500",
                                        "transactionCheckInterval=200"});
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    broker_addr_ = new std::string(*addr);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete dir_;
    delete broker_addr_;
    cluster_ = nullptr;
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  static std::unique_ptr<RocketmqWireClient> connect(const std::string& addr) {
    auto c = std::make_unique<RocketmqWireClient>();
    EXPECT_TRUE(c->connect(addr).is_ok());
    return c;
  }
  static std::unique_ptr<RocketmqWireClient> broker() { return connect(*broker_addr_); }
  static std::unique_ptr<RocketmqWireClient> namesrv() { return connect(cluster_->namesrv_addr()); }

  static Command must(Result<Command> r) {
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? std::move(r).value() : Command{};
  }

  static std::vector<rmq::StoreMessage> messages_of(const Command& answer) {
    auto msgs = rmq::decode_store_messages(answer.body);
    EXPECT_TRUE(msgs.is_ok()) << msgs.status().to_string();
    return msgs.is_ok() ? *msgs : std::vector<rmq::StoreMessage>{};
  }

  // Returns once the broker has dispatched the first `count` messages of a queue: sends are
  // answered before the store indexes them, and a pull past the indexed end is
  // PULL_OFFSET_MOVED, so this long-polls from each answer's nextBeginOffset (a pull at the end
  // waits for the next message), at most 20 pulls.
  static void wait_dispatched(RocketmqWireClient& b, const std::string& topic, int32_t queue,
                              int64_t count) {
    int64_t next = 0;
    for (int i = 0; i < 20 && next < count; ++i) {
      Command got = must(b.call(pull("RmqWaitCG", topic, queue, next, 0x2 | 0x4)));
      ASSERT_TRUE(got.code == 0 || got.code == 19) << got.code << " " << got.remark.value_or("");
      next = std::stoll(std::string(got.ext.get("nextBeginOffset")));
    }
    ASSERT_GE(next, count) << topic << ":" << queue;
  }

  // The route of `topic` from the name server once it has one, within 5 s: the broker registers
  // a topic it creates at once, asynchronously (the name server has no notification to wait on,
  // so this asks again, at most 50 times).
  static Command route_once_present(RocketmqWireClient& ns, const std::string& topic) {
    Command answer;
    for (int i = 0; i < 50; ++i) {
      Command c = rmq_request(105);
      c.ext.set("topic", topic);
      answer = must(ns.call(c));
      if (answer.code == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return answer;
  }

  static TempDir* dir_;
  static LocalCluster* cluster_;
  static std::string* broker_addr_;
};

TempDir* RocketmqProcessTest::dir_ = nullptr;
LocalCluster* RocketmqProcessTest::cluster_ = nullptr;
std::string* RocketmqProcessTest::broker_addr_ = nullptr;

TEST_F(RocketmqProcessTest, RouteInBothJsonFormsAndClusterInfo) {
  auto ns = namesrv();
  for (int32_t version : {373, 401}) {
    Command c = rmq_request(105);
    c.version = version;
    c.ext.set("topic", "TBW102");
    Command answer = must(ns->call(c));
    ASSERT_EQ(answer.code, 0) << answer.remark.value_or("");
    const std::string id0 = version >= 401 ? "{\"0\":\"" : "{0:\"";
    EXPECT_NE(answer.body.find(id0 + *broker_addr_ + "\"}"), std::string::npos) << answer.body;
    auto route = rmq::parse_route(answer.body);
    ASSERT_TRUE(route.is_ok());
    ASSERT_EQ(route->queues.size(), 1u);
    EXPECT_EQ(route->queues[0].perm & 6, 6);
  }
  Command unknown = rmq_request(105);
  unknown.ext.set("topic", "NoSuchTopic");
  Command answer = must(ns->call(unknown));
  EXPECT_EQ(answer.code, 17);
  EXPECT_EQ(answer.remark.value_or(""),
            "No topic route info in name server for the topic: NoSuchTopic");

  Command info = must(ns->call(rmq_request(106)));
  ASSERT_EQ(info.code, 0);
  EXPECT_NE(info.body.find("\"brokerAddrTable\""), std::string::npos) << info.body;
  EXPECT_NE(info.body.find("\"clusterAddrTable\""), std::string::npos) << info.body;
  EXPECT_NE(info.body.find(*broker_addr_), std::string::npos) << info.body;
}

TEST_F(RocketmqProcessTest, SendAndPullInBothHeaderEncodings) {
  for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketmq}) {
    const std::string topic = type == SerializeType::kJson ? "RmqJson" : "RmqBinary";
    auto b = broker();
    const std::string props =
        encode_properties({{"TAGS", "TagA"}, {"KEYS", "k1 k2"}, {"UNIQ_KEY", "UQ" + topic}});
    Command sent = must(b->call(send_v2(topic, 0, "hello " + topic, props, type)));
    ASSERT_EQ(sent.code, 0) << sent.remark.value_or("");
    EXPECT_EQ(sent.serialize_type, type);  // answered in the request's encoding
    EXPECT_EQ(sent.ext.get("msgId").size(), kMsgIdLength);
    EXPECT_EQ(sent.ext.get("queueId"), "0");
    EXPECT_EQ(sent.ext.get("queueOffset"), "0");
    EXPECT_EQ(sent.ext.get("MSG_REGION"), "DefaultRegion");

    Command got = must(b->call(pull("RmqCG", topic, 0, 0, 0x2 | 0x4, "*", type)));
    ASSERT_EQ(got.code, 0) << got.remark.value_or("");
    EXPECT_EQ(got.serialize_type, type);
    EXPECT_EQ(got.ext.get("nextBeginOffset"), "1");
    EXPECT_EQ(got.ext.get("maxOffset"), "1");
    EXPECT_EQ(got.ext.get("minOffset"), "0");
    EXPECT_EQ(got.ext.get("suggestWhichBrokerId"), "0");
    auto msgs = messages_of(got);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].body, "hello " + topic);
    EXPECT_EQ(msgs[0].topic, topic);
    EXPECT_EQ(find_property(msgs[0].properties, "KEYS"), "k1 k2");
    EXPECT_EQ(find_property(msgs[0].properties, "UNIQ_KEY"), "UQ" + topic);
    EXPECT_EQ(make_msg_id(msgs[0].store_host, static_cast<uint64_t>(msgs[0].physical_offset)),
              sent.ext.get("msgId"));
    EXPECT_EQ(msgs[0].born_timestamp, 1700000000000);
    EXPECT_EQ(msgs[0].born_host.ipv4, 0x7f000001u);  // the TCP peer

    Command tagged_out = must(b->call(pull("RmqCG", topic, 0, 0, 0x4, "TagB", type)));
    EXPECT_EQ(tagged_out.code, 20);  // all filtered: PULL_RETRY_IMMEDIATELY
  }
}

TEST_F(RocketmqProcessTest, BatchV1AndCompressedSends) {
  auto b = broker();
  std::vector<rmq::BatchEntry> entries;
  std::vector<std::string> props;
  for (int i = 0; i < 3; ++i)
    props.push_back(encode_properties({{"KEYS", "batch-" + std::to_string(i)}}));
  const std::vector<std::string> bodies = {"b0", "b1-longer", "b2"};
  for (int i = 0; i < 3; ++i)
    entries.push_back(rmq::BatchEntry{0, bodies[i], props[i]});
  Command batch = rmq_request(kSendBatch);
  batch.ext.set("a", "RmqPG");
  batch.ext.set("b", "RmqBatch");
  batch.ext.set("c", "TBW102");
  batch.ext.set("d", "4");
  batch.ext.set("e", "1");
  batch.ext.set("m", "true");
  batch.body = rmq::encode_batch(entries);
  Command sent = must(b->call(batch));
  ASSERT_EQ(sent.code, 0) << sent.remark.value_or("");
  const std::string ids(sent.ext.get("msgId"));
  ASSERT_EQ(ids.size(), 3 * kMsgIdLength + 2) << ids;

  ASSERT_NO_FATAL_FAILURE(wait_dispatched(*b, "RmqBatch", 1, 3));
  Command got = must(b->call(pull("RmqCG", "RmqBatch", 1, 0, 0x2 | 0x4)));
  ASSERT_EQ(got.code, 0);
  auto msgs = messages_of(got);
  ASSERT_EQ(msgs.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(msgs[i].body, bodies[i]);
    EXPECT_EQ(find_property(msgs[i].properties, "KEYS"), "batch-" + std::to_string(i));
    EXPECT_EQ(make_msg_id(msgs[i].store_host, static_cast<uint64_t>(msgs[i].physical_offset)),
              ids.substr(i * (kMsgIdLength + 1), kMsgIdLength));
  }

  // V1 keys, a zlib body with sysFlag 1: stored and pulled as sent.
  const std::string plain(5000, 'z');
  Command v1 = rmq_request(kSendV1, SerializeType::kRocketmq);
  v1.ext.set("producerGroup", "RmqPG");
  v1.ext.set("topic", "RmqBatch");
  v1.ext.set("defaultTopic", "TBW102");
  v1.ext.set("defaultTopicQueueNums", "4");
  v1.ext.set("queueId", "2");
  v1.ext.set("sysFlag", "1");
  v1.ext.set("bornTimestamp", "1");
  v1.ext.set("flag", "0");
  v1.ext.set("properties", encode_properties({{"TAGS", "Z"}}));
  v1.body = rmq::deflate_body(plain);
  ASSERT_EQ(must(b->call(v1)).code, 0);
  ASSERT_NO_FATAL_FAILURE(wait_dispatched(*b, "RmqBatch", 2, 1));
  Command z = must(b->call(pull("RmqCG", "RmqBatch", 2, 0, 0x2 | 0x4)));
  auto zs = messages_of(z);
  ASSERT_EQ(zs.size(), 1u);
  EXPECT_EQ(zs[0].sys_flag & 1, 1);
  auto inflated = rmq::inflate_body(zs[0].body, 1 << 20);
  ASSERT_TRUE(inflated.is_ok());
  EXPECT_EQ(*inflated, plain);
}

TEST_F(RocketmqProcessTest, LongPollWakesOnASend) {
  auto waiting = broker();
  auto sender = broker();
  ASSERT_EQ(must(sender->call(send_v2("RmqPoll", 0, "first", ""))).code, 0);
  // The pull below waits at offset 1, the queue's end, only once "first" is dispatched (before
  // that, offset 1 is past the end: PULL_OFFSET_MOVED at once).
  ASSERT_NO_FATAL_FAILURE(wait_dispatched(*sender, "RmqPoll", 0, 1));
  auto result = std::async(std::launch::async, [&] {
    return waiting->call(pull("RmqCG", "RmqPoll", 0, 1, 0x2 | 0x4), std::chrono::seconds(20));
  });
  // The held pull does not block its connection's later requests: the sender's connection is
  // another, but the broker sees both pipelined.
  ASSERT_EQ(result.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  const auto sent_at = std::chrono::steady_clock::now();
  ASSERT_EQ(must(sender->call(send_v2("RmqPoll", 0, "second", ""))).code, 0);
  Command got = must(result.get());
  EXPECT_LT(std::chrono::steady_clock::now() - sent_at, std::chrono::seconds(5));
  ASSERT_EQ(got.code, 0);
  auto msgs = messages_of(got);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].body, "second");
}

TEST_F(RocketmqProcessTest, HeartbeatSubscriptionFiltersPullsAndRoutesTheRetryTopic) {
  auto b = broker();
  ASSERT_EQ(must(b->call(send_v2("RmqSub", 0, "a", encode_properties({{"TAGS", "TagA"}})))).code,
            0);
  ASSERT_EQ(must(b->call(send_v2("RmqSub", 0, "b", encode_properties({{"TAGS", "TagB"}})))).code,
            0);
  ASSERT_NO_FATAL_FAILURE(wait_dispatched(*b, "RmqSub", 0, 2));
  // No heartbeat yet: the group has no subscription for a pull without 0x4.
  EXPECT_EQ(must(b->call(pull("RmqSubCG", "RmqSub", 0, 0, 0))).code, 24);
  Command hb = must(b->call(heartbeat("10.0.0.9@1", "RmqSubCG", "RmqSub", "TagB")));
  ASSERT_EQ(hb.code, 0) << hb.remark.value_or("");
  Command got = must(b->call(pull("RmqSubCG", "RmqSub", 0, 0, 0)));
  ASSERT_EQ(got.code, 0) << got.remark.value_or("");
  auto msgs = messages_of(got);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].body, "b");

  Command list = rmq_request(38);
  list.ext.set("consumerGroup", "RmqSubCG");
  Command members = must(b->call(list));
  ASSERT_EQ(members.code, 0);
  auto ids = rmq::parse_consumer_id_list(members.body);
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(*ids, std::vector<std::string>{"10.0.0.9@1"});
  Command nobody = rmq_request(38);
  nobody.ext.set("consumerGroup", "NoSuchGroup");
  EXPECT_EQ(must(b->call(nobody)).code, 1);

  // A second member joins: the first is told (NOTIFY_CONSUMER_IDS_CHANGED, oneway, JSON).
  auto other = broker();
  ASSERT_EQ(must(other->call(heartbeat("10.0.0.9@9", "RmqSubCG", "RmqSub", "TagB"))).code, 0);
  auto notified = b->next_server_request(40, std::chrono::seconds(10));
  ASSERT_TRUE(notified.is_ok()) << notified.status().to_string();
  EXPECT_TRUE(notified->is_oneway());
  EXPECT_EQ(notified->serialize_type, SerializeType::kJson);
  EXPECT_EQ(notified->ext.get("consumerGroup"), "RmqSubCG");

  auto ns = namesrv();
  Command retry = route_once_present(*ns, "%RETRY%RmqSubCG");
  EXPECT_EQ(retry.code, 0) << retry.remark.value_or("");
}

TEST_F(RocketmqProcessTest, ConsumerAndQueueOffsets) {
  auto b = broker();
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(must(b->call(send_v2("RmqOffsets", 0, "m" + std::to_string(i), ""))).code, 0);
  ASSERT_NO_FATAL_FAILURE(wait_dispatched(*b, "RmqOffsets", 0, 3));
  Command query = rmq_request(14);
  query.ext.set("consumerGroup", "RmqOffCG");
  query.ext.set("topic", "RmqOffsets");
  query.ext.set("queueId", "0");
  Command fresh = must(b->call(query));
  EXPECT_EQ(fresh.code, 0);  // no offset yet, the queue starts at 0: read from the start
  EXPECT_EQ(fresh.ext.get("offset"), "0");

  Command update = rmq_request(15);
  update.ext.set("consumerGroup", "RmqOffCG");
  update.ext.set("topic", "RmqOffsets");
  update.ext.set("queueId", "0");
  update.ext.set("commitOffset", "2");
  ASSERT_TRUE(b->oneway(update).is_ok());  // clients send it oneway: never answered
  Command stored = must(b->call(query));
  EXPECT_EQ(stored.code, 0);
  EXPECT_EQ(stored.ext.get("offset"), "2");

  Command max = rmq_request(30);
  max.ext.set("topic", "RmqOffsets");
  max.ext.set("queueId", "0");
  EXPECT_EQ(must(b->call(max)).ext.get("offset"), "3");
  Command min = max;
  min.code = 31;
  EXPECT_EQ(must(b->call(min)).ext.get("offset"), "0");
}

// Orderly consumption over RocketMQ frames (reference §3, 41/42): a queue has one owner at a
// time, only the owner unlocks it, and queues of another broker name are never locked.
TEST_F(RocketmqProcessTest, QueueLocksHaveOneOwnerInBothHeaderEncodings) {
  const std::string topic = "RmqLocked", group = "RmqLockCG";
  auto c1 = broker(), c2 = broker();
  ASSERT_EQ(must(c1->call(send_v2(topic, 0, "m", ""))).code, 0);  // the topic exists
  ASSERT_EQ(must(c1->call(heartbeat("lock-c1@1", group, topic, "*"))).code, 0);
  ASSERT_EQ(must(c2->call(heartbeat("lock-c2@2", group, topic, "*"))).code, 0);
  auto locks = [&](RocketmqWireClient& c, const std::string& client, int32_t code,
                   std::vector<int32_t> queues, SerializeType type,
                   const std::string& broker_name = "broker-a") {
    rmq::LockBatchJson body;
    body.consumer_group = group;
    body.client_id = client;
    for (int32_t q : queues)
      body.mqs.push_back(rmq::MessageQueueRef{topic, broker_name, q});
    Command req = rmq_request(code, type);
    req.body = rmq::encode_lock_batch(body);
    Command answer = must(c.call(req));
    EXPECT_EQ(answer.code, 0) << answer.remark.value_or("");
    EXPECT_EQ(answer.serialize_type, type);
    std::vector<int32_t> held;
    if (code == 41) {
      auto ok = rmq::parse_lock_ok(answer.body);
      EXPECT_TRUE(ok.is_ok()) << ok.status().to_string();
      if (ok.is_ok()) {
        for (const auto& mq : *ok)
          held.push_back(mq.queue_id);
      }
      std::sort(held.begin(), held.end());
    }
    return held;
  };
  for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketmq}) {
    SCOPED_TRACE(type == SerializeType::kJson ? "JSON" : "ROCKETMQ");
    EXPECT_EQ(locks(*c1, "lock-c1@1", 41, {0, 1}, type), (std::vector<int32_t>{0, 1}));
    EXPECT_EQ(locks(*c2, "lock-c2@2", 41, {1, 2}, type), std::vector<int32_t>{2})
        << "queue 1 is c1's";
    locks(*c2, "lock-c2@2", 42, {1}, type);  // not the owner: nothing changes
    EXPECT_TRUE(locks(*c2, "lock-c2@2", 41, {1}, type).empty());
    locks(*c1, "lock-c1@1", 42, {0, 1}, type);
    EXPECT_EQ(locks(*c2, "lock-c2@2", 41, {1}, type), std::vector<int32_t>{1});
    EXPECT_TRUE(locks(*c1, "lock-c1@1", 41, {3}, type, "broker-elsewhere").empty());
    locks(*c2, "lock-c2@2", 42, {1, 2}, type);  // free for the next round
  }
}

TEST_F(RocketmqProcessTest, MessageSentBackArrivesFromTheRetryTopic) {
  auto b = broker();
  ASSERT_EQ(must(b->call(heartbeat("10.0.0.9@2", "RmqBackCG", "RmqBack", "*"))).code, 0);
  ASSERT_EQ(
      must(b->call(send_v2("RmqBack", 0, "fail me", encode_properties({{"UNIQ_KEY", "U9"}})))).code,
      0);
  auto msgs = messages_of(must(b->call(pull("RmqBackCG", "RmqBack", 0, 0, 0x2))));
  ASSERT_EQ(msgs.size(), 1u);
  Command back = rmq_request(36);
  back.ext.set("offset", std::to_string(msgs[0].physical_offset));
  back.ext.set("group", "RmqBackCG");
  back.ext.set("delayLevel", "1");
  back.ext.set("originMsgId", "U9");
  back.ext.set("originTopic", "RmqBack");
  back.ext.set("maxReconsumeTimes", "16");
  Command answer = must(b->call(back));
  ASSERT_EQ(answer.code, 0) << answer.remark.value_or("");
  // Delay level 1 is 1 s here: a long poll on the retry queue gets it when due.
  Command got =
      must(b->call(pull("RmqBackCG", "%RETRY%RmqBackCG", 0, 0, 0x2), std::chrono::seconds(15)));
  ASSERT_EQ(got.code, 0) << got.remark.value_or("");
  auto retried = messages_of(got);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].body, "fail me");
  EXPECT_EQ(retried[0].reconsume_times, 1);
  EXPECT_EQ(find_property(retried[0].properties, "RETRY_TOPIC"), "RmqBack");
}

TEST_F(RocketmqProcessTest, TransactionCommittedAfterACheckBack) {
  auto producer = broker();
  ASSERT_EQ(must(producer->call(heartbeat("10.0.0.9@3", "", "", "", "RmqTxPG"))).code, 0);
  Command half = send_v2(
      "RmqTx", 0, "tx body",
      encode_properties({{"TRAN_MSG", "true"}, {"PGROUP", "RmqTxPG"}, {"UNIQ_KEY", "TX1"}}));
  half.ext.set("a", "RmqTxPG");
  half.ext.set("f", "4");
  Command sent = must(producer->call(half));
  ASSERT_EQ(sent.code, 0) << sent.remark.value_or("");
  EXPECT_FALSE(sent.ext.get("transactionId").empty());
  auto consumer = broker();
  EXPECT_NE(must(consumer->call(pull("RmqTxCG", "RmqTx", 0, 0, 0x4))).code, 0);  // not yet

  // The producer answered nothing: the broker asks it (CHECK_TRANSACTION_STATE, oneway, with
  // the half message in the store format) and the producer commits.
  auto check = producer->next_server_request(39, std::chrono::seconds(15));
  ASSERT_TRUE(check.is_ok()) << check.status().to_string();
  EXPECT_TRUE(check->is_oneway());
  auto checked = messages_of(*check);
  ASSERT_EQ(checked.size(), 1u);
  EXPECT_EQ(checked[0].body, "tx body");
  EXPECT_EQ(checked[0].topic, "RmqTx");
  Command end = rmq_request(37);
  end.ext.set("producerGroup", "RmqTxPG");
  end.ext.set("tranStateTableOffset", std::string(check->ext.get("tranStateTableOffset")));
  end.ext.set("commitLogOffset", std::string(check->ext.get("commitLogOffset")));
  end.ext.set("commitOrRollback", "8");
  end.ext.set("fromTransactionCheck", "true");
  end.ext.set("msgId", std::string(check->ext.get("msgId")));
  end.ext.set("transactionId", std::string(check->ext.get("transactionId")));
  ASSERT_TRUE(producer->oneway(end).is_ok());
  Command got = must(consumer->call(pull("RmqTxCG", "RmqTx", 0, 0, 0x2 | 0x4)));
  ASSERT_EQ(got.code, 0) << got.remark.value_or("");
  auto msgs = messages_of(got);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].body, "tx body");
}

TEST_F(RocketmqProcessTest, ViewByIdAndQueryByKey) {
  auto b = broker();
  Command sent = must(b->call(send_v2(
      "RmqFind", 0, "find me", encode_properties({{"KEYS", "fk1 fk2"}, {"UNIQ_KEY", "FIND1"}}))));
  ASSERT_EQ(sent.code, 0);
  ASSERT_EQ(must(b->call(pull("RmqCG", "RmqFind", 0, 0, 0x2 | 0x4))).code, 0);  // dispatched
  auto id = parse_msg_id(sent.ext.get("msgId"));
  ASSERT_TRUE(id.is_ok());
  Command view = rmq_request(33);
  view.ext.set("offset", std::to_string(id->physical_offset));
  Command viewed = must(b->call(view));
  ASSERT_EQ(viewed.code, 0) << viewed.remark.value_or("");
  auto one = messages_of(viewed);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].body, "find me");

  // The index is written by the store's dispatcher after the queue: asked until it answers
  // (at most 50 times, as route_once_present).
  Command query = rmq_request(12);
  query.ext.set("topic", "RmqFind");
  query.ext.set("key", "fk2");
  query.ext.set("maxNum", "32");
  query.ext.set("beginTimestamp", "0");
  query.ext.set("endTimestamp", std::to_string(INT64_MAX));
  Command found;
  for (int i = 0; i < 50; ++i) {
    found = must(b->call(query));
    if (found.code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(found.code, 0) << found.remark.value_or("");
  auto msgs = messages_of(found);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].body, "find me");
  EXPECT_FALSE(found.ext.get("indexLastUpdateTimestamp").empty());
}

TEST_F(RocketmqProcessTest, DelayLevelHoldsAMessageUntilDue) {
  auto b = broker();
  const auto sent_at = std::chrono::steady_clock::now();
  ASSERT_EQ(
      must(b->call(send_v2("RmqDelay", 0, "later", encode_properties({{"DELAY", "1"}})))).code, 0);
  // Level 1 is 1 s here: a long poll returns it once delivered, not before.
  Command got = must(b->call(pull("RmqCG", "RmqDelay", 0, 0, 0x2 | 0x4), std::chrono::seconds(15)));
  ASSERT_EQ(got.code, 0) << got.remark.value_or("");
  EXPECT_GE(std::chrono::steady_clock::now() - sent_at, std::chrono::milliseconds(900));
  auto msgs = messages_of(got);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].body, "later");
}

TEST_F(RocketmqProcessTest, UnknownCodeAndMalformedFrameLeaveOtherTrafficServed) {
  auto b = broker();
  Command haha = rmq_request(600);  // comet's HA handshake: never through RocketMQ
  Command answer = must(b->call(haha));
  EXPECT_EQ(answer.code, 3);
  EXPECT_EQ(answer.remark.value_or(""), " request type 600 not supported");
  EXPECT_EQ(must(b->call(send_v2("RmqMixed", 0, "still served", ""))).code, 0);

  auto bad = broker();
  // A RocketMQ prefix announcing a 64 MiB frame (and 8 more bytes, enough to tell the protocol):
  // refused, that connection closed.
  ASSERT_TRUE(
      bad->write_all(std::string("\x04\x00\x00\x00\x00\x00\x00\x10", 8) + std::string(8, '{'))
          .is_ok());
  EXPECT_TRUE(bad->closed_by_peer(std::chrono::seconds(5)));
  EXPECT_EQ(must(b->call(pull("RmqCG", "RmqMixed", 0, 0, 0x2 | 0x4))).code, 0);

  // comet's own protocol on the same port meanwhile.
  auto native = cluster_->client().invoke(*broker_addr_, send_request("RmqMixed", 0, {"native"}),
                                          std::chrono::seconds(5));
  ASSERT_TRUE(native.is_ok()) << native.status().to_string();
  EXPECT_EQ(native->response_code(), ResponseCode::SUCCESS) << native->remark();
}

TEST_F(RocketmqProcessTest, MessagesCrossBetweenTheProtocols) {
  // RocketMQ → comet: comet's PullConsumer reads the same body, tags, keys, properties and ids.
  auto b = broker();
  const std::string props = encode_properties(
      {{"TAGS", "Cross"}, {"KEYS", "ck"}, {"UNIQ_KEY", "CROSS1"}, {"custom", "v"}});
  Command sent = must(b->call(send_v2("RmqCross", 0, "from rocketmq", props)));
  ASSERT_EQ(sent.code, 0);
  // The send created the topic; comet's clients find it once the name server routes it.
  auto ns = namesrv();
  ASSERT_EQ(route_once_present(*ns, "RmqCross").code, 0);
  client::PullConsumer consumer("CrossCG", cluster_->client_config("cross-consumer"));
  ASSERT_TRUE(consumer.start().is_ok());
  auto pulled =
      consumer.pull_block_if_not_found(client::MessageQueue{"RmqCross", "broker-a", 0}, "*", 0, 32);
  ASSERT_TRUE(pulled.is_ok()) << pulled.status().to_string();
  ASSERT_EQ(pulled->msgs.size(), 1u);
  const client::MessageExt& got = pulled->msgs[0];
  EXPECT_EQ(got.body, "from rocketmq");
  EXPECT_EQ(got.tags, "Cross");
  EXPECT_EQ(got.keys, "ck");
  EXPECT_EQ(got.properties.at("custom"), "v");
  EXPECT_EQ(got.msg_id, "CROSS1");
  EXPECT_EQ(got.offset_msg_id, sent.ext.get("msgId"));
  EXPECT_EQ(got.born_timestamp_ms, 1700000000000);
  consumer.shutdown();

  // comet's Producer → RocketMQ: the pull decodes the same message.
  client::Producer producer("CrossPG", cluster_->client_config("cross-producer"));
  ASSERT_TRUE(producer.start().is_ok());
  client::ProducerMessage m;
  m.topic = "RmqCross";
  m.body = "from comet";
  m.tags = "T1";
  m.keys = "kk";
  m.properties["p"] = "q";
  auto result = producer.send(m, client::MessageQueue{"RmqCross", "broker-a", 0});
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  producer.shutdown();
  auto msgs = messages_of(must(b->call(pull("RmqCG", "RmqCross", 0, 1, 0x2 | 0x4))));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].body, "from comet");
  EXPECT_EQ(find_property(msgs[0].properties, "TAGS"), "T1");
  EXPECT_EQ(find_property(msgs[0].properties, "KEYS"), "kk");
  EXPECT_EQ(find_property(msgs[0].properties, "p"), "q");
  EXPECT_EQ(find_property(msgs[0].properties, "UNIQ_KEY"), result->msg_id);
  EXPECT_EQ(make_msg_id(msgs[0].store_host, static_cast<uint64_t>(msgs[0].physical_offset)),
            result->offset_msg_id);
}

}  // namespace
}  // namespace comet::testing
