#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "namesrv/namesrv_config.h"
#include "namesrv/namesrv_controller.h"
#include "namesrv/route_info_manager.h"
#include "remoting/remoting_client.h"

namespace comet::namesrv {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingClient;
using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;

constexpr int64_t kT0 = 1'700'000'000'000;

struct TopicSpec {
  std::string name;
  int queues = 4;
  int perm = 6;
};

protocol::RegisterBrokerRequestT broker(const std::string& name, int64_t id,
                                        const std::string& addr,
                                        const std::vector<TopicSpec>& topics = {},
                                        const std::string& cluster = "DefaultCluster") {
  protocol::RegisterBrokerRequestT r;
  r.cluster_name = cluster;
  r.broker_name = name;
  r.broker_id = id;
  r.broker_addr = addr;
  r.ha_server_addr = addr + "-ha";
  r.epoch = 3;
  r.max_offset = 1000 + id;
  for (const auto& t : topics) {
    auto tc = std::make_unique<protocol::TopicConfigT>();
    tc->topic_name = t.name;
    tc->read_queue_nums = t.queues;
    tc->write_queue_nums = t.queues;
    tc->perm = t.perm;
    r.topic_configs.push_back(std::move(tc));
  }
  return r;
}

protocol::UnregisterBrokerRequestT unregister(const std::string& name, int64_t id,
                                              const std::string& addr) {
  protocol::UnregisterBrokerRequestT u;
  u.cluster_name = "DefaultCluster";
  u.broker_name = name;
  u.broker_id = id;
  u.broker_addr = addr;
  return u;
}

// "name" → {id: addr} of one BrokerData.
std::map<int64_t, std::string> addrs_of(const protocol::BrokerDataT& bd) {
  std::map<int64_t, std::string> out;
  for (const auto& a : bd.broker_addrs)
    out[a->broker_id] = a->addr;
  return out;
}

const protocol::BrokerDataT* find_broker(
    const std::vector<std::unique_ptr<protocol::BrokerDataT>>& v, const std::string& name) {
  for (const auto& bd : v)
    if (bd->broker_name == name) return bd.get();
  return nullptr;
}

const protocol::QueueDataT* find_queue(const protocol::TopicRouteDataT& r,
                                       const std::string& name) {
  for (const auto& qd : r.queue_datas)
    if (qd->broker_name == name) return qd.get();
  return nullptr;
}

protocol::RegisterBrokerRequestT versioned(protocol::RegisterBrokerRequestT r, int64_t counter) {
  r.data_version = std::make_unique<protocol::DataVersionT>();
  r.data_version->timestamp_ms = kT0;
  r.data_version->counter = counter;
  return r;
}

// The heartbeat `registration` would send with its table at version `counter`.
protocol::BrokerHeartbeatRequestT heartbeat_of(const protocol::RegisterBrokerRequestT& r,
                                               int64_t counter) {
  protocol::BrokerHeartbeatRequestT h;
  h.cluster_name = r.cluster_name;
  h.broker_name = r.broker_name;
  h.broker_id = r.broker_id;
  h.broker_addr = r.broker_addr;
  h.ha_server_addr = r.ha_server_addr;
  h.epoch = r.epoch;
  h.max_offset = r.max_offset;
  h.heartbeat_timeout_millis = r.heartbeat_timeout_millis;
  h.data_version = std::make_unique<protocol::DataVersionT>();
  h.data_version->timestamp_ms = kT0;
  h.data_version->counter = counter;
  return h;
}

const protocol::BrokerLiveInfoT* live_of(const protocol::ClusterInfoT& info,
                                         const std::string& addr) {
  for (const auto& l : info.live)
    if (l->broker_addr == addr) return l.get();
  return nullptr;
}

// ---- RouteInfoManager ----------------------------------------------------------------------

TEST(RouteInfoManager, FencesAMasterWithAStaleEpochAndFollowsAPromotion) {
  RouteInfoManager m(3000);
  auto old_master = broker("broker-a", 0, "m:1", {{"T", 4, 6}});
  old_master.epoch = 1;
  ASSERT_TRUE(m.register_broker(old_master, kT0).is_ok());
  auto slave = broker("broker-a", 1, "s:1");
  slave.epoch = 1;
  auto r = m.register_broker(slave, kT0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->fenced);
  EXPECT_EQ(r->master_addr, "m:1");
  EXPECT_EQ(r->master_epoch, 1);

  // The slave is promoted: epoch 2, brokerId 0. It replaces the live master at once.
  auto promoted = broker("broker-a", 0, "s:1", {{"T", 4, 6}});
  promoted.epoch = 2;
  r = m.register_broker(promoted, kT0 + 10);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->fenced);
  EXPECT_EQ(r->master_addr, "s:1");
  EXPECT_EQ(r->master_epoch, 2);

  // The old master's next heartbeat (epoch 1) is fenced: not routed, told to follow s:1 under a
  // free slave id.
  r = m.register_broker(old_master, kT0 + 20);
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->fenced);
  EXPECT_EQ(r->master_epoch, 2);
  EXPECT_EQ(r->master_addr, "s:1");
  EXPECT_EQ(r->ha_server_addr, "s:1-ha");
  EXPECT_EQ(r->assigned_broker_id, 1);
  auto route = m.route("T");
  ASSERT_TRUE(route.has_value());
  ASSERT_EQ(route->broker_datas.size(), 1u);
  for (const auto& a : route->broker_datas[0]->broker_addrs)
    EXPECT_NE(a->addr, "m:1") << "a fenced master is not routed";

  // Even after the whole group expired, the epoch is remembered: epoch 1 stays fenced.
  m.scan_expired(kT0 + 100000);
  r = m.register_broker(old_master, kT0 + 100001);
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->fenced);
  EXPECT_TRUE(r->master_addr.empty());
  EXPECT_FALSE(m.route("T").has_value());

  // As a slave (brokerId 1) it registers normally.
  auto demoted = broker("broker-a", 1, "m:1");
  demoted.epoch = 2;
  r = m.register_broker(demoted, kT0 + 100002);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->fenced);
}

TEST(RouteInfoManager, RegisteredMasterServesItsTopics) {
  RouteInfoManager m(3000);
  auto r = m.register_broker(broker("broker-a", 0, "10.0.0.1:10911", {{"Orders", 8, 6}}), kT0);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(r->first_registration);
  EXPECT_EQ(r->master_addr, "10.0.0.1:10911");
  EXPECT_EQ(r->ha_server_addr, "10.0.0.1:10911-ha");

  auto route = m.route("Orders");
  ASSERT_TRUE(route.has_value());
  ASSERT_EQ(route->queue_datas.size(), 1u);
  EXPECT_EQ(route->queue_datas[0]->broker_name, "broker-a");
  EXPECT_EQ(route->queue_datas[0]->read_queue_nums, 8);
  EXPECT_EQ(route->queue_datas[0]->write_queue_nums, 8);
  EXPECT_EQ(route->queue_datas[0]->perm, 6);
  ASSERT_EQ(route->broker_datas.size(), 1u);
  EXPECT_EQ(route->broker_datas[0]->cluster, "DefaultCluster");
  EXPECT_EQ(addrs_of(*route->broker_datas[0]),
            (std::map<int64_t, std::string>{{0, "10.0.0.1:10911"}}));

  EXPECT_FALSE(m.route("Unknown").has_value());
  EXPECT_FALSE(
      m.register_broker(broker("broker-a", 0, "10.0.0.1:10911"), kT0 + 1)->first_registration);
}

TEST(RouteInfoManager, OnlyTheMasterContributesQueueDataAndSlavesAreListed) {
  RouteInfoManager m(3000);
  ASSERT_TRUE(m.register_broker(broker("broker-a", 0, "m:1", {{"T", 4, 6}}), kT0).is_ok());
  // The slave reports a topic the master does not: it must not become routable.
  auto slave = m.register_broker(broker("broker-a", 1, "s:1", {{"T", 99, 4}, {"SlaveOnly"}}), kT0);
  ASSERT_TRUE(slave.is_ok());
  EXPECT_EQ(slave->master_addr, "m:1");
  EXPECT_EQ(slave->ha_server_addr, "m:1-ha");
  EXPECT_FALSE(m.route("SlaveOnly").has_value());

  auto route = m.route("T");
  ASSERT_TRUE(route.has_value());
  ASSERT_EQ(route->queue_datas.size(), 1u);
  EXPECT_EQ(route->queue_datas[0]->read_queue_nums, 4);
  EXPECT_EQ(route->queue_datas[0]->perm, 6);
  ASSERT_EQ(route->broker_datas.size(), 1u);
  EXPECT_EQ(addrs_of(*route->broker_datas[0]),
            (std::map<int64_t, std::string>{{0, "m:1"}, {1, "s:1"}}));
}

TEST(RouteInfoManager, SlaveWithoutMasterGetsNoMasterAddress) {
  RouteInfoManager m(3000);
  auto r = m.register_broker(broker("broker-a", 1, "s:1"), kT0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->master_addr, "");
  EXPECT_EQ(r->ha_server_addr, "");
}

TEST(RouteInfoManager, MasterReportReplacesItsQueueDataAndDropsUnreportedTopics) {
  RouteInfoManager m(3000);
  ASSERT_TRUE(m.register_broker(broker("a", 0, "a:1", {{"T1", 4}, {"T2", 4}}), kT0).is_ok());
  ASSERT_TRUE(m.register_broker(broker("b", 0, "b:1", {{"T2", 2}}), kT0).is_ok());
  ASSERT_TRUE(m.register_broker(broker("a", 0, "a:1", {{"T1", 16}}), kT0 + 100).is_ok());

  auto t1 = m.route("T1");
  ASSERT_TRUE(t1.has_value());
  EXPECT_EQ(find_queue(*t1, "a")->read_queue_nums, 16);

  auto t2 = m.route("T2");
  ASSERT_TRUE(t2.has_value());
  EXPECT_EQ(find_queue(*t2, "a"), nullptr);
  ASSERT_NE(find_queue(*t2, "b"), nullptr);
  EXPECT_EQ(t2->broker_datas.size(), 1u);
  EXPECT_EQ(find_broker(t2->broker_datas, "a"), nullptr);

  ASSERT_TRUE(m.register_broker(broker("b", 0, "b:1"), kT0 + 200).is_ok());
  EXPECT_FALSE(m.route("T2").has_value());
}

TEST(RouteInfoManager, TopicOnTwoGroupsListsBoth) {
  RouteInfoManager m(3000);
  ASSERT_TRUE(m.register_broker(broker("a", 0, "a:1", {{"T", 4}}), kT0).is_ok());
  ASSERT_TRUE(m.register_broker(broker("b", 0, "b:1", {{"T", 8}}, "Other"), kT0).is_ok());
  auto r = m.route("T");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->queue_datas.size(), 2u);
  ASSERT_EQ(r->broker_datas.size(), 2u);
  EXPECT_EQ(find_broker(r->broker_datas, "b")->cluster, "Other");
  EXPECT_EQ(find_queue(*r, "b")->write_queue_nums, 8);
}

TEST(RouteInfoManager, NewAddressForTheSameBrokerIdReplacesTheOld) {
  RouteInfoManager m(3000);
  ASSERT_TRUE(m.register_broker(broker("a", 0, "old:1", {{"T"}}), kT0).is_ok());
  auto r = m.register_broker(broker("a", 0, "new:1", {{"T"}}), kT0 + 10);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->replaced_addr, "old:1");
  EXPECT_EQ(r->master_addr, "new:1");
  auto route = m.route("T");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(addrs_of(*route->broker_datas[0]), (std::map<int64_t, std::string>{{0, "new:1"}}));
  auto info = m.cluster_info();
  ASSERT_EQ(info.live.size(), 1u);
  EXPECT_EQ(info.live[0]->broker_addr, "new:1");
  // The old address is gone for good: it cannot expire the new one later.
  EXPECT_TRUE(m.scan_expired(kT0 + 3005).empty());
}

TEST(RouteInfoManager, PromotedSlaveMovesToTheMasterId) {
  RouteInfoManager m(3000);
  ASSERT_TRUE(m.register_broker(broker("a", 0, "m:1", {{"T"}}), kT0).is_ok());
  ASSERT_TRUE(m.register_broker(broker("a", 1, "s:1"), kT0).is_ok());
  ASSERT_TRUE(m.unregister_broker(unregister("a", 0, "m:1")));
  auto r = m.register_broker(broker("a", 0, "s:1", {{"T"}}), kT0 + 10);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->master_addr, "s:1");
  auto route = m.route("T");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(addrs_of(*route->broker_datas[0]), (std::map<int64_t, std::string>{{0, "s:1"}}));
}

TEST(RouteInfoManager, UnregisterRemovesTheAddressAndTheLastOneTheGroup) {
  RouteInfoManager m(3000);
  ASSERT_TRUE(m.register_broker(broker("a", 0, "m:1", {{"T"}}), kT0).is_ok());
  ASSERT_TRUE(m.register_broker(broker("a", 1, "s:1"), kT0).is_ok());
  EXPECT_FALSE(m.unregister_broker(unregister("a", 1, "other:1")));
  EXPECT_FALSE(m.unregister_broker(unregister("b", 1, "s:1")));

  // The master leaves: the slave keeps serving the topic (reads), as in RocketMQ.
  EXPECT_TRUE(m.unregister_broker(unregister("a", 0, "m:1")));
  auto route = m.route("T");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(addrs_of(*route->broker_datas[0]), (std::map<int64_t, std::string>{{1, "s:1"}}));

  EXPECT_TRUE(m.unregister_broker(unregister("a", 1, "s:1")));
  EXPECT_FALSE(m.route("T").has_value());
  auto info = m.cluster_info();
  EXPECT_TRUE(info.broker_datas.empty());
  EXPECT_TRUE(info.clusters.empty());
  EXPECT_TRUE(info.live.empty());
}

TEST(RouteInfoManager, ScanExpiresOnlyBrokersSilentForLongerThanTheirTimeout) {
  RouteInfoManager m(3000);
  ASSERT_TRUE(m.register_broker(broker("a", 0, "a:1", {{"T"}}), kT0).is_ok());
  auto patient = broker("b", 0, "b:1", {{"T"}});
  patient.heartbeat_timeout_millis = 10000;
  ASSERT_TRUE(m.register_broker(patient, kT0).is_ok());

  EXPECT_TRUE(m.scan_expired(kT0 + 3000).empty());  // exactly the timeout: still alive
  ASSERT_TRUE(m.register_broker(broker("a", 0, "a:1", {{"T"}}), kT0 + 2000).is_ok());
  EXPECT_TRUE(m.scan_expired(kT0 + 4000).empty());  // the heartbeat at +2000 counts
  EXPECT_EQ(m.scan_expired(kT0 + 5001), std::vector<std::string>{"a:1"});
  EXPECT_TRUE(m.scan_expired(kT0 + 5002).empty());

  auto route = m.route("T");
  ASSERT_TRUE(route.has_value());
  ASSERT_EQ(route->broker_datas.size(), 1u);
  EXPECT_EQ(route->broker_datas[0]->broker_name, "b");
  EXPECT_EQ(find_queue(*route, "a"), nullptr);

  EXPECT_EQ(m.scan_expired(kT0 + 10001), std::vector<std::string>{"b:1"});
  EXPECT_FALSE(m.route("T").has_value());
}

TEST(RouteInfoManager, ExpiringTheLastAddressRemovesGroupQueueDataAndCluster) {
  RouteInfoManager m(3000);
  ASSERT_TRUE(m.register_broker(broker("a", 0, "m:1", {{"T"}}, "C1"), kT0).is_ok());
  ASSERT_TRUE(m.register_broker(broker("a", 1, "s:1", {}, "C1"), kT0 + 1000).is_ok());
  ASSERT_TRUE(m.register_broker(broker("b", 0, "b:1", {{"U"}}, "C2"), kT0 + 5000).is_ok());

  EXPECT_EQ(m.scan_expired(kT0 + 3001), std::vector<std::string>{"m:1"});
  auto route = m.route("T");
  ASSERT_TRUE(route.has_value());  // the slave still holds the group
  EXPECT_EQ(addrs_of(*route->broker_datas[0]), (std::map<int64_t, std::string>{{1, "s:1"}}));

  EXPECT_EQ(m.scan_expired(kT0 + 4001), std::vector<std::string>{"s:1"});
  EXPECT_FALSE(m.route("T").has_value());
  auto info = m.cluster_info();
  ASSERT_EQ(info.clusters.size(), 1u);
  EXPECT_EQ(info.clusters[0]->cluster_name, "C2");
  ASSERT_EQ(info.broker_datas.size(), 1u);
  EXPECT_EQ(info.broker_datas[0]->broker_name, "b");
  ASSERT_TRUE(m.route("U").has_value());
}

TEST(RouteInfoManager, ClusterInfoListsClustersGroupsAndLiveBrokers) {
  RouteInfoManager m(3000);
  ASSERT_TRUE(m.register_broker(broker("a", 0, "a0:1", {}, "C1"), kT0).is_ok());
  ASSERT_TRUE(m.register_broker(broker("a", 1, "a1:1", {}, "C1"), kT0 + 5).is_ok());
  ASSERT_TRUE(m.register_broker(broker("b", 0, "b0:1", {}, "C1"), kT0).is_ok());
  ASSERT_TRUE(m.register_broker(broker("c", 0, "c0:1", {}, "C2"), kT0).is_ok());
  auto info = m.cluster_info();
  ASSERT_EQ(info.clusters.size(), 2u);
  EXPECT_EQ(info.clusters[0]->cluster_name, "C1");
  EXPECT_EQ(info.clusters[0]->broker_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(info.clusters[1]->broker_names, (std::vector<std::string>{"c"}));
  ASSERT_EQ(info.broker_datas.size(), 3u);
  EXPECT_EQ(addrs_of(*find_broker(info.broker_datas, "a")),
            (std::map<int64_t, std::string>{{0, "a0:1"}, {1, "a1:1"}}));
  ASSERT_EQ(info.live.size(), 4u);
  const auto& a1 = *std::find_if(info.live.begin(), info.live.end(),
                                 [](const auto& l) { return l->broker_addr == "a1:1"; });
  EXPECT_EQ(a1->last_update_millis, kT0 + 5);
  EXPECT_EQ(a1->epoch, 3);
  EXPECT_EQ(a1->max_offset, 1001);
}

TEST(RouteInfoManager, BrokerMovingToAnotherClusterLeavesTheOld) {
  RouteInfoManager m(3000);
  ASSERT_TRUE(m.register_broker(broker("a", 0, "a:1", {}, "C1"), kT0).is_ok());
  ASSERT_TRUE(m.register_broker(broker("a", 0, "a:1", {}, "C2"), kT0).is_ok());
  auto info = m.cluster_info();
  ASSERT_EQ(info.clusters.size(), 1u);
  EXPECT_EQ(info.clusters[0]->cluster_name, "C2");
  EXPECT_EQ(info.broker_datas[0]->cluster, "C2");
}

TEST(RouteInfoManager, RejectsIncompleteRegistrations) {
  RouteInfoManager m(3000);
  auto no_cluster = broker("a", 0, "a:1", {}, "");
  EXPECT_EQ(m.register_broker(no_cluster, kT0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(m.register_broker(broker("", 0, "a:1"), kT0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(m.register_broker(broker("a", 0, ""), kT0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(m.register_broker(broker("a", -1, "a:1"), kT0).status().code(), Code::kInvalidArgument);
  auto bad_topic = m.register_broker(broker("a", 0, "a:1", {{""}}), kT0);
  EXPECT_EQ(bad_topic.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(m.cluster_info().live.empty());
}

// ---- BROKER_HEARTBEAT ------------------------------------------------------------------------

TEST(RouteInfoManager, HeartbeatAtTheRegisteredVersionRefreshesWithoutTheTable) {
  RouteInfoManager m(1000);
  const auto reg = versioned(broker("a", 0, "a:1", {{"T1", 4}, {"T2", 2}}), 7);
  ASSERT_TRUE(m.register_broker(reg, kT0).is_ok());
  // Heartbeats keep the broker past several expiry periods and leave its routes as they were.
  for (int i = 1; i <= 5; ++i) {
    auto hb = m.broker_heartbeat(heartbeat_of(reg, 7), kT0 + i * 900);
    ASSERT_TRUE(hb.is_ok()) << hb.status().to_string();
    EXPECT_FALSE(hb->full_registration_needed);
    EXPECT_FALSE(hb->fenced);
    EXPECT_EQ(hb->master_addr, "a:1");
    EXPECT_EQ(hb->ha_server_addr, "a:1-ha");
    EXPECT_EQ(hb->master_epoch, 3);
    EXPECT_TRUE(m.scan_expired(kT0 + i * 900 + 999).empty());
  }
  ASSERT_TRUE(m.route("T2").has_value());
  EXPECT_EQ(find_queue(*m.route("T2"), "a")->read_queue_nums, 2);
  const auto info = m.cluster_info();  // live_of points into it
  const auto* live = live_of(info, "a:1");
  ASSERT_NE(live, nullptr);
  EXPECT_EQ(live->full_registrations, 1);
  EXPECT_EQ(live->heartbeats, 5);
  EXPECT_EQ(live->topic_count, 2);
  EXPECT_EQ(live->last_update_millis, kT0 + 5 * 900);
}

TEST(RouteInfoManager, HeartbeatAsksForTheTableWhenItIsNotHeldAtItsVersion) {
  RouteInfoManager m(1000);
  const auto reg = versioned(broker("a", 0, "a:1", {{"T", 4}}), 7);
  auto needs_full = [&](const protocol::BrokerHeartbeatRequestT& hb) {
    auto r = m.broker_heartbeat(hb, kT0 + 10);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() && r->full_registration_needed;
  };
  // Unknown broker (a name server that restarted): nothing is registered by the heartbeat.
  EXPECT_TRUE(needs_full(heartbeat_of(reg, 7)));
  EXPECT_TRUE(m.cluster_info().live.empty());
  EXPECT_FALSE(m.route("T").has_value());

  ASSERT_TRUE(m.register_broker(reg, kT0).is_ok());
  EXPECT_TRUE(needs_full(heartbeat_of(reg, 8)));  // a change not delivered yet
  auto other_time = heartbeat_of(reg, 7);
  other_time.data_version->timestamp_ms = kT0 + 1;  // a wiped store counting again
  EXPECT_TRUE(needs_full(other_time));
  auto no_version = heartbeat_of(reg, 7);
  no_version.data_version.reset();
  EXPECT_TRUE(needs_full(no_version));
  auto as_slave = heartbeat_of(reg, 7);
  as_slave.broker_id = 1;  // a role change: the table must come with it
  EXPECT_TRUE(needs_full(as_slave));
  auto renamed = heartbeat_of(reg, 7);
  renamed.broker_name = "b";
  EXPECT_TRUE(needs_full(renamed));
  auto moved = heartbeat_of(reg, 7);
  moved.cluster_name = "Other";
  EXPECT_TRUE(needs_full(moved));
  // None of them refreshed the broker: it still expires on its last registration's time.
  EXPECT_EQ(m.scan_expired(kT0 + 1001), std::vector<std::string>{"a:1"});
  EXPECT_TRUE(needs_full(heartbeat_of(reg, 7)));  // expired: the table went with it
}

TEST(RouteInfoManager, RegistrationWithoutAVersionIsNeverHeldForAHeartbeat) {
  RouteInfoManager m(1000);
  const auto reg = broker("a", 0, "a:1", {{"T", 4}});
  ASSERT_TRUE(m.register_broker(reg, kT0).is_ok());
  auto hb = heartbeat_of(reg, 0);
  hb.data_version.reset();
  auto r = m.broker_heartbeat(hb, kT0 + 1);
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->full_registration_needed);
}

TEST(RouteInfoManager, HeartbeatOfAStaleMasterIsFencedAsItsRegistrationWouldBe) {
  RouteInfoManager m(10000);
  const auto old_master = versioned(broker("a", 0, "a:1", {{"T", 4}}), 1);
  ASSERT_TRUE(m.register_broker(old_master, kT0).is_ok());
  auto slave = versioned(broker("a", 1, "a:2"), 1);
  slave.epoch = 3;
  ASSERT_TRUE(m.register_broker(std::move(slave), kT0).is_ok());
  // The slave is promoted (epoch 4) and registers as master: the old master's heartbeat must
  // not keep it routed.
  auto promoted = versioned(broker("a", 0, "a:2", {{"T", 4}}), 1);
  promoted.epoch = 4;
  auto p = m.register_broker(std::move(promoted), kT0 + 10);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->replaced_addr, "a:1");
  auto hb = m.broker_heartbeat(heartbeat_of(old_master, 1), kT0 + 20);
  ASSERT_TRUE(hb.is_ok());
  EXPECT_TRUE(hb->full_registration_needed);  // it left the routes: its full registration...
  auto full = m.register_broker(old_master, kT0 + 30);
  ASSERT_TRUE(full.is_ok());
  EXPECT_TRUE(full->fenced);  // ...is fenced, as before heartbeats existed
  EXPECT_EQ(full->master_addr, "a:2");
  EXPECT_EQ(full->assigned_broker_id, 1);

  // A live master whose heartbeat carries a higher epoch moves the group's epoch.
  const auto b = versioned(broker("b", 0, "b:1", {{"U", 4}}), 5);
  ASSERT_TRUE(m.register_broker(b, kT0).is_ok());
  auto higher = heartbeat_of(b, 5);
  higher.epoch = 9;
  auto r = m.broker_heartbeat(higher, kT0 + 40);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->full_registration_needed);
  EXPECT_EQ(r->master_epoch, 9);
  auto lower = heartbeat_of(b, 5);
  lower.epoch = 8;
  r = m.broker_heartbeat(lower, kT0 + 50);
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->fenced);
}

TEST(RouteInfoManager, HeartbeatRejectsIncompleteIdentities) {
  RouteInfoManager m(1000);
  const auto reg = versioned(broker("a", 0, "a:1"), 1);
  for (int field = 0; field < 4; ++field) {
    auto hb = heartbeat_of(reg, 1);
    if (field == 0) hb.cluster_name.clear();
    if (field == 1) hb.broker_name.clear();
    if (field == 2) hb.broker_addr.clear();
    if (field == 3) hb.broker_id = -1;
    EXPECT_EQ(m.broker_heartbeat(hb, kT0).status().code(), Code::kInvalidArgument) << field;
  }
}

// A report touches the reporting group's topics only; routes of 10 groups x 1,000 topics stay
// exact through reports that add, drop and rename topics, and through a group's expiry.
TEST(RouteInfoManager, ManyGroupsReportAndExpireIndependently) {
  constexpr int kGroups = 10;
  constexpr int kTopics = 1000;
  RouteInfoManager m(1000);
  auto report = [&](int g, int first, int count, int64_t now) {
    std::vector<TopicSpec> topics;
    for (int i = first; i < first + count; ++i)
      topics.push_back({"T" + std::to_string(i), 1 + g});
    const std::string name = "g" + std::to_string(g);
    ASSERT_TRUE(m.register_broker(broker(name, 0, name + ":1", topics), now).is_ok());
  };
  for (int g = 0; g < kGroups; ++g)
    report(g, g * kTopics / 2, kTopics, kT0);  // each overlaps its neighbour by half
  auto route_groups = [&](int topic) {
    std::set<std::string> out;
    if (auto r = m.route("T" + std::to_string(topic))) {
      for (const auto& q : r->queue_datas)
        out.insert(q->broker_name);
    }
    return out;
  };
  EXPECT_EQ(route_groups(0), std::set<std::string>{"g0"});
  EXPECT_EQ(route_groups(600), (std::set<std::string>{"g0", "g1"}));
  report(1, 5000, 10, kT0 + 500);  // g1 now serves T5000..T5009 only, with T5000-T5009 new
  EXPECT_EQ(route_groups(600), std::set<std::string>{"g0"});
  EXPECT_EQ(route_groups(1200), std::set<std::string>{"g2"});
  EXPECT_EQ(route_groups(5005), (std::set<std::string>{"g1", "g9"}));
  EXPECT_EQ(find_queue(*m.route("T5005"), "g1")->read_queue_nums, 2);
  // Everyone but g1 goes silent.
  EXPECT_EQ(m.scan_expired(kT0 + 1001).size(), static_cast<size_t>(kGroups - 1));
  EXPECT_TRUE(route_groups(0).empty());
  EXPECT_EQ(route_groups(5005), std::set<std::string>{"g1"});
  EXPECT_TRUE(route_groups(5010).empty());
  report(1, 0, 0, kT0 + 600);  // an empty table leaves nothing routed
  for (int t : {0, 5000, 5009})
    EXPECT_TRUE(route_groups(t).empty()) << t;
}

TEST(RouteInfoManager, ConcurrentRegistrationsHeartbeatsRoutesAndScansAreSafe) {
  RouteInfoManager m(50);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string name = "b" + std::to_string(t);
        auto reg = versioned(broker(name, i % 2, name + ":" + std::to_string(i % 2), {{"T"}}), 1);
        const auto hb = heartbeat_of(reg, 1);
        ASSERT_TRUE(m.register_broker(reg, kT0 + i).is_ok());
        ASSERT_TRUE(m.broker_heartbeat(hb, kT0 + i).is_ok());
        (void)m.route("T");
        (void)m.scan_expired(kT0 + i);
        if (i % 100 == 0) (void)m.cluster_info();
      }
    });
  }
  for (auto& th : threads)
    th.join();
  auto route = m.route("T");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->broker_datas.size(), 4u);
}

// ---- NamesrvConfig ----------------------------------------------------------------------------

Result<NamesrvConfig> config_from(const std::string& text) {
  auto p = Properties::parse(text);
  if (!p.is_ok()) return p.status();
  return NamesrvConfig::from_properties(*p);
}

void expect_rejected(const std::string& text, const std::string& key) {
  auto c = config_from(text);
  ASSERT_FALSE(c.is_ok()) << text;
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << text;
  EXPECT_NE(c.status().message().find(key), std::string::npos) << c.status().message();
}

TEST(NamesrvConfig, Defaults) {
  auto c = NamesrvConfig::from_properties(Properties{});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->listen_port, 9876);
  EXPECT_EQ(c->bind_address, "0.0.0.0");
  EXPECT_EQ(c->broker_expiry_ms, 3000);
  EXPECT_EQ(c->scan_not_active_broker_interval_ms, 1000);
  EXPECT_EQ(c->io_threads, 2);
}

TEST(NamesrvConfig, ListenPort) {
  EXPECT_EQ(config_from("listenPort=19876")->listen_port, 19876);
  EXPECT_EQ(config_from("listenPort=0")->listen_port, 0);
  expect_rejected("listenPort=65536", "listenPort");
  expect_rejected("listenPort=-1", "listenPort");
  expect_rejected("listenPort=x", "listenPort");
}

TEST(NamesrvConfig, BindAddress) {
  EXPECT_EQ(config_from("bindAddress=127.0.0.1")->bind_address, "127.0.0.1");
  EXPECT_EQ(config_from("bindAddress=::1")->bind_address, "::1");
  expect_rejected("bindAddress=localhost", "bindAddress");
  expect_rejected("bindAddress=", "bindAddress");
}

TEST(NamesrvConfig, BrokerExpiryMs) {
  EXPECT_EQ(config_from("brokerExpiryMs=120000")->broker_expiry_ms, 120000);
  expect_rejected("brokerExpiryMs=0", "brokerExpiryMs");
  expect_rejected("brokerExpiryMs=abc", "brokerExpiryMs");
}

TEST(NamesrvConfig, ScanNotActiveBrokerInterval) {
  EXPECT_EQ(config_from("scanNotActiveBrokerInterval=250")->scan_not_active_broker_interval_ms,
            250);
  expect_rejected("scanNotActiveBrokerInterval=0", "scanNotActiveBrokerInterval");
  expect_rejected("scanNotActiveBrokerInterval=1s", "scanNotActiveBrokerInterval");
}

TEST(NamesrvConfig, IoThreads) {
  EXPECT_EQ(config_from("ioThreads=8")->io_threads, 8);
  expect_rejected("ioThreads=0", "ioThreads");
  expect_rejected("ioThreads=100000", "ioThreads");
  expect_rejected("ioThreads=two", "ioThreads");
}

// Every key the name server reads, with a legal value other than its default, written out here
// and not taken from the table (a key added to one and not the other fails).
const std::map<std::string, std::string> kSampleValues = {
    {"listenPort", "19876"},
    {"bindAddress", "127.0.0.1"},
    {"brokerExpiryMs", "120000"},
    {"scanNotActiveBrokerInterval", "250"},
    {"ioThreads", "8"},
    {"serverMaxConnections", "100"},
    {"serverMaxConnectionsPerIp", "16"},
    {"serverMaxInflightRequests", "0"},
    {"serverFrameReadTimeoutMs", "0"},
    {"serverChannelMaxIdleTimeSeconds", "60"},
    {"aclEnable", "true"},
    {"aclFile", "/etc/comet/plain_acl.yml"},
    {"aclSignatureWindowMs", "60000"},
    {"aclReloadIntervalMs", "500"},
    {"clusterCredentialFile", "/etc/comet/cluster.yml"},
    {"tls.server.mode", "enforcing"},
    {"tls.server.certPath", "/etc/comet/server.pem"},
    {"tls.server.keyPath", "/etc/comet/server.key"},
    {"tls.server.trustCertPath", "/etc/comet/ca.pem"},
    {"tls.server.need.client.auth", "require"},
    {"tls.enable", "true"},
    {"tls.client.trustCertPath", "/etc/comet/ca.pem"},
    {"tls.client.certPath", "/etc/comet/client.pem"},
    {"tls.client.keyPath", "/etc/comet/client.key"},
    {"tls.client.verifyHostname", "false"},
};

TEST(NamesrvConfig, EveryKeyIsInTheTableOnceAndParsedIntoTheFieldHelpShows) {
  const NamesrvConfig defaults;
  std::set<std::string> in_table;
  for (const ConfigKey<NamesrvConfig>& k : NamesrvConfig::keys()) {
    EXPECT_TRUE(in_table.insert(std::string(k.name)).second) << k.name << " twice";
    auto sample = kSampleValues.find(std::string(k.name));
    ASSERT_NE(sample, kSampleValues.end()) << k.name << " has no sample";
    // Parsed alone, without validation: some keys are valid only with others (aclEnable needs
    // clusterCredentialFile, tls.server.mode needs the certificate files).
    Properties p;
    p.set(sample->first, sample->second);
    NamesrvConfig c;
    ASSERT_TRUE(parse_config_keys(NamesrvConfig::keys(), p, c).is_ok()) << k.name;
    EXPECT_EQ(k.show(c), sample->second) << k.name;
    EXPECT_NE(k.show(defaults), sample->second) << k.name;
  }
  EXPECT_EQ(in_table.size(), kSampleValues.size());
}

TEST(NamesrvConfig, HelpListsEveryKeyWithItsDefault) {
  const std::string help = NamesrvConfig::keys_help();
  const NamesrvConfig defaults;
  for (const ConfigKey<NamesrvConfig>& k : NamesrvConfig::keys()) {
    const std::string line = "  " + std::string(k.name) + "=" + k.show(defaults) + " ";
    EXPECT_NE(help.find(line), std::string::npos) << line;
  }
  for (const char* expected : {"  listenPort=9876 ", "  bindAddress=0.0.0.0 ",
                               "  brokerExpiryMs=3000 ", "  scanNotActiveBrokerInterval=1000 ",
                               "  ioThreads=2 ", "  serverMaxConnectionsPerIp=1024 "}) {
    EXPECT_NE(help.find(expected), std::string::npos) << expected;
  }
}

TEST(NamesrvConfig, UnknownKeysAreNamedForTheWarning) {
  auto p = Properties::parse("listenPort=1\nlistenPotr=2\n");
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(unknown_config_keys(NamesrvConfig::keys(), *p), std::vector<std::string>{"listenPotr"});
}

TEST(NamesrvConfig, ServerLimits) {
  auto d = config_from("");
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->server_limits.max_connections_per_ip, 1024u);
  EXPECT_EQ(d->server_limits.channel_max_idle_seconds, 120u);
  auto c = config_from("serverMaxConnectionsPerIp=16\nserverFrameReadTimeoutMs=0");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->server_limits.max_connections_per_ip, 16u);
  EXPECT_EQ(c->server_limits.frame_read_timeout_ms, 0u);
  expect_rejected("serverMaxConnections=-1", "serverMaxConnections");
  expect_rejected("serverChannelMaxIdleTimeSeconds=forever", "serverChannelMaxIdleTimeSeconds");
}

// ---- NamesrvController over loopback -----------------------------------------------------

class NamesrvControllerTest : public ::testing::Test {
 protected:
  void start(int64_t expiry_ms = 3000, int64_t scan_ms = 1000) {
    NamesrvConfig c;
    c.listen_port = 0;
    c.bind_address = "127.0.0.1";
    c.broker_expiry_ms = expiry_ms;
    c.scan_not_active_broker_interval_ms = scan_ms;
    controller_ = std::make_unique<NamesrvController>(c);
    controller_->set_expiry_listener([this](const std::vector<std::string>& removed) {
      std::lock_guard lock(mu_);
      expired_.insert(expired_.end(), removed.begin(), removed.end());
      cv_.notify_all();
    });
    ASSERT_TRUE(controller_->start().is_ok());
    addr_ = "127.0.0.1:" + std::to_string(controller_->port());
  }
  void TearDown() override {
    client_.shutdown();
    if (controller_) controller_->stop();
  }

  Result<RemotingCommand> call(RemotingCommand cmd) {
    return client_.invoke(addr_, std::move(cmd), 5s);
  }

  Result<RemotingCommand> register_broker(protocol::RegisterBrokerRequestT req) {
    auto cmd = RemotingCommand::request(RequestCode::REGISTER_BROKER);
    cmd.set_ext(std::move(req));
    return call(std::move(cmd));
  }

  Result<RemotingCommand> get_route(const std::string& topic) {
    auto cmd = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
    protocol::GetRouteInfoRequestT ext;
    ext.topic = topic;
    cmd.set_ext(std::move(ext));
    return call(std::move(cmd));
  }

  std::unique_ptr<NamesrvController> controller_;
  RemotingClient client_;
  std::string addr_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> expired_;
};

TEST_F(NamesrvControllerTest, RegisterThenRoute) {
  start();
  auto r = register_broker(broker("broker-a", 0, "127.0.0.1:10911", {{"Orders", 4, 6}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  const auto* resp = r->ext<protocol::RegisterBrokerResponseT>();
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(resp->master_addr, "127.0.0.1:10911");
  EXPECT_EQ(resp->ha_server_addr, "127.0.0.1:10911-ha");

  auto slave = register_broker(broker("broker-a", 1, "127.0.0.1:10921"));
  ASSERT_TRUE(slave.is_ok());
  ASSERT_NE(slave->ext<protocol::RegisterBrokerResponseT>(), nullptr);
  EXPECT_EQ(slave->ext<protocol::RegisterBrokerResponseT>()->master_addr, "127.0.0.1:10911");

  auto route = get_route("Orders");
  ASSERT_TRUE(route.is_ok()) << route.status().to_string();
  ASSERT_EQ(route->response_code(), ResponseCode::SUCCESS) << route->remark();
  const auto* data = route->ext<protocol::TopicRouteDataT>();
  ASSERT_NE(data, nullptr);
  ASSERT_EQ(data->queue_datas.size(), 1u);
  EXPECT_EQ(data->queue_datas[0]->broker_name, "broker-a");
  EXPECT_EQ(data->queue_datas[0]->write_queue_nums, 4);
  ASSERT_EQ(data->broker_datas.size(), 1u);
  EXPECT_EQ(addrs_of(*data->broker_datas[0]),
            (std::map<int64_t, std::string>{{0, "127.0.0.1:10911"}, {1, "127.0.0.1:10921"}}));
}

TEST_F(NamesrvControllerTest, UnknownTopicIsTopicNotExist) {
  start();
  auto r = get_route("Nope");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->response_code(), ResponseCode::TOPIC_NOT_EXIST);
  EXPECT_EQ(r->remark(), "No topic route info in name server for the topic: Nope");
  EXPECT_EQ(r->ext<protocol::TopicRouteDataT>(), nullptr);
}

TEST_F(NamesrvControllerTest, RequestsWithoutTheirHeaderAreBadRequests) {
  start();
  for (auto code : {RequestCode::REGISTER_BROKER, RequestCode::UNREGISTER_BROKER,
                    RequestCode::GET_ROUTEINFO_BY_TOPIC}) {
    auto r = call(RemotingCommand::request(code));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->response_code(), ResponseCode::BAD_REQUEST) << static_cast<int>(code);
    EXPECT_FALSE(r->remark().empty());
  }
  auto incomplete = register_broker(broker("", 0, "127.0.0.1:1"));
  ASSERT_TRUE(incomplete.is_ok());
  EXPECT_EQ(incomplete->response_code(), ResponseCode::BAD_REQUEST);
  EXPECT_NE(incomplete->remark().find("broker_name"), std::string::npos);
}

TEST_F(NamesrvControllerTest, ClusterInfoAndUnregister) {
  start();
  ASSERT_TRUE(register_broker(broker("a", 0, "127.0.0.1:1", {{"T"}}, "C1")).is_ok());
  ASSERT_TRUE(register_broker(broker("b", 0, "127.0.0.1:2", {{"T"}}, "C1")).is_ok());

  auto info = call(RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO));
  ASSERT_TRUE(info.is_ok());
  ASSERT_EQ(info->response_code(), ResponseCode::SUCCESS);
  const auto* ci = info->ext<protocol::ClusterInfoT>();
  ASSERT_NE(ci, nullptr);
  ASSERT_EQ(ci->clusters.size(), 1u);
  EXPECT_EQ(ci->clusters[0]->broker_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ci->live.size(), 2u);

  auto cmd = RemotingCommand::request(RequestCode::UNREGISTER_BROKER);
  cmd.set_ext(unregister("a", 0, "127.0.0.1:1"));
  auto u = call(std::move(cmd));
  ASSERT_TRUE(u.is_ok());
  EXPECT_EQ(u->response_code(), ResponseCode::SUCCESS);

  auto route = get_route("T");
  ASSERT_TRUE(route.is_ok());
  ASSERT_NE(route->ext<protocol::TopicRouteDataT>(), nullptr);
  const auto& bds = route->ext<protocol::TopicRouteDataT>()->broker_datas;
  ASSERT_EQ(bds.size(), 1u);
  EXPECT_EQ(bds[0]->broker_name, "b");
}

TEST_F(NamesrvControllerTest, SilentBrokerIsExpiredByTheScanTimer) {
  start(/*expiry_ms=*/300, /*scan_ms=*/50);
  auto patient = broker("keeper", 0, "127.0.0.1:2", {{"Kept"}});
  patient.heartbeat_timeout_millis = 120000;
  ASSERT_TRUE(register_broker(std::move(patient)).is_ok());
  const auto registered = std::chrono::steady_clock::now();
  auto r = register_broker(broker("silent", 0, "127.0.0.1:1", {{"Gone"}}));
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS);
  auto before = get_route("Gone");
  ASSERT_TRUE(before.is_ok());
  EXPECT_EQ(before->response_code(), ResponseCode::SUCCESS);

  // The scan timer reports the expiry; no polling.
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, 10s, [&] { return !expired_.empty(); }));
    EXPECT_EQ(expired_, std::vector<std::string>{"127.0.0.1:1"});
  }
  EXPECT_GE(std::chrono::steady_clock::now() - registered, 300ms);

  auto after = get_route("Gone");
  ASSERT_TRUE(after.is_ok());
  EXPECT_EQ(after->response_code(), ResponseCode::TOPIC_NOT_EXIST);
  auto kept = get_route("Kept");
  ASSERT_TRUE(kept.is_ok());
  EXPECT_EQ(kept->response_code(), ResponseCode::SUCCESS);
}

TEST_F(NamesrvControllerTest, StartFailsOnAPortInUse) {
  start();
  NamesrvConfig c;
  c.bind_address = "127.0.0.1";
  c.listen_port = controller_->port();
  NamesrvController second(c);
  // SO_REUSEADDR does not allow two listeners on one port.
  EXPECT_FALSE(second.start().is_ok());
}

TEST(NamesrvControllerLifecycle, StopWithoutStartAndTwiceIsHarmless) {
  NamesrvConfig c;
  c.listen_port = 0;
  c.bind_address = "127.0.0.1";
  {
    NamesrvController never_started(c);
    never_started.stop();
  }
  NamesrvController controller(c);
  ASSERT_TRUE(controller.start().is_ok());
  EXPECT_FALSE(controller.start().is_ok());
  controller.stop();
  controller.stop();
}

}  // namespace
}  // namespace comet::namesrv
