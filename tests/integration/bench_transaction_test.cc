// comet-bench transaction end to end, short: one round each of plain and transactional sends,
// then a check storm of 200 open transactions whose producer is gone. The report must show both
// medians and their ratio, the probe's latencies idle and during the storm, and the broker still
// holding the 200 transactions open, the oldest checked at least once; --json says the same; a
// bad option is refused.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "integration/process.h"

namespace comet::testing {
namespace {

using namespace std::chrono_literals;

TEST(BenchTransactionTest, ABriefRunReportsBothRatesAndAStormTheBrokerChecks) {
  auto run =
      run_process({COMET_BENCH_BIN, "transaction", "--rounds", "1", "--seconds", "1", "--senders",
                   "4", "--check-storm", "200", "--storm-seconds", "1", "--probe-rate", "100",
                   "--txn-timeout-ms", "500", "--check-interval-ms", "500"},
                  {}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  EXPECT_NE(run.out.find("| plain sync | 1 | "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| transactional (half + commit) | 1 | "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| transactional / plain | | "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("check storm: 200 open transactions"), std::string::npos) << run.out;
  for (const char* row : {"| send p50 | ", "| send p99 | ", "| pull p50 | ", "| pull p99 | "}) {
    EXPECT_NE(run.out.find(row), std::string::npos) << row << "\n" << run.out;
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.out, m,
                                std::regex("at the end: 200 still open, the oldest checked "
                                           "([0-9]+) time")))
      << run.out;
  EXPECT_GE(std::stoi(m[1]), 1) << run.out;

  auto json = run_process({COMET_BENCH_BIN, "transaction", "--rounds", "0", "--check-storm", "20",
                           "--storm-seconds", "1", "--probe-rate", "50", "--json"},
                          {}, 60s);
  ASSERT_EQ(json.exit_code, 0) << json.out << "\n" << json.err;
  EXPECT_EQ(json.out.find("\"throughput\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"check_storm\":{\"open\":20,\"open_failed\":0,"), std::string::npos)
      << json.out;
  EXPECT_NE(json.out.find("\"open_at_end\":20,"), std::string::npos) << json.out;

  auto bad = run_process({COMET_BENCH_BIN, "transaction", "--rounds", "0"}, {}, 10s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("no --check-storm"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace comet::testing
