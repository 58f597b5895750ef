#include "common/msg_id.h"

#include <gtest/gtest.h>

namespace comet {
namespace {

TEST(MsgIdTest, ParseReadsBackWhatMakeWrote) {
  const HostAddress host{.ipv4 = 0x7F000001, .port = 10911};
  const std::string id = make_msg_id(host, 0x123456789AULL);
  ASSERT_EQ(id, "7F00000100002A9F000000123456789A");
  auto parts = parse_msg_id(id);
  ASSERT_TRUE(parts.is_ok()) << parts.status().to_string();
  EXPECT_EQ(parts->store_host, host);
  EXPECT_EQ(parts->physical_offset, 0x123456789AULL);
  EXPECT_EQ(host_address_string(parts->store_host), "127.0.0.1:10911");
}

TEST(MsgIdTest, LowerCaseHexIsRead) {
  auto parts = parse_msg_id("7f00000100002a9f000000123456789a");
  ASSERT_TRUE(parts.is_ok());
  EXPECT_EQ(parts->physical_offset, 0x123456789AULL);
}

TEST(MsgIdTest, LargestOffsetIsRead) {
  auto parts = parse_msg_id("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
  ASSERT_TRUE(parts.is_ok());
  EXPECT_EQ(parts->store_host.ipv4, 0xFFFFFFFFu);
  EXPECT_EQ(parts->store_host.port, 0xFFFFFFFFu);
  EXPECT_EQ(parts->physical_offset, ~uint64_t{0});
}

TEST(MsgIdTest, WrongLengthIsNamed) {
  for (std::string_view bad : {"", "7F000001", "7F00000100002A9F000000123456789A0"}) {
    auto parts = parse_msg_id(bad);
    ASSERT_FALSE(parts.is_ok()) << bad;
    EXPECT_EQ(parts.status().code(), Code::kInvalidArgument);
    EXPECT_NE(parts.status().message().find("has " + std::to_string(bad.size()) + " characters"),
              std::string::npos)
        << parts.status().message();
  }
}

TEST(MsgIdTest, NonHexCharacterIsNamedWithItsPosition) {
  auto parts = parse_msg_id("7F00000100002A9F00000012345678ZA");
  ASSERT_FALSE(parts.is_ok());
  EXPECT_EQ(parts.status().code(), Code::kInvalidArgument);
  EXPECT_NE(parts.status().message().find("character 31 of 32 ('Z') is not a hex digit"),
            std::string::npos)
      << parts.status().message();
  std::string binary(32, '0');
  binary[3] = '\x01';
  auto bin = parse_msg_id(binary);
  ASSERT_FALSE(bin.is_ok());
  EXPECT_NE(bin.status().message().find("character 4 of 32 (byte 0x01)"), std::string::npos)
      << bin.status().message();
}

}  // namespace
}  // namespace comet
