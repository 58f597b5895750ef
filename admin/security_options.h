// comet-admin's options for a secured cluster (docs/security.md): who the tool signs as and how
// it reaches the servers over TLS. Every command takes them (registry.cc:common_options).
//   --accessKey AK --secretKey SK   the account (both, or neither)
//   --credentials-file FILE         the account from a RocketMQ tools.yml-shaped file
//   (neither)                       $COMET_ACCESS_KEY and $COMET_SECRET_KEY, else unsigned
//   --tls                           connect with TLS (implied by the --tls-* files)
//   --tls-ca FILE                   PEM CA bundle the servers' certificates are checked against
//   --tls-cert FILE --tls-key FILE  a client certificate (tls.server.need.client.auth)
//   --tls-no-verify-hostname        accept a certificate that does not name the host dialled
#pragma once

#include "admin/command.h"
#include "common/status.h"
#include "producer/client_config.h"

namespace comet::admin {

// Whether the security options of `args` fit together (half an account, an account given twice,
// TLS without a CA, a certificate without its key): kInvalidArgument naming the option.
Status check_security_options(const OptionValues& args);
// The security options of `args` (checked) into `config`: the account resolved from the options,
// the environment or the file (an unreadable file or half an account in the environment is an
// error), and the TLS settings. Unreadable TLS files are reported when the client is made
// (remoting::ClientLink).
Status apply_security_options(const OptionValues& args, client::ClientConfig& config);

}  // namespace comet::admin
