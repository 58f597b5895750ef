// comet-bench delay end to end, short: one round each of plain and delayed sends, then two
// seconds of 1 s-delayed messages at 5,000 msgs/s taken by a push consumer. The report must show
// both medians and their ratio, and every acked delayed message delivered once; --json says the
// same; a bad option is refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "integration/process.h"

namespace comet::testing {
namespace {

using namespace std::chrono_literals;

TEST(BenchDelayTest, ABriefRunReportsBothRatesAndDeliversEveryDelayedMessageOnce) {
  auto run = run_process({COMET_BENCH_BIN, "delay", "--rounds", "1", "--round-messages", "5000",
                          "--rate", "5000", "--seconds", "2", "--delay-s", "1"},
                         {}, 90s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  EXPECT_NE(run.out.find("| plain | 1 | "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| delayed (level 2) | 1 | "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| delayed / plain | | "), std::string::npos) << run.out;
  // 10,000 acked and delivered, none lost or duplicated (the p99 verdict follows).
  EXPECT_NE(run.out.find("| 10000 | 10000 | "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(" | 0 | 0 | p99 <= 1 s: "), std::string::npos) << run.out;

  auto json = run_process(
      {COMET_BENCH_BIN, "delay", "--rounds", "0", "--rate", "2000", "--seconds", "1", "--json"}, {},
      60s);
  ASSERT_EQ(json.exit_code, 0) << json.out << "\n" << json.err;
  EXPECT_EQ(json.out.find("\"throughput\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"acked\":2000,\"failed\":0,\"delivered\":2000,"), std::string::npos)
      << json.out;
  EXPECT_NE(json.out.find("\"lost\":0,\"duplicated\":0,"), std::string::npos) << json.out;

  auto bad = run_process({COMET_BENCH_BIN, "delay", "--rounds", "0", "--seconds", "0"}, {}, 10s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("both 0"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace comet::testing
