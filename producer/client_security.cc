#include "producer/client_security.h"

#include "remoting/tls_context.h"

namespace comet::client {

Status check_credentials(const remoting::Credentials& credentials) {
  if (credentials.access_key.empty() && credentials.secret_key.empty()) {
    return Status::invalid_argument("credentials: no access key and no secret key");
  }
  if (credentials.secret_key.empty()) {
    return Status::invalid_argument("credentials: " + credentials.redacted() +
                                    " has no secret key");
  }
  if (credentials.access_key.empty()) {
    return Status::invalid_argument("credentials: a secret key without its access key");
  }
  return Status::ok();
}

Result<ClientSecurity> ClientSecurity::from_config(const ClientConfig& config) {
  ClientSecurity s;
  if (config.credentials) {
    COMET_RETURN_IF_ERROR(check_credentials(*config.credentials));
    s.signer = std::make_shared<remoting::RequestSigner>(*config.credentials);
  }
  COMET_ASSIGN_OR_RETURN(s.tls, remoting::make_client_tls_context(config.tls));
  s.verify_hostname = config.tls.verify_hostname;
  return s;
}

void ClientSecurity::apply(remoting::ConnectionOptions& options) const {
  options.signer = signer;
  options.tls = tls;
  options.tls_verify_hostname = verify_hostname;
}

std::string ClientSecurity::describe() const {
  std::string d = signer ? "signed as " + signer->credentials().redacted() : "unsigned";
  d += tls ? (verify_hostname ? ", TLS" : ", TLS without hostname check") : ", plain";
  return d;
}

}  // namespace comet::client
