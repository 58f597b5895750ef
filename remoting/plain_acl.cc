#include "remoting/plain_acl.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace comet::remoting {

namespace {

// Errors of one file: "acl file '<source>': <what>".
class AclErrors {
 public:
  explicit AclErrors(std::string_view source) : source_(source) {}
  Status file(const std::string& what) const {
    return Status::invalid_argument("acl file '" + source_ + "': " + what);
  }
  Status account(std::string_view access_key, const std::string& what) const {
    return file("account '" + std::string(access_key) + "': " + what);
  }

 private:
  std::string source_;
};

// A scalar's text, or an error naming the key.
Result<std::string> scalar_of(const YAML::Node& node, const std::string& key,
                              const std::string& where, const AclErrors& errors) {
  if (!node.IsScalar()) return errors.file(where + key + " is not a single value");
  return node.Scalar();
}

Result<bool> bool_of(const YAML::Node& node, const std::string& where, const AclErrors& errors) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  return errors.file(where + "admin is not true or false");
}

// Entries like "topicA=PUB|SUB" into `out`; `key` is topicPerms or groupPerms.
Status read_resource_perms(const YAML::Node& node, const std::string& key,
                           const std::string& access_key, const AclErrors& errors, PermTable& out) {
  if (node.IsNull()) return Status::ok();
  if (!node.IsSequence()) return errors.account(access_key, key + " is not a list");
  for (const YAML::Node& entry : node) {
    if (!entry.IsScalar())
      return errors.account(access_key, key + " has an entry that is not text");
    const std::string& text = entry.Scalar();
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      return errors.account(access_key, key + " entry '" + text + "' is not <name>=<perm>");
    }
    auto p = parse_perm(std::string_view(text).substr(eq + 1));
    if (!p) {
      return errors.account(access_key, key + " entry '" + text + "': " + p.status().message());
    }
    if (!out.emplace(text.substr(0, eq), p.value()).second) {
      return errors.account(access_key, key + " names '" + text.substr(0, eq) + "' twice");
    }
  }
  return Status::ok();
}

Result<uint8_t> read_default_perm(const YAML::Node& node, const std::string& key,
                                  const std::string& access_key, const AclErrors& errors) {
  if (!node || node.IsNull()) return perm::kDeny;
  if (!node.IsScalar()) return errors.account(access_key, key + " is not a single value");
  auto p = parse_perm(node.Scalar());
  if (!p) return errors.account(access_key, key + ": " + p.status().message());
  return p.value();
}

Result<AclAccount> read_account(const YAML::Node& node, size_t index, const AclErrors& errors) {
  const std::string where = "accounts[" + std::to_string(index) + "]: ";
  if (!node.IsMap()) return errors.file(where + "is not a map");
  static const char* const kKnown[] = {"accessKey",  "secretKey",        "whiteRemoteAddress",
                                       "admin",      "defaultTopicPerm", "defaultGroupPerm",
                                       "topicPerms", "groupPerms"};
  AclAccount a;
  const YAML::Node ak = node["accessKey"];
  if (!ak || ak.IsNull()) return errors.file(where + "has no accessKey");
  COMET_ASSIGN_OR_RETURN(a.access_key, scalar_of(ak, "accessKey", where, errors));
  if (a.access_key.empty()) return errors.file(where + "has an empty accessKey");
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return errors.account(a.access_key, "unknown key '" + key + "'");
    }
  }
  const YAML::Node sk = node["secretKey"];
  if (!sk || sk.IsNull()) return errors.account(a.access_key, "has no secretKey");
  if (!sk.IsScalar()) return errors.account(a.access_key, "secretKey is not a single value");
  a.secret_key = sk.Scalar();
  if (a.secret_key.size() < kMinSecretKeyLength) {
    return errors.account(a.access_key, "secretKey is shorter than " +
                                            std::to_string(kMinSecretKeyLength) + " characters");
  }
  if (const YAML::Node w = node["whiteRemoteAddress"]; w && !w.IsNull()) {
    if (!w.IsScalar()) return errors.account(a.access_key, "whiteRemoteAddress is not a value");
    auto pattern = RemoteAddressPattern::parse(w.Scalar());
    if (!pattern) {
      return errors.account(a.access_key, "whiteRemoteAddress: " + pattern.status().message());
    }
    a.white_remote_address = std::move(pattern.value());
  }
  if (const YAML::Node admin = node["admin"]; admin && !admin.IsNull()) {
    auto b = bool_of(admin, "account '" + a.access_key + "': ", errors);
    if (!b) return b.status();
    a.admin = b.value();
  }
  COMET_ASSIGN_OR_RETURN(
      a.default_topic_perm,
      read_default_perm(node["defaultTopicPerm"], "defaultTopicPerm", a.access_key, errors));
  COMET_ASSIGN_OR_RETURN(
      a.default_group_perm,
      read_default_perm(node["defaultGroupPerm"], "defaultGroupPerm", a.access_key, errors));
  if (const YAML::Node t = node["topicPerms"]; t) {
    COMET_RETURN_IF_ERROR(
        read_resource_perms(t, "topicPerms", a.access_key, errors, a.topic_perms));
  }
  if (const YAML::Node g = node["groupPerms"]; g) {
    COMET_RETURN_IF_ERROR(
        read_resource_perms(g, "groupPerms", a.access_key, errors, a.group_perms));
  }
  return a;
}

Status read_global_whitelist(const YAML::Node& node, const AclErrors& errors,
                             std::vector<RemoteAddressPattern>& out) {
  if (!node || node.IsNull()) return Status::ok();
  if (!node.IsSequence()) return errors.file("globalWhiteRemoteAddresses is not a list");
  for (const YAML::Node& entry : node) {
    if (!entry.IsScalar()) return errors.file("globalWhiteRemoteAddresses has a non-text entry");
    auto pattern = RemoteAddressPattern::parse(entry.Scalar());
    if (!pattern) return errors.file("globalWhiteRemoteAddresses: " + pattern.status().message());
    if (!pattern->empty()) out.push_back(std::move(pattern.value()));
  }
  return Status::ok();
}

Result<PlainAclConfig> read_config(const YAML::Node& doc, const AclErrors& errors) {
  PlainAclConfig config;
  if (doc.IsNull()) return config;  // an empty file: no accounts
  if (!doc.IsMap()) return errors.file("is not a YAML map");
  for (const auto& kv : doc) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
    // dataVersion: RocketMQ's updateAclConfig bookkeeping, read and ignored.
    if (key != "globalWhiteRemoteAddresses" && key != "accounts" && key != "dataVersion") {
      return errors.file("unknown key '" + key + "'");
    }
  }
  COMET_RETURN_IF_ERROR(read_global_whitelist(doc["globalWhiteRemoteAddresses"], errors,
                                              config.global_white_remote_addresses));
  const YAML::Node accounts = doc["accounts"];
  if (!accounts || accounts.IsNull()) return config;
  if (!accounts.IsSequence()) return errors.file("accounts is not a list");
  size_t index = 0;
  for (const YAML::Node& node : accounts) {
    COMET_ASSIGN_OR_RETURN(AclAccount account, read_account(node, index++, errors));
    const std::string key = account.access_key;
    if (!config.accounts.emplace(key, std::move(account)).second) {
      return errors.account(key, "accessKey is used by another account");
    }
  }
  return config;
}

}  // namespace

Result<uint8_t> parse_perm(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  if (text == "PUB") return perm::kPub;
  if (text == "SUB") return perm::kSub;
  if (text == "PUB|SUB" || text == "SUB|PUB" || text == "PUB,SUB" || text == "SUB,PUB") {
    return static_cast<uint8_t>(perm::kPub | perm::kSub);
  }
  if (text == "DENY") return perm::kDeny;
  return Status::invalid_argument("permission '" + std::string(text) +
                                  "' is not PUB, SUB, PUB|SUB or DENY");
}

std::string perm_name(uint8_t p) {
  if (p & perm::kDeny) return "DENY";
  if ((p & perm::kPub) && (p & perm::kSub)) return "PUB|SUB";
  if (p & perm::kPub) return "PUB";
  if (p & perm::kSub) return "SUB";
  if (p & perm::kAny) return "ANY";
  return "none";
}

bool perm_allows(uint8_t owned, uint8_t needed) {
  if (owned & perm::kDeny) return false;
  if (needed & perm::kAny) return (owned & (perm::kPub | perm::kSub)) != 0;
  return (needed & owned) == needed && needed != 0;
}

Result<PlainAclConfig> parse_plain_acl(std::string_view yaml_text, std::string_view source) {
  const AclErrors errors(source);
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    // The position only: the parser's message may quote a line holding a secret.
    return errors.file("is not YAML (line " + std::to_string(e.mark.line + 1) + ")");
  }
  try {
    return read_config(doc, errors);
  } catch (const YAML::Exception& e) {
    return errors.file("is malformed (line " + std::to_string(e.mark.line + 1) + ")");
  }
}

}  // namespace comet::remoting
