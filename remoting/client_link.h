// The client end of a link (docs/security.md): a signer of every request when there are
// credentials, a TLS context when TLS is on, and whether the server's certificate must name the
// host dialled. One per process and purpose: an application's ClientConfig (producer/), a
// broker's cluster links (remoting/link_security.h).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <asio/ssl/context.hpp>

#include "common/status.h"
#include "remoting/credentials.h"
#include "remoting/request_signature.h"
#include "remoting/security_config.h"

namespace comet::remoting {

struct ConnectionOptions;

struct ClientLink {
  std::shared_ptr<RequestSigner> signer;    // null: unsigned
  std::shared_ptr<asio::ssl::context> tls;  // null: plain TCP
  bool verify_hostname = true;

  // Signs with `credentials` when given (both keys set, else an error saying which is missing);
  // TLS as `tls` says (errors name the setting and the file, never the secret).
  static Result<ClientLink> make(const std::optional<Credentials>& credentials,
                                 const TlsClientConfig& tls);
  void apply(ConnectionOptions& options) const;
  // "signed as accessKey=<key>, TLS" and the like, for logs; "unsigned, plain" when neither.
  std::string describe() const;
};

}  // namespace comet::remoting
