// TLS contexts built from the tls.* settings (remoting/security_config.h): certificates and keys
// come from PEM files; errors name the key and the file.
#pragma once

#include <memory>

#include <asio/ssl/context.hpp>

#include "common/status.h"
#include "remoting/security_config.h"

namespace comet::remoting {

// A server context: TLS 1.2 or later, the certificate chain and key of `config`, and (with
// need_client_auth) client certificates checked against trust_cert_path.
Result<std::shared_ptr<asio::ssl::context>> make_server_tls_context(const TlsServerConfig& config);
// A client context: TLS 1.2 or later, server certificates checked against trust_cert_path, and
// the client certificate when one is configured. Null when `config.enable` is false.
Result<std::shared_ptr<asio::ssl::context>> make_client_tls_context(const TlsClientConfig& config);

}  // namespace comet::remoting
