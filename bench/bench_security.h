// comet-bench against a secured cluster (docs/security.md): the accounts and TLS settings its
// clients use, and, for the clusters it starts itself, the files and keys that secure them.
//
// An existing cluster (produce, consume, compare --namesrv): the clients sign with
// --accessKey/--secretKey, --credentials-file, or $COMET_ACCESS_KEY/$COMET_SECRET_KEY, and with
// --tls-ca (and --tls-cert/--tls-key, --tls-no-verify-hostname) connect with TLS.
//
// Local clusters (compare, chaos, soak): --acl writes, in a directory of its own, a plain_acl.yml
// with an admin account (topics, promotion) and a bench account (PUB|SUB on every topic and
// group: what the workloads need), and a cluster credential; the name server and every broker
// get aclEnable, aclFile and clusterCredentialFile, and the bench's clients sign. --tls takes the
// certificates of scripts/make-certs.sh (run from the source tree this comet-bench was built
// from, into the same directory, or into --certs-dir when it lacks them): every process gets
// tls.server.mode=enforcing and tls.enable, and the bench's clients connect with TLS.
//
// One setting per process: a command installs it (ScopedBenchSecurity) before it starts clients
// or clusters, and everything that makes a client or a cluster reads it (bench_security()).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/args.h"
#include "common/status.h"
#include "producer/client_config.h"
#include "remoting/credentials.h"
#include "remoting/security_config.h"

namespace comet::bench {

struct SecurityOptions {
  // An existing cluster.
  std::string access_key, secret_key, credentials_file;
  std::string tls_ca, tls_cert, tls_key;
  bool tls_no_verify_hostname = false;
  // Local clusters.
  bool acl = false;
  bool tls = false;
  std::string certs_dir;
};

// The help lines of the options above (for a command's usage text).
extern const char* const kSecurityUsage;

enum class OptionTaken { kNo, kYes, kBad };
// Reads the security option `args` stands on into `o`: kNo when it is none of them, kBad when its
// value is missing.
OptionTaken parse_security_option(Args& args, SecurityOptions& o);

struct BenchSecurity {
  std::optional<remoting::Credentials> client_credentials;  // the workload's producers, consumers
  std::optional<remoting::Credentials> admin_credentials;   // topics, status, promotion
  remoting::TlsClientConfig tls;
  // What every name server and broker comet-bench starts gets ("key=value").
  std::vector<std::string> server_args;
  // comet-admin's options for the admin account and TLS (a file, never the secret on argv).
  std::vector<std::string> admin_tool_args;
  std::string dir;  // the files made for local clusters ("" when none)

  bool secured() const { return client_credentials.has_value() || tls.enable; }
  // "ACL, TLS" / "ACL" / "TLS" / "" for reports.
  std::string label() const;
};

// The settings `o` asks for. `local`: the command starts its own clusters (then --acl/--tls make
// the files; the existing-cluster options are refused), else it talks to an existing one (then
// --acl is refused, and --tls needs --tls-ca). `what` names the directory made (compare, ...).
Result<BenchSecurity> prepare_security(const SecurityOptions& o, bool local, std::string_view what);

// Installs `security` for this process while in scope; at the end its directory is removed
// (kept, and named on stderr, with `keep`).
class ScopedBenchSecurity {
 public:
  ScopedBenchSecurity(BenchSecurity security, bool keep);
  ~ScopedBenchSecurity();
  ScopedBenchSecurity(const ScopedBenchSecurity&) = delete;
  ScopedBenchSecurity& operator=(const ScopedBenchSecurity&) = delete;

 private:
  bool keep_;
};

// The settings installed now (none by default).
const BenchSecurity& bench_security();
// With TLS: servers' certificates are no longer checked for the host dialled (they are still
// checked against the CA), by the bench's clients and by the servers' own links. For clusters in
// network namespaces (chaos), whose addresses make-certs.sh's certificates do not name.
void skip_hostname_check();
// A client config for `namesrv` with the workload's account and TLS, or the admin account's.
client::ClientConfig bench_client_config(const std::string& namesrv);
client::ClientConfig bench_admin_config(const std::string& namesrv);

// Where scripts/make-certs.sh lies in the source tree comet-bench was built from.
std::string make_certs_script();

}  // namespace comet::bench
