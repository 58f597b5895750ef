#include "remoting/security_config.h"

namespace comet::remoting {

namespace {

constexpr KeyRange<uint32_t> kWindowMs{1'000, 86'400'000};
constexpr KeyRange<uint32_t> kReloadMs{100, 3'600'000};

Status invalid(std::string_view key, std::string what) {
  return Status::invalid_argument(std::string(key) + ": " + what);
}

// A key read with `parse` into the field `field` returns, shown with `name`.
template <typename Enum, typename Field>
ConfigKey<SecurityConfig> enum_key(std::string_view key, Field field, std::string_view description,
                                   Result<Enum> (*parse)(std::string_view),
                                   std::string_view (*name)(Enum)) {
  return {
      key, description,
      [field, parse](const Properties& p, std::string_view n, SecurityConfig& c) -> Status {
        std::string text;
        COMET_RETURN_IF_ERROR(p.get_string(n, text));
        if (text.empty()) return Status::ok();
        auto v = parse(text);
        if (!v.is_ok()) return invalid(n, v.status().message());
        std::invoke(field, c) = *v;
        return Status::ok();
      },
      [field, name](const SecurityConfig& c) { return std::string(name(std::invoke(field, c))); }};
}

}  // namespace

std::string_view tls_mode_name(TlsMode mode) {
  switch (mode) {
    case TlsMode::kDisabled:
      return "disabled";
    case TlsMode::kPermissive:
      return "permissive";
    case TlsMode::kEnforcing:
      return "enforcing";
  }
  return "disabled";
}

Result<TlsMode> parse_tls_mode(std::string_view text) {
  if (text == "disabled") return TlsMode::kDisabled;
  if (text == "permissive") return TlsMode::kPermissive;
  if (text == "enforcing") return TlsMode::kEnforcing;
  std::string why = "'";
  why.append(text).append("' is not one of disabled, permissive, enforcing");
  return Status::invalid_argument(why);
}

std::string_view client_auth_name(ClientAuth auth) {
  switch (auth) {
    case ClientAuth::kNone:
      return "none";
    case ClientAuth::kOptional:
      return "optional";
    case ClientAuth::kRequire:
      return "require";
  }
  return "none";
}

Result<ClientAuth> parse_client_auth(std::string_view text) {
  if (text == "none") return ClientAuth::kNone;
  if (text == "optional") return ClientAuth::kOptional;
  if (text == "require") return ClientAuth::kRequire;
  std::string why = "'";
  why.append(text).append("' is not one of none, optional, require");
  return Status::invalid_argument(why);
}

Status TlsServerConfig::validate() const {
  if (mode == TlsMode::kDisabled) return Status::ok();
  if (cert_path.empty()) return invalid("tls.server.certPath", "required with tls.server.mode");
  if (key_path.empty()) return invalid("tls.server.keyPath", "required with tls.server.mode");
  if (need_client_auth != ClientAuth::kNone && trust_cert_path.empty()) {
    return invalid("tls.server.trustCertPath", "required to check client certificates");
  }
  return Status::ok();
}

Status TlsClientConfig::validate() const {
  if (!enable) return Status::ok();
  if (trust_cert_path.empty()) return invalid("tls.client.trustCertPath", "required with TLS");
  if (cert_path.empty() != key_path.empty()) {
    return invalid(cert_path.empty() ? "tls.client.certPath" : "tls.client.keyPath",
                   "a client certificate needs both tls.client.certPath and tls.client.keyPath");
  }
  return Status::ok();
}

Result<SecurityConfig> SecurityConfig::from_properties(const Properties& p) {
  SecurityConfig c;
  COMET_RETURN_IF_ERROR(parse_config_keys(keys(), p, c));
  COMET_RETURN_IF_ERROR(c.validate());
  return c;
}

Status SecurityConfig::validate() const {
  if (acl_enable && acl_file.empty()) return invalid("aclFile", "required with aclEnable");
  if (acl_enable && cluster_credential_file.empty()) {
    return invalid("clusterCredentialFile", "required with aclEnable");
  }
  COMET_RETURN_IF_ERROR(tls_server.validate());
  return tls_client.validate();
}

const ConfigKeys<SecurityConfig>& SecurityConfig::keys() {
  using S = SecurityConfig;
  static const ConfigKeys<S> k = {
      field_key<S>("aclEnable", &S::acl_enable, "sign and check every request against aclFile"),
      field_key<S>("aclFile", &S::acl_file, "accounts, in RocketMQ's plain_acl.yml format"),
      field_key<S>("aclSignatureWindowMs", &S::acl_signature_window_ms,
                   "ms a signature's timestamp may differ from the server's clock", kWindowMs),
      field_key<S>("aclReloadIntervalMs", &S::acl_reload_interval_ms,
                   "ms between checks of aclFile for a change", kReloadMs),
      field_key<S>("clusterCredentialFile", &S::cluster_credential_file,
                   "accessKey/secretKey brokers sign registration, replication and Raft with"),
      enum_key<TlsMode>(
          "tls.server.mode", [](auto& c) -> auto& { return c.tls_server.mode; },
          "disabled, permissive (plain and TLS) or enforcing", parse_tls_mode, tls_mode_name),
      field_key<S>(
          "tls.server.certPath", [](auto& c) -> auto& { return c.tls_server.cert_path; },
          "PEM certificate chain the server presents"),
      field_key<S>(
          "tls.server.keyPath", [](auto& c) -> auto& { return c.tls_server.key_path; },
          "PEM private key of the server certificate"),
      field_key<S>(
          "tls.server.trustCertPath", [](auto& c) -> auto& { return c.tls_server.trust_cert_path; },
          "PEM CA bundle client certificates are checked against"),
      enum_key<ClientAuth>(
          "tls.server.need.client.auth",
          [](auto& c) -> auto& { return c.tls_server.need_client_auth; },
          "none, optional or require a client certificate", parse_client_auth, client_auth_name),
      field_key<S>(
          "tls.enable", [](auto& c) -> auto& { return c.tls_client.enable; },
          "outgoing links (name servers, masters, Raft peers) use TLS"),
      field_key<S>(
          "tls.client.trustCertPath", [](auto& c) -> auto& { return c.tls_client.trust_cert_path; },
          "PEM CA bundle server certificates are checked against"),
      field_key<S>(
          "tls.client.certPath", [](auto& c) -> auto& { return c.tls_client.cert_path; },
          "PEM client certificate for outgoing links (optional)"),
      field_key<S>(
          "tls.client.keyPath", [](auto& c) -> auto& { return c.tls_client.key_path; },
          "PEM private key of the client certificate"),
      field_key<S>(
          "tls.client.verifyHostname",
          [](auto& c) -> auto& { return c.tls_client.verify_hostname; },
          "the server certificate must name the host dialled"),
  };
  return k;
}

}  // namespace comet::remoting
