// comet-bench compare end to end: the real binary starts a local cluster per mode (real
// comet-namesrv and comet-broker processes), runs the workload with the failover drill, reads
// every message back, and writes its table, CSV, JSON and chart. The test checks what the
// benchmark claims against its own files, and that bad arguments get a clear error.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "integration/bench_results.h"
#include "integration/cluster.h"
#include "integration/process.h"
#include "unit/test_util.h"

namespace comet::testing {
namespace {

using namespace std::chrono_literals;

TEST(BenchCompareTest, EveryModeSurvivesTheFailoverDrillWithNoAckedMessageLost) {
  TempDir dir;
  const std::string out = dir.path() + "/results";
  auto run =
      run_process({COMET_BENCH_BIN, "compare", "--modes", "single,async,sync,dledger", "--messages",
                   "6000", "--warmup", "1000", "--inflight", "64", "--failover", "--out", out},
                  {}, 240s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  EXPECT_NE(run.out.find("| mode | brokers | msgs/s |"), std::string::npos) << run.out;

  auto rows = read_csv(out + "/results.csv");
  ASSERT_EQ(rows.size(), 4u) << read_file(out + "/results.csv");
  for (auto& row : rows) {
    SCOPED_TRACE(row["mode"]);
    EXPECT_EQ(row["error"], "");
    EXPECT_EQ(num(row, "messages"), 6000u);
    // Every send answered one way or another, most of them acknowledged.
    EXPECT_EQ(num(row, "acked") + num(row, "unconfirmed") + num(row, "failed"), 6000u);
    EXPECT_GT(num(row, "acked"), 3000u);
    // Read back: everything acknowledged is there (async may lose what its slave lacked).
    EXPECT_GE(num(row, "found") + num(row, "lost"), num(row, "acked"));
    EXPECT_EQ(num(row, "corrupt"), 0u);
    EXPECT_EQ(num(row, "changed"), 0u);
    if (row["mode"] != "async") {
      EXPECT_EQ(num(row, "lost"), 0u);
    }
    EXPECT_EQ(row["verified"], "true");
    // The drill made an outage, and it ended.
    EXPECT_GT(num(row, "failover_window_ms"), 0u);
    EXPECT_LT(num(row, "failover_window_ms"), 30000u);
    EXPECT_GT(std::stod(row["broker_cpu_s"]), 0.0);
  }
  const std::string json = read_file(out + "/results.json");
  EXPECT_NE(json.find("\"drill\": \"SIGKILL master"), std::string::npos) << json;
  EXPECT_NE(json.find("promoteSlave -b broker-a -i 1"), std::string::npos) << json;
  const std::string svg = read_file(out + "/chart.svg");
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(BenchCompareTest, RunsAgainstAnExistingCluster) {
  TempDir dir;
  LocalCluster cluster(dir.path());
  ASSERT_TRUE(cluster.start_namesrv().is_ok());
  ASSERT_TRUE(cluster.start_broker("a").is_ok());
  ASSERT_TRUE(cluster.start_broker("b").is_ok());
  const std::string out = dir.path() + "/results";
  auto run = run_process({COMET_BENCH_BIN, "compare", "--namesrv", cluster.namesrv_addr(),
                          "--messages", "4000", "--warmup", "0", "--producers", "2", "--out", out},
                         {}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  auto rows = read_csv(out + "/results.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["mode"], "cluster");
  EXPECT_NE(rows[0]["layout"].find("2 master(s)"), std::string::npos) << rows[0]["layout"];
  EXPECT_EQ(num(rows[0], "acked"), 4000u);
  EXPECT_EQ(num(rows[0], "found"), 4000u);
  EXPECT_EQ(rows[0]["verified"], "true");
  EXPECT_EQ(rows[0]["broker_cpu_s"], "");  // not its processes: not measured
}

// --topics: the messages spread over every queue of N topics, created by the bench, each read
// back and checked; produce does the same, and every queue gets its share.
TEST(BenchCompareTest, ManyTopicsSpreadTheWorkloadOverEveryQueue) {
  TempDir dir;
  LocalCluster cluster(dir.path());
  ASSERT_TRUE(cluster.start_namesrv().is_ok());
  auto broker = cluster.start_broker("a");
  ASSERT_TRUE(broker.is_ok());
  const std::string out = dir.path() + "/results";
  auto run = run_process(
      {COMET_BENCH_BIN, "compare", "--namesrv", cluster.namesrv_addr(), "--messages", "4000",
       "--warmup", "0", "--topics", "20", "--queues-per-topic", "2", "--out", out},
      {}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  EXPECT_NE(run.out.find("over 20 topics of 2 queues"), std::string::npos) << run.out;
  auto rows = read_csv(out + "/results.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(num(rows[0], "found"), 4000u);
  EXPECT_EQ(rows[0]["verified"], "true");

  auto produced =
      run_process({COMET_BENCH_BIN, "produce", "-n", cluster.namesrv_addr(), "-t", "Spread",
                   "--topics", "10", "--queues-per-topic", "2", "--messages", "2000", "--json"},
                  {}, 60s);
  ASSERT_EQ(produced.exit_code, 0) << produced.out << "\n" << produced.err;
  for (int t = 0; t < 10; ++t) {
    const std::string topic = "Spread-" + std::to_string(t);
    for (int32_t q = 0; q < 2; ++q) {
      // 100 messages each (Spread-0 holds the warm-up send too), read with long polls: the
      // broker indexes a message a moment after it acknowledged it.
      int64_t read = 0;
      for (int polls = 0; polls < 20 && read < 100; ++polls) {
        auto r = cluster.client().invoke(*broker, pull_request(topic, q, read, 32, 5000), 10s);
        ASSERT_TRUE(r.is_ok()) << r.status().to_string();
        if (r->response_code() != ResponseCode::SUCCESS) break;
        read += static_cast<int64_t>(bodies_of(*r).size());
      }
      EXPECT_GE(read, 100) << topic << " queue " << q;
      EXPECT_LE(read, t == 0 ? 101 : 100) << topic << " queue " << q;
    }
  }
}

// --protocol rocketmq: the same workload as RocketMQ 4.x SEND_MESSAGE_V2 requests over both
// masters' queues (the brokers' RocketMQ sessions), every acknowledged message read back.
TEST(BenchCompareTest, RocketmqProtocolRunsTheSameWorkload) {
  TempDir dir;
  LocalCluster cluster(dir.path());
  ASSERT_TRUE(cluster.start_namesrv().is_ok());
  ASSERT_TRUE(cluster.start_broker("a").is_ok());
  ASSERT_TRUE(cluster.start_broker("b").is_ok());
  const std::string out = dir.path() + "/results";
  auto run = run_process(
      {COMET_BENCH_BIN, "compare", "--namesrv", cluster.namesrv_addr(), "--messages", "4000",
       "--warmup", "0", "--producers", "2", "--protocol", "rocketmq", "--out", out},
      {}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  auto rows = read_csv(out + "/results.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(num(rows[0], "acked"), 4000u);
  EXPECT_EQ(num(rows[0], "found"), 4000u);
  EXPECT_EQ(rows[0]["verified"], "true");

  auto produced =
      run_process({COMET_BENCH_BIN, "produce", "-n", cluster.namesrv_addr(), "-t", "RmqProduce",
                   "--messages", "2000", "--protocol", "rocketmq", "--json"},
                  {}, 60s);
  ASSERT_EQ(produced.exit_code, 0) << produced.out << "\n" << produced.err;
  EXPECT_NE(produced.out.find("\"messages\":2000,\"errors\":0"), std::string::npos) << produced.out;
}

// --tls --acl: every process with tls.server.mode=enforcing and aclEnable, the workload signed
// as the bench account over TLS, the drill's comet-admin promoteSlave as the admin account.
TEST(BenchCompareTest, TheFailoverDrillRunsOnClustersWithTlsAndAcl) {
  TempDir dir;
  const std::string out = dir.path() + "/results";
  auto run =
      run_process({COMET_BENCH_BIN, "compare", "--modes", "sync", "--messages", "4000", "--warmup",
                   "0", "--inflight", "64", "--failover", "--tls", "--acl", "--out", out},
                  {}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n" << run.err;
  EXPECT_NE(run.out.find("failover drill at half way, ACL, TLS"), std::string::npos) << run.out;
  auto rows = read_csv(out + "/results.csv");
  ASSERT_EQ(rows.size(), 1u) << read_file(out + "/results.csv");
  EXPECT_EQ(rows[0]["error"], "");
  EXPECT_GT(num(rows[0], "acked"), 2000u);
  EXPECT_EQ(num(rows[0], "lost"), 0u);
  EXPECT_EQ(rows[0]["verified"], "true");
  EXPECT_NE(read_file(out + "/results.json").find("promoteSlave -b broker-a -i 1"),
            std::string::npos);
}

TEST(BenchCompareTest, BadArgumentsGetAClearError) {
  auto bad_mode = run_process({COMET_BENCH_BIN, "compare", "--modes", "single,raft"});
  EXPECT_EQ(bad_mode.exit_code, 2);
  EXPECT_NE(bad_mode.err.find("unknown mode 'raft'"), std::string::npos) << bad_mode.err;
  auto external_failover =
      run_process({COMET_BENCH_BIN, "compare", "--namesrv", "127.0.0.1:1", "--failover"});
  EXPECT_EQ(external_failover.exit_code, 2);
  EXPECT_NE(external_failover.err.find("--failover needs the local clusters"), std::string::npos);
  auto bad_protocol = run_process({COMET_BENCH_BIN, "compare", "--protocol", "kafka"});
  EXPECT_EQ(bad_protocol.exit_code, 2);
  EXPECT_NE(bad_protocol.err.find("--protocol is native or rocketmq"), std::string::npos)
      << bad_protocol.err;
  auto rmq_batch =
      run_process({COMET_BENCH_BIN, "produce", "--protocol", "rocketmq", "--batch", "4"});
  EXPECT_EQ(rmq_batch.exit_code, 2);
  EXPECT_NE(rmq_batch.err.find("no --batch"), std::string::npos) << rmq_batch.err;
  auto acl_external =
      run_process({COMET_BENCH_BIN, "compare", "--namesrv", "127.0.0.1:1", "--acl"});
  EXPECT_EQ(acl_external.exit_code, 2);
  EXPECT_NE(acl_external.err.find("--acl secures the clusters comet-bench starts"),
            std::string::npos)
      << acl_external.err;
  auto account_local =
      run_process({COMET_BENCH_BIN, "compare", "--accessKey", "ak", "--secretKey", "sk-123456"});
  EXPECT_EQ(account_local.exit_code, 2);
  EXPECT_NE(account_local.err.find("get their own accounts"), std::string::npos)
      << account_local.err;
  EXPECT_EQ(account_local.err.find("sk-123456"), std::string::npos) << account_local.err;
  auto tls_without_ca = run_process({COMET_BENCH_BIN, "produce", "--tls"});
  EXPECT_EQ(tls_without_ca.exit_code, 2);
  EXPECT_NE(tls_without_ca.err.find("needs --tls-ca"), std::string::npos) << tls_without_ca.err;
  auto tiny = run_process({COMET_BENCH_BIN, "compare", "--msg-size", "8"});
  EXPECT_EQ(tiny.exit_code, 2);
  EXPECT_NE(tiny.err.find("--msg-size must be"), std::string::npos) << tiny.err;
  // A name server nobody runs: the mode is reported as not run, and the exit status says so.
  TempDir dir;
  auto nobody = run_process(
      {COMET_BENCH_BIN, "compare", "--namesrv", "127.0.0.1:1", "--out", dir.path()}, {}, 60s);
  EXPECT_EQ(nobody.exit_code, 1) << nobody.out << nobody.err;
  EXPECT_NE(nobody.out.find("not run"), std::string::npos) << nobody.out;
}

}  // namespace
}  // namespace comet::testing
