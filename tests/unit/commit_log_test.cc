#include "commitlog/commit_log.h"

#include <condition_variable>
#include <map>
#include <mutex>
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

std::unique_ptr<MessageStore> open_store(const StoreConfig& c) {
  auto s = MessageStore::open(c);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return s.is_ok() ? std::move(s).value() : nullptr;
}

// Walks the whole CommitLog with read(), returning every record's body in log order.
std::vector<std::string> walk_bodies(const CommitLog& log, size_t* blanks = nullptr) {
  std::vector<std::string> out;
  uint64_t off = log.min_offset();
  while (off < log.max_offset()) {
    auto v = log.read(off, UINT32_MAX);
    EXPECT_TRUE(v.is_ok()) << v.status().to_string();
    if (!v.is_ok()) break;
    uint64_t pos = 0;
    while (pos < v->size) {
      auto d = record::decode(v->data + pos, v->size - pos);
      if (d.outcome == record::Outcome::kBlank) {
        if (blanks) ++*blanks;
      } else {
        EXPECT_EQ(d.outcome, record::Outcome::kRecord) << "at " << off + pos << " " << d.reason;
        if (d.outcome != record::Outcome::kRecord) return out;
        EXPECT_EQ(d.record.physical_offset, off + pos);
        out.emplace_back(d.record.body);
      }
      pos += d.size;
    }
    off += v->size;
  }
  return out;
}

TEST(CommitLog, AppendsAndReadsAcrossSegmentBoundaries) {
  TempDir dir;
  auto store = open_store(small_config(dir.path(), 4096));
  ASSERT_TRUE(store);
  std::vector<std::string> sent;
  uint64_t expected_offset = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    sent.push_back(body_for("T", 0, i, 50 + (i * 37) % 700));
    auto r = store->put_message(make_message("T", 0, sent.back()));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->queue_offset, i);
    EXPECT_GE(r->physical_offset, expected_offset);
    // A record never straddles a segment.
    EXPECT_EQ(r->physical_offset / 4096, (r->end_offset() - 1) / 4096) << "record " << i;
    expected_offset = r->end_offset();
  }
  EXPECT_GT(store->commit_log().segment_count(), 10u);
  size_t blanks = 0;
  EXPECT_EQ(walk_bodies(store->commit_log(), &blanks), sent);
  EXPECT_GT(blanks, 0u);

  ASSERT_TRUE(
      store->dispatched().wait(store->commit_log().max_offset(), std::chrono::seconds(10)).is_ok());
  for (uint64_t i = 0; i < sent.size(); i += 17) {
    auto g = store->get_messages("T", 0, i, 1, 1 << 20);
    ASSERT_EQ(g.status, GetStatus::kFound) << get_status_name(g.status);
    auto d = record::decode(g.messages[0].data, g.messages[0].size);
    ASSERT_EQ(d.outcome, record::Outcome::kRecord);
    EXPECT_EQ(d.record.body, sent[i]);
    EXPECT_EQ(d.record.queue_offset, i);
  }
}

TEST(CommitLog, BatchLandsContiguouslyInOneSegment) {
  TempDir dir;
  auto store = open_store(small_config(dir.path(), 4096));
  ASSERT_TRUE(store);
  std::vector<std::string> bodies;
  for (int i = 0; i < 40; ++i)
    bodies.push_back(body_for("B", 1, i, 90));
  for (int round = 0; round < 10; ++round) {
    std::vector<Message> batch;
    for (int i = 0; i < 8; ++i)
      batch.push_back(make_message("B", 1, bodies[(round * 8 + i) % 40]));
    auto r = store->put_messages(batch);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->size(), 8u);
    for (size_t i = 1; i < r->size(); ++i) {
      EXPECT_EQ((*r)[i].physical_offset, (*r)[i - 1].end_offset());
      EXPECT_EQ((*r)[i].queue_offset, (*r)[i - 1].queue_offset + 1);
    }
    EXPECT_EQ(r->front().physical_offset / 4096, (r->back().end_offset() - 1) / 4096);
  }
  EXPECT_EQ(walk_bodies(store->commit_log()).size(), 80u);
}

TEST(CommitLog, OversizedMessagesAndBatchesAreRejectedWithoutWriting) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 4096);
  cfg.max_message_size = 1000;
  auto store = open_store(cfg);
  ASSERT_TRUE(store);
  std::string big(1001, 'x');
  auto r = store->put_message(make_message("T", 0, big));
  EXPECT_EQ(r.status().code(), Code::kMessageTooLarge);
  std::string ok(900, 'y');
  std::vector<Message> batch(5, make_message("T", 0, ok));  // 5 * ~1 KiB > one 4 KiB segment
  auto b = store->put_messages(batch);
  EXPECT_EQ(b.status().code(), Code::kMessageTooLarge);
  EXPECT_EQ(store->put_message(make_message("bad topic", 0, ok)).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(store->commit_log().max_offset(), 0u);
  auto good = store->put_message(make_message("T", 0, ok));
  ASSERT_TRUE(good.is_ok());
  EXPECT_EQ(good->queue_offset, 0u);
}

TEST(CommitLog, GetMessagesReportsOffsetsAndFiltersTags) {
  TempDir dir;
  auto store = open_store(small_config(dir.path(), 8192));
  ASSERT_TRUE(store);
  std::string tag_a = encode_properties({{"TAGS", "A"}});
  std::string tag_b = encode_properties({{"TAGS", "B"}});
  for (int i = 0; i < 20; ++i) {
    std::string body = body_for("F", 2, i);
    ASSERT_TRUE(store->put_message(make_message("F", 2, body, i % 2 ? tag_b : tag_a)).is_ok());
  }
  ASSERT_TRUE(
      store->dispatched().wait(store->commit_log().max_offset(), std::chrono::seconds(10)).is_ok());
  EXPECT_EQ(store->get_messages("F", 9, 0, 10, 1 << 20).status, GetStatus::kNoMatchedLogicQueue);
  EXPECT_EQ(store->get_messages("Nope", 0, 0, 10, 1 << 20).status, GetStatus::kNoMatchedLogicQueue);
  auto over_one = store->get_messages("F", 2, 20, 10, 1 << 20);
  EXPECT_EQ(over_one.status, GetStatus::kOffsetOverflowOne);
  EXPECT_EQ(over_one.max_offset, 20u);
  auto over_badly = store->get_messages("F", 2, 25, 10, 1 << 20);
  EXPECT_EQ(over_badly.status, GetStatus::kOffsetOverflowBadly);
  EXPECT_EQ(over_badly.next_begin_offset, 20u);

  auto page = store->get_messages("F", 2, 5, 4, 1 << 20);
  ASSERT_EQ(page.status, GetStatus::kFound);
  EXPECT_EQ(page.messages.size(), 4u);
  EXPECT_EQ(page.next_begin_offset, 9u);

  uint64_t b_hash = tag_hash("B");
  auto only_b = store->get_messages("F", 2, 0, 100, 1 << 20, std::span(&b_hash, 1));
  ASSERT_EQ(only_b.status, GetStatus::kFound);
  ASSERT_EQ(only_b.messages.size(), 10u);
  for (const auto& v : only_b.messages) {
    auto d = record::decode(v.data, v.size);
    EXPECT_EQ(find_property(d.record.properties, kPropertyTags), "B");
  }
  EXPECT_EQ(only_b.next_begin_offset, 20u);

  auto small_bytes = store->get_messages("F", 2, 0, 100, 1);  // at least one, then stop
  EXPECT_EQ(small_bytes.messages.size(), 1u);
}

TEST(CommitLog, ArrivalListenerIsToldAfterDispatch) {
  TempDir dir;
  auto store = open_store(small_config(dir.path()));
  ASSERT_TRUE(store);
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint32_t, uint64_t> seen;
  store->add_arrival_listener([&](std::string_view topic, uint32_t q, uint64_t max) {
    EXPECT_EQ(topic, "L");
    std::lock_guard lock(mu);
    seen[q] = std::max(seen[q], max);
    cv.notify_all();
  });
  std::string body = "hello";
  for (uint32_t q = 0; q < 3; ++q) {
    for (int i = 0; i <= static_cast<int>(q); ++i) {
      ASSERT_TRUE(store->put_message(make_message("L", q, body)).is_ok());
    }
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] {
    return seen.size() == 3 && seen[0] == 1 && seen[1] == 2 && seen[2] == 3;
  }));
}

TEST(CommitLog, SyncFlushAcksOnlyDurableRecords) {
  TempDir dir;
  auto store = open_store(small_config(dir.path(), 65536, FlushDiskType::kSyncFlush));
  ASSERT_TRUE(store);
  std::vector<std::thread> writers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string body = body_for("S", t, i);
        auto r = store->put_message(make_message("S", t, body));
        ASSERT_TRUE(r.is_ok()) << r.status().to_string();
        EXPECT_GE(store->commit_log().flushed().get(), r->end_offset());
        ++ok;
      }
    });
  }
  for (auto& w : writers)
    w.join();
  EXPECT_EQ(ok.load(), 400);

  std::mutex mu;
  std::condition_variable cv;
  int async_done = 0;
  for (int i = 0; i < 20; ++i) {
    std::string body = body_for("S", 0, 1000 + i);
    store->put_message_async(make_message("S", 0, body), [&](Result<AppendResult> r) {
      EXPECT_TRUE(r.is_ok());
      EXPECT_GE(store->commit_log().flushed().get(), r->end_offset());
      std::lock_guard lock(mu);
      ++async_done;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return async_done == 20; }));
}

}  // namespace
}  // namespace comet::commitlog
