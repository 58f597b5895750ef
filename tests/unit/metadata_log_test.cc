// MetadataLog's group deletions: a master's record holds a deletion and only what was noted of
// the group after it (a commit noted before the deletion is dropped, also from a record whose
// append failed and came back), and a replica applying the records ends with what the master
// has: the group's config and offsets gone, the offsets committed after the deletion there, and
// a config-only deletion leaving the offsets.
#include "broker/metadata_log.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "local_replication.h"
#include "test_util.h"

namespace comet::broker {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kTopic = "Orders";

// A master (or, with `slave`, a replica) over the test's store. A master's appends go to the
// store; `writable` false holds the flush (so a test notes several changes into one record),
// `hold_next` keeps the next append's completion until release() (which may fail it).
class MetadataReplication final : public LocalReplication {
 public:
  MetadataReplication(commitlog::MessageStore& store, bool slave)
      : LocalReplication(store), slave_(slave) {}

  BrokerRole role() const override {
    return slave_ ? BrokerRole::kSlave : BrokerRole::kAsyncMaster;
  }
  Status check_writable() const override {
    return writable_ ? Status::ok() : Status::unavailable("held by the test");
  }
  void set_writable(bool w) { writable_ = w; }
  void hold_next() { hold_next_ = true; }

  void append(std::vector<Message> msgs, std::shared_ptr<const void> /*keepalive*/,
              std::function<void()> /*stored*/, AppendDone done) override {
    if (hold_next_.exchange(false)) {
      std::lock_guard lock(mu_);
      held_ = std::move(done);
      cv_.notify_all();
      return;
    }
    store().put_messages_async(msgs, [this, done = std::move(done)](auto result) {
      done({result.status(), AppendFailure::kNone, {}});
      std::lock_guard lock(mu_);
      ++appended_;
      cv_.notify_all();
    });
  }

  bool wait_held() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return held_ != nullptr; });
  }
  // Completes the held append as refused.
  bool fail_held() {
    std::unique_lock lock(mu_);
    if (held_ == nullptr) return false;
    AppendDone done = std::move(held_);
    held_ = nullptr;
    lock.unlock();
    done({Status::unavailable("injected"), AppendFailure::kRefused, {}});
    return true;
  }
  bool wait_appended(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return appended_ >= n; });
  }

 private:
  const bool slave_;
  std::atomic<bool> writable_{true};
  std::atomic<bool> hold_next_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  AppendDone held_;
  int appended_ = 0;
};

// One broker's metadata: its store, managers, replication seam and MetadataLog.
struct Node {
  Node(const std::string& root, bool slave) {
    ctx.config.store = comet::testing::small_config(root, 4 << 20);
    store = std::move(commitlog::MessageStore::open(ctx.config.store)).value();
    meta = std::move(MetadataStore::open(root)).value();
    topics = std::move(TopicConfigManager::load(*meta)).value();
    offsets = std::move(ConsumerOffsetManager::load(*meta)).value();
    groups = std::move(SubscriptionGroupManager::load(*meta)).value();
    ctx.io = &io;
    ctx.store = store.get();
    ctx.topics = topics.get();
    ctx.offsets = offsets.get();
    ctx.groups = groups.get();
    replication = std::make_unique<MetadataReplication>(*store, slave);
    ctx.replication = replication.get();
    log = std::make_unique<MetadataLog>(ctx, *replication, *meta);
  }
  ~Node() {
    log->stop();
    work.reset();
    io.stop();
    if (io_thread.joinable()) io_thread.join();
    store.reset();  // its dispatcher calls the log's arrival listener
    log.reset();
  }
  void run_io() {
    io_thread = std::thread([this] { io.run(); });
  }

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(io)};
  BrokerContext ctx;
  std::unique_ptr<commitlog::MessageStore> store;
  std::unique_ptr<MetadataStore> meta;
  std::unique_ptr<TopicConfigManager> topics;
  std::unique_ptr<ConsumerOffsetManager> offsets;
  std::unique_ptr<SubscriptionGroupManager> groups;
  std::unique_ptr<MetadataReplication> replication;
  std::unique_ptr<MetadataLog> log;
  std::thread io_thread;
};

class MetadataLogDeletions : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() + "/m");
    std::filesystem::create_directories(dir_.path() + "/r");
    master_ = std::make_unique<Node>(dir_.path() + "/m", /*slave=*/false);
    replica_ = std::make_unique<Node>(dir_.path() + "/r", /*slave=*/true);
    ASSERT_TRUE(master_->log->attach().is_ok());
    ASSERT_TRUE(replica_->log->attach().is_ok());
    master_->run_io();
    replica_->run_io();
    master_->log->start_flushing();
  }

  // The master's records from queue offset `from`, decoded.
  std::vector<MetadataChanges> records(uint64_t from) {
    EXPECT_TRUE(
        master_->store->dispatched().wait(master_->store->commit_log().max_offset(), 10s).is_ok());
    auto got = master_->store->get_messages(kMetadataTopic, 0, from, 64, 4 << 20);
    std::vector<MetadataChanges> out;
    for (const auto& v : got.messages) {
      auto d = record::decode(v.data, v.size);
      auto c = decode_metadata_record(d.record.body);
      EXPECT_TRUE(c.is_ok()) << c.status().to_string();
      if (c.is_ok()) out.push_back(std::move(c).value());
    }
    return out;
  }

  // Copies the master's records into the replica's log (as replication would) and waits until
  // the replica applied them all.
  void replicate() {
    EXPECT_TRUE(
        master_->store->dispatched().wait(master_->store->commit_log().max_offset(), 10s).is_ok());
    const uint64_t end = master_->store->max_queue_offset(kMetadataTopic, 0);
    const uint64_t have = replica_->store->max_queue_offset(kMetadataTopic, 0);
    auto got = master_->store->get_messages(kMetadataTopic, 0, have, 64, 4 << 20);
    for (const auto& v : got.messages) {
      auto d = record::decode(v.data, v.size);
      Message m = comet::testing::make_message(kMetadataTopic, 0, d.record.body);
      ASSERT_TRUE(replica_->store->put_message(m).is_ok());
    }
    // The apply pass runs on the replica's I/O thread once the dispatcher indexed the records.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::mutex mu;
    std::condition_variable cv;
    while (replica_->log->applied() < end && std::chrono::steady_clock::now() < deadline) {
      // Wait for one pass of the replica's I/O thread, not for a fixed time.
      bool ran = false;
      asio::post(replica_->io, [&] {
        std::lock_guard lock(mu);
        ran = true;
        cv.notify_all();
      });
      std::unique_lock lock(mu);
      cv.wait_for(lock, 1s, [&] { return ran; });
    }
    ASSERT_EQ(replica_->log->applied(), end);
  }

  comet::testing::TempDir dir_;
  std::unique_ptr<Node> master_;
  std::unique_ptr<Node> replica_;
};

TEST_F(MetadataLogDeletions, ARecordHoldsTheDeletionAndOnlyWhatCameAfterIt) {
  ASSERT_TRUE(master_->groups->create_or_update({"G", 3, true, true, 1}).is_ok());
  ASSERT_TRUE(master_->offsets->commit("G", kTopic, 0, 5).is_ok());
  ASSERT_TRUE(master_->offsets->commit("K", kTopic, 0, 3).is_ok());
  ASSERT_TRUE(master_->replication->wait_appended(1));
  ASSERT_NO_FATAL_FAILURE(replicate());
  ASSERT_TRUE(replica_->groups->find("G"));
  ASSERT_EQ(replica_->offsets->query("G", kTopic, 0), 5u);

  master_->replication->set_writable(false);  // one record for all of the below
  ASSERT_TRUE(master_->offsets->commit("G", kTopic, 0, 6).is_ok());  // before the deletion
  ASSERT_TRUE(*master_->groups->remove("G"));
  ASSERT_EQ(*master_->offsets->remove_group("G"), 1u);
  ASSERT_TRUE(master_->offsets->commit("G", kTopic, 1, 2).is_ok());  // after it: the group anew
  master_->replication->set_writable(true);
  ASSERT_TRUE(master_->replication->wait_appended(2));

  auto recs = records(1);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].deleted_groups, std::vector<std::string>{"G"});
  EXPECT_TRUE(recs[0].deleted_group_configs.empty());
  ASSERT_EQ(recs[0].offsets.size(), 1u);
  EXPECT_EQ(recs[0].offsets[0].queue_id, 1u);
  EXPECT_TRUE(recs[0].groups.empty());

  ASSERT_NO_FATAL_FAILURE(replicate());
  EXPECT_FALSE(replica_->groups->find("G"));
  EXPECT_FALSE(replica_->offsets->query("G", kTopic, 0));
  EXPECT_EQ(replica_->offsets->query("G", kTopic, 1), 2u);
  EXPECT_EQ(replica_->offsets->query("K", kTopic, 0), 3u);
}

TEST_F(MetadataLogDeletions, AConfigOnlyDeletionKeepsTheOffsetsOnTheReplica) {
  ASSERT_TRUE(master_->groups->create_or_update({"C", 3, true, true, 1}).is_ok());
  ASSERT_TRUE(master_->offsets->commit("C", kTopic, 0, 4).is_ok());
  ASSERT_TRUE(master_->replication->wait_appended(1));
  ASSERT_TRUE(*master_->groups->remove("C"));
  ASSERT_TRUE(master_->replication->wait_appended(2));
  auto recs = records(1);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].deleted_group_configs, std::vector<std::string>{"C"});
  EXPECT_TRUE(recs[0].deleted_groups.empty());
  ASSERT_NO_FATAL_FAILURE(replicate());
  EXPECT_FALSE(replica_->groups->find("C"));
  EXPECT_EQ(replica_->offsets->query("C", kTopic, 0), 4u);
}

TEST_F(MetadataLogDeletions, AFailedRecordComesBackWithoutWhatADeletionSinceDropped) {
  master_->replication->hold_next();
  ASSERT_TRUE(master_->offsets->commit("D", kTopic, 0, 9).is_ok());
  ASSERT_TRUE(master_->offsets->commit("E", kTopic, 0, 1).is_ok());
  ASSERT_TRUE(master_->replication->wait_held());
  master_->replication->set_writable(false);  // what comes next waits for the requeue
  ASSERT_EQ(*master_->offsets->remove_group("D"), 1u);
  ASSERT_TRUE(master_->replication->fail_held());  // requeued behind the deletion
  master_->replication->set_writable(true);
  ASSERT_TRUE(master_->replication->wait_appended(1));
  auto recs = records(0);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].deleted_groups, std::vector<std::string>{"D"});
  ASSERT_EQ(recs[0].offsets.size(), 1u);
  EXPECT_EQ(recs[0].offsets[0].group, "E");
  ASSERT_NO_FATAL_FAILURE(replicate());
  EXPECT_FALSE(replica_->offsets->query("D", kTopic, 0));
  EXPECT_EQ(replica_->offsets->query("E", kTopic, 0), 1u);
}

TEST_F(MetadataLogDeletions, ApplyingADeletionAgainChangesNothing) {
  ASSERT_TRUE(master_->offsets->commit("F", kTopic, 0, 2).is_ok());
  ASSERT_TRUE(master_->replication->wait_appended(1));
  ASSERT_NO_FATAL_FAILURE(replicate());
  ASSERT_EQ(*master_->offsets->remove_group("F"), 1u);
  ASSERT_TRUE(master_->replication->wait_appended(2));
  ASSERT_NO_FATAL_FAILURE(replicate());
  EXPECT_FALSE(replica_->offsets->query("F", kTopic, 0));
  // Applying the deletion again (a rewind re-reads records) changes nothing.
  EXPECT_EQ(*replica_->offsets->remove_group("F"), 0u);
  EXPECT_FALSE(*replica_->groups->remove("F"));
}

}  // namespace
}  // namespace comet::broker
