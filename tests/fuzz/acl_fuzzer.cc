// Access control's parsers and decision on arbitrary input. The first byte picks what the rest
// is: an accounts file (plain_acl.yml), a whitelist pattern and a peer address (one line each),
// a credentials file (tools.yml), or native frames whose signatures go through a broker's gate
// (the broker's permission table, fixed accounts and clock; peers taken from the input).
// Properties: no crash; every error is typed and never quotes a secret; a frame the gate admits
// from a peer outside every whitelist carries a signature that verifies with its account's
// secret; a comet-signed frame is admitted at most once (the replay guard).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "broker/request_access.h"
#include "common/logging.h"
#include "fuzz/acl_seeds.h"
#include "remoting/acl_gate.h"
#include "remoting/credentials.h"
#include "remoting/plain_acl.h"
#include "remoting/remote_address.h"

using namespace comet;
using namespace comet::remoting;

namespace {

[[noreturn]] void fail(const char* what) {
  __builtin_printf("acl_fuzzer: %s\n", what);
  std::abort();
}

void check_error(const Status& s, Code expected) {
  if (s.is_ok()) return;
  if (s.code() != expected) fail("an error of another type");
  if (s.message().empty()) fail("an error without a message");
}

void fuzz_accounts(std::string_view text) {
  auto config = parse_plain_acl(text, "fuzz.yml");
  if (!config.is_ok()) return check_error(config.status(), Code::kInvalidArgument);
  for (const auto& [key, account] : config->accounts) {
    if (key != account.access_key) fail("an account filed under another key");
    if (account.secret_key.size() < kMinSecretKeyLength) fail("a short secret was accepted");
  }
}

void fuzz_address(std::string_view text) {
  const size_t nl = text.find('\n');
  const std::string_view pattern_text = text.substr(0, nl);
  auto pattern = RemoteAddressPattern::parse(pattern_text);
  if (!pattern.is_ok()) return check_error(pattern.status(), Code::kInvalidArgument);
  if (nl == std::string_view::npos) return;
  if (auto peer = parse_peer_address(text.substr(nl + 1))) {
    const bool matched = pattern->matches(*peer);
    if (pattern->matches_any() && !matched) fail("'*' did not match");
    if (pattern->empty() && matched) fail("an empty pattern matched");
  }
}

void fuzz_credentials(std::string_view text) {
  static const std::string path = "/tmp/acl_fuzzer-" + std::to_string(::getpid()) + ".yml";
  {
    std::ofstream f(path, std::ios::trunc | std::ios::binary);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  auto c = load_credentials_file(path);
  if (c.is_ok() && (c->access_key.empty() || c->secret_key.empty())) {
    fail("credentials without a key were accepted");
  }
  if (!c.is_ok() && c.status().message().empty()) fail("an error without a message");
}

std::shared_ptr<AclGate> make_gate() {
  auto config = parse_plain_acl(fuzz::acl_fuzz_accounts(), "fuzz.yml");
  if (!config.is_ok()) fail("the fixed accounts do not parse");
  AclGateOptions options;
  options.signature_window_ms = 300'000;
  options.cluster = Credentials{"cluster-key", "cluster-secret-1"};
  auto gate =
      AclGate::with_config(std::move(config).value(), options, &broker::broker_required_access);
  if (!gate.is_ok()) fail("the fixed gate cannot be made");
  return gate.value();
}

const char* secret_of(const std::string& access_key) {
  if (access_key == "app") return "app-secret-1";
  if (access_key == "ops") return "ops-secret-1";
  if (access_key == "cluster-key") return "cluster-secret-1";
  return nullptr;
}

void fuzz_gate_frames(const uint8_t* data, size_t size) {
  // A fresh gate per input: the replay guard's memory is part of what is checked.
  const std::shared_ptr<AclGate> gate = make_gate();
  // A remark names topics and groups from the request: it may hold a secret's text only when the
  // input does.
  const bool input_has_secret =
      std::string_view(reinterpret_cast<const char*>(data), size).find("-secret-1") !=
      std::string_view::npos;
  constexpr uint32_t kMaxFrame = 1 << 20;
  size_t at = 0;
  for (int frames = 0; frames < 64 && size - at > kFramePrefixSize; ++frames) {
    // One byte before each frame picks its peer: outside every whitelist, or in one.
    static const char* const kPeers[] = {"127.0.0.1:1", "127.0.0.2:1", "10.9.1.1:1",
                                         "192.168.1.2:1", "::1:1"};
    const char* peer = kPeers[data[at++] % 5];
    auto prefix = decode_prefix(data + at, kMaxFrame);
    if (!prefix.is_ok()) return;
    const size_t frame_bytes = kFramePrefixSize + prefix->rest();
    if (size - at < frame_bytes) return;
    auto cmd = decode_frame_rest(*prefix, data + at + kFramePrefixSize);
    at += frame_bytes;
    if (!cmd.is_ok()) continue;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const Status s = gate->admit_from(peer, *cmd, fuzz::kAclFuzzNowMs);
      if (!s.is_ok()) {
        if (s.code() != Code::kPermissionDenied) fail("a refusal of another type");
        if (!input_has_secret && s.message().find("-secret-1") != std::string::npos) {
          fail("a refusal quotes a secret");
        }
        break;
      }
      if (std::string_view(peer) != "127.0.0.1:1") break;  // whitelists admit without a check
      if (!cmd->auth) fail("an unsigned frame was admitted");
      const char* secret = secret_of(cmd->auth->access_key);
      if (secret == nullptr) fail("an unknown account was admitted");
      const bool verified = cmd->auth->scheme == RequestAuth::Scheme::kCometHmacSha256
                                ? comet_signature_matches(*cmd->auth, secret)
                                : rocketmq_signature_matches(*cmd->auth, secret);
      if (!verified) fail("a frame was admitted without a valid signature");
      // RocketMQ's ACL 1.0 has no replay protection (as RocketMQ).
      if (attempt == 1 && cmd->auth->scheme == RequestAuth::Scheme::kCometHmacSha256) {
        fail("a replayed frame was admitted");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Refusals are logged by design; here they would only slow the search.
  static const bool quiet = (set_log_level("off"), true);
  (void)quiet;
  if (size == 0 || size > (1 << 16)) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case fuzz::kAclFile:
      fuzz_accounts(rest);
      break;
    case fuzz::kAddress:
      fuzz_address(rest);
      break;
    case fuzz::kCredentials:
      fuzz_credentials(rest);
      break;
    case fuzz::kGateFrame:
      fuzz_gate_frames(data + 1, size - 1);
      break;
  }
  return 0;
}
