#include "admin/security_options.h"

#include "remoting/credentials.h"

namespace comet::admin {
namespace {

bool wants_tls(const OptionValues& args) {
  return args.has("tls") || args.has("tls-ca") || args.has("tls-cert") || args.has("tls-key") ||
         args.has("tls-no-verify-hostname");
}

}  // namespace

Status check_security_options(const OptionValues& args) {
  const bool ak = !args.get("accessKey").empty();
  const bool sk = !args.get("secretKey").empty();
  if (ak && !sk) return Status::invalid_argument("--accessKey needs --secretKey");
  if (!ak && sk) return Status::invalid_argument("--secretKey needs --accessKey");
  if (ak && args.has("credentials-file")) {
    return Status::invalid_argument("give --accessKey/--secretKey or --credentials-file, not both");
  }
  if (!wants_tls(args)) return Status::ok();
  if (args.get("tls-ca").empty()) {
    return Status::invalid_argument(
        "TLS needs --tls-ca <file> (the CA of the servers' certificates)");
  }
  if (args.get("tls-cert").empty() != args.get("tls-key").empty()) {
    return Status::invalid_argument("a client certificate needs both --tls-cert and --tls-key");
  }
  return Status::ok();
}

Status apply_security_options(const OptionValues& args, client::ClientConfig& config) {
  COMET_RETURN_IF_ERROR(check_security_options(args));
  COMET_ASSIGN_OR_RETURN(config.credentials,
                         remoting::resolve_credentials(args.get("accessKey"), args.get("secretKey"),
                                                       args.get("credentials-file")));
  remoting::TlsClientConfig& tls = config.tls;
  tls.enable = wants_tls(args);
  tls.trust_cert_path = args.get("tls-ca");
  tls.cert_path = args.get("tls-cert");
  tls.key_path = args.get("tls-key");
  tls.verify_hostname = !args.has("tls-no-verify-hostname");
  return Status::ok();
}

}  // namespace comet::admin
