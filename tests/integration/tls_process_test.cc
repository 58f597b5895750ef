// Every link over TLS, with real processes on loopback: a name server, a SYNC_MASTER and its
// slave, and a 3-member DLedger group, all with tls.server.mode=enforcing and tls.enable=true
// (registration with the name server, HA replication and Raft all use TLS). A RemotingClient
// with the client TLS context creates a topic, sends and pulls; the SYNC_MASTER's sends succeed
// only with its slave in sync (HA over TLS), the slave serves what was sent, the name server
// routes the topic (registration over TLS), and the DLedger group elects a leader that commits
// sends (Raft over TLS). A plain client is refused by every server. Certificates come from
// scripts/make-certs.sh.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "remoting/tls_context.h"

namespace comet::testing {
namespace {

constexpr const char* kTopic = "TlsTopic";
constexpr int kQueues = 2;
const std::string kCertDir = COMET_TEST_CERT_DIR;

// The settings that put every server and outgoing link of a process on TLS.
std::vector<std::string> tls_settings() {
  return {"tls.server.mode=enforcing", "tls.server.certPath=" + kCertDir + "/server.pem",
          "tls.server.keyPath=" + kCertDir + "/server.key", "tls.enable=true",
          "tls.client.trustCertPath=" + kCertDir + "/ca.pem"};
}

class TlsProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string cmd = std::string(COMET_SOURCE_DIR) + "/scripts/make-certs.sh " + kCertDir;
    ASSERT_EQ(std::system((cmd + " >/dev/null").c_str()), 0) << cmd;
  }

  void SetUp() override {
    remoting::TlsClientConfig tls;
    tls.enable = true;
    tls.trust_cert_path = kCertDir + "/ca.pem";
    auto ctx = remoting::make_client_tls_context(tls);
    ASSERT_TRUE(ctx.is_ok()) << ctx.status().to_string();
    remoting::ClientOptions options;
    options.connection.tls = *ctx;
    client_ = std::make_unique<remoting::RemotingClient>(options);

    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    std::vector<std::string> argv = {COMET_NAMESRV_BIN, "listenPort=0", "bindAddress=127.0.0.1"};
    for (auto& s : tls_settings())
      argv.push_back(std::move(s));
    auto namesrv = ChildProcess::spawn(argv, dir_.path() + "/namesrv.log");
    ASSERT_TRUE(namesrv.is_ok()) << namesrv.status().to_string();
    namesrv_ = std::move(*namesrv);
    auto line = namesrv_->wait_for_line("ready on", 20s);
    ASSERT_TRUE(line.is_ok()) << line.status().to_string();
    namesrv_addr_ = ChildProcess::address_in(*line);
  }

  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  // Broker process `key` of group `group` with TLS everywhere and `extra` settings.
  std::string start_broker(const std::string& key, const std::string& group,
                           std::vector<std::string> extra) {
    for (auto& s : tls_settings())
      extra.push_back(std::move(s));
    extra.push_back("namesrvAddr=" + namesrv_addr_);
    auto addr = cluster_->start_broker_as(key, group, std::move(extra));
    EXPECT_TRUE(addr.is_ok()) << addr.status().to_string();
    return addr.is_ok() ? *addr : "";
  }

  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req) {
    return client_->invoke(addr, std::move(req), 10s);
  }

  // A plain client's request to `addr` fails: the server wants TLS.
  static void expect_plain_refused(const std::string& addr) {
    remoting::RemotingClient plain;
    auto r = plain.invoke(addr, RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO), 5s);
    EXPECT_FALSE(r.is_ok()) << addr << " served a plain client";
  }

  void create_topic(const std::string& addr) {
    auto r = call(addr, update_topic_request(kTopic, kQueues));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  // Sends `count` messages to queue 0 of `addr`; each must succeed.
  void send_all(const std::string& addr, int count) {
    for (int i = 0; i < count; ++i) {
      auto r = call(addr, send_request(kTopic, 0, {"tls-" + std::to_string(i)}));
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS)
          << "send " << i << ": " << remoting::response_code_name(r->code()) << " " << r->remark();
    }
  }

  // Queue 0 of `addr` from offset 0 until `want` messages came (long polls, bounded rounds).
  std::vector<std::string> read_queue(const std::string& addr, size_t want) {
    std::vector<std::string> out;
    for (int round = 0; round < 50 && out.size() < want; ++round) {
      auto r = call(addr, pull_request(kTopic, 0, static_cast<int64_t>(out.size()), 32, 3000));
      if (!r.is_ok()) {
        ADD_FAILURE() << "pull from " << addr << ": " << r.status().to_string();
        break;
      }
      for (auto& b : bodies_of(*r))
        out.push_back(std::move(b));
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<remoting::RemotingClient> client_;
  std::unique_ptr<ChildProcess> namesrv_;
  std::string namesrv_addr_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(TlsProcessTest, SyncMasterReplicatesToItsSlaveAndRegistersOverTls) {
  const std::vector<std::string> ha = {"slaveSyncIntervalMs=200", "haSendHeartbeatInterval=200",
                                       "syncFlushTimeout=3000"};
  std::vector<std::string> m = ha, s = ha;
  m.push_back("brokerRole=SYNC_MASTER");
  s.insert(s.end(), {"brokerRole=SLAVE", "brokerId=1"});
  const std::string master = start_broker("m", "tls-a", m);
  const std::string slave = start_broker("s", "tls-a", s);
  ASSERT_FALSE(master.empty() || slave.empty());
  auto streaming = cluster_->broker("s")->wait_for_line("streaming from master", 30s, true);
  ASSERT_TRUE(streaming.is_ok()) << "the slave's HA stream over TLS: "
                                 << streaming.status().to_string();
  ASSERT_TRUE(cluster_->broker("m")->wait_for_line("in sync from offset", 30s).is_ok());

  create_topic(master);
  // A SYNC_MASTER answers SUCCESS only once its slave holds the message.
  constexpr int kMessages = 20;
  ASSERT_NO_FATAL_FAILURE(send_all(master, kMessages));
  EXPECT_EQ(read_queue(master, kMessages).size(), size_t{kMessages});
  EXPECT_EQ(read_queue(slave, kMessages).size(), size_t{kMessages});

  // The master registered the topic with the name server over TLS.
  auto route_req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
  protocol::GetRouteInfoRequestT rr;
  rr.topic = kTopic;
  route_req.set_ext(std::move(rr));
  auto route = call(namesrv_addr_, std::move(route_req));
  ASSERT_TRUE(route.is_ok()) << route.status().to_string();
  ASSERT_EQ(route->response_code(), ResponseCode::SUCCESS) << route->remark();
  const auto* rd = route->ext<protocol::TopicRouteDataT>();
  ASSERT_NE(rd, nullptr);
  ASSERT_EQ(rd->broker_datas.size(), 1u);
  EXPECT_EQ(rd->broker_datas[0]->broker_name, "tls-a");

  expect_plain_refused(namesrv_addr_);
  expect_plain_refused(master);
  expect_plain_refused(slave);
}

TEST_F(TlsProcessTest, DLedgerGroupElectsAndCommitsOverTls) {
  constexpr int kMembers = 3;
  const std::string peers = dledger_peers(kMembers);
  ASSERT_FALSE(peers.empty()) << "no free port";
  std::string addrs[kMembers];
  for (int i = 0; i < kMembers; ++i) {
    auto settings = dledger_member_settings("dl-tls", peers, i);
    settings.push_back("defaultTopicQueueNums=" + std::to_string(kQueues));
    addrs[i] = start_broker(dledger_member_id(i), "dl-tls", settings);
    ASSERT_FALSE(addrs[i].empty());
  }
  const int leader = next_leader_announced(cluster_->broker(dledger_member_id(0)), 30s);
  ASSERT_GE(leader, 0) << "no leader elected over TLS";
  ASSERT_LT(leader, kMembers);

  create_topic(addrs[leader]);
  // The leader acknowledges a send once a majority holds it: Raft replication over TLS.
  constexpr int kMessages = 10;
  ASSERT_NO_FATAL_FAILURE(send_all(addrs[leader], kMessages));
  EXPECT_EQ(read_queue(addrs[leader], kMessages).size(), size_t{kMessages});
  for (int i = 0; i < kMembers; ++i) {
    auto r = call(addrs[i], RemotingCommand::request(RequestCode::GET_DLEDGER_STATUS));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    const auto* st = r->ext<protocol::DLedgerStatusT>();
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(st->leader_id, dledger_member_id(leader)) << "member " << i;
  }
  expect_plain_refused(addrs[(leader + 1) % kMembers]);
}

}  // namespace
}  // namespace comet::testing
