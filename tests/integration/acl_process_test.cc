// Access control end to end: a real comet-namesrv and comet-broker with aclEnable and an
// accounts file. Each refusal is answered NO_PERMISSION with a remark naming the account, the
// resource and the request, and logged with the peer; a signed, permitted client (`good`) keeps
// working after every one; and a rewrite of the accounts file takes effect while clients run.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "broker/request_access.h"
#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "integration/native_wire_client.h"
#include "remoting/request_signature.h"

namespace comet::testing {
namespace {

using remoting::Credentials;
using remoting::RequestSigner;

// 127.0.0.3 is in the global whitelist: anything from it passes unsigned (RocketMQ's
// semantics). Account `lan` lists 127.0.0.2: from there its address stands for its signature,
// and its permissions are still checked (RocketMQ skips those too; comet does not).
std::string accounts_file(const std::string& flip_perm, const std::string& later_perm) {
  return "globalWhiteRemoteAddresses:\n"
         "  - 127.0.0.3\n"
         "accounts:\n"
         "  - accessKey: app\n"
         "    secretKey: app-secret-1\n"
         "    defaultTopicPerm: DENY\n"
         "    defaultGroupPerm: DENY\n"
         "    topicPerms: [orders=PUB|SUB, locked=DENY, feed=SUB, flip=" +
         flip_perm + ", later=" + later_perm +
         "]\n"
         "    groupPerms: [readers=SUB]\n"
         "  - accessKey: ops\n"
         "    secretKey: ops-secret-1\n"
         "    admin: true\n"
         "  - accessKey: lan\n"
         "    secretKey: lan-secret-1\n"
         "    whiteRemoteAddress: 127.0.0.2\n"
         "    topicPerms: [orders=PUB]\n";
}

const Credentials kApp{"app", "app-secret-1"};
const Credentials kOps{"ops", "ops-secret-1"};

void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".new";
  std::ofstream(tmp, std::ios::trunc) << text;
  std::filesystem::rename(tmp, path);  // atomically, as a config tool would
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::unique_ptr<remoting::RemotingClient> signed_client(const Credentials& c) {
  remoting::ClientOptions o;
  o.connection.signer = std::make_shared<RequestSigner>(c);
  return std::make_unique<remoting::RemotingClient>(o);
}

class AclProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    acl_file_ = dir_->path() + "/plain_acl.yml";
    write_file(acl_file_, accounts_file("PUB", "DENY"));
    const std::string cluster_file = dir_->path() + "/cluster.yml";
    write_file(cluster_file, "accessKey: cluster-key\nsecretKey: cluster-secret-1\n");
    const std::vector<std::string> acl = {"aclEnable=true", "aclFile=" + acl_file_,
                                          "clusterCredentialFile=" + cluster_file,
                                          "aclReloadIntervalMs=200"};
    std::vector<std::string> ns = {COMET_NAMESRV_BIN, "listenPort=0", "bindAddress=127.0.0.1"};
    ns.insert(ns.end(), acl.begin(), acl.end());
    auto n = ChildProcess::spawn(ns, dir_->path() + "/namesrv.log");
    ASSERT_TRUE(n.is_ok()) << n.status().to_string();
    namesrv_ = n.value().release();
    auto ready = namesrv_->wait_for_line("ready on", 20s);
    ASSERT_TRUE(ready.is_ok()) << ready.status().to_string();
    namesrv_addr_ = ChildProcess::address_in(ready.value());
    std::vector<std::string> br = {COMET_BROKER_BIN,
                                   "listenPort=0",
                                   "haListenPort=0",
                                   "bindAddress=127.0.0.1",
                                   "brokerName=broker-a",
                                   "storePathRootDir=" + dir_->path() + "/broker",
                                   "mappedFileSizeCommitLog=67108864",
                                   "heartbeatIntervalMs=300",
                                   "namesrvAddr=" + namesrv_addr_};
    br.insert(br.end(), acl.begin(), acl.end());
    auto b = ChildProcess::spawn(br, dir_->path() + "/broker.log");
    ASSERT_TRUE(b.is_ok()) << b.status().to_string();
    broker_proc_ = b.value().release();
    ready = broker_proc_->wait_for_line("ready on", 30s);
    ASSERT_TRUE(ready.is_ok()) << ready.status().to_string();
    broker_ = ChildProcess::address_in(ready.value());
    good_ = signed_client(kApp).release();
    ops_ = signed_client(kOps).release();
    for (const char* topic : {"orders", "locked", "feed", "flip", "later"}) {
      auto r = ops_->invoke(broker_, update_topic_request(topic, 1), 10s);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << topic << ": " << r->remark();
    }
  }

  static void TearDownTestSuite() {
    delete good_;
    delete ops_;
    delete broker_proc_;  // kills it
    delete namesrv_;
    delete dir_;
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const char* name : {"/broker.log", "/namesrv.log"}) {
        std::printf("---- %s\n%s\n", name, read_file(dir_->path() + name).c_str());
      }
    }
  }

  // The permitted client still works: a signed send to a PUB topic succeeds.
  static void expect_good_client_works() {
    auto r = good_->invoke(broker_, send_request("orders", 0, {"fine"}), 10s);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  static void expect_refused(const Result<RemotingCommand>& r, const std::string& remark) {
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->response_code(), ResponseCode::NO_PERMISSION) << r->remark();
    EXPECT_NE(r->remark().find(remark), std::string::npos)
        << "expected '" << remark << "' in '" << r->remark() << "'";
  }

  // The frame of `cmd` signed by `creds` at `now_ms` (opaque 1).
  static std::string signed_frame(RemotingCommand cmd, const Credentials& creds,
                                  int64_t now_ms = remoting::unix_millis_now()) {
    RequestSigner signer(creds);
    cmd.header.opaque = 1;
    return signer.encode_signed_head(cmd, now_ms) + cmd.body.to_string();
  }

  static Result<RemotingCommand> raw(const std::string& frame,
                                     const std::string& from = "127.0.0.1") {
    NativeWireClient c;
    if (Status s = c.connect(broker_, from); !s.is_ok()) return s;
    return c.exchange(frame);
  }

  static RemotingCommand unsigned_send(const std::string& topic) {
    RemotingCommand cmd = send_request(topic, 0, {"x"});
    cmd.header.opaque = 1;
    return cmd;
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::string acl_file_;
  static inline ChildProcess* namesrv_ = nullptr;
  static inline ChildProcess* broker_proc_ = nullptr;
  static inline std::string namesrv_addr_;
  static inline std::string broker_;
  static inline remoting::RemotingClient* good_ = nullptr;
  static inline remoting::RemotingClient* ops_ = nullptr;
};

TEST_F(AclProcessTest, UnsignedRequestIsRefused) {
  expect_refused(raw(remoting::encode_frame(unsigned_send("orders"))),
                 "request SEND_MESSAGE is not signed");
  remoting::RemotingClient plain;
  expect_refused(plain.invoke(broker_, pull_request("orders", 0, 0), 10s),
                 "request PULL_MESSAGE is not signed");
  expect_good_client_works();
}

TEST_F(AclProcessTest, WrongSignatureIsRefused) {
  expect_refused(raw(signed_frame(unsigned_send("orders"), {"app", "not-app-secret"})),
                 "signature does not match for account 'app' (SEND_MESSAGE)");
  expect_good_client_works();
}

TEST_F(AclProcessTest, ReplayedBytesOnANewConnectionAreRefused) {
  const std::string frame = signed_frame(unsigned_send("orders"), kApp);
  auto first = raw(frame);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->response_code(), ResponseCode::SUCCESS) << first->remark();
  expect_refused(raw(frame), "nonce replayed for account 'app' (SEND_MESSAGE)");
  expect_good_client_works();
}

TEST_F(AclProcessTest, ExpiredSignatureIsRefused) {
  const int64_t old = remoting::unix_millis_now() - 400'000;
  auto r = raw(signed_frame(unsigned_send("orders"), kApp, old));
  expect_refused(r, "signature expired: timestamp " + std::to_string(old) + " is ");
  ASSERT_TRUE(r.is_ok());
  EXPECT_NE(r->remark().find("ms from the broker's clock (window 300000 ms)"), std::string::npos)
      << r->remark();
  expect_refused(
      raw(signed_frame(unsigned_send("orders"), kApp, remoting::unix_millis_now() + 400'000)),
      "signature expired");
  expect_good_client_works();
}

TEST_F(AclProcessTest, UnknownAccessKeyIsRefused) {
  expect_refused(raw(signed_frame(unsigned_send("orders"), {"nobody", "whatever-1"})),
                 "unknown access key 'nobody' (SEND_MESSAGE)");
  expect_good_client_works();
}

// An account's whiteRemoteAddress: from 127.0.0.2 `lan` needs no valid signature (its
// permissions still apply); from 127.0.0.1 the same bytes are refused. The global whitelist
// (127.0.0.3) admits even unsigned requests.
TEST_F(AclProcessTest, WhitelistedAddressesAndOthers) {
  const Credentials lan_guess{"lan", "not-lan-secret"};
  auto from_lan = raw(signed_frame(unsigned_send("orders"), lan_guess), "127.0.0.2");
  ASSERT_TRUE(from_lan.is_ok()) << from_lan.status().to_string();
  EXPECT_EQ(from_lan->response_code(), ResponseCode::SUCCESS) << from_lan->remark();
  expect_refused(raw(signed_frame(unsigned_send("orders"), lan_guess), "127.0.0.1"),
                 "signature does not match for account 'lan' (SEND_MESSAGE)");
  expect_refused(raw(signed_frame(unsigned_send("feed"), lan_guess), "127.0.0.2"),
                 "account 'lan' is denied topic 'feed' (SEND_MESSAGE)");
  auto global = raw(remoting::encode_frame(unsigned_send("orders")), "127.0.0.3");
  ASSERT_TRUE(global.is_ok()) << global.status().to_string();
  EXPECT_EQ(global->response_code(), ResponseCode::SUCCESS) << global->remark();
  expect_good_client_works();
}

TEST_F(AclProcessTest, EveryAdminCommandNeedsAnAdminAccount) {
  for (remoting::RequestCode code : broker::broker_admin_only_codes()) {
    const std::string name(remoting::request_code_name(static_cast<int32_t>(code)));
    expect_refused(good_->invoke(broker_, RemotingCommand::request(code), 10s),
                   "account 'app' lacks admin for " + name);
  }
  // A code the broker does not list is admin-only too.
  expect_refused(
      good_->invoke(broker_, RemotingCommand::request(static_cast<remoting::RequestCode>(9999)),
                    10s),
      "account 'app' lacks admin for code 9999");
  // The admin account passes the gate (its request reaches the handler).
  auto listed =
      ops_->invoke(broker_, RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG), 10s);
  ASSERT_TRUE(listed.is_ok());
  EXPECT_EQ(listed->response_code(), ResponseCode::SUCCESS) << listed->remark();
  expect_good_client_works();
}

TEST_F(AclProcessTest, SendToADenyTopicIsRefused) {
  expect_refused(good_->invoke(broker_, send_request("locked", 0, {"x"}), 10s),
                 "account 'app' is denied topic 'locked' (SEND_MESSAGE)");
  expect_refused(good_->invoke(broker_, send_request("feed", 0, {"x"}), 10s),
                 "account 'app' lacks PUB on topic 'feed' (SEND_MESSAGE)");
  expect_good_client_works();
}

TEST_F(AclProcessTest, PullByAGroupWithoutSubIsRefused) {
  expect_refused(good_->invoke(broker_, pull_request("orders", 0, 0), 10s),
                 "account 'app' is denied group 'test-consumer' (PULL_MESSAGE)");
  RemotingCommand permitted = pull_request("orders", 0, 0);
  permitted.ext<protocol::PullMessageRequestT>();
  protocol::PullMessageRequestT ext = *permitted.ext<protocol::PullMessageRequestT>();
  ext.consumer_group = "readers";
  permitted.set_ext(std::move(ext));
  auto r = good_->invoke(broker_, std::move(permitted), 10s);
  ASSERT_TRUE(r.is_ok());
  EXPECT_NE(r->response_code(), ResponseCode::NO_PERMISSION) << r->remark();
  expect_good_client_works();
}

TEST_F(AclProcessTest, NameServerChecksRegistrationsAndReads) {
  auto route_request = [] {
    auto req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
    protocol::GetRouteInfoRequestT ext;
    ext.topic = "orders";
    req.set_ext(std::move(ext));
    return req;
  };
  remoting::RemotingClient plain;
  expect_refused(plain.invoke(namesrv_addr_, route_request(), 10s),
                 "request GET_ROUTEINFO_BY_TOPIC is not signed");
  // The broker registered with the cluster credential: its topics are routed.
  auto route = good_->invoke(namesrv_addr_, route_request(), 10s);
  ASSERT_TRUE(route.is_ok());
  EXPECT_EQ(route->response_code(), ResponseCode::SUCCESS) << route->remark();
  auto reg = RemotingCommand::request(RequestCode::REGISTER_BROKER);
  protocol::RegisterBrokerRequestT ext;
  ext.cluster_name = "DefaultCluster";
  ext.broker_name = "forged";
  ext.broker_addr = "127.0.0.1:1";
  reg.set_ext(std::move(ext));
  expect_refused(ops_->invoke(namesrv_addr_, std::move(reg), 10s),
                 "request REGISTER_BROKER is for the cluster credential only, not account 'ops'");
  expect_good_client_works();
}

// Sends to `topic` with the good client until the gate refuses it (`refused`) or the send
// succeeds; each try waits for its response. Returns how long that took, or -1 past 10 s.
int64_t ms_until(const std::string& broker, remoting::RemotingClient& client,
                 const std::string& topic, bool refused) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + 10s;
  for (int tries = 0; tries < 100'000 && std::chrono::steady_clock::now() < deadline; ++tries) {
    auto r = client.invoke(broker, send_request(topic, 0, {"probe"}), 10s);
    if (!r.is_ok()) continue;
    const bool by_gate = r->response_code() == ResponseCode::NO_PERMISSION &&
                         r->remark().find("account 'app'") != std::string::npos;
    const bool sent = r->response_code() == ResponseCode::SUCCESS;
    if (refused ? by_gate : sent) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - start)
          .count();
    }
  }
  return -1;
}

TEST_F(AclProcessTest, RewrittenAccountsFileTakesEffectWhileClientsRun) {
  ASSERT_GE(ms_until(broker_, *good_, "flip", false), 0);  // the new topic is writable
  write_file(acl_file_, accounts_file("DENY", "PUB"));
  const int64_t refused_after = ms_until(broker_, *good_, "flip", true);
  const int64_t allowed_after = ms_until(broker_, *good_, "later", false);
  std::printf("reload: flip refused after %lld ms, later allowed after %lld ms\n",
              static_cast<long long>(refused_after), static_cast<long long>(allowed_after));
  EXPECT_GE(refused_after, 0);
  EXPECT_GE(allowed_after, 0);
  expect_refused(good_->invoke(broker_, send_request("flip", 0, {"x"}), 10s),
                 "account 'app' is denied topic 'flip'");
  expect_good_client_works();
  // And back (a bad file keeping the old accounts is acl_gate_test's).
  write_file(acl_file_, accounts_file("PUB", "DENY"));
  EXPECT_GE(ms_until(broker_, *good_, "flip", false), 0);
  expect_good_client_works();
}

TEST_F(AclProcessTest, RefusalsAreLoggedWithThePeerButNeverTheSecrets) {
  for (int i = 0; i < 20; ++i) {
    expect_refused(raw(remoting::encode_frame(unsigned_send("orders"))), "is not signed");
  }
  expect_good_client_works();
  const std::string log = read_file(dir_->path() + "/broker.log");
  EXPECT_NE(log.find("refused a request from 127.0.0.1:"), std::string::npos);
  size_t lines = 0;
  for (size_t at = log.find("refused a request from"); at != std::string::npos;
       at = log.find("refused a request from", at + 1)) {
    ++lines;
  }
  EXPECT_LT(lines, 40u) << "refusals are rate-limited to about one line a second";
  for (const char* secret : {"app-secret-1", "ops-secret-1", "lan-secret-1", "cluster-secret-1"}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
    EXPECT_EQ(read_file(dir_->path() + "/namesrv.log").find(secret), std::string::npos);
  }
}

// A SYNC_MASTER and its slave with aclEnable: the slave's HA stream and its metadata sync from
// the master's client port sign with the cluster credential and pass the master's gate (until
// the HA port has a cluster-only gate of its own, its codes are admin-only there), so a signed
// send is answered only once the slave holds it, and no cluster request is refused.
TEST(AclReplicationProcessTest, SyncMasterAndSlaveReplicateThroughTheGate) {
  TempDir dir;
  const std::string acl_file = dir.path() + "/plain_acl.yml";
  write_file(acl_file, accounts_file("PUB", "DENY"));
  const std::string cluster_file = dir.path() + "/cluster.yml";
  write_file(cluster_file, "accessKey: cluster-key\nsecretKey: cluster-secret-1\n");
  LocalCluster cluster(dir.path());
  ASSERT_TRUE(cluster.start_namesrv().is_ok());  // without aclEnable: it ignores signatures
  auto start = [&](const std::string& key, std::vector<std::string> extra) {
    const std::vector<std::string> acl = {"aclEnable=true",
                                          "aclFile=" + acl_file,
                                          "clusterCredentialFile=" + cluster_file,
                                          "slaveSyncIntervalMs=200",
                                          "haSendHeartbeatInterval=200",
                                          "syncFlushTimeout=3000"};
    extra.insert(extra.end(), acl.begin(), acl.end());
    return cluster.start_broker_as(key, "acl-ha", std::move(extra));
  };
  auto master = start("m", {"brokerRole=SYNC_MASTER"});
  ASSERT_TRUE(master.is_ok()) << master.status().to_string();
  auto slave = start("s", {"brokerRole=SLAVE", "brokerId=1"});
  ASSERT_TRUE(slave.is_ok()) << slave.status().to_string();
  auto streaming = cluster.broker("s")->wait_for_line("streaming from master", 30s, true);
  ASSERT_TRUE(streaming.is_ok()) << streaming.status().to_string();
  auto ops = signed_client(kOps);
  auto created = ops->invoke(*master, update_topic_request("orders", 1), 10s);
  ASSERT_TRUE(created.is_ok());
  ASSERT_EQ(created->response_code(), ResponseCode::SUCCESS) << created->remark();
  auto app = signed_client(kApp);
  auto sent = app->invoke(*master, send_request("orders", 0, {"replicated"}), 10s);
  ASSERT_TRUE(sent.is_ok()) << sent.status().to_string();
  EXPECT_EQ(sent->response_code(), ResponseCode::SUCCESS) << sent->remark();
  for (const char* log : {"/m.log", "/s.log"}) {
    const std::string text = read_file(dir.path() + log);
    EXPECT_EQ(text.find("refused a request"), std::string::npos) << log << ":\n" << text;
  }
  if (::testing::Test::HasFailure()) cluster.print_log_tails();
}

// A three-member DLedger group with aclEnable: Raft between the members signs with the cluster
// credential and passes each member's gate, so a signed send to the leader commits on a quorum.
TEST(AclReplicationProcessTest, DLedgerGroupCommitsThroughTheGate) {
  TempDir dir;
  const std::string acl_file = dir.path() + "/plain_acl.yml";
  write_file(acl_file, accounts_file("PUB", "DENY"));
  const std::string cluster_file = dir.path() + "/cluster.yml";
  write_file(cluster_file, "accessKey: cluster-key\nsecretKey: cluster-secret-1\n");
  LocalCluster cluster(dir.path());
  ASSERT_TRUE(cluster.start_namesrv().is_ok());
  const std::string peers = dledger_peers(3);
  ASSERT_FALSE(peers.empty());
  std::vector<std::string> addrs;
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> settings = dledger_member_settings("acl-dl", peers, i);
    settings.insert(settings.end(), {"aclEnable=true", "aclFile=" + acl_file,
                                     "clusterCredentialFile=" + cluster_file});
    auto addr = cluster.start_broker_as(dledger_member_id(i), "acl-dl", std::move(settings));
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    addrs.push_back(*addr);
  }
  const int leader = next_leader_announced(cluster.broker(dledger_member_id(0)), 30s);
  ASSERT_GE(leader, 0) << "no leader announced";
  auto ops = signed_client(kOps);
  auto created = ops->invoke(addrs[leader], update_topic_request("orders", 1), 10s);
  ASSERT_TRUE(created.is_ok());
  ASSERT_EQ(created->response_code(), ResponseCode::SUCCESS) << created->remark();
  auto app = signed_client(kApp);
  auto sent = app->invoke(addrs[leader], send_request("orders", 0, {"committed"}), 10s);
  ASSERT_TRUE(sent.is_ok()) << sent.status().to_string();
  EXPECT_EQ(sent->response_code(), ResponseCode::SUCCESS) << sent->remark();
  for (int i = 0; i < 3; ++i) {
    const std::string text = read_file(dir.path() + "/" + dledger_member_id(i) + ".log");
    EXPECT_EQ(text.find("refused a request"), std::string::npos) << i << ":\n" << text;
  }
  if (::testing::Test::HasFailure()) cluster.print_log_tails();
}

// A missing or bad accounts file fails the start of broker and name server, with the error.
TEST(AclStartupProcessTest, AMissingOrBadAccountsFileFailsTheStart) {
  TempDir dir;
  const std::string cluster_file = dir.path() + "/cluster.yml";
  write_file(cluster_file, "accessKey: cluster-key\nsecretKey: cluster-secret-1\n");
  const std::string bad_file = dir.path() + "/bad.yml";
  write_file(bad_file, "accounts:\n  - accessKey: app\n    secretKey: hidden\n    admin: maybe\n");
  const std::string missing = dir.path() + "/missing.yml";
  struct Case {
    std::string acl_file;
    std::string error;
  };
  for (const Case& c : {Case{missing, "acl file '" + missing + "'"},
                        Case{bad_file, "account 'app': admin is not true or false"}}) {
    const std::vector<std::string> acl = {"aclEnable=true", "aclFile=" + c.acl_file,
                                          "clusterCredentialFile=" + cluster_file};
    std::vector<std::string> broker = {COMET_BROKER_BIN, "listenPort=0", "bindAddress=127.0.0.1",
                                       "storePathRootDir=" + dir.path() + "/store"};
    broker.insert(broker.end(), acl.begin(), acl.end());
    std::vector<std::string> namesrv = {COMET_NAMESRV_BIN, "listenPort=0", "bindAddress=127.0.0.1"};
    namesrv.insert(namesrv.end(), acl.begin(), acl.end());
    for (const auto& argv : {broker, namesrv}) {
      const RunResult r = run_process(argv, {}, 20s);
      EXPECT_NE(r.exit_code, 0) << argv[0];
      EXPECT_NE(r.err.find(c.error), std::string::npos) << argv[0] << ": " << r.err;
      EXPECT_EQ(r.err.find("hidden"), std::string::npos) << r.err;
      EXPECT_EQ(r.out.find("ready on"), std::string::npos) << r.out;
    }
  }
}

}  // namespace
}  // namespace comet::testing
