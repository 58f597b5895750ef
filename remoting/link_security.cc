#include "remoting/link_security.h"

#include "remoting/remoting_server.h"
#include "remoting/tls_context.h"

namespace comet::remoting {

Result<LinkSecurity> LinkSecurity::from_config(const SecurityConfig& config) {
  COMET_RETURN_IF_ERROR(config.validate());
  LinkSecurity s;
  s.server_tls_mode = config.tls_server.mode;
  if (s.server_tls_mode != TlsMode::kDisabled) {
    COMET_ASSIGN_OR_RETURN(s.server_tls, make_server_tls_context(config.tls_server));
  }
  std::optional<Credentials> cluster;
  if (config.acl_enable) {
    COMET_ASSIGN_OR_RETURN(cluster, load_credentials_file(config.cluster_credential_file));
  }
  COMET_ASSIGN_OR_RETURN(s.client, ClientLink::make(cluster, config.tls_client));
  return s;
}

void LinkSecurity::apply_to_server(ServerOptions& options) const {
  options.connection.tls_mode = server_tls_mode;
  options.connection.tls = server_tls;
  options.gate = gate;
}

void LinkSecurity::apply_to_client(ConnectionOptions& options) const {
  client.apply(options);
}

LinkSecurity LinkSecurity::with_gate(std::shared_ptr<RequestGate> other) const {
  LinkSecurity s = *this;
  s.gate = std::move(other);
  return s;
}

}  // namespace comet::remoting
