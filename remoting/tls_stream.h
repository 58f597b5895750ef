// TLS under a Connection (remoting/connection.h): the stream an accepted or dialled socket is
// wrapped in, the test that tells a TLS ClientHello from a plain frame on a server port, and the
// rate-limited log of refused handshakes.
//
// A server in permissive or enforcing mode reads a connection's first bytes itself to decide
// (RocketMQ's TlsModeHandler peeks at the first byte the same way); those bytes then belong to
// the TLS engine, which reads them before the socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include <openssl/ssl.h>
#include <asio.hpp>
#include <asio/ssl/context.hpp>

namespace comet::remoting {

// TLS over a connected socket: OpenSSL's engine, fed and drained by this stream through a BIO
// of its own (two byte buffers), so that one socket read hands the engine every record that has
// arrived and one socket write sends every record a write made. Asio's ssl::stream moves one
// 16 KiB record per socket operation and per handler through a 17 KiB BIO pair, an extra copy
// each way; on a replication stream that was most of what TLS cost beyond the cipher.
//
// Reads and writes may be in flight together, on one strand: OpenSSL is only called between
// socket operations, never while one is suspended. Records the engine writes while reading
// (a TLS 1.3 key update's answer) wait for the next write's flush.
class TlsStream {
 public:
  enum class Role { kClient, kServer };

  // `prefix`: bytes already read from the socket (a server's TLS detection), read first.
  TlsStream(asio::ip::tcp::socket& socket, asio::ssl::context& context, Role role,
            std::vector<uint8_t> prefix = {});
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Client: send `host` as SNI (unless it is an address literal) and, with `verify`, require
  // the server's certificate to name it (a DNS SAN, or an IP SAN for an address literal).
  void expect_host(const std::string& host, bool verify);

  asio::awaitable<std::error_code> handshake();
  // Decrypts into `space` every byte the records that have arrived hold (at least one byte;
  // reads the socket only when none is buffered). End of stream or a TLS error: an error code.
  asio::awaitable<std::tuple<std::error_code, size_t>> read_some(asio::mutable_buffer space);
  // Encrypts `n` bytes into records and writes them with one socket write.
  asio::awaitable<std::error_code> write(const uint8_t* data, size_t n);

 private:
  friend struct TlsBio;
  // Sends every byte the engine has written (out_) with socket writes.
  asio::awaitable<std::error_code> flush();
  // One socket read into in_, which grows (up to 64 KiB) each time a read fills it.
  asio::awaitable<std::error_code> fill();
  // The error of a failed SSL call whose SSL_get_error was `ssl_error`.
  std::error_code failure(int ssl_error) const;

  asio::ip::tcp::socket& socket_;
  SSL* ssl_ = nullptr;
  // Ciphertext read from the socket, not yet taken by the engine: [in_begin_, in_end_).
  std::vector<uint8_t> in_;
  size_t in_begin_ = 0, in_end_ = 0;
  // Ciphertext the engine wrote, not yet sent; sending_ holds what a socket write has in flight,
  // so that the engine's appends to out_ meanwhile never move it.
  std::vector<uint8_t> out_;
  std::vector<uint8_t> sending_;
};

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
