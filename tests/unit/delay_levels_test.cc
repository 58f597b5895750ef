// Delay levels and the rewrite of a delayed message for the schedule topic.
#include "broker/delay_levels.h"

#include <gtest/gtest.h>

#include "broker/schedule_message_service.h"
#include "broker/system_topics.h"

namespace comet::broker {
namespace {

TEST(DelayLevels, RocketMqsDefaultParsesAndPrintsBack) {
  const std::string text = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";
  auto levels = parse_delay_levels(text);
  ASSERT_TRUE(levels.is_ok()) << levels.status().to_string();
  EXPECT_EQ(levels.value(), default_delay_levels_ms());
  EXPECT_EQ(format_delay_levels(levels.value()), text);
  auto days = parse_delay_levels("  1d   90s ");
  ASSERT_TRUE(days.is_ok());
  EXPECT_EQ(days.value(), (std::vector<int64_t>{86'400'000, 90'000}));
}

TEST(DelayLevels, BadEntriesAreNamed) {
  for (const char* bad : {"", "   ", "5", "0s", "-1s", "1x", "s", "1.5s", "99999999999999999d"}) {
    auto r = parse_delay_levels(bad);
    ASSERT_FALSE(r.is_ok()) << "'" << bad << "' parsed";
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
  EXPECT_NE(parse_delay_levels("1s 2q").status().message().find("'2q'"), std::string::npos);
}

TEST(DelayLevels, ALevelIsClampedAsRocketMqDoes) {
  EXPECT_EQ(delay_level_of("", 18), 0u);
  EXPECT_EQ(delay_level_of("0", 18), 0u);
  EXPECT_EQ(delay_level_of("-3", 18), 0u);
  EXPECT_EQ(delay_level_of("abc", 18), 0u);
  EXPECT_EQ(delay_level_of("3", 18), 3u);
  EXPECT_EQ(delay_level_of("18", 18), 18u);
  EXPECT_EQ(delay_level_of("99", 18), 18u);
}

TEST(DelayLevels, ADelayedMessageMovesToItsLevelsQueueWithItsRealTopic) {
  const std::string props = encode_properties({{"TAGS", "t"}, {"DELAY", "40"}});
  Message m;
  m.topic = "Orders";
  m.queue_id = 5;
  m.properties = props;
  std::string storage;
  EXPECT_EQ(to_schedule_topic(m, 18, storage), 18u);
  EXPECT_EQ(m.topic, kScheduleTopic);
  EXPECT_EQ(m.queue_id, 17u);
  EXPECT_EQ(find_property(m.properties, "REAL_TOPIC"), "Orders");
  EXPECT_EQ(find_property(m.properties, "REAL_QID"), "5");
  EXPECT_EQ(find_property(m.properties, "DELAY"), "18");
  EXPECT_EQ(find_property(m.properties, "TAGS"), "t");
  // Exactly what replacing the three one by one gives: the rest first, then the three in order.
  EXPECT_EQ(m.properties,
            encode_properties(
                {{"TAGS", "t"}, {"DELAY", "18"}, {"REAL_TOPIC", "Orders"}, {"REAL_QID", "5"}}));
  // Stale scheduling properties a client sent along are replaced, not repeated.
  const std::string stale =
      encode_properties({{"REAL_QID", "9"}, {"DELAY", "2"}, {"KEYS", "k"}, {"REAL_TOPIC", "Old"}});
  Message again;
  again.topic = "Orders";
  again.queue_id = 1;
  again.properties = stale;
  EXPECT_EQ(to_schedule_topic(again, 18, storage), 2u);
  EXPECT_EQ(again.properties,
            encode_properties(
                {{"KEYS", "k"}, {"DELAY", "2"}, {"REAL_TOPIC", "Orders"}, {"REAL_QID", "1"}}));

  Message plain;
  plain.topic = "Orders";
  plain.properties = "";
  EXPECT_EQ(to_schedule_topic(plain, 18, storage), 0u);
  EXPECT_EQ(plain.topic, "Orders");
}

TEST(MessageProperties, OneIsReplacedOrRemovedAndTheRestKept) {
  const std::string props = encode_properties({{"A", "1"}, {"B", "2"}, {"C", "3"}});
  EXPECT_EQ(without_properties(props, {"B"}), encode_properties({{"A", "1"}, {"C", "3"}}));
  EXPECT_EQ(without_properties(props, {"A", "C", "X"}), encode_properties({{"B", "2"}}));
  EXPECT_EQ(with_property(props, "B", "9"),
            encode_properties({{"A", "1"}, {"C", "3"}, {"B", "9"}}));
  EXPECT_EQ(with_property("", "K", "v"), encode_properties({{"K", "v"}}));
}

}  // namespace
}  // namespace comet::broker
