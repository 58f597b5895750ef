// comet's clients against a secured cluster: a real comet-namesrv and comet-broker with aclEnable
// (an admin account and an application account in plain_acl.yml, a cluster credential) and
// tls.server.mode=enforcing, certificates from scripts/make-certs.sh. A Producer and a
// PushConsumer with credentials and TLS send and receive; comet-admin as the admin account
// manages topics, and as the application account gets the broker's refusal and a non-zero exit;
// credentials from the environment and from a file both work; a wrong secret or no account is
// kPermissionDenied with the server's remark; half a credential or an unreadable TLS file fails
// start() of every client kind. No secret ever appears in a process's log or comet-admin's output.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "consumer/pull_consumer.h"
#include "consumer/push_consumer.h"
#include "integration/process.h"
#include "producer/producer.h"
#include "producer/transaction_producer.h"
#include "remoting/credentials.h"
#include "unit/test_util.h"

namespace comet::testing {
namespace {

using namespace std::chrono_literals;
using client::ClientConfig;
using client::MessageExt;
using client::Producer;
using client::ProducerMessage;
using client::PullConsumer;
using client::PushConsumer;
using remoting::Credentials;

// Secrets long and distinctive enough that finding one in a log cannot be a coincidence.
const Credentials kAdmin{"ops-admin", "admin-secret-5f0c2b9e7a41"};
const Credentials kApp{"orders-app", "app-secret-93d1e6c08b27"};
const Credentials kCluster{"cluster-member", "cluster-secret-2a7e91c4d6f3"};
constexpr const char* kWrongSecret = "not-the-app-secret-1c9e";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.flush()) << path;
}

std::string credentials_yaml(const Credentials& c) {
  return "accessKey: " + c.access_key + "\nsecretKey: " + c.secret_key + "\n";
}

class SecureClientProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path();
    certs_ = root_ + "/certs";
    auto made = run_process(
        {"/bin/bash", std::string(COMET_SOURCE_DIR) + "/scripts/make-certs.sh", certs_}, {}, 60s);
    ASSERT_EQ(made.exit_code, 0) << made.err;
    write_file(root_ + "/plain_acl.yml",
               "globalWhiteRemoteAddresses: []\n"
               "accounts:\n"
               "  - accessKey: " +
                   kAdmin.access_key + "\n    secretKey: " + kAdmin.secret_key +
                   "\n    admin: true\n"
                   "  - accessKey: " +
                   kApp.access_key + "\n    secretKey: " + kApp.secret_key +
                   "\n    admin: false\n"
                   "    defaultTopicPerm: PUB|SUB\n"
                   "    defaultGroupPerm: PUB|SUB\n");
    write_file(root_ + "/cluster.yml", credentials_yaml(kCluster));
    write_file(root_ + "/admin.yml", credentials_yaml(kAdmin));
    const std::vector<std::string> secured = {"aclEnable=true",
                                              "aclFile=" + root_ + "/plain_acl.yml",
                                              "clusterCredentialFile=" + root_ + "/cluster.yml",
                                              "tls.server.mode=enforcing",
                                              "tls.server.certPath=" + certs_ + "/server.pem",
                                              "tls.server.keyPath=" + certs_ + "/server.key",
                                              "tls.enable=true",
                                              "tls.client.trustCertPath=" + certs_ + "/ca.pem"};
    std::vector<std::string> argv = {COMET_NAMESRV_BIN, "listenPort=0", "bindAddress=127.0.0.1"};
    argv.insert(argv.end(), secured.begin(), secured.end());
    auto namesrv = ChildProcess::spawn(argv, root_ + "/namesrv.log");
    ASSERT_TRUE(namesrv.is_ok()) << namesrv.status().to_string();
    namesrv_ = std::move(*namesrv);
    auto line = namesrv_->wait_for_line("ready on", 20s);
    ASSERT_TRUE(line.is_ok()) << line.status().to_string() << "\n"
                              << read_file(root_ + "/namesrv.log");
    namesrv_addr_ = ChildProcess::address_in(*line);

    argv = {COMET_BROKER_BIN,
            "listenPort=0",
            "haListenPort=0",
            "bindAddress=127.0.0.1",
            "brokerName=broker-a",
            "storePathRootDir=" + root_ + "/broker-a",
            "mappedFileSizeCommitLog=67108864",
            "heartbeatIntervalMs=300",
            "namesrvAddr=" + namesrv_addr_};
    argv.insert(argv.end(), secured.begin(), secured.end());
    auto broker = ChildProcess::spawn(argv, root_ + "/broker.log");
    ASSERT_TRUE(broker.is_ok()) << broker.status().to_string();
    broker_ = std::move(*broker);
    line = broker_->wait_for_line("ready on", 30s);
    ASSERT_TRUE(line.is_ok()) << line.status().to_string() << "\n"
                              << read_file(root_ + "/broker.log");
    broker_addr_ = ChildProcess::address_in(*line);
  }

  void TearDown() override {
    if (broker_) broker_->stop();
    if (namesrv_) namesrv_->stop();
    // No secret in any process's log, nor in anything comet-admin printed.
    std::vector<std::pair<std::string, std::string>> texts = {
        {"namesrv.log", read_file(root_ + "/namesrv.log")},
        {"broker.log", read_file(root_ + "/broker.log")}};
    for (size_t i = 0; i < tool_output_.size(); ++i)
      texts.emplace_back("comet-admin run " + std::to_string(i), tool_output_[i]);
    for (const auto& [what, text] : texts) {
      for (const char* secret : {kAdmin.secret_key.c_str(), kApp.secret_key.c_str(),
                                 kCluster.secret_key.c_str(), kWrongSecret}) {
        EXPECT_EQ(text.find(secret), std::string::npos) << what << " shows a secret:\n" << text;
      }
    }
    if (HasFailure()) {
      std::printf("---- namesrv.log\n%s---- broker.log\n%s", texts[0].second.c_str(),
                  texts[1].second.c_str());
    }
  }

  // A client config of this cluster: TLS against the test CA, signed as `account` (if any).
  ClientConfig config(const std::string& client_id, std::optional<Credentials> account) const {
    ClientConfig c;
    c.namesrv_addr = namesrv_addr_;
    c.client_id = client_id;
    c.heartbeat_interval = 1000ms;
    c.poll_name_server_interval = 1000ms;
    c.credentials = std::move(account);
    c.tls.enable = true;
    c.tls.trust_cert_path = certs_ + "/ca.pem";
    return c;
  }

  // comet-admin with TLS to this cluster; its output is kept for the secret check.
  RunResult admin(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {COMET_ADMIN_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-n", namesrv_addr_, "--tls-ca", certs_ + "/ca.pem"});
    RunResult r = run_process(argv, env, 30s);
    tool_output_.push_back(r.out + r.err);
    return r;
  }

  void create_topic(const std::string& topic) {
    auto r = admin({"updateTopic", "-t", topic, "-b", broker_addr_, "-r", "4", "-w", "4",
                    "--credentials-file", root_ + "/admin.yml"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  TempDir dir_;
  std::string root_, certs_;
  std::unique_ptr<ChildProcess> namesrv_, broker_;
  std::string namesrv_addr_, broker_addr_;
  std::vector<std::string> tool_output_;
};

TEST_F(SecureClientProcessTest, ProducerAndPushConsumerWithCredentialsAndTlsSendAndReceive) {
  const std::string topic = "SecureOrders";
  create_topic(topic);
  Producer producer("secure-producers", config("secure-producer", kApp));
  ASSERT_TRUE(producer.start().is_ok());
  producer.set_send_msg_timeout(10s);
  constexpr int kMessages = 200;
  std::set<std::string> sent;
  for (int i = 0; i < kMessages; ++i) {
    auto r = producer.send(ProducerMessage{topic, "order-" + std::to_string(i), "Paid", "", {}, 0});
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    sent.insert("order-" + std::to_string(i));
  }

  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> received;
  PushConsumer consumer("secure-consumers", config("secure-consumer", kApp));
  ASSERT_TRUE(consumer.subscribe(topic, "*").is_ok());
  consumer.set_consume_from_where(client::ConsumeFromWhere::kFirstOffset);
  consumer.register_message_listener([&](const std::vector<MessageExt>& msgs) {
    std::lock_guard lock(mu);
    for (const auto& m : msgs)
      received.insert(m.body);
    cv.notify_all();
    return client::ConsumeStatus::kSuccess;
  });
  ASSERT_TRUE(consumer.start().is_ok());
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 30s, [&] { return received.size() >= sent.size(); }))
        << received.size() << " of " << sent.size() << " received";
    EXPECT_EQ(received, sent);
  }
  consumer.shutdown();
  producer.shutdown();
}

TEST_F(SecureClientProcessTest, AdminAccountManagesTopicsAndAnOrdinaryAccountGetsTheRefusal) {
  // The admin account from a tools.yml-shaped file: create, list, delete.
  auto created = admin({"updateTopic", "-t", "AdminMade", "-b", broker_addr_, "--credentials-file",
                        root_ + "/admin.yml"});
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  // The admin account from the environment.
  auto listed = admin({"topicList"}, {"COMET_ACCESS_KEY=" + kAdmin.access_key,
                                      "COMET_SECRET_KEY=" + kAdmin.secret_key});
  ASSERT_EQ(listed.exit_code, 0) << listed.out << listed.err;
  EXPECT_NE(listed.out.find("AdminMade"), std::string::npos) << listed.out;
  auto deleted = admin({"deleteTopic", "-t", "AdminMade", "-c", "DefaultCluster",
                        "--credentials-file", root_ + "/admin.yml"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.out << deleted.err;

  // An ordinary account (on the command line) may read, not manage: the broker's remark.
  auto read =
      admin({"clusterList", "--accessKey", kApp.access_key, "--secretKey", kApp.secret_key});
  EXPECT_EQ(read.exit_code, 0) << read.out << read.err;
  auto refused = admin({"updateTopic", "-t", "NotAllowed", "-b", broker_addr_, "--accessKey",
                        kApp.access_key, "--secretKey", kApp.secret_key});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("NO_PERMISSION"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("account '" + kApp.access_key + "' lacks admin"), std::string::npos)
      << "the broker's remark: " << refused.err;

  // Without any account the name server refuses the tool too.
  auto unsigned_run = admin({"clusterList"});
  EXPECT_NE(unsigned_run.exit_code, 0) << unsigned_run.out;
  EXPECT_NE(unsigned_run.err.find("NO_PERMISSION"), std::string::npos) << unsigned_run.err;
}

// comet-bench against an existing secured cluster: the account from the environment, TLS from
// --tls-ca; without the account the first send is refused.
TEST_F(SecureClientProcessTest, BenchProducesAndConsumesWithTheAccountAndTls) {
  create_topic("BenchSecured");
  const std::vector<std::string> env = {"COMET_ACCESS_KEY=" + kApp.access_key,
                                        "COMET_SECRET_KEY=" + kApp.secret_key};
  const std::vector<std::string> common = {"-n",           namesrv_addr_,      "-t",
                                           "BenchSecured", "--messages",       "2000",
                                           "--tls-ca",     certs_ + "/ca.pem", "--json"};
  auto bench = [&](const char* command, const std::vector<std::string>& extra_env) {
    std::vector<std::string> argv = {COMET_BENCH_BIN, command};
    argv.insert(argv.end(), common.begin(), common.end());
    RunResult r = run_process(argv, extra_env, 60s);
    tool_output_.push_back(r.out + r.err);
    return r;
  };
  auto produced = bench("produce", env);
  ASSERT_EQ(produced.exit_code, 0) << produced.out << produced.err;
  EXPECT_NE(produced.out.find("\"messages\":2000,\"errors\":0"), std::string::npos) << produced.out;
  auto consumed = bench("consume", env);
  ASSERT_EQ(consumed.exit_code, 0) << consumed.out << consumed.err;
  EXPECT_NE(consumed.out.find("\"complete\":true"), std::string::npos) << consumed.out;
  auto refused = bench("produce", {});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("is not signed"), std::string::npos) << refused.err;
}

TEST_F(SecureClientProcessTest, WrongSecretOrNoAccountIsPermissionDeniedWithTheRemark) {
  const std::string topic = "SecureRefusals";
  create_topic(topic);
  for (const auto& account :
       {std::optional<Credentials>(Credentials{kApp.access_key, kWrongSecret}),
        std::optional<Credentials>()}) {
    SCOPED_TRACE(account ? "wrong secret" : "unsigned");
    Producer producer("refused-producers",
                      config(account ? "wrong-secret-producer" : "unsigned-producer", account));
    ASSERT_TRUE(producer.start().is_ok());
    producer.set_send_msg_timeout(5s);
    auto r = producer.send(ProducerMessage{topic, "refused", "", "", {}, 0});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status().to_string();
    EXPECT_NE(r.status().message().find("NO_PERMISSION"), std::string::npos)
        << r.status().to_string();
    // The server's remark says why.
    EXPECT_NE(r.status().message().find(account ? "signature does not match for account '" +
                                                      kApp.access_key + "'"
                                                : std::string("is not signed")),
              std::string::npos)
        << r.status().to_string();
    EXPECT_EQ(r.status().message().find(kWrongSecret), std::string::npos);
    producer.shutdown();
  }
}

// No processes: what every client kind says at start() about unusable settings.
class DummyListener : public client::TransactionListener {
 public:
  client::LocalTransactionState execute_local_transaction(const ProducerMessage&,
                                                          const std::any&) override {
    return client::LocalTransactionState::kCommitMessage;
  }
  client::LocalTransactionState check_local_transaction(const MessageExt&) override {
    return client::LocalTransactionState::kCommitMessage;
  }
};

Status start_each_kind(const ClientConfig& base, std::vector<std::string>& messages) {
  int n = 0;
  auto cfg = [&] {
    ClientConfig c = base;
    c.client_id = "bad-settings-" + std::to_string(n++);
    return c;
  };
  Producer producer("p", cfg());
  client::TransactionProducer txn("t", cfg(), std::make_shared<DummyListener>());
  PushConsumer push("c", cfg());
  (void)push.subscribe("T", "*");
  push.register_message_listener(
      [](const std::vector<MessageExt>&) { return client::ConsumeStatus::kSuccess; });
  PullConsumer pull("c", cfg());
  Status last;
  for (Status s : {producer.start(), txn.start(), push.start(), pull.start()}) {
    messages.push_back(s.to_string());
    if (s.is_ok()) return Status::corruption("a client started: " + s.to_string());
    last = s;
  }
  return last;
}

TEST(SecureClientConfigTest, HalfACredentialOrAnUnreadableTlsFileFailsEveryClientAtStart) {
  ClientConfig base;
  base.namesrv_addr = "127.0.0.1:1";
  {
    ClientConfig c = base;
    c.credentials = Credentials{"only-the-key", ""};
    std::vector<std::string> messages;
    Status s = start_each_kind(c, messages);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.to_string();
    for (const auto& m : messages)
      EXPECT_NE(m.find("accessKey=only-the-key has no secret key"), std::string::npos) << m;
  }
  {
    ClientConfig c = base;
    c.credentials = Credentials{"", "a-secret-without-its-key"};
    std::vector<std::string> messages;
    EXPECT_EQ(start_each_kind(c, messages).code(), Code::kInvalidArgument);
    for (const auto& m : messages)
      EXPECT_EQ(m.find("a-secret-without-its-key"), std::string::npos) << m;
  }
  {
    ClientConfig c = base;
    c.tls.enable = true;
    c.tls.trust_cert_path = "/nonexistent/ca.pem";
    std::vector<std::string> messages;
    EXPECT_EQ(start_each_kind(c, messages).code(), Code::kInvalidArgument);
    for (const auto& m : messages) {
      EXPECT_NE(m.find("tls.client.trustCertPath: cannot load '/nonexistent/ca.pem'"),
                std::string::npos)
          << m;
    }
  }
  {
    ClientConfig c = base;
    c.tls.enable = true;  // no CA
    std::vector<std::string> messages;
    EXPECT_EQ(start_each_kind(c, messages).code(), Code::kInvalidArgument);
    for (const auto& m : messages)
      EXPECT_NE(m.find("tls.client.trustCertPath"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace comet::testing
