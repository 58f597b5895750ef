// --help and -h of every binary and comet-bench command: usage on stdout, exit status 0, nothing
// started. The servers' help lists each configuration key with its default.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/process.h"

namespace comet::testing {
namespace {

// Runs `argv` plus each of --help and -h; both must exit 0 and print `expected` on stdout.
void expect_help(std::vector<std::string> argv, const std::vector<std::string>& expected) {
  for (const char* flag : {"--help", "-h"}) {
    std::vector<std::string> with_flag = argv;
    with_flag.push_back(flag);
    RunResult r = run_process(with_flag);
    EXPECT_EQ(r.exit_code, 0) << argv[0] << " " << flag << "\n" << r.err;
    for (const std::string& text : expected) {
      EXPECT_NE(r.out.find(text), std::string::npos)
          << argv.back() << " " << flag << " printed no '" << text << "':\n"
          << r.out;
    }
  }
}

TEST(HelpProcess, BrokerListsItsKeysWithDefaults) {
  expect_help({COMET_BROKER_BIN},
              {"usage: comet-broker", "  listenPort=10911 ", "  brokerRole=ASYNC_MASTER ",
               "  storePathRootDir=/tmp/comet/store ", "  serverMaxConnections=4096 ",
               "  dLegerElectionTimeoutMs=600 "});
}

TEST(HelpProcess, HelpWinsOverABadArgument) {
  // Asking for help starts nothing and reads no file, even a missing one.
  expect_help({COMET_BROKER_BIN, "-c", "/nonexistent.properties"}, {"usage: comet-broker"});
  expect_help({COMET_NAMESRV_BIN, "notakey"}, {"usage: comet-namesrv"});
}

TEST(HelpProcess, BrokerNamesAnUnknownKey) {
  // A typo sets nothing: the warning names the key (here before a bad value stops the start).
  RunResult broker = run_process({COMET_BROKER_BIN, "listenPrt=1", "brokerId=-1"});
  EXPECT_EQ(broker.exit_code, 2);
  EXPECT_NE((broker.out + broker.err).find("unknown configuration key 'listenPrt'"),
            std::string::npos)
      << broker.out << broker.err;
}

TEST(HelpProcess, NamesrvListsItsKeysWithDefaults) {
  expect_help({COMET_NAMESRV_BIN},
              {"usage: comet-namesrv", "  listenPort=9876 ", "  brokerExpiryMs=3000 ",
               "  serverChannelMaxIdleTimeSeconds=120 "});
}

#ifdef COMET_BENCH_BIN
TEST(HelpProcess, BenchAndEachOfItsCommands) {
  expect_help({COMET_BENCH_BIN}, {"usage: comet-bench", "produce", "consume", "compare", "chaos",
                                  "soak", "delay", "scale"});
  expect_help({COMET_BENCH_BIN, "produce"}, {"comet-bench produce -n <namesrv>"});
  expect_help({COMET_BENCH_BIN, "consume"}, {"comet-bench consume -n <namesrv>"});
  expect_help({COMET_BENCH_BIN, "compare"}, {"usage: comet-bench compare", "--failover"});
  expect_help({COMET_BENCH_BIN, "chaos"}, {"usage: comet-bench chaos", "--seed"});
  expect_help({COMET_BENCH_BIN, "soak"}, {"usage: comet-bench soak", "--minutes"});
  expect_help({COMET_BENCH_BIN, "delay"}, {"usage: comet-bench delay", "--delay-s"});
  expect_help({COMET_BENCH_BIN, "scale"}, {"usage: comet-bench scale", "--topics-list"});
  expect_help({COMET_BENCH_BIN, "produce"}, {"--topics N [--queues-per-topic Q]"});
}
#endif

#ifdef COMET_COMMITLOG_BENCH_BIN
TEST(HelpProcess, CommitLogBenchmarks) {
  expect_help({COMET_COMMITLOG_BENCH_BIN}, {"comet-commitlog-bench", "--benchmark_filter"});
}
#endif

}  // namespace
}  // namespace comet::testing
