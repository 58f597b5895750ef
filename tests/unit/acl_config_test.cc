// Access control's configuration: plain_acl.yml parsing (remoting/plain_acl.h) with every key and
// every error, and RocketMQ's remote address forms (remoting/remote_address.h).
#include <gtest/gtest.h>

#include <string>

#include "remoting/plain_acl.h"
#include "remoting/remote_address.h"

namespace comet::remoting {
namespace {

PeerAddress addr(const char* text) {
  auto a = parse_peer_address(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(PeerAddress{});
}

RemoteAddressPattern pattern(const char* text) {
  auto p = RemoteAddressPattern::parse(text);
  EXPECT_TRUE(p.is_ok()) << text << ": " << p.status().to_string();
  return p.is_ok() ? p.value() : RemoteAddressPattern{};
}

TEST(RemoteAddress, PeerAddressesAndHosts) {
  EXPECT_TRUE(addr("127.0.0.1").v4);
  EXPECT_EQ(addr("::ffff:10.1.2.3"), addr("10.1.2.3"));  // IPv4-mapped reads as IPv4
  EXPECT_FALSE(addr("::1").v4);
  EXPECT_EQ(addr("1050:0:0:0:5:600:300c:326b"), addr("1050::5:600:300c:326b"));
  EXPECT_FALSE(parse_peer_address("300.1.1.1"));
  EXPECT_FALSE(parse_peer_address("host"));
  EXPECT_FALSE(parse_peer_address(""));
  EXPECT_EQ(host_of("127.0.0.1:8080"), "127.0.0.1");
  EXPECT_EQ(host_of("::1:8080"), "::1");
  EXPECT_EQ(host_of("[::1]:8080"), "::1");
}

TEST(RemoteAddress, EmptyMatchesNothingAndStarMatchesEverything) {
  EXPECT_FALSE(pattern("").matches(addr("1.2.3.4")));
  EXPECT_TRUE(pattern("").empty());
  for (const char* any : {"*", "*.*.*.*", "*:*:*:*:*:*:*:*"}) {
    EXPECT_TRUE(pattern(any).matches(addr("1.2.3.4"))) << any;
    EXPECT_TRUE(pattern(any).matches(addr("::1"))) << any;
  }
}

TEST(RemoteAddress, ExactListRangeAndWildcardForms) {
  EXPECT_TRUE(pattern("192.168.0.1").matches(addr("192.168.0.1")));
  EXPECT_FALSE(pattern("192.168.0.1").matches(addr("192.168.0.2")));
  const auto braces = pattern("192.168.0.{1,2,3}");
  EXPECT_TRUE(braces.matches(addr("192.168.0.3")));
  EXPECT_FALSE(braces.matches(addr("192.168.0.4")));
  const auto list = pattern("10.0.0.1, 10.0.0.9");
  EXPECT_TRUE(list.matches(addr("10.0.0.9")));
  EXPECT_FALSE(list.matches(addr("10.0.0.5")));
  const auto range = pattern("192.168.0.1-10");
  EXPECT_TRUE(range.matches(addr("192.168.0.1")));
  EXPECT_TRUE(range.matches(addr("192.168.0.10")));
  EXPECT_FALSE(range.matches(addr("192.168.0.11")));
  EXPECT_FALSE(range.matches(addr("192.168.1.5")));
  const auto star = pattern("192.168.*.*");
  EXPECT_TRUE(star.matches(addr("192.168.7.9")));
  EXPECT_FALSE(star.matches(addr("192.169.7.9")));
  EXPECT_TRUE(pattern("10.1-2.*.*").matches(addr("10.2.200.1")));
  EXPECT_FALSE(pattern("10.1-2.*.*").matches(addr("10.3.0.1")));
  EXPECT_FALSE(pattern("127.0.0.*").matches(addr("::1")));  // families do not mix
}

TEST(RemoteAddress, Ipv6Forms) {
  EXPECT_TRUE(pattern("::1").matches(addr("0:0:0:0:0:0:0:1")));
  EXPECT_TRUE(pattern("1050::5:600:300c:{326b,326c}").matches(addr("1050:0:0:0:5:600:300c:326c")));
  EXPECT_FALSE(pattern("1050::5:600:300c:{326b,326c}").matches(addr("1050::5:600:300c:326d")));
  const auto star = pattern("1050:0:0:0:5:600:300c:*");
  EXPECT_TRUE(star.matches(addr("1050::5:600:300c:ffff")));
  EXPECT_FALSE(star.matches(addr("1051::5:600:300c:1")));
  const auto range = pattern("1050:0005:0600:300c:1-ff");  // missing groups read as *
  EXPECT_TRUE(range.matches(addr("1050:5:600:300c:ff:1:2:3")));
  EXPECT_FALSE(range.matches(addr("1050:5:600:300c:100::")));
}

TEST(RemoteAddress, BadPatternsAreErrorsNamingThem) {
  for (const char* bad : {"192.168.0", "192.168.0.256", "192.168.*.1", "192.168.0.10-1",
                          "192.168.0.-1", "10.0.0.{1,x}", "{1,2}", "1.2.3.4,1.2.3.*", "host",
                          "1:2:3:4:5:6:7:8:9:*", "1::2:*", "192.168.0.1-2-3"}) {
    auto p = RemoteAddressPattern::parse(bad);
    ASSERT_FALSE(p.is_ok()) << bad;
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_NE(p.status().message().find(bad), std::string::npos) << p.status().message();
  }
}

TEST(Permission, ParseAndCheckAsRocketmq) {
  EXPECT_EQ(parse_perm("PUB").value(), perm::kPub);
  EXPECT_EQ(parse_perm("SUB").value(), perm::kSub);
  EXPECT_EQ(parse_perm("PUB|SUB").value(), perm::kPub | perm::kSub);
  EXPECT_EQ(parse_perm("SUB|PUB").value(), perm::kPub | perm::kSub);
  EXPECT_EQ(parse_perm("PUB,SUB").value(), perm::kPub | perm::kSub);
  EXPECT_EQ(parse_perm("DENY").value(), perm::kDeny);
  EXPECT_FALSE(parse_perm("pub").is_ok());
  EXPECT_FALSE(parse_perm("").is_ok());
  EXPECT_TRUE(perm_allows(perm::kPub, perm::kPub));
  EXPECT_FALSE(perm_allows(perm::kSub, perm::kPub));
  EXPECT_TRUE(perm_allows(perm::kPub | perm::kSub, perm::kSub));
  EXPECT_FALSE(perm_allows(perm::kDeny, perm::kSub));
  EXPECT_TRUE(perm_allows(perm::kSub, perm::kAny));
  EXPECT_FALSE(perm_allows(perm::kDeny, perm::kAny));
}

constexpr const char* kFullFile = R"(
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress: 127.0.0.2
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB
  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress:
    admin: true
)";

TEST(PlainAcl, ReadsEveryKey) {
  auto parsed = parse_plain_acl(kFullFile, "plain_acl.yml");
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  const PlainAclConfig& c = parsed.value();
  ASSERT_EQ(c.global_white_remote_addresses.size(), 2u);
  EXPECT_TRUE(c.global_white_remote_addresses[0].matches(addr("10.10.103.7")));
  ASSERT_EQ(c.accounts.size(), 2u);
  const AclAccount& a = c.accounts.at("RocketMQ");
  EXPECT_EQ(a.secret_key, "12345678");
  EXPECT_TRUE(a.white_remote_address.matches(addr("127.0.0.2")));
  EXPECT_FALSE(a.white_remote_address.matches(addr("127.0.0.1")));
  EXPECT_FALSE(a.admin);
  EXPECT_EQ(a.default_topic_perm, perm::kDeny);
  EXPECT_EQ(a.default_group_perm, perm::kSub);
  EXPECT_EQ(a.topic_perms.at("topicA"), perm::kDeny);
  EXPECT_EQ(a.topic_perms.at("topicB"), perm::kPub | perm::kSub);
  EXPECT_EQ(a.topic_perms.at("topicC"), perm::kSub);
  EXPECT_EQ(a.group_perms.at("groupA"), perm::kDeny);
  EXPECT_EQ(a.group_perms.size(), 3u);
  const AclAccount& admin = c.accounts.at("rocketmq2");
  EXPECT_TRUE(admin.admin);
  EXPECT_TRUE(admin.white_remote_address.empty());
  EXPECT_EQ(admin.default_topic_perm, perm::kDeny);  // absent: DENY, as RocketMQ
  EXPECT_EQ(admin.default_group_perm, perm::kDeny);
}

TEST(PlainAcl, EmptyFileHasNoAccounts) {
  auto parsed = parse_plain_acl("", "empty.yml");
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_TRUE(parsed->accounts.empty());
  EXPECT_TRUE(parse_plain_acl("accounts:\n", "x").is_ok());
}

struct BadFile {
  const char* text;
  const char* message;  // a part of the error
};

TEST(PlainAcl, EveryErrorNamesTheAccountAndKeyButNeverTheSecret) {
  const BadFile cases[] = {
      {"accounts: [", "is not YAML"},
      {"- a\n- b\n", "is not a YAML map"},
      {"acounts: []\n", "unknown key 'acounts'"},
      {"accounts: {a: 1}\n", "accounts is not a list"},
      {"accounts:\n  - 5\n", "accounts[0]: is not a map"},
      {"accounts:\n  - secretKey: hidden-secret-1\n", "accounts[0]: has no accessKey"},
      {"accounts:\n  - accessKey: ''\n    secretKey: hidden-secret-1\n", "empty accessKey"},
      {"accounts:\n  - accessKey: [a]\n    secretKey: hidden-secret-1\n", "accessKey is not"},
      {"accounts:\n  - accessKey: app\n", "account 'app': has no secretKey"},
      {"accounts:\n  - accessKey: app\n    secretKey: hid12\n",
       "account 'app': secretKey is shorter than 6"},
      {"accounts:\n  - accessKey: app\n    secretKey: [hidden-secret-1]\n",
       "account 'app': secretKey is not"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    admin: yes-ish\n",
       "admin is not true or false"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    defaultTopicPerm: ALL\n",
       "account 'app': defaultTopicPerm: permission 'ALL'"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    defaultGroupPerm: "
       "[SUB]\n",
       "account 'app': defaultGroupPerm is not"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    topicPerms: t=PUB\n",
       "account 'app': topicPerms is not a list"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    topicPerms: [t]\n",
       "topicPerms entry 't' is not <name>=<perm>"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    topicPerms: [=PUB]\n",
       "topicPerms entry '=PUB'"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    groupPerms: [g=READ]\n",
       "account 'app': groupPerms entry 'g=READ': permission 'READ'"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    groupPerms: [g=SUB, "
       "g=PUB]\n",
       "groupPerms names 'g' twice"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    groupPerms: [[g]]\n",
       "groupPerms has an entry that is not text"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    whiteRemoteAddress: "
       "1.2.3\n",
       "account 'app': whiteRemoteAddress: remote address pattern '1.2.3'"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    whiteRemoteAddress: "
       "[a]\n",
       "whiteRemoteAddress is not a value"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n    topicPerm: [t=PUB]\n",
       "account 'app': unknown key 'topicPerm'"},
      {"accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1\n  - accessKey: app\n"
       "    secretKey: hidden-secret-2\n",
       "account 'app': accessKey is used by another account"},
      {"globalWhiteRemoteAddresses: 1.2.3.4\n", "globalWhiteRemoteAddresses is not a list"},
      {"globalWhiteRemoteAddresses: [1.2.3.x]\n", "remote address pattern '1.2.3.x'"},
      {"globalWhiteRemoteAddresses: [[1]]\n", "non-text entry"},
  };
  for (const BadFile& c : cases) {
    auto parsed = parse_plain_acl(c.text, "conf/acl.yml");
    ASSERT_FALSE(parsed.is_ok()) << c.text;
    const std::string& m = parsed.status().message();
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_NE(m.find("acl file 'conf/acl.yml'"), std::string::npos) << m;
    EXPECT_NE(m.find(c.message), std::string::npos) << "expected '" << c.message << "' in " << m;
    EXPECT_EQ(m.find("hidden-secret"), std::string::npos) << m;
  }
}

TEST(PlainAcl, YamlErrorsDoNotQuoteTheLine) {
  auto parsed = parse_plain_acl(
      "accounts:\n  - accessKey: app\n    secretKey: hidden-secret-1 {\n  : [\n", "x.yml");
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().message().find("hidden-secret"), std::string::npos);
}

}  // namespace
}  // namespace comet::remoting
