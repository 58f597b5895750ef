#include "broker/send_deadlines.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace comet::broker {
namespace {

using namespace std::chrono_literals;
using Clock = SendDeadlines::Clock;

// Records the order of expiries; `done` marks a send that answered before its deadline.
struct Log {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> expired;
  std::vector<Clock::time_point> at;

  bool wait_for_count(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return expired.size() >= n; });
  }
};

class FakeSend : public Expirable {
 public:
  FakeSend(std::string name, Log& log) : name_(std::move(name)), log_(log) {}
  bool finished() const override { return done_.load(); }
  void expire() override {
    std::lock_guard lock(log_.mu);
    log_.expired.push_back(name_);
    log_.at.push_back(Clock::now());
    log_.cv.notify_all();
  }
  void answer() { done_ = true; }

 private:
  std::string name_;
  Log& log_;
  std::atomic<bool> done_{false};
};

class SendDeadlinesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::thread thread_;
};

TEST_F(SendDeadlinesTest, WaitingSendsExpireInOrderAtTheirDeadlinesAndAnsweredOnesNever) {
  Log log;
  SendDeadlines deadlines(io_);
  auto a = std::make_shared<FakeSend>("a", log);
  auto b = std::make_shared<FakeSend>("b", log);
  auto c = std::make_shared<FakeSend>("c", log);
  const auto start = Clock::now();
  deadlines.add(start + 40ms, a);
  deadlines.add(start + 60ms, b);
  deadlines.add(start + 80ms, c);
  b->answer();
  ASSERT_TRUE(log.wait_for_count(2, 5s));
  std::lock_guard lock(log.mu);
  EXPECT_EQ(log.expired, (std::vector<std::string>{"a", "c"}));
  EXPECT_GE(log.at[0], start + 40ms);
  EXPECT_GE(log.at[1], start + 80ms);
}

TEST_F(SendDeadlinesTest, AnsweredSendsLeaveTheQueueAsLaterOnesArrive) {
  Log log;
  SendDeadlines deadlines(io_);
  const auto deadline = Clock::now() + 1h;
  for (int i = 0; i < 10000; ++i) {
    auto s = std::make_shared<FakeSend>(std::to_string(i), log);
    deadlines.add(deadline, s);
    s->answer();
  }
  // At most the last one, answered after it was added, is still held.
  EXPECT_LE(deadlines.size(), 1u);
  // One send still waiting holds everything behind it (they leave once it answers).
  auto stuck = std::make_shared<FakeSend>("stuck", log);
  deadlines.add(deadline, stuck);
  for (int i = 0; i < 100; ++i) {
    auto s = std::make_shared<FakeSend>(std::to_string(i), log);
    deadlines.add(deadline, s);
    s->answer();
  }
  EXPECT_EQ(deadlines.size(), 101u);
  stuck->answer();
  deadlines.add(deadline, std::make_shared<FakeSend>("last", log));
  EXPECT_EQ(deadlines.size(), 1u);
  std::lock_guard lock(log.mu);
  EXPECT_TRUE(log.expired.empty());
}

TEST_F(SendDeadlinesTest, ALaterSendIsTimedAfterTheEarlierOnesExpired) {
  Log log;
  SendDeadlines deadlines(io_);
  deadlines.add(Clock::now() + 10ms, std::make_shared<FakeSend>("first", log));
  ASSERT_TRUE(log.wait_for_count(1, 5s));
  // The timer went idle with the queue empty; a new send must arm it again.
  const auto start = Clock::now();
  deadlines.add(start + 30ms, std::make_shared<FakeSend>("second", log));
  ASSERT_TRUE(log.wait_for_count(2, 5s));
  std::lock_guard lock(log.mu);
  EXPECT_EQ(log.expired.back(), "second");
  EXPECT_GE(log.at.back(), start + 30ms);
}

TEST_F(SendDeadlinesTest, DestroyedWithSendsWaitingExpiresNoneOfThem) {
  Log log;
  {
    SendDeadlines deadlines(io_);
    deadlines.add(Clock::now() + 30ms, std::make_shared<FakeSend>("dropped", log));
  }
  // The timer's wait still ends on the running io_context; it must find nothing to expire.
  std::unique_lock lock(log.mu);
  EXPECT_FALSE(log.cv.wait_for(lock, 200ms, [&] { return !log.expired.empty(); }));
}

}  // namespace
}  // namespace comet::broker
