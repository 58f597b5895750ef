#include "commitlog/watermark.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace comet::commitlog {
namespace {

TEST(Watermark, CompletesWaitersAtOrBelowTheMarkInOrder) {
  Watermark w(10);
  std::vector<uint64_t> done;
  w.on_reach(30, [&](Status s) {
    EXPECT_TRUE(s.is_ok());
    done.push_back(30);
  });
  w.on_reach(20, [&](Status s) {
    EXPECT_TRUE(s.is_ok());
    done.push_back(20);
  });
  w.on_reach(5, [&](Status) { done.push_back(5); });  // already reached: runs at once
  EXPECT_EQ(done, std::vector<uint64_t>({5}));
  EXPECT_EQ(w.pending(), 2u);
  EXPECT_EQ(w.lowest_waiting(), 20u);
  w.advance(25);
  EXPECT_EQ(done, std::vector<uint64_t>({5, 20}));
  w.advance(24);  // never moves back
  EXPECT_EQ(w.get(), 25u);
  w.advance(30);
  EXPECT_EQ(done, std::vector<uint64_t>({5, 20, 30}));
  EXPECT_EQ(w.pending(), 0u);
}

TEST(Watermark, StickyFailureFailsPendingAndLaterWaiters) {
  Watermark w;
  Status first, later;
  w.on_reach(10, [&](Status s) { first = s; });
  w.fail_all(Status::io_error("disk gone"), /*sticky=*/true);
  EXPECT_EQ(first.code(), Code::kIOError);
  w.on_reach(20, [&](Status s) { later = s; });
  EXPECT_EQ(later.code(), Code::kIOError);
}

TEST(Watermark, BlockingWaitReturnsOnAdvanceFromAnotherThread) {
  Watermark w;
  std::thread t([&] { w.advance(100); });
  EXPECT_TRUE(w.wait(100, std::chrono::milliseconds(5000)).is_ok());
  t.join();
}

TEST(Watermark, BlockingWaitTimesOut) {
  Watermark w;
  EXPECT_EQ(w.wait(1, std::chrono::milliseconds(20)).code(), Code::kTimeout);
}

TEST(Watermark, HookRunsWhenAWaiterIsAdded) {
  Watermark w;
  int hooked = 0;
  w.set_waiter_added_hook([&] { ++hooked; });
  w.on_reach(0, [](Status) {});  // satisfied at once: no hook
  EXPECT_EQ(hooked, 0);
  w.on_reach(5, [](Status) {});
  EXPECT_EQ(hooked, 1);
}

}  // namespace
}  // namespace comet::commitlog
