// comet-bench chaos end to end: real comet-namesrv and comet-broker processes (each broker in a
// network namespace of its own), producers sending while a seeded schedule kills and partitions
// brokers, then the checker. The seed is fixed so that the schedule holds three promotion drills
// for sync (kill the master, promote the slave; partition the new master; kill it, promote the old
// master, now its slave; kill that one, promote again) and three kills of DLedger members. A
// consumer group of two runs through it all (one member leaves and another joins on cycle 3):
// every acked message is delivered, and nothing delivered is missing from the log afterwards.
// Then the same with a listener that fails messages: each ends consumed or in the DLQ.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "common/netns.h"
#include "integration/process.h"
#include "unit/test_util.h"

namespace comet::testing {
namespace {

using namespace std::chrono_literals;

// The cells of the first row for `mode` ("| sync | 4 | ... |") after `from`, or empty.
std::vector<std::string> row_of(const std::string& out, const std::string& mode,
                                const std::string& from = "") {
  const size_t at = from.empty() ? 0 : out.find(from);
  if (at == std::string::npos) return {};
  std::istringstream in(out.substr(at));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| " + mode + " |", 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) {
      const size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
    }
    return cells;
  }
  return {};
}

TEST(BenchChaosTest, SyncAndDLedgerLoseNoAckedMessageThroughAFaultSchedule) {
  // Without namespaces the harness leaves partitions out, and the seed's schedule is another.
  if (auto why = netns_unavailable(); !why.empty()) GTEST_SKIP() << why;
  // The harness removes every namespace it made (the test runs alone: RUN_SERIAL).
  auto namespaces = [] {
    auto r = run_process({ip_binary(), "netns", "list"}, {}, 10s);
    return r.out;
  };
  const std::string before = namespaces();
  auto run = run_process({COMET_BENCH_BIN, "chaos", "--modes", "sync,dledger", "--cycles", "4",
                          "--seed", "224", "--faults", "kill,pause,partition", "--fault-ms", "1200",
                          "--settle-ms", "1500", "--rate", "1000"},
                         {}, 240s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  // Columns: mode, cycles, kill / pause / partition / delay, drills (failed), sends, acked,
  // unconfirmed, failed, lost, duplicated, reordered, unacked found, corrupt, result.
  for (const std::string mode : {"sync", "dledger"}) {
    SCOPED_TRACE(mode);
    auto cells = row_of(run.out, mode);
    ASSERT_GE(cells.size(), 14u) << run.out;
    EXPECT_EQ(cells[1], "4");
    EXPECT_GT(std::stoull(cells[5]), 1000u) << "acked";
    EXPECT_EQ(cells[8], "0") << "acknowledged messages lost";
    EXPECT_EQ(cells[12], "0") << "corrupt or changed";
    EXPECT_EQ(cells[13].rfind("passed", 0), 0u) << cells[13];
  }
  // Columns: mode, churns, deliveries, acked delivered, acked not delivered, redelivered, stored
  // copies, reordered, unacked delivered, delivered then gone, corrupt.
  for (const std::string mode : {"sync", "dledger"}) {
    SCOPED_TRACE(mode);
    auto cells = row_of(run.out, mode, "What the consumer group was handed");
    ASSERT_GE(cells.size(), 11u) << run.out;
    EXPECT_EQ(cells[1], "1") << "churns";
    EXPECT_EQ(cells[3], row_of(run.out, mode)[5]) << "acked messages delivered";
    EXPECT_EQ(cells[4], "0") << "acked messages never delivered";
    EXPECT_EQ(cells[9], "0") << "delivered messages the log does not hold";
    EXPECT_EQ(cells[10], "0") << "corrupt";
  }
  // Three drills, all done, on sync; the schedule is the seed's.
  auto sync = row_of(run.out, "sync");
  EXPECT_EQ(sync[3], "3 (0)") << run.out;
  EXPECT_NE(run.out.find("cycle 1/4: kill -9 master (master)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("promoted slave"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("promoted master"), std::string::npos) << run.out;
  // The seed's faults (which member leads when one is killed depends on the elections).
  EXPECT_EQ(sync[2], "3 / 0 / 1 / 0");
  EXPECT_EQ(row_of(run.out, "dledger")[2], "3 / 0 / 1 / 0");

  EXPECT_EQ(namespaces(), before) << "network namespaces left behind";

  // Bad arguments get a clear message.
  auto bad = run_process({COMET_BENCH_BIN, "chaos", "--faults", "meteor"}, {}, 10s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown fault 'meteor'"), std::string::npos) << bad.err;
}

// --failing-listener: the consumers fail 10 % of the messages once and 0.1 % always. Each
// acknowledged message ends consumed or in %DLQ%ChaosConsumers; those failed once are consumed
// at their retry, and only those failed always are dead letters. Process faults only (loopback),
// so it runs without namespaces too.
TEST(BenchChaosTest, AFailingListenerLeavesEveryAckedMessageConsumedOrDeadLettered) {
  auto run = run_process({COMET_BENCH_BIN, "chaos", "--modes", "dledger", "--cycles", "2", "--seed",
                          "4242", "--faults", "pause", "--fault-ms", "1000", "--settle-ms", "1000",
                          "--rate", "1000", "--no-netns", "--failing-listener"},
                         {}, 240s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  const auto log = row_of(run.out, "dledger");
  ASSERT_GE(log.size(), 14u) << run.out;
  EXPECT_EQ(log[8], "0") << "acknowledged messages lost";
  // Columns: mode, failed deliveries, acked failed always, in the DLQ, acked dead-lettered, in
  // the DLQ though not failed always, acked neither consumed nor in the DLQ.
  auto cells = row_of(run.out, "dledger", "The failing listener");
  ASSERT_GE(cells.size(), 7u) << run.out;
  const uint64_t acked = std::stoull(log[5]);
  EXPECT_GT(acked, 2000u);
  // About a tenth of the messages fail once, and the few failed always 17 times each.
  EXPECT_GT(std::stoull(cells[1]), acked / 20) << run.out;
  EXPECT_GT(std::stoull(cells[2]), 0u) << "the seed fails some acked message for good";
  EXPECT_EQ(cells[4], cells[2]) << "every acked message failed always is in the DLQ";
  EXPECT_EQ(cells[5], "0") << "a message failed once was dead-lettered";
  EXPECT_EQ(cells[6], "0") << "acked messages neither consumed nor dead-lettered";

  auto bad =
      run_process({COMET_BENCH_BIN, "chaos", "--failing-listener", "--consumers", "0"}, {}, 10s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--failing-listener needs consumers"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace comet::testing
