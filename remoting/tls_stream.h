// TLS under a Connection (remoting/connection.h): the stream an accepted or dialled socket is
// wrapped in, the test that tells a TLS ClientHello from a plain frame on a server port, and the
// rate-limited log of refused handshakes.
//
// A server in permissive or enforcing mode reads a connection's first bytes itself to decide
// (RocketMQ's TlsModeHandler peeks at the first byte the same way); those bytes then belong to
// the TLS engine, which reads them again through PrefixedSocket before the socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <asio.hpp>
#include <asio/ssl.hpp>

namespace comet::remoting {

// A socket that returns `prefix` first, then reads the socket. The TLS stream's next layer: the
// bytes a server read to detect TLS are handed to the engine without peeking.
class PrefixedSocket {
 public:
  using executor_type = asio::ip::tcp::socket::executor_type;
  using lowest_layer_type = asio::ip::tcp::socket::lowest_layer_type;

  explicit PrefixedSocket(asio::ip::tcp::socket& socket, std::vector<uint8_t> prefix = {})
      : socket_(&socket), prefix_(std::move(prefix)) {}

  executor_type get_executor() { return socket_->get_executor(); }
  lowest_layer_type& lowest_layer() { return socket_->lowest_layer(); }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, size_t)>(
        [this](auto handler, const MutableBuffers& bufs) {
          if (offset_ == prefix_.size()) {
            socket_->async_read_some(bufs, std::move(handler));
            return;
          }
          const size_t n = asio::buffer_copy(bufs, asio::buffer(prefix_) + offset_);
          offset_ += n;
          if (offset_ == prefix_.size()) {  // replayed: give its memory back
            std::vector<uint8_t>().swap(prefix_);
            offset_ = 0;
          }
          // Completes later, never inside the initiating call (Asio's rule).
          auto ex = asio::get_associated_executor(handler, socket_->get_executor());
          asio::post(ex, [h = std::move(handler), n]() mutable { h(std::error_code(), n); });
        },
        token, buffers);
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return socket_->async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  asio::ip::tcp::socket* socket_;
  std::vector<uint8_t> prefix_;
  size_t offset_ = 0;
};

using TlsStream = asio::ssl::stream<PrefixedSocket>;

// A TLS stream over `socket`. Asio asks OpenSSL to free a connection's record buffers whenever
// they empty (SSL_MODE_RELEASE_BUFFERS) and to allocate them again for the next record: on a
// busy link that is a 17 KiB malloc and free per record each way. A connection keeps them here
// (about 34 KiB).
std::unique_ptr<TlsStream> make_tls_stream(PrefixedSocket socket, asio::ssl::context& context);

// What a server connection's first bytes are. A TLS record starts 0x16 0x03 (handshake, version
// 3.x); a native frame's little-endian length can start the same way, so those two bytes decide
// only with its header identifier at bytes 12..15 ("CMT1") ruled out, and a RocketMQ frame that
// starts 0x16 would announce over 300 MB.
enum class FirstBytes { kNeedMore, kTls, kPlain };
FirstBytes classify_first_bytes(const uint8_t* bytes, size_t n);
// Bytes classify_first_bytes needs at most.
constexpr size_t kTlsDetectBytes = 16;

// Refused connections of one server (handshake failures, plain connections in enforcing mode),
// logged as warn at most once a second with the count of those not logged since.
class TlsRefusalLog {
 public:
  void refused(const std::string& peer, const std::string& why);

 private:
  std::mutex mu_;
  uint64_t unlogged_ = 0;                         // guarded by mu_
  std::chrono::steady_clock::time_point last_{};  // guarded by mu_
};

}  // namespace comet::remoting
