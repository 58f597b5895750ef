#include "bench/bench_security.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include <fmt/format.h>

#include "bench/bench_cluster.h"
#include "common/child_process.h"

#ifndef COMET_SOURCE_DIR
#define COMET_SOURCE_DIR "."
#endif

namespace comet::bench {
namespace {

using namespace std::chrono_literals;

// Account names of the files made for local clusters.
constexpr const char* kAdminAccount = "comet-bench-admin";
constexpr const char* kClientAccount = "comet-bench";
constexpr const char* kClusterAccount = "comet-bench-cluster";

BenchSecurity& installed() {
  static BenchSecurity s;
  return s;
}

// 32 hex digits from the system's random source.
std::string random_secret() {
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 4; ++i)
    s += fmt::format("{:08x}", rd());
  return s;
}

// Writes `text` to `path`, readable by the owner only (it holds secrets).
Status write_private(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out.flush()) return Status::io_error("cannot write " + path);
  }
  if (::chmod(path.c_str(), 0600) != 0) return Status::from_errno("chmod " + path, errno);
  return Status::ok();
}

Status write_credentials(const std::string& path, const remoting::Credentials& c) {
  return write_private(path,
                       fmt::format("accessKey: {}\nsecretKey: {}\n", c.access_key, c.secret_key));
}

// plain_acl.yml: an admin account and the workload's (PUB and SUB on every topic and group:
// producers, consumers, their %RETRY% and %DLQ% topics, read-back).
std::string plain_acl_text(const remoting::Credentials& admin, const remoting::Credentials& bench) {
  return fmt::format(
      "globalWhiteRemoteAddresses: []\n"
      "accounts:\n"
      "  - accessKey: {}\n"
      "    secretKey: {}\n"
      "    admin: true\n"
      "  - accessKey: {}\n"
      "    secretKey: {}\n"
      "    admin: false\n"
      "    defaultTopicPerm: PUB|SUB\n"
      "    defaultGroupPerm: PUB|SUB\n",
      admin.access_key, admin.secret_key, bench.access_key, bench.secret_key);
}

bool certs_complete(const std::string& dir) {
  for (const char* f : {"ca.pem", "server.pem", "server.key"}) {
    std::error_code ec;
    if (std::filesystem::file_size(dir + "/" + f, ec) == 0 || ec) return false;
  }
  return true;
}

// Runs scripts/make-certs.sh into `dir` unless it holds the certificates already.
Status make_certs(const std::string& dir) {
  if (certs_complete(dir)) return Status::ok();
  const std::string script = make_certs_script();
  if (::access(script.c_str(), R_OK) != 0) {
    return Status::not_found("no certificates in " + dir + ", and " + script +
                             " is not there to make them (give --certs-dir with ca.pem, "
                             "server.pem and server.key)");
  }
  std::filesystem::create_directories(dir);
  COMET_ASSIGN_OR_RETURN(auto proc,
                         ChildProcess::spawn({"/bin/bash", script, dir}, dir + "/make-certs.log"));
  if (!proc->wait_exit(60s)) return Status::timeout(script + " did not finish within 60 s");
  const int status = proc->stop();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !certs_complete(dir)) {
    return Status::io_error(script + " failed (see " + dir + "/make-certs.log)");
  }
  return Status::ok();
}

Status prepare_acl(BenchSecurity& s) {
  const remoting::Credentials admin{kAdminAccount, random_secret()};
  const remoting::Credentials bench{kClientAccount, random_secret()};
  const remoting::Credentials cluster{kClusterAccount, random_secret()};
  COMET_RETURN_IF_ERROR(write_private(s.dir + "/plain_acl.yml", plain_acl_text(admin, bench)));
  COMET_RETURN_IF_ERROR(write_credentials(s.dir + "/cluster.yml", cluster));
  COMET_RETURN_IF_ERROR(write_credentials(s.dir + "/admin.yml", admin));
  s.server_args.insert(s.server_args.end(),
                       {"aclEnable=true", "aclFile=" + s.dir + "/plain_acl.yml",
                        "clusterCredentialFile=" + s.dir + "/cluster.yml"});
  s.admin_tool_args.insert(s.admin_tool_args.end(), {"--credentials-file", s.dir + "/admin.yml"});
  s.admin_credentials = admin;
  s.client_credentials = bench;
  return Status::ok();
}

Status prepare_tls(BenchSecurity& s, const std::string& certs_dir) {
  const std::string dir = certs_dir.empty() ? s.dir + "/certs" : certs_dir;
  COMET_RETURN_IF_ERROR(make_certs(dir));
  s.server_args.insert(s.server_args.end(),
                       {"tls.server.mode=enforcing", "tls.server.certPath=" + dir + "/server.pem",
                        "tls.server.keyPath=" + dir + "/server.key", "tls.enable=true",
                        "tls.client.trustCertPath=" + dir + "/ca.pem"});
  s.tls.enable = true;
  s.tls.trust_cert_path = dir + "/ca.pem";
  s.admin_tool_args.insert(s.admin_tool_args.end(), {"--tls-ca", s.tls.trust_cert_path});
  return Status::ok();
}

Result<BenchSecurity> prepare_local(const SecurityOptions& o, std::string_view what) {
  if (!o.access_key.empty() || !o.secret_key.empty() || !o.credentials_file.empty() ||
      !o.tls_ca.empty() || !o.tls_cert.empty() || !o.tls_key.empty()) {
    return Status::invalid_argument(
        "the clusters comet-bench starts get their own accounts and certificates (--acl, --tls, "
        "--certs-dir); the account and --tls-* options are for a cluster given with --namesrv");
  }
  BenchSecurity s;
  if (!o.acl && !o.tls) return s;
  COMET_ASSIGN_OR_RETURN(s.dir, make_run_dir(std::string(what) + "-security"));
  if (o.acl) COMET_RETURN_IF_ERROR(prepare_acl(s));
  if (o.tls) COMET_RETURN_IF_ERROR(prepare_tls(s, o.certs_dir));
  return s;
}

Result<BenchSecurity> prepare_existing(const SecurityOptions& o) {
  if (o.acl) {
    return Status::invalid_argument(
        "--acl secures the clusters comet-bench starts; for a cluster given with --namesrv, "
        "give its account (--accessKey/--secretKey or --credentials-file)");
  }
  if ((o.tls || !o.tls_cert.empty() || o.tls_no_verify_hostname) && o.tls_ca.empty()) {
    return Status::invalid_argument("TLS to an existing cluster needs --tls-ca <file>");
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return Status::invalid_argument("a client certificate needs both --tls-cert and --tls-key");
  }
  BenchSecurity s;
  COMET_ASSIGN_OR_RETURN(s.client_credentials, remoting::resolve_credentials(
                                                   o.access_key, o.secret_key, o.credentials_file));
  s.admin_credentials = s.client_credentials;
  s.tls.enable = !o.tls_ca.empty();
  s.tls.trust_cert_path = o.tls_ca;
  s.tls.cert_path = o.tls_cert;
  s.tls.key_path = o.tls_key;
  s.tls.verify_hostname = !o.tls_no_verify_hostname;
  return s;
}

client::ClientConfig config_with(const std::string& namesrv,
                                 const std::optional<remoting::Credentials>& credentials) {
  client::ClientConfig cfg;
  cfg.namesrv_addr = namesrv;
  cfg.credentials = credentials;
  cfg.tls = installed().tls;
  return cfg;
}

}  // namespace

const char* const kSecurityUsage =
    "security, a cluster given with --namesrv / -n:\n"
    "  --accessKey AK --secretKey SK | --credentials-file FILE   the account the clients sign\n"
    "      with (else $COMET_ACCESS_KEY/$COMET_SECRET_KEY, else unsigned)\n"
    "  --tls-ca FILE [--tls-cert FILE --tls-key FILE] [--tls-no-verify-hostname]   TLS\n"
    "security, the clusters comet-bench starts:\n"
    "  --acl            aclEnable on every process, an admin and a bench account, signed clients\n"
    "  --tls            tls.server.mode=enforcing and tls.enable everywhere, TLS clients\n"
    "  --certs-dir DIR  the certificates (scripts/make-certs.sh's names; made there if missing)\n";

OptionTaken parse_security_option(Args& args, SecurityOptions& o) {
  const std::string& a = args.option();
  std::string* value = nullptr;
  if (a == "--accessKey") {
    value = &o.access_key;
  } else if (a == "--secretKey") {
    value = &o.secret_key;
  } else if (a == "--credentials-file") {
    value = &o.credentials_file;
  } else if (a == "--tls-ca") {
    value = &o.tls_ca;
  } else if (a == "--tls-cert") {
    value = &o.tls_cert;
  } else if (a == "--tls-key") {
    value = &o.tls_key;
  } else if (a == "--certs-dir") {
    value = &o.certs_dir;
  } else if (a == "--tls-no-verify-hostname") {
    o.tls_no_verify_hostname = true;
    return OptionTaken::kYes;
  } else if (a == "--acl") {
    o.acl = true;
    return OptionTaken::kYes;
  } else if (a == "--tls") {
    o.tls = true;
    return OptionTaken::kYes;
  } else {
    return OptionTaken::kNo;
  }
  auto v = args.value();
  if (!v) return OptionTaken::kBad;
  *value = std::move(*v);
  return OptionTaken::kYes;
}

std::string BenchSecurity::label() const {
  std::string l = client_credentials ? "ACL" : "";
  if (tls.enable) l += l.empty() ? "TLS" : ", TLS";
  return l;
}

Result<BenchSecurity> prepare_security(const SecurityOptions& o, bool local,
                                       std::string_view what) {
  return local ? prepare_local(o, what) : prepare_existing(o);
}

ScopedBenchSecurity::ScopedBenchSecurity(BenchSecurity security, bool keep) : keep_(keep) {
  installed() = std::move(security);
}

ScopedBenchSecurity::~ScopedBenchSecurity() {
  if (!installed().dir.empty()) finish_run_dir(installed().dir, keep_, "security files");
  installed() = BenchSecurity{};
}

const BenchSecurity& bench_security() {
  return installed();
}

void skip_hostname_check() {
  BenchSecurity& s = installed();
  if (!s.tls.enable || !s.tls.verify_hostname) return;
  s.tls.verify_hostname = false;
  s.server_args.push_back("tls.client.verifyHostname=false");
  s.admin_tool_args.push_back("--tls-no-verify-hostname");
}

client::ClientConfig bench_client_config(const std::string& namesrv) {
  return config_with(namesrv, installed().client_credentials);
}

client::ClientConfig bench_admin_config(const std::string& namesrv) {
  return config_with(namesrv, installed().admin_credentials);
}

std::string make_certs_script() {
  return std::string(COMET_SOURCE_DIR) + "/scripts/make-certs.sh";
}

}  // namespace comet::bench
