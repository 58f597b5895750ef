// Transactions against a real comet-broker, without the client library: raw SEND_MESSAGE with
// TRAN_MSG and END_TRANSACTION. A committed transaction's message is in its topic once, a rolled
// back one never; an END sent twice appends once; an open transaction gets a
// CHECK_TRANSACTION_STATE on its producer's connection after transactionTimeOut, and the END
// that answers it commits; a replica-side question (GET_OPEN_TRANSACTIONS) lists what is open.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "integration/cluster.h"

namespace comet::testing {
namespace {

// The producer's side: a connection that heartbeats as group "pg" and collects the checks the
// broker sends on it.
class CheckedProducer {
 public:
  CheckedProducer() : client_(options()) {}

  remoting::RemotingClient& client() { return client_; }

  // The next CHECK_TRANSACTION_STATE, or nullopt after `timeout`.
  std::optional<RemotingCommand> next_check(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !checks_.empty(); })) return std::nullopt;
    RemotingCommand c = std::move(checks_.front());
    checks_.pop_front();
    return c;
  }

 private:
  remoting::ClientOptions options() {
    remoting::ClientOptions o;
    o.on_request = [this](const std::shared_ptr<remoting::Connection>&, RemotingCommand req) {
      if (req.code() != static_cast<int32_t>(RequestCode::CHECK_TRANSACTION_STATE)) return;
      std::lock_guard lock(mu_);
      checks_.push_back(std::move(req));
      cv_.notify_all();
    };
    return o;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<RemotingCommand> checks_;
  remoting::RemotingClient client_;  // last: its threads stop before the queue goes
};

class TransactionBrokerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    auto addr = cluster_->start_broker("txn-a",
                                       {"transactionTimeOut=1000", "transactionCheckInterval=300"});
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    broker_ = *addr;
    wait_until_transactions_ready();
    auto created = call(update_topic_request("Orders", 1));
    ASSERT_TRUE(created.is_ok()) << created.status().to_string();
    ASSERT_EQ(created->response_code(), ResponseCode::SUCCESS) << created->remark();
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  void start() {
    auto addr = cluster_->start_broker(
        "txn-a",
        {"transactionTimeOut=1000", "transactionCheckInterval=300", "transactionCheckMax=3"});
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    broker_ = *addr;
    wait_until_transactions_ready();
  }

  // The broker's transaction state is rebuilt (until then END answers SYSTEM_BUSY).
  void wait_until_transactions_ready() {
    auto ready =
        cluster_->broker("txn-a")->wait_for_line("transactions ready", 30s, /*include_read=*/true);
    ASSERT_TRUE(ready.is_ok()) << ready.status().to_string();
  }

  Result<RemotingCommand> call(RemotingCommand req) {
    return producer_.client().invoke(broker_, std::move(req), 10s);
  }

  // Registers the test's connection as a producer of group "pg".
  void heartbeat() {
    auto req = RemotingCommand::request(RequestCode::HEART_BEAT);
    protocol::HeartbeatRequestT hb;
    hb.client_id = "txn-producer";
    hb.producer_groups = {"pg"};
    req.set_ext(std::move(hb));
    auto r = call(std::move(req));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  // A half message of group "pg" with body `body` and transaction id `id`: its answer.
  protocol::SendMessageResponseT half(const std::string& body, const std::string& id) {
    auto req = send_request("Orders", 0, {body});
    req.body.owned = encode_records_with_properties(
        "Orders", {body},
        encode_properties({{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"UNIQ_KEY", id}}));
    auto r = call(std::move(req));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    if (!r.is_ok()) return {};
    EXPECT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
    const auto* ext = r->ext<protocol::SendMessageResponseT>();
    return ext ? *ext : protocol::SendMessageResponseT{};
  }

  static RemotingCommand end_request(int64_t queue_offset, int64_t physical_offset,
                                     protocol::TransactionOutcome outcome,
                                     const std::string& group = "pg") {
    auto req = RemotingCommand::request(RequestCode::END_TRANSACTION);
    protocol::EndTransactionRequestT e;
    e.producer_group = group;
    e.tran_state_table_offset = queue_offset;
    e.commit_log_offset = physical_offset;
    e.commit_or_rollback = outcome;
    req.set_ext(std::move(e));
    return req;
  }

  // Ends `h`; the broker's answer.
  RemotingCommand end(const protocol::SendMessageResponseT& h, protocol::TransactionOutcome o) {
    auto r = call(end_request(h.queue_offset, h.physical_offset, o));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? std::move(r).value() : RemotingCommand{};
  }

  // Every body in queue 0 of `topic`, long-polling for the `want`-th.
  std::vector<std::string> orders(size_t want, const std::string& topic = "Orders") {
    std::vector<std::string> all;
    int64_t offset = 0;
    for (int round = 0; round < 5 && all.size() < want; ++round) {
      auto r = call(pull_request(topic, 0, offset, 32, 2000));
      if (!r.is_ok()) break;
      const auto got = bodies_of(*r);
      all.insert(all.end(), got.begin(), got.end());
      offset += static_cast<int64_t>(got.size());
      if (got.empty() && r->response_code() != ResponseCode::PULL_NOT_FOUND) break;
    }
    // Then one more short look: nothing beyond.
    auto r = call(pull_request(topic, 0, offset, 32, 300));
    if (r.is_ok()) {
      for (auto& b : bodies_of(*r))
        all.push_back(b);
    }
    return all;
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string broker_;
  CheckedProducer producer_;
};

TEST_F(TransactionBrokerProcessTest,
       CommitIsDeliveredOnceRollbackNeverAndASecondEndAppendsNothing) {
  const auto c = half("committed", "T-C");
  const auto r = half("rolled-back", "T-R");
  RemotingCommand a = end(c, protocol::TransactionOutcome::COMMIT);
  ASSERT_EQ(a.response_code(), ResponseCode::SUCCESS) << a.remark();
  a = end(r, protocol::TransactionOutcome::ROLLBACK);
  ASSERT_EQ(a.response_code(), ResponseCode::SUCCESS) << a.remark();
  // Again, and the other way round: each transaction ended already.
  a = end(c, protocol::TransactionOutcome::COMMIT);
  EXPECT_EQ(a.response_code(), ResponseCode::SUCCESS);
  EXPECT_EQ(a.remark(), "transaction already ended");
  a = end(r, protocol::TransactionOutcome::COMMIT);
  EXPECT_EQ(a.response_code(), ResponseCode::SUCCESS);
  EXPECT_EQ(a.remark(), "transaction already ended");
  EXPECT_EQ(orders(1), std::vector<std::string>{"committed"});

  // An END that names the half wrongly is refused, naming what.
  auto bad = call(
      end_request(c.queue_offset + 5, c.physical_offset, protocol::TransactionOutcome::COMMIT));
  ASSERT_TRUE(bad.is_ok());
  EXPECT_EQ(bad->response_code(), ResponseCode::TRANSACTION_FAILED) << bad->remark();
  EXPECT_NE(bad->remark().find("queue offset"), std::string::npos) << bad->remark();
  bad = call(end_request(c.queue_offset, c.physical_offset, protocol::TransactionOutcome::COMMIT,
                         "other"));
  ASSERT_TRUE(bad.is_ok());
  EXPECT_EQ(bad->response_code(), ResponseCode::TRANSACTION_FAILED) << bad->remark();
  EXPECT_NE(bad->remark().find("producer group"), std::string::npos) << bad->remark();
  bad = call(
      end_request(c.queue_offset, c.physical_offset + 1, protocol::TransactionOutcome::COMMIT));
  ASSERT_TRUE(bad.is_ok());
  EXPECT_EQ(bad->response_code(), ResponseCode::SYSTEM_ERROR) << bad->remark();
}

TEST_F(TransactionBrokerProcessTest,
       AnOpenTransactionIsCheckedOnItsProducersConnectionAndCommitted) {
  heartbeat();
  const auto sent = std::chrono::steady_clock::now();  // before the half: it is stored after
  const auto h = half("checked", "T-K");
  // Unknown: nothing happens until the check.
  RemotingCommand a = end(h, protocol::TransactionOutcome::UNKNOWN);
  ASSERT_EQ(a.response_code(), ResponseCode::SUCCESS) << a.remark();

  // Listed while open.
  auto listed = call([] {
    auto req = RemotingCommand::request(RequestCode::GET_OPEN_TRANSACTIONS);
    protocol::OpenTransactionsRequestT q;
    q.producer_group = "pg";
    req.set_ext(std::move(q));
    return req;
  }());
  ASSERT_TRUE(listed.is_ok()) << listed.status().to_string();
  ASSERT_EQ(listed->response_code(), ResponseCode::SUCCESS) << listed->remark();
  const auto* list = listed->ext<protocol::OpenTransactionListT>();
  ASSERT_NE(list, nullptr);
  ASSERT_EQ(list->total, 1);
  ASSERT_EQ(list->entries.size(), 1u);
  EXPECT_EQ(list->entries[0]->transaction_id, "T-K");
  EXPECT_EQ(list->entries[0]->topic, "Orders");
  EXPECT_EQ(list->entries[0]->half_offset, h.queue_offset);
  EXPECT_EQ(list->entries[0]->check_times, 0);

  auto check = producer_.next_check(10s);
  ASSERT_TRUE(check) << "no CHECK_TRANSACTION_STATE within 10 s";
  // transactionTimeOut is 1,000 ms after the store time (the broker's ms clock: 1 ms slack).
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 999ms) << "checked before transactionTimeOut";
  const auto* q = check->ext<protocol::CheckTransactionStateRequestT>();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->producer_group, "pg");
  EXPECT_EQ(q->transaction_id, "T-K");
  EXPECT_GT(q->tran_state_table_offset, h.queue_offset) << "the check's copy is newer";
  const std::string body = check->body.to_string();
  const auto d = record::decode(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  ASSERT_EQ(d.outcome, record::Outcome::kRecord) << d.reason;
  EXPECT_EQ(d.record.topic, "Orders");
  EXPECT_EQ(d.record.body, "checked");

  // The producer answers the check with the copy's offsets: committed once.
  protocol::SendMessageResponseT copy;
  copy.queue_offset = q->tran_state_table_offset;
  copy.physical_offset = q->commit_log_offset;
  a = end(copy, protocol::TransactionOutcome::COMMIT);
  ASSERT_EQ(a.response_code(), ResponseCode::SUCCESS) << a.remark();
  a = end(h, protocol::TransactionOutcome::COMMIT);  // the first half's offsets: ended already
  EXPECT_EQ(a.remark(), "transaction already ended");
  EXPECT_EQ(orders(1), std::vector<std::string>{"checked"});
}

// The table is rebuilt from the log after a kill -9: an ended transaction stays ended, an open
// one is checked by the restarted broker and committed once.
TEST_F(TransactionBrokerProcessTest, AfterKillNineEndedTransactionsStayEndedAndOpenOnesAreChecked) {
  const auto a = half("A", "T-A");
  const auto b = half("B", "T-B");
  const auto c = half("C", "T-C");
  ASSERT_EQ(end(a, protocol::TransactionOutcome::COMMIT).response_code(), ResponseCode::SUCCESS);
  ASSERT_EQ(end(b, protocol::TransactionOutcome::ROLLBACK).response_code(), ResponseCode::SUCCESS);
  ASSERT_EQ(orders(1), std::vector<std::string>{"A"});
  cluster_->broker("txn-a")->kill9();
  ASSERT_NO_FATAL_FAILURE(start());
  heartbeat();

  RemotingCommand again = end(a, protocol::TransactionOutcome::COMMIT);
  EXPECT_EQ(again.response_code(), ResponseCode::SUCCESS);
  EXPECT_EQ(again.remark(), "transaction already ended");
  again = end(b, protocol::TransactionOutcome::COMMIT);
  EXPECT_EQ(again.remark(), "transaction already ended");

  auto check = producer_.next_check(10s);
  ASSERT_TRUE(check) << "the open transaction was not checked after the restart";
  const auto* q = check->ext<protocol::CheckTransactionStateRequestT>();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->transaction_id, "T-C");
  protocol::SendMessageResponseT copy;
  copy.queue_offset = q->tran_state_table_offset;
  copy.physical_offset = q->commit_log_offset;
  ASSERT_EQ(end(copy, protocol::TransactionOutcome::COMMIT).response_code(), ResponseCode::SUCCESS);
  EXPECT_EQ(orders(2), (std::vector<std::string>{"A", "C"}));
  (void)c;
}

// Unanswered (no producer connected) transactionCheckMax times: moved to
// TRANS_CHECK_MAX_TIME_TOPIC, and an END after that finds it ended.
TEST_F(TransactionBrokerProcessTest, AnUnansweredTransactionIsDiscardedAfterTransactionCheckMax) {
  // The broker creates the topic at the first discard; made first so a long poll can wait on it.
  auto created = call(update_topic_request("TRANS_CHECK_MAX_TIME_TOPIC", 1));
  ASSERT_TRUE(created.is_ok() && created->response_code() == ResponseCode::SUCCESS);
  const auto h = half("lost", "T-L");
  const auto moved = orders(1, "TRANS_CHECK_MAX_TIME_TOPIC");  // 1 s + 3 checks 300 ms apart
  EXPECT_EQ(moved, std::vector<std::string>{"lost"});
  RemotingCommand late = end(h, protocol::TransactionOutcome::COMMIT);
  EXPECT_EQ(late.remark(), "transaction already ended");
  EXPECT_TRUE(orders(0).empty());
}

}  // namespace
}  // namespace comet::testing
