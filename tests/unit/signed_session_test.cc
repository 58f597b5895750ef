// Signed sessions over TLS (docs/security.md, "How a request is checked", a signed session): once a
// signed request on a TLS connection passed every check, later requests on it carry the access key
// alone. The decisions (remoting/access_validator.h) table-driven, then a real TLS server with an
// AclGate against RemotingClient: a client signs only until its signed request is written, a
// connection that proved nothing cannot lean on a session, a plain connection is signed throughout,
// and a changed secret ends the session while a client with the new one carries on. Run under
// ThreadSanitizer too (scripts/test.sh --tsan).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "remoting/acl_gate.h"
#include "remoting/remoting_client.h"
#include "remoting/remoting_server.h"
#include "remoting/request_signature.h"
#include "remoting/tls_context.h"

namespace comet::remoting {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kNow = 1'700'000'000'000;

constexpr const char* kAccounts = R"(
accounts:
  - accessKey: app
    secretKey: app-secret
    defaultTopicPerm: PUB
    topicPerms: [vault=DENY]
  - accessKey: ops
    secretKey: ops-secret
    admin: true
)";

AclSnapshot snapshot_of(const std::string& yaml) {
  auto config = parse_plain_acl(yaml, "test.yml");
  EXPECT_TRUE(config.is_ok()) << config.status().to_string();
  return AclSnapshot::make(std::move(config).value(), Credentials{"cluster", "cluster-secret"},
                           300'000, "broker")
      .value();
}

RequestAuth session_auth(const std::string& access_key) {
  RequestAuth a;
  a.scheme = RequestAuth::Scheme::kCometSession;
  a.access_key = access_key;
  return a;
}

RequiredAccess send_to(std::string_view topic) {
  return RequiredAccess::any_account().topic(topic, perm::kPub);
}

TEST(SignedSessionDecision, TheAccessKeyAloneNeedsTheConnectionsVerifiedSigner) {
  const AclSnapshot s = snapshot_of(kAccounts);
  const RequestAuth auth = session_auth("app");
  const VerifiedSigner app{"app", HmacSha256Key("app-secret")};
  const VerifiedSigner ops{"ops", HmacSha256Key("ops-secret")};
  const VerifiedSigner app_old{"app", HmacSha256Key("the-old-secret")};
  const auto code = static_cast<int32_t>(RequestCode::SEND_MESSAGE);
  struct Case {
    const char* name;
    const VerifiedSigner* session;
    std::string_view topic;
    const char* refusal;  // nullptr: admitted
  };
  const Case cases[] = {
      {"no signed request on the connection", nullptr, "orders", "has not proved account 'app'"},
      {"the connection proved another account", &ops, "orders", "has not proved account 'app'"},
      {"the secret changed since", &app_old, "orders", "with a secret it no longer has"},
      {"proved: permissions still apply", &app, "vault", "account 'app' is denied topic 'vault'"},
      {"proved", &app, "orders", nullptr},
  };
  for (const Case& c : cases) {
    const AccessRequest request{"127.0.0.1", &auth, code, kNow, c.session};
    const AccessDecision d = decide_access(s, request, send_to(c.topic));
    if (c.refusal == nullptr) {
      EXPECT_TRUE(d.status.is_ok()) << c.name << ": " << d.status.to_string();
      EXPECT_EQ(d.principal, "app") << c.name;
      EXPECT_FALSE(d.check_replay) << c.name << ": TLS refuses replays, there is no nonce";
    } else {
      EXPECT_EQ(d.status.code(), Code::kPermissionDenied) << c.name;
      EXPECT_NE(d.status.message().find(c.refusal), std::string::npos)
          << c.name << ": " << d.status.message();
      EXPECT_EQ(d.status.message().find("secret-"), std::string::npos) << "a secret leaked";
    }
  }
}

TEST(SignedSessionDecision, ASessionFrameDecodesWithoutADigest) {
  RemotingCommand cmd = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  cmd.body.owned = "payload";
  RequestSigner signer(Credentials{"app", "app-secret"});
  const std::string frame = signer.encode_session_head(cmd) + cmd.body.to_string();
  auto decoded = decode_frame(frame, kDefaultMaxFrameBytes);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  ASSERT_NE(decoded->auth, nullptr);
  EXPECT_EQ(decoded->auth->scheme, RequestAuth::Scheme::kCometSession);
  EXPECT_EQ(decoded->auth->access_key, "app");
  EXPECT_TRUE(decoded->auth->signature.empty());
  EXPECT_EQ(decoded->body.to_string(), "payload");
}

const std::string kCertDir = COMET_TEST_CERT_DIR;

std::string cert(const std::string& name) {
  return kCertDir + "/" + name;
}

// A TLS (or plain) server whose gate reads an accounts file; SEND_MESSAGE needs PUB on the
// topic in the request's remark, and its handler records how each admitted request was signed.
class SignedSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string cmd = std::string(COMET_SOURCE_DIR) + "/scripts/make-certs.sh " + kCertDir;
    ASSERT_EQ(std::system((cmd + " >/dev/null").c_str()), 0) << cmd;
  }

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("signed_session_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    write_accounts(kAccounts);
  }

  void TearDown() override {
    if (server_) server_->stop();
    std::filesystem::remove_all(dir_);
  }

  void write_accounts(const std::string& yaml) {
    std::ofstream(dir_ / "plain_acl.yml", std::ios::trunc) << yaml;
  }

  void start_server(TlsMode mode) {
    AclGateOptions gate_options;
    gate_options.acl_file = (dir_ / "plain_acl.yml").string();
    auto gate = AclGate::open(gate_options, [](const RemotingCommand& cmd) {
      return RequiredAccess::any_account().topic(cmd.remark(), perm::kPub);
    });
    ASSERT_TRUE(gate.is_ok()) << gate.status().to_string();
    gate_ = *gate;
    ServerOptions opts;
    opts.bind_address = "127.0.0.1";
    opts.io_threads = 2;
    opts.gate = gate_;
    opts.connection.tls_mode = mode;
    if (mode != TlsMode::kDisabled) {
      TlsServerConfig c;
      c.mode = mode;
      c.cert_path = cert("server.pem");
      c.key_path = cert("server.key");
      auto ctx = make_server_tls_context(c);
      ASSERT_TRUE(ctx.is_ok()) << ctx.status().to_string();
      opts.connection.tls = *ctx;
    }
    server_ = std::make_unique<RemotingServer>(opts);
    server_->set_close_handler([this](Connection*) {
      std::lock_guard lock(mu_);
      ++closed_;
      closed_cv_.notify_all();
    });
    server_->register_handler(
        RequestCode::SEND_MESSAGE,
        [this](const std::shared_ptr<Connection>& c, RemotingCommand req) {
          {
            std::lock_guard lock(mu_);
            schemes_.push_back(req.auth ? req.auth->scheme : RequestAuth::Scheme{});
          }
          c->send(RemotingCommand::response_to(req, ResponseCode::SUCCESS));
        });
    ASSERT_TRUE(server_->start().is_ok());
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  static ClientOptions client(std::optional<Credentials> creds, bool tls) {
    ClientOptions o;
    o.connect_timeout = 5s;
    if (creds) o.connection.signer = std::make_shared<RequestSigner>(*creds);
    if (tls) {
      TlsClientConfig c;
      c.enable = true;
      c.trust_cert_path = cert("ca.pem");
      auto ctx = make_client_tls_context(c);
      EXPECT_TRUE(ctx.is_ok()) << ctx.status().to_string();
      o.connection.tls = ctx.is_ok() ? *ctx : nullptr;
    }
    return o;
  }

  static RemotingCommand send_request(const std::string& topic) {
    auto req = RemotingCommand::request(RequestCode::SEND_MESSAGE);
    req.header.remark = topic;
    req.body.owned = std::string(1024, 'm');
    return req;
  }

  // Sends `n` requests one after another; the response codes.
  std::vector<int32_t> send(RemotingClient& c, int n, const std::string& topic = "orders") {
    std::vector<int32_t> codes;
    for (int i = 0; i < n; ++i) {
      auto r = c.invoke(address_, send_request(topic), 5s);
      codes.push_back(r.is_ok() ? r->code() : -1);
      if (r.is_ok()) last_remark_ = r->remark();
    }
    return codes;
  }

  // How the admitted requests were signed, then forgets them.
  std::vector<RequestAuth::Scheme> take_schemes() {
    std::lock_guard lock(mu_);
    return std::exchange(schemes_, {});
  }

  static constexpr auto kSigned = RequestAuth::Scheme::kCometHmacSha256;
  static constexpr auto kSession = RequestAuth::Scheme::kCometSession;
  static constexpr int32_t kSuccess = static_cast<int32_t>(ResponseCode::SUCCESS);
  static constexpr int32_t kNoPermission = static_cast<int32_t>(ResponseCode::NO_PERMISSION);

  std::filesystem::path dir_;
  std::shared_ptr<AclGate> gate_;
  std::unique_ptr<RemotingServer> server_;
  std::string address_;
  std::string last_remark_;
  std::mutex mu_;
  std::vector<RequestAuth::Scheme> schemes_;
  int closed_ = 0;  // server connections closed
  std::condition_variable closed_cv_;
};

TEST_F(SignedSessionTest, OverTlsOnlyTheFirstRequestIsSigned) {
  start_server(TlsMode::kEnforcing);
  RemotingClient c(client(Credentials{"app", "app-secret"}, true));
  EXPECT_EQ(send(c, 1), std::vector<int32_t>{kSuccess});
  EXPECT_EQ(send(c, 20), std::vector<int32_t>(20, kSuccess));
  std::vector<RequestAuth::Scheme> expected(21, kSession);
  expected[0] = kSigned;
  EXPECT_EQ(take_schemes(), expected);
  // Permissions are checked on every request all the same.
  EXPECT_EQ(send(c, 1, "vault"), std::vector<int32_t>{kNoPermission});
  EXPECT_NE(last_remark_.find("denied topic 'vault'"), std::string::npos) << last_remark_;
  EXPECT_EQ(gate_->refused(), 1u);
}

TEST_F(SignedSessionTest, OnAPlainConnectionEveryRequestIsSigned) {
  start_server(TlsMode::kDisabled);
  RemotingClient c(client(Credentials{"app", "app-secret"}, false));
  EXPECT_EQ(send(c, 10), std::vector<int32_t>(10, kSuccess));
  EXPECT_EQ(take_schemes(), std::vector<RequestAuth::Scheme>(10, kSigned));
}

TEST_F(SignedSessionTest, AConnectionThatProvedNothingCannotLeanOnASession) {
  for (TlsMode mode : {TlsMode::kEnforcing, TlsMode::kDisabled}) {
    SCOPED_TRACE(mode == TlsMode::kEnforcing ? "TLS" : "plain");
    start_server(mode);
    // No signer: the frame carries the access key alone, as a session request does.
    RemotingClient c(client(std::nullopt, mode == TlsMode::kEnforcing));
    for (int i = 0; i < 3; ++i) {
      RemotingCommand req = send_request("orders");
      auto auth = std::make_unique<protocol::RequestSignatureT>();
      auth->access_key = "app";
      req.header.auth = std::move(auth);
      auto r = c.invoke(address_, std::move(req), 5s);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      EXPECT_EQ(r->code(), kNoPermission);
      EXPECT_NE(r->remark().find("has not proved account 'app'"), std::string::npos) << r->remark();
    }
    EXPECT_TRUE(take_schemes().empty());
    // A oneway one is dropped and its connection closed: no answer could make the client sign.
    RemotingCommand oneway = send_request("orders");
    oneway.header.flags |= kFlagOneway;
    auto auth = std::make_unique<protocol::RequestSignatureT>();
    auth->access_key = "app";
    oneway.header.auth = std::move(auth);
    ASSERT_TRUE(c.invoke_oneway(address_, std::move(oneway)).is_ok());
    std::unique_lock lock(mu_);
    EXPECT_TRUE(closed_cv_.wait_for(lock, 5s, [&] { return closed_ == 1; }));
    closed_ = 0;
    lock.unlock();
    server_->stop();
    server_.reset();
  }
}

TEST_F(SignedSessionTest, AChangedSecretEndsTheSessionAndTheNewSecretStartsOne) {
  start_server(TlsMode::kEnforcing);
  RemotingClient old_client(client(Credentials{"app", "app-secret"}, true));
  EXPECT_EQ(send(old_client, 3), std::vector<int32_t>(3, kSuccess));
  std::string rotated = kAccounts;
  rotated.replace(rotated.find("app-secret"), 10, "app-secret-2");
  write_accounts(rotated);
  auto reloaded = gate_->reload_if_changed();
  ASSERT_TRUE(reloaded.is_ok() && *reloaded) << reloaded.status().to_string();
  // The session's secret is gone: refused, after which the client signs again (and is refused,
  // since its secret is the old one).
  EXPECT_EQ(send(old_client, 1), std::vector<int32_t>{kNoPermission});
  EXPECT_NE(last_remark_.find("a secret it no longer has"), std::string::npos) << last_remark_;
  EXPECT_EQ(send(old_client, 2), std::vector<int32_t>(2, kNoPermission));
  EXPECT_NE(last_remark_.find("signature does not match"), std::string::npos) << last_remark_;
  // A client with the new secret signs once, then leans on its session.
  RemotingClient new_client(client(Credentials{"app", "app-secret-2"}, true));
  take_schemes();
  EXPECT_EQ(send(new_client, 5), std::vector<int32_t>(5, kSuccess));
  std::vector<RequestAuth::Scheme> expected(5, kSession);
  expected[0] = kSigned;
  EXPECT_EQ(take_schemes(), expected);
}

}  // namespace
}  // namespace comet::remoting
