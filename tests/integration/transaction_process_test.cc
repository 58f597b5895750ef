// Transactional messages against real comet-broker processes (RocketMQ's half messages, ends and
// checks; broker/transaction_service.h, producer/transaction_producer.h), with the broker
// checking every 300 ms a transaction open for a second:
//   - commit delivers a message once, rollback never, unknown waits for a check that commits it;
//   - a producer killed between its half messages and their ends: another producer of the group
//     gets the checks and commits, each message delivered once;
//   - kill -9 of the broker with 1,000 open transactions, a promoteSlave failover and a kill -9
//     of the DLedger leader, each also while the producer's answers to checks are being applied:
//     afterwards each transaction ends as its producer decides (even ids commit, odd ones roll
//     back), delivered exactly once, and what was committed before is not delivered again;
//   - a transaction still unknown after transactionCheckMax checks goes to the check-max topic;
//   - the open transactions are listed (GET_OPEN_TRANSACTIONS, comet-admin transactionList) with
//     their group and check count.
// "Nothing more arrives" is shown by a condition, not by waiting: a sentinel transaction is left
// open until its first check commits it, a second or more later. Check rounds take the open
// transactions oldest first, so when the sentinel arrives every earlier transaction has had a
// check after its producer decided; the sentinel must be the only message after the expected
// ones, and nothing but the sentinel may still be open.
#include <any>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "consumer/message_ext.h"
#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "integration/metadata_offsets.h"
#include "producer/transaction_producer.h"

namespace comet::testing {
namespace {

using client::LocalTransactionState;
using client::MessageExt;
using client::ProducerMessage;
using client::TransactionProducer;
using client::TransactionSendResult;
using Clock = std::chrono::steady_clock;

constexpr const char* kTopic = "TxnOrders";
constexpr const char* kGroup = "txn-producer-group";
constexpr const char* kBrokerName = "txn-a";
constexpr const char* kSentinel = "sentinel";
constexpr auto kWait = 30s;

// A transaction is checked a second after it was sent, then every 300 ms. transactionCheckMax is
// raised from 15 so that the open transactions of the kill tests, answered UNKNOW until the kill,
// are not discarded before their producer decides.
std::vector<std::string> transaction_settings() {
  return {"transactionCheckInterval=300", "transactionTimeOut=1000", "transactionCheckMax=200"};
}

// "<prefix>-<id>" → id; -1 for anything else.
int id_of(const std::string& body) {
  const size_t dash = body.rfind('-');
  if (dash == std::string::npos) return -1;
  int id = -1;
  auto [end, ec] = std::from_chars(body.data() + dash + 1, body.data() + body.size(), id);
  return ec == std::errc() && end == body.data() + body.size() ? id : -1;
}

// A TransactionListener scripted by message body: the test says what execute and check answer
// (check gets the number of this check of the body, from 1). It counts the checks it answers and
// keeps the last checked message per body, and wakes waiters on each.
class ScriptedListener : public client::TransactionListener {
 public:
  using Execute = std::function<LocalTransactionState(const std::string& body)>;
  using Check = std::function<LocalTransactionState(const std::string& body, int check)>;
  ScriptedListener(Execute execute, Check check)
      : execute_(std::move(execute)), check_(std::move(check)) {}

  LocalTransactionState execute_local_transaction(const ProducerMessage& msg,
                                                  const std::any&) override {
    return execute_(msg.body);
  }
  LocalTransactionState check_local_transaction(const MessageExt& msg) override {
    int check;
    {
      std::lock_guard lock(mu_);
      check = ++checks_[msg.body];
      last_checked_[msg.body] = msg;
    }
    const LocalTransactionState answer = check_(msg.body, check);
    std::lock_guard lock(mu_);
    ++answered_[msg.body];
    if (answer != LocalTransactionState::kUnknow) ++decisions_;
    cv_.notify_all();
    return answer;
  }

  int checks(const std::string& body) {
    std::lock_guard lock(mu_);
    auto it = checks_.find(body);
    return it == checks_.end() ? 0 : it->second;
  }
  std::optional<MessageExt> last_checked(const std::string& body) {
    std::lock_guard lock(mu_);
    auto it = last_checked_.find(body);
    if (it == last_checked_.end()) return std::nullopt;
    return it->second;
  }
  // Waits (bounded) until `body` has been checked and answered `n` times.
  bool wait_checks(const std::string& body, int n, Clock::duration timeout = kWait) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return answered_[body] >= n; });
  }
  // Waits (bounded) until checks have been answered with a commit or a rollback `n` times.
  bool wait_decisions(int n, Clock::duration timeout = kWait) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return decisions_ >= n; });
  }

 private:
  Execute execute_;
  Check check_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> checks_;  // begun
  std::map<std::string, MessageExt> last_checked_;
  std::map<std::string, int> answered_;
  int decisions_ = 0;
};

// The listener of the kill tests: "pre-<i>" commits (at once, or at a check if its END failed);
// "txn-<i>" is left open and checks answer UNKNOW until `decided`, then even ids commit and odd
// ids roll back; the sentinel waits for its first check, which commits it.
std::shared_ptr<ScriptedListener> deciding_listener(std::shared_ptr<std::atomic<bool>> decided) {
  return std::make_shared<ScriptedListener>(
      [](const std::string& body) {
        return body.starts_with("pre-") ? LocalTransactionState::kCommitMessage
                                        : LocalTransactionState::kUnknow;
      },
      [decided](const std::string& body, int) {
        if (body == kSentinel || body.starts_with("pre-")) {
          return LocalTransactionState::kCommitMessage;
        }
        if (!decided->load()) return LocalTransactionState::kUnknow;
        return id_of(body) % 2 == 0 ? LocalTransactionState::kCommitMessage
                                    : LocalTransactionState::kRollbackMessage;
      });
}

// Each "pre-<i>" of `count` was committed by the END that followed its send, not by a check.
void expect_committed_by_their_ends(ScriptedListener& listener, int count) {
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(listener.checks("pre-" + std::to_string(i)), 0)
        << "pre-" << i << ": its END did not commit it (see the END_TRANSACTION warnings)";
  }
}

class TransactionProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  }
  void TearDown() override {
    for (auto& p : producers_)
      p->shutdown();
    producers_.clear();
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  // Broker process `key` of group kBrokerName with the transaction settings; `extra` wins.
  std::string start(const std::string& key, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> settings = transaction_settings();
    settings.insert(settings.end(), extra.begin(), extra.end());
    auto addr = cluster_->start_broker_as(key, kBrokerName, std::move(settings));
    EXPECT_TRUE(addr.is_ok()) << addr.status().to_string();
    return addr.is_ok() ? *addr : "";
  }

  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req) {
    return cluster_->client().invoke(addr, std::move(req), 10s);
  }

  void create_topic(const std::string& addr) {
    auto r = call(addr, update_topic_request(kTopic, 1));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  // A started TransactionProducer of kGroup (its own client), shut down by TearDown.
  TransactionProducer& producer(const std::string& client_id,
                                std::shared_ptr<ScriptedListener> listener) {
    producers_.push_back(std::make_unique<TransactionProducer>(
        kGroup, cluster_->client_config(client_id), std::move(listener)));
    EXPECT_TRUE(producers_.back()->start().is_ok());
    return *producers_.back();
  }

  static Result<TransactionSendResult> send(TransactionProducer& p, const std::string& body) {
    ProducerMessage m;
    m.topic = kTopic;
    m.body = body;
    return p.send_in_transaction(m);
  }

  // Sends "<prefix>-<i>" for i in [0, count) from `threads` threads; true when every one was
  // stored.
  static bool send_all(TransactionProducer& p, const std::string& prefix, int count, int threads) {
    std::atomic<int> failures{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t) {
      senders.emplace_back([&, t] {
        for (int i = t; i < count; i += threads) {
          if (!send(p, prefix + "-" + std::to_string(i)).is_ok()) ++failures;
        }
      });
    }
    for (auto& s : senders)
      s.join();
    EXPECT_EQ(failures.load(), 0) << "of " << count << " " << prefix << " sends";
    return failures.load() == 0;
  }

  // Long-polls queue 0 of `topic` on `addr` from `offset`, collecting messages until `done` says
  // they are enough (or `timeout` passes); what was collected.
  std::vector<MessageExt> pull_until(
      const std::string& addr, const std::string& topic, uint64_t offset,
      const std::function<bool(const std::vector<MessageExt>&)>& done,
      Clock::duration timeout = kWait) {
    std::vector<MessageExt> out;
    const auto deadline = Clock::now() + timeout;
    std::string last_refusal;
    for (int round = 0; round < 1000 && !done(out) && Clock::now() < deadline; ++round) {
      auto r = call(addr, pull_request(topic, 0, static_cast<int64_t>(offset), 32, 1000));
      if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) {
        last_refusal =
            r.is_ok() ? std::to_string(r->code()) + " " + r->remark() : r.status().to_string();
        continue;
      }
      auto msgs = client::decode_messages(r->body.to_string(), kBrokerName);
      EXPECT_TRUE(msgs.is_ok()) << msgs.status().to_string();
      if (!msgs.is_ok()) break;
      for (auto& m : *msgs)
        out.push_back(std::move(m));
      const auto* ext = r->ext<protocol::PullMessageResponseT>();
      offset =
          ext != nullptr ? static_cast<uint64_t>(ext->next_begin_offset) : offset + msgs->size();
    }
    if (!done(out)) ADD_FAILURE() << "pulls of " << topic << " on " << addr << ": " << last_refusal;
    return out;
  }

  // The messages of kTopic's queue 0 on `addr` from `offset`, once `count` have come.
  std::vector<MessageExt> await_messages(const std::string& addr, uint64_t offset, size_t count) {
    return pull_until(addr, kTopic, offset,
                      [count](const auto& got) { return got.size() >= count; });
  }

  // Sends the sentinel transaction (left open: its first check commits it) and waits for it at
  // `offset`, where nothing else may be; then nothing but the sentinel may be open.
  void expect_sentinel_next(TransactionProducer& p, const std::string& addr, uint64_t offset) {
    auto sent = send(p, kSentinel);
    ASSERT_TRUE(sent.is_ok()) << sent.status().to_string();
    EXPECT_EQ(sent->local_state, LocalTransactionState::kUnknow);
    auto got = await_messages(addr, offset, 1);
    ASSERT_FALSE(got.empty()) << "the sentinel was never committed";
    EXPECT_EQ(got[0].body, kSentinel) << "a message arrived after every transaction had ended";
    EXPECT_EQ(got.size(), 1u) << "more after the sentinel: " << got.back().body;
    auto open = open_transactions(addr);
    ASSERT_TRUE(open.is_ok()) << open.status().to_string();
    // The sentinel's own op record may not have reached the table yet.
    for (const auto& e : open->entries)
      EXPECT_EQ(e->transaction_id, sent->transaction_id)
          << "still open: " << e->topic << " " << e->half_offset;
    EXPECT_LE(open->total, 1);
  }

  // GET_OPEN_TRANSACTIONS of kGroup on `addr`.
  Result<protocol::OpenTransactionListT> open_transactions(const std::string& addr) {
    auto req = RemotingCommand::request(RequestCode::GET_OPEN_TRANSACTIONS);
    protocol::OpenTransactionsRequestT ext;
    ext.producer_group = kGroup;
    req.set_ext(std::move(ext));
    auto r = call(addr, std::move(req));
    if (!r.is_ok()) return r.status();
    const auto* list = r->ext<protocol::OpenTransactionListT>();
    if (r->response_code() != ResponseCode::SUCCESS || list == nullptr) {
      return Status::unavailable("GET_OPEN_TRANSACTIONS: " + r->remark());
    }
    return *list;
  }

  // GET_OPEN_TRANSACTIONS' total once it reaches `n`, within 5 s: the broker's table follows
  // the half queue behind the sends' acks (the dispatcher first, then the service), and no
  // request waits for it, so this asks again, at most 50 times.
  int64_t open_total_once_at_least(const std::string& addr, int64_t n) {
    int64_t total = -1;
    for (int i = 0; i < 50; ++i) {
      auto open = open_transactions(addr);
      EXPECT_TRUE(open.is_ok()) << open.status().to_string();
      if (!open.is_ok()) return -1;
      total = open->total;
      if (total >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return total;
  }

  // The kill tests' verdict: `pre` "pre-<i>" committed before the failure and every even
  // "txn-<i>" of `count`, each delivered once, no odd one, then the sentinel.
  void expect_decided(TransactionProducer& p, const std::string& addr, int pre, int count) {
    const size_t want = static_cast<size_t>(pre + count / 2);
    auto got = await_messages(addr, 0, want);
    std::map<std::string, int> seen;
    for (const auto& m : got)
      ++seen[m.body];
    std::map<std::string, int> expected;
    for (int i = 0; i < pre; ++i)
      expected["pre-" + std::to_string(i)] = 1;
    for (int i = 0; i < count; i += 2)
      expected["txn-" + std::to_string(i)] = 1;
    EXPECT_EQ(seen, expected);
    ASSERT_NO_FATAL_FAILURE(expect_sentinel_next(p, addr, want));
  }

  // SYNC_MASTER "m" and SLAVE "s": 10 transactions committed, 200 left open; the master killed
  // with -9 (once the producer has answered 50 checks, with `kill_while_deciding`) and the slave
  // promoted as comet-admin promoteSlave does, to ASYNC_MASTER (alone, a SYNC_MASTER would
  // refuse every write); then each transaction ends as decided.
  void promote_slave_drill(bool kill_while_deciding) {
    constexpr int kPre = 10;
    constexpr int kCount = 200;
    const std::string master = start("m", {"brokerRole=SYNC_MASTER"});
    const std::string slave = start("s", {"brokerRole=SLAVE", "brokerId=1"});
    ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", kWait, true).is_ok());
    ASSERT_NO_FATAL_FAILURE(create_topic(master));
    // The topic's config reaches the slave with the metadata log (a record every 200 ms).
    ASSERT_TRUE(await_replicated_topic(cluster_->client(), slave, kTopic, 10s));
    auto decided = std::make_shared<std::atomic<bool>>(false);
    auto listener = deciding_listener(decided);
    TransactionProducer& p = producer("txn-ha@test", listener);
    ASSERT_TRUE(send_all(p, "pre", kPre, 1));
    ASSERT_TRUE(send_all(p, "txn", kCount, 4));
    ASSERT_EQ(await_messages(slave, 0, kPre).size(), static_cast<size_t>(kPre))
        << "the committed messages did not reach the slave";
    expect_committed_by_their_ends(*listener, kPre);

    if (kill_while_deciding) {
      decided->store(true);
      ASSERT_TRUE(listener->wait_decisions(kCount / 4));
    }
    cluster_->broker("m")->kill9();
    decided->store(true);
    auto promoted = call(slave, promote_slave_request(2, "ASYNC_MASTER"));
    ASSERT_TRUE(promoted.is_ok()) << promoted.status().to_string();
    ASSERT_EQ(promoted->response_code(), ResponseCode::SUCCESS) << promoted->remark();
    ASSERT_NO_FATAL_FAILURE(expect_decided(p, slave, kPre, kCount));
  }

  // Three DLedger members: 10 transactions committed, 200 left open; the leader killed with -9
  // (once the producer has answered 50 checks, with `kill_while_deciding`); then each
  // transaction ends as decided on the next leader.
  void dledger_leader_kill(bool kill_while_deciding) {
    constexpr int kPre = 10;
    constexpr int kCount = 200;
    constexpr int kMembers = 3;
    const std::string peers = dledger_peers(kMembers);
    ASSERT_FALSE(peers.empty());
    std::string addrs[kMembers];
    for (int i = 0; i < kMembers; ++i) {
      addrs[i] = start(dledger_member_id(i), dledger_member_settings("txn-dl", peers, i));
      ASSERT_FALSE(addrs[i].empty());
    }
    const int leader = next_leader_announced(cluster_->broker(dledger_member_id(0)));
    ASSERT_GE(leader, 0) << "no leader elected";
    ASSERT_NO_FATAL_FAILURE(create_topic(addrs[leader]));
    // The topic's config reaches the followers with the metadata log (a record every 200 ms).
    for (int i = 0; i < kMembers; ++i) {
      if (i == leader) continue;
      ASSERT_TRUE(await_replicated_topic(cluster_->client(), addrs[i], kTopic, 10s));
    }
    auto decided = std::make_shared<std::atomic<bool>>(false);
    auto listener = deciding_listener(decided);
    TransactionProducer& p = producer("txn-dl@test", listener);
    ASSERT_TRUE(send_all(p, "pre", kPre, 1));
    ASSERT_TRUE(send_all(p, "txn", kCount, 4));
    const int follower = (leader + 1) % kMembers;
    ASSERT_EQ(await_messages(addrs[follower], 0, kPre).size(), static_cast<size_t>(kPre));
    expect_committed_by_their_ends(*listener, kPre);

    if (kill_while_deciding) {
      decided->store(true);
      ASSERT_TRUE(listener->wait_decisions(kCount / 4));
    }
    cluster_->broker(dledger_member_id(leader))->kill9();
    decided->store(true);
    int next = leader;
    for (int announced = 0; announced < 8 && next == leader; ++announced)
      next = next_leader_announced(cluster_->broker(dledger_member_id(follower)));
    ASSERT_GE(next, 0) << "no new leader";
    ASSERT_NE(next, leader);
    ASSERT_NO_FATAL_FAILURE(expect_decided(p, addrs[next], kPre, kCount));
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::vector<std::unique_ptr<TransactionProducer>> producers_;
};

TEST_F(TransactionProcessTest, CommitDeliversOnceRollbackNeverUnknownAfterTheCheckCommits) {
  const std::string broker = start("b");
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  // "unknown" is answered UNKNOW at execute and at its first two checks, then committed.
  auto listener = std::make_shared<ScriptedListener>(
      [](const std::string& body) {
        if (body == "commit") return LocalTransactionState::kCommitMessage;
        if (body == "rollback") return LocalTransactionState::kRollbackMessage;
        return LocalTransactionState::kUnknow;
      },
      [](const std::string& body, int check) {
        if (body == kSentinel || (body == "unknown" && check >= 3)) {
          return LocalTransactionState::kCommitMessage;
        }
        return LocalTransactionState::kUnknow;
      });
  TransactionProducer& p = producer("txn-basic@test", listener);

  auto committed = send(p, "commit");
  ASSERT_TRUE(committed.is_ok()) << committed.status().to_string();
  EXPECT_EQ(committed->local_state, LocalTransactionState::kCommitMessage);
  EXPECT_FALSE(committed->transaction_id.empty());
  auto got = await_messages(broker, 0, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "commit");
  EXPECT_EQ(got[0].topic, kTopic);
  // The committed message is the half message under its real topic: same UNIQ_KEY, its origin
  // in the half queue kept, the transaction properties gone.
  EXPECT_EQ(got[0].msg_id, committed->transaction_id);
  EXPECT_EQ(got[0].properties["TRAN_PREPARED_QUEUE_OFFSET"],
            std::to_string(committed->send.queue_offset));
  EXPECT_FALSE(got[0].properties.contains("TRAN_MSG"));
  EXPECT_FALSE(got[0].properties.contains("REAL_TOPIC"));

  auto rolled_back = send(p, "rollback");
  ASSERT_TRUE(rolled_back.is_ok()) << rolled_back.status().to_string();
  EXPECT_EQ(rolled_back->local_state, LocalTransactionState::kRollbackMessage);
  auto unknown = send(p, "unknown");
  ASSERT_TRUE(unknown.is_ok()) << unknown.status().to_string();
  EXPECT_EQ(unknown->local_state, LocalTransactionState::kUnknow);

  // Three checks at least 300 ms apart: the rolled-back message had as long to show up.
  got = await_messages(broker, 1, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "unknown") << "the rolled-back message was delivered";
  const int checks_when_delivered = listener->checks("unknown");
  EXPECT_GE(checks_when_delivered, 3) << "delivered before the check that committed it";
  EXPECT_EQ(listener->checks("commit"), 0);
  EXPECT_EQ(listener->checks("rollback"), 0);
  EXPECT_EQ(got[0].msg_id, unknown->transaction_id);
  // The check showed the half message as the producer sent it: real topic, its transaction id.
  auto shown = listener->last_checked("unknown");
  ASSERT_TRUE(shown.has_value());
  EXPECT_EQ(shown->topic, kTopic);
  EXPECT_EQ(shown->msg_id, unknown->transaction_id);

  ASSERT_NO_FATAL_FAILURE(expect_sentinel_next(p, broker, 2));
  EXPECT_EQ(listener->checks("unknown"), checks_when_delivered) << "checked after it was committed";
}

// The producer process dies with its local transactions running; a producer of the same group
// started afterwards gets the checks and commits each transaction, delivered once.
TEST_F(TransactionProcessTest, AnotherProducerOfTheGroupCommitsWhatAKilledProducerLeftOpen) {
  constexpr int kCount = 16;
  const std::string broker = start("b");
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  auto child = ChildProcess::spawn({COMET_TXN_PRODUCER_BIN, cluster_->namesrv_addr(), kGroup,
                                    kTopic, std::to_string(kCount), "txn-child@test", "orphan"},
                                   dir_.path() + "/txn_producer.log");
  ASSERT_TRUE(child.is_ok()) << child.status().to_string();
  for (int i = 0; i < kCount; ++i) {
    auto line = (*child)->wait_for_line("half stored: ", kWait);
    ASSERT_TRUE(line.is_ok()) << line.status().to_string();
  }
  (*child)->kill9();

  auto listener = std::make_shared<ScriptedListener>(
      [](const std::string&) { return LocalTransactionState::kUnknow; },
      [](const std::string&, int) { return LocalTransactionState::kCommitMessage; });
  TransactionProducer& p = producer("txn-survivor@test", listener);
  // Like any client, it heartbeats to the brokers of the routes it knows: it learns the topic's.
  auto queues = p.producer().fetch_publish_queues(kTopic);
  ASSERT_TRUE(queues.is_ok()) << queues.status().to_string();
  auto got = await_messages(broker, 0, kCount);
  std::map<std::string, int> seen;
  for (const auto& m : got)
    ++seen[m.body];
  std::map<std::string, int> expected;
  for (int i = 0; i < kCount; ++i) {
    expected["orphan-" + std::to_string(i)] = 1;
    EXPECT_GE(listener->checks("orphan-" + std::to_string(i)), 1);
  }
  EXPECT_EQ(seen, expected);
  ASSERT_NO_FATAL_FAILURE(expect_sentinel_next(p, broker, kCount));
}

// kill -9 of the broker with 1,000 transactions open (and some committed before): after the
// restart each ends as its producer decides.
TEST_F(TransactionProcessTest, AfterKillNineOfTheBrokerEachOpenTransactionEndsAsDecided) {
  constexpr int kPre = 20;
  constexpr int kCount = 1000;
  const std::string broker = start("b");
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  auto decided = std::make_shared<std::atomic<bool>>(false);
  auto listener = deciding_listener(decided);
  TransactionProducer& p = producer("txn-kill@test", listener);
  ASSERT_TRUE(send_all(p, "pre", kPre, 1));
  ASSERT_TRUE(send_all(p, "txn", kCount, 4));
  ASSERT_EQ(await_messages(broker, 0, kPre).size(), static_cast<size_t>(kPre));
  expect_committed_by_their_ends(*listener, kPre);
  EXPECT_EQ(open_total_once_at_least(broker, kCount), kCount);

  cluster_->broker("b")->kill9();
  decided->store(true);
  const std::string restarted = start("b");
  ASSERT_FALSE(restarted.empty());
  ASSERT_NO_FATAL_FAILURE(expect_decided(p, restarted, kPre, kCount));
}

// kill -9 while the checks' answers are being applied (250 of 1,000 answered): after the restart
// what was ended stays ended, once, and the rest is checked again.
TEST_F(TransactionProcessTest, AfterKillNineWhileCommitsAreUnderWayEachEndsOnce) {
  constexpr int kCount = 1000;
  const std::string broker = start("b");
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  auto decided = std::make_shared<std::atomic<bool>>(true);
  auto listener = deciding_listener(decided);
  TransactionProducer& p = producer("txn-kill@test", listener);
  ASSERT_TRUE(send_all(p, "txn", kCount, 4));
  ASSERT_TRUE(listener->wait_decisions(kCount / 4));
  cluster_->broker("b")->kill9();
  const std::string restarted = start("b");
  ASSERT_FALSE(restarted.empty());
  ASSERT_NO_FATAL_FAILURE(expect_decided(p, restarted, 0, kCount));
}

// The same through a promoteSlave failover: SYNC_MASTER and SLAVE, the master killed with -9
// and the slave promoted (to ASYNC_MASTER: alone, a SYNC_MASTER would refuse every write).
TEST_F(TransactionProcessTest, AfterPromoteSlaveEachOpenTransactionEndsAsDecided) {
  ASSERT_NO_FATAL_FAILURE(promote_slave_drill(/*kill_while_deciding=*/false));
}

// The master is killed while the producer's answers to the checks are being applied: some
// commits and rollbacks are stored and copied, some in flight, some not sent yet. The promoted
// slave (which repairs a commit whose message the stream cut off) checks the rest.
TEST_F(TransactionProcessTest, AfterPromoteSlaveWhileCommitsAreUnderWayEachEndsOnce) {
  ASSERT_NO_FATAL_FAILURE(promote_slave_drill(/*kill_while_deciding=*/true));
}

// The same through a kill -9 of the DLedger leader: the next leader checks what is open.
TEST_F(TransactionProcessTest, AfterTheDLedgerLeaderIsKilledEachOpenTransactionEndsAsDecided) {
  ASSERT_NO_FATAL_FAILURE(dledger_leader_kill(/*kill_while_deciding=*/false));
}

// The leader is killed while the producer's answers to the checks are being applied.
TEST_F(TransactionProcessTest, AfterTheDLedgerLeaderIsKilledWhileCommitsAreUnderWayEachEndsOnce) {
  ASSERT_NO_FATAL_FAILURE(dledger_leader_kill(/*kill_while_deciding=*/true));
}

// A transaction still unknown after transactionCheckMax checks is discarded: its message goes
// to TRANS_CHECK_MAX_TIME_TOPIC (REAL_TOPIC kept), never to its topic, and is checked no more.
TEST_F(TransactionProcessTest, AfterCheckMaxChecksTheMessageGoesToTheCheckMaxTopic) {
  const std::string broker = start("b", {"transactionCheckMax=2"});
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  auto listener = std::make_shared<ScriptedListener>(
      [](const std::string&) { return LocalTransactionState::kUnknow; },
      [](const std::string& body, int) {
        return body == kSentinel ? LocalTransactionState::kCommitMessage
                                 : LocalTransactionState::kUnknow;
      });
  TransactionProducer& p = producer("txn-max@test", listener);
  auto sent = send(p, "undecided");
  ASSERT_TRUE(sent.is_ok()) << sent.status().to_string();

  ASSERT_TRUE(listener->wait_checks("undecided", 2));
  // The discard comes at the next round, before the sentinel's first check.
  ASSERT_NO_FATAL_FAILURE(expect_sentinel_next(p, broker, 0));
  auto discarded = pull_until(broker, "TRANS_CHECK_MAX_TIME_TOPIC", 0,
                              [](const auto& got) { return !got.empty(); });
  ASSERT_EQ(discarded.size(), 1u);
  EXPECT_EQ(discarded[0].body, "undecided");
  EXPECT_EQ(discarded[0].msg_id, sent->transaction_id);
  EXPECT_EQ(discarded[0].properties["REAL_TOPIC"], kTopic);
  EXPECT_EQ(listener->checks("undecided"), 2) << "checked after it was discarded";
}

// GET_OPEN_TRANSACTIONS lists what is open, oldest first, with its group and check count.
TEST_F(TransactionProcessTest, OpenTransactionsAreListedWithGroupAndCheckCount) {
  constexpr int kCount = 3;
  const std::string broker = start("b");
  ASSERT_NO_FATAL_FAILURE(create_topic(broker));
  auto listener = std::make_shared<ScriptedListener>(
      [](const std::string&) { return LocalTransactionState::kUnknow; },
      [](const std::string&, int) { return LocalTransactionState::kUnknow; });
  TransactionProducer& p = producer("txn-list@test", listener);
  std::vector<TransactionSendResult> sent;
  for (int i = 0; i < kCount; ++i) {
    auto r = send(p, "open-" + std::to_string(i));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    sent.push_back(*r);
  }
  for (int i = 0; i < kCount; ++i)
    ASSERT_TRUE(listener->wait_checks("open-" + std::to_string(i), 2));

  auto open = open_transactions(broker);
  ASSERT_TRUE(open.is_ok()) << open.status().to_string();
  EXPECT_EQ(open->total, kCount);
  ASSERT_EQ(open->entries.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    const auto& e = *open->entries[static_cast<size_t>(i)];
    EXPECT_EQ(e.producer_group, kGroup);
    EXPECT_EQ(e.transaction_id, sent[static_cast<size_t>(i)].transaction_id);
    EXPECT_EQ(e.topic, kTopic);
    EXPECT_EQ(e.queue_id, 0);
    EXPECT_EQ(e.half_offset, static_cast<int64_t>(sent[static_cast<size_t>(i)].send.queue_offset));
    EXPECT_GE(e.check_times, 2);
    EXPECT_GE(e.age_ms, 1000);
  }
  // comet-admin transactionList shows the same: a row per transaction with its group and its
  // check count (the last column), and the broker's total.
  auto listed = run_process(
      {COMET_ADMIN_BIN, "transactionList", "-g", kGroup, "-n", cluster_->namesrv_addr()});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  for (int i = 0; i < kCount; ++i) {
    const std::string& id = sent[static_cast<size_t>(i)].transaction_id;
    const size_t at = listed.out.find(id);
    ASSERT_NE(at, std::string::npos) << id << " not listed:\n" << listed.out;
    const size_t line_start = listed.out.rfind('\n', at) + 1;  // npos + 1 == 0: the first line
    const std::string row = listed.out.substr(line_start, listed.out.find('\n', at) - line_start);
    EXPECT_NE(row.find(kGroup), std::string::npos) << row;
    const std::string checks = row.substr(row.find_last_of(' ') + 1);
    EXPECT_GE(std::atoi(checks.c_str()), 2) << row;
  }
  EXPECT_NE(listed.out.find(std::to_string(kCount) + " open transaction(s)"), std::string::npos)
      << listed.out;

  // A group with nothing open lists nothing.
  auto req = RemotingCommand::request(RequestCode::GET_OPEN_TRANSACTIONS);
  protocol::OpenTransactionsRequestT ext;
  ext.producer_group = "another-group";
  req.set_ext(std::move(ext));
  auto other = call(broker, std::move(req));
  ASSERT_TRUE(other.is_ok());
  const auto* none = other->ext<protocol::OpenTransactionListT>();
  ASSERT_NE(none, nullptr) << other->remark();
  EXPECT_EQ(none->total, 0);
  EXPECT_TRUE(none->entries.empty());
}

}  // namespace
}  // namespace comet::testing
