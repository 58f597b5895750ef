// comet-bench soak end to end, short: a single broker paced at a fixed rate for half a minute,
// sampled every two seconds. The report must show the offered rate achieved, no failed send,
// and memory and latency judged from its samples.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "integration/process.h"

namespace comet::testing {
namespace {

using namespace std::chrono_literals;

TEST(BenchSoakTest, AShortSoakHoldsItsRateWithStableMemoryAndLatency) {
  auto run = run_process({COMET_BENCH_BIN, "soak", "--mode", "single", "--minutes", "0.5", "--rate",
                          "2000", "--sample-s", "2", "--msg-size", "256"},
                         {}, 180s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  // One sample line every two seconds: "   30 s   2000   1999 ...".
  int samples = 0;
  std::istringstream in(run.out);
  for (std::string line; std::getline(in, line);) {
    if (line.find(" s      2000 ") != std::string::npos) ++samples;
  }
  EXPECT_GE(samples, 12) << run.out;
  EXPECT_NE(run.out.find("| single | 256 B | 2000 |"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| 0 | passed |"), std::string::npos) << run.out;

  auto bad = run_process({COMET_BENCH_BIN, "soak", "--load", "3"}, {}, 10s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad or incomplete option '--load'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace comet::testing
