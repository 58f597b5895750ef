#include "common/crc32c.h"

#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace comet::crc32c {
namespace {

// Vectors from RFC 3720 (iSCSI) section B.4, as leveldb's crc32c_test uses them.
TEST(Crc32c, StandardResults) {
  char buf[32];
  std::memset(buf, 0, sizeof(buf));
  EXPECT_EQ(0x8a9136aau, value(buf, sizeof(buf)));
  std::memset(buf, 0xff, sizeof(buf));
  EXPECT_EQ(0x62a8ab43u, value(buf, sizeof(buf)));
  for (int i = 0; i < 32; i++)
    buf[i] = static_cast<char>(i);
  EXPECT_EQ(0x46dd794eu, value(buf, sizeof(buf)));
  for (int i = 0; i < 32; i++)
    buf[i] = static_cast<char>(31 - i);
  EXPECT_EQ(0x113fdb5cu, value(buf, sizeof(buf)));
  EXPECT_EQ(0xe3069283u, value("123456789", 9));
}

TEST(Crc32c, ExtendEqualsWholeAtEverySplit) {
  std::string data;
  for (int i = 0; i < 300; ++i)
    data += static_cast<char>(i * 31 + 7);
  const uint32_t whole = value(data.data(), data.size());
  for (size_t split = 0; split <= data.size(); ++split) {
    EXPECT_EQ(whole, extend(value(data.data(), split), data.data() + split, data.size() - split))
        << "split at " << split;
  }
}

TEST(Crc32c, MaskRoundTripsAndDiffers) {
  uint32_t crc = value("foo", 3);
  EXPECT_NE(crc, mask(crc));
  EXPECT_NE(crc, mask(mask(crc)));
  EXPECT_EQ(crc, unmask(mask(crc)));
  EXPECT_EQ(crc, unmask(unmask(mask(mask(crc)))));
}

}  // namespace
}  // namespace comet::crc32c
