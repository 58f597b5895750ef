#include "remoting/accept_backoff.h"

#include <cerrno>

#include <gtest/gtest.h>

#include <asio.hpp>

namespace comet::remoting {
namespace {

using namespace std::chrono_literals;
using Clock = AcceptBackoff::Clock;

const std::error_code kEmfile(EMFILE, std::system_category());
const std::error_code kReset(ECONNABORTED, std::system_category());

TEST(AcceptBackoff, OutOfDescriptorsWaitsDoublingUpToASecond) {
  AcceptBackoff b;
  const auto t0 = Clock::now();
  std::vector<int64_t> waits;
  for (int i = 0; i < 12; ++i)
    waits.push_back(b.on_failure(kEmfile, t0).wait.count());
  EXPECT_EQ(waits,
            (std::vector<int64_t>{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000}));
}

TEST(AcceptBackoff, ASuccessStartsTheWaitAfresh) {
  AcceptBackoff b;
  const auto t0 = Clock::now();
  b.on_failure(kEmfile, t0);
  b.on_failure(kEmfile, t0);
  b.on_success();
  EXPECT_EQ(b.on_failure(kEmfile, t0).wait, AcceptBackoff::kFirstWait);
}

TEST(AcceptBackoff, APeerThatResetIsRetriedAtOnce) {
  AcceptBackoff b;
  EXPECT_EQ(b.on_failure(kReset, Clock::now()).wait.count(), 0);
  EXPECT_FALSE(AcceptBackoff::out_of_resources(kReset));
  for (int e : {EMFILE, ENFILE, ENOBUFS, ENOMEM})
    EXPECT_TRUE(AcceptBackoff::out_of_resources(std::error_code(e, std::system_category())));
}

// What asio::ip::tcp::acceptor reports: errno values in Asio's own category.
TEST(AcceptBackoff, KnowsAsiosOwnCategory) {
  EXPECT_TRUE(AcceptBackoff::out_of_resources(asio::error::no_descriptors));
  EXPECT_TRUE(AcceptBackoff::out_of_resources(asio::error::no_memory));
  EXPECT_FALSE(AcceptBackoff::out_of_resources(asio::error::connection_aborted));
}

TEST(AcceptBackoff, LogsAtMostOnceASecondCountingWhatItSkipped) {
  AcceptBackoff b;
  const auto t0 = Clock::now();
  auto first = b.on_failure(kEmfile, t0);
  EXPECT_TRUE(first.log);
  EXPECT_EQ(first.failures, 1u);
  for (int i = 1; i <= 9; ++i)
    EXPECT_FALSE(b.on_failure(kEmfile, t0 + i * 100ms).log);
  auto next = b.on_failure(kEmfile, t0 + 1000ms);
  EXPECT_TRUE(next.log);
  EXPECT_EQ(next.failures, 10u);  // the nine skipped and this one
}

}  // namespace
}  // namespace comet::remoting
