// Request signatures (remoting/request_signature.h): what a client signs is what the server's
// decoder recomputes, and any change to the frame or the key breaks the match.
#include "remoting/request_signature.h"

#include <gtest/gtest.h>

namespace comet::remoting {
namespace {

RemotingCommand send_request(std::string body) {
  RemotingCommand cmd = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  protocol::SendMessageRequestT ext;
  ext.topic = "orders";
  ext.queue_id = 3;
  cmd.set_ext(std::move(ext));
  cmd.header.opaque = 7;
  cmd.body.owned = std::move(body);
  return cmd;
}

std::string signed_frame(RequestSigner& signer, RemotingCommand cmd, int64_t now_ms) {
  std::string frame = signer.encode_signed_head(cmd, now_ms);
  return frame + cmd.body.to_string();
}

RemotingCommand decode(const std::string& frame) {
  auto cmd = decode_frame(frame, kDefaultMaxFrameBytes);
  EXPECT_TRUE(cmd.is_ok()) << cmd.status().to_string();
  return std::move(cmd).value();
}

TEST(RequestSignature, ServerRecomputesWhatTheClientSigned) {
  RequestSigner signer({"app", "s3cret"});
  const RemotingCommand got =
      decode(signed_frame(signer, send_request("hello"), 1'700'000'000'000));
  ASSERT_NE(got.auth, nullptr);
  EXPECT_EQ(got.auth->access_key, "app");
  EXPECT_EQ(got.auth->timestamp_ms, 1'700'000'000'000);
  EXPECT_EQ(got.auth->nonce.size(), kNonceBytes);
  EXPECT_TRUE(comet_signature_matches(*got.auth, "s3cret"));
  EXPECT_FALSE(comet_signature_matches(*got.auth, "s3cres"));
  EXPECT_EQ(got.body.to_string(), "hello");
  EXPECT_EQ(got.header.auth, nullptr);  // moved into cmd.auth
}

TEST(RequestSignature, AnyChangedByteBreaksTheSignature) {
  RequestSigner signer({"app", "s3cret"});
  const std::string frame = signed_frame(signer, send_request("hello"), 1'700'000'000'000);
  int decoded = 0;
  for (size_t i = kFramePrefixSize; i < frame.size(); ++i) {
    std::string changed = frame;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    auto cmd = decode_frame(changed, kDefaultMaxFrameBytes);
    if (!cmd.is_ok() || cmd->auth == nullptr) continue;  // the verifier refused it outright
    ++decoded;
    EXPECT_FALSE(comet_signature_matches(*cmd->auth, "s3cret")) << "byte " << i;
  }
  EXPECT_GT(decoded, 20);
}

std::string hex(const std::array<uint8_t, 32>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

TEST(RequestSignature, TheSignatureIsHmacSha256OfTheDigest) {
  // Expected values from Python's hmac.new(key, bytes(range(32)), hashlib.sha256): a short key,
  // a key of exactly one block, and a longer key (hashed first, as RFC 2104 says).
  Sha256Digest digest;
  for (size_t i = 0; i < digest.size(); ++i)
    digest[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(hex(comet_signature("s3cret", digest)),
            "336266fe4a9c85bad2b0189849d662fd93934ca115f67b8d98d972bae8cd3082");
  EXPECT_EQ(hex(comet_signature(std::string(64, 'k'), digest)),
            "9575a25927fa1a28c70d256cd552b99ee658cd6253eb4d3acf4e17fe2da62db5");
  EXPECT_EQ(hex(comet_signature(std::string(100, 'k'), digest)),
            "c319d761a2360bc0bffd7de81fa073f18b558f38c8bdba95aa379b4c93eb6cdd");
}

TEST(RequestSignature, NoncesAreUniquePerSignerAndCountUp) {
  RequestSigner a({"app", "k"}), b({"app", "k"});
  const std::string a1 = a.next_nonce(), a2 = a.next_nonce(), b1 = b.next_nonce();
  EXPECT_EQ(a1.substr(0, 8), a2.substr(0, 8));
  EXPECT_NE(a1.substr(0, 8), b1.substr(0, 8));
  EXPECT_LT(a1.substr(8), a2.substr(8));
}

TEST(RequestSignature, ResponsesCarryNoAuth) {
  RequestSigner signer({"app", "k"});
  RemotingCommand req = send_request("x");
  RemotingCommand resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  EXPECT_EQ(decode(encode_frame(resp)).auth, nullptr);
}

TEST(RequestSignature, RocketmqAcl1MatchesJavasHmacSha1Base64) {
  // HmacSHA1("12345678", "RocketMQ") in Base64, as javax.crypto computes it.
  RequestAuth auth;
  auth.scheme = RequestAuth::Scheme::kRocketmqAcl1;
  auth.content = "RocketMQ";
  auth.signature = rocketmq_acl1_signature("12345678", auth.content);
  EXPECT_EQ(auth.signature, "IUc8rrO/0gDch8CjObLQsW2rsiA=");
  EXPECT_TRUE(rocketmq_signature_matches(auth, "12345678"));
  EXPECT_FALSE(rocketmq_signature_matches(auth, "12345679"));
}

}  // namespace
}  // namespace comet::remoting
