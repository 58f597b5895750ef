// RocketMQ 4.x JSON bodies against text written by hand from /work/shared/rocketmq-remoting.md
// §2-3 and what the clients send (ali-ons, Java, Go, C++).
#include "remoting/rocketmq_json.h"

#include <gtest/gtest.h>

#include <string>

namespace comet::remoting::rocketmq {
namespace {

RouteJson sample_route() {
  RouteJson r;
  r.brokers.push_back(
      {"DefaultCluster", "broker-a", {{0, "127.0.0.1:10911"}, {1, "127.0.0.1:10921"}}});
  r.queues.push_back({"broker-a", 4, 4, 6, 0});
  return r;
}

// TopicRouteData exactly as Java's name server writes it (compact, fastjson's field order).
constexpr std::string_view kRouteStandard =
    R"({"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"},)"
    R"("brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},)"
    R"("queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,)"
    R"("writeQueueNums":4}]})";
// The same for a client older than version 401: brokerAddrs keys unquoted.
constexpr std::string_view kRouteLegacy =
    R"({"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},)"
    R"("brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},)"
    R"("queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,)"
    R"("writeQueueNums":4}]})";

TEST(RocketmqJsonTest, RouteInBothFormsParsesAndEncodesByteIdentical) {
  for (auto [text, standard] : {std::pair{kRouteStandard, true}, std::pair{kRouteLegacy, false}}) {
    auto r = parse_route(text);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(*r, sample_route());
    EXPECT_EQ(encode_route(*r, standard), text);
  }
}

TEST(RocketmqJsonTest, RouteParsingKeepsDigitsInsideStringsAndArrays) {
  // A broker name like {0: inside a string, spaces around a bare key, an empty route.
  auto r = parse_route(
      R"({"brokerDatas":[{"brokerAddrs":{ 3 : "h:1"},"brokerName":"{0:\"x\",1","cluster":"c"}],)"
      R"("queueDatas":[]})");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->brokers.size(), 1u);
  EXPECT_EQ(r->brokers[0].broker_name, "{0:\"x\",1");
  EXPECT_EQ(r->brokers[0].addrs, (std::vector<std::pair<int64_t, std::string>>{{3, "h:1"}}));
  EXPECT_TRUE(r->queues.empty());
  EXPECT_EQ(encode_route(RouteJson{}, true),
            R"({"brokerDatas":[],"filterServerTable":{},"queueDatas":[]})");
}

TEST(RocketmqJsonTest, ClusterInfoInBothForms) {
  ClusterJson c;
  c.brokers.push_back({"DefaultCluster", "broker-a", {{0, "127.0.0.1:10911"}}});
  c.clusters.push_back({"DefaultCluster", {"broker-a"}});
  EXPECT_EQ(encode_cluster_info(c, true),
            R"({"brokerAddrTable":{"broker-a":{"brokerAddrs":{"0":"127.0.0.1:10911"},)"
            R"("brokerName":"broker-a","cluster":"DefaultCluster"}},)"
            R"("clusterAddrTable":{"DefaultCluster":["broker-a"]}})");
  EXPECT_EQ(encode_cluster_info(c, false),
            R"({"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},)"
            R"("brokerName":"broker-a","cluster":"DefaultCluster"}},)"
            R"("clusterAddrTable":{"DefaultCluster":["broker-a"]}})");
}

// A heartbeat with enum ordinals, a subVersion as a string, a missing expressionType, missing
// sets and unitMode, \u0001 in a string and a trailing newline.
TEST(RocketmqJsonTest, HeartbeatWithOrdinalsAndMissingSets) {
  constexpr std::string_view text =
      "{\"clientID\":\"10.0.0.9@12345\",\"producerDataSet\":[{\"groupName\":\"P\\u0001G\"}],"
      "\"consumerDataSet\":[{\"groupName\":\"CG\",\"consumeType\":1,\"messageModel\":1,"
      "\"consumeFromWhere\":4,\"subscriptionDataSet\":[{\"topic\":\"T\",\"subString\":"
      "\"TagA || TagB\",\"tagsSet\":[\"TagA\",\"TagB\"],\"codeSet\":[2598919,2598920],"
      "\"subVersion\":\"1700000000000\"},{\"topic\":\"%RETRY%CG\",\"subString\":\"*\"}]},"
      "{\"groupName\":\"BG\",\"consumeType\":0,\"messageModel\":0,\"consumeFromWhere\":5}]}\n";
  auto h = parse_heartbeat(text);
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  EXPECT_EQ(h->client_id, "10.0.0.9@12345");
  EXPECT_EQ(h->producer_groups, std::vector<std::string>{"P\x01G"});
  ASSERT_EQ(h->consumers.size(), 2u);
  const ConsumerJson& c = h->consumers[0];
  EXPECT_EQ(c.group_name, "CG");
  EXPECT_EQ(c.consume_type, "CONSUME_PASSIVELY");
  EXPECT_EQ(c.message_model, "CLUSTERING");
  EXPECT_EQ(c.consume_from_where, "CONSUME_FROM_FIRST_OFFSET");
  EXPECT_FALSE(c.unit_mode);
  ASSERT_EQ(c.subscriptions.size(), 2u);
  EXPECT_EQ(c.subscriptions[0].topic, "T");
  EXPECT_EQ(c.subscriptions[0].sub_string, "TagA || TagB");
  EXPECT_EQ(c.subscriptions[0].tags, (std::vector<std::string>{"TagA", "TagB"}));
  EXPECT_EQ(c.subscriptions[0].sub_version, 1700000000000);
  EXPECT_EQ(c.subscriptions[0].expression_type, "TAG");
  EXPECT_EQ(c.subscriptions[1].topic, "%RETRY%CG");
  EXPECT_TRUE(c.subscriptions[1].tags.empty());
  const ConsumerJson& b = h->consumers[1];
  EXPECT_EQ(b.consume_type, "CONSUME_ACTIVELY");
  EXPECT_EQ(b.message_model, "BROADCASTING");
  EXPECT_EQ(b.consume_from_where, "CONSUME_FROM_TIMESTAMP");
  EXPECT_TRUE(b.subscriptions.empty());
}

TEST(RocketmqJsonTest, HeartbeatEncodesNamesAsJavaDoes) {
  HeartbeatJson h;
  h.client_id = "c@1";
  h.producer_groups = {"PG"};
  ConsumerJson c{"CG", "CONSUME_PASSIVELY", "CLUSTERING", "CONSUME_FROM_LAST_OFFSET", false, {}};
  c.subscriptions.push_back({"T", "TagA", "TAG", {"TagA"}, 5});
  h.consumers.push_back(c);
  const std::string text = encode_heartbeat(h);
  // codeSet: Java's "TagA".hashCode() = 2598919.
  EXPECT_EQ(
      text,
      R"({"clientID":"c@1","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET",)"
      R"("consumeType":"CONSUME_PASSIVELY","groupName":"CG","messageModel":"CLUSTERING",)"
      R"("subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],)"
      R"("expressionType":"TAG","subString":"TagA","subVersion":5,"tagsSet":["TagA"],)"
      R"("topic":"T"}],"unitMode":false}],"producerDataSet":[{"groupName":"PG"}]})");
  auto back = parse_heartbeat(text);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, h);
}

TEST(RocketmqJsonTest, LockBatchAndAnswer) {
  constexpr std::string_view request =
      R"({"clientId":"c@1","consumerGroup":"CG","mqSet":[{"brokerName":"broker-a","queueId":0,)"
      R"("topic":"T"},{"brokerName":"broker-a","queueId":1,"topic":"T"}],"onlyThisBroker":false})";
  auto b = parse_lock_batch(request);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(b->consumer_group, "CG");
  EXPECT_EQ(b->client_id, "c@1");
  EXPECT_EQ(b->mqs, (std::vector<MessageQueueRef>{{"T", "broker-a", 0}, {"T", "broker-a", 1}}));
  EXPECT_FALSE(b->only_this_broker);
  EXPECT_EQ(encode_lock_batch(*b), request);
  // Without onlyThisBroker, queueId as a string (as a few clients send).
  auto loose = parse_lock_batch(
      R"({"consumerGroup":"CG","clientId":"c","mqSet":[{"topic":"T","brokerName":"b","queueId":"2"}]})");
  ASSERT_TRUE(loose.is_ok()) << loose.status().to_string();
  EXPECT_EQ(loose->mqs[0].queue_id, 2);

  constexpr std::string_view answer =
      R"({"lockOKMQSet":[{"brokerName":"broker-a","queueId":1,"topic":"T"}]})";
  auto ok = parse_lock_ok(answer);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(*ok, (std::vector<MessageQueueRef>{{"T", "broker-a", 1}}));
  EXPECT_EQ(encode_lock_ok(*ok), answer);
  EXPECT_EQ(encode_lock_ok({}), R"({"lockOKMQSet":[]})");
}

TEST(RocketmqJsonTest, ConsumerIdList) {
  constexpr std::string_view text = R"({"consumerIdList":["10.0.0.9@12345","10.0.0.8@1"]})";
  auto ids = parse_consumer_id_list(text);
  ASSERT_TRUE(ids.is_ok()) << ids.status().to_string();
  EXPECT_EQ(*ids, (std::vector<std::string>{"10.0.0.9@12345", "10.0.0.8@1"}));
  EXPECT_EQ(encode_consumer_id_list(*ids), text);
}

TEST(RocketmqJsonTest, RefusesBadBodies) {
  EXPECT_EQ(parse_heartbeat("{\"clientID\":").status().code(), Code::kCorruption);
  EXPECT_EQ(parse_heartbeat("[]").status().code(), Code::kCorruption);
  EXPECT_EQ(parse_heartbeat(R"({"consumerDataSet":{}})").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(parse_heartbeat(R"({"consumerDataSet":[{"consumeType":7}]})").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(parse_heartbeat(R"({"consumerDataSet":[{"messageModel":"BOTH"}]})").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(parse_heartbeat(R"({"consumerDataSet":[3]})").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(parse_lock_batch(R"({"mqSet":[{"queueId":"x"}]})").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(parse_lock_batch(R"({"mqSet":[{"queueId":1.5}]})").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(parse_route(R"({"brokerDatas":[{"brokerAddrs":{"x":"h"}}]})").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(parse_consumer_id_list(R"({"consumerIdList":[{}]})").status().code(),
            Code::kInvalidArgument);
  // Deep nesting is parsed without recursion and refused or ignored, never a crash.
  const std::string deep = R"({"x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_TRUE(parse_consumer_id_list(deep).is_ok());
  EXPECT_EQ(parse_consumer_id_list(std::string(100000, '[')).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace comet::remoting::rocketmq
