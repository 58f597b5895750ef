// The permission tables of broker and name server (broker/request_access.h,
// namesrv/request_access.h): what each request asks of the account that sends it.
#include "broker/request_access.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "namesrv/request_access.h"

namespace comet {
namespace {

using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::RequiredAccess;
namespace perm = remoting::perm;
namespace protocol = remoting::protocol;

// "topic:name:PUB" / "group:name:SUB" per resource, in order.
std::vector<std::string> needs(const RequiredAccess& r) {
  std::vector<std::string> out;
  for (const auto& res : r.resources) {
    out.push_back(std::string(res.group ? "group:" : "topic:") + std::string(res.name) + ":" +
                  remoting::perm_name(res.perm));
  }
  return out;
}

TEST(BrokerRequestAccess, SendNeedsPubOnItsTopic) {
  auto cmd = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  protocol::SendMessageRequestT ext;
  ext.topic = "orders";
  cmd.set_ext(std::move(ext));
  const RequiredAccess r = broker::broker_required_access(cmd);
  EXPECT_EQ(r.kind, RequiredAccess::Kind::kAnyAccount);
  EXPECT_EQ(needs(r), std::vector<std::string>{"topic:orders:PUB"});
}

TEST(BrokerRequestAccess, ASendToARetryTopicNeedsSubOnTheGroup) {
  auto cmd = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  protocol::SendMessageRequestT ext;
  ext.topic = "%RETRY%g1";
  cmd.set_ext(std::move(ext));
  EXPECT_EQ(needs(broker::broker_required_access(cmd)), std::vector<std::string>{"group:g1:SUB"});
}

TEST(BrokerRequestAccess, PullOfARetryTopicIsCheckedAsItsGroup) {
  auto cmd = RemotingCommand::request(RequestCode::PULL_MESSAGE);
  protocol::PullMessageRequestT ext;
  ext.consumer_group = "g1";
  ext.topic = "%RETRY%g1";
  cmd.set_ext(std::move(ext));
  EXPECT_EQ(needs(broker::broker_required_access(cmd)),
            (std::vector<std::string>{"group:g1:SUB", "group:g1:SUB"}));
}

TEST(BrokerRequestAccess, HeartbeatNeedsSubOnEveryGroupAndSubscribedTopic) {
  auto cmd = RemotingCommand::request(RequestCode::HEART_BEAT);
  protocol::HeartbeatRequestT hb;
  for (const char* group : {"g1", "g2"}) {
    auto c = std::make_unique<protocol::ConsumerDataT>();
    c->group_name = group;
    auto s = std::make_unique<protocol::SubscriptionT>();
    s->topic = std::string("t-") + group;
    c->subscriptions.push_back(std::move(s));
    hb.consumers.push_back(std::move(c));
  }
  hb.producer_groups.push_back("p1");  // producers need nothing (as RocketMQ)
  cmd.set_ext(std::move(hb));
  EXPECT_EQ(needs(broker::broker_required_access(cmd)),
            (std::vector<std::string>{"group:g1:SUB", "topic:t-g1:SUB", "group:g2:SUB",
                                      "topic:t-g2:SUB"}));
}

TEST(BrokerRequestAccess, LocksOffsetsAndSendBackNeedSub) {
  auto lock = RemotingCommand::request(RequestCode::LOCK_BATCH_MQ);
  protocol::LockBatchRequestT l;
  l.consumer_group = "g";
  auto q = std::make_unique<protocol::MessageQueueT>();
  q->topic = "t";
  l.queues.push_back(std::move(q));
  lock.set_ext(std::move(l));
  EXPECT_EQ(needs(broker::broker_required_access(lock)),
            (std::vector<std::string>{"group:g:SUB", "topic:t:SUB"}));
  auto back = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK);
  protocol::ConsumerSendMsgBackRequestT b;
  b.group = "g";
  b.origin_topic = "t";
  back.set_ext(std::move(b));
  EXPECT_EQ(needs(broker::broker_required_access(back)),
            (std::vector<std::string>{"group:g:SUB", "topic:t:SUB"}));
  auto offset = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET);
  protocol::ConsumerOffsetRequestT o;
  o.consumer_group = "g";
  o.topic = "t";
  offset.set_ext(std::move(o));
  EXPECT_EQ(needs(broker::broker_required_access(offset)),
            (std::vector<std::string>{"group:g:SUB", "topic:t:SUB"}));
}

TEST(BrokerRequestAccess, AdminOnlyStatusAndUnlistedCodes) {
  for (RequestCode code : broker::broker_admin_only_codes()) {
    EXPECT_EQ(broker::broker_required_access(RemotingCommand::request(code)).kind,
              RequiredAccess::Kind::kAdmin)
        << remoting::request_code_name(static_cast<int32_t>(code));
  }
  for (RequestCode code : {RequestCode::GET_BROKER_RUNTIME_INFO, RequestCode::GET_HA_STATUS,
                           RequestCode::GET_DLEDGER_STATUS, RequestCode::END_TRANSACTION}) {
    EXPECT_EQ(broker::broker_required_access(RemotingCommand::request(code)).kind,
              RequiredAccess::Kind::kAnyAccount);
  }
  EXPECT_EQ(
      broker::broker_required_access(RemotingCommand::request(static_cast<RequestCode>(4242))).kind,
      RequiredAccess::Kind::kAdmin);
  // A request without its header asks for no resource (its handler refuses it).
  EXPECT_TRUE(broker::broker_required_access(RemotingCommand::request(RequestCode::SEND_MESSAGE))
                  .resources.empty());
}

TEST(NamesrvRequestAccess, RegistrationsAreClusterOnlyAndReadsForAnyAccount) {
  using Kind = RequiredAccess::Kind;
  auto kind = [](RequestCode c) {
    return namesrv::namesrv_required_access(RemotingCommand::request(c)).kind;
  };
  EXPECT_EQ(kind(RequestCode::REGISTER_BROKER), Kind::kClusterOnly);
  // A stranger's heartbeat would keep a dead broker routed.
  EXPECT_EQ(kind(RequestCode::BROKER_HEARTBEAT), Kind::kClusterOnly);
  EXPECT_EQ(kind(RequestCode::UNREGISTER_BROKER), Kind::kClusterOnly);
  EXPECT_EQ(kind(RequestCode::GET_ROUTEINFO_BY_TOPIC), Kind::kAnyAccount);
  EXPECT_EQ(kind(RequestCode::GET_BROKER_CLUSTER_INFO), Kind::kAnyAccount);
  EXPECT_EQ(kind(RequestCode::UPDATE_AND_CREATE_TOPIC), Kind::kAdmin);
}

}  // namespace
}  // namespace comet
