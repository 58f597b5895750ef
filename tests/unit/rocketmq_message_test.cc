// RocketMQ 4.x message formats (store format, SEND_BATCH bodies, zlib bodies) against bytes
// written by hand from /work/shared/rocketmq-remoting.md §3 and RocketMQ's MessageDecoder.
#include "remoting/rocketmq_message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/record_codec.h"
#include "unit/hex_bytes.h"

namespace comet::remoting::rocketmq {
namespace {

using comet::testing::from_hex;

// zlib.compress(b"hello hello hello hello", 5): what a Java producer's Deflater writes.
const std::string kCompressed = from_hex("785ECB48CDC9C957C8402701680308B1");
constexpr std::string_view kPlain = "hello hello hello hello";
const std::string kProps = "TAGS\x01TagA\x02KEYS\x01k1\x02";

// A pull answer's body: two messages back to back in the 4.x store format.
const std::string kPullBody = from_hex(
    // Message 1: "hello", no properties.
    "00000069"               // totalSize 105 = 91 + 5 + 9 + 0
    "DAA320A7"               // magic
    "3610A686"               // bodyCRC: CRC32("hello") & 0x7FFFFFFF
    "00000003"               // queueId 3
    "00000000"               // flag
    "0000000000000007"       // queueOffset 7
    "0000000000001000"       // physicalOffset 4096
    "00000000"               // sysFlag
    "0000018BCFE56800"       // bornTimestamp 1700000000000
    "0A000009 0000C350"      // bornHost 10.0.0.9:50000
    "0000018BCFE5687B"       // storeTimestamp 1700000000123
    "0A000005 00002A9F"      // storeHost 10.0.0.5:10911
    "00000000"               // reconsumeTimes
    "0000000000000000"       // preparedTransactionOffset
    "00000005 68656C6C6F"    // body
    "09 546F70696354657374"  // topic "TopicTest"
    "0000"                   // no properties
    // Message 2: a zlib body (sysFlag 0x1) and properties.
    "00000086"                                   // totalSize 134 = 91 + 16 + 9 + 18
    "DAA320A7"                                   // magic
    "0DC465C1"                                   // bodyCRC of the compressed bytes, as stored
    "00000003"                                   // queueId 3
    "00000007"                                   // flag 7
    "0000000000000008"                           // queueOffset 8
    "0000000000001069"                           // physicalOffset 4201 = 4096 + 105
    "00000001"                                   // sysFlag: compressed
    "0000018BCFE56800"                           // bornTimestamp
    "0A000009 0000C350"                          // bornHost
    "0000018BCFE5687B"                           // storeTimestamp
    "0A000005 00002A9F"                          // storeHost
    "00000002"                                   // reconsumeTimes 2
    "0000000000000000"                           // preparedTransactionOffset
    "00000010 785ECB48CDC9C957C8402701680308B1"  // body (16 bytes)
    "09 546F70696354657374"                      // topic
    "0012 54414753 01 54616741 02 4B455953 01 6B31 02");  // TAGS=TagA KEYS=k1

constexpr HostAddress kBornHost{0x0A000009, 50000};
constexpr HostAddress kStoreHost{0x0A000005, 10911};

// comet's record of the same message, as the store holds it.
std::string record_of(std::string_view body, std::string_view props, uint32_t flags,
                      uint32_t sys_flag, uint32_t reconsume, uint64_t queue_offset,
                      uint64_t physical_offset) {
  Message m;
  m.topic = "TopicTest";
  m.queue_id = 3;
  m.flags = flags;
  m.sys_flag = sys_flag;
  m.born_timestamp_ms = 1700000000000;
  m.born_host = kBornHost;
  m.reconsume_times = reconsume;
  m.body = body;
  m.properties = props;
  std::string out(record::encoded_size(m), '\0');
  record::encode(m, queue_offset, physical_offset, 1700000000123, kStoreHost,
                 reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

TEST(RocketmqMessageTest, PullBodyDecodesFieldByField) {
  auto msgs = decode_store_messages(kPullBody);
  ASSERT_TRUE(msgs.is_ok()) << msgs.status().to_string();
  ASSERT_EQ(msgs->size(), 2u);
  const StoreMessage& a = (*msgs)[0];
  EXPECT_EQ(a.queue_id, 3);
  EXPECT_EQ(a.flag, 0);
  EXPECT_EQ(a.queue_offset, 7);
  EXPECT_EQ(a.physical_offset, 4096);
  EXPECT_EQ(a.sys_flag, 0);
  EXPECT_EQ(a.born_timestamp, 1700000000000);
  EXPECT_EQ(a.born_host, kBornHost);
  EXPECT_EQ(a.store_timestamp, 1700000000123);
  EXPECT_EQ(a.store_host, kStoreHost);
  EXPECT_EQ(a.reconsume_times, 0);
  EXPECT_EQ(a.prepared_transaction_offset, 0);
  EXPECT_EQ(a.body, "hello");
  EXPECT_EQ(a.topic, "TopicTest");
  EXPECT_EQ(a.properties, "");
  const StoreMessage& b = (*msgs)[1];
  EXPECT_EQ(b.flag, 7);
  EXPECT_EQ(b.queue_offset, 8);
  EXPECT_EQ(b.physical_offset, 4201);
  EXPECT_EQ(b.sys_flag, static_cast<int32_t>(kSysFlagCompressed));
  EXPECT_EQ(b.reconsume_times, 2);
  EXPECT_EQ(b.body, kCompressed);
  EXPECT_EQ(b.properties, kProps);
  EXPECT_EQ(find_property(b.properties, "TAGS"), "TagA");
  auto plain = inflate_body(b.body, 1024);
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(*plain, kPlain);
  EXPECT_EQ(encode_store_message(a) + encode_store_message(b), kPullBody);
}

TEST(RocketmqMessageTest, CometRecordsWriteTheSameStoreFormat) {
  const std::string r1 = record_of("hello", "", 0, 0, 0, 7, 4096);
  const std::string r2 = record_of(kCompressed, kProps, 7, kSysFlagCompressed, 2, 8, 4201);
  std::string out;
  for (const std::string* r : {&r1, &r2}) {
    auto d = record::decode(reinterpret_cast<const uint8_t*>(r->data()), r->size());
    ASSERT_EQ(d.outcome, record::Outcome::kRecord) << d.reason;
    EXPECT_EQ(store_format_size(d.record), kStoreFixedSize + d.record.body.size() +
                                               d.record.topic.size() + d.record.properties.size());
    append_store_format(d.record, out);
  }
  EXPECT_EQ(out, kPullBody);
}

TEST(RocketmqMessageTest, RefusesStoreMessagesWhoseLengthsOverrun) {
  auto error = [](const std::string& bytes) {
    auto r = decode_store_messages(bytes);
    EXPECT_FALSE(r.is_ok());
    return r.status().code();
  };
  const std::string one = kPullBody.substr(0, 105);
  ASSERT_TRUE(decode_store_messages(one).is_ok());
  EXPECT_EQ(error(one.substr(0, 104)), Code::kCorruption);  // truncated
  EXPECT_EQ(error(one.substr(0, 6)), Code::kCorruption);    // before the magic ends
  std::string bad_magic = one;
  bad_magic[7] = '\xAB';  // 5.x's 0xDAA320AB
  EXPECT_EQ(error(bad_magic), Code::kCorruption);
  std::string long_body = one;
  long_body[87] = 0x50;  // bodyLength 80: past the end
  EXPECT_EQ(error(long_body), Code::kCorruption);
  std::string negative_topic = one;
  negative_topic[92 + 1] = '\xF0';  // topicLength -16
  EXPECT_EQ(error(negative_topic), Code::kCorruption);
  std::string total_too_big = one + std::string(8, '\0');
  total_too_big[3] = 0x71;  // totalSize 113 but the fields take 105
  EXPECT_EQ(error(total_too_big), Code::kCorruption);
  std::string v6 = one;
  v6[39] = 0x10;  // sysFlag: IPv6 born host
  EXPECT_EQ(error(v6), Code::kCorruption);
}

// A SEND_BATCH body of two messages (MessageDecoder.encodeMessages).
const std::string kBatch = from_hex(
    "00000020"                  // totalSize 32 = 22 + 2 + 8
    "00000000"                  // magic (clients write 0)
    "00000000"                  // bodyCRC (0)
    "00000000"                  // flag
    "00000002 6D31"             // body "m1"
    "0008 4B455953 01 6B31 02"  // KEYS=k1
    "0000001B"                  // totalSize 27 = 22 + 5 + 0
    "00000000 00000000"         // magic, bodyCRC
    "00000005"                  // flag 5
    "00000005 6D73672D32"       // body "msg-2"
    "0000");                    // no properties

TEST(RocketmqMessageTest, BatchDecodesAndEncodesByteIdentical) {
  auto entries = decode_batch(kBatch, 16);
  ASSERT_TRUE(entries.is_ok()) << entries.status().to_string();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0], (BatchEntry{0, "m1", "KEYS\x01k1\x02"}));
  EXPECT_EQ((*entries)[1], (BatchEntry{5, "msg-2", ""}));
  EXPECT_EQ(encode_batch(*entries), kBatch);
}

TEST(RocketmqMessageTest, RefusesBadBatches) {
  auto error = [](const std::string& bytes, size_t max = 16) {
    auto r = decode_batch(bytes, max);
    EXPECT_FALSE(r.is_ok());
    return r.status().code();
  };
  std::string bad_total = kBatch;
  bad_total[3] = 0x21;  // totalSize 33, fields take 32
  EXPECT_EQ(error(bad_total), Code::kCorruption);
  std::string long_body = kBatch;
  long_body[19] = 0x7F;  // bodyLen 127: past the end
  EXPECT_EQ(error(long_body), Code::kCorruption);
  EXPECT_EQ(error(kBatch.substr(0, 40)), Code::kCorruption);  // the second entry truncated
  EXPECT_EQ(error(kBatch, 1), Code::kMessageTooLarge);
  EXPECT_EQ(error(""), Code::kInvalidArgument);
}

TEST(RocketmqMessageTest, InflateIsBounded) {
  auto garbage = inflate_body("not zlib at all", 1024);
  EXPECT_EQ(garbage.status().code(), Code::kCorruption);
  auto truncated = inflate_body(std::string_view(kCompressed).substr(0, 10), 1024);
  EXPECT_EQ(truncated.status().code(), Code::kCorruption);
  EXPECT_EQ(inflate_body("", 1024).status().code(), Code::kCorruption);
  // A bomb: 16 MiB of zeroes deflate to ~16 KiB; inflating stops at the limit.
  const std::string bomb = deflate_body(std::string(16 << 20, '\0'));
  EXPECT_LT(bomb.size(), 32768u);
  auto r = inflate_body(bomb, 1 << 20);
  EXPECT_EQ(r.status().code(), Code::kMessageTooLarge);
  EXPECT_EQ(inflate_body(kCompressed, kPlain.size() - 1).status().code(), Code::kMessageTooLarge);
  EXPECT_EQ(inflate_body(kCompressed, kPlain.size()).value(), kPlain);
}

TEST(RocketmqMessageTest, DeflateWritesWhatJavaInflates) {
  const std::string body(5000, 'x');
  const std::string z = deflate_body(body);
  EXPECT_EQ(static_cast<uint8_t>(z[0]), 0x78);  // a zlib wrapper, as java.util.zip.Deflater
  EXPECT_EQ(inflate_body(z, body.size()).value(), body);
  EXPECT_EQ(deflate_body(kPlain), kCompressed);
}

}  // namespace
}  // namespace comet::remoting::rocketmq
