// Concurrent appenders: every record in the log is valid and every queue's offsets are dense.
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "commitlog/message_store.h"
#include "test_util.h"

namespace comet::commitlog {
namespace {

using comet::testing::body_for;
using comet::testing::make_message;
using comet::testing::small_config;
using comet::testing::TempDir;

TEST(Concurrency, ParallelAppendersProduceAValidDenseLog) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 65536);
  auto opened = MessageStore::open(cfg);
  ASSERT_TRUE(opened.is_ok());
  MessageStore& store = **opened;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 3000;
  constexpr uint32_t kQueues = 8;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      int sent = 0;
      while (sent < kPerThread) {
        uint32_t q = rng() % kQueues;
        if (rng() % 4 == 0) {  // a batch of up to 8
          int n = std::min<int>(1 + rng() % 8, kPerThread - sent);
          std::vector<std::string> bodies;
          for (int i = 0; i < n; ++i)
            bodies.push_back(body_for("C" + std::to_string(t), q, sent + i, 64 + rng() % 500));
          std::vector<Message> batch;
          for (auto& b : bodies)
            batch.push_back(make_message("Conc", q, b));
          auto r = store.put_messages(batch);
          ASSERT_TRUE(r.is_ok()) << r.status().to_string();
          sent += n;
        } else {
          std::string body = body_for("C" + std::to_string(t), q, sent, 64 + rng() % 500);
          ASSERT_TRUE(store.put_message(make_message("Conc", q, body)).is_ok());
          ++sent;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();

  // Walk the raw log: every record valid, offsets as stored.
  const CommitLog& log = store.commit_log();
  std::map<uint32_t, std::vector<uint64_t>> queue_offsets;
  std::map<std::string, std::vector<int>> per_writer_seq;
  size_t records = 0;
  for (uint64_t off = log.min_offset(); off < log.max_offset();) {
    auto v = log.read(off, UINT32_MAX);
    ASSERT_TRUE(v.is_ok());
    for (uint64_t pos = 0; pos < v->size;) {
      auto d = record::decode(v->data + pos, v->size - pos, /*verify_crc=*/true);
      ASSERT_NE(d.outcome, record::Outcome::kCorrupt) << d.reason << " at " << off + pos;
      ASSERT_NE(d.outcome, record::Outcome::kEnd);
      if (d.outcome == record::Outcome::kRecord) {
        ++records;
        EXPECT_EQ(d.record.physical_offset, off + pos);
        queue_offsets[d.record.queue_id].push_back(d.record.queue_offset);
      }
      pos += d.size;
    }
    off += v->size;
  }
  EXPECT_EQ(records, size_t{kThreads} * kPerThread);
  for (auto& [q, offs] : queue_offsets) {
    for (size_t i = 0; i < offs.size(); ++i) {
      ASSERT_EQ(offs[i], i) << "queue " << q << " is not dense in log order";
    }
  }
  // The index agrees with the log.
  ASSERT_TRUE(store.dispatched().wait(log.max_offset(), std::chrono::seconds(10)).is_ok());
  for (auto& [q, offs] : queue_offsets) {
    EXPECT_EQ(store.max_queue_offset("Conc", q), offs.size());
    auto g = store.get_messages("Conc", q, 0, 100000, 1ull << 40);
    ASSERT_EQ(g.messages.size(), offs.size());
    for (size_t i = 0; i < g.messages.size(); ++i) {
      auto d = record::decode(g.messages[i].data, g.messages[i].size);
      ASSERT_EQ(d.outcome, record::Outcome::kRecord);
      EXPECT_EQ(d.record.queue_offset, i);
    }
  }
}

// A reader that long-polls (waits for the arrival listener) sees every record whole and in
// order while a writer appends.
TEST(Concurrency, ReadersSeeOnlyWholeRecordsWhileWritersAppend) {
  TempDir dir;
  auto opened = MessageStore::open(small_config(dir.path(), 16384));
  ASSERT_TRUE(opened.is_ok());
  MessageStore& store = **opened;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t indexed = 0;
  store.add_arrival_listener([&](std::string_view, uint32_t, uint64_t max) {
    std::lock_guard lock(mu);
    indexed = std::max(indexed, max);
    cv.notify_all();
  });
  constexpr uint64_t kTotal = 5000;
  std::thread writer([&] {
    for (uint64_t i = 0; i < kTotal; ++i) {
      std::string body = body_for("RW", 0, i, 200);
      ASSERT_TRUE(store.put_message(make_message("RW", 0, body)).is_ok());
    }
  });
  uint64_t next = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (next < kTotal) {
    {
      std::unique_lock lock(mu);
      if (!cv.wait_until(lock, deadline, [&] { return indexed > next; })) break;
    }
    auto g = store.get_messages("RW", 0, next, 64, 1 << 20);
    ASSERT_EQ(g.status, GetStatus::kFound) << get_status_name(g.status);
    for (const auto& v : g.messages) {
      auto d = record::decode(v.data, v.size, /*verify_crc=*/true);
      ASSERT_EQ(d.outcome, record::Outcome::kRecord);
      ASSERT_EQ(d.record.queue_offset, next);
      ASSERT_EQ(d.record.body, body_for("RW", 0, next, 200));
      ++next;
    }
  }
  writer.join();
  EXPECT_EQ(next, kTotal);
}

}  // namespace
}  // namespace comet::commitlog
