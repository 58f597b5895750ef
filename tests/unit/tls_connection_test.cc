// TLS on a RemotingServer port as tls.server.mode says, against RemotingClient and raw sockets:
// pipelined requests both ways over TLS; permissive serves plain native, plain RocketMQ and TLS
// on one port; every refusal (plain under enforcing, an untrusted server or client certificate,
// a missing client certificate, a certificate for another host, garbage after a TLS record
// header, a stalled handshake) fails the client, is logged with the peer, and leaves the server
// serving TLS clients. Certificates come from scripts/make-certs.sh. Run under ThreadSanitizer
// too (scripts/test.sh --tsan).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

#include "common/logging.h"
#include "integration/wire_socket.h"
#include "remoting/remoting_client.h"
#include "remoting/remoting_server.h"
#include "remoting/rocketmq_codec.h"
#include "remoting/tls_context.h"

namespace comet::remoting {
namespace {

using namespace std::chrono_literals;
namespace rmq = rocketmq;

const std::string kCertDir = COMET_TEST_CERT_DIR;

std::string cert(const std::string& name) {
  return kCertDir + "/" + name;
}

std::shared_ptr<asio::ssl::context> server_context(const std::string& name, ClientAuth auth) {
  TlsServerConfig c;
  c.mode = TlsMode::kEnforcing;
  c.cert_path = cert(name + ".pem");
  c.key_path = cert(name + ".key");
  c.trust_cert_path = cert("ca.pem");
  c.need_client_auth = auth;
  auto ctx = make_server_tls_context(c);
  EXPECT_TRUE(ctx.is_ok()) << ctx.status().to_string();
  return ctx.is_ok() ? *ctx : nullptr;
}

// A client context trusting `ca`, presenting `client` ("" for none).
std::shared_ptr<asio::ssl::context> client_context(const std::string& ca,
                                                   const std::string& client = "") {
  TlsClientConfig c;
  c.enable = true;
  c.trust_cert_path = cert(ca + ".pem");
  if (!client.empty()) {
    c.cert_path = cert(client + ".pem");
    c.key_path = cert(client + ".key");
  }
  auto ctx = make_client_tls_context(c);
  EXPECT_TRUE(ctx.is_ok()) << ctx.status().to_string();
  return ctx.is_ok() ? *ctx : nullptr;
}

RemotingCommand offset_request(int32_t queue_id, std::string body = {}) {
  auto req = RemotingCommand::request(RequestCode::GET_MAX_OFFSET);
  protocol::QueueOffsetRequestT q;
  q.queue_id = queue_id;
  req.set_ext(std::move(q));
  req.body.owned = std::move(body);
  return req;
}

// The remoting log's lines, for the tests to wait on.
class LogLines : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Lines logged so far containing `part`.
  size_t count(const std::string& part) {
    std::lock_guard lock(lines_mu_);
    return static_cast<size_t>(std::count_if(lines_.begin(), lines_.end(), [&](const auto& l) {
      return l.find(part) != std::string::npos;
    }));
  }
  // Waits (at most 5 s) for a line containing every one of `parts`.
  bool wait_for(const std::vector<std::string>& parts) {
    std::unique_lock lock(lines_mu_);
    return cv_.wait_for(lock, 5s, [&] {
      for (const std::string& line : lines_) {
        bool all = true;
        for (const auto& p : parts)
          all = all && line.find(p) != std::string::npos;
        if (all) return true;
      }
      return false;
    });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    {
      std::lock_guard lock(lines_mu_);
      lines_.emplace_back(msg.payload.data(), msg.payload.size());
    }
    cv_.notify_all();
  }
  void flush_() override {}

 private:
  std::mutex lines_mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

// A blocking loopback socket for what RemotingClient never sends.
using comet::testing::WireSocket;

class TlsConnectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string cmd = std::string(COMET_SOURCE_DIR) + "/scripts/make-certs.sh " + kCertDir;
    ASSERT_EQ(std::system((cmd + " >/dev/null").c_str()), 0) << cmd;
    // Before any I/O thread logs: a logger's sinks are not safe to change under it.
    log_ = std::make_shared<LogLines>();
    logger("remoting")->sinks().push_back(log_);
  }

  void TearDown() override {
    if (server_) server_->stop();
  }

  // Starts a server in `mode` with certificate `name` answering GET_MAX_OFFSET with
  // queue_id * 10 and the request's body, after asking the client for HEART_BEAT over the same
  // connection when the queue id is negative (a request in the other direction).
  void start_server(TlsMode mode, const std::string& name = "server",
                    ClientAuth auth = ClientAuth::kNone,
                    std::chrono::milliseconds handshake_timeout = 5s) {
    ServerOptions opts;
    opts.bind_address = "127.0.0.1";
    opts.io_threads = 2;
    opts.connection.tls_mode = mode;
    opts.connection.tls = server_context(name, auth);
    opts.connection.tls_handshake_timeout = handshake_timeout;
    server_ = std::make_unique<RemotingServer>(opts);
    server_->register_handler(
        RequestCode::GET_MAX_OFFSET, [](const std::shared_ptr<Connection>& c, RemotingCommand req) {
          const int32_t q = req.ext<protocol::QueueOffsetRequestT>()->queue_id;
          auto answer = [c, req](std::string remark) {
            auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS, remark);
            protocol::QueueOffsetResponseT ext;
            ext.offset = int64_t{req.ext<protocol::QueueOffsetRequestT>()->queue_id} * 10;
            resp.set_ext(std::move(ext));
            resp.body.owned = req.body.to_string();
            c->send(std::move(resp));
          };
          if (q >= 0) {
            answer("");
            return;
          }
          c->invoke(RemotingCommand::request(RequestCode::HEART_BEAT), 5s,
                    [answer](Result<RemotingCommand> r) {
                      answer(r.is_ok() ? r->remark() : r.status().to_string());
                    });
        });
    ASSERT_TRUE(server_->start().is_ok());
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  static ClientOptions tls_client(std::shared_ptr<asio::ssl::context> ctx, bool verify = true) {
    ClientOptions o;
    o.connect_timeout = 5s;
    o.connection.tls = std::move(ctx);
    o.connection.tls_verify_hostname = verify;
    // Answers the server's HEART_BEAT: the request in the other direction.
    o.on_request = [](const std::shared_ptr<Connection>& c, RemotingCommand req) {
      c->send(RemotingCommand::response_to(req, ResponseCode::SUCCESS, "client answered"));
    };
    return o;
  }

  Result<RemotingCommand> call(const ClientOptions& options, int32_t queue_id = 7) {
    RemotingClient client(options);
    return client.invoke(address_, offset_request(queue_id), 5s);
  }

  // The server still serves a TLS client that trusts its CA.
  void expect_serves_tls() {
    auto r = call(tls_client(client_context("ca", "client")));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_NE(r->ext<protocol::QueueOffsetResponseT>(), nullptr);
    EXPECT_EQ(r->ext<protocol::QueueOffsetResponseT>()->offset, 70);
  }

  // A remoting log line (written by the server's I/O thread) has every one of `parts`.
  static bool logged(const std::vector<std::string>& parts) { return log_->wait_for(parts); }

  static inline std::shared_ptr<LogLines> log_;
  std::unique_ptr<RemotingServer> server_;
  std::string address_;
};

TEST_F(TlsConnectionTest, PipelinedRequestsBothWaysOverTls) {
  start_server(TlsMode::kEnforcing);
  RemotingClient client(tls_client(client_context("ca")));
  constexpr int kRequests = 300;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<std::string> failures;
  // Bodies from empty to 1 MiB: many TLS records per frame, and many frames per record.
  const std::string big(1 << 20, 'b');
  for (int i = 0; i < kRequests; ++i) {
    const int32_t q = i % 10 == 0 ? -i : i;  // every tenth asks the client first
    std::string body = i % 100 == 1 ? big : std::string(static_cast<size_t>(i), 'x');
    client.invoke_async(
        address_, offset_request(q, body), 10s,
        [&, q, size = body.size()](Result<RemotingCommand> r) {
          std::string why;
          if (!r.is_ok()) {
            why = r.status().to_string();
          } else if (r->ext<protocol::QueueOffsetResponseT>() == nullptr ||
                     r->ext<protocol::QueueOffsetResponseT>()->offset != int64_t{q} * 10 ||
                     r->body.size() != size) {
            why = "wrong answer to " + std::to_string(q);
          } else if (q < 0 && r->remark() != "client answered") {
            why = "the server's request failed: " + r->remark();
          }
          std::lock_guard lock(mu);
          if (!why.empty()) failures.push_back(why);
          ++done;
          cv.notify_all();
        });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return done == kRequests; })) << done << " answered";
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, the first: " << failures.front();
}

TEST_F(TlsConnectionTest, PermissiveServesPlainNativePlainRocketmqAndTlsOnOnePort) {
  start_server(TlsMode::kPermissive);
  auto plain = call(ClientOptions{});
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(plain->ext<protocol::QueueOffsetResponseT>()->offset, 70);

  WireSocket rocketmq;
  ASSERT_TRUE(rocketmq.connect(address_).is_ok());
  rmq::Command req;
  req.code = 30;  // GET_MAX_OFFSET
  req.opaque = 5;
  req.version = 121;
  req.ext.set("topic", "T");
  req.ext.set("queueId", "3");
  ASSERT_TRUE(rocketmq.write_all(rmq::encode_frame(req)).is_ok());
  auto answer = rocketmq.read_rocketmq();
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->opaque, 5);
  EXPECT_EQ(answer->ext.get("offset"), "30");

  expect_serves_tls();
}

TEST_F(TlsConnectionTest, PermissiveTakesANativeFrameStartingLikeTlsForPlain) {
  start_server(TlsMode::kPermissive);
  // A native frame's little-endian length can start 0x16 0x03, as a TLS record does: its header
  // identifier at bytes 12..15 decides.
  for (size_t body = 0x200; body < 0x400; ++body) {
    auto probe = offset_request(1, std::string(body, 'p'));
    probe.header.opaque = 9;
    const std::string frame = encode_frame(probe);
    if (static_cast<uint8_t>(frame[0]) != 0x16 || static_cast<uint8_t>(frame[1]) != 0x03) {
      continue;
    }
    WireSocket peer;
    ASSERT_TRUE(peer.connect(address_).is_ok());
    ASSERT_TRUE(peer.write_all(frame).is_ok());
    auto r = peer.read_native();
    ASSERT_TRUE(r.is_ok()) << "a plain frame starting 0x16 0x03: " << r.status().to_string();
    EXPECT_EQ(r->opaque(), 9u);
    EXPECT_EQ(r->body.size(), body);
    return;
  }
  FAIL() << "no body size made a frame starting 0x16 0x03";
}

TEST_F(TlsConnectionTest, EnforcingRefusesPlainClientsAndServesTls) {
  start_server(TlsMode::kEnforcing);
  auto plain = call(ClientOptions{});
  ASSERT_FALSE(plain.is_ok());
  EXPECT_EQ(plain.status().code(), Code::kUnavailable) << plain.status().to_string();
  EXPECT_TRUE(logged({"127.0.0.1:", "plain connection refused: tls.server.mode=enforcing"}));

  WireSocket rocketmq;
  ASSERT_TRUE(rocketmq.connect(address_).is_ok());
  rmq::Command req;
  req.code = 30;
  req.opaque = 1;
  req.ext.set("topic", "T");
  req.ext.set("queueId", "1");
  ASSERT_TRUE(rocketmq.write_all(rmq::encode_frame(req)).is_ok());
  EXPECT_TRUE(rocketmq.closed_by_peer());
  expect_serves_tls();
}

TEST_F(TlsConnectionTest, RefusalsAreLoggedAtMostOnceASecond) {
  start_server(TlsMode::kEnforcing);
  const std::string why = "plain connection refused";
  const size_t before = log_->count(why);
  constexpr int kPeers = 5;
  for (int i = 0; i < kPeers; ++i) {
    WireSocket peer;
    ASSERT_TRUE(peer.connect(address_).is_ok());
    ASSERT_TRUE(peer.write_all("not a TLS ClientHello").is_ok());
    ASSERT_TRUE(peer.closed_by_peer());  // logged (or counted) before the close
  }
  const size_t lines = log_->count(why) - before;
  EXPECT_GE(lines, 1u);
  EXPECT_LT(lines, size_t{kPeers}) << "each refusal logged: no rate limit";
  expect_serves_tls();
}

TEST_F(TlsConnectionTest, AClientTrustingAnotherCaFailsWithAVerifyError) {
  start_server(TlsMode::kEnforcing);
  auto r = call(tls_client(client_context("other-ca")));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos)
      << r.status().to_string();
  EXPECT_TRUE(logged({"127.0.0.1:", "TLS handshake failed"}));
  expect_serves_tls();
}

TEST_F(TlsConnectionTest, RequiredClientCertificatesAreChecked) {
  start_server(TlsMode::kEnforcing, "server", ClientAuth::kRequire);
  auto none = call(tls_client(client_context("ca")));
  EXPECT_FALSE(none.is_ok()) << "a client without a certificate";
  EXPECT_TRUE(logged({"127.0.0.1:", "TLS handshake failed", "certificate"}));
  auto untrusted = call(tls_client(client_context("ca", "other-client")));
  EXPECT_FALSE(untrusted.is_ok()) << "a client certificate of another CA";
  expect_serves_tls();  // with client.pem, which the CA signed
}

TEST_F(TlsConnectionTest, OptionalClientCertificatesAreCheckedWhenSent) {
  start_server(TlsMode::kEnforcing, "server", ClientAuth::kOptional);
  auto none = call(tls_client(client_context("ca")));
  EXPECT_TRUE(none.is_ok()) << none.status().to_string();
  auto untrusted = call(tls_client(client_context("ca", "other-client")));
  EXPECT_FALSE(untrusted.is_ok()) << "a client certificate of another CA";
  expect_serves_tls();
}

TEST_F(TlsConnectionTest, ACertificateForAnotherHostIsRefusedWhenVerifying) {
  start_server(TlsMode::kEnforcing, "misnamed-server");
  auto checked = call(tls_client(client_context("ca"), /*verify=*/true));
  ASSERT_FALSE(checked.is_ok());
  EXPECT_NE(checked.status().message().find("certificate verify failed"), std::string::npos)
      << checked.status().to_string();
  auto unchecked = call(tls_client(client_context("ca"), /*verify=*/false));
  EXPECT_TRUE(unchecked.is_ok()) << unchecked.status().to_string();
}

TEST_F(TlsConnectionTest, GarbageAfterATlsRecordHeaderIsCut) {
  start_server(TlsMode::kPermissive);
  WireSocket peer;
  ASSERT_TRUE(peer.connect(address_).is_ok());
  ASSERT_TRUE(
      peer.write_all(std::string("\x16\x03\x01\x00\x40", 5) + std::string(64, 'g')).is_ok());
  EXPECT_TRUE(peer.closed_by_peer());
  EXPECT_TRUE(logged({"127.0.0.1:", "TLS handshake failed"}));
  expect_serves_tls();
}

TEST_F(TlsConnectionTest, StalledHandshakesAreCutWithinTheBound) {
  constexpr auto kBound = 300ms;
  start_server(TlsMode::kPermissive, "server", ClientAuth::kNone, kBound);
  const auto start = std::chrono::steady_clock::now();
  WireSocket silent;     // says nothing
  WireSocket undecided;  // too few bytes to tell TLS from plain
  WireSocket midway;     // a record header announcing bytes that never come
  ASSERT_TRUE(silent.connect(address_).is_ok() && undecided.connect(address_).is_ok() &&
              midway.connect(address_).is_ok());
  ASSERT_TRUE(undecided.write_all(std::string("\x16\x03", 2)).is_ok());
  ASSERT_TRUE(midway
                  .write_all(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
                             std::string(16, 'r'))
                  .is_ok());
  EXPECT_TRUE(silent.closed_by_peer());
  EXPECT_TRUE(undecided.closed_by_peer());
  EXPECT_TRUE(midway.closed_by_peer());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, kBound - 50ms);
  EXPECT_LT(took, kBound + 2s);
  EXPECT_TRUE(logged({"127.0.0.1:", "no TLS handshake within 300 ms"}));
  expect_serves_tls();
}

TEST_F(TlsConnectionTest, AClientHandshakeIsBoundedByTheConnectTimeout) {
  // A listener that never accepts: TCP connects (the kernel's backlog), TLS never answers.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  ClientOptions options = tls_client(client_context("ca"));
  options.connect_timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto r = call(options);
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("TLS handshake with " + address_ + " timed out"),
            std::string::npos)
      << r.status().to_string();
  EXPECT_LT(took, 3s);
}

}  // namespace
}  // namespace comet::remoting
