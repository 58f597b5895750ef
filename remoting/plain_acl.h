// The accounts of access control: RocketMQ's plain_acl.yml (docs/security.md), parsed I/O-free.
//
//   globalWhiteRemoteAddresses: [10.10.103.*, 192.168.0.*]   # any request from these passes
//   accounts:
//     - accessKey: RocketMQ
//       secretKey: 12345678                 # at least 6 characters, as RocketMQ
//       whiteRemoteAddress: 192.168.0.*     # from here the account needs no signature
//       admin: false                        # admin-only requests (create topic, ...) need true
//       defaultTopicPerm: DENY              # for topics not listed (DENY when absent)
//       defaultGroupPerm: SUB               # for groups not listed (DENY when absent)
//       topicPerms: [topicA=DENY, topicB=PUB|SUB, topicC=SUB]
//       groupPerms: [groupA=DENY, groupB=PUB|SUB, groupC=SUB]
//
// Errors name the account by its access key (never the secret) and the key at fault.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "remoting/remote_address.h"

namespace comet::remoting {

// RocketMQ's Permission bits.
namespace perm {
constexpr uint8_t kDeny = 1;
constexpr uint8_t kAny = 2;
constexpr uint8_t kPub = 4;
constexpr uint8_t kSub = 8;
}  // namespace perm

// "PUB", "SUB", "PUB|SUB" (or "SUB|PUB", "PUB,SUB"), "DENY"; anything else is an error.
Result<uint8_t> parse_perm(std::string_view text);
// "PUB", "SUB", "PUB|SUB", "DENY", "ANY".
std::string perm_name(uint8_t perm);
// RocketMQ's Permission.checkPermission: DENY owns nothing; ANY needs PUB or SUB.
bool perm_allows(uint8_t owned, uint8_t needed);

// Looked up by string_view on every request (no copy of the name).
struct PermHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using PermTable = std::unordered_map<std::string, uint8_t, PermHash, std::equal_to<>>;

struct AclAccount {
  std::string access_key;
  std::string secret_key;
  RemoteAddressPattern white_remote_address;
  bool admin = false;
  uint8_t default_topic_perm = perm::kDeny;
  uint8_t default_group_perm = perm::kDeny;
  PermTable topic_perms;
  PermTable group_perms;
};

struct PlainAclConfig {
  std::vector<RemoteAddressPattern> global_white_remote_addresses;
  // By access key.
  std::unordered_map<std::string, AclAccount> accounts;
};

constexpr size_t kMinSecretKeyLength = 6;  // RocketMQ's AclUtils/PlainPermissionManager minimum

// Parses the text of a plain_acl.yml; `source` names it in errors (a path).
Result<PlainAclConfig> parse_plain_acl(std::string_view yaml_text, std::string_view source);

}  // namespace comet::remoting
