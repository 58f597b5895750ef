// TransactionProducer against a fake name server and a fake broker (RemotingServers on loopback,
// in this process): the half message it sends, the END_TRANSACTION that follows each local
// transaction, and the broker's checks (CHECK_TRANSACTION_STATE on the producer's connection).
#include "producer/transaction_producer.h"

#include <any>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/record_codec.h"
#include "fake_server_util.h"
#include "producer/mq_client.h"
#include "remoting/remoting_server.h"

namespace comet::client {
namespace {

using namespace std::chrono_literals;
using comet::testing::Signal;
using remoting::Connection;
using remoting::RemotingCommand;
using remoting::RemotingServer;
using remoting::RequestCode;
using remoting::ResponseCode;

const std::string kTopic = "TxnTopic";
const std::string kGroup = "TxnGroup";
const std::string kBrokerName = "broker-a";

struct HalfSend {
  std::string group;
  std::string topic;
  std::string body;
  std::string properties;
  uint64_t queue_offset = 0;
  uint64_t physical_offset = 0;
  std::string transaction_id;  // what the broker answered
};

// A broker that stores nothing: it answers sends with made-up offsets and a transaction id,
// records every END_TRANSACTION, and keeps the producer's connection to send it checks.
class FakeTxnBroker {
 public:
  explicit FakeTxnBroker(Signal& signal)
      : signal_(signal), server_(comet::testing::make_loopback_server()) {
    server_->register_handler(RequestCode::SEND_MESSAGE,
                              [this](const std::shared_ptr<Connection>& c, RemotingCommand req) {
                                on_send(c, std::move(req));
                              });
    server_->register_handler(RequestCode::END_TRANSACTION,
                              [this](const std::shared_ptr<Connection>& c, RemotingCommand req) {
                                on_end(c, std::move(req));
                              });
    server_->register_handler(RequestCode::HEART_BEAT,
                              [](const std::shared_ptr<Connection>& c, RemotingCommand req) {
                                c->send(RemotingCommand::response_to(req, ResponseCode::SUCCESS));
                              });
    EXPECT_TRUE(server_->start().is_ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  ~FakeTxnBroker() { server_->stop(); }

  const std::string& addr() const { return addr_; }
  void answer_sends(ResponseCode code) {
    std::lock_guard lock(mu_);
    send_answer_ = code;
  }
  void answer_ends(ResponseCode code) {
    std::lock_guard lock(mu_);
    end_answer_ = code;
  }
  std::vector<HalfSend> sends() const {
    std::lock_guard lock(mu_);
    return sends_;
  }
  std::vector<protocol::EndTransactionRequestT> ends() const {
    std::lock_guard lock(mu_);
    return ends_;
  }
  bool wait_ends(size_t n) {
    return signal_.wait([&] { return ends().size() >= n; });
  }
  bool wait_connection() {
    return signal_.wait([&] {
      std::lock_guard lock(mu_);
      return client_conn_ != nullptr;
    });
  }

  // Sends CHECK_TRANSACTION_STATE (oneway) on the producer's connection, `body` as is.
  bool check(protocol::CheckTransactionStateRequestT req, std::string body) {
    std::shared_ptr<Connection> conn;
    {
      std::lock_guard lock(mu_);
      conn = client_conn_;
    }
    if (!conn) return false;
    auto cmd = RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE);
    cmd.set_ext(std::move(req));
    cmd.body.owned = std::move(body);
    return conn->invoke_oneway(std::move(cmd));
  }

 private:
  void on_send(const std::shared_ptr<Connection>& conn, RemotingCommand req) {
    HalfSend got;
    if (auto* ext = req.ext<protocol::SendMessageRequestT>()) {
      got.group = ext->producer_group;
      got.topic = ext->topic;
    }
    const std::string body = req.body.to_string();
    auto d = record::decode(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    if (d.outcome == record::Outcome::kRecord) {
      got.body = std::string(d.record.body);
      got.properties = std::string(d.record.properties);
    }
    std::unique_lock lock(mu_);
    client_conn_ = conn;
    got.queue_offset = next_queue_offset_++;
    got.physical_offset = physical_;
    physical_ += body.size();
    got.transaction_id = "TXN-" + std::to_string(got.queue_offset);
    auto resp = RemotingCommand::response_to(req, send_answer_);
    if (send_answer_ == ResponseCode::SUCCESS || send_answer_ == ResponseCode::FLUSH_DISK_TIMEOUT) {
      protocol::SendMessageResponseT ext;
      ext.msg_id = "OFFSET-" + std::to_string(got.physical_offset);
      ext.queue_id = 0;
      ext.queue_offset = static_cast<int64_t>(got.queue_offset);
      ext.physical_offset = static_cast<int64_t>(got.physical_offset);
      ext.count = 1;
      ext.transaction_id = got.transaction_id;
      resp.set_ext(std::move(ext));
    }
    sends_.push_back(std::move(got));
    lock.unlock();
    signal_.notify();
    conn->send(std::move(resp));
  }

  void on_end(const std::shared_ptr<Connection>& conn, RemotingCommand req) {
    ResponseCode code;
    {
      std::lock_guard lock(mu_);
      if (auto* ext = req.ext<protocol::EndTransactionRequestT>()) ends_.push_back(*ext);
      code = end_answer_;
    }
    signal_.notify();
    if (!req.is_oneway()) conn->send(RemotingCommand::response_to(req, code, "not now"));
  }

  Signal& signal_;
  std::unique_ptr<RemotingServer> server_;
  std::string addr_;
  mutable std::mutex mu_;
  ResponseCode send_answer_ = ResponseCode::SUCCESS;
  ResponseCode end_answer_ = ResponseCode::SUCCESS;
  uint64_t next_queue_offset_ = 7;  // not 0, so a mix-up of offsets shows
  uint64_t physical_ = 1000;
  std::shared_ptr<Connection> client_conn_;
  std::vector<HalfSend> sends_;
  std::vector<protocol::EndTransactionRequestT> ends_;
};

class FakeRouteServer {
 public:
  explicit FakeRouteServer(const std::string& broker_addr)
      : server_(comet::testing::make_loopback_server()) {
    server_->register_handler(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        [broker_addr](const std::shared_ptr<Connection>& c, RemotingCommand req) {
          protocol::TopicRouteDataT route;
          auto q = std::make_unique<protocol::QueueDataT>();
          q->broker_name = kBrokerName;
          q->read_queue_nums = 1;
          q->write_queue_nums = 1;
          q->perm = kPermRead | kPermWrite;
          route.queue_datas.push_back(std::move(q));
          auto bd = std::make_unique<protocol::BrokerDataT>();
          bd->cluster = "DefaultCluster";
          bd->broker_name = kBrokerName;
          auto master = std::make_unique<protocol::BrokerAddrT>();
          master->broker_id = 0;
          master->addr = broker_addr;
          bd->broker_addrs.push_back(std::move(master));
          route.broker_datas.push_back(std::move(bd));
          auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
          resp.set_ext(std::move(route));
          c->send(std::move(resp));
        });
    EXPECT_TRUE(server_->start().is_ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  ~FakeRouteServer() { server_->stop(); }
  const std::string& addr() const { return addr_; }

 private:
  std::unique_ptr<RemotingServer> server_;
  std::string addr_;
};

// Answers what it is told and records what it was asked, and on which thread.
class ScriptedListener : public TransactionListener {
 public:
  std::atomic<LocalTransactionState> execute_answer{LocalTransactionState::kCommitMessage};
  std::atomic<LocalTransactionState> check_answer{LocalTransactionState::kCommitMessage};
  std::atomic<bool> execute_throws{false};

  LocalTransactionState execute_local_transaction(const ProducerMessage& msg,
                                                  const std::any& arg) override {
    std::lock_guard lock(mu_);
    executed.push_back(msg);
    execute_threads.push_back(std::this_thread::get_id());
    if (const int* v = std::any_cast<int>(&arg)) args.push_back(*v);
    if (execute_throws) throw std::runtime_error("database down");
    return execute_answer;
  }
  LocalTransactionState check_local_transaction(const MessageExt& msg) override {
    std::lock_guard lock(mu_);
    checked.push_back(msg);
    check_threads.push_back(std::this_thread::get_id());
    return check_answer;
  }

  std::mutex mu_;
  std::vector<ProducerMessage> executed;
  std::vector<std::thread::id> execute_threads;
  std::vector<int> args;
  std::vector<MessageExt> checked;
  std::vector<std::thread::id> check_threads;
};

std::string property(const std::string& encoded, std::string_view key) {
  return std::string(find_property(encoded, key));
}

// The half message as a check carries it: a CommitLog record, real topic and queue restored.
std::string check_body(const std::string& transaction_id, const std::string& payload) {
  const std::string props = encode_properties({{std::string(kPropertyTransactionPrepared), "true"},
                                               {std::string(kPropertyProducerGroup), kGroup},
                                               {std::string(kPropertyUniqKey), transaction_id}});
  Message m;
  m.topic = kTopic;
  m.queue_id = 0;
  m.sys_flag = kSysFlagTransactionPrepared;
  m.body = payload;
  m.properties = props;
  std::string out(record::encoded_size(m), '\0');
  record::encode(m, /*queue_offset=*/42, /*physical_offset=*/5000, /*store_timestamp_ms=*/1,
                 /*store_host=*/{}, reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

protocol::CheckTransactionStateRequestT check_request(const std::string& group,
                                                      const std::string& transaction_id) {
  protocol::CheckTransactionStateRequestT req;
  req.producer_group = group;
  req.tran_state_table_offset = 42;
  req.commit_log_offset = 5000;
  req.msg_id = transaction_id;
  req.transaction_id = transaction_id;
  req.offset_msg_id = "OFFSET-5000";
  return req;
}

class TransactionProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<FakeTxnBroker>(signal_);
    ns_ = std::make_unique<FakeRouteServer>(broker_->addr());
    config_.namesrv_addr = ns_->addr();
    listener_ = std::make_shared<ScriptedListener>();
    producer_ = std::make_unique<TransactionProducer>(kGroup, config_, listener_);
    Status s = producer_->start();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  void TearDown() override {
    if (producer_) producer_->shutdown();
  }

  static ProducerMessage message(std::string body) {
    ProducerMessage m;
    m.topic = kTopic;
    m.body = std::move(body);
    m.tags = "TagA";
    m.properties["biz"] = "order-1";
    return m;
  }

  // The thread that runs the client's I/O (a response callback runs there).
  // A transaction whose END has reached the broker (send_in_transaction does not wait for it):
  // the ENDs counted after it are the checks' answers.
  void send_and_wait_for_end() {
    auto sent = producer_->send_in_transaction(message("a"));
    ASSERT_TRUE(sent.is_ok()) << sent.status().to_string();
    sent->end.wait();
  }

  std::thread::id io_thread() {
    std::promise<std::thread::id> id;
    auto request = RemotingCommand::request(RequestCode::HEART_BEAT);
    producer_->producer().client()->remoting().invoke_async(
        broker_->addr(), std::move(request), 5s,
        [&id](Result<RemotingCommand>) { id.set_value(std::this_thread::get_id()); });
    return id.get_future().get();
  }

  Signal signal_;
  std::unique_ptr<FakeTxnBroker> broker_;
  std::unique_ptr<FakeRouteServer> ns_;
  ClientConfig config_;
  std::shared_ptr<ScriptedListener> listener_;
  std::unique_ptr<TransactionProducer> producer_;
};

TEST_F(TransactionProducerTest, SendsAHalfMessageThenCommitsWhereItWasStored) {
  auto r = producer_->send_in_transaction(message("pay 10"), std::any(17));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->local_state, LocalTransactionState::kCommitMessage);
  EXPECT_EQ(r->transaction_id, "TXN-7");
  EXPECT_EQ(r->send.broker_name, kBrokerName);
  EXPECT_TRUE(r->end.get().is_ok()) << r->end.get().to_string();

  const auto sends = broker_->sends();
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].topic, kTopic);
  EXPECT_EQ(sends[0].group, kGroup);
  EXPECT_EQ(sends[0].body, "pay 10");
  EXPECT_EQ(property(sends[0].properties, kPropertyTransactionPrepared), "true");
  EXPECT_EQ(property(sends[0].properties, kPropertyProducerGroup), kGroup);
  EXPECT_EQ(property(sends[0].properties, kPropertyTags), "TagA");
  EXPECT_EQ(property(sends[0].properties, "biz"), "order-1");

  {
    std::lock_guard lock(listener_->mu_);
    ASSERT_EQ(listener_->executed.size(), 1u);
    EXPECT_EQ(listener_->execute_threads[0], std::this_thread::get_id());
    EXPECT_EQ(listener_->args, std::vector<int>{17});
    EXPECT_EQ(listener_->executed[0].properties.at(std::string(kPropertyTransactionPrepared)),
              "true");
  }
  // r->end is ready: the broker has the END.
  const auto ends = broker_->ends();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].producer_group, kGroup);
  EXPECT_EQ(ends[0].tran_state_table_offset, 7);
  EXPECT_EQ(ends[0].commit_log_offset, 1000);
  EXPECT_EQ(ends[0].commit_or_rollback, protocol::TransactionOutcome::COMMIT);
  EXPECT_FALSE(ends[0].from_transaction_check);
  EXPECT_EQ(ends[0].msg_id, "OFFSET-1000");
  EXPECT_EQ(ends[0].transaction_id, "TXN-7");
}

TEST_F(TransactionProducerTest, RollbackAndUnknowAreSentAsSuch) {
  listener_->execute_answer = LocalTransactionState::kRollbackMessage;
  auto rolled = producer_->send_in_transaction(message("a"));
  ASSERT_TRUE(rolled.is_ok()) << rolled.status().to_string();
  EXPECT_EQ(rolled->local_state, LocalTransactionState::kRollbackMessage);
  listener_->execute_answer = LocalTransactionState::kUnknow;
  auto unknown = producer_->send_in_transaction(message("b"));
  ASSERT_TRUE(unknown.is_ok()) << unknown.status().to_string();
  EXPECT_EQ(unknown->local_state, LocalTransactionState::kUnknow);
  // send_in_transaction does not wait for the END's answer; the futures do.
  EXPECT_TRUE(rolled->end.get().is_ok());
  EXPECT_TRUE(unknown->end.get().is_ok());

  const auto ends = broker_->ends();
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(ends[0].commit_or_rollback, protocol::TransactionOutcome::ROLLBACK);
  EXPECT_EQ(ends[0].tran_state_table_offset, 7);
  EXPECT_EQ(ends[1].commit_or_rollback, protocol::TransactionOutcome::UNKNOWN);
  EXPECT_EQ(ends[1].tran_state_table_offset, 8);
  EXPECT_EQ(ends[1].transaction_id, "TXN-8");
}

TEST_F(TransactionProducerTest, ARefusedEndIsReportedNotRetried) {
  broker_->answer_ends(ResponseCode::SYSTEM_BUSY);
  auto r = producer_->send_in_transaction(message("a"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->local_state, LocalTransactionState::kCommitMessage);
  EXPECT_EQ(r->end.get().code(), Code::kUnavailable) << r->end.get().to_string();
  EXPECT_NE(r->end.get().message().find("SYSTEM_BUSY"), std::string::npos)
      << r->end.get().to_string();
  EXPECT_EQ(broker_->ends().size(), 1u);
}

TEST_F(TransactionProducerTest, AThrowingLocalTransactionIsUnknown) {
  listener_->execute_throws = true;
  auto r = producer_->send_in_transaction(message("a"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->local_state, LocalTransactionState::kUnknow);
  EXPECT_TRUE(r->end.get().is_ok());
  const auto ends = broker_->ends();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].commit_or_rollback, protocol::TransactionOutcome::UNKNOWN);
}

TEST_F(TransactionProducerTest, AHalfMessageStoredWithoutSendOkIsRolledBackUnasked) {
  broker_->answer_sends(ResponseCode::FLUSH_DISK_TIMEOUT);
  auto r = producer_->send_in_transaction(message("a"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->local_state, LocalTransactionState::kRollbackMessage);
  {
    std::lock_guard lock(listener_->mu_);
    EXPECT_TRUE(listener_->executed.empty());
  }
  EXPECT_TRUE(r->end.get().is_ok());
  const auto ends = broker_->ends();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].commit_or_rollback, protocol::TransactionOutcome::ROLLBACK);
}

TEST_F(TransactionProducerTest, AFailedSendRunsNoLocalTransaction) {
  broker_->answer_sends(ResponseCode::MESSAGE_ILLEGAL);
  auto r = producer_->send_in_transaction(message("a"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().to_string();
  std::lock_guard lock(listener_->mu_);
  EXPECT_TRUE(listener_->executed.empty());
  EXPECT_TRUE(broker_->ends().empty());
}

TEST_F(TransactionProducerTest, RefusesDelayedTimerAndTopiclessMessagesBeforeSending) {
  std::vector<ProducerMessage> refused;
  refused.push_back(message("delayed"));
  refused.back().delay_level = 3;
  refused.push_back(message("timer"));
  refused.back().delay_time_ms = 1000;
  refused.push_back(message("delay property"));
  refused.back().properties[std::string(kPropertyDelayLevel)] = "2";
  refused.push_back(message("timer property"));
  refused.back().properties[std::string(kPropertyTimerDeliverMs)] = "1";
  refused.push_back(message("no topic"));
  refused.back().topic.clear();
  for (const ProducerMessage& m : refused) {
    auto r = producer_->send_in_transaction(m);
    ASSERT_FALSE(r.is_ok()) << m.body;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument)
        << m.body << ": " << r.status().to_string();
  }
  EXPECT_TRUE(broker_->sends().empty());
  std::lock_guard lock(listener_->mu_);
  EXPECT_TRUE(listener_->executed.empty());
}

TEST_F(TransactionProducerTest, ASecondTransactionProducerOfTheGroupInTheClientIsRefused) {
  TransactionProducer second(kGroup, config_, listener_);
  EXPECT_EQ(second.start().code(), Code::kAlreadyExists);
  TransactionProducer no_listener("OtherGroup", config_, nullptr);
  EXPECT_EQ(no_listener.start().code(), Code::kInvalidArgument);
  // The first one still answers checks.
  listener_->execute_answer = LocalTransactionState::kUnknow;
  send_and_wait_for_end();
  ASSERT_TRUE(broker_->check(check_request(kGroup, "TXN-C"), check_body("TXN-C", "x")));
  ASSERT_TRUE(broker_->wait_ends(2));
}

TEST_F(TransactionProducerTest, ACheckRunsOffTheIoThreadAndIsAnsweredOnItsConnection) {
  // The send makes the connection the broker checks on.
  listener_->execute_answer = LocalTransactionState::kUnknow;
  send_and_wait_for_end();
  ASSERT_TRUE(broker_->wait_connection());

  for (auto answer : {LocalTransactionState::kCommitMessage,
                      LocalTransactionState::kRollbackMessage, LocalTransactionState::kUnknow}) {
    listener_->check_answer = answer;
    const size_t before = broker_->ends().size();
    ASSERT_TRUE(broker_->check(check_request(kGroup, "TXN-C"), check_body("TXN-C", "pay 10")));
    ASSERT_TRUE(broker_->wait_ends(before + 1));
    const auto end = broker_->ends().back();
    EXPECT_EQ(end.producer_group, kGroup);
    EXPECT_EQ(end.tran_state_table_offset, 42);
    EXPECT_EQ(end.commit_log_offset, 5000);
    EXPECT_TRUE(end.from_transaction_check);
    EXPECT_EQ(end.transaction_id, "TXN-C");
    EXPECT_EQ(end.msg_id, "TXN-C");
    EXPECT_EQ(end.commit_or_rollback, answer == LocalTransactionState::kCommitMessage
                                          ? protocol::TransactionOutcome::COMMIT
                                      : answer == LocalTransactionState::kRollbackMessage
                                          ? protocol::TransactionOutcome::ROLLBACK
                                          : protocol::TransactionOutcome::UNKNOWN);
  }
  const std::thread::id io = io_thread();
  std::lock_guard lock(listener_->mu_);
  ASSERT_EQ(listener_->checked.size(), 3u);
  const MessageExt& msg = listener_->checked[0];
  EXPECT_EQ(msg.topic, kTopic);
  EXPECT_EQ(msg.body, "pay 10");
  EXPECT_EQ(msg.msg_id, "TXN-C");
  EXPECT_EQ(msg.broker_name, kBrokerName);
  EXPECT_EQ(msg.properties.at(std::string(kPropertyProducerGroup)), kGroup);
  for (std::thread::id t : listener_->check_threads) {
    EXPECT_NE(t, io);
    EXPECT_NE(t, std::this_thread::get_id());
  }
}

TEST_F(TransactionProducerTest, ChecksOfAnotherGroupOrWithABadBodyAreDropped) {
  listener_->execute_answer = LocalTransactionState::kUnknow;
  send_and_wait_for_end();
  ASSERT_TRUE(broker_->wait_connection());
  std::string torn = check_body("TXN-T", "torn");
  torn.resize(torn.size() - 3);
  std::string corrupt = check_body("TXN-X", "corrupt");
  corrupt[corrupt.size() - 1] ^= 0x5a;
  ASSERT_TRUE(broker_->check(check_request("OtherGroup", "TXN-O"), check_body("TXN-O", "o")));
  ASSERT_TRUE(broker_->check(check_request(kGroup, "TXN-T"), torn));
  ASSERT_TRUE(broker_->check(check_request(kGroup, "TXN-X"), corrupt));
  ASSERT_TRUE(broker_->check(check_request(kGroup, "TXN-E"), ""));
  ASSERT_TRUE(broker_->check(check_request(kGroup, "TXN-2"),
                             check_body("TXN-2", "a") + check_body("TXN-2", "b")));
  // Checks from one connection run in order: once the good one is answered, the others were
  // dropped.
  ASSERT_TRUE(broker_->check(check_request(kGroup, "TXN-G"), check_body("TXN-G", "good")));
  ASSERT_TRUE(broker_->wait_ends(2));
  const auto ends = broker_->ends();
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(ends[1].transaction_id, "TXN-G");
  std::lock_guard lock(listener_->mu_);
  ASSERT_EQ(listener_->checked.size(), 1u);
  EXPECT_EQ(listener_->checked[0].body, "good");
}

TEST_F(TransactionProducerTest, AfterShutdownChecksOfItsGroupFindNoHandler) {
  listener_->execute_answer = LocalTransactionState::kUnknow;
  send_and_wait_for_end();
  ASSERT_TRUE(broker_->wait_connection());
  // Another group's producer in the same client keeps the client and its connection.
  auto other_listener = std::make_shared<ScriptedListener>();
  TransactionProducer other("OtherGroup", config_, other_listener);
  ASSERT_TRUE(other.start().is_ok());
  producer_->shutdown();
  ASSERT_TRUE(broker_->check(check_request(kGroup, "TXN-S"), check_body("TXN-S", "s")));
  ASSERT_TRUE(broker_->check(check_request("OtherGroup", "TXN-O"), check_body("TXN-O", "o")));
  ASSERT_TRUE(broker_->wait_ends(2));
  const auto ends = broker_->ends();
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(ends[1].producer_group, "OtherGroup");
  EXPECT_EQ(ends[1].transaction_id, "TXN-O");
  std::lock_guard lock(listener_->mu_);
  EXPECT_TRUE(listener_->checked.empty());
  other.shutdown();
}

}  // namespace
}  // namespace comet::client
