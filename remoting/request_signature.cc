#include "remoting/request_signature.h"

#include <chrono>
#include <cstring>
#include <random>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace comet::remoting {

namespace {

// SHA-256 fed piece by piece; one context per thread, reused.
class Sha256 {
 public:
  Sha256() {
    thread_local EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ctx_ = ctx;
    EVP_DigestInit_ex(ctx_, sha256(), nullptr);
  }
  void update(const void* p, size_t n) {
    if (n > 0) EVP_DigestUpdate(ctx_, p, n);
  }
  Sha256Digest finish() {
    Sha256Digest out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out.data(), &len);
    return out;
  }

 private:
  // Fetched once: an implicit fetch per digest costs a lookup under a lock in OpenSSL 3.
  static const EVP_MD* sha256() {
    static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
  }
  EVP_MD_CTX* ctx_;
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

RequestSigner::RequestSigner(Credentials credentials) : credentials_(std::move(credentials)) {
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
  const auto mac = comet_signature(credentials_.secret_key, digest);
  std::memcpy(header + offset, mac.data(), mac.size());
  return head;
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

std::array<uint8_t, 32> comet_signature(std::string_view secret_key, const Sha256Digest& digest) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_key.data(), static_cast<int>(secret_key.size()), digest.data(),
       digest.size(), out.data(), &len);
  return out;
}

bool comet_signature_matches(const RequestAuth& auth, std::string_view secret_key) {
  if (auth.scheme != RequestAuth::Scheme::kCometHmacSha256) return false;
  if (auth.signature.size() != kSignatureBytes) return false;
  const auto expected = comet_signature(secret_key, auth.digest);
  return CRYPTO_memcmp(expected.data(), auth.signature.data(), kSignatureBytes) == 0;
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
