#include "remoting/tls_stream.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/error.hpp>

#include "common/logging.h"
#include "remoting/rocketmq_session.h"

namespace comet::remoting {

using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;

static_assert(kTlsDetectBytes >= kProtocolDetectBytes, "detect_protocol decides on these bytes");

namespace {

// The read buffer starts a little above one record (16 KiB and its overhead) and doubles each
// time a socket read fills it, so an idle connection keeps little and a busy one takes several
// records per read. 64 KiB measured as fast as 256 KiB on a DLedger group's streams, for a
// quarter of the memory per busy connection.
constexpr size_t kTlsReadBufferMinBytes = 17 * 1024;
constexpr size_t kTlsReadBufferMaxBytes = 64 * 1024;

}  // namespace

// The BIO between OpenSSL and a TlsStream's buffers. OpenSSL reads ciphertext from in_ and
// appends what it writes to out_; it never blocks: an empty in_ is a retryable read.
struct TlsBio {
  static TlsStream& stream(BIO* bio) { return *static_cast<TlsStream*>(BIO_get_data(bio)); }

  static int write(BIO* bio, const char* data, size_t n, size_t* written) {
    auto& out = stream(bio).out_;
    out.insert(out.end(), data, data + n);
    *written = n;
    return 1;
  }

  static int read(BIO* bio, char* data, size_t n, size_t* read) {
    TlsStream& s = stream(bio);
    BIO_clear_retry_flags(bio);
    const size_t take = std::min(n, s.in_end_ - s.in_begin_);
    *read = take;
    if (take == 0) {
      BIO_set_retry_read(bio);
      return 0;
    }
    std::memcpy(data, s.in_.data() + s.in_begin_, take);
    s.in_begin_ += take;
    return 1;
  }

  static long control(BIO* bio, int cmd, long /*num*/, void* /*ptr*/) {
    TlsStream& s = stream(bio);
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;  // flushed by the stream after each engine call
      case BIO_CTRL_PENDING:
        return static_cast<long>(s.in_end_ - s.in_begin_);
      case BIO_CTRL_WPENDING:
        return static_cast<long>(s.out_.size());
      default:
        return 0;
    }
  }

  static BIO_METHOD* method() {
    static BIO_METHOD* const m = [] {
      BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "comet tls");
      if (made == nullptr) throw std::bad_alloc();
      BIO_meth_set_write_ex(made, write);
      BIO_meth_set_read_ex(made, read);
      BIO_meth_set_ctrl(made, control);
      return made;
    }();
    return m;
  }
};

TlsStream::TlsStream(asio::ip::tcp::socket& socket, asio::ssl::context& context, Role role,
                     std::vector<uint8_t> prefix)
    : socket_(socket), ssl_(SSL_new(context.native_handle())), in_(std::move(prefix)) {
  if (ssl_ == nullptr) throw std::bad_alloc();
  BIO* bio = BIO_new(TlsBio::method());
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // the SSL owns it now
  if (role == Role::kServer) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
  in_end_ = in_.size();
  in_.resize(std::max(in_.size(), kTlsReadBufferMinBytes));
}

TlsStream::~TlsStream() {
  SSL_free(ssl_);
}

void TlsStream::expect_host(const std::string& host, bool verify) {
  std::error_code not_ip;
  asio::ip::make_address(host, not_ip);
  // SNI: a server with several names picks the certificate for this one.
  if (not_ip) SSL_set_tlsext_host_name(ssl_, host.c_str());
  // OpenSSL 3 checks an address literal against the IP SANs, a name against the DNS ones.
  if (verify) SSL_set1_host(ssl_, host.c_str());
}

std::error_code TlsStream::failure(int ssl_error) const {
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return asio::error::eof;  // the peer's close_notify
  if (ssl_error == SSL_ERROR_SSL) {
    // Asio's category, so a refusal reads as it did ("certificate verify failed").
    if (const unsigned long e = ERR_get_error(); e != 0) {
      return {static_cast<int>(e), asio::error::get_ssl_category()};
    }
  }
  if (ssl_error == SSL_ERROR_SYSCALL) return asio::ssl::error::stream_truncated;
  return asio::ssl::error::unexpected_result;  // never a zero code: callers stop on it
}

awaitable<std::error_code> TlsStream::handshake() {
  while (true) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    const int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
    const std::error_code failed =
        e == SSL_ERROR_NONE || e == SSL_ERROR_WANT_READ ? std::error_code() : failure(e);
    // The engine's records go out first, a refusal's alert too.
    const std::error_code sent = co_await flush();
    if (failed) co_return failed;
    if (sent) co_return sent;
    if (e == SSL_ERROR_NONE) co_return std::error_code();
    if (std::error_code ec = co_await fill()) co_return ec;
  }
}

awaitable<std::tuple<std::error_code, size_t>> TlsStream::read_some(asio::mutable_buffer space) {
  auto* out = static_cast<uint8_t*>(space.data());
  while (true) {
    // Every record buffered, as far as `space` goes (SSL_read yields one record per call).
    size_t total = 0;
    int e = SSL_ERROR_NONE;
    while (total < space.size()) {
      ERR_clear_error();
      size_t got = 0;
      if (SSL_read_ex(ssl_, out + total, space.size() - total, &got) != 1) {
        e = SSL_get_error(ssl_, 0);
        break;
      }
      total += got;
    }
    if (total > 0) co_return std::make_tuple(std::error_code(), total);
    if (e != SSL_ERROR_WANT_READ) co_return std::make_tuple(failure(e), size_t{0});
    if (std::error_code ec = co_await fill()) co_return std::make_tuple(ec, size_t{0});
  }
}

awaitable<std::error_code> TlsStream::write(const uint8_t* data, size_t n) {
  ERR_clear_error();
  size_t written = 0;
  // The BIO takes every byte, so the engine writes all of `data` in one call.
  if (SSL_write_ex(ssl_, data, n, &written) != 1) co_return failure(SSL_get_error(ssl_, 0));
  co_return co_await flush();
}

awaitable<std::error_code> TlsStream::flush() {
  while (!out_.empty()) {
    sending_.clear();
    sending_.swap(out_);
    auto [ec, n] =
        co_await asio::async_write(socket_, asio::buffer(sending_), as_tuple(use_awaitable));
    if (ec) co_return ec;
  }
  co_return std::error_code();
}

awaitable<std::error_code> TlsStream::fill() {
  // The engine takes every byte it is offered (a partial record into its own buffer), so in_
  // is empty here but for a server's detection bytes the first time.
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
  } else if (in_begin_ > 0) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  if (in_end_ == in_.size()) in_.resize(in_.size() * 2);
  auto [ec, n] = co_await socket_.async_read_some(
      asio::buffer(in_.data() + in_end_, in_.size() - in_end_), as_tuple(use_awaitable));
  if (ec) co_return ec;
  in_end_ += n;
  if (in_end_ == in_.size() && in_.size() < kTlsReadBufferMaxBytes) {
    in_.resize(std::min(2 * in_.size(), kTlsReadBufferMaxBytes));  // more may be waiting
  }
  co_return std::error_code();
}

FirstBytes classify_first_bytes(const uint8_t* bytes, size_t n) {
  if (n == 0) return FirstBytes::kNeedMore;
  if (bytes[0] != 0x16) return FirstBytes::kPlain;
  if (n < 2) return FirstBytes::kNeedMore;
  if (bytes[1] != 0x03) return FirstBytes::kPlain;
  // A ClientHello is longer than this; a native frame says so at bytes 12..15.
  if (n < kTlsDetectBytes) return FirstBytes::kNeedMore;
  return detect_protocol(bytes, n) == Protocol::kNative ? FirstBytes::kPlain : FirstBytes::kTls;
}

void TlsRefusalLog::refused(const std::string& peer, const std::string& why) {
  const auto now = std::chrono::steady_clock::now();
  uint64_t count = 0;
  {
    std::lock_guard lock(mu_);
    ++unlogged_;
    if (now - last_ < std::chrono::seconds(1)) return;
    count = std::exchange(unlogged_, 0);
    last_ = now;
  }
  logger("remoting")->warn("refused {} connection(s), the last from {}: {}", count, peer, why);
}

}  // namespace comet::remoting
