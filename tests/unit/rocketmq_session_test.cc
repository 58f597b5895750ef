// RocketmqSession: RocketMQ commands (built with the codec) to native commands and back, without
// sockets.
#include "remoting/rocketmq_session.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/msg_id.h"
#include "common/record_codec.h"
#include "remoting/rocketmq_json.h"
#include "remoting/rocketmq_message.h"

namespace comet::remoting::rocketmq {
namespace {

constexpr int32_t kPeerPort = 40001;

Command request(int32_t code, int32_t opaque = 7) {
  Command c;
  c.code = code;
  c.opaque = opaque;
  c.version = 373;
  return c;
}

std::vector<RecordView> decode_records(const std::string& bytes) {
  std::vector<RecordView> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto d = record::decode(reinterpret_cast<const uint8_t*>(bytes.data()) + pos,
                            bytes.size() - pos, /*verify_crc=*/true);
    EXPECT_EQ(d.outcome, record::Outcome::kRecord) << d.reason;
    if (d.outcome != record::Outcome::kRecord) break;
    out.push_back(d.record);
    pos += d.size;
  }
  return out;
}

// The native answer the session turns back, for `req` translated as `native`.
Command answer(RocketmqSession& s, RemotingCommand native_answer) {
  auto out = s.on_outgoing(std::move(native_answer));
  EXPECT_TRUE(out.is_ok());
  EXPECT_TRUE(out.is_ok() && out->has_value());
  return out.is_ok() && out->has_value() ? **out : Command{};
}

TEST(DetectProtocol, NativeFrameByItsHeaderIdentifier) {
  auto native = RemotingCommand::request(protocol::RequestCode::PULL_MESSAGE);
  const std::string frame = encode_frame(native);
  EXPECT_EQ(detect_protocol(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()),
            Protocol::kNative);
}

TEST(DetectProtocol, RocketmqJsonAndBinaryFrames) {
  Command c = request(105);
  c.ext.set("topic", "T");
  for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketmq}) {
    c.serialize_type = type;
    const std::string frame = encode_frame(c);
    EXPECT_EQ(detect_protocol(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()),
              Protocol::kRocketmq);
  }
}

TEST(DetectProtocol, UndecidedUnderSixteenBytes) {
  const std::string frame =
      encode_frame(RemotingCommand::request(protocol::RequestCode::PULL_MESSAGE));
  EXPECT_EQ(detect_protocol(reinterpret_cast<const uint8_t*>(frame.data()), 15),
            Protocol::kUndecided);
  EXPECT_EQ(detect_protocol(nullptr, 0), Protocol::kUndecided);
}

TEST(RocketmqSession, UnknownCodeIsNotSupportedAndNotForwarded) {
  RocketmqSession s("127.0.0.1:" + std::to_string(kPeerPort));
  for (int32_t code : {600, 620, 221, 9999}) {
    Inbound in = s.on_request(request(code, 11));
    EXPECT_FALSE(in.request.has_value());
    ASSERT_TRUE(in.reply.has_value());
    EXPECT_EQ(in.reply->code, 3);
    EXPECT_EQ(in.reply->opaque, 11);
    EXPECT_TRUE(in.reply->is_response());
    EXPECT_EQ(in.reply->remark.value_or(""),
              " request type " + std::to_string(code) + " not supported");
  }
  Command oneway = request(600);
  oneway.flag = kFlagOneway;
  Inbound in = s.on_request(oneway);
  EXPECT_FALSE(in.reply.has_value());
  EXPECT_FALSE(in.request.has_value());
}

TEST(RocketmqSession, SendV2BecomesOneRecordWithEveryField) {
  RocketmqSession s("10.1.2.3:" + std::to_string(kPeerPort));
  Command c = request(310);
  c.serialize_type = SerializeType::kRocketmq;
  const std::string props =
      encode_properties({{"TAGS", "TagA"}, {"KEYS", "k1 k2"}, {"UNIQ_KEY", "U1"}});
  c.ext.set("a", "PG");
  c.ext.set("b", "TopicA");
  c.ext.set("c", "TBW102");
  c.ext.set("d", "4");
  c.ext.set("e", "2");
  c.ext.set("f", "1");
  c.ext.set("g", "1700000000123");
  c.ext.set("h", "5");
  c.ext.set("i", props);
  c.ext.set("j", "3");
  c.ext.set("k", "false");
  c.body = "compressed-bytes";
  Inbound in = s.on_request(c);
  ASSERT_TRUE(in.request.has_value());
  const RemotingCommand& native = *in.request;
  EXPECT_EQ(native.code(), static_cast<int32_t>(protocol::RequestCode::SEND_MESSAGE));
  EXPECT_EQ(native.opaque(), 7u);
  const auto* ext = native.ext<protocol::SendMessageRequestT>();
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->producer_group, "PG");
  EXPECT_EQ(ext->topic, "TopicA");
  EXPECT_EQ(ext->queue_id, 2);
  EXPECT_FALSE(ext->batch);
  auto records = decode_records(native.body.owned);
  ASSERT_EQ(records.size(), 1u);
  const RecordView& r = records[0];
  EXPECT_EQ(r.topic, "TopicA");
  EXPECT_EQ(r.queue_id, 2u);
  EXPECT_EQ(r.flags, 5u);
  EXPECT_EQ(r.sys_flag, 1u);  // compressed: kept as sent, body untouched
  EXPECT_EQ(r.body, "compressed-bytes");
  EXPECT_EQ(r.born_timestamp_ms, 1700000000123);
  EXPECT_EQ(r.born_host, (HostAddress{0x0a010203, kPeerPort}));
  EXPECT_EQ(r.reconsume_times, 3u);
  EXPECT_EQ(r.properties, props);

  // The answer: ext fields as RocketMQ's, in the request's (binary) encoding.
  auto resp = RemotingCommand::response_to(native, protocol::ResponseCode::SUCCESS);
  protocol::SendMessageResponseT sr;
  sr.msg_id = make_msg_id(HostAddress{0x7f000001, 10911}, 4096);
  sr.queue_id = 2;
  sr.queue_offset = 17;
  resp.set_ext(sr);
  Command out = answer(s, std::move(resp));
  EXPECT_EQ(out.code, 0);
  EXPECT_EQ(out.opaque, 7);
  EXPECT_TRUE(out.is_response());
  EXPECT_EQ(out.serialize_type, SerializeType::kRocketmq);
  EXPECT_EQ(out.ext.get("msgId"), sr.msg_id);
  EXPECT_EQ(out.ext.get("queueId"), "2");
  EXPECT_EQ(out.ext.get("queueOffset"), "17");
  EXPECT_EQ(out.ext.get("MSG_REGION"), "DefaultRegion");
  EXPECT_EQ(out.ext.get("TRACE_ON"), "true");
  // Answered once: a second answer with that opaque is a stray.
  auto again = s.on_outgoing(RemotingCommand::response_to(native, protocol::ResponseCode::SUCCESS));
  ASSERT_TRUE(again.is_ok());
  EXPECT_FALSE(again->has_value());
}

TEST(RocketmqSession, BatchByTheHeaderFlagAnswersEveryOffsetMsgId) {
  RocketmqSession s("127.0.0.1:" + std::to_string(kPeerPort));
  Command c = request(10);  // V1 keys, batch by `batch`, not by the code
  c.ext.set("producerGroup", "PG");
  c.ext.set("topic", "TopicB");
  c.ext.set("queueId", "0");
  c.ext.set("batch", "true");
  const std::string p1 = encode_properties({{"KEYS", "a"}});
  const std::string p2 = encode_properties({{"KEYS", "bb"}});
  c.body = encode_batch({BatchEntry{1, "first", p1}, BatchEntry{2, "second!", p2}});
  Inbound in = s.on_request(c);
  ASSERT_TRUE(in.request.has_value());
  const auto* ext = in.request->ext<protocol::SendMessageRequestT>();
  ASSERT_NE(ext, nullptr);
  EXPECT_TRUE(ext->batch);
  auto records = decode_records(in.request->body.owned);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].body, "first");
  EXPECT_EQ(records[0].flags, 1u);
  EXPECT_EQ(records[1].body, "second!");
  EXPECT_EQ(records[1].properties, p2);

  auto resp = RemotingCommand::response_to(*in.request, protocol::ResponseCode::SUCCESS);
  protocol::SendMessageResponseT sr;
  const HostAddress store{0x7f000001, 10911};
  sr.msg_id = make_msg_id(store, 1000);
  sr.count = 2;
  resp.set_ext(sr);
  Command out = answer(s, std::move(resp));
  EXPECT_EQ(out.ext.get("msgId"),
            make_msg_id(store, 1000) + "," + make_msg_id(store, 1000 + records[0].total_size));
}

TEST(RocketmqSession, CorruptBatchIsRefusedAsMessageIllegal) {
  RocketmqSession s("127.0.0.1:1");
  Command c = request(320);
  c.ext.set("b", "T");
  c.ext.set("m", "true");
  c.body = "\x00\x00\x00\x05zz";
  Inbound in = s.on_request(c);
  EXPECT_FALSE(in.request.has_value());
  ASSERT_TRUE(in.reply.has_value());
  EXPECT_EQ(in.reply->code, 13);
}

TEST(RocketmqSession, PullWithoutSubscriptionFlagUsesTheGroupsAndAnswersStoreFormat) {
  RocketmqSession s("127.0.0.1:" + std::to_string(kPeerPort));
  Command c = request(11, 21);
  c.ext.set("consumerGroup", "CG");
  c.ext.set("topic", "TopicA");
  c.ext.set("queueId", "1");
  c.ext.set("queueOffset", "5");
  c.ext.set("maxMsgNums", "32");
  c.ext.set("sysFlag", "3");  // commit + suspend, no subscription
  c.ext.set("commitOffset", "4");
  c.ext.set("suspendTimeoutMillis", "15000");
  c.ext.set("subscription", "ignored");
  Inbound in = s.on_request(c);
  ASSERT_TRUE(in.request.has_value());
  const auto* ext = in.request->ext<protocol::PullMessageRequestT>();
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->consumer_group, "CG");
  EXPECT_EQ(ext->queue_id, 1);
  EXPECT_EQ(ext->queue_offset, 5);
  EXPECT_EQ(ext->commit_offset, 4);
  EXPECT_EQ(ext->suspend_timeout_millis, 15000);
  EXPECT_TRUE(ext->use_group_subscription);
  EXPECT_EQ(ext->subscription, "");

  // Two stored records → two store-format messages with the same fields.
  const std::string props = encode_properties({{"TAGS", "TagA"}, {"UNIQ_KEY", "X"}});
  std::string stored;
  for (int i = 0; i < 2; ++i) {
    Message m;
    m.topic = "TopicA";
    m.queue_id = 1;
    m.flags = 9;
    m.born_timestamp_ms = 111;
    m.born_host = {0x0a000002, 5};
    m.body = i == 0 ? "one" : "two";
    m.properties = props;
    const size_t at = stored.size();
    stored.resize(at + record::encoded_size(m));
    record::encode(m, 5 + i, 2000 + at, 222, {0x7f000001, 10911},
                   reinterpret_cast<uint8_t*>(stored.data() + at));
  }
  auto resp = RemotingCommand::response_to(*in.request, protocol::ResponseCode::SUCCESS);
  protocol::PullMessageResponseT pr;
  pr.next_begin_offset = 7;
  pr.min_offset = 0;
  pr.max_offset = 7;
  resp.set_ext(pr);
  // The body as the broker sends it: views into the store.
  resp.body.views.emplace_back(reinterpret_cast<const uint8_t*>(stored.data()), stored.size());
  Command out = answer(s, std::move(resp));
  EXPECT_EQ(out.ext.get("nextBeginOffset"), "7");
  EXPECT_EQ(out.ext.get("minOffset"), "0");
  EXPECT_EQ(out.ext.get("maxOffset"), "7");
  EXPECT_EQ(out.ext.get("suggestWhichBrokerId"), "0");
  auto msgs = decode_store_messages(out.body);
  ASSERT_TRUE(msgs.is_ok()) << msgs.status().to_string();
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ((*msgs)[0].body, "one");
  EXPECT_EQ((*msgs)[1].body, "two");
  EXPECT_EQ((*msgs)[1].queue_offset, 6);
  EXPECT_EQ((*msgs)[0].physical_offset, 2000);
  EXPECT_EQ((*msgs)[0].topic, "TopicA");
  EXPECT_EQ((*msgs)[0].properties, props);
  EXPECT_EQ((*msgs)[0].flag, 9);
  EXPECT_EQ((*msgs)[0].store_host, (HostAddress{0x7f000001, 10911}));
}

TEST(RocketmqSession, PullWithSubscriptionFlagCarriesIt) {
  RocketmqSession s("127.0.0.1:1");
  Command c = request(11);
  c.ext.set("queueId", "0");
  c.ext.set("queueOffset", "0");
  c.ext.set("sysFlag", "4");
  c.ext.set("subscription", "TagA || TagB");
  c.ext.set("commitOffset", "9");
  Inbound in = s.on_request(c);
  ASSERT_TRUE(in.request.has_value());
  const auto* ext = in.request->ext<protocol::PullMessageRequestT>();
  ASSERT_NE(ext, nullptr);
  EXPECT_FALSE(ext->use_group_subscription);
  EXPECT_EQ(ext->subscription, "TagA || TagB");
  EXPECT_EQ(ext->commit_offset, -1);  // no 0x1
  EXPECT_EQ(ext->suspend_timeout_millis, 0);
}

TEST(RocketmqSession, MissingRequiredFieldIsAnsweredSystemError) {
  RocketmqSession s("127.0.0.1:1");
  Inbound in = s.on_request(request(11));
  EXPECT_FALSE(in.request.has_value());
  ASSERT_TRUE(in.reply.has_value());
  EXPECT_EQ(in.reply->code, 1);
  EXPECT_NE(in.reply->remark.value_or("").find("queueId"), std::string::npos);
}

TEST(RocketmqSession, RouteJsonFormFollowsTheVersion) {
  for (int32_t version : {373, 401}) {
    RocketmqSession s("127.0.0.1:1");
    Command c = request(105);
    c.version = version;
    c.ext.set("topic", "TopicA");
    Inbound in = s.on_request(c);
    ASSERT_TRUE(in.request.has_value());
    auto resp = RemotingCommand::response_to(*in.request, protocol::ResponseCode::SUCCESS);
    protocol::TopicRouteDataT route;
    auto q = std::make_unique<protocol::QueueDataT>();
    q->broker_name = "broker-a";
    q->read_queue_nums = 4;
    q->write_queue_nums = 4;
    q->perm = 6;
    route.queue_datas.push_back(std::move(q));
    auto b = std::make_unique<protocol::BrokerDataT>();
    b->cluster = "DefaultCluster";
    b->broker_name = "broker-a";
    auto a = std::make_unique<protocol::BrokerAddrT>();
    a->broker_id = 0;
    a->addr = "127.0.0.1:10911";
    b->broker_addrs.push_back(std::move(a));
    route.broker_datas.push_back(std::move(b));
    resp.set_ext(std::move(route));
    Command out = answer(s, std::move(resp));
    EXPECT_EQ(out.code, 0);
    const bool quoted = out.body.find("{\"0\":\"127.0.0.1:10911\"}") != std::string::npos;
    const bool bare = out.body.find("{0:\"127.0.0.1:10911\"}") != std::string::npos;
    EXPECT_EQ(quoted, version >= 401) << out.body;
    EXPECT_EQ(bare, version < 401) << out.body;
    auto parsed = parse_route(out.body);
    ASSERT_TRUE(parsed.is_ok());
    ASSERT_EQ(parsed->queues.size(), 1u);
    EXPECT_EQ(parsed->queues[0].write_queue_nums, 4);
  }
}

TEST(RocketmqSession, UnknownTopicGetsRocketmqsRemark) {
  RocketmqSession s("127.0.0.1:1");
  Command c = request(105);
  c.ext.set("topic", "Nope");
  Inbound in = s.on_request(c);
  ASSERT_TRUE(in.request.has_value());
  Command out = answer(s, RemotingCommand::response_to(
                              *in.request, protocol::ResponseCode::TOPIC_NOT_EXIST, "native"));
  EXPECT_EQ(out.code, 17);
  EXPECT_EQ(out.remark.value_or(""), "No topic route info in name server for the topic: Nope");
}

TEST(RocketmqSession, CometOnlyResponseCodesBecomeRocketmqs) {
  RocketmqSession s("127.0.0.1:1");
  Command c = request(310);
  c.ext.set("b", "T");
  c.body = "x";
  Inbound in = s.on_request(c);
  ASSERT_TRUE(in.request.has_value());
  Command out = answer(s, RemotingCommand::response_to(
                              *in.request, protocol::ResponseCode::MESSAGE_TOO_LARGE, "too big"));
  EXPECT_EQ(out.code, 13);
  EXPECT_EQ(out.remark.value_or(""), "too big");
  EXPECT_EQ(to_rocketmq_response_code(42), 1);
  EXPECT_EQ(to_rocketmq_response_code(41), 13);
  EXPECT_EQ(to_rocketmq_response_code(19), 19);
}

TEST(RocketmqSession, HeartbeatBecomesNativeWithLanguage) {
  RocketmqSession s("127.0.0.1:1");
  HeartbeatJson hb;
  hb.client_id = "10.0.0.9@1";
  hb.producer_groups = {"PG"};
  ConsumerJson cj;
  cj.group_name = "CG";
  cj.consume_type = "CONSUME_PASSIVELY";
  cj.message_model = "CLUSTERING";
  cj.consume_from_where = "CONSUME_FROM_FIRST_OFFSET";
  cj.subscriptions.push_back(SubscriptionJson{"T", "TagA || TagB", "TAG", {"TagA", "TagB"}, 1});
  hb.consumers.push_back(cj);
  Command c = request(34);
  c.language = "GO";
  c.body = encode_heartbeat(hb);
  Inbound in = s.on_request(c);
  ASSERT_TRUE(in.request.has_value());
  const auto* ext = in.request->ext<protocol::HeartbeatRequestT>();
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->client_id, "10.0.0.9@1");
  EXPECT_EQ(ext->language, "GO");
  EXPECT_EQ(ext->producer_groups, std::vector<std::string>{"PG"});
  ASSERT_EQ(ext->consumers.size(), 1u);
  EXPECT_EQ(ext->consumers[0]->message_model, "CLUSTERING");
  EXPECT_EQ(ext->consumers[0]->consume_from_where, "CONSUME_FROM_FIRST_OFFSET");
  ASSERT_EQ(ext->consumers[0]->subscriptions.size(), 1u);
  EXPECT_EQ(ext->consumers[0]->subscriptions[0]->expression, "TagA || TagB");
}

TEST(RocketmqSession, OnewayRequestIsForwardedButNeverAnswered) {
  RocketmqSession s("127.0.0.1:1");
  Command c = request(15);
  c.flag = kFlagOneway;
  c.ext.set("consumerGroup", "CG");
  c.ext.set("topic", "T");
  c.ext.set("queueId", "0");
  c.ext.set("commitOffset", "12");
  Inbound in = s.on_request(c);
  ASSERT_TRUE(in.request.has_value());
  EXPECT_TRUE(in.request->is_oneway());
  EXPECT_EQ(in.request->ext<protocol::ConsumerOffsetRequestT>()->commit_offset, 12);
  auto out =
      s.on_outgoing(RemotingCommand::response_to(*in.request, protocol::ResponseCode::SUCCESS));
  ASSERT_TRUE(out.is_ok());
  EXPECT_FALSE(out->has_value());
}

TEST(RocketmqSession, ServerRequestsInRocketmqForm) {
  RocketmqSession s("127.0.0.1:1");
  auto notify = RemotingCommand::request(protocol::RequestCode::NOTIFY_CONSUMER_IDS_CHANGED);
  notify.header.opaque = 99;
  notify.header.flags = kFlagOneway;
  protocol::ConsumerListRequestT ext;
  ext.consumer_group = "CG";
  notify.set_ext(ext);
  auto out = s.on_outgoing(std::move(notify));
  ASSERT_TRUE(out.is_ok());
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->code, 40);
  EXPECT_EQ((*out)->opaque, 99);
  EXPECT_TRUE((*out)->is_oneway());
  EXPECT_EQ((*out)->serialize_type, SerializeType::kJson);
  EXPECT_EQ((*out)->ext.get("consumerGroup"), "CG");

  auto other = RemotingCommand::request(protocol::RequestCode::RESET_CONSUMER_CLIENT_OFFSET);
  EXPECT_FALSE(s.on_outgoing(std::move(other)).is_ok());

  Command reply;
  reply.code = 0;
  reply.opaque = 99;
  reply.flag = kFlagResponse;
  reply.remark = "ok";
  RemotingCommand native = s.on_response(reply);
  EXPECT_TRUE(native.is_response());
  EXPECT_EQ(native.opaque(), 99u);
  EXPECT_EQ(native.remark(), "ok");
}

TEST(RocketmqSession, ConsumerListOfAnUnknownGroupIsSystemError) {
  RocketmqSession s("127.0.0.1:1");
  Command c = request(38);
  c.ext.set("consumerGroup", "Nobody");
  Inbound in = s.on_request(c);
  ASSERT_TRUE(in.request.has_value());
  auto resp = RemotingCommand::response_to(*in.request, protocol::ResponseCode::SUCCESS);
  resp.set_ext(protocol::ConsumerListResponseT{});
  Command out = answer(s, std::move(resp));
  EXPECT_EQ(out.code, 1);

  Command c2 = request(38, 8);
  c2.ext.set("consumerGroup", "CG");
  in = s.on_request(c2);
  ASSERT_TRUE(in.request.has_value());
  resp = RemotingCommand::response_to(*in.request, protocol::ResponseCode::SUCCESS);
  protocol::ConsumerListResponseT list;
  list.client_ids = {"a@1", "b@2"};
  resp.set_ext(list);
  out = answer(s, std::move(resp));
  EXPECT_EQ(out.code, 0);
  auto ids = parse_consumer_id_list(out.body);
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"a@1", "b@2"}));
}

TEST(RocketmqSession, LockBatchBodiesBothWays) {
  RocketmqSession s("127.0.0.1:1");
  Command c = request(41);
  c.body = encode_lock_batch({"CG", "c@1", {{"T", "broker-a", 0}, {"T", "broker-a", 3}}, false});
  Inbound in = s.on_request(c);
  ASSERT_TRUE(in.request.has_value());
  EXPECT_EQ(in.request->code(), static_cast<int32_t>(protocol::RequestCode::LOCK_BATCH_MQ));
  const auto* ext = in.request->ext<protocol::LockBatchRequestT>();
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->consumer_group, "CG");
  EXPECT_EQ(ext->client_id, "c@1");
  ASSERT_EQ(ext->queues.size(), 2u);
  EXPECT_EQ(ext->queues[1]->queue_id, 3);
  EXPECT_EQ(ext->queues[1]->broker_name, "broker-a");

  auto resp = RemotingCommand::response_to(*in.request, protocol::ResponseCode::SUCCESS);
  protocol::LockBatchResponseT locked;
  auto mq = std::make_unique<protocol::MessageQueueT>();
  mq->topic = "T";
  mq->broker_name = "broker-a";
  mq->queue_id = 3;
  locked.locked.push_back(std::move(mq));
  resp.set_ext(std::move(locked));
  Command out = answer(s, std::move(resp));
  auto ok = parse_lock_ok(out.body);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(*ok, (std::vector<MessageQueueRef>{{"T", "broker-a", 3}}));

  Command unlock = request(42, 8);
  unlock.body = c.body;
  in = s.on_request(unlock);
  ASSERT_TRUE(in.request.has_value());
  EXPECT_EQ(in.request->code(), static_cast<int32_t>(protocol::RequestCode::UNLOCK_BATCH_MQ));
  Command bad = request(41, 9);
  bad.body = "not json";
  in = s.on_request(bad);
  EXPECT_FALSE(in.request.has_value());
  ASSERT_TRUE(in.reply.has_value());
  EXPECT_EQ(in.reply->code, 1);
}

}  // namespace
}  // namespace comet::remoting::rocketmq
