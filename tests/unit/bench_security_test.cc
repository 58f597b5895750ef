// comet-bench's security setup (bench/bench_security.h): what --acl and --tls write for the
// clusters it starts, read back with the servers' own parsers, and the options' contradictions.
#include "bench/bench_security.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "remoting/credentials.h"
#include "remoting/plain_acl.h"

namespace comet::bench {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// "key=value" of `args`, or "" when the key is absent.
std::string value_of(const std::vector<std::string>& args, const std::string& key) {
  for (const auto& a : args) {
    if (a.rfind(key + "=", 0) == 0) return a.substr(key.size() + 1);
  }
  return "";
}

TEST(BenchSecurityTest, AclWritesAnAdminAndABenchAccountTheServersAccept) {
  SecurityOptions o;
  o.acl = true;
  auto made = prepare_security(o, /*local=*/true, "bench-security-test");
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  const BenchSecurity& s = *made;
  EXPECT_EQ(value_of(s.server_args, "aclEnable"), "true");
  const std::string acl_file = value_of(s.server_args, "aclFile");
  auto acl = remoting::parse_plain_acl(read_text(acl_file), acl_file);
  ASSERT_TRUE(acl.is_ok()) << acl.status().to_string();
  ASSERT_TRUE(s.admin_credentials && s.client_credentials);
  const auto& admin = acl->accounts.at(s.admin_credentials->access_key);
  EXPECT_TRUE(admin.admin);
  EXPECT_EQ(admin.secret_key, s.admin_credentials->secret_key);
  const auto& bench = acl->accounts.at(s.client_credentials->access_key);
  EXPECT_FALSE(bench.admin);
  EXPECT_EQ(bench.default_topic_perm, remoting::perm::kPub | remoting::perm::kSub);
  EXPECT_EQ(bench.default_group_perm, remoting::perm::kPub | remoting::perm::kSub);
  EXPECT_NE(s.admin_credentials->secret_key, s.client_credentials->secret_key);
  // The cluster credential is no account, and the files are the owner's only.
  auto cluster = remoting::load_credentials_file(value_of(s.server_args, "clusterCredentialFile"));
  ASSERT_TRUE(cluster.is_ok()) << cluster.status().to_string();
  EXPECT_EQ(acl->accounts.count(cluster->access_key), 0u);
  struct stat st {};
  ASSERT_EQ(::stat(acl_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // comet-admin gets the admin account as a file, never a secret on its command line.
  for (const auto& a : s.admin_tool_args)
    EXPECT_EQ(a.find(s.admin_credentials->secret_key), std::string::npos) << a;
  EXPECT_EQ(s.label(), "ACL");
  std::filesystem::remove_all(s.dir);
}

TEST(BenchSecurityTest, OptionsThatDoNotFitTheClusterAreRefused) {
  SecurityOptions acl_external;
  acl_external.acl = true;
  EXPECT_EQ(prepare_security(acl_external, /*local=*/false, "t").status().code(),
            Code::kInvalidArgument);
  SecurityOptions account_local;
  account_local.access_key = "ak";
  account_local.secret_key = "secret-not-echoed";
  auto refused = prepare_security(account_local, /*local=*/true, "t");
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message().find("secret-not-echoed"), std::string::npos);
  SecurityOptions tls_without_ca;
  tls_without_ca.tls = true;
  EXPECT_EQ(prepare_security(tls_without_ca, /*local=*/false, "t").status().code(),
            Code::kInvalidArgument);
  SecurityOptions half_certificate;
  half_certificate.tls_ca = "/ca.pem";
  half_certificate.tls_cert = "/client.pem";
  EXPECT_EQ(prepare_security(half_certificate, /*local=*/false, "t").status().code(),
            Code::kInvalidArgument);
  // Nothing asked: nothing made, nothing secured.
  auto none = prepare_security(SecurityOptions{}, /*local=*/true, "t");
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->secured());
  EXPECT_TRUE(none->server_args.empty());
  EXPECT_TRUE(none->dir.empty());
}

TEST(BenchSecurityTest, ExistingClusterTakesTheAccountAndTlsForBothClientKinds) {
  SecurityOptions o;
  o.access_key = "orders-app";
  o.secret_key = "app-secret-1";
  o.tls_ca = "/etc/comet/ca.pem";
  o.tls_no_verify_hostname = true;
  auto made = prepare_security(o, /*local=*/false, "t");
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  ScopedBenchSecurity installed(std::move(*made), false);
  for (const auto& cfg : {bench_client_config("127.0.0.1:9876"), bench_admin_config("x:1")}) {
    ASSERT_TRUE(cfg.credentials.has_value());
    EXPECT_EQ(cfg.credentials->access_key, "orders-app");
    EXPECT_TRUE(cfg.tls.enable);
    EXPECT_EQ(cfg.tls.trust_cert_path, "/etc/comet/ca.pem");
    EXPECT_FALSE(cfg.tls.verify_hostname);
  }
  EXPECT_EQ(bench_security().label(), "ACL, TLS");
}

}  // namespace
}  // namespace comet::bench
