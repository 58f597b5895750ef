#include "remoting/client_link.h"

#include "remoting/connection.h"
#include "remoting/tls_context.h"

namespace comet::remoting {

Result<ClientLink> ClientLink::make(const std::optional<Credentials>& credentials,
                                    const TlsClientConfig& tls) {
  ClientLink link;
  if (credentials) {
    COMET_RETURN_IF_ERROR(credentials->check());
    link.signer = std::make_shared<RequestSigner>(*credentials);
  }
  COMET_ASSIGN_OR_RETURN(link.tls, make_client_tls_context(tls));
  link.verify_hostname = tls.verify_hostname;
  return link;
}

void ClientLink::apply(ConnectionOptions& options) const {
  options.signer = signer;
  options.tls = tls;
  options.tls_verify_hostname = verify_hostname;
}

std::string ClientLink::describe() const {
  std::string d = signer ? "signed as " + signer->credentials().redacted() : "unsigned";
  d += tls ? (verify_hostname ? ", TLS" : ", TLS without hostname check") : ", plain";
  return d;
}

}  // namespace comet::remoting
