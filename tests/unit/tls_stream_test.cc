// TlsStream (remoting/tls_stream.h) between two loopback sockets: the server's engine reads the
// bytes it read to detect TLS before the socket; a write of many records arrives whole however
// small the reads that take it; the peer's socket ending mid-stream is an error, never a read of
// nothing (a reader loops on read_some until an error). Certificates come from
// scripts/make-certs.sh. Run under ThreadSanitizer too (scripts/test.sh --tsan).

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include "remoting/tls_context.h"
#include "remoting/tls_stream.h"

namespace comet::remoting {
namespace {

using namespace std::chrono_literals;
using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;

const std::string kCertDir = COMET_TEST_CERT_DIR;

class TlsStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string cmd = std::string(COMET_SOURCE_DIR) + "/scripts/make-certs.sh " + kCertDir;
    ASSERT_EQ(std::system((cmd + " >/dev/null").c_str()), 0) << cmd;
  }

  void SetUp() override {
    TlsServerConfig s;
    s.mode = TlsMode::kEnforcing;
    s.cert_path = kCertDir + "/server.pem";
    s.key_path = kCertDir + "/server.key";
    auto server = make_server_tls_context(s);
    ASSERT_TRUE(server.is_ok()) << server.status().to_string();
    server_ctx_ = *server;
    TlsClientConfig c;
    c.enable = true;
    c.trust_cert_path = kCertDir + "/ca.pem";
    auto client = make_client_tls_context(c);
    ASSERT_TRUE(client.is_ok()) << client.status().to_string();
    client_ctx_ = *client;

    asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
    client_socket_.connect(acceptor.local_endpoint());
    acceptor.accept(server_socket_);
  }

  // Runs the io_context until `done` or 20 s; false on the timeout (a hang).
  bool run_until(const bool& done) {
    for (int i = 0; i < 2000 && !done; ++i) {
      io_.run_for(10ms);
      if (io_.stopped()) io_.restart();
    }
    return done;
  }

  // Client and server handshake; the server first reads `detect` bytes off the socket itself
  // and hands them to its stream, as a server in a TLS mode does.
  void handshake(size_t detect = kTlsDetectBytes) {
    bool client_done = false, server_done = false;
    std::error_code client_ec, server_ec;
    client_ = std::make_unique<TlsStream>(client_socket_, *client_ctx_, TlsStream::Role::kClient);
    client_->expect_host("127.0.0.1", /*verify=*/true);
    asio::co_spawn(
        io_, [&]() -> awaitable<void> { client_ec = co_await client_->handshake(); },
        [&](std::exception_ptr) { client_done = true; });
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          std::vector<uint8_t> head(detect);
          co_await asio::async_read(server_socket_, asio::buffer(head), use_awaitable);
          if (detect >= kTlsDetectBytes) {
            EXPECT_EQ(classify_first_bytes(head.data(), head.size()), FirstBytes::kTls);
          }
          server_ = std::make_unique<TlsStream>(server_socket_, *server_ctx_,
                                                TlsStream::Role::kServer, std::move(head));
          server_ec = co_await server_->handshake();
        },
        [&](std::exception_ptr) { server_done = true; });
    const bool both = run_until(client_done) && run_until(server_done);
    ASSERT_TRUE(both) << "handshake hung";
    ASSERT_FALSE(client_ec) << client_ec.message();
    ASSERT_FALSE(server_ec) << server_ec.message();
  }

  // Reads from `stream` in pieces of at most `piece` bytes until `want` bytes or an error.
  std::string read_all(TlsStream& stream, size_t want, size_t piece, std::error_code& ec) {
    std::string got;
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          std::vector<uint8_t> buf(piece);
          // Each read yields at least a byte or ends: bounded by the bytes expected.
          for (size_t reads = 0; got.size() < want && reads <= want; ++reads) {
            auto [e, n] = co_await stream.read_some(asio::buffer(buf));
            if (e) {
              ec = e;
              co_return;
            }
            if (n == 0) {
              ec = std::make_error_code(std::errc::protocol_error);  // a read of nothing
              co_return;
            }
            got.append(reinterpret_cast<const char*>(buf.data()), n);
          }
        },
        [&](std::exception_ptr) { done = true; });
    EXPECT_TRUE(run_until(done)) << "read hung after " << got.size() << " bytes";
    return got;
  }

  std::error_code write(TlsStream& stream, const std::string& data) {
    std::error_code ec;
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          ec = co_await stream.write(reinterpret_cast<const uint8_t*>(data.data()), data.size());
        },
        [&](std::exception_ptr) { done = true; });
    EXPECT_TRUE(run_until(done)) << "write hung";
    return ec;
  }

  static std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i)
      s[i] = static_cast<char>((i * 131 + i / 977) & 0xff);
    return s;
  }

  asio::io_context io_;
  asio::ip::tcp::socket client_socket_{io_};
  asio::ip::tcp::socket server_socket_{io_};
  std::shared_ptr<asio::ssl::context> server_ctx_, client_ctx_;
  std::unique_ptr<TlsStream> client_, server_;
};

TEST_F(TlsStreamTest, TheServersEngineReadsItsDetectionBytesBeforeTheSocket) {
  ASSERT_NO_FATAL_FAILURE(handshake());
  ASSERT_FALSE(write(*client_, "hello over TLS"));
  std::error_code ec;
  EXPECT_EQ(read_all(*server_, 14, 1024, ec), "hello over TLS");
  EXPECT_FALSE(ec) << ec.message();
}

TEST_F(TlsStreamTest, AWriteOfManyRecordsArrivesWholeThroughSmallReads) {
  ASSERT_NO_FATAL_FAILURE(handshake(/*detect=*/5));
  // 64 full records and a partial one, taken 1,000 bytes at a time: reads end inside records.
  const std::string big = pattern((1 << 20) + 7);
  std::error_code read_ec;
  std::string got;
  bool written = false;
  std::error_code write_ec;
  asio::co_spawn(
      io_,
      [&]() -> awaitable<void> {
        write_ec =
            co_await client_->write(reinterpret_cast<const uint8_t*>(big.data()), big.size());
      },
      [&](std::exception_ptr) { written = true; });
  got = read_all(*server_, big.size(), 1000, read_ec);
  ASSERT_TRUE(run_until(written));
  EXPECT_FALSE(write_ec) << write_ec.message();
  EXPECT_FALSE(read_ec) << read_ec.message();
  EXPECT_EQ(got.size(), big.size());
  EXPECT_TRUE(got == big) << "the bytes differ";

  // The other way, three writes taken by reads of up to 256 KiB: every byte, in order.
  const std::string a = pattern(10), b = pattern(70'000), c = pattern(3);
  ASSERT_FALSE(write(*server_, a));
  ASSERT_FALSE(write(*server_, b));
  ASSERT_FALSE(write(*server_, c));
  EXPECT_TRUE(read_all(*client_, a.size() + b.size() + c.size(), 256 * 1024, read_ec) == a + b + c);
  EXPECT_FALSE(read_ec) << read_ec.message();
}

TEST_F(TlsStreamTest, ThePeersSocketEndingMidStreamIsAnErrorNotAnEmptyRead) {
  ASSERT_NO_FATAL_FAILURE(handshake());
  ASSERT_FALSE(write(*client_, "last words"));
  client_socket_.close();  // no close_notify: a cut stream
  std::error_code ec;
  EXPECT_EQ(read_all(*server_, 10, 64, ec), "last words");
  EXPECT_FALSE(ec);
  // Asked for more than was sent: the reads end with an error.
  EXPECT_EQ(read_all(*server_, 100, 64, ec), "");
  EXPECT_TRUE(ec) << "the end of the socket read as data";
}

}  // namespace
}  // namespace comet::remoting
