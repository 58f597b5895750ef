// The security keys broker and name server share (remoting/security_config.h) and the TLS
// contexts built from them: every bad combination is refused naming the key to fix.
#include "remoting/security_config.h"

#include <gtest/gtest.h>

#include "remoting/link_security.h"
#include "remoting/tls_context.h"

namespace comet::remoting {
namespace {

Result<SecurityConfig> parse(const std::string& text) {
  auto props = Properties::parse(text);
  EXPECT_TRUE(props.is_ok()) << props.status().to_string();
  return SecurityConfig::from_properties(*props);
}

void expect_refused(const std::string& text, const std::string& key) {
  auto c = parse(text);
  ASSERT_FALSE(c.is_ok()) << text;
  EXPECT_NE(c.status().message().find(key), std::string::npos) << c.status().to_string();
}

TEST(SecurityConfig, DefaultsAreOffAndValid) {
  auto c = parse("");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_FALSE(c->acl_enable);
  EXPECT_EQ(c->tls_server.mode, TlsMode::kDisabled);
  EXPECT_FALSE(c->tls_client.enable);
  EXPECT_EQ(c->acl_signature_window_ms, 300'000u);
  auto links = LinkSecurity::from_config(*c);
  ASSERT_TRUE(links.is_ok()) << links.status().to_string();
  EXPECT_EQ(links->server_tls, nullptr);
  EXPECT_EQ(links->client.tls, nullptr);
  EXPECT_EQ(links->client.signer, nullptr);
}

TEST(SecurityConfig, IncompleteSettingsNameTheMissingKey) {
  expect_refused("aclEnable=true\n", "clusterCredentialFile");
  expect_refused("aclEnable=true\naclFile=\nclusterCredentialFile=/c.yml\n", "aclFile");
  expect_refused("tls.server.mode=enforcing\n", "tls.server.certPath");
  expect_refused("tls.server.mode=permissive\ntls.server.certPath=/s.pem\n", "tls.server.keyPath");
  expect_refused(
      "tls.server.mode=enforcing\ntls.server.certPath=/s.pem\ntls.server.keyPath=/s.key\n"
      "tls.server.need.client.auth=require\n",
      "tls.server.trustCertPath");
  expect_refused("tls.enable=true\n", "tls.client.trustCertPath");
  expect_refused("tls.enable=true\ntls.client.trustCertPath=/ca.pem\ntls.client.certPath=/c.pem\n",
                 "tls.client.keyPath");
}

TEST(SecurityConfig, BadValuesNameTheKey) {
  expect_refused("tls.server.mode=strict\n", "tls.server.mode");
  expect_refused("tls.server.need.client.auth=always\n", "tls.server.need.client.auth");
  expect_refused("aclSignatureWindowMs=10\n", "aclSignatureWindowMs");
  expect_refused("aclReloadIntervalMs=0\n", "aclReloadIntervalMs");
  expect_refused("aclEnable=maybe\n", "aclEnable");
}

TEST(SecurityConfig, MissingCertificateFilesAreNamedAtStartup) {
  auto c = parse(
      "tls.server.mode=enforcing\ntls.server.certPath=/nonexistent/server.pem\n"
      "tls.server.keyPath=/nonexistent/server.key\n");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  auto links = LinkSecurity::from_config(*c);
  ASSERT_FALSE(links.is_ok());
  EXPECT_NE(links.status().message().find("tls.server.certPath"), std::string::npos);
  EXPECT_NE(links.status().message().find("/nonexistent/server.pem"), std::string::npos);

  TlsClientConfig client;
  client.enable = true;
  client.trust_cert_path = "/nonexistent/ca.pem";
  auto ctx = make_client_tls_context(client);
  ASSERT_FALSE(ctx.is_ok());
  EXPECT_NE(ctx.status().message().find("tls.client.trustCertPath"), std::string::npos);
}

TEST(SecurityConfig, AMissingClusterCredentialFileFailsWithoutItsSecret) {
  auto c = parse("aclEnable=true\nclusterCredentialFile=/nonexistent/cluster.yml\n");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  auto links = LinkSecurity::from_config(*c);
  ASSERT_FALSE(links.is_ok());
  EXPECT_NE(links.status().message().find("/nonexistent/cluster.yml"), std::string::npos);
}

}  // namespace
}  // namespace comet::remoting
