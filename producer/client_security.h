// What a client's connections need for a secured cluster (docs/security.md), built once from its
// ClientConfig: a signer of every request when it has credentials, and a TLS context when
// tls.enable. A bad setting (half a credential, an unreadable certificate) is an error that names
// the setting and the file, never the secret.
#pragma once

#include <memory>

#include <asio/ssl/context.hpp>

#include "common/status.h"
#include "producer/client_config.h"
#include "remoting/connection.h"
#include "remoting/request_signature.h"

namespace comet::client {

struct ClientSecurity {
  std::shared_ptr<remoting::RequestSigner> signer;  // null: unsigned
  std::shared_ptr<asio::ssl::context> tls;          // null: plain TCP
  bool verify_hostname = true;

  static Result<ClientSecurity> from_config(const ClientConfig& config);
  void apply(remoting::ConnectionOptions& options) const;
  // "accessKey=<key>, TLS" and the like, for logs; "unsigned, plain" when neither.
  std::string describe() const;
};

// Both keys of `credentials` set, or an error saying which one is missing.
Status check_credentials(const remoting::Credentials& credentials);

}  // namespace comet::client
