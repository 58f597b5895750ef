#include "remoting/tls_stream.h"

#include "common/logging.h"
#include "remoting/rocketmq_session.h"

namespace comet::remoting {

static_assert(kTlsDetectBytes >= kProtocolDetectBytes, "detect_protocol decides on these bytes");

std::unique_ptr<TlsStream> make_tls_stream(PrefixedSocket socket, asio::ssl::context& context) {
  auto stream = std::make_unique<TlsStream>(std::move(socket), context);
  SSL_clear_mode(stream->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  return stream;
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
