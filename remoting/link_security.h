// What a process's servers and outgoing links need for TLS and access control, built once from
// its SecurityConfig (docs/security.md) and handed to every server it runs (client port, HA
// port, Raft port) and every client it makes (to name servers, masters, Raft peers).
#pragma once

#include <memory>

#include <asio/ssl/context.hpp>

#include "common/status.h"
#include "remoting/client_link.h"
#include "remoting/request_gate.h"
#include "remoting/request_signature.h"
#include "remoting/security_config.h"

namespace comet::remoting {

struct ServerOptions;
struct ConnectionOptions;

struct LinkSecurity {
  // Servers: TLS as tls.server.mode says, and the gate every request passes (null: none).
  TlsMode server_tls_mode = TlsMode::kDisabled;
  std::shared_ptr<asio::ssl::context> server_tls;
  std::shared_ptr<RequestGate> gate;
  // Outgoing links: TLS when tls.enable, and requests signed with the cluster credential when
  // aclEnable (unsigned otherwise).
  ClientLink client;

  // The TLS contexts and the cluster signer of `config` (the gate is left to the caller, whose
  // requests it knows). Errors name the key and the file.
  static Result<LinkSecurity> from_config(const SecurityConfig& config);

  void apply_to_server(ServerOptions& options) const;
  void apply_to_client(ConnectionOptions& options) const;
  // The same links with another gate (each server of a process checks its own requests).
  LinkSecurity with_gate(std::shared_ptr<RequestGate> other) const;
};

}  // namespace comet::remoting
