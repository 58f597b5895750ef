// What a server read of a request's signature, for access control to check (docs/security.md).
// The reader fills it for every request that carries one; nothing here is verified yet.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace comet::remoting {

struct RequestAuth {
  enum class Scheme : uint8_t {
    // comet's: HMAC-SHA256 over the frame's digest, with a timestamp and a nonce.
    kCometHmacSha256,
    // RocketMQ's ACL 1.0: Base64(HmacSHA1(secretKey, content)), no replay protection.
    kRocketmqAcl1,
    // comet's, over TLS: the access key alone, no signature. It stands for the signer only on
    // a TLS connection where an earlier request signed by the same account passed the checks
    // (TLS then guarantees the same peer sent it, in order, once: docs/security.md, "How a
    // request is checked").
    kCometSession,
  };
  Scheme scheme = Scheme::kCometHmacSha256;
  std::string access_key;
  // comet: the 32 signature bytes. RocketMQ: the Base64 text as the client sent it.
  std::string signature;
  // kCometHmacSha256 only: the signer's clock (Unix ms), its nonce (16 bytes), and SHA-256 of the
  // frame with the signature bytes zeroed (what the signature is an HMAC of).
  int64_t timestamp_ms = 0;
  std::string nonce;
  std::array<uint8_t, 32> digest{};
  // RocketMQ only: the bytes ACL 1.0 signs (every extField value but Signature's, in key order,
  // then the body).
  std::string content;
};

}  // namespace comet::remoting
