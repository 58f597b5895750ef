// MessageStore::delete_topic: the topic's ConsumeQueues and files go, other topics stay, a
// topic created again under the name starts empty at queue offset 0, and records appended
// while the deletion runs land on the right side of it.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "commitlog/message_store.h"
#include "test_util.h"

namespace comet::commitlog {
namespace {

namespace fs = std::filesystem;
using comet::testing::make_message;
using comet::testing::small_config;
using comet::testing::TempDir;
using namespace std::chrono_literals;

std::string body_at(const GetResult& g, size_t i) {
  auto d = record::decode(g.messages[i].data, g.messages[i].size);
  return std::string(d.record.body);
}

TEST(TopicDeletion, RemovesOnlyThatTopicAndARecreatedTopicStartsAtZero) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 1 << 16);
  {
    auto opened = MessageStore::open(cfg);
    ASSERT_TRUE(opened.is_ok());
    MessageStore& store = **opened;
    for (uint32_t q = 0; q < 2; ++q)
      for (int i = 0; i < 10; ++i)
        ASSERT_TRUE(store.put_message(make_message("Gone", q, "old-" + std::to_string(i))).is_ok());
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(store.put_message(make_message("Kept", 0, "kept-" + std::to_string(i))).is_ok());
    ASSERT_TRUE(store.dispatched().wait(store.commit_log().max_offset(), 10s).is_ok());
    ASSERT_TRUE(store.flush_consume_queues().is_ok());  // the files are written at a flush
    ASSERT_TRUE(fs::exists(cfg.consume_queue_dir() + "/Gone/1"));

    ASSERT_TRUE(store.delete_topic("Gone", 10s).is_ok());
    EXPECT_FALSE(fs::exists(cfg.consume_queue_dir() + "/Gone"));
    EXPECT_EQ(store.max_queue_offset("Gone", 0), 0u);
    EXPECT_EQ(store.get_messages("Gone", 1, 0, 32, 1 << 20).status,
              GetStatus::kNoMatchedLogicQueue);
    auto kept = store.get_messages("Kept", 0, 0, 32, 1 << 20);
    ASSERT_EQ(kept.status, GetStatus::kFound);
    EXPECT_EQ(kept.messages.size(), 5u);

    auto r = store.put_message(make_message("Gone", 0, "new-0"));
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r->queue_offset, 0u);
    ASSERT_TRUE(store.dispatched().wait(store.commit_log().max_offset(), 10s).is_ok());
    auto fresh = store.get_messages("Gone", 0, 0, 32, 1 << 20);
    ASSERT_EQ(fresh.status, GetStatus::kFound);
    ASSERT_EQ(fresh.messages.size(), 1u);
    EXPECT_EQ(body_at(fresh, 0), "new-0");
    ASSERT_TRUE(store.shutdown().is_ok());
  }
  // A restart keeps the deletion: the old records are still in the CommitLog but indexed no more.
  auto again = MessageStore::open(cfg);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ((*again)->max_queue_offset("Gone", 0), 1u);
  EXPECT_EQ((*again)->max_queue_offset("Gone", 1), 0u);
  EXPECT_EQ((*again)->max_queue_offset("Kept", 0), 5u);
}

TEST(TopicDeletion, AppendsRacingTheDeletionLandOnOneSideOfIt) {
  TempDir dir;
  auto opened = MessageStore::open(small_config(dir.path(), 1 << 16));
  ASSERT_TRUE(opened.is_ok());
  MessageStore& store = **opened;
  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::promise<void> busy;
  std::thread writer([&] {
    for (int i = 0; i < 20000 && !stop.load(); ++i) {
      auto r = store.put_message(make_message("Busy", 0, "m-" + std::to_string(i)));
      ASSERT_TRUE(r.is_ok());
      if (appended.fetch_add(1) + 1 == 200) busy.set_value();
    }
  });
  // Delete while the writer is busy; however the race falls, the queue left afterwards must be
  // dense from 0 and hold the newest records only, in order.
  ASSERT_EQ(busy.get_future().wait_for(10s), std::future_status::ready);
  Status s = store.delete_topic("Busy", 10s);
  stop.store(true);
  writer.join();
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  ASSERT_TRUE(store.dispatched().wait(store.commit_log().max_offset(), 10s).is_ok());
  const uint64_t max = store.max_queue_offset("Busy", 0);
  EXPECT_EQ(store.min_queue_offset("Busy", 0), 0u);
  EXPECT_LT(max, static_cast<uint64_t>(appended.load()));
  std::printf("racing deletion: %d appended, %llu after the cut\n", appended.load(),
              static_cast<unsigned long long>(max));
  int last = -1;
  for (uint64_t off = 0; off < max;) {
    auto g = store.get_messages("Busy", 0, off, 256, 1 << 24);
    ASSERT_EQ(g.status, GetStatus::kFound) << off;
    for (size_t i = 0; i < g.messages.size(); ++i) {
      auto d = record::decode(g.messages[i].data, g.messages[i].size);
      EXPECT_EQ(d.record.queue_offset, off + i);
      const int seq = std::stoi(std::string(d.record.body.substr(2)));
      if (last >= 0) {
        EXPECT_EQ(seq, last + 1) << "gap or reorder at offset " << off + i;
      }
      last = seq;
    }
    off = g.next_begin_offset;
  }
  // The surviving records are exactly the last `max` ones appended.
  if (max > 0) {
    EXPECT_EQ(last, appended.load() - 1);
  }
}

TEST(TopicDeletion, AStoppedStoreRefusesTheDeletion) {
  TempDir dir;
  auto opened = MessageStore::open(small_config(dir.path(), 1 << 16));
  ASSERT_TRUE(opened.is_ok());
  ASSERT_TRUE((*opened)->shutdown().is_ok());
  Status s = (*opened)->delete_topic("Any", 5s);
  EXPECT_FALSE(s.is_ok());
}

}  // namespace
}  // namespace comet::commitlog
