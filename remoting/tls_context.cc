#include "remoting/tls_context.h"

#include <string>

namespace comet::remoting {

namespace {

using asio::ssl::context;

Status load_failed(std::string_view key, const std::string& path, const std::error_code& ec) {
  return Status::invalid_argument(std::string(key) + ": cannot load '" + path +
                                  "': " + ec.message());
}

// TLS 1.2 and 1.3 only.
std::shared_ptr<context> modern_context(context::method method) {
  auto ctx = std::make_shared<context>(method);
  ctx->set_options(context::default_workarounds | context::no_sslv2 | context::no_sslv3 |
                   context::no_tlsv1 | context::no_tlsv1_1 | context::single_dh_use);
  return ctx;
}

}  // namespace

Result<std::shared_ptr<context>> make_server_tls_context(const TlsServerConfig& config) {
  COMET_RETURN_IF_ERROR(config.validate());
  auto ctx = modern_context(context::tls_server);
  std::error_code ec;
  ctx->use_certificate_chain_file(config.cert_path, ec);
  if (ec) return load_failed("tls.server.certPath", config.cert_path, ec);
  ctx->use_private_key_file(config.key_path, context::pem, ec);
  if (ec) return load_failed("tls.server.keyPath", config.key_path, ec);
  if (config.need_client_auth != ClientAuth::kNone) {
    ctx->load_verify_file(config.trust_cert_path, ec);
    if (ec) return load_failed("tls.server.trustCertPath", config.trust_cert_path, ec);
    auto mode = asio::ssl::verify_peer;
    if (config.need_client_auth == ClientAuth::kRequire) {
      mode |= asio::ssl::verify_fail_if_no_peer_cert;
    }
    ctx->set_verify_mode(mode);
  }
  return ctx;
}

Result<std::shared_ptr<context>> make_client_tls_context(const TlsClientConfig& config) {
  if (!config.enable) return std::shared_ptr<context>();
  COMET_RETURN_IF_ERROR(config.validate());
  auto ctx = modern_context(context::tls_client);
  std::error_code ec;
  ctx->load_verify_file(config.trust_cert_path, ec);
  if (ec) return load_failed("tls.client.trustCertPath", config.trust_cert_path, ec);
  ctx->set_verify_mode(asio::ssl::verify_peer);
  if (!config.cert_path.empty()) {
    ctx->use_certificate_chain_file(config.cert_path, ec);
    if (ec) return load_failed("tls.client.certPath", config.cert_path, ec);
    ctx->use_private_key_file(config.key_path, context::pem, ec);
    if (ec) return load_failed("tls.client.keyPath", config.key_path, ec);
  }
  return ctx;
}

}  // namespace comet::remoting
