// comet-bench scale end to end: the real binary starts a broker per topic count, creates the
// topics, sends, reads the broker from /proc, restarts it and writes its table, CSV, JSON and
// chart. The test checks the run's claims against its own files, whatever the store costs (on a
// store that allocates a whole ConsumeQueue file per queue the disk budget may cut a row short;
// the row then says so).
#include <gtest/gtest.h>

#include <string>

#include "integration/bench_results.h"
#include "integration/process.h"
#include "unit/test_util.h"

namespace comet::testing {
namespace {

using namespace std::chrono_literals;

TEST(BenchScaleTest, EachTopicCountIsMeasuredAndRestarted) {
  TempDir dir;
  const std::string out = dir.path() + "/results";
  auto run = run_process({COMET_BENCH_BIN, "scale", "--topics-list", "1,20", "--queues-per-topic",
                          "4", "--messages", "2000", "--disk-budget-gb", "2", "--broker",
                          "mappedFileSizeCommitLog=67108864", "--out", out},
                         {}, 150s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  EXPECT_NE(run.out.find("| topics | queues | create s |"), std::string::npos) << run.out;
  auto rows = read_csv(out + "/results.csv");
  ASSERT_EQ(rows.size(), 2u) << read_file(out + "/results.csv");
  EXPECT_EQ(num(rows[0], "topics"), 1u);
  EXPECT_EQ(num(rows[1], "topics"), 20u);
  for (auto& row : rows) {
    SCOPED_TRACE(row["topics"] + " topics");
    EXPECT_EQ(row["error"], "");
    EXPECT_EQ(num(row, "queues_per_topic"), 4u);
    EXPECT_GT(num(row, "acked"), 0u);
    EXPECT_EQ(num(row, "acked"), num(row, "messages"));
    EXPECT_EQ(num(row, "failed"), 0u);
    if (row["stopped"].empty()) {
      EXPECT_EQ(num(row, "messages"), 2000u);
    }
    EXPECT_GT(std::stod(row["msgs_per_s"]), 0.0);
    // The broker was read idle, loaded and restarted; the store at rest.
    EXPECT_GT(num(row, "idle_rss_anon_kib"), 0u);
    EXPECT_GT(num(row, "rss_file_kib"), 0u);
    EXPECT_GT(num(row, "open_fds"), 0u);
    EXPECT_GT(num(row, "mappings"), 0u);
    EXPECT_GT(num(row, "restarted_open_fds"), 0u);
    EXPECT_GT(num(row, "restarted_mappings"), 0u);
    EXPECT_GT(num(row, "commitlog_disk_bytes"), 0u);
    EXPECT_GT(num(row, "disk_beyond_commitlog_bytes"), 0u);
    EXPECT_GT(std::stod(row["restart_s"]), 0.0);
    EXPECT_LT(std::stod(row["restart_s"]), 60.0);
  }
  const std::string json = read_file(out + "/results.json");
  EXPECT_NE(json.find("\"restarted\": {\"rss_anon_kib\": "), std::string::npos) << json;
  const std::string svg = read_file(out + "/scale-chart.svg");
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_NE(svg.find("restart to serving (s)"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(BenchScaleTest, BadArgumentsGetAClearError) {
  auto bad_list = run_process({COMET_BENCH_BIN, "scale", "--topics-list", "1,0"});
  EXPECT_EQ(bad_list.exit_code, 2);
  EXPECT_NE(bad_list.err.find("--topics-list takes counts 1..1000000, not '0'"), std::string::npos)
      << bad_list.err;
  auto bad_broker = run_process({COMET_BENCH_BIN, "scale", "--broker", "nokey"});
  EXPECT_EQ(bad_broker.exit_code, 2);
  EXPECT_NE(bad_broker.err.find("--broker takes key=value"), std::string::npos) << bad_broker.err;
}

}  // namespace
}  // namespace comet::testing
