// Registration that scales, with a real comet-namesrv and comet-broker: a broker with 2,000
// topics sends its table once, then only small BROKER_HEARTBEATs (the name server's counters in
// GET_BROKER_CLUSTER_INFO say which it received); a new topic is registered fully at once; a
// name server that restarted empty gets the whole table back at the next heartbeat; a killed
// broker still expires.
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "broker/metadata_store.h"
#include "broker/topic_config_manager.h"
#include "common/logging.h"
#include "integration/cluster.h"

namespace comet::testing {
namespace {

namespace protocol = ::comet::protocol;

constexpr int kTopics = 2000;
constexpr auto kHeartbeatInterval = 500ms;
constexpr auto kBrokerExpiry = 2000ms;

std::string topic_name(int i) {
  return "Reg-" + std::to_string(i);
}

// Writes the broker's topic table before it starts (without an fsync per topic, as sends that
// auto-create topics do), so that its first registration is its only full one. TBW102 is there
// too: the broker creates it at start otherwise, which is a change of its own.
void create_topics(const std::string& store_root) {
  set_log_level("warn");  // not a line per topic created
  auto store = broker::MetadataStore::open(store_root);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  auto topics = broker::TopicConfigManager::load(**store);
  ASSERT_TRUE(topics.is_ok()) << topics.status().to_string();
  ASSERT_TRUE((*topics)->auto_create("TBW102", 8).is_ok());
  for (int i = 0; i < kTopics; ++i)
    ASSERT_TRUE((*topics)->auto_create(topic_name(i), 4).is_ok());
  ASSERT_TRUE((*store)->flush().is_ok());
}

class RegistrationProcessTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) cluster_.print_log_tails();
  }

  // The name server's live entry of `addr`; null when it is not live.
  std::unique_ptr<protocol::BrokerLiveInfoT> live(const std::string& addr) {
    auto r = cluster_.client().invoke(
        cluster_.namesrv_addr(), RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
        5s);
    if (!r.is_ok() || r->ext<protocol::ClusterInfoT>() == nullptr) return nullptr;
    for (const auto& l : r->ext<protocol::ClusterInfoT>()->live) {
      if (l->broker_addr == addr) return std::make_unique<protocol::BrokerLiveInfoT>(*l);
    }
    return nullptr;
  }

  ResponseCode route_code(const std::string& topic) {
    auto req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
    protocol::GetRouteInfoRequestT q;
    q.topic = topic;
    req.set_ext(std::move(q));
    auto r = cluster_.client().invoke(cluster_.namesrv_addr(), std::move(req), 5s);
    return r.is_ok() ? r->response_code() : ResponseCode::SYSTEM_ERROR;
  }

  ::comet::testing::TempDir dir_;
  LocalCluster cluster_{dir_.path()};
};

TEST_F(RegistrationProcessTest, FullTableOnceThenHeartbeatsAndAgainOnlyWhenNeeded) {
  create_topics(dir_.path() + "/b");
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(cluster_.start_namesrv({"scanNotActiveBrokerInterval=200"}).is_ok());
  auto addr = cluster_.start_broker(
      "b", {"heartbeatIntervalMs=" + std::to_string(kHeartbeatInterval.count()),
            "brokerExpiryMs=" + std::to_string(kBrokerExpiry.count())});
  ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();

  // Ready means registered: the table arrived in one full registration.
  auto first = live(*addr);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->full_registrations, 1);
  EXPECT_EQ(first->topic_count, kTopics + 1);
  EXPECT_EQ(route_code(topic_name(kTopics - 1)), ResponseCode::SUCCESS);

  // Five intervals without a change: heartbeats only.
  std::this_thread::sleep_for(5 * kHeartbeatInterval);
  auto quiet = live(*addr);
  ASSERT_NE(quiet, nullptr);
  EXPECT_EQ(quiet->full_registrations, 1);
  EXPECT_GE(quiet->heartbeats, 3);
  EXPECT_GT(quiet->last_update_millis, first->last_update_millis);

  // A new topic: registered fully before the create is answered.
  const auto create_sent = std::chrono::steady_clock::now();
  auto created = cluster_.client().invoke(*addr, update_topic_request("Reg-new", 4), 5s);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  ASSERT_EQ(created->response_code(), ResponseCode::SUCCESS) << created->remark();
  EXPECT_EQ(route_code("Reg-new"), ResponseCode::SUCCESS);
  const auto create_took = std::chrono::steady_clock::now() - create_sent;
  EXPECT_LT(create_took, kHeartbeatInterval);
  auto changed = live(*addr);
  ASSERT_NE(changed, nullptr);
  EXPECT_EQ(changed->full_registrations, 2);
  EXPECT_EQ(changed->topic_count, kTopics + 2);

  // A name server that restarts knows nothing: the next heartbeat is answered "register
  // fully", and the broker does at once.
  const auto restart_began = std::chrono::steady_clock::now();
  ASSERT_TRUE(cluster_.restart_namesrv({"scanNotActiveBrokerInterval=200"}).is_ok());
  auto again = cluster_.broker("b")->wait_for_line("re-registered with name server", 5s);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  const auto restart_took = std::chrono::steady_clock::now() - restart_began;
  EXPECT_LT(restart_took, 2 * kHeartbeatInterval) << *again;
  EXPECT_NE(again->find(std::to_string(kTopics + 2) + " topics"), std::string::npos) << *again;
  auto restored = live(*addr);
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->full_registrations, 1);
  EXPECT_EQ(restored->topic_count, kTopics + 2);
  EXPECT_EQ(route_code(topic_name(0)), ResponseCode::SUCCESS);
  EXPECT_EQ(route_code("Reg-new"), ResponseCode::SUCCESS);

  // Killed, the broker sends nothing and expires.
  cluster_.broker("b")->kill9();
  const auto killed = std::chrono::steady_clock::now();
  auto expired = cluster_.namesrv()->wait_for_line("broker expired: " + *addr, 10s);
  ASSERT_TRUE(expired.is_ok()) << expired.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - killed, kBrokerExpiry + 2s);
  EXPECT_EQ(route_code(topic_name(0)), ResponseCode::TOPIC_NOT_EXIST);
  EXPECT_EQ(live(*addr), nullptr);
  std::printf("create to route %lld ms, restart to full table %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(create_took).count()),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(restart_took).count()));
}

}  // namespace
}  // namespace comet::testing
