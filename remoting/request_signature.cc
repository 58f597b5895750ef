#include "remoting/request_signature.h"

#include <chrono>
#include <cstring>
#include <random>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace comet::remoting {

namespace {

// SHA-256 fed piece by piece. OpenSSL's low-level SHA256_* functions, deprecated in 3.0 in
// favour of EVP but present in every 3.x (this file is built with OPENSSL_SUPPRESS_DEPRECATED,
// remoting/CMakeLists.txt): an EVP digest costs an init and a final through the
// provider per use (about 300 ns per signed frame here), and an EVP context cannot be copied
// without an allocation, which the precomputed HMAC key states below need.
class Sha256 {
 public:
  Sha256() { SHA256_Init(&ctx_); }
  explicit Sha256(const SHA256_CTX& state) : ctx_(state) {}
  void update(const void* p, size_t n) {
    if (n > 0) SHA256_Update(&ctx_, p, n);
  }
  Sha256Digest finish() {
    Sha256Digest out{};
    SHA256_Final(out.data(), &ctx_);
    return out;
  }
  const SHA256_CTX& state() const { return ctx_; }

 private:
  SHA256_CTX ctx_;
};

void update_header(Sha256& sha, std::string_view header, size_t offset, size_t len) {
  static constexpr uint8_t kZeros[64] = {};
  offset = std::min(offset, header.size());
  len = std::min(len, header.size() - offset);
  sha.update(header.data(), offset);
  for (size_t done = 0; done < len; done += sizeof kZeros)
    sha.update(kZeros, std::min(sizeof kZeros, len - done));
  sha.update(header.data() + offset + len, header.size() - offset - len);
}

std::string base64(const uint8_t* p, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

}  // namespace

RequestSigner::RequestSigner(Credentials credentials)
    : credentials_(std::move(credentials)), key_(credentials_.secret_key) {
  std::random_device rd;
  prefix_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

std::string RequestSigner::next_nonce() {
  const uint64_t n = counter_.fetch_add(1, std::memory_order_relaxed) + 1;
  std::string nonce(kNonceBytes, '\0');
  for (int i = 0; i < 8; ++i) {
    nonce[i] = static_cast<char>(prefix_ >> (56 - 8 * i));
    nonce[8 + i] = static_cast<char>(n >> (56 - 8 * i));
  }
  return nonce;
}

std::string RequestSigner::encode_signed_head(RemotingCommand& cmd) {
  return encode_signed_head(cmd, unix_millis_now());
}

std::string RequestSigner::encode_signed_head(RemotingCommand& cmd, int64_t now_ms) {
  auto auth = std::make_unique<protocol::RequestSignatureT>();
  auth->access_key = credentials_.access_key;
  auth->timestamp_ms = now_ms;
  const std::string nonce = next_nonce();
  auth->nonce.assign(nonce.begin(), nonce.end());
  auth->signature.assign(kSignatureBytes, 0);
  cmd.header.auth = std::move(auth);
  std::string head = encode_frame_head(cmd, cmd.body.size());
  // Find the zeroed signature in the encoded header, sign, and write the signature there.
  auto* header = reinterpret_cast<uint8_t*>(head.data() + kFramePrefixSize);
  const std::string_view header_bytes(head.data() + kFramePrefixSize,
                                      head.size() - kFramePrefixSize);
  const auto* sig = protocol::GetHeader(header)->auth()->signature();
  const size_t offset = static_cast<size_t>(sig->data() - header);
  const Sha256Digest digest = signed_frame_digest(header_bytes, offset, kSignatureBytes, cmd.body);
  const auto mac = key_.sign(digest);
  std::memcpy(header + offset, mac.data(), mac.size());
  return head;
}

std::string RequestSigner::encode_session_head(RemotingCommand& cmd) const {
  auto auth = std::make_unique<protocol::RequestSignatureT>();
  auth->access_key = credentials_.access_key;
  cmd.header.auth = std::move(auth);
  return encode_frame_head(cmd, cmd.body.size());
}

Sha256Digest signed_frame_digest(std::string_view header, size_t signature_offset,
                                 size_t signature_len, const Body& body) {
  Sha256 sha;
  update_header(sha, header, signature_offset, signature_len);
  sha.update(body.owned.data(), body.owned.size());
  for (const auto& [p, n] : body.views)
    sha.update(p, n);
  return sha.finish();
}

Sha256Digest signed_frame_digest(std::string_view header, size_t signature_offset,
                                 size_t signature_len, std::string_view body) {
  Sha256 sha;
  update_header(sha, header, signature_offset, signature_len);
  sha.update(body.data(), body.size());
  return sha.finish();
}

HmacSha256Key::HmacSha256Key(std::string_view secret_key) {
  static_assert(sizeof(SHA256_CTX) <= sizeof(inner_));
  // RFC 2104: a key longer than a block is hashed first; then the inner and outer padded blocks.
  constexpr size_t kBlock = 64;
  std::array<uint8_t, kBlock> key{};
  if (secret_key.size() > kBlock) {
    Sha256 long_key;
    long_key.update(secret_key.data(), secret_key.size());
    const Sha256Digest k = long_key.finish();
    std::memcpy(key.data(), k.data(), k.size());
  } else {
    std::memcpy(key.data(), secret_key.data(), secret_key.size());
  }
  std::array<uint8_t, kBlock> pad;
  for (auto [state, mask] :
       {std::pair{&inner_, uint8_t{0x36}}, std::pair{&outer_, uint8_t{0x5c}}}) {
    for (size_t i = 0; i < kBlock; ++i)
      pad[i] = key[i] ^ mask;
    Sha256 sha;
    sha.update(pad.data(), pad.size());
    std::memcpy(state->data(), &sha.state(), sizeof(SHA256_CTX));
  }
}

std::array<uint8_t, 32> HmacSha256Key::sign(const Sha256Digest& digest) const {
  SHA256_CTX state;
  std::memcpy(&state, inner_.data(), sizeof state);
  Sha256 inner(state);
  inner.update(digest.data(), digest.size());
  const Sha256Digest inner_hash = inner.finish();
  std::memcpy(&state, outer_.data(), sizeof state);
  Sha256 outer(state);
  outer.update(inner_hash.data(), inner_hash.size());
  return outer.finish();
}

std::array<uint8_t, 32> comet_signature(std::string_view secret_key, const Sha256Digest& digest) {
  return HmacSha256Key(secret_key).sign(digest);
}

bool comet_signature_matches(const RequestAuth& auth, const HmacSha256Key& key) {
  if (auth.scheme != RequestAuth::Scheme::kCometHmacSha256) return false;
  if (auth.signature.size() != kSignatureBytes) return false;
  const auto expected = key.sign(auth.digest);
  return CRYPTO_memcmp(expected.data(), auth.signature.data(), kSignatureBytes) == 0;
}

bool comet_signature_matches(const RequestAuth& auth, std::string_view secret_key) {
  return comet_signature_matches(auth, HmacSha256Key(secret_key));
}

std::string rocketmq_acl1_signature(std::string_view secret_key, std::string_view content) {
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret_key.data(), static_cast<int>(secret_key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &len);
  return base64(mac, len);
}

bool rocketmq_signature_matches(const RequestAuth& auth, std::string_view secret_key) {
  if (auth.scheme != RequestAuth::Scheme::kRocketmqAcl1) return false;
  const std::string expected = rocketmq_acl1_signature(secret_key, auth.content);
  return expected.size() == auth.signature.size() &&
         CRYPTO_memcmp(expected.data(), auth.signature.data(), expected.size()) == 0;
}

int64_t unix_millis_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace comet::remoting
