// ScheduleMessageService against a real MessageStore and offset manager, with a replication seam
// whose appends the test can fail: a delivery whose append fails is retried a second later from
// the same message, its level's progress moves only once an append succeeded, and every message
// reaches its real topic once and in order, in batches larger than the old 32.
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
#include "broker/consumer_offset_manager.h"
#include "broker/metadata_store.h"
#include "broker/schedule_message_service.h"
#include "broker/system_topics.h"
#include "common/clock.h"
#include "common/record_codec.h"
#include "local_replication.h"
#include "test_util.h"

namespace comet::broker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kRealTopic = "Real";
constexpr int64_t kDelayMs = 200;

// An ASYNC_MASTER seam over the test's store whose next `fail_next` appends are refused.
class FlakyReplication final : public LocalReplication {
 public:
  FlakyReplication(commitlog::MessageStore& store, ConsumerOffsetManager& offsets)
      : LocalReplication(store), offsets_(offsets) {}

  struct Append {
    Clock::time_point at;
    size_t messages = 0;
    bool failed = false;
    std::optional<uint64_t> progress;  // the level's committed progress when it came
  };

  void fail_next(int n) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
  }
  // Waits until `n` messages were appended; the appends made so far.
  std::vector<Append> wait_for_delivered(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return delivered_ >= n; });
    return appends_;
  }

  void append(std::vector<Message> msgs, std::shared_ptr<const void> /*keepalive*/,
              std::function<void()> /*stored*/, AppendDone done) override {
    const Append a{Clock::now(), msgs.size(), false,
                   offsets_.query(kScheduleGroup, kScheduleTopic, 0)};
    {
      std::lock_guard lock(mu_);
      appends_.push_back(a);
      if (fail_next_ > 0) {
        --fail_next_;
        appends_.back().failed = true;
        return done({Status::unavailable("injected failure"), AppendFailure::kRefused, {}});
      }
    }
    store().put_messages_async(msgs, [this, n = msgs.size(), done = std::move(done)](
                                         Result<std::vector<commitlog::AppendResult>> r) {
      if (!r.is_ok()) return done({r.status(), AppendFailure::kNone, {}});
      done({Status::ok(), AppendFailure::kNone, std::move(r).value()});
      std::lock_guard lock(mu_);
      delivered_ += n;
      cv_.notify_all();
    });
  }

 private:
  ConsumerOffsetManager& offsets_;
  std::mutex mu_;
  std::condition_variable cv_;
  int fail_next_ = 0;
  size_t delivered_ = 0;
  std::vector<Append> appends_;
};

class ScheduleMessageServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_.config.store = comet::testing::small_config(dir_.path(), 4 << 20);
    ctx_.config.message_delay_levels_ms = {kDelayMs};
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
      if (e.group != kScheduleGroup) return;
      std::lock_guard lock(progress_mu_);
      progress_ = e.offset;
      progress_cv_.notify_all();
    });
    ctx_.io = &io_;
    ctx_.store = store_.get();
    ctx_.offsets = offsets_.get();
    ctx_.topics = topics_.get();
    replication_ = std::make_unique<FlakyReplication>(*store_, *offsets_);
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

  // `n` messages sent with DELAY=1, as SendMessageProcessor stores them.
  void put_delayed(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const std::string body = "m-" + std::to_string(i);
      const std::string delay = encode_properties({{"DELAY", "1"}});
      Message m = comet::testing::make_message(kRealTopic, 0, body, delay);
      std::string storage;
      ASSERT_EQ(to_schedule_topic(m, 1, storage), 1u);
      ASSERT_TRUE(store_->put_message(m).is_ok());
    }
  }

  // The level's committed progress once it reached `n`, or what it is after `timeout`.
  uint64_t wait_for_progress(uint64_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(progress_mu_);
    progress_cv_.wait_for(lock, timeout, [&] { return progress_ >= n; });
    return progress_;
  }

  // The bodies queue 0 of the real topic holds, in order.
  std::vector<std::string> real_bodies() {
    EXPECT_TRUE(store_->dispatched().wait(store_->commit_log().max_offset(), 10s).is_ok());
    std::vector<std::string> out;
    for (uint64_t offset = 0; out.size() < 10000;) {
      auto g = store_->get_messages(kRealTopic, 0, offset, 256, 16 << 20);
      if (g.status != commitlog::GetStatus::kFound) break;
      for (const auto& v : g.messages)
        out.emplace_back(record::decode(v.data, v.size).record.body);
      offset = g.next_begin_offset;
    }
    return out;
  }

  comet::testing::TempDir dir_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  BrokerContext ctx_;
  std::unique_ptr<commitlog::MessageStore> store_;
  std::unique_ptr<MetadataStore> meta_;
  std::unique_ptr<TopicConfigManager> topics_;
  std::unique_ptr<ConsumerOffsetManager> offsets_;
  std::unique_ptr<FlakyReplication> replication_;
  std::unique_ptr<ScheduleMessageService> service_;
  std::thread io_thread_;
  std::mutex progress_mu_;
  std::condition_variable progress_cv_;
  uint64_t progress_ = 0;
};

TEST_F(ScheduleMessageServiceTest, AFailedDeliveryIsRetriedAfterASecondAndNothingIsLostOrDoubled) {
  constexpr size_t kMessages = 300;  // more than one batch
  ASSERT_NO_FATAL_FAILURE(put_delayed(kMessages));
  replication_->fail_next(1);
  service_ = std::make_unique<ScheduleMessageService>(ctx_, *replication_);
  service_->start();

  const auto appends = replication_->wait_for_delivered(kMessages, 15s);
  ASSERT_GE(appends.size(), 3u);
  ASSERT_TRUE(appends[0].failed);
  EXPECT_FALSE(appends[0].progress.has_value()) << "progress committed before a delivery";
  // The retry comes a second later, from the same first message: nothing moved the progress.
  EXPECT_FALSE(appends[1].failed);
  EXPECT_GE(appends[1].at - appends[0].at, 950ms);
  EXPECT_FALSE(appends[1].progress.has_value()) << "a failed append committed progress";
  EXPECT_GE(appends[1].messages, appends[0].messages);  // and what fell due in the meantime
  size_t delivered = 0;
  for (size_t i = 1; i < appends.size(); ++i) {
    EXPECT_FALSE(appends[i].failed);
    EXPECT_LE(appends[i].messages, ScheduleMessageService::kMaxBatch);
    // Each append starts where the last one's committed progress says.
    EXPECT_EQ(appends[i].progress.value_or(0), delivered) << "append " << i;
    delivered += appends[i].messages;
  }
  EXPECT_EQ(delivered, kMessages);
  EXPECT_GT(appends[1].messages, 32u) << "the due backlog goes in one large batch";

  const auto bodies = real_bodies();
  ASSERT_EQ(bodies.size(), kMessages) << "lost or delivered twice";
  for (size_t i = 0; i < kMessages; ++i)
    ASSERT_EQ(bodies[i], "m-" + std::to_string(i)) << "out of order at " << i;
  // The level's progress ends past the last message once the last completion is committed.
  EXPECT_EQ(wait_for_progress(kMessages, 5s), kMessages);
}

// The real topic had no config on this broker (created by a master that failed before the
// metadata log carried it): delivery creates it, so what was delivered can be read.
TEST_F(ScheduleMessageServiceTest, DeliveryCreatesARealTopicThisBrokerHasNoConfigFor) {
  ASSERT_FALSE(topics_->find(kRealTopic).has_value());
  ASSERT_NO_FATAL_FAILURE(put_delayed(3));
  service_ = std::make_unique<ScheduleMessageService>(ctx_, *replication_);
  service_->start();
  ASSERT_FALSE(replication_->wait_for_delivered(3, 15s).empty());
  const auto created = topics_->find(kRealTopic);
  ASSERT_TRUE(created.has_value());
  EXPECT_TRUE(created->perm & kPermRead);
  EXPECT_GE(created->read_queue_nums, 1u);
}

}  // namespace
}  // namespace comet::broker
