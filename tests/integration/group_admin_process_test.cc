// Group admin against real brokers: a disabled group's pulls are refused with NO_PERMISSION (a
// broadcasting one's too when consumeBroadcastEnable is off), deleteSubGroup removes the group's
// config and offsets on the master and, through the metadata log, on its slave;
// autoCreateSubscriptionGroup=false refuses an unknown group on pulls, heartbeats and commits;
// consumerConnection and producerConnection show who is connected; clusterList and
// consumerProgress show the traffic's TPS.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "consumer/pull_consumer.h"
#include "consumer/push_consumer.h"
#include "integration/cluster.h"
#include "producer/producer.h"

namespace comet::testing {
namespace {

constexpr const char* kBrokerName = "broker-g";
constexpr const char* kTopic = "GroupTopic";

class GroupAdminProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
    auto master = cluster_->start_broker_as("m", kBrokerName);
    ASSERT_TRUE(master.is_ok()) << master.status().to_string();
    master_ = *master;
    auto created = call(master_, update_topic_request(kTopic, 1));
    ASSERT_TRUE(created.is_ok());
    ASSERT_EQ(created->response_code(), ResponseCode::SUCCESS) << created->remark();
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req) {
    return cluster_->client().invoke(addr, std::move(req), 10s);
  }

  RunResult admin(std::vector<std::string> args) {
    args.insert(args.begin(), COMET_ADMIN_BIN);
    args.push_back("-n");
    args.push_back(cluster_->namesrv_addr());
    return run_process(args);
  }

  static RemotingCommand pull_as(const std::string& group) {
    auto req = RemotingCommand::request(RequestCode::PULL_MESSAGE);
    protocol::PullMessageRequestT ext;
    ext.consumer_group = group;
    ext.topic = kTopic;
    ext.queue_id = 0;
    ext.queue_offset = 0;
    ext.max_msg_nums = 32;
    ext.commit_offset = -1;
    ext.subscription = "*";
    req.set_ext(std::move(ext));
    return req;
  }

  ResponseCode code_of(const std::string& addr, RemotingCommand req,
                       std::string* remark = nullptr) {
    auto r = call(addr, std::move(req));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    if (!r.is_ok()) return ResponseCode::SYSTEM_ERROR;
    if (remark) *remark = r->remark();
    return static_cast<ResponseCode>(r->response_code());
  }

  static RemotingCommand heartbeat(const std::string& client_id, const std::string& group,
                                   const std::string& model) {
    auto hb = RemotingCommand::request(RequestCode::HEART_BEAT);
    protocol::HeartbeatRequestT h;
    h.client_id = client_id;
    auto cd = std::make_unique<protocol::ConsumerDataT>();
    cd->group_name = group;
    cd->message_model = model;
    h.consumers.push_back(std::move(cd));
    hb.set_ext(std::move(h));
    return hb;
  }

  std::optional<int64_t> offset_on(const std::string& addr, const std::string& group) {
    auto r = call(addr, query_offset_request(group, kTopic, 0));
    if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) return std::nullopt;
    const auto* e = r->ext<protocol::ConsumerOffsetResponseT>();
    return e ? std::optional<int64_t>(e->offset) : std::nullopt;
  }

  bool has_config(const std::string& addr, const std::string& group) {
    auto r = call(addr, RemotingCommand::request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG));
    if (!r.is_ok()) return false;
    const auto* list = r->ext<protocol::SubscriptionGroupListT>();
    if (list == nullptr) return false;
    for (const auto& g : list->groups) {
      if (g && g->group_name == group) return true;
    }
    return false;
  }

  // Waits (bounded) until `done` holds on the slave: each round long-polls the slave's metadata
  // queue for its next record, so it wakes when one is applied, not on a timer.
  bool await_on_slave(const std::string& slave, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    int64_t next = 0;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      auto r = call(slave, pull_request("COMET_SYS_METADATA", 0, next, 32, 500));
      if (!r.is_ok()) continue;
      if (const auto* e = r->ext<protocol::PullMessageResponseT>()) next = e->next_begin_offset;
    }
    return true;
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string master_;
};

// The number after `"key": ` in JSON text.
double json_number(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\": ");
  if (at == std::string::npos) return -1;
  return std::strtod(json.c_str() + at + key.size() + 4, nullptr);
}

TEST_F(GroupAdminProcessTest, ADisabledGroupCannotPull) {
  ASSERT_EQ(code_of(master_, send_request(kTopic, 0, {"m0"})), ResponseCode::SUCCESS);
  auto off = admin({"updateSubGroup", "-g", "off-group", "-s", "false", "-b", master_});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  std::string remark;
  EXPECT_EQ(code_of(master_, pull_as("off-group"), &remark), ResponseCode::NO_PERMISSION);
  EXPECT_NE(remark.find("off-group"), std::string::npos) << remark;
  EXPECT_NE(remark.find("consumeEnable=false"), std::string::npos) << remark;

  // Through the client library: a typed status, not a generic I/O error.
  client::PullConsumer consumer("off-group", cluster_->client_config("group-admin-pull"));
  ASSERT_TRUE(consumer.start().is_ok());
  auto pulled = consumer.pull({kTopic, kBrokerName, 0}, "*", 0, 32);
  ASSERT_FALSE(pulled.is_ok());
  EXPECT_EQ(pulled.status().code(), Code::kPermissionDenied) << pulled.status().to_string();
  consumer.shutdown();

  // consumeBroadcastEnable=false refuses a group whose members consume by broadcast only.
  for (const char* g : {"bc-group", "cl-group"}) {
    auto r = admin({"updateSubGroup", "-g", g, "-d", "false", "-b", master_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  ASSERT_EQ(code_of(master_, heartbeat("bc-client", "bc-group", "BROADCASTING")),
            ResponseCode::SUCCESS);
  ASSERT_EQ(code_of(master_, heartbeat("cl-client", "cl-group", "CLUSTERING")),
            ResponseCode::SUCCESS);
  EXPECT_EQ(code_of(master_, pull_as("bc-group"), &remark), ResponseCode::NO_PERMISSION);
  EXPECT_NE(remark.find("broadcast"), std::string::npos) << remark;
  EXPECT_EQ(code_of(master_, pull_as("cl-group")), ResponseCode::SUCCESS);

  // Enabled again, the group pulls.
  auto on = admin({"updateSubGroup", "-g", "off-group", "-s", "true", "-b", master_});
  ASSERT_EQ(on.exit_code, 0) << on.err;
  EXPECT_EQ(code_of(master_, pull_as("off-group")), ResponseCode::SUCCESS);

  // subGroupList shows every field of the configs.
  auto list = admin({"subGroupList"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("#Retry Max Times"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("bc-group"), std::string::npos) << list.out;
}

TEST_F(GroupAdminProcessTest, DeletingAGroupRemovesItsConfigAndOffsetsOnTheSlaveToo) {
  // Only the metadata log may carry the deletion to the slave (not the periodic sync).
  auto slave = cluster_->start_broker_as(
      "s", kBrokerName, {"brokerRole=SLAVE", "brokerId=1", "slaveSyncIntervalMs=3600000"});
  ASSERT_TRUE(slave.is_ok()) << slave.status().to_string();
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s, true).is_ok());
  for (const char* g : {"doomed", "kept", "offsets-kept"}) {
    // The pull creates the group's config (autoCreateSubscriptionGroup is on by default); a
    // commit alone does not.
    ASSERT_EQ(code_of(master_, commit_offset_request(g, kTopic, 0, 7)), ResponseCode::SUCCESS);
    EXPECT_FALSE(has_config(master_, g));
    ASSERT_EQ(code_of(master_, pull_as(g)), ResponseCode::PULL_NOT_FOUND);
  }
  ASSERT_TRUE(has_config(master_, "doomed"));
  ASSERT_TRUE(await_on_slave(*slave, [&] {
    return offset_on(*slave, "doomed") == 7 && has_config(*slave, "doomed") &&
           offset_on(*slave, "offsets-kept") == 7;
  })) << "offsets and configs did not reach the slave";

  auto del = admin({"deleteSubGroup", "-g", "doomed", "-c", "DefaultCluster"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_NE(del.out.find("delete subscription group [doomed]"), std::string::npos) << del.out;
  EXPECT_FALSE(has_config(master_, "doomed"));
  EXPECT_FALSE(offset_on(master_, "doomed"));
  EXPECT_EQ(offset_on(master_, "kept"), 7);
  EXPECT_TRUE(await_on_slave(*slave, [&] {
    return !offset_on(*slave, "doomed") && !has_config(*slave, "doomed");
  })) << "the deletion did not reach the slave";
  EXPECT_EQ(offset_on(*slave, "kept"), 7);
  EXPECT_TRUE(has_config(*slave, "kept"));

  // --cleanOffset false: the config goes, the offsets stay, on both.
  auto keep =
      admin({"deleteSubGroup", "-g", "offsets-kept", "-b", master_, "--cleanOffset", "false"});
  ASSERT_EQ(keep.exit_code, 0) << keep.err;
  EXPECT_FALSE(has_config(master_, "offsets-kept"));
  EXPECT_EQ(offset_on(master_, "offsets-kept"), 7);
  EXPECT_TRUE(await_on_slave(*slave, [&] { return !has_config(*slave, "offsets-kept"); }));
  EXPECT_EQ(offset_on(*slave, "offsets-kept"), 7);

  // Unknown groups, bad names and replicas get typed errors naming what was wrong.
  auto again = admin({"deleteSubGroup", "-g", "doomed", "-b", master_});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("SUBSCRIPTION_GROUP_NOT_EXIST"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("doomed"), std::string::npos) << again.err;
  auto bad = admin({"deleteSubGroup", "-g", "no spaces", "-b", master_});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("illegal group name"), std::string::npos) << bad.err;
  auto on_slave = admin({"deleteSubGroup", "-g", "kept", "-b", *slave});
  EXPECT_EQ(on_slave.exit_code, 1);
  EXPECT_NE(on_slave.err.find("SERVICE_NOT_AVAILABLE"), std::string::npos) << on_slave.err;
  auto system = admin({"deleteSubGroup", "-g", "%SCHEDULE%", "-b", master_});
  EXPECT_EQ(system.exit_code, 1);
  EXPECT_NE(system.err.find("broker's own"), std::string::npos) << system.err;
}

TEST_F(GroupAdminProcessTest, AutoCreateOffRefusesAnUnknownGroupAndOnCreatesIt) {
  // On (the default): a pull creates the group's config, and subGroupList shows it.
  ASSERT_EQ(code_of(master_, pull_as("fresh-group")), ResponseCode::PULL_NOT_FOUND);
  auto list = admin({"subGroupList"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("fresh-group"), std::string::npos) << list.out;

  auto strict = cluster_->start_broker_as(
      "n", "broker-n", {"brokerClusterName=StrictCluster", "autoCreateSubscriptionGroup=false"});
  ASSERT_TRUE(strict.is_ok()) << strict.status().to_string();
  ASSERT_EQ(code_of(*strict, update_topic_request(kTopic, 1)), ResponseCode::SUCCESS);
  std::string remark;
  EXPECT_EQ(code_of(*strict, pull_as("stranger"), &remark),
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST);
  EXPECT_NE(remark.find("stranger"), std::string::npos) << remark;
  EXPECT_EQ(code_of(*strict, commit_offset_request("stranger", kTopic, 0, 1), &remark),
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST);
  EXPECT_NE(remark.find("stranger"), std::string::npos) << remark;
  EXPECT_EQ(code_of(*strict, heartbeat("stranger-client", "stranger", "CLUSTERING"), &remark),
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST);
  auto members = RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP);
  protocol::ConsumerListRequestT m;
  m.consumer_group = "stranger";
  members.set_ext(std::move(m));
  auto listed = call(*strict, std::move(members));
  ASSERT_TRUE(listed.is_ok());
  ASSERT_NE(listed->ext<protocol::ConsumerListResponseT>(), nullptr);
  EXPECT_TRUE(listed->ext<protocol::ConsumerListResponseT>()->client_ids.empty())
      << "a refused heartbeat joined the group";
  EXPECT_FALSE(has_config(*strict, "stranger"));

  // Once an operator creates it, the group is served.
  auto made = admin({"updateSubGroup", "-g", "stranger", "-b", *strict});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(code_of(*strict, pull_as("stranger")), ResponseCode::PULL_NOT_FOUND);
  EXPECT_EQ(code_of(*strict, commit_offset_request("stranger", kTopic, 0, 0)),
            ResponseCode::SUCCESS);
}

TEST_F(GroupAdminProcessTest, ConnectionsAndTpsShowTheTraffic) {
  constexpr int kMessages = 200;
  client::Producer producer("conn-producers", cluster_->client_config("conn-producer-client"));
  ASSERT_TRUE(producer.start().is_ok());
  for (int i = 0; i < kMessages; ++i) {
    client::ProducerMessage msg;
    msg.topic = kTopic;
    msg.body = "m" + std::to_string(i);
    auto sent = producer.send(msg);
    ASSERT_TRUE(sent.is_ok()) << sent.status().to_string();
  }

  std::mutex mu;
  std::condition_variable cv;
  int received = 0;
  client::PushConsumer consumer("conn-consumers", cluster_->client_config("conn-consumer-client"));
  ASSERT_TRUE(consumer.subscribe(kTopic, "*").is_ok());
  consumer.set_consume_from_where(client::ConsumeFromWhere::kFirstOffset);
  consumer.register_message_listener([&](const std::vector<client::MessageExt>& msgs) {
    std::lock_guard lock(mu);
    received += static_cast<int>(msgs.size());
    cv.notify_all();
    return client::ConsumeStatus::kSuccess;
  });
  ASSERT_TRUE(consumer.start().is_ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return received >= kMessages; }))
        << "received " << received;
  }

  auto cc = admin({"consumerConnection", "-g", "conn-consumers"});
  ASSERT_EQ(cc.exit_code, 0) << cc.err;
  for (const char* want : {"conn-consumer-client", "127.0.0.1:", "CPP", "CONSUME_PASSIVELY",
                           "MessageModel: CLUSTERING", "CONSUME_FROM_FIRST_OFFSET", kTopic}) {
    EXPECT_NE(cc.out.find(want), std::string::npos) << want << " in\n" << cc.out;
  }
  auto pc = admin({"producerConnection", "-g", "conn-producers", "-t", kTopic, "--json"});
  ASSERT_EQ(pc.exit_code, 0) << pc.err;
  EXPECT_NE(pc.out.find("\"clientId\": \"conn-producer-client\""), std::string::npos) << pc.out;
  EXPECT_NE(pc.out.find("\"language\": \"CPP\""), std::string::npos) << pc.out;
  EXPECT_GE(json_number(pc.out, "version"), 1) << pc.out;
  auto nobody = admin({"consumerConnection", "-g", "nobody-group"});
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_NE(nobody.err.find("CONSUMER_NOT_ONLINE"), std::string::npos) << nobody.err;

  auto cl = admin({"clusterList", "--json"});
  ASSERT_EQ(cl.exit_code, 0) << cl.err;
  EXPECT_GT(json_number(cl.out, "inTps"), 0) << cl.out;
  EXPECT_GT(json_number(cl.out, "outTps"), 0) << cl.out;
  auto table = admin({"clusterList"});
  EXPECT_NE(table.out.find("#InTPS"), std::string::npos) << table.out;

  auto progress = admin({"consumerProgress", "-g", "conn-consumers", "-t", kTopic, "--json"});
  ASSERT_EQ(progress.exit_code, 0) << progress.err;
  EXPECT_GT(json_number(progress.out, "consumeTps"), 0) << progress.out;
  auto text = admin({"consumerProgress", "-g", "conn-consumers", "-t", kTopic});
  EXPECT_NE(text.out.find("Consume TPS: "), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("Consume TPS: n/a"), std::string::npos) << text.out;

  // The group's queues: the broker's offset, what it committed and when that message was stored.
  auto mine = RemotingCommand::request(RequestCode::GET_CONSUME_STATS);
  protocol::ConsumeStatsRequestT ms;
  ms.consumer_group = "conn-consumers";
  ms.topic = kTopic;
  mine.set_ext(std::move(ms));
  auto answered = call(master_, std::move(mine));
  ASSERT_TRUE(answered.is_ok());
  ASSERT_EQ(answered->response_code(), ResponseCode::SUCCESS) << answered->remark();
  const auto* cs = answered->ext<protocol::ConsumeStatsT>();
  ASSERT_NE(cs, nullptr);
  EXPECT_GT(cs->consume_tps, 0);
  ASSERT_EQ(cs->entries.size(), 1u);
  EXPECT_EQ(cs->entries[0]->topic, kTopic);
  EXPECT_EQ(cs->entries[0]->broker_offset, kMessages);
  if (cs->entries[0]->consumer_offset > 0) {  // committed with a later pull or the next persist
    EXPECT_GT(cs->entries[0]->last_timestamp, 0);
  }

  auto stats = RemotingCommand::request(RequestCode::GET_CONSUME_STATS);
  protocol::ConsumeStatsRequestT s;
  s.consumer_group = "nobody-group";
  stats.set_ext(std::move(s));
  EXPECT_EQ(code_of(master_, std::move(stats)), ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST);
  consumer.shutdown();
  producer.shutdown();
}

}  // namespace
}  // namespace comet::testing
