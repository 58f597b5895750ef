// comet-bench routes end to end, small: 2 synthetic brokers of 200 topics on a real name server,
// a second of lookups per protocol and a second of each kind of heartbeat. Every lookup and
// heartbeat must succeed and the report must carry both tables; a bad option is refused.
#include <gtest/gtest.h>

#include <string>

#include "integration/process.h"

namespace comet::testing {
namespace {

using namespace std::chrono_literals;

TEST(BenchRoutesTest, ABriefRunLooksUpEveryProtocolAndMeasuresBothHeartbeats) {
  auto run =
      run_process({COMET_BENCH_BIN, "routes", "--brokers", "2", "--topics", "200", "--connections",
                   "2", "--seconds", "1", "--quiet-seconds", "1", "--heartbeat-ms", "200"},
                  {}, 45s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  EXPECT_NE(run.out.find("name server at 400 topics (2 brokers x 200)"), std::string::npos)
      << run.out;
  for (const char* row : {"| native | ", "| RocketMQ 4.x | "}) {
    const size_t at = run.out.find(row);
    ASSERT_NE(at, std::string::npos) << run.out;
    const std::string line = run.out.substr(at, run.out.find('\n', at) - at);
    EXPECT_TRUE(line.ends_with("| 0 |")) << "failed lookups: " << line;
  }
  EXPECT_NE(run.out.find("| BROKER_HEARTBEAT (small) | "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| REGISTER_BROKER (full table) | "), std::string::npos) << run.out;

  auto bad = run_process({COMET_BENCH_BIN, "routes", "--heartbeats", "sometimes"}, {}, 10s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--heartbeats"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace comet::testing
