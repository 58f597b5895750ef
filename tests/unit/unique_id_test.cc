#include "producer/unique_id.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace comet::client {
namespace {

bool upper_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'F');
  });
}

TEST(UniqueIdTest, IsThirtyTwoUpperCaseHexDigitsWithTheProcessPrefix) {
  const std::string a = create_unique_id();
  const std::string b = create_unique_id();
  ASSERT_EQ(a.size(), kUniqueIdLength);
  EXPECT_TRUE(upper_hex(a)) << a;
  EXPECT_EQ(a.substr(0, 20), b.substr(0, 20)) << "the prefix is fixed for the process";
  EXPECT_NE(a, b);
  const UniqueIdParts pa = parse_unique_id(a);
  const UniqueIdParts pb = parse_unique_id(b);
  ASSERT_TRUE(pa.valid);
  EXPECT_EQ(pa.pid, static_cast<uint16_t>(::getpid() & 0xFFFF));
  EXPECT_NE(pa.ipv4, 0u);
  EXPECT_EQ(static_cast<uint16_t>(pa.counter + 1), pb.counter);
  EXPECT_LE(pa.ms_of_month, pb.ms_of_month);
  // Within a month: at most 31 days of milliseconds.
  EXPECT_LT(pa.ms_of_month, 31u * 24 * 3600 * 1000);
}

TEST(UniqueIdTest, ParseRefusesWhatIsNoUniqueId) {
  EXPECT_FALSE(parse_unique_id("").valid);
  EXPECT_FALSE(parse_unique_id("0123").valid);
  EXPECT_FALSE(parse_unique_id(std::string(31, 'A') + "G").valid);
}

// Fewer ids than the counter's 65,536 values: every one differs whatever the clock did.
TEST(UniqueIdTest, ThreadsMakeDistinctIds) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 8000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      made[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i)
        made[t].push_back(create_unique_id());
    });
  }
  for (auto& t : threads)
    t.join();
  std::set<std::string> all;
  for (const auto& ids : made)
    all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), size_t{kThreads} * kPerThread);
}

}  // namespace
}  // namespace comet::client
