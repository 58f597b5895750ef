#include "common/record_codec.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace comet {
namespace {

using record::Outcome;

struct Encoded {
  std::vector<uint8_t> bytes;
  Message msg;
  std::string body, topic, props;
};

Encoded encode_sample(size_t body_size = 64) {
  Encoded e;
  e.topic = "OrderTopic";
  e.body.assign(body_size, 'x');
  for (size_t i = 0; i < body_size; ++i)
    e.body[i] = static_cast<char>('a' + i % 26);
  e.props = encode_properties({{"TAGS", "TagA"}, {"KEYS", "order-42"}});
  e.msg.topic = e.topic;
  e.msg.queue_id = 3;
  e.msg.flags = 7;
  e.msg.sys_flag = 1;
  e.msg.born_timestamp_ms = 1234567;
  e.msg.born_host = {0x7f000001, 5555};
  e.msg.reconsume_times = 2;
  e.msg.body = e.body;
  e.msg.properties = e.props;
  e.bytes.resize(record::encoded_size(e.msg));
  record::encode(e.msg, 99, 4096, 7654321, {0x0a000001, 10911}, e.bytes.data());
  return e;
}

TEST(RecordCodec, RoundTripsEveryField) {
  Encoded e = encode_sample();
  auto d = record::decode(e.bytes.data(), e.bytes.size());
  ASSERT_EQ(d.outcome, Outcome::kRecord) << d.reason;
  EXPECT_EQ(d.size, e.bytes.size());
  const RecordView& r = d.record;
  EXPECT_EQ(r.total_size, e.bytes.size());
  EXPECT_EQ(r.queue_id, 3u);
  EXPECT_EQ(r.flags, 7u);
  EXPECT_EQ(r.queue_offset, 99u);
  EXPECT_EQ(r.physical_offset, 4096u);
  EXPECT_EQ(r.sys_flag, 1u);
  EXPECT_EQ(r.born_timestamp_ms, 1234567);
  EXPECT_EQ(r.born_host, (HostAddress{0x7f000001, 5555}));
  EXPECT_EQ(r.store_timestamp_ms, 7654321);
  EXPECT_EQ(r.store_host, (HostAddress{0x0a000001, 10911}));
  EXPECT_EQ(r.reconsume_times, 2u);
  EXPECT_EQ(r.body, e.body);
  EXPECT_EQ(r.topic, "OrderTopic");
  EXPECT_EQ(find_property(r.properties, kPropertyTags), "TagA");
  EXPECT_EQ(find_property(r.properties, kPropertyKeys), "order-42");
  EXPECT_EQ(find_property(r.properties, "ABSENT"), "");
  EXPECT_EQ(record::peek_physical_offset(e.bytes.data()), 4096u);
}

// An entry without its key/value separator is skipped, as without_properties skips it: it must
// not swallow the next entry's key (timer_fuzzer found TIMER_OUT_MS hidden behind "DELA\x02").
TEST(RecordCodec, APropertyAfterAnEntryWithoutSeparatorIsFound) {
  const std::string props = std::string("DELA\x02") + "TIMER_OUT_MS\x01" + "5\x02";
  EXPECT_EQ(find_property(props, "TIMER_OUT_MS"), "5");
  EXPECT_EQ(find_property(props, "DELA"), "");
  EXPECT_EQ(find_property(with_property(props, "K", "v"), "K"), "v");
}

// Any single flipped bit anywhere in a record must be caught: never decoded as a valid record.
TEST(RecordCodec, EveryFlippedBitIsDetected) {
  Encoded e = encode_sample(40);
  for (size_t i = 0; i < e.bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> damaged = e.bytes;
      damaged[i] ^= static_cast<uint8_t>(1u << bit);
      auto d = record::decode(damaged.data(), damaged.size());
      EXPECT_NE(d.outcome, Outcome::kRecord) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(RecordCodec, TruncatedTrailingRecordIsReportedNotDecoded) {
  Encoded e = encode_sample();
  for (size_t n = 0; n < e.bytes.size(); ++n) {
    auto d = record::decode(e.bytes.data(), n);
    EXPECT_EQ(d.outcome, Outcome::kTruncated) << "available " << n;
  }
}

TEST(RecordCodec, ZeroesReadAsEndOfLog) {
  std::vector<uint8_t> zeros(256, 0);
  EXPECT_EQ(record::decode(zeros.data(), zeros.size()).outcome, Outcome::kEnd);
}

TEST(RecordCodec, HalfWrittenRecordOverZeroesIsCorruptOrTruncated) {
  Encoded e = encode_sample();
  std::vector<uint8_t> buf(e.bytes.size() + 64, 0);
  std::memcpy(buf.data(), e.bytes.data(), e.bytes.size() / 2);
  auto d = record::decode(buf.data(), buf.size());
  EXPECT_EQ(d.outcome, Outcome::kCorrupt);
}

TEST(RecordCodec, BlankRoundTripAndDamage) {
  std::vector<uint8_t> buf(100, 0xee);
  record::encode_blank(buf.data(), 100);
  auto d = record::decode(buf.data(), buf.size());
  ASSERT_EQ(d.outcome, Outcome::kBlank);
  EXPECT_EQ(d.size, 100u);
  buf[1] ^= 0x10;  // size no longer matches its checksum
  EXPECT_EQ(record::decode(buf.data(), buf.size()).outcome, Outcome::kCorrupt);
}

TEST(RecordCodec, BlankCutByTheReadWindowIsTruncatedNotCorrupt) {
  std::vector<uint8_t> buf(100, 0);
  record::encode_blank(buf.data(), 200);
  EXPECT_EQ(record::decode(buf.data(), buf.size()).outcome, Outcome::kTruncated);
  EXPECT_EQ(record::decode(buf.data(), 8).outcome, Outcome::kTruncated);
}

TEST(RecordCodec, ValidateRejectsBadInput) {
  Message m;
  m.topic = "ok_topic";
  m.body = "x";
  EXPECT_TRUE(record::validate(m, 10).is_ok());
  std::string big(11, 'b');
  m.body = big;
  EXPECT_EQ(record::validate(m, 10).code(), Code::kMessageTooLarge);
  m.body = "";
  EXPECT_EQ(record::validate(m, 10).code(), Code::kInvalidArgument);
  m.body = "x";
  for (std::string_view bad : {"", "has space", "slash/topic", "\xff"}) {
    m.topic = bad;
    EXPECT_EQ(record::validate(m, 10).code(), Code::kInvalidArgument) << bad;
  }
  std::string long_topic(128, 't');
  m.topic = long_topic;
  EXPECT_EQ(record::validate(m, 10).code(), Code::kInvalidArgument);
  std::string max_topic(127, 't');
  m.topic = max_topic;
  EXPECT_TRUE(record::validate(m, 10).is_ok());
}

TEST(RecordCodec, TagHashIsStableAndZeroOnlyForNoTag) {
  EXPECT_EQ(tag_hash(""), 0u);
  EXPECT_NE(tag_hash("TagA"), 0u);
  EXPECT_EQ(tag_hash("TagA"), tag_hash("TagA"));
  EXPECT_NE(tag_hash("TagA"), tag_hash("TagB"));
}

}  // namespace
}  // namespace comet
