// Whether one request may run (docs/security.md): a pure decision over the accounts in force,
// the peer's address, the request's signature and what the request needs. The gate
// (remoting/acl_gate.h) runs it for every request and then asks the replay guard when told to.
//
// The order is RocketMQ's PlainPermissionManager.validate:
//   1. a peer in globalWhiteRemoteAddresses passes (never for cluster-only requests);
//   2. the request names an access key, 3. a known one (an account, or the cluster credential);
//   4. a peer in the account's whiteRemoteAddress needs no signature (comet still checks the
//      account's permissions; RocketMQ skips them);
//   5. the signature: comet's needs its timestamp within the signature window of the server's
//      clock and its HMAC to match (then the replay guard); RocketMQ's ACL 1.0 its HmacSHA1;
//   6. permissions: cluster-only requests need the cluster credential, admin-only ones an admin
//      account, and each resource its permission (explicit, else the account's default; DENY
//      refuses; %RETRY%<group> topics are checked as the group). The cluster credential may do
//      everything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "remoting/credentials.h"
#include "remoting/plain_acl.h"
#include "remoting/remote_address.h"
#include "remoting/request_auth.h"
#include "remoting/request_signature.h"

namespace comet::remoting {

// What a request needs (built per request by the server's table, broker/request_access.h and
// namesrv/request_access.h). Resource names are views into the request, which outlives the
// decision.
struct RequiredAccess {
  enum class Kind : uint8_t {
    kAnyAccount,   // any valid account (signed, known), plus `resources`
    kAdmin,        // an account with admin: true (and `resources`, rarely any)
    kClusterOnly,  // the cluster credential only
  };
  struct Resource {
    std::string_view name;
    bool group = false;  // a consumer group (else a topic)
    uint8_t perm = perm::kSub;
  };
  Kind kind = Kind::kAdmin;  // the safe default for requests a table does not list
  std::vector<Resource> resources;

  static RequiredAccess any_account() { return {Kind::kAnyAccount, {}}; }
  static RequiredAccess admin() { return {Kind::kAdmin, {}}; }
  static RequiredAccess cluster_only() { return {Kind::kClusterOnly, {}}; }
  // Appends a topic (a %RETRY%<group> topic is recorded as its group) or a group; empty names
  // are skipped (the handler refuses those requests itself).
  RequiredAccess& topic(std::string_view name, uint8_t p);
  RequiredAccess& group(std::string_view name, uint8_t p);
};

// The accounts and the cluster credential in force: built once per (re)load, then shared
// read-only by every request.
struct AclSnapshot {
  PlainAclConfig config;
  std::optional<Credentials> cluster;
  int64_t signature_window_ms = 300'000;
  // Names the server in "... from the broker's clock" ("broker", "name server").
  std::string server_role = "broker";
  // Every account's and the cluster credential's HMAC key, its padded blocks hashed once.
  std::unordered_map<std::string, HmacSha256Key> signing_keys;

  // Checks that no account uses the cluster credential's access key.
  static Result<AclSnapshot> make(PlainAclConfig config, std::optional<Credentials> cluster,
                                  int64_t signature_window_ms, std::string server_role);
};

struct AccessRequest {
  std::string_view peer_host;  // the peer's IP address, as text
  const RequestAuth* auth = nullptr;
  int32_t request_code = 0;
  int64_t now_ms = 0;
  // The connection's verified signer (TLS only), for a request carrying the access key alone.
  const VerifiedSigner* session = nullptr;
};

struct AccessDecision {
  Status status;  // ok, or kPermissionDenied with the remark to answer
  // Who was checked (empty: unsigned, or passed by the global whitelist).
  std::string_view principal;
  // Run the replay guard on auth's nonce before admitting (a comet signature was checked).
  bool check_replay = false;
};

// "SEND_MESSAGE", or "code 9999" for a code the protocol does not name (for remarks).
std::string request_label(int32_t code);

AccessDecision decide_access(const AclSnapshot& snapshot, const AccessRequest& request,
                             const RequiredAccess& required);

}  // namespace comet::remoting
