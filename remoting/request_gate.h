// The check a server runs on every request before its handler (access control,
// docs/security.md). RemotingServer answers a refused request NO_PERMISSION with the status's
// message as the remark (oneway requests are dropped) and never runs its handler.
#pragma once

#include "common/status.h"
#include "remoting/remoting_command.h"

namespace comet::remoting {

class Connection;

class RequestGate {
 public:
  virtual ~RequestGate() = default;
  // OK to run the request, or kPermissionDenied with a remark that names the account, the
  // resource and what is missing (never a secret). Called on the connection's strand; must not
  // block. Logging refusals (rate-limited, with the peer) is the gate's job. The gate may
  // remember a verified signer on `conn` (Connection::set_verified_signer) or close it.
  virtual Status admit(Connection& conn, const RemotingCommand& cmd) = 0;
};

}  // namespace comet::remoting
