// The comet-namesrv binary as a real process: readiness line, service over loopback, clean exit
// on SIGTERM, exit code 2 on bad configuration.
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "integration/process.h"
#include "remoting/remoting_client.h"

namespace comet::testing {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingClient;
using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;
namespace protocol = ::comet::protocol;

class NamesrvProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "comet-namesrv-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Result<std::unique_ptr<ChildProcess>> spawn(std::vector<std::string> args) {
    args.insert(args.begin(), COMET_NAMESRV_BIN);
    return ChildProcess::spawn(args, log_path());
  }
  std::string log_path() const { return dir_ + "/namesrv.log"; }
  std::string log() const {
    std::ifstream in(log_path());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::string dir_;
};

TEST_F(NamesrvProcessTest, ServesRoutesAndExitsCleanlyOnSigterm) {
  auto proc = spawn({"listenPort=0", "bindAddress=127.0.0.1", "brokerExpiryMs=60000"});
  ASSERT_TRUE(proc.is_ok()) << proc.status().to_string();
  auto& ns = *proc.value();
  auto ready = ns.wait_for_line("comet-namesrv ready on", 10s);
  ASSERT_TRUE(ready.is_ok()) << ready.status().to_string() << "\n" << log();
  const std::string addr = ChildProcess::address_in(*ready);
  EXPECT_EQ(addr.rfind("127.0.0.1:", 0), 0u) << *ready;

  RemotingClient client;
  auto reg = RemotingCommand::request(RequestCode::REGISTER_BROKER);
  protocol::RegisterBrokerRequestT req;
  req.cluster_name = "DefaultCluster";
  req.broker_name = "broker-a";
  req.broker_id = 0;
  req.broker_addr = "127.0.0.1:10911";
  req.ha_server_addr = "127.0.0.1:10912";
  auto tc = std::make_unique<protocol::TopicConfigT>();
  tc->topic_name = "Orders";
  tc->read_queue_nums = 4;
  tc->write_queue_nums = 4;
  tc->perm = 6;
  req.topic_configs.push_back(std::move(tc));
  reg.set_ext(std::move(req));
  auto r = client.invoke(addr, std::move(reg), 5s);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  ASSERT_NE(r->ext<protocol::RegisterBrokerResponseT>(), nullptr);
  EXPECT_EQ(r->ext<protocol::RegisterBrokerResponseT>()->ha_server_addr, "127.0.0.1:10912");

  auto get = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
  protocol::GetRouteInfoRequestT q;
  q.topic = "Orders";
  get.set_ext(std::move(q));
  auto route = client.invoke(addr, std::move(get), 5s);
  ASSERT_TRUE(route.is_ok()) << route.status().to_string();
  ASSERT_EQ(route->response_code(), ResponseCode::SUCCESS) << route->remark();
  const auto* data = route->ext<protocol::TopicRouteDataT>();
  ASSERT_NE(data, nullptr);
  ASSERT_EQ(data->broker_datas.size(), 1u);
  ASSERT_EQ(data->broker_datas[0]->broker_addrs.size(), 1u);
  EXPECT_EQ(data->broker_datas[0]->broker_addrs[0]->addr, "127.0.0.1:10911");
  ASSERT_EQ(data->queue_datas.size(), 1u);
  EXPECT_EQ(data->queue_datas[0]->read_queue_nums, 4);

  const auto stop_started = std::chrono::steady_clock::now();
  ns.signal(SIGTERM);
  ASSERT_TRUE(ns.wait_exit(10s)) << "no exit within 10 s of SIGTERM\n" << log();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 10s);
  const int status = ns.stop();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << log();
}

TEST_F(NamesrvProcessTest, BadConfigValueExitsWithCode2NamingTheKey) {
  auto proc = spawn({"listenPort=0", "brokerExpiryMs=abc"});
  ASSERT_TRUE(proc.is_ok()) << proc.status().to_string();
  auto& ns = *proc.value();
  ASSERT_TRUE(ns.wait_exit(10s)) << log();
  const int status = ns.stop();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(log().find("brokerExpiryMs"), std::string::npos) << log();
}

TEST_F(NamesrvProcessTest, CommandLineOverridesTheConfigFile) {
  const std::string file = dir_ + "/namesrv.properties";
  std::ofstream(file) << "# name server\nlistenPort=0\nbindAddress=127.0.0.1\n"
                      << "scanNotActiveBrokerInterval=oops\n";
  auto proc = spawn({"-c", file, "scanNotActiveBrokerInterval=200"});
  ASSERT_TRUE(proc.is_ok()) << proc.status().to_string();
  auto& ns = *proc.value();
  auto ready = ns.wait_for_line("comet-namesrv ready on", 10s);
  ASSERT_TRUE(ready.is_ok()) << ready.status().to_string() << "\n" << log();
  ns.signal(SIGINT);
  ASSERT_TRUE(ns.wait_exit(10s)) << log();
  const int status = ns.stop();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << log();
}

TEST_F(NamesrvProcessTest, MissingConfigFileExitsWithCode2) {
  auto proc = spawn({"-c", dir_ + "/absent.properties"});
  ASSERT_TRUE(proc.is_ok()) << proc.status().to_string();
  auto& ns = *proc.value();
  ASSERT_TRUE(ns.wait_exit(10s)) << log();
  const int status = ns.stop();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(log().find("absent.properties"), std::string::npos) << log();
}

}  // namespace
}  // namespace comet::testing
