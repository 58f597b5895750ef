// TransactionService against a real MessageStore and offset manager, with a replication seam that
// stores and records every append: the table is rebuilt from H and both queues (ops before the
// half at H and copies of origins below H ignored), a commit torn by a failover (its op at the
// log's end, its message missing) is repaired before anything else, a whole one is not, and H is
// committed once a round finds the transactions below it ended.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <asio.hpp>

#include "broker/broker_context.h"
#include "broker/client_manager.h"
#include "broker/consumer_offset_manager.h"
#include "broker/metadata_store.h"
#include "broker/system_topics.h"
#include "broker/transaction_messages.h"
#include "broker/transaction_service.h"
#include "common/record_codec.h"
#include "local_replication.h"
#include "test_util.h"

namespace comet::broker {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kReal = "Real";

// An ASYNC_MASTER seam over the test's store that keeps (topic, properties) of what it appended.
class RecordingReplication final : public LocalReplication {
 public:
  explicit RecordingReplication(commitlog::MessageStore& store) : LocalReplication(store) {}

  struct Appended {
    std::string topic;
    std::string properties;
    std::string body;
  };
  // Waits until `n` messages were appended; what was appended so far.
  std::vector<Appended> wait_for(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return appended_.size() >= n; });
    return appended_;
  }

  struct Batch {
    std::chrono::steady_clock::time_point at;
    size_t messages = 0;
  };
  std::vector<Batch> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }

  void append(std::vector<Message> msgs, std::shared_ptr<const void> keepalive,
              std::function<void()>, AppendDone done) override {
    {
      std::lock_guard lock(mu_);
      batches_.push_back({std::chrono::steady_clock::now(), msgs.size()});
      for (const Message& m : msgs)
        pending_.push_back({std::string(m.topic), std::string(m.properties), std::string(m.body)});
    }
    store().put_messages_async(msgs, [this, keepalive, done = std::move(done)](
                                         Result<std::vector<commitlog::AppendResult>> r) {
      if (!r.is_ok()) return done({r.status(), AppendFailure::kRefused, {}});
      {
        std::lock_guard lock(mu_);
        for (size_t i = 0; i < r->size() && !pending_.empty(); ++i) {
          appended_.push_back(std::move(pending_.front()));
          pending_.erase(pending_.begin());
        }
        cv_.notify_all();
      }
      done({Status::ok(), AppendFailure::kNone, std::move(r).value()});
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Appended> pending_;
  std::vector<Appended> appended_;
  std::vector<Batch> batches_;
};

class TransactionServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_.config.store = comet::testing::small_config(dir_.path(), 4 << 20);
    ctx_.config.transaction_timeout_ms = 0;  // due at once
    ctx_.config.transaction_check_interval_ms = 600'000;
    auto store = commitlog::MessageStore::open(ctx_.config.store);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(*store);
    auto meta = MetadataStore::open(dir_.path());
    ASSERT_TRUE(meta.is_ok()) << meta.status().to_string();
    meta_ = std::move(*meta);
    auto topics = TopicConfigManager::load(*meta_);
    ASSERT_TRUE(topics.is_ok()) << topics.status().to_string();
    topics_ = std::move(*topics);
    auto offsets = ConsumerOffsetManager::load(*meta_);
    ASSERT_TRUE(offsets.is_ok()) << offsets.status().to_string();
    offsets_ = std::move(*offsets);
    offsets_->set_commit_listener([this](const ConsumerOffsetManager::Entry& e) {
      if (e.group != kTransGroup) return;
      std::lock_guard lock(low_mu_);
      low_ = e.offset;
      low_cv_.notify_all();
    });
    ctx_.io = &io_;
    ctx_.store = store_.get();
    ctx_.offsets = offsets_.get();
    ctx_.topics = topics_.get();
    ctx_.clients = &clients_;
    replication_ = std::make_unique<RecordingReplication>(*store_);
    ctx_.replication = replication_.get();
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (service_) service_->stop();
    work_.reset();
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
    store_.reset();  // its dispatcher calls the service's arrival listener
    service_.reset();
  }

  // As a restarted broker's recovery does, the store indexes what the test wrote before the
  // service reads its queues (a service started on a lagging dispatcher rebuilds from less).
  void start_service() {
    ASSERT_TRUE(store_->dispatched().wait(store_->commit_log().max_offset(), 10s).is_ok());
    service_ = std::make_unique<TransactionService>(ctx_, *replication_);
    service_->start();
  }

  // A half message of `body`, as the send path stores it; its place in the log.
  commitlog::AppendResult put_half(const std::string& body) {
    const std::string props =
        encode_properties({{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"UNIQ_KEY", "K-" + body}});
    Message m = comet::testing::make_message(kReal, 0, body, props);
    std::string storage;
    EXPECT_TRUE(to_half_topic(m, false, storage).is_ok());
    auto r = store_->put_message(m);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : commitlog::AppendResult{};
  }
  // A check's copy of the half at `half`, for transaction `origin`.
  void put_copy(const commitlog::AppendResult& half, uint64_t origin) {
    auto view = store_->commit_log().read_exact(half.physical_offset, half.size);
    ASSERT_TRUE(view.is_ok());
    const RecordView r = record::decode(view->data, view->size).record;
    std::string storage;
    ASSERT_TRUE(store_->put_message(check_copy_of(r, origin, storage)).is_ok());
  }
  void put_op(uint64_t origin, TransactionEnd end, uint64_t half_physical_offset) {
    std::string storage;
    Message op = op_message({origin, end, half_physical_offset}, storage);
    ASSERT_TRUE(store_->put_message(op).is_ok());
  }
  uint64_t wait_for_low_water(uint64_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(low_mu_);
    low_cv_.wait_for(lock, timeout, [&] { return low_ >= n; });
    return low_;
  }

  comet::testing::TempDir dir_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  BrokerContext ctx_;
  ClientManager clients_;
  std::unique_ptr<commitlog::MessageStore> store_;
  std::unique_ptr<MetadataStore> meta_;
  std::unique_ptr<TopicConfigManager> topics_;
  std::unique_ptr<ConsumerOffsetManager> offsets_;
  std::unique_ptr<RecordingReplication> replication_;
  std::unique_ptr<TransactionService> service_;
  std::thread io_thread_;
  std::mutex low_mu_;
  std::condition_variable low_cv_;
  uint64_t low_ = 0;
};

TEST_F(TransactionServiceTest, ATornCommitIsRepairedFromTheHalfItsOpNames) {
  const auto half = put_half("paid");
  put_op(0, TransactionEnd::kCommit, half.physical_offset);  // [op] of [op, message]: torn
  start_service();
  const auto appended = replication_->wait_for(1, 10s);
  ASSERT_EQ(appended.size(), 1u);
  EXPECT_EQ(appended[0].topic, kReal);
  EXPECT_EQ(appended[0].body, "paid");
  EXPECT_EQ(find_property(appended[0].properties, kPropertyTransactionPreparedQueueOffset), "0");
  EXPECT_EQ(find_property(appended[0].properties, kPropertyRealTopic), "");
  // Ended: nothing open, so H moves past it; and nothing else is appended (no check).
  EXPECT_EQ(wait_for_low_water(1, 10s), 1u);
  EXPECT_EQ(replication_->wait_for(2, 300ms).size(), 1u);
}

// The log's end is taken when the broker becomes master: what it appends before the rebuild runs
// (a metadata record, a due timer) does not hide the torn commit.
TEST_F(TransactionServiceTest, ATornCommitIsRepairedThoughTheNewMasterAppendedFirst) {
  const auto half = put_half("paid");
  put_op(0, TransactionEnd::kCommit, half.physical_offset);
  service_ = std::make_unique<TransactionService>(ctx_, *replication_);
  service_->on_becoming_master();
  ASSERT_TRUE(store_->put_message(comet::testing::make_message("Other", 0, "x")).is_ok());
  service_->start();
  const auto appended = replication_->wait_for(1, 10s);
  ASSERT_EQ(appended.size(), 1u);
  EXPECT_EQ(appended[0].topic, kReal);
  EXPECT_EQ(appended[0].body, "paid");
}

TEST_F(TransactionServiceTest, AWholeCommitOrARollbackAtTheLogsEndIsLeftAlone) {
  const auto a = put_half("a");
  const auto b = put_half("b");
  put_op(0, TransactionEnd::kCommit, a.physical_offset);
  {
    auto view = store_->commit_log().read_exact(a.physical_offset, a.size);
    ASSERT_TRUE(view.is_ok());
    std::string storage;
    Message m =
        committed_message_of(record::decode(view->data, view->size).record, 0, false, storage);
    ASSERT_TRUE(store_->put_message(m).is_ok());
  }
  put_op(1, TransactionEnd::kRollback, b.physical_offset);
  start_service();
  EXPECT_EQ(wait_for_low_water(2, 10s), 2u);
  EXPECT_TRUE(replication_->wait_for(1, 300ms).empty());
}

// H = 2: halves 0 and 1 ended before it (their ops come before the half at H), a late copy of 1
// is ignored; of 2 and 3, 3 was rolled back after H: only 2 is open and gets checked.
TEST_F(TransactionServiceTest, TheTableIsRebuiltFromTheLowWaterAndBothQueues) {
  const auto h0 = put_half("h0");
  const auto h1 = put_half("h1");
  put_op(0, TransactionEnd::kCommit, h0.physical_offset);
  put_op(1, TransactionEnd::kRollback, h1.physical_offset);
  put_half("h2");
  const auto h3 = put_half("h3");
  put_copy(h1, 1);  // a check that raced the rollback: ignored
  put_op(3, TransactionEnd::kRollback, h3.physical_offset);
  ASSERT_TRUE(offsets_->commit(kTransGroup, kTransHalfTopic, 0, 2).is_ok());
  start_service();
  const auto appended = replication_->wait_for(1, 10s);
  ASSERT_EQ(appended.size(), 1u);
  EXPECT_EQ(appended[0].topic, kTransHalfTopic);
  EXPECT_EQ(appended[0].body, "h2");
  EXPECT_EQ(find_property(appended[0].properties, kPropertyTransactionPreparedQueueOffset), "2");
  EXPECT_EQ(find_property(appended[0].properties, kPropertyTransactionCheckTimes), "1");
  EXPECT_EQ(replication_->wait_for(2, 300ms).size(), 1u) << "checked once per interval";
}

// An H beyond this log's half queue (copied from a master whose log end this broker lacks) is
// taken back to the queue's end, so the halves written from here on are not hidden behind it.
TEST_F(TransactionServiceTest, ALowWaterBeyondTheHalfQueueIsTakenBack) {
  put_half("h0");
  ASSERT_TRUE(store_->dispatched().wait(store_->commit_log().max_offset(), 10s).is_ok());
  ASSERT_TRUE(offsets_->commit(kTransGroup, kTransHalfTopic, 0, 5).is_ok());
  start_service();
  {
    std::unique_lock lock(low_mu_);
    ASSERT_TRUE(low_cv_.wait_for(lock, 10s, [&] { return low_ == 1; }))
        << "not reset to the queue's end: " << low_;
  }
  put_half("h1");  // queue offset 1, below the old H: open, and checked
  const auto appended = replication_->wait_for(1, 10s);
  ASSERT_EQ(appended.size(), 1u);
  EXPECT_EQ(appended[0].body, "h1");
  EXPECT_EQ(find_property(appended[0].properties, kPropertyTransactionPreparedQueueOffset), "1");
}

// A backlog is checked in batches of at most 256 (kCheckBatch), no faster than
// kMaxChecksPerSecond: 600 due at once take three appends, the second 128 ms after the first.
TEST_F(TransactionServiceTest, ABacklogIsCheckedInPacedBatches) {
  constexpr size_t kOpen = 600;
  for (size_t i = 0; i < kOpen; ++i)
    put_half("b" + std::to_string(i));
  // All indexed first, so the first round finds the whole backlog due.
  ASSERT_TRUE(store_->dispatched().wait(store_->commit_log().max_offset(), 10s).is_ok());
  start_service();
  const auto appended = replication_->wait_for(kOpen, 10s);
  ASSERT_EQ(appended.size(), kOpen);
  for (size_t i = 0; i < kOpen; ++i) {
    EXPECT_EQ(appended[i].body, "b" + std::to_string(i)) << "oldest first";
  }
  const auto batches = replication_->batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].messages, 256u);
  EXPECT_EQ(batches[1].messages, 256u);
  EXPECT_EQ(batches[2].messages, 88u);
  // 128 ms from the start of one round to the next; the append comes a little after its start.
  const auto pace = 256 * 1000ms / TransactionService::kMaxChecksPerSecond - 8ms;
  EXPECT_GE(batches[1].at - batches[0].at, pace);
  EXPECT_GE(batches[2].at - batches[1].at, pace);
  EXPECT_EQ(replication_->wait_for(kOpen + 1, 300ms).size(), kOpen) << "checked once each";
}

}  // namespace
}  // namespace comet::broker
