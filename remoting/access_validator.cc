#include "remoting/access_validator.h"

#include <algorithm>
#include <cstdint>

#include "common/group_topics.h"
#include "remoting/remoting_command.h"
#include "remoting/request_signature.h"

namespace comet::remoting {

namespace {

std::string code_label(int32_t code) {
  return request_label(code);
}

AccessDecision refused_decision(std::string message, std::string_view principal = {}) {
  return {Status::permission_denied(std::move(message)), principal, false};
}

AccessDecision admitted_decision(std::string_view principal, bool check_replay) {
  return {Status::ok(), principal, check_replay};
}

bool in_global_whitelist(const PlainAclConfig& config, const std::optional<PeerAddress>& peer) {
  if (!peer) return false;
  for (const RemoteAddressPattern& p : config.global_white_remote_addresses) {
    if (p.matches(*peer)) return true;
  }
  return false;
}

// A request with the access key alone: it needs the connection's verified signer to be that
// account, with the secret it has now.
std::optional<AccessDecision> check_session(const AclSnapshot& snapshot,
                                            const AccessRequest& request,
                                            std::string_view principal) {
  const VerifiedSigner* signer = request.session;
  const auto key = snapshot.signing_keys.find(request.auth->access_key);
  const std::string what =
      "request " + code_label(request.request_code) + " carries no signature, and this connection ";
  if (signer == nullptr || signer->access_key != principal) {
    return refused_decision(what + "has not proved account '" + std::string(principal) +
                                "' with a signed request over TLS",
                            principal);
  }
  if (key == snapshot.signing_keys.end() || !(key->second == signer->key)) {
    return refused_decision(
        what + "proved account '" + std::string(principal) + "' with a secret it no longer has",
        principal);
  }
  return std::nullopt;
}

// Checks a signature made with `secret`; ok, or the refusal. Sets `replay` for comet's scheme.
std::optional<AccessDecision> check_signature(const AclSnapshot& snapshot,
                                              const AccessRequest& request,
                                              std::string_view principal, std::string_view secret,
                                              bool& replay) {
  const RequestAuth& auth = *request.auth;
  if (auth.scheme == RequestAuth::Scheme::kCometSession) {
    replay = false;  // TLS already refuses a replayed or reordered record
    return check_session(snapshot, request, principal);
  }
  if (auth.scheme == RequestAuth::Scheme::kRocketmqAcl1) {
    // RocketMQ's ACL 1.0 signs no time or nonce: nothing to check against replay.
    if (!rocketmq_signature_matches(auth, secret)) {
      return refused_decision("signature does not match for account '" + std::string(principal) +
                                  "' (" + code_label(request.request_code) + ")",
                              principal);
    }
    replay = false;
    return std::nullopt;
  }
  // The clocks' distance in unsigned arithmetic: a hostile timestamp may be any int64, whose
  // difference with ours overflows int64 (found by tests/fuzz/acl_fuzzer).
  const uint64_t skew =
      auth.timestamp_ms >= request.now_ms
          ? static_cast<uint64_t>(auth.timestamp_ms) - static_cast<uint64_t>(request.now_ms)
          : static_cast<uint64_t>(request.now_ms) - static_cast<uint64_t>(auth.timestamp_ms);
  if (skew > static_cast<uint64_t>(std::max<int64_t>(0, snapshot.signature_window_ms))) {
    return refused_decision(
        "signature expired: timestamp " + std::to_string(auth.timestamp_ms) + " is " +
            std::to_string(skew) + " ms from the " + snapshot.server_role + "'s clock (window " +
            std::to_string(snapshot.signature_window_ms) + " ms) for account '" +
            std::string(principal) + "' (" + code_label(request.request_code) + ")",
        principal);
  }
  const auto key = snapshot.signing_keys.find(auth.access_key);
  const bool matches = key != snapshot.signing_keys.end()
                           ? comet_signature_matches(auth, key->second)
                           : comet_signature_matches(auth, secret);
  if (!matches) {
    return refused_decision("signature does not match for account '" + std::string(principal) +
                                "' (" + code_label(request.request_code) + ")",
                            principal);
  }
  replay = true;
  return std::nullopt;
}

// RocketMQ's checkPerm for one resource: the explicit permission, else the default.
uint8_t owned_perm(const AclAccount& account, const RequiredAccess::Resource& r) {
  const auto& table = r.group ? account.group_perms : account.topic_perms;
  if (auto it = table.find(r.name); it != table.end()) return it->second;
  return r.group ? account.default_group_perm : account.default_topic_perm;
}

std::optional<AccessDecision> check_permissions(const AclAccount& account,
                                                const AccessRequest& request,
                                                const RequiredAccess& required) {
  if (required.kind == RequiredAccess::Kind::kClusterOnly) {
    return refused_decision("request " + code_label(request.request_code) +
                                " is for the cluster credential only, not account '" +
                                account.access_key + "'",
                            account.access_key);
  }
  if (required.kind == RequiredAccess::Kind::kAdmin && !account.admin) {
    return refused_decision(
        "account '" + account.access_key + "' lacks admin for " + code_label(request.request_code),
        account.access_key);
  }
  // RocketMQ: an admin account that lists no topic or group permission may use every resource.
  if (account.admin && account.topic_perms.empty() && account.group_perms.empty()) {
    return std::nullopt;
  }
  for (const RequiredAccess::Resource& r : required.resources) {
    const uint8_t owned = owned_perm(account, r);
    if (perm_allows(owned, r.perm)) continue;
    const std::string what = std::string(r.group ? "group '" : "topic '") + std::string(r.name) +
                             "' (" + code_label(request.request_code) + ")";
    if (owned & perm::kDeny) {
      return refused_decision("account '" + account.access_key + "' is denied " + what,
                              account.access_key);
    }
    return refused_decision(
        "account '" + account.access_key + "' lacks " + perm_name(r.perm) + " on " + what,
        account.access_key);
  }
  return std::nullopt;
}

}  // namespace

std::string request_label(int32_t code) {
  const std::string_view name = request_code_name(code);
  if (name == "UNKNOWN") return "code " + std::to_string(code);
  return std::string(name);
}

RequiredAccess& RequiredAccess::topic(std::string_view name, uint8_t p) {
  if (name.empty()) return *this;
  if (name.starts_with(kRetryTopicPrefix)) return group(name.substr(kRetryTopicPrefix.size()), p);
  resources.push_back({name, false, p});
  return *this;
}

RequiredAccess& RequiredAccess::group(std::string_view name, uint8_t p) {
  if (!name.empty()) resources.push_back({name, true, p});
  return *this;
}

Result<AclSnapshot> AclSnapshot::make(PlainAclConfig config, std::optional<Credentials> cluster,
                                      int64_t signature_window_ms, std::string server_role) {
  if (cluster && config.accounts.contains(cluster->access_key)) {
    return Status::invalid_argument("acl account '" + cluster->access_key +
                                    "' uses the cluster credential's access key");
  }
  AclSnapshot s;
  s.config = std::move(config);
  s.cluster = std::move(cluster);
  s.signature_window_ms = signature_window_ms;
  s.server_role = std::move(server_role);
  for (const auto& [access_key, account] : s.config.accounts)
    s.signing_keys.emplace(access_key, HmacSha256Key(account.secret_key));
  if (s.cluster)
    s.signing_keys.emplace(s.cluster->access_key, HmacSha256Key(s.cluster->secret_key));
  return s;
}

AccessDecision decide_access(const AclSnapshot& snapshot, const AccessRequest& request,
                             const RequiredAccess& required) {
  // Parsed only when a whitelist asks (most requests meet none).
  std::optional<std::optional<PeerAddress>> parsed_peer;
  auto peer = [&]() -> const std::optional<PeerAddress>& {
    if (!parsed_peer) parsed_peer = parse_peer_address(request.peer_host);
    return *parsed_peer;
  };
  const bool cluster_only = required.kind == RequiredAccess::Kind::kClusterOnly;
  // 1. The global whitelist passes anything but the cluster's own requests.
  if (!cluster_only && !snapshot.config.global_white_remote_addresses.empty() &&
      in_global_whitelist(snapshot.config, peer())) {
    return admitted_decision({}, false);
  }
  // 2. Signed at all.
  const RequestAuth* auth = request.auth;
  if (auth == nullptr || auth->access_key.empty()) {
    return refused_decision("request " + code_label(request.request_code) + " is not signed");
  }
  bool replay = false;
  // 3. The cluster credential: signed with its secret, it may do everything.
  if (snapshot.cluster && auth->access_key == snapshot.cluster->access_key) {
    const std::string_view principal = snapshot.cluster->access_key;
    if (auto refused =
            check_signature(snapshot, request, principal, snapshot.cluster->secret_key, replay)) {
      return *refused;
    }
    return admitted_decision(principal, replay);
  }
  // 3. A known account.
  const auto it = snapshot.config.accounts.find(auth->access_key);
  if (it == snapshot.config.accounts.end()) {
    return refused_decision("unknown access key '" + auth->access_key + "' (" +
                            code_label(request.request_code) + ")");
  }
  const AclAccount& account = it->second;
  // 4. From the account's whitelist, the address stands for the signature.
  const bool whitelisted = !cluster_only && !account.white_remote_address.empty() && peer() &&
                           account.white_remote_address.matches(*peer());
  // 5. The signature.
  if (!whitelisted) {
    if (auto refused =
            check_signature(snapshot, request, account.access_key, account.secret_key, replay)) {
      return *refused;
    }
  }
  // 6. Permissions.
  if (auto refused = check_permissions(account, request, required)) return *refused;
  return admitted_decision(account.access_key, replay);
}

}  // namespace comet::remoting
