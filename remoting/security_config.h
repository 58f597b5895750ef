// Access control and TLS settings, read from the same keys by broker and name server
// (docs/security.md). The TLS key names are RocketMQ's (its tls.* system properties):
//   aclEnable                   requests are signed and checked against aclFile    (false)
//   aclFile                     accounts, RocketMQ's plain_acl.yml format     (conf/plain_acl.yml)
//   aclSignatureWindowMs        a comet signature older or newer than this is refused (300000)
//   aclReloadIntervalMs         how often aclFile is checked for a change             (1000)
//   clusterCredentialFile       accessKey/secretKey (tools.yml shape) that brokers sign name
//                               server registrations, replication and Raft with; required with
//                               aclEnable
//   tls.server.mode             disabled | permissive (plain and TLS) | enforcing  (disabled)
//   tls.server.certPath         PEM certificate chain the server presents
//   tls.server.keyPath          PEM private key of that certificate
//   tls.server.trustCertPath    PEM CA bundle client certificates are checked against
//   tls.server.need.client.auth none | optional | require                          (none)
//   tls.enable                  outgoing links (to name servers, masters, Raft peers) use TLS
//   tls.client.trustCertPath    PEM CA bundle server certificates are checked against
//   tls.client.certPath         PEM client certificate presented on outgoing links (optional)
//   tls.client.keyPath          PEM private key of that certificate
//   tls.client.verifyHostname   the server certificate must name the host dialled      (true)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/config_table.h"
#include "common/properties.h"
#include "common/status.h"

namespace comet::remoting {

enum class TlsMode { kDisabled, kPermissive, kEnforcing };
std::string_view tls_mode_name(TlsMode mode);  // "disabled", "permissive", "enforcing"
Result<TlsMode> parse_tls_mode(std::string_view text);

enum class ClientAuth { kNone, kOptional, kRequire };
std::string_view client_auth_name(ClientAuth auth);  // "none", "optional", "require"
Result<ClientAuth> parse_client_auth(std::string_view text);

struct TlsServerConfig {
  TlsMode mode = TlsMode::kDisabled;
  std::string cert_path;
  std::string key_path;
  std::string trust_cert_path;
  ClientAuth need_client_auth = ClientAuth::kNone;
  Status validate() const;  // files named when the mode needs them
};

struct TlsClientConfig {
  bool enable = false;
  std::string trust_cert_path;
  std::string cert_path;  // with key_path: the client certificate (optional)
  std::string key_path;
  bool verify_hostname = true;
  Status validate() const;
};

struct SecurityConfig {
  bool acl_enable = false;
  std::string acl_file = "conf/plain_acl.yml";
  uint32_t acl_signature_window_ms = 300'000;
  uint32_t acl_reload_interval_ms = 1'000;
  std::string cluster_credential_file;
  TlsServerConfig tls_server;
  TlsClientConfig tls_client;

  // The keys above, over these defaults; a bad value is an error naming its key.
  static Result<SecurityConfig> from_properties(const Properties& p);
  Status validate() const;
  static const ConfigKeys<SecurityConfig>& keys();
};

}  // namespace comet::remoting
