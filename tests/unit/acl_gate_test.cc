// Access decisions (remoting/access_validator.h), table-driven over real signed frames, and the
// gate (remoting/acl_gate.h): the replay guard behind it, the reload of its accounts file, the
// cluster-only gate.
#include "remoting/acl_gate.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "remoting/request_signature.h"

namespace comet::remoting {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kWindowMs = 300'000;

constexpr const char* kAccounts = R"(
globalWhiteRemoteAddresses: [10.9.9.*]
accounts:
  - accessKey: app
    secretKey: app-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms: [orders=PUB|SUB, audit=SUB, vault=DENY]
    groupPerms: [g1=SUB]
  - accessKey: ops
    secretKey: ops-secret
    admin: true
  - accessKey: lan
    secretKey: lan-secret
    whiteRemoteAddress: 127.0.0.2
    defaultTopicPerm: PUB
)";

const Credentials kCluster{"cluster", "cluster-secret"};

PlainAclConfig accounts() {
  auto c = parse_plain_acl(kAccounts, "test.yml");
  EXPECT_TRUE(c.is_ok()) << c.status().to_string();
  return std::move(c).value();
}

AclSnapshot snapshot() {
  return AclSnapshot::make(accounts(), kCluster, kWindowMs, "broker").value();
}

// A request as the server's reader hands it over: signed by `creds` at `ts` (none: unsigned).
RemotingCommand signed_request(RequestCode code, const std::optional<Credentials>& creds,
                               int64_t ts = kNow, RequestSigner* signer = nullptr) {
  RemotingCommand cmd = RemotingCommand::request(code);
  cmd.body.owned = "payload";
  std::string frame;
  if (creds || signer) {
    RequestSigner own(creds.value_or(Credentials{}));
    frame = (signer ? *signer : own).encode_signed_head(cmd, ts) + cmd.body.to_string();
  } else {
    frame = encode_frame(cmd);
  }
  auto decoded = decode_frame(frame, kDefaultMaxFrameBytes);
  EXPECT_TRUE(decoded.is_ok());
  return std::move(decoded).value();
}

RequestAuth rocketmq_auth(const std::string& ak, const std::string& secret) {
  RequestAuth a;
  a.scheme = RequestAuth::Scheme::kRocketmqAcl1;
  a.access_key = ak;
  a.content = "orders1";
  a.signature = rocketmq_acl1_signature(secret, a.content);
  return a;
}

struct Case {
  const char* name;
  const char* peer;
  std::optional<Credentials> signer;
  int64_t ts;
  RequiredAccess required;
  const char* refusal;  // null: admitted; else a part of the remark
  bool replay_checked = false;
};

TEST(AccessValidator, DecisionsInRocketmqOrder) {
  const AclSnapshot snap = snapshot();
  const Credentials app{"app", "app-secret"};
  const Credentials ops{"ops", "ops-secret"};
  const Credentials lan_wrong{"lan", "not-lan-secret"};
  auto sub_group = [](const char* g) { return RequiredAccess::any_account().group(g, perm::kSub); };
  auto topic = [](const char* t, uint8_t p) { return RequiredAccess::any_account().topic(t, p); };
  const std::vector<Case> cases = {
      {"unsigned", "127.0.0.1", std::nullopt, kNow, topic("orders", perm::kPub),
       "request SEND_MESSAGE is not signed"},
      {"unsigned from the global whitelist", "10.9.9.4", std::nullopt, kNow,
       RequiredAccess::admin(), nullptr},
      {"cluster-only never by the global whitelist", "10.9.9.4", std::nullopt, kNow,
       RequiredAccess::cluster_only(), "is not signed"},
      {"unknown key", "127.0.0.1", Credentials{"who", "whatever"}, kNow,
       topic("orders", perm::kPub), "unknown access key 'who' (SEND_MESSAGE)"},
      {"wrong secret", "127.0.0.1", Credentials{"app", "guessed"}, kNow,
       topic("orders", perm::kPub), "signature does not match for account 'app' (SEND_MESSAGE)"},
      {"too old", "127.0.0.1", app, kNow - kWindowMs - 1, topic("orders", perm::kPub),
       "signature expired: timestamp 1699999699999 is 300001 ms from the broker's clock (window "
       "300000 ms)"},
      {"too new", "127.0.0.1", app, kNow + kWindowMs + 5, topic("orders", perm::kPub),
       "is 300005 ms from the broker's clock"},
      // Any int64 a client sends: the distance to ours must not overflow.
      {"the oldest timestamp there is", "127.0.0.1", app, std::numeric_limits<int64_t>::min(),
       topic("orders", perm::kPub), "is 9223373736854775808 ms from the broker's clock"},
      {"the newest timestamp there is", "127.0.0.1", app, std::numeric_limits<int64_t>::max(),
       topic("orders", perm::kPub), "is 9223370336854775807 ms from the broker's clock"},
      {"at the window's edge", "127.0.0.1", app, kNow - kWindowMs, topic("orders", perm::kPub),
       nullptr, true},
      {"permitted send", "127.0.0.1", app, kNow, topic("orders", perm::kPub), nullptr, true},
      {"SUB only", "127.0.0.1", app, kNow, topic("audit", perm::kPub),
       "account 'app' lacks PUB on topic 'audit' (SEND_MESSAGE)"},
      {"DENY topic", "127.0.0.1", app, kNow, topic("vault", perm::kSub),
       "account 'app' is denied topic 'vault' (SEND_MESSAGE)"},
      {"default DENY", "127.0.0.1", app, kNow, topic("other", perm::kPub),
       "account 'app' is denied topic 'other'"},
      {"group SUB", "127.0.0.1", app, kNow, sub_group("g1"), nullptr, true},
      {"group without SUB", "127.0.0.1", app, kNow, sub_group("g2"),
       "account 'app' is denied group 'g2' (SEND_MESSAGE)"},
      {"retry topic checked as its group", "127.0.0.1", app, kNow, topic("%RETRY%g1", perm::kSub),
       nullptr, true},
      {"retry topic of another group", "127.0.0.1", app, kNow, topic("%RETRY%g2", perm::kSub),
       "group 'g2'"},
      {"admin-only by a non-admin", "127.0.0.1", app, kNow, RequiredAccess::admin(),
       "account 'app' lacks admin for SEND_MESSAGE"},
      {"admin-only by an admin", "127.0.0.1", ops, kNow, RequiredAccess::admin(), nullptr, true},
      {"an admin without permissions may use every resource", "127.0.0.1", ops, kNow,
       topic("orders", perm::kPub), nullptr, true},
      {"cluster-only by an account", "127.0.0.1", ops, kNow, RequiredAccess::cluster_only(),
       "request SEND_MESSAGE is for the cluster credential only, not account 'ops'"},
      {"cluster-only by the cluster", "127.0.0.1", kCluster, kNow, RequiredAccess::cluster_only(),
       nullptr, true},
      {"the cluster may do everything", "127.0.0.1", kCluster, kNow, RequiredAccess::admin(),
       nullptr, true},
      {"the cluster's signature is checked", "127.0.0.1", Credentials{"cluster", "nope"}, kNow,
       RequiredAccess::cluster_only(), "signature does not match for account 'cluster'"},
      {"account whitelist stands for the signature", "127.0.0.2", lan_wrong, kNow,
       topic("t", perm::kPub), nullptr, false},
      {"outside the account whitelist the signature counts", "127.0.0.1", lan_wrong, kNow,
       topic("t", perm::kPub), "signature does not match for account 'lan'"},
      {"the account whitelist still checks permissions", "127.0.0.2", lan_wrong, kNow,
       topic("t", perm::kSub), "account 'lan' lacks SUB on topic 't'"},
      {"the account whitelist is not for cluster-only", "127.0.0.2", lan_wrong, kNow,
       RequiredAccess::cluster_only(), "signature does not match"},
  };
  for (const Case& c : cases) {
    const RemotingCommand cmd = signed_request(RequestCode::SEND_MESSAGE, c.signer, c.ts);
    const AccessDecision d =
        decide_access(snap, {c.peer, cmd.auth.get(), cmd.code(), kNow}, c.required);
    if (c.refusal == nullptr) {
      EXPECT_TRUE(d.status.is_ok()) << c.name << ": " << d.status.to_string();
      EXPECT_EQ(d.check_replay, c.replay_checked) << c.name;
    } else {
      EXPECT_EQ(d.status.code(), Code::kPermissionDenied) << c.name;
      EXPECT_NE(d.status.message().find(c.refusal), std::string::npos)
          << c.name << ": " << d.status.message();
      EXPECT_EQ(d.status.message().find("secret"), std::string::npos) << d.status.message();
    }
  }
}

TEST(AccessValidator, RocketmqSignaturesAreCheckedWithoutReplayProtection) {
  const AclSnapshot snap = snapshot();
  const auto required = RequiredAccess::any_account().topic("orders", perm::kPub);
  const RequestAuth good = rocketmq_auth("app", "app-secret");
  AccessDecision d = decide_access(snap, {"127.0.0.1", &good, 10, kNow}, required);
  EXPECT_TRUE(d.status.is_ok()) << d.status.to_string();
  EXPECT_FALSE(d.check_replay);
  const RequestAuth bad = rocketmq_auth("app", "app-secreT");
  d = decide_access(snap, {"127.0.0.1", &bad, 10, kNow}, required);
  EXPECT_NE(d.status.message().find("signature does not match for account 'app'"),
            std::string::npos);
}

TEST(AccessValidator, AnAccountMayNotUseTheClusterKey) {
  PlainAclConfig c = accounts();
  auto s = AclSnapshot::make(c, Credentials{"app", "x"}, kWindowMs, "broker");
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("'app' uses the cluster credential's access key"),
            std::string::npos);
}

AclGateOptions gate_options(std::string file = {}) {
  AclGateOptions o;
  o.acl_file = std::move(file);
  o.signature_window_ms = kWindowMs;
  o.cluster = kCluster;
  return o;
}

RequiredAccess send_table(const RemotingCommand& cmd) {
  if (cmd.code() == static_cast<int32_t>(RequestCode::SEND_MESSAGE)) {
    return RequiredAccess::any_account().topic("orders", perm::kPub);
  }
  return RequiredAccess::admin();
}

TEST(AclGate, ARepeatedFrameIsRefusedAsAReplay) {
  auto gate = AclGate::with_config(accounts(), gate_options(), send_table).value();
  RequestSigner signer({"app", "app-secret"});
  const RemotingCommand first =
      signed_request(RequestCode::SEND_MESSAGE, std::nullopt, kNow, &signer);
  const RemotingCommand second =
      signed_request(RequestCode::SEND_MESSAGE, std::nullopt, kNow, &signer);
  EXPECT_TRUE(gate->admit_from("127.0.0.1:5000", second, kNow).is_ok());
  EXPECT_TRUE(gate->admit_from("127.0.0.1:5000", first, kNow).is_ok());  // a little reordering
  const Status replayed = gate->admit_from("127.0.0.1:6000", first, kNow + 10);
  EXPECT_EQ(replayed.code(), Code::kPermissionDenied);
  EXPECT_EQ(replayed.message(), "nonce replayed for account 'app' (SEND_MESSAGE)");
  EXPECT_EQ(gate->refused(), 1u);
  const Status admin = gate->admit_from(
      "127.0.0.1:5000",
      signed_request(RequestCode::DELETE_TOPIC_IN_BROKER, std::nullopt, kNow, &signer), kNow);
  EXPECT_EQ(admin.message(), "account 'app' lacks admin for DELETE_TOPIC_IN_BROKER");
}

TEST(AclGate, ClusterOnlyGateAdmitsTheClusterCredentialAlone) {
  auto gate = AclGate::cluster_only(kCluster, kWindowMs, "broker");
  EXPECT_TRUE(
      gate->admit_from("10.9.9.4:1", signed_request(RequestCode::HA_PUSH, kCluster), kNow).is_ok());
  const Status other = gate->admit_from(
      "10.9.9.4:1", signed_request(RequestCode::HA_PUSH, Credentials{"app", "app-secret"}), kNow);
  EXPECT_NE(other.message().find("unknown access key 'app' (HA_PUSH)"), std::string::npos)
      << other.message();
  const Status unsigned_push =
      gate->admit_from("10.9.9.4:1", signed_request(RequestCode::HA_PUSH, std::nullopt), kNow);
  EXPECT_EQ(unsigned_push.message(), "request HA_PUSH is not signed");
}

class TempFile {
 public:
  TempFile() {
    char tmpl[] = "/tmp/comet-acl-XXXXXX";
    const int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  // Written beside and renamed over, as an editor or a config tool does.
  void write(const std::string& text) const {
    const std::string tmp = path_ + ".new";
    std::ofstream(tmp, std::ios::trunc) << text;
    std::filesystem::rename(tmp, path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(AclGate, ReloadAppliesAChangedFileAndKeepsTheOldOneWhenBad) {
  TempFile file;
  file.write(kAccounts);
  auto gate = AclGate::open(gate_options(file.path()), send_table);
  ASSERT_TRUE(gate.is_ok()) << gate.status().to_string();
  const Credentials app{"app", "app-secret"};
  auto send = [&] {
    return gate.value()->admit_from("127.0.0.1:1", signed_request(RequestCode::SEND_MESSAGE, app),
                                    kNow);
  };
  EXPECT_TRUE(send().is_ok());
  EXPECT_FALSE(gate.value()->reload_if_changed().value());  // unchanged

  std::string denied = kAccounts;
  denied.replace(denied.find("orders=PUB|SUB"), 14, "orders=DENY");
  file.write(denied);
  EXPECT_TRUE(gate.value()->reload_if_changed().value());
  EXPECT_NE(send().message().find("account 'app' is denied topic 'orders'"), std::string::npos);

  file.write("accounts:\n  - accessKey: app\n    secretKey: short\n");
  auto bad = gate.value()->reload_if_changed();
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("account 'app': secretKey is shorter"), std::string::npos);
  EXPECT_FALSE(send().is_ok());  // the denying snapshot stays in force

  std::filesystem::remove(file.path());
  EXPECT_FALSE(gate.value()->reload_if_changed().is_ok());
  file.write(kAccounts);
  EXPECT_TRUE(gate.value()->reload_if_changed().value());
  EXPECT_TRUE(send().is_ok());
  EXPECT_EQ(gate.value()->reloads(), 2u);
}

TEST(AclGate, AMissingOrBadFileFailsOpen) {
  auto missing = AclGate::open(gate_options("/nonexistent/plain_acl.yml"), send_table);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/plain_acl.yml"), std::string::npos);
  TempFile file;
  file.write("accounts: 3\n");
  auto bad = AclGate::open(gate_options(file.path()), send_table);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("accounts is not a list"), std::string::npos);
}

TEST(AclGate, TheTimerReloadsWithoutBeingAsked) {
  TempFile file;
  file.write(kAccounts);
  AclGateOptions o = gate_options(file.path());
  o.reload_interval_ms = 20;
  auto gate = AclGate::open(o, send_table).value();
  asio::io_context io;
  gate->start(io.get_executor());
  std::string denied = kAccounts;
  denied.replace(denied.find("orders=PUB|SUB"), 14, "orders=DENY");
  file.write(denied);
  // Run the timer until the reload lands (bounded: 250 turns of 20 ms).
  for (int turn = 0; turn < 250 && gate->reloads() == 0; ++turn) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(gate->reloads(), 1u);
  gate->stop();
  io.run_for(std::chrono::milliseconds(50));
}

// Requests admitted from several threads while the accounts file is swapped back and forth:
// each decision follows one snapshot or the other, and a nonce once admitted never passes
// again (run under TSan in CI).
TEST(AclGate, ConcurrentAdmissionsDuringReloadsSeeOneSnapshotOrTheOther) {
  TempFile file;
  file.write(kAccounts);
  auto gate = AclGate::open(gate_options(file.path()), send_table).value();
  std::string denied = kAccounts;
  denied.replace(denied.find("orders=PUB|SUB"), 14, "orders=DENY");
  constexpr int kThreads = 3;
  constexpr int kPerThread = 400;
  std::atomic<int> admitted{0}, refused_by_deny{0}, unexpected{0}, replays_passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      RequestSigner signer({"app", "app-secret"});
      for (int i = 0; i < kPerThread; ++i) {
        const RemotingCommand cmd =
            signed_request(RequestCode::SEND_MESSAGE, std::nullopt, kNow, &signer);
        const Status s = gate->admit_from("127.0.0.1:5000", cmd, kNow);
        if (s.is_ok()) {
          ++admitted;
          if (gate->admit_from("127.0.0.1:5001", cmd, kNow).is_ok()) ++replays_passed;
        } else if (s.message().find("is denied topic 'orders'") != std::string::npos) {
          ++refused_by_deny;
        } else {
          ++unexpected;
        }
      }
    });
  }
  for (int i = 0; i < 30; ++i) {
    file.write(i % 2 == 0 ? denied : std::string(kAccounts));
    ASSERT_TRUE(gate->reload_if_changed().is_ok());
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(replays_passed.load(), 0);
  EXPECT_EQ(admitted.load() + refused_by_deny.load(), kThreads * kPerThread);
  EXPECT_EQ(gate->reloads(), 30u);
}

}  // namespace
}  // namespace comet::remoting
