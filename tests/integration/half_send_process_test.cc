// The send of a transactional message (TRAN_MSG=true) against a real comet-broker: it is checked
// against its real topic as any send, stored as a half message that no consumer of that topic
// sees, and answered with its transaction id; what cannot be a transaction is refused with
// MESSAGE_ILLEGAL naming why.
#include <set>
#include <string>
#include <vector>

#include "integration/cluster.h"

namespace comet::testing {
namespace {

class HalfSendProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    auto addr = cluster_->start_broker("half-a", {"autoCreateTopicEnable=false"});
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    broker_ = *addr;
    auto created = call(update_topic_request("Orders", 2));
    ASSERT_TRUE(created.is_ok()) << created.status().to_string();
    ASSERT_EQ(created->response_code(), ResponseCode::SUCCESS) << created->remark();
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  Result<RemotingCommand> call(RemotingCommand req) {
    return cluster_->client().invoke(broker_, std::move(req), 10s);
  }

  // A SEND_MESSAGE of `bodies` to `queue` of `topic`, each with the properties `props`.
  static RemotingCommand send(const std::string& topic, int32_t queue,
                              const std::vector<std::string>& bodies,
                              const std::vector<std::pair<std::string, std::string>>& props) {
    auto req = send_request(topic, queue, bodies);
    req.body.owned = encode_records_with_properties(topic, bodies, encode_properties(props));
    return req;
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string broker_;
};

TEST_F(HalfSendProcessTest, AHalfMessageIsAnsweredWithItsTransactionIdAndNoConsumerSeesIt) {
  auto r =
      call(send("Orders", 1, {"h0"}, {{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"UNIQ_KEY", "K0"}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  const auto* first = r->ext<protocol::SendMessageResponseT>();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->transaction_id, "K0");
  EXPECT_EQ(first->queue_id, 1) << "the real queue, as RocketMQ answers";
  EXPECT_EQ(first->queue_offset, 0);

  // Without UNIQ_KEY the broker makes the id; the half queue is one queue whatever the real one.
  std::set<std::string> ids;
  for (int32_t queue : {0, 1}) {
    r = call(send("Orders", queue, {"h"}, {{"TRAN_MSG", "true"}, {"PGROUP", "pg"}}));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
    const auto* sr = r->ext<protocol::SendMessageResponseT>();
    EXPECT_EQ(sr->queue_offset, queue + 1) << "half topic queue 0 holds every half message";
    EXPECT_EQ(sr->transaction_id.size(), 32u) << sr->transaction_id;
    ids.insert(sr->transaction_id);
  }
  EXPECT_EQ(ids.size(), 2u);

  // A plain send is answered without a transaction id, and is the first message of its queue.
  r = call(send("Orders", 1, {"plain"}, {{"TRAN_MSG", "false"}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  EXPECT_EQ(r->ext<protocol::SendMessageResponseT>()->transaction_id, "");
  EXPECT_EQ(r->ext<protocol::SendMessageResponseT>()->queue_offset, 0);
  // Queue 1 first, a long poll for the plain message: once it is dispatched, so is every half
  // message stored before it, and none of them shows in queue 0 or 1.
  for (int32_t queue : {1, 0}) {
    auto pulled = call(pull_request("Orders", queue, 0, 32, queue == 1 ? 5000 : 0));
    ASSERT_TRUE(pulled.is_ok()) << pulled.status().to_string();
    const std::vector<std::string> want =
        queue == 1 ? std::vector<std::string>{"plain"} : std::vector<std::string>{};
    EXPECT_EQ(bodies_of(*pulled), want) << "queue " << queue;
  }
}

TEST_F(HalfSendProcessTest, WhatCannotBeATransactionIsRefusedNamingWhy) {
  struct Case {
    std::string topic;
    std::vector<std::string> bodies;
    std::vector<std::pair<std::string, std::string>> props;
    ResponseCode code;
    std::string remark_names;
  };
  const std::vector<Case> cases = {
      {"Orders", {"x"}, {{"TRAN_MSG", "true"}}, ResponseCode::MESSAGE_ILLEGAL, "PGROUP"},
      {"Orders",
       {"a", "b"},
       {{"TRAN_MSG", "true"}, {"PGROUP", "pg"}},
       ResponseCode::MESSAGE_ILLEGAL,
       "batch"},
      {"Orders",
       {"x"},
       {{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"DELAY", "2"}},
       ResponseCode::MESSAGE_ILLEGAL,
       "DELAY"},
      {"Orders",
       {"x"},
       {{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"TIMER_DELAY_SEC", "2"}},
       ResponseCode::MESSAGE_ILLEGAL,
       "TIMER_DELAY_SEC"},
      // The real topic is checked first, as for any send.
      {"NoSuchTopic",
       {"x"},
       {{"TRAN_MSG", "true"}, {"PGROUP", "pg"}},
       ResponseCode::TOPIC_NOT_EXIST,
       "NoSuchTopic"},
      {"RMQ_SYS_TRANS_HALF_TOPIC",
       {"x"},
       {{"TRAN_MSG", "true"}, {"PGROUP", "pg"}},
       ResponseCode::TOPIC_NOT_EXIST,
       "RMQ_SYS_TRANS_HALF_TOPIC"},
  };
  for (const Case& c : cases) {
    auto r = call(send(c.topic, 0, c.bodies, c.props));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->response_code(), c.code) << c.remark_names << ": " << r->remark();
    EXPECT_NE(r->remark().find(c.remark_names), std::string::npos) << r->remark();
  }
  auto pulled = call(pull_request("Orders", 0, 0));
  ASSERT_TRUE(pulled.is_ok()) << pulled.status().to_string();
  EXPECT_TRUE(bodies_of(*pulled).empty());
}

}  // namespace
}  // namespace comet::testing
