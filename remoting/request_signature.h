// Signing requests and recomputing what a signature covers (docs/security.md), I/O-free.
//
// comet's scheme: header.auth carries the access key, the signer's clock, a nonce and
// HMAC-SHA256(secretKey, SHA-256(header bytes with the 32 signature bytes zeroed, then the
// body)). The digest is computed once by the server's reader (decode_frame_rest), so the check,
// which needs the account's secret, is one HMAC over 32 bytes.
//
// RocketMQ's ACL 1.0: Base64(HmacSHA1(secretKey, content)), content being every extField value
// but Signature's in ascending key order, then the body (RocketMQ's AclUtils).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "remoting/credentials.h"
#include "remoting/remoting_command.h"

namespace comet::remoting {

using Sha256Digest = std::array<uint8_t, 32>;
constexpr size_t kNonceBytes = 16;
constexpr size_t kSignatureBytes = 32;

// HMAC-SHA256 under one key, with the key's padded blocks hashed once: a signature over a
// digest is then two SHA-256 blocks (a server keeps one per account, a signer its own).
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view secret_key);
  std::array<uint8_t, 32> sign(const Sha256Digest& digest) const;
  // Same secret (a reloaded account may have changed its own).
  bool operator==(const HmacSha256Key&) const = default;

 private:
  // SHA-256 states after the inner and outer padded key blocks (OpenSSL's SHA256_CTX, kept
  // opaque here so the header needs no OpenSSL).
  alignas(8) std::array<uint8_t, 112> inner_{};
  alignas(8) std::array<uint8_t, 112> outer_{};
};

// Signs every request a client connection sends: one per client (its nonces share a random
// 8-byte prefix, then count up). Thread-safe.
class RequestSigner {
 public:
  explicit RequestSigner(Credentials credentials);
  const Credentials& credentials() const { return credentials_; }

  // The frame head (prefix and header) of `cmd` signed at `now_ms`; the body is sent after it
  // as is. Sets cmd.header.auth.
  std::string encode_signed_head(RemotingCommand& cmd, int64_t now_ms);
  // The same with the signer's clock (Unix ms).
  std::string encode_signed_head(RemotingCommand& cmd);
  // The frame head of `cmd` carrying only the access key (RequestAuth::Scheme::kCometSession):
  // for a TLS connection that has already written a signed request. Sets cmd.header.auth.
  std::string encode_session_head(RemotingCommand& cmd) const;

  // The next nonce: the prefix, then the counter big-endian.
  std::string next_nonce();

 private:
  Credentials credentials_;
  HmacSha256Key key_;
  uint64_t prefix_ = 0;
  std::atomic<uint64_t> counter_{0};
};

// Server side: the account a TLS connection proved with a signed request that passed the checks.
// Later requests on that connection may carry the access key alone (RequestAuth::kCometSession);
// they stand for the account while its key is still `key`.
struct VerifiedSigner {
  std::string access_key;
  HmacSha256Key key;
};

// SHA-256 of `header` (the FlatBuffers header bytes of a frame) with the `signature_len` bytes at
// `signature_offset` read as zeros, then of `body`.
Sha256Digest signed_frame_digest(std::string_view header, size_t signature_offset,
                                 size_t signature_len, const Body& body);
Sha256Digest signed_frame_digest(std::string_view header, size_t signature_offset,
                                 size_t signature_len, std::string_view body);

// HMAC-SHA256(secret, digest).
std::array<uint8_t, 32> comet_signature(std::string_view secret_key, const Sha256Digest& digest);
// Whether `auth` (kCometHmacSha256) carries the signature `key` makes, in constant time.
bool comet_signature_matches(const RequestAuth& auth, const HmacSha256Key& key);
bool comet_signature_matches(const RequestAuth& auth, std::string_view secret_key);

// Base64(HmacSHA1(secret, content)), as RocketMQ's AclUtils.calSignature.
std::string rocketmq_acl1_signature(std::string_view secret_key, std::string_view content);
// Whether `auth` (kRocketmqAcl1) carries the signature `secret_key` makes, in constant time.
bool rocketmq_signature_matches(const RequestAuth& auth, std::string_view secret_key);

// Unix ms now (the clock signatures use).
int64_t unix_millis_now();

}  // namespace comet::remoting
