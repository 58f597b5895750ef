// RocketMQ ACL 1.0 on a RocketMQ connection: what a signed request's signature covers and the
// RequestAuth the session puts on the translated request. The golden signatures were computed
// independently when the test was written (python3 hmac/base64, and ali-ons 3.12.0's own
// Channel.beforeRequest for the captured frame), not by the code under test.
#include "remoting/rocketmq_acl.h"

#include <string>

#include <gtest/gtest.h>

#include "remoting/request_signature.h"
#include "remoting/rocketmq_session.h"

namespace comet::remoting::rocketmq {
namespace {

constexpr std::string_view kSecret = "12345678";

// A SEND_MESSAGE_V2 as a Java client with access key "RocketMQ" signs it (OnsChannel as ONS
// clients add it). Content: AccessKey, OnsChannel, a..h values in key order, then the body.
Command signed_send() {
  Command c;
  c.code = 310;
  c.opaque = 9;
  c.version = 407;
  c.ext.set("b", "TopicA");
  c.ext.set("a", "PG");
  c.ext.set("c", "TBW102");
  c.ext.set("d", "4");
  c.ext.set("e", "0");
  c.ext.set("f", "0");
  c.ext.set("g", "1700000000000");
  c.ext.set("h", "0");
  c.ext.set("AccessKey", "RocketMQ");
  c.ext.set("OnsChannel", "ALIYUN");
  c.ext.set("Signature", "HBJShDdPeoYu5pioVuOAC5t57Bk=");
  c.body = "hello";
  return c;
}

Command decoded(const Command& c, SerializeType type) {
  Command copy = c;
  copy.serialize_type = type;
  auto back = decode_frame(encode_frame(copy), 1 << 20);
  EXPECT_TRUE(back.is_ok()) << back.status().to_string();
  return back.is_ok() ? std::move(back).value() : Command{};
}

TEST(RocketmqAcl, ContentIsValuesInKeyOrderThenBody) {
  EXPECT_EQ(acl1_signed_content(signed_send()),
            "RocketMQALIYUNPGTopicATBW10240017000000000000hello");
}

TEST(RocketmqAcl, GoldenSignatureMatchesInBothHeaderEncodings) {
  for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketmq}) {
    auto auth = acl1_request_auth(decoded(signed_send(), type));
    ASSERT_NE(auth, nullptr);
    EXPECT_EQ(auth->scheme, RequestAuth::Scheme::kRocketmqAcl1);
    EXPECT_EQ(auth->access_key, "RocketMQ");
    EXPECT_EQ(auth->signature, "HBJShDdPeoYu5pioVuOAC5t57Bk=");
    EXPECT_TRUE(rocketmq_signature_matches(*auth, kSecret));
    EXPECT_FALSE(rocketmq_signature_matches(*auth, "12345679"));
  }
}

TEST(RocketmqAcl, AnyChangedValueOrBodyBreaksTheSignature) {
  Command topic = signed_send();
  topic.ext.set("b", "TopicB");
  EXPECT_FALSE(rocketmq_signature_matches(*acl1_request_auth(topic), kSecret));
  Command body = signed_send();
  body.body = "hellO";
  EXPECT_FALSE(rocketmq_signature_matches(*acl1_request_auth(body), kSecret));
  Command added = signed_send();
  added.ext.set("k", "true");
  EXPECT_FALSE(rocketmq_signature_matches(*acl1_request_auth(added), kSecret));
}

// ali-ons 3.12.0 writes numbers as JSON numbers and signs their toString(): the same text.
TEST(RocketmqAcl, AliOnsFrameWithNumericExtFields) {
  const std::string header =
      R"({"code":11,"language":"JAVA","opaque":1,"flag":0,"version":121,"extFields":{)"
      R"("Signature":"JXsH3KFBkRTHdBxAvrNy6bN0Py4=","AccessKey":"RocketMQ","OnsChannel":"ALIYUN",)"
      R"("consumerGroup":"G","topic":"T","queueId":3,"queueOffset":0,"maxMsgNums":32,)"
      R"("sysFlag":2,"commitOffset":0,"suspendTimeoutMillis":20000,"subscription":"*",)"
      R"("subVersion":1700000000000}})";
  auto cmd = decode_json_header(header);
  ASSERT_TRUE(cmd.is_ok()) << cmd.status().to_string();
  auto auth = acl1_request_auth(*cmd);
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->content, "RocketMQALIYUN0G32301700000000000*200002T");
  EXPECT_TRUE(rocketmq_signature_matches(*auth, kSecret));
}

// Clients up to 4.9.3 add _UNIQUE_KEY_QUERY after signing; later ones sign it.
TEST(RocketmqAcl, UniqueKeyQueryFlagSignedOnlyAfter493) {
  Command q;
  q.code = 12;
  q.ext.set("topic", "TopicA");
  q.ext.set("key", "K1");
  q.ext.set("maxNum", "32");
  q.ext.set("beginTimestamp", "0");
  q.ext.set("endTimestamp", "9");
  q.ext.set("AccessKey", "RocketMQ");
  q.ext.set("_UNIQUE_KEY_QUERY", "true");
  q.version = kVersionV4_9_3;
  q.ext.set("Signature", "euKl/bET6vCdBYK4HDcGn3nCmo8=");
  EXPECT_EQ(acl1_signed_content(q), "RocketMQ09K132TopicA");
  EXPECT_TRUE(rocketmq_signature_matches(*acl1_request_auth(q), kSecret));
  q.version = kVersionV4_9_3 + 1;
  q.ext.set("Signature", "uNrbRza/jy+y0a9stv/kXOxK89Y=");
  EXPECT_EQ(acl1_signed_content(q), "RocketMQtrue09K132TopicA");
  EXPECT_TRUE(rocketmq_signature_matches(*acl1_request_auth(q), kSecret));
}

TEST(RocketmqAcl, UnsignedRequestGetsNoAuth) {
  Command c = signed_send();
  c.ext.items.erase(c.ext.items.begin() + 8, c.ext.items.end());  // AccessKey, OnsChannel, Sig.
  ASSERT_EQ(c.ext.find("AccessKey"), nullptr);
  EXPECT_EQ(acl1_request_auth(c), nullptr);
}

TEST(RocketmqAcl, AccessKeyWithoutSignatureMatchesNoSecret) {
  Command c = signed_send();
  c.ext.items.pop_back();  // Signature
  auto auth = acl1_request_auth(c);
  ASSERT_NE(auth, nullptr);
  EXPECT_TRUE(auth->signature.empty());
  EXPECT_FALSE(rocketmq_signature_matches(*auth, kSecret));
}

TEST(RocketmqAcl, SessionPutsTheAuthOnTheTranslatedRequest) {
  RocketmqSession session("127.0.0.1:40001");
  for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketmq}) {
    Inbound in = session.on_request(decoded(signed_send(), type));
    ASSERT_TRUE(in.request.has_value());
    ASSERT_NE(in.request->auth, nullptr);
    EXPECT_TRUE(rocketmq_signature_matches(*in.request->auth, kSecret));
  }
  Command unsigned_send = signed_send();
  unsigned_send.ext.items.resize(8);
  Inbound in = session.on_request(unsigned_send);
  ASSERT_TRUE(in.request.has_value());
  EXPECT_EQ(in.request->auth, nullptr);
}

}  // namespace
}  // namespace comet::remoting::rocketmq
