// PullRequestHoldService on one io_context driven by the test: an arrival wakes the pulls of its
// queue only, costs no post when nobody waits on the queue, and a pull whose queue moved while
// it was on its way, or whose suspend time ran out, is retried exactly once.
#include "broker/pull_request_hold_service.h"

#include <map>
#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace comet::broker {
namespace {

using namespace std::chrono_literals;

class PullRequestHoldServiceTest : public ::testing::Test {
 protected:
  // Holds a pull of (topic, queue) at `offset`; returns the counter its retries bump.
  int& hold(const std::string& topic, uint32_t queue, uint64_t offset,
            std::chrono::milliseconds timeout = 60s) {
    int& retries = retries_[{topic, queue}];
    holds_.hold(topic, queue, offset, timeout, [&retries] { ++retries; });
    return retries;
  }
  // A message on (topic, queue): the dispatcher indexes it, then tells the service.
  void arrive(const std::string& topic, uint32_t queue) {
    const uint64_t max = ++max_offsets_[{topic, queue}];
    holds_.notify_arrival(topic, queue, max);
  }

  asio::io_context io_;
  // poll() with nothing to do would stop the context, and every later poll() with it.
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::map<std::pair<std::string, uint32_t>, uint64_t> max_offsets_;
  std::map<std::pair<std::string, uint32_t>, int> retries_;
  PullRequestHoldService holds_{io_, [this](std::string_view topic, uint32_t queue) {
                                  auto it = max_offsets_.find({std::string(topic), queue});
                                  return it == max_offsets_.end() ? uint64_t{0} : it->second;
                                }};
};

TEST_F(PullRequestHoldServiceTest, AnArrivalWakesOnlyThePullsOfItsQueue) {
  int& a = hold("A", 0, 0);
  int& b = hold("B", 0, 0);
  io_.poll();
  EXPECT_EQ(holds_.held(), 2u);
  arrive("A", 0);
  io_.poll();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0);
  EXPECT_EQ(holds_.held(), 1u);
}

TEST_F(PullRequestHoldServiceTest, AnArrivalWhereNobodyWaitsPostsNothing) {
  int& a = hold("A", 0, 0);
  io_.poll();
  arrive("A", 1);  // another queue of the same topic
  arrive("B", 0);
  EXPECT_EQ(io_.poll(), 0u) << "no handler: the arrivals were not posted";
  arrive("A", 0);
  io_.poll();
  EXPECT_EQ(a, 1);
  arrive("A", 0);  // its pull was answered: nobody waits there any more
  EXPECT_EQ(io_.poll(), 0u);
}

TEST_F(PullRequestHoldServiceTest, APullWhoseQueueMovedOnItsWayIsAnsweredAtOnce) {
  arrive("A", 0);  // max offset 1, before the pull at offset 0 reaches the service
  io_.poll();
  int& a = hold("A", 0, 0);
  io_.poll();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(holds_.held(), 0u);
  arrive("A", 0);
  EXPECT_EQ(io_.poll(), 0u) << "the answered pull left no watch behind";
}

TEST_F(PullRequestHoldServiceTest, ASuspendTimeThatRunsOutRetriesOnce) {
  int& a = hold("A", 0, 0, 1ms);
  for (int handlers = 0; handlers < 10 && a == 0; ++handlers)
    io_.run_one_for(5s);  // the timer's completion, on the strand
  EXPECT_EQ(a, 1);
  EXPECT_EQ(holds_.held(), 0u);
  arrive("A", 0);
  EXPECT_EQ(io_.poll(), 0u);
  EXPECT_EQ(a, 1);
}

TEST_F(PullRequestHoldServiceTest, ShutdownRetriesEveryHeldPull) {
  int& a = hold("A", 0, 0);
  int& b = hold("B", 7, 3);
  io_.poll();
  holds_.wake_all();
  io_.poll();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(holds_.held(), 0u);
}

}  // namespace
}  // namespace comet::broker
