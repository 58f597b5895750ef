// The RocketMQ 4.x frame and header codecs against frames written by hand from
// /work/shared/rocketmq-remoting.md §1 and RocketMQ's RemotingCommand / RocketMQSerializable.
#include "remoting/rocketmq_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "unit/hex_bytes.h"

namespace comet::remoting::rocketmq {
namespace {

using comet::testing::from_hex;

constexpr uint32_t kMaxFrame = 16 * 1024 * 1024;

std::string be32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i)
    s[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return s;
}

// A SEND_MESSAGE_V2 request header as comet writes it: fastjson's field order (alphabetical),
// every extFields value a string, the properties' \x01 / \x02 escaped.
constexpr std::string_view kSendV2Json =
    R"({"code":310,"extFields":{"a":"PG","b":"TopicTest","c":"TBW102","d":"4","e":"3","f":"0",)"
    R"("g":"1700000000000","h":"0","i":"TAGS\u0001TagA\u0002","j":"0","k":"false","l":"16",)"
    R"("m":"false","n":"broker-a"},"flag":0,"language":"JAVA","opaque":42,"version":407})";

void expect_send_v2_fields(const Command& cmd) {
  EXPECT_EQ(cmd.code, 310);
  EXPECT_EQ(cmd.language, "JAVA");
  EXPECT_EQ(cmd.version, 407);
  EXPECT_EQ(cmd.opaque, 42);
  EXPECT_EQ(cmd.flag, 0);
  EXPECT_FALSE(cmd.is_response());
  EXPECT_FALSE(cmd.is_oneway());
  EXPECT_FALSE(cmd.remark.has_value());
  EXPECT_EQ(cmd.body, "hello");
}

TEST(RocketmqCodecTest, JsonSendV2FrameDecodesAndEncodesByteIdentical) {
  const std::string frame = be32(4 + kSendV2Json.size() + 5)  // length: 4 + H + B
                            + be32(kSendV2Json.size())        // type 0 (JSON) << 24 | H
                            + std::string(kSendV2Json) + "hello";
  auto cmd = decode_frame(frame, kMaxFrame);
  ASSERT_TRUE(cmd.is_ok()) << cmd.status().to_string();
  expect_send_v2_fields(*cmd);
  EXPECT_EQ(cmd->serialize_type, SerializeType::kJson);
  const std::vector<std::pair<std::string, std::string>> want = {{"a", "PG"},
                                                                 {"b", "TopicTest"},
                                                                 {"c", "TBW102"},
                                                                 {"d", "4"},
                                                                 {"e", "3"},
                                                                 {"f", "0"},
                                                                 {"g", "1700000000000"},
                                                                 {"h", "0"},
                                                                 {"i", "TAGS\x01TagA\x02"},
                                                                 {"j", "0"},
                                                                 {"k", "false"},
                                                                 {"l", "16"},
                                                                 {"m", "false"},
                                                                 {"n", "broker-a"}};
  EXPECT_EQ(cmd->ext.items, want);
  EXPECT_EQ(cmd->ext.get_int("g").value(), 1700000000000);
  EXPECT_FALSE(cmd->ext.get_bool_or("m", true));
  EXPECT_EQ(encode_frame(*cmd), frame);
  EXPECT_EQ(encode_header(*cmd), kSendV2Json);
}

TEST(RocketmqCodecTest, BinarySendV2FrameDecodesAndEncodesByteIdentical) {
  const std::string frame = from_hex(
      "0000003F"                             // length: 4 + 54 + 5
      "01000036"                             // type 1 (ROCKETMQ) << 24 | header length 54
      "0136"                                 // code 310
      "00"                                   // language JAVA
      "0197"                                 // version 407
      "0000002A"                             // opaque 42
      "00000000"                             // flag
      "00000000"                             // remark length 0: no remark
      "00000021"                             // extFields map: 33 bytes
      "0001 61 00000002 5047"                // a = PG
      "0001 62 00000009 546F70696354657374"  // b = TopicTest
      "0001 65 00000001 33"                  // e = 3
      "68656C6C6F");                         // body "hello"
  auto cmd = decode_frame(frame, kMaxFrame);
  ASSERT_TRUE(cmd.is_ok()) << cmd.status().to_string();
  expect_send_v2_fields(*cmd);
  EXPECT_EQ(cmd->serialize_type, SerializeType::kRocketmq);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"a", "PG"}, {"b", "TopicTest"}, {"e", "3"}};
  EXPECT_EQ(cmd->ext.items, want);
  EXPECT_EQ(encode_frame(*cmd), frame);
}

TEST(RocketmqCodecTest, BinaryResponseWithRemarkRoundTrips) {
  Command req;
  req.code = 310;
  req.opaque = -7;
  req.serialize_type = SerializeType::kRocketmq;
  Command resp = Command::response_to(req, 17, "topic not exist");
  resp.ext.set("queueId", "0");
  const std::string header = encode_header(resp);
  EXPECT_EQ(header, from_hex("0011"      // code 17
                             "00"        // JAVA
                             "0197"      // 407
                             "FFFFFFF9"  // opaque -7
                             "00000001"  // flag: response
                             "0000000F"  // remark length 15
                             "746F706963206E6F74206578697374"
                             "0000000E"             // map: 2 + 7 + 4 + 1 bytes
                             "0007 71756575654964"  // queueId
                             "00000001 30"));       // = 0
  auto back = decode_binary_header(header);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, resp);
}

TEST(RocketmqCodecTest, ResponseToCopiesOpaqueAndSerializeType) {
  Command req;
  req.code = 11;
  req.language = "CPP";
  req.version = 121;
  req.opaque = 99;
  req.flag = kFlagOneway;
  Command resp = Command::response_to(req, 0);
  EXPECT_EQ(resp.code, 0);
  EXPECT_EQ(resp.opaque, 99);
  EXPECT_EQ(resp.flag, kFlagResponse);
  EXPECT_EQ(resp.language, "JAVA");
  EXPECT_EQ(resp.version, kAnswerVersion);
  EXPECT_FALSE(resp.remark.has_value());
  EXPECT_EQ(encode_header(resp),
            R"({"code":0,"extFields":{},"flag":1,"language":"JAVA","opaque":99,"version":407})");
  resp.remark = "a \"quoted\"\nline";
  EXPECT_EQ(
      encode_header(resp),
      R"({"code":0,"extFields":{},"flag":1,"language":"JAVA","opaque":99,"remark":"a \"quoted\"\nline","version":407})");
}

// What ali-ons and the C++ client send: numeric and boolean extFields, null remark, the fields
// in another order, unknown fields (nested too), \u escapes and a trailing newline.
TEST(RocketmqCodecTest, JsonHeaderAcceptsWhatClientsSend) {
  constexpr std::string_view header =
      "{\"code\":11,\"language\":\"NODE\",\"opaque\":5,\"flag\":2,\"version\":121,"
      "\"remark\":null,\"serializeTypeCurrentRPC\":\"JSON\",\"x\":{\"y\":[1,{\"z\":null}]},"
      "\"extFields\":{\"queueId\":3,\"queueOffset\":-1,\"big\":1700000000000123,"
      "\"unitMode\":true,\"gone\":null,\"topic\":\"T\\u00e9\\u0001\"}}\n";
  auto cmd = decode_json_header(header);
  ASSERT_TRUE(cmd.is_ok()) << cmd.status().to_string();
  EXPECT_EQ(cmd->code, 11);
  EXPECT_EQ(cmd->language, "NODE");
  EXPECT_EQ(cmd->version, 121);
  EXPECT_TRUE(cmd->is_oneway());
  EXPECT_FALSE(cmd->remark.has_value());
  EXPECT_EQ(cmd->ext.get("queueId"), "3");
  EXPECT_EQ(cmd->ext.get_int("queueId").value(), 3);
  EXPECT_EQ(cmd->ext.get_int("queueOffset").value(), -1);
  EXPECT_EQ(cmd->ext.get("big"), "1700000000000123");
  EXPECT_TRUE(cmd->ext.get_bool_or("unitMode", false));
  EXPECT_EQ(cmd->ext.find("gone"), nullptr);
  EXPECT_EQ(cmd->ext.get("topic"), "T\xC3\xA9\x01");
  EXPECT_EQ(cmd->ext.items.size(), 5u);
}

TEST(RocketmqCodecTest, JsonHeaderWithoutExtFieldsVersionOrRemark) {
  auto cmd = decode_json_header(R"({"code":105,"opaque":1,"remark":""})");
  ASSERT_TRUE(cmd.is_ok()) << cmd.status().to_string();
  EXPECT_EQ(cmd->code, 105);
  EXPECT_EQ(cmd->version, 0);
  EXPECT_EQ(cmd->language, "JAVA");
  EXPECT_TRUE(cmd->ext.items.empty());
  EXPECT_EQ(cmd->remark, std::optional<std::string>(""));
  auto null_ext = decode_json_header(R"({"code":"105","extFields":null})");
  ASSERT_TRUE(null_ext.is_ok()) << null_ext.status().to_string();
  EXPECT_EQ(null_ext->code, 105);
}

TEST(RocketmqCodecTest, ExtFieldsTypedReaders) {
  ExtFields ext;
  ext.set("queueId", "3");
  ext.set("bad", "3x");
  ext.set("queueId", "4");  // replaces
  EXPECT_EQ(ext.items.size(), 2u);
  EXPECT_EQ(ext.get_int("queueId").value(), 4);
  auto missing = ext.get_int("topic");
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), "extField 'topic' is missing");
  EXPECT_EQ(ext.get_int("bad").status().message(), "extField 'bad' is not an integer");
  EXPECT_EQ(ext.get_int_or("bad", 9), 9);
  EXPECT_EQ(ext.get_int_or("none", 8), 8);
  EXPECT_TRUE(ext.get_bool_or("queueId", true));
  EXPECT_EQ(ext.get("none"), "");
}

TEST(RocketmqCodecTest, EncodeFrameHeadLeavesRoomForTheBody) {
  Command cmd;
  cmd.code = 0;
  cmd.flag = kFlagResponse;
  cmd.opaque = 3;
  const std::string head = encode_frame_head(cmd, 1000);
  const std::string header = encode_header(cmd);
  EXPECT_EQ(head, be32(4 + header.size() + 1000) + be32(header.size()) + header);
  auto prefix = decode_prefix(reinterpret_cast<const uint8_t*>(head.data()), kMaxFrame);
  ASSERT_TRUE(prefix.is_ok());
  EXPECT_EQ(prefix->rest(), header.size() + 1000);
  EXPECT_EQ(prefix->header_length, header.size());
}

// ---- Refusals: a typed error, never a crash ----

Status frame_error(const std::string& frame, uint32_t max = kMaxFrame) {
  auto r = decode_frame(frame, max);
  EXPECT_FALSE(r.is_ok());
  return r.status();
}

TEST(RocketmqCodecTest, RefusesBadPrefixes) {
  EXPECT_EQ(frame_error(from_hex("000000")).code(), Code::kCorruption);  // truncated prefix
  // Header length 16 > the 4 + 8 bytes the frame holds after its length.
  EXPECT_EQ(frame_error(from_hex("0000000C 00000010 7B7D7B7D7B7D7B7D")).code(), Code::kCorruption);
  EXPECT_EQ(frame_error(from_hex("00000002 0000")).code(), Code::kCorruption);  // length < 4
  EXPECT_EQ(frame_error(from_hex("00000006 02000002 7B7D")).code(),             // serialize type 2
            Code::kCorruption);
  EXPECT_EQ(frame_error(from_hex("00000006 00000002 7B7D"), 5).code(), Code::kMessageTooLarge);
  // The length claims 2 bytes more than follow it, or the frame carries extra bytes.
  EXPECT_EQ(frame_error(from_hex("00000008 00000002 7B7D")).code(), Code::kCorruption);
  EXPECT_EQ(frame_error(from_hex("00000006 00000002 7B7D 00")).code(), Code::kCorruption);
}

Status header_error(std::string_view header) {
  auto r = decode_json_header(header);
  EXPECT_FALSE(r.is_ok()) << header;
  return r.status();
}

TEST(RocketmqCodecTest, RefusesBadJsonHeaders) {
  EXPECT_EQ(header_error(R"({"code":1,)").code(), Code::kCorruption);
  EXPECT_EQ(header_error(R"({"code":1} x)").code(), Code::kCorruption);
  EXPECT_EQ(header_error(R"([{"code":1}])").code(), Code::kCorruption);
  EXPECT_EQ(header_error("7").code(), Code::kCorruption);
  EXPECT_EQ(header_error(std::string_view("{\"code\":1}\0", 11)).code(), Code::kCorruption);
  Status no_code = header_error(R"({"opaque":1,"extFields":{"code":"3"}})");
  EXPECT_EQ(no_code.code(), Code::kInvalidArgument);
  EXPECT_EQ(no_code.message(), "JSON header has no code");
  EXPECT_EQ(header_error(R"({"code":null})").code(), Code::kInvalidArgument);
  EXPECT_EQ(header_error(R"({"code":1.5})").code(), Code::kInvalidArgument);
  EXPECT_EQ(header_error(R"({"code":4294967296})").code(), Code::kInvalidArgument);
  EXPECT_EQ(header_error(R"({"code":[1]})").code(), Code::kInvalidArgument);
  Status ext_array = header_error(R"({"code":1,"extFields":["a"]})");
  EXPECT_EQ(ext_array.code(), Code::kInvalidArgument);
  EXPECT_EQ(ext_array.message(), "extFields is not an object");
  EXPECT_EQ(header_error(R"({"code":1,"extFields":"a=b"})").message(),
            "extFields is not an object");
  EXPECT_EQ(header_error(R"({"code":1,"extFields":{"a":{"b":"c"}}})").message(),
            "extField 'a' is not a string, number or boolean");
}

// Every control character is escaped when written and refused raw when read: RapidJSON 1.1's
// SIMD string scans missed 0x1A-0x1F both ways (rocketmq_fuzzer), so comet builds without them.
TEST(RocketmqCodecTest, ControlCharactersAreEscapedAndRawOnesRefused) {
  for (char c = 0x01; c < 0x20; ++c) {
    Command cmd;
    cmd.code = 10;
    // Long enough that a 16-byte SIMD block scan would have covered it.
    cmd.ext.set("k", std::string(20, 'x') + c + std::string(20, 'y'));
    const std::string json = encode_header(cmd);
    EXPECT_EQ(json.find(c), std::string::npos) << "raw 0x" << std::hex << int(c);
    auto back = decode_json_header(json);
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(back->ext.get("k"), cmd.ext.get("k"));
    const std::string raw = R"({"code":1,"extFields":{"k":")" + std::string(20, 'x') + c +
                            std::string(20, 'y') + R"("}})";
    EXPECT_EQ(header_error(raw).code(), Code::kCorruption) << "raw 0x" << std::hex << int(c);
  }
}

TEST(RocketmqCodecTest, RefusesDeepNestingWithoutRecursion) {
  std::string deep =
      R"({"code":1,"x":)" + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_EQ(header_error(deep).code(), Code::kCorruption);
  std::string ok = R"({"code":1,"x":)" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_TRUE(decode_json_header(ok).is_ok());
}

TEST(RocketmqCodecTest, RefusesMoreThan1024ExtFields) {
  auto header_with = [](size_t n) {
    std::string h = R"({"code":1,"extFields":{)";
    for (size_t i = 0; i < n; ++i)
      h += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
    return h + "}}";
  };
  EXPECT_TRUE(decode_json_header(header_with(kMaxExtFields)).is_ok());
  EXPECT_EQ(header_error(header_with(kMaxExtFields + 1)).code(), Code::kInvalidArgument);
}

TEST(RocketmqCodecTest, RefusesBinaryHeaderLengthsPastTheEnd) {
  auto binary_error = [](std::string_view hex) {
    auto r = decode_binary_header(from_hex(hex));
    EXPECT_FALSE(r.is_ok()) << hex;
    return r.status().code();
  };
  const std::string fixed = "0136 00 0197 0000002A 00000000";
  EXPECT_EQ(binary_error(fixed + "00000000"), Code::kCorruption);                // no extLen
  EXPECT_EQ(binary_error(fixed + "00000005 6F6B 00000000"), Code::kCorruption);  // remark
  EXPECT_EQ(binary_error(fixed + "FFFFFFFF 00000000"), Code::kCorruption);       // negative
  EXPECT_EQ(binary_error(fixed + "00000000 00000009 0001 61 00000002"), Code::kCorruption);
  // The map is whole but its entry's value length runs past the map.
  EXPECT_EQ(binary_error(fixed + "00000000 00000008 0001 61 00000002 50"), Code::kCorruption);
  EXPECT_EQ(binary_error(fixed + "00000000 00000003 FFFF 61"), Code::kCorruption);  // keyLen<0
}

}  // namespace
}  // namespace comet::remoting::rocketmq
