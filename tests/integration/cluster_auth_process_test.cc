// Only the cluster's own members register brokers, replicate and join a Raft group: real
// comet-namesrv and comet-broker processes with aclEnable, whose cluster links are signed with
// the cluster credential (clusterCredentialFile). Strangers try what a member does, unsigned,
// signed by an ordinary and an admin account, and signed with the cluster's access key but a
// wrong secret: a broker registering with the name server (it never appears in a route), a slave
// handshaking with a master's HA port (with a fencing epoch), and a Raft peer sending vote
// requests with a huge term and TimeoutNow. Each is answered NO_PERMISSION and logged, and the
// real members keep working: the SYNC_MASTER pair stays in sync and fails over to its promoted
// slave, the DLedger group keeps its leader and term, commits writes and elects a new leader
// when its leader dies.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dledger/raft_codec.h"
#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "integration/rocketmq_wire_client.h"
#include "remoting/request_signature.h"
#include "remoting/rocketmq_acl.h"

namespace comet::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kClusterKey = "comet-cluster";
constexpr const char* kClusterSecret = "cluster-secret-0123";
constexpr const char* kAdminKey = "ops";
constexpr const char* kAdminSecret = "ops-secret-0123";
constexpr const char* kAppKey = "app";
constexpr const char* kAppSecret = "app-secret-0123";
constexpr const char* kTopic = "AuthTopic";
constexpr int kQueues = 2;
// What a gate logs for a refusal (rate-limited: at least one line per burst).
constexpr const char* kRefusalLine = "refused a request from";

// A stranger: who it claims to be (empty access key: it does not sign).
struct Stranger {
  const char* what;
  const char* access_key;
  const char* secret_key;
};
constexpr Stranger kStrangers[] = {
    {"unsigned", "", ""},
    {"an ordinary account", kAppKey, kAppSecret},
    {"an admin account", kAdminKey, kAdminSecret},
    {"the cluster's access key with a wrong secret", kClusterKey, "not-the-cluster-secret"},
};

std::unique_ptr<remoting::RemotingClient> client_as(const std::string& access_key,
                                                    const std::string& secret_key) {
  remoting::ClientOptions options;
  if (!access_key.empty()) {
    options.connection.signer =
        std::make_shared<remoting::RequestSigner>(remoting::Credentials{access_key, secret_key});
  }
  return std::make_unique<remoting::RemotingClient>(options);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

class ClusterAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write(dir_.path() + "/cluster.yml",
          std::string("accessKey: ") + kClusterKey + "\nsecretKey: " + kClusterSecret + "\n");
    write(dir_.path() + "/plain_acl.yml",
          std::string("accounts:\n") + "  - accessKey: " + kAdminKey +
              "\n    secretKey: " + kAdminSecret +
              "\n    admin: true\n    defaultTopicPerm: PUB|SUB\n"
              "    defaultGroupPerm: PUB|SUB\n" +
              "  - accessKey: " + kAppKey + "\n    secretKey: " + kAppSecret +
              "\n    admin: false\n    defaultTopicPerm: PUB|SUB\n    defaultGroupPerm: SUB\n");
    auto ns = ChildProcess::spawn({COMET_NAMESRV_BIN, "listenPort=0", "bindAddress=127.0.0.1",
                                   "aclEnable=true", "aclFile=" + dir_.path() + "/plain_acl.yml",
                                   "clusterCredentialFile=" + dir_.path() + "/cluster.yml"},
                                  dir_.path() + "/namesrv.log");
    ASSERT_TRUE(ns.is_ok()) << ns.status().to_string();
    namesrv_ = std::move(*ns);
    auto line = namesrv_->wait_for_line("ready on", 20s);
    ASSERT_TRUE(line.is_ok()) << line.status().to_string() << "\n" << read_file(namesrv_log());
    namesrv_addr_ = ChildProcess::address_in(*line);
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    admin_ = client_as(kAdminKey, kAdminSecret);
  }
  void TearDown() override {
    if (!HasFailure()) return;
    if (cluster_) cluster_->print_log_tails();
    std::printf("---- name server log:\n%s\n", read_file(namesrv_log()).c_str());
  }

  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  std::string namesrv_log() const { return dir_.path() + "/namesrv.log"; }
  std::string broker_log(const std::string& key) const { return dir_.path() + "/" + key + ".log"; }

  // The settings of a cluster member: access control on, signing with the cluster credential.
  std::vector<std::string> member_settings(std::vector<std::string> extra) const {
    std::vector<std::string> s = {"namesrvAddr=" + namesrv_addr_, "aclEnable=true",
                                  "aclFile=" + dir_.path() + "/plain_acl.yml",
                                  "clusterCredentialFile=" + dir_.path() + "/cluster.yml"};
    s.insert(s.end(), extra.begin(), extra.end());
    return s;
  }

  std::string start_member(const std::string& key, const std::string& broker_name,
                           std::vector<std::string> extra) {
    auto addr = cluster_->start_broker_as(key, broker_name, member_settings(std::move(extra)));
    EXPECT_TRUE(addr.is_ok()) << addr.status().to_string();
    return addr.is_ok() ? *addr : "";
  }

  // A master takes writes once the name server accepted its signed registration.
  bool await_confirmed_master(const std::string& key) {
    return cluster_->broker(key)->wait_for_line("confirmed master of epoch", 30s, true).is_ok();
  }

  void create_topic(const std::string& broker) {
    auto r = admin_->invoke(broker, update_topic_request(kTopic, kQueues), 10s);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  // `count` messages sent to `broker` as the admin account: true when every send succeeded.
  bool send_ok(const std::string& broker, int count, const std::string& tag) {
    for (int i = 0; i < count; ++i) {
      auto r =
          admin_->invoke(broker, send_request(kTopic, i % kQueues, {tag + std::to_string(i)}), 10s);
      if (!r.is_ok()) {
        ADD_FAILURE() << "send to " << broker << ": " << r.status().to_string();
        return false;
      }
      if (r->response_code() != ResponseCode::SUCCESS) {
        ADD_FAILURE() << "send to " << broker << " answered "
                      << remoting::response_code_name(r->code()) << ": " << r->remark();
        return false;
      }
    }
    return true;
  }

  std::map<std::string, std::string> runtime_info(const std::string& broker) {
    std::map<std::string, std::string> out;
    auto r =
        admin_->invoke(broker, RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO), 10s);
    const auto* info = r.is_ok() ? r->ext<protocol::RuntimeInfoT>() : nullptr;
    if (info == nullptr) return out;
    for (const auto& kv : info->entries)
      out[kv->key] = kv->value;
    return out;
  }

  // The route of kTopic as the name server answers it (empty when it has none yet).
  protocol::TopicRouteDataT route() {
    auto get = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
    protocol::GetRouteInfoRequestT q;
    q.topic = kTopic;
    get.set_ext(std::move(q));
    auto r = admin_->invoke(namesrv_addr_, std::move(get), 5s);
    if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) return {};
    const auto* data = r->ext<protocol::TopicRouteDataT>();
    return data == nullptr ? protocol::TopicRouteDataT{} : *data;
  }

  // Waits (within 10 s: the broker registers the topic with its next heartbeat, every 300 ms)
  // for kTopic's route to name `broker_name`.
  bool await_route_to(const std::string& broker_name) {
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      for (const auto& b : route().broker_datas) {
        if (b->broker_name == broker_name) return true;
      }
      std::unique_lock lock(wait_mu_);
      wait_cv_.wait_for(lock, 100ms);  // never notified: a bounded pause between two reads
    }
    return false;
  }

  // Every refusal `stranger` gets answers NO_PERMISSION (nothing else, and not a timeout).
  static void expect_refused(const Result<RemotingCommand>& r, const Stranger& stranger,
                             const std::string& what) {
    ASSERT_TRUE(r.is_ok()) << what << " from " << stranger.what << ": " << r.status().to_string();
    EXPECT_EQ(r->response_code(), ResponseCode::NO_PERMISSION)
        << what << " from " << stranger.what << " answered "
        << remoting::response_code_name(r->code()) << ": " << r->remark();
  }

  // The leader `seen` that member `seen_on` announced, once the leader announced itself for that
  // term: a follower may announce a leader before the leader's own role change ran, and only
  // then does it take writes. member -1 when it does not within 20 s.
  Leadership leader_itself(const Leadership& seen, int seen_on) {
    if (seen.member < 0 || seen.member == seen_on) return seen;
    Leadership own;
    for (int round = 0; round < 10 && own.term < seen.term; ++round) {
      own = next_leadership_announced(cluster_->broker(dledger_member_id(seen.member)), 20s);
      if (own.member < 0) break;
    }
    return own.member == seen.member && own.term == seen.term ? own : Leadership{};
  }

  TempDir dir_;
  std::unique_ptr<ChildProcess> namesrv_;
  std::string namesrv_addr_;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<remoting::RemotingClient> admin_;
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
};

// ---- the name server --------------------------------------------------------------------------

protocol::RegisterBrokerRequestT fake_registration(const std::string& broker_name) {
  protocol::RegisterBrokerRequestT r;
  r.cluster_name = "DefaultCluster";
  r.broker_name = broker_name;
  r.broker_id = 0;
  r.broker_addr = "127.0.0.1:1";
  r.ha_server_addr = "127.0.0.1:2";
  r.epoch = int64_t{1} << 40;  // outranks every real master of the group
  r.heartbeat_timeout_millis = 120000;
  auto tc = std::make_unique<protocol::TopicConfigT>();
  tc->topic_name = kTopic;
  tc->read_queue_nums = 8;
  tc->write_queue_nums = 8;
  tc->perm = 6;
  r.topic_configs.push_back(std::move(tc));
  return r;
}

TEST_F(ClusterAuthTest, OnlyClusterMembersRegisterWithTheNameServer) {
  const std::string broker = start_member("b", "auth-b", {});
  ASSERT_FALSE(broker.empty());
  ASSERT_TRUE(await_confirmed_master("b")) << "the name server refused the real broker";
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  ASSERT_TRUE(await_route_to("auth-b")) << "the real broker never appeared in the route";
  EXPECT_EQ(count_of(read_file(namesrv_log()), kRefusalLine), 0u)
      << "the name server refused a member's signed request";

  for (const Stranger& s : kStrangers) {
    auto client = client_as(s.access_key, s.secret_key);
    // One posing as the real broker's group (with a fencing epoch), one as a new group.
    for (const std::string name : {"auth-b", "fake-b"}) {
      auto reg = RemotingCommand::request(RequestCode::REGISTER_BROKER);
      reg.set_ext(fake_registration(name));
      expect_refused(client->invoke(namesrv_addr_, std::move(reg), 5s), s,
                     "REGISTER_BROKER of " + name);
    }
    // A heartbeat naming the real broker would keep it routed after it died.
    auto hb = RemotingCommand::request(RequestCode::BROKER_HEARTBEAT);
    protocol::BrokerHeartbeatRequestT h;
    h.cluster_name = "DefaultCluster";
    h.broker_name = "auth-b";
    h.broker_addr = broker;
    h.data_version = std::make_unique<protocol::DataVersionT>();
    hb.set_ext(std::move(h));
    expect_refused(client->invoke(namesrv_addr_, std::move(hb), 5s), s, "BROKER_HEARTBEAT");
    auto unreg = RemotingCommand::request(RequestCode::UNREGISTER_BROKER);
    protocol::UnregisterBrokerRequestT u;
    u.cluster_name = "DefaultCluster";
    u.broker_name = "auth-b";
    u.broker_id = 0;
    u.broker_addr = broker;
    unreg.set_ext(std::move(u));
    expect_refused(client->invoke(namesrv_addr_, std::move(unreg), 5s), s, "UNREGISTER_BROKER");
  }

  // The route names the real broker only, at its own address.
  const auto r = route();
  ASSERT_EQ(r.broker_datas.size(), 1u);
  EXPECT_EQ(r.broker_datas[0]->broker_name, "auth-b");
  ASSERT_EQ(r.broker_datas[0]->broker_addrs.size(), 1u);
  EXPECT_EQ(r.broker_datas[0]->broker_addrs[0]->addr, broker);
  ASSERT_EQ(r.queue_datas.size(), 1u);
  EXPECT_EQ(r.queue_datas[0]->read_queue_nums, kQueues);
  // The broker still registers (its next heartbeats are answered) and takes sends.
  EXPECT_TRUE(send_ok(broker, 4, "after-fake-registrations-"));
  EXPECT_GE(count_of(read_file(namesrv_log()), kRefusalLine), 1u)
      << "no refusal logged by the name server";
}

// ---- the HA port ------------------------------------------------------------------------------

TEST_F(ClusterAuthTest, HaPortAdmitsOnlyTheClusterAndTheRealSlaveKeepsInSync) {
  const uint16_t ha_port = free_loopback_port();
  ASSERT_NE(ha_port, 0);
  const std::string master = start_member(
      "m", "ha-a",
      {"brokerRole=SYNC_MASTER", "haListenPort=" + std::to_string(ha_port),
       "haSendHeartbeatInterval=200", "slaveSyncIntervalMs=200", "syncFlushTimeout=3000"});
  ASSERT_FALSE(master.empty());
  const std::string slave = start_member(
      "s", "ha-a",
      {"brokerRole=SLAVE", "brokerId=1", "haSendHeartbeatInterval=200", "slaveSyncIntervalMs=200"});
  ASSERT_FALSE(slave.empty());
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s, true).is_ok())
      << "the real slave never streamed under aclEnable";
  ASSERT_TRUE(cluster_->broker("m")->wait_for_line("in sync from offset", 30s).is_ok())
      << "the master never counted its slave in sync";
  ASSERT_TRUE(await_confirmed_master("m")) << "the name server refused the real master";
  ASSERT_NO_FATAL_FAILURE(create_topic(master));
  ASSERT_TRUE(send_ok(master, 4, "before-"));  // SYNC_MASTER: each waits for the slave
  const std::string epoch = runtime_info(master)["epoch"];
  // The slave's HA stream and its metadata pulls from the master's client port are signed with
  // the cluster credential: nothing of theirs was refused.
  EXPECT_EQ(count_of(read_file(broker_log("m")), kRefusalLine), 0u)
      << "the master refused its own slave";

  const std::string ha_addr = "127.0.0.1:" + std::to_string(ha_port);
  for (const Stranger& s : kStrangers) {
    auto client = client_as(s.access_key, s.secret_key);
    auto hello = RemotingCommand::request(RequestCode::HA_HANDSHAKE);
    protocol::HaHandshakeRequestT h;
    h.cluster_name = "DefaultCluster";
    h.broker_name = "ha-a";
    h.broker_id = 9;
    h.broker_addr = "127.0.0.1:3";
    h.max_epoch = int64_t{1} << 40;  // would fence the master, were it believed
    h.mapped_file_size = 67108864;
    hello.set_ext(std::move(h));
    expect_refused(client->invoke(ha_addr, std::move(hello), 5s), s, "HA_HANDSHAKE");
  }

  // The master is still the group's master in its epoch, and its slave still acknowledges.
  auto info = runtime_info(master);
  EXPECT_EQ(info["brokerRole"], "SYNC_MASTER");
  EXPECT_EQ(info["epoch"], epoch);
  EXPECT_TRUE(send_ok(master, 8, "after-"));
  EXPECT_GE(count_of(read_file(broker_log("m")), kRefusalLine), 1u)
      << "no refusal logged by the master";

  // Failover: the master dies, the slave is promoted (an admin request on its client port) and
  // takes writes.
  cluster_->broker("m")->signal(SIGKILL);
  ASSERT_TRUE(cluster_->broker("m")->wait_exit(10s));
  auto promoted = admin_->invoke(slave, promote_slave_request(0, "ASYNC_MASTER"), 10s);
  ASSERT_TRUE(promoted.is_ok()) << promoted.status().to_string();
  ASSERT_EQ(promoted->response_code(), ResponseCode::SUCCESS) << promoted->remark();
  // It takes writes once the name server (cluster-only registration) confirmed its new epoch.
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("confirmed master of epoch", 30s).is_ok())
      << "the name server never confirmed the promoted slave";
  EXPECT_TRUE(send_ok(slave, 4, "promoted-"));
}

// ---- the Raft port ----------------------------------------------------------------------------

constexpr int kMembers = 3;

// A Raft message as a peer sends it, but two-way so that the refusal comes back (a peer's are
// oneway: the server drops a refused oneway request without a word).
RemotingCommand raft_frame(dledger::NodeId from, dledger::NodeId to, dledger::Payload payload) {
  dledger::Message m;
  m.from = from;
  m.to = to;
  m.payload = std::move(payload);
  RemotingCommand cmd = dledger::encode_raft_message("dl-auth", std::move(m));
  cmd.header.flags &= ~remoting::kFlagOneway;
  return cmd;
}

TEST_F(ClusterAuthTest, RaftPortAdmitsOnlyTheClusterAndTheGroupKeepsItsLeader) {
  const std::string peers = dledger_peers(kMembers);
  ASSERT_FALSE(peers.empty()) << "no free port";
  std::vector<std::string> raft_addrs;
  std::string addrs[kMembers];
  for (int i = 0; i < kMembers; ++i) {
    std::vector<std::string> settings = dledger_member_settings("dl-auth", peers, i);
    settings.push_back("slaveSyncIntervalMs=200");
    addrs[i] = start_member(dledger_member_id(i), "dl-auth", std::move(settings));
    ASSERT_FALSE(addrs[i].empty());
  }
  // "n<i>-127.0.0.1:<port>;..." -> the Raft address of member i.
  for (size_t at = 0; at < peers.size();) {
    const size_t end = std::min(peers.find(';', at), peers.size());
    const std::string entry = peers.substr(at, end - at);
    raft_addrs.push_back(entry.substr(entry.find('-') + 1));
    at = end + 1;
  }
  ASSERT_EQ(raft_addrs.size(), static_cast<size_t>(kMembers));

  const Leadership first =
      leader_itself(next_leadership_announced(cluster_->broker(dledger_member_id(0))), 0);
  ASSERT_GE(first.member, 0) << "no leader elected under aclEnable";
  const std::string leader = addrs[first.member];
  ASSERT_NO_FATAL_FAILURE(create_topic(leader));
  ASSERT_TRUE(send_ok(leader, 4, "before-"));
  const std::string term = runtime_info(leader)["epoch"];
  ASSERT_FALSE(term.empty());
  for (int i = 0; i < kMembers; ++i) {
    EXPECT_EQ(count_of(read_file(broker_log(dledger_member_id(i))), kRefusalLine), 0u)
        << "n" << i << " refused a member's signed request";
  }

  constexpr int64_t kHugeTerm = int64_t{1} << 40;
  for (const Stranger& s : kStrangers) {
    auto client = client_as(s.access_key, s.secret_key);
    for (int to = 0; to < kMembers; ++to) {
      const dledger::NodeId from = (to + 1) % kMembers;
      dledger::VoteRequest vote;
      vote.term = kHugeTerm;
      vote.last_index = kHugeTerm;
      vote.last_term = kHugeTerm;
      vote.transfer = true;  // ignores the leader lease, were it believed
      expect_refused(client->invoke(raft_addrs[to], raft_frame(from, to, vote), 5s), s,
                     "vote request to n" + std::to_string(to));
      dledger::TimeoutNow now;
      now.term = kHugeTerm;
      expect_refused(client->invoke(raft_addrs[to], raft_frame(from, to, now), 5s), s,
                     "TimeoutNow to n" + std::to_string(to));
    }
  }

  // Same leader, same term, and writes commit (a quorum acknowledges each).
  auto info = runtime_info(leader);
  EXPECT_EQ(info["brokerRole"], "ASYNC_MASTER");
  EXPECT_EQ(info["epoch"], term);
  EXPECT_TRUE(send_ok(leader, 8, "after-"));
  for (int i = 0; i < kMembers; ++i) {
    EXPECT_GE(count_of(read_file(broker_log(dledger_member_id(i))), kRefusalLine), 1u)
        << "no refusal logged by n" << i;
  }

  // Failover: the leader dies and the other two elect one of themselves, which takes writes.
  const int watcher = (first.member + 1) % kMembers;
  cluster_->broker(dledger_member_id(first.member))->signal(SIGKILL);
  ASSERT_TRUE(cluster_->broker(dledger_member_id(first.member))->wait_exit(10s));
  // The watcher's stdout may still hold older announcements: the new leader is the first in a
  // later term.
  Leadership next;
  for (int round = 0; round < 10 && next.term <= first.term; ++round) {
    next = next_leadership_announced(cluster_->broker(dledger_member_id(watcher)), 20s);
    if (next.member < 0) break;
  }
  ASSERT_GE(next.member, 0) << "no new leader after the leader died";
  ASSERT_NE(next.member, first.member);
  ASSERT_GE(leader_itself(next, watcher).member, 0) << "the new leader never announced itself";
  EXPECT_TRUE(send_ok(addrs[next.member], 4, "new-leader-"));
}

// ---- RocketMQ frames with ACL 1.0 -------------------------------------------------------------

using remoting::rocketmq::Command;
using remoting::rocketmq::SerializeType;

// A SEND_MESSAGE_V2 as a RocketMQ 4.x client writes it, signed as ACL 1.0 when `access_key` is
// given (the signature recomputed here is checked against golden values in rocketmq_acl_test).
Command rocketmq_send(SerializeType type, const std::string& access_key,
                      const std::string& secret_key, const std::string& body) {
  Command c;
  c.code = 310;
  c.version = 373;
  c.serialize_type = type;
  c.ext.set("a", "RmqAclPG");
  c.ext.set("b", kTopic);
  c.ext.set("c", "TBW102");
  c.ext.set("d", "4");
  c.ext.set("e", "0");
  c.ext.set("f", "0");
  c.ext.set("g", "1700000000000");
  c.ext.set("h", "0");
  c.ext.set("i", "");
  c.ext.set("j", "0");
  c.ext.set("k", "false");
  c.body = body;
  if (!access_key.empty()) {
    c.ext.set("AccessKey", access_key);
    c.ext.set("Signature", remoting::rocketmq_acl1_signature(
                               secret_key, remoting::rocketmq::acl1_signed_content(c)));
  }
  return c;
}

Command rocketmq_route(SerializeType type, const std::string& access_key,
                       const std::string& secret_key) {
  Command c;
  c.code = 105;
  c.version = 373;
  c.serialize_type = type;
  c.ext.set("topic", kTopic);
  if (!access_key.empty()) {
    c.ext.set("AccessKey", access_key);
    c.ext.set("Signature", remoting::rocketmq_acl1_signature(
                               secret_key, remoting::rocketmq::acl1_signed_content(c)));
  }
  return c;
}

TEST_F(ClusterAuthTest, RocketmqFramesSignedWithAcl1AreCheckedInBothEncodings) {
  const std::string broker = start_member("b", "auth-b", {});
  ASSERT_FALSE(broker.empty());
  ASSERT_TRUE(await_confirmed_master("b")) << "the name server refused the real broker";
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  ASSERT_TRUE(await_route_to("auth-b"));

  for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketmq}) {
    const char* encoding = type == SerializeType::kJson ? "JSON" : "ROCKETMQ";
    RocketmqWireClient ns;
    ASSERT_TRUE(ns.connect(namesrv_addr_).is_ok());
    RocketmqWireClient b;
    ASSERT_TRUE(b.connect(broker).is_ok());
    struct Case {
      const char* what;
      const char* access_key;
      const char* secret_key;
      int32_t expected;
    };
    const Case cases[] = {
        {"signed", kAppKey, kAppSecret, 0},
        {"unsigned", "", "", 16},
        {"signed with a wrong secret", kAppKey, "not-the-app-secret", 16},
        {"an unknown access key", "nobody", "nobody-secret", 16},
    };
    for (const Case& c : cases) {
      auto route = ns.call(rocketmq_route(type, c.access_key, c.secret_key));
      ASSERT_TRUE(route.is_ok()) << route.status().to_string();
      EXPECT_EQ(route->code, c.expected)
          << encoding << " route " << c.what << ": " << route->remark.value_or("");
      auto sent =
          b.call(rocketmq_send(type, c.access_key, c.secret_key, std::string("body ") + c.what));
      ASSERT_TRUE(sent.is_ok()) << sent.status().to_string();
      EXPECT_EQ(sent->code, c.expected)
          << encoding << " send " << c.what << ": " << sent->remark.value_or("");
    }
    // A signed request whose body was changed after signing.
    Command tampered = rocketmq_send(type, kAppKey, kAppSecret, "original");
    tampered.body = "changed";
    auto sent = b.call(tampered);
    ASSERT_TRUE(sent.is_ok()) << sent.status().to_string();
    EXPECT_EQ(sent->code, 16) << encoding << " tampered send: " << sent->remark.value_or("");
  }
}

}  // namespace
}  // namespace comet::testing
