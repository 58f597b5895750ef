// The rules of consumer retries: where a failed message goes (retry topic or dead-letter queue)
// and what its copy carries.
#include "broker/retry_rule.h"

#include <gtest/gtest.h>

namespace comet::broker {
namespace {

RecordView original(std::string_view topic, uint32_t reconsume_times, std::string_view props) {
  RecordView r;
  r.topic = topic;
  r.reconsume_times = reconsume_times;
  r.properties = props;
  return r;
}

SendBackRequest request(int32_t delay_level, int32_t max) {
  SendBackRequest q;
  q.group = "G";
  q.delay_level = delay_level;
  q.max_reconsume_times = max;
  q.origin_msg_id = "UNIQ-1";
  q.offset_msg_id = "7F00000100002A9F0000000000000100";
  return q;
}

TEST(RetryRule, AFirstFailureGoesToTheRetryTopicAtLevelThreeWithItsOrigin) {
  const std::string props = encode_properties({{"TAGS", "t"}, {"KEYS", "k"}, {"a", "1"}});
  const SendBack b = decide_send_back(original("Orders", 0, props), request(0, 16));
  EXPECT_FALSE(b.dead_letter);
  EXPECT_EQ(b.topic, "%RETRY%G");
  EXPECT_EQ(b.delay_level, 3u);
  EXPECT_EQ(b.reconsume_times, 1u);
  EXPECT_EQ(find_property(b.properties, kPropertyRetryTopic), "Orders");
  EXPECT_EQ(find_property(b.properties, kPropertyOriginMessageId), "UNIQ-1");
  EXPECT_EQ(find_property(b.properties, kPropertyDelayLevel), "3");
  EXPECT_EQ(find_property(b.properties, "TAGS"), "t");
  EXPECT_EQ(find_property(b.properties, "KEYS"), "k");
  EXPECT_EQ(find_property(b.properties, "a"), "1");
}

TEST(RetryRule, ALaterRetryKeepsTheFirstTopicAndIdAndWaitsALevelMore) {
  const std::string props =
      encode_properties({{"RETRY_TOPIC", "Orders"}, {"ORIGIN_MESSAGE_ID", "FIRST"}, {"b", "2"}});
  const SendBack b = decide_send_back(original("%RETRY%G", 4, props), request(0, 16));
  EXPECT_EQ(b.topic, "%RETRY%G");
  EXPECT_EQ(b.delay_level, 7u);
  EXPECT_EQ(b.reconsume_times, 5u);
  EXPECT_EQ(find_property(b.properties, kPropertyRetryTopic), "Orders");
  EXPECT_EQ(find_property(b.properties, kPropertyOriginMessageId), "FIRST");
  EXPECT_EQ(find_property(b.properties, "b"), "2");
}

TEST(RetryRule, TheRequestsLevelWinsAndTheOffsetIdStandsInForAMissingOrigin) {
  SendBackRequest q = request(5, 16);
  q.origin_msg_id = "";
  const SendBack b = decide_send_back(original("Orders", 2, ""), q);
  EXPECT_EQ(b.delay_level, 5u);
  EXPECT_EQ(find_property(b.properties, kPropertyOriginMessageId), q.offset_msg_id);
}

TEST(RetryRule, AtTheLimitOrWhenAskedItGoesToTheDeadLetterQueueWithoutDelay) {
  const std::string props = encode_properties({{"DELAY", "4"}, {"c", "3"}});
  const SendBack at_limit = decide_send_back(original("Orders", 3, props), request(0, 3));
  EXPECT_TRUE(at_limit.dead_letter);
  EXPECT_EQ(at_limit.topic, "%DLQ%G");
  EXPECT_EQ(at_limit.delay_level, 0u);
  EXPECT_EQ(at_limit.reconsume_times, 4u);
  EXPECT_TRUE(find_property(at_limit.properties, kPropertyDelayLevel).empty());
  EXPECT_EQ(find_property(at_limit.properties, kPropertyRetryTopic), "Orders");
  EXPECT_EQ(find_property(at_limit.properties, "c"), "3");

  EXPECT_FALSE(decide_send_back(original("Orders", 2, props), request(0, 3)).dead_letter);
  EXPECT_TRUE(decide_send_back(original("Orders", 0, props), request(-1, 16)).dead_letter);
  EXPECT_TRUE(decide_send_back(original("Orders", 0, props), request(0, 0)).dead_letter);
}

TEST(RetryRule, ASendToTheRetryTopicReadsItsTimesFromPropertiesFirst) {
  // RECONSUME_TIME beats the record's field; MAX_RECONSUME_TIMES beats the group's limit.
  EXPECT_TRUE(retry_send_goes_to_dlq(encode_properties({{"RECONSUME_TIME", "16"}}), 0, 16));
  EXPECT_FALSE(retry_send_goes_to_dlq(encode_properties({{"RECONSUME_TIME", "15"}}), 99, 16));
  EXPECT_TRUE(retry_send_goes_to_dlq("", 16, 16));
  EXPECT_FALSE(retry_send_goes_to_dlq("", 15, 16));
  EXPECT_TRUE(retry_send_goes_to_dlq(
      encode_properties({{"RECONSUME_TIME", "2"}, {"MAX_RECONSUME_TIMES", "2"}}), 0, 16));
  EXPECT_FALSE(retry_send_goes_to_dlq(encode_properties({{"MAX_RECONSUME_TIMES", "x"}}), 3, 16));
  EXPECT_FALSE(retry_send_goes_to_dlq(encode_properties({{"RECONSUME_TIME", "3x"}}), 0, 16));
}

TEST(RetryRule, IntPropertiesAreWholeNumbers) {
  const std::string p = encode_properties({{"a", "12"}, {"b", "-3"}, {"c", ""}, {"d", "1 "}});
  EXPECT_EQ(int_property(p, "a"), 12);
  EXPECT_EQ(int_property(p, "b"), -3);
  EXPECT_EQ(int_property(p, "c"), std::nullopt);
  EXPECT_EQ(int_property(p, "d"), std::nullopt);
  EXPECT_EQ(int_property(p, "missing"), std::nullopt);
  EXPECT_EQ(dead_letter_properties(encode_properties({{"DELAY", "3"}, {"x", "y"}})),
            encode_properties({{"x", "y"}}));
}

}  // namespace
}  // namespace comet::broker
