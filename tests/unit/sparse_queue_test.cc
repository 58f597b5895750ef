// What a ConsumeQueue costs: disk blocks for the units it holds, not its segment size; no
// descriptor kept open; mappings only through the store's bounded cache, and none for loading.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "commitlog/consume_queue.h"
#include "commitlog/mapping_cache.h"
#include "common/process_usage.h"
#include "test_util.h"

namespace comet::commitlog {
namespace {

namespace fs = std::filesystem;
using comet::testing::descriptors_under;
using comet::testing::mappings_under;
using comet::testing::TempDir;

constexpr uint64_t kRocketMqSegment = 300000 * 20;  // mappedFileSizeConsumeQueue's default

CqUnit unit_for(uint64_t queue, uint64_t i) {
  return {queue * 1000000 + i * 100, 100, queue};
}

TEST(SparseConsumeQueue, AFewUnitsTakeAFewBlocksNotTheSegment) {
  TempDir dir;
  const std::string file = dir.path() + "/00000000000000000000";
  {
    ConsumeQueue cq("T", 0, dir.path(), kRocketMqSegment);
    ASSERT_TRUE(cq.load().is_ok());
    for (uint64_t i = 0; i < 3; ++i)
      ASSERT_TRUE(cq.put(i, unit_for(0, i)).is_ok());
    EXPECT_FALSE(fs::exists(file));  // units wait in memory until the flush
    EXPECT_EQ(cq.get(2), unit_for(0, 2));
    EXPECT_TRUE(cq.needs_flush());
    ASSERT_TRUE(cq.flush().is_ok());
    EXPECT_FALSE(cq.needs_flush());
  }
  EXPECT_EQ(fs::file_size(file), kRocketMqSegment);  // the layout RocketMQ's tools expect
  EXPECT_LE(disk_bytes_under(file), 16u * 1024);
  ConsumeQueue cq("T", 0, dir.path(), kRocketMqSegment);
  ASSERT_TRUE(cq.load().is_ok());
  EXPECT_EQ(cq.max_offset(), 3u);
  EXPECT_EQ(cq.read(0, 10), (std::vector<CqUnit>{unit_for(0, 0), unit_for(0, 1), unit_for(0, 2)}));
  EXPECT_EQ(cq.max_physical_end(), unit_for(0, 2).physical_offset + 100);
}

TEST(SparseConsumeQueue, LoadingManyQueuesMapsNothingAndKeepsNoDescriptor) {
  TempDir dir;
  constexpr uint64_t kQueues = 200;
  for (uint64_t q = 0; q < kQueues; ++q) {
    ConsumeQueue cq("T", static_cast<uint32_t>(q), dir.path() + "/" + std::to_string(q),
                    kRocketMqSegment);
    for (uint64_t i = 0; i < 5; ++i)
      ASSERT_TRUE(cq.put(i, unit_for(q, i)).is_ok());
    ASSERT_TRUE(cq.flush(ConsumeQueue::Sync::kDeferred).is_ok());
  }
  MappingCache cache(16);
  std::vector<std::unique_ptr<ConsumeQueue>> loaded;
  for (uint64_t q = 0; q < kQueues; ++q) {
    loaded.push_back(std::make_unique<ConsumeQueue>("T", static_cast<uint32_t>(q),
                                                    dir.path() + "/" + std::to_string(q),
                                                    kRocketMqSegment, &cache));
    ASSERT_TRUE(loaded.back()->load().is_ok());
    ASSERT_TRUE(loaded.back()->truncate_by_physical(UINT64_MAX).is_ok());  // recovery's check
    loaded.back()->delete_expired(0);                                      // and retention's
    ASSERT_EQ(loaded.back()->max_offset(), 5u);
  }
  EXPECT_EQ(mappings_under(dir.path()), 0);
  EXPECT_EQ(descriptors_under(dir.path()), 0);
  EXPECT_LE(disk_bytes_under(dir.path()), kQueues * 16 * 1024);  // versus 1.2 GB allocated before
  // Reading maps through the cache, never more than its capacity.
  for (uint64_t q = 0; q < kQueues; ++q)
    ASSERT_EQ(loaded[q]->read(0, 10).size(), 5u);
  EXPECT_LE(mappings_under(dir.path()), 16);
  EXPECT_EQ(cache.stats().mapped, 16u);
  EXPECT_EQ(descriptors_under(dir.path()), 0);
}

// A dispatcher thread adds units to 64 queues and a flusher writes them out while four readers
// read every queue through a cache of 8 mappings: every unit a reader sees is the one written
// at that offset, whether it came from memory or a file, and the mappings stay bounded.
TEST(SparseConsumeQueue, ReadersSeeEveryUnitWhileUnitsMoveFromMemoryToFiles) {
  TempDir dir;
  constexpr uint64_t kQueues = 64;
  constexpr uint64_t kUnits = 600;  // three segments of 200 units each
  MappingCache cache(8);
  std::vector<std::unique_ptr<ConsumeQueue>> queues;
  for (uint64_t q = 0; q < kQueues; ++q) {
    queues.push_back(std::make_unique<ConsumeQueue>(
        "T", static_cast<uint32_t>(q), dir.path() + "/" + std::to_string(q), 200 * 20, &cache));
    ASSERT_TRUE(queues.back()->load().is_ok());
  }
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::thread dispatcher([&] {
    for (uint64_t i = 0; i < kUnits; ++i) {
      for (uint64_t q = 0; q < kQueues; ++q) {
        if (!queues[q]->put(i, unit_for(q, i)).is_ok()) wrong.fetch_add(1);
      }
    }
    done.store(true);
  });
  std::thread flusher([&] {
    for (int round = 0; round < 100000 && !done.load(); ++round) {
      for (auto& cq : queues) {
        if (!cq->flush(ConsumeQueue::Sync::kDeferred).is_ok()) wrong.fetch_add(1);
      }
    }
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (int round = 0; round < 100000 && !done.load(); ++round) {
        const uint64_t q = static_cast<uint64_t>(round * 7 + t) % kQueues;
        const uint64_t max = queues[q]->max_offset();
        const uint64_t from = max > 40 ? (static_cast<uint64_t>(round) * 13) % (max - 40) : 0;
        const auto units = queues[q]->read(from, 40);
        for (uint64_t k = 0; k < units.size(); ++k) {
          if (units[k] != unit_for(q, from + k)) wrong.fetch_add(1);
        }
      }
    });
  }
  dispatcher.join();
  flusher.join();
  for (auto& r : readers)
    r.join();
  EXPECT_EQ(wrong.load(), 0);
  for (uint64_t q = 0; q < kQueues; ++q) {
    ASSERT_TRUE(queues[q]->flush().is_ok());
    const auto units = queues[q]->read(0, kUnits);
    ASSERT_EQ(units.size(), kUnits);
    for (uint64_t i = 0; i < kUnits; ++i)
      ASSERT_EQ(units[i], unit_for(q, i)) << "queue " << q << " unit " << i;
  }
  EXPECT_LE(mappings_under(dir.path()), 8);
  EXPECT_EQ(descriptors_under(dir.path()), 0);
}

TEST(SparseConsumeQueue, TruncationPunchesTheCutOutOfTheFiles) {
  TempDir dir;
  ConsumeQueue cq("T", 0, dir.path(), 200 * 20);
  ASSERT_TRUE(cq.load().is_ok());
  for (uint64_t i = 0; i < 500; ++i)
    ASSERT_TRUE(cq.put(i, unit_for(0, i)).is_ok());
  ASSERT_TRUE(cq.flush().is_ok());
  EXPECT_EQ(cq.file_count(), 3u);
  // Cut inside the second file: the third goes, the second is zeroed from the cut.
  ASSERT_TRUE(cq.truncate_by_physical(unit_for(0, 250).physical_offset).is_ok());
  EXPECT_EQ(cq.max_offset(), 250u);
  EXPECT_EQ(cq.file_count(), 2u);
  ASSERT_TRUE(cq.put(250, unit_for(0, 250)).is_ok());
  ASSERT_TRUE(cq.flush().is_ok());
  ConsumeQueue again("T", 0, dir.path(), 200 * 20);
  ASSERT_TRUE(again.load().is_ok());
  EXPECT_EQ(again.max_offset(), 251u);
  EXPECT_EQ(again.get(250), unit_for(0, 250));
  // A cut of units still in memory touches no file.
  ASSERT_TRUE(again.put(251, unit_for(0, 251)).is_ok());
  ASSERT_TRUE(again.truncate_by_physical(unit_for(0, 251).physical_offset).is_ok());
  EXPECT_EQ(again.max_offset(), 251u);
  EXPECT_FALSE(again.get(251).has_value());
}

// Out of descriptors is the process's state, not a disk fault: the flush fails as unavailable
// (the store stays writable and retries), the units stay readable in memory, and the next flush
// with descriptors to spare writes them.
TEST(SparseConsumeQueue, AFlushOutOfDescriptorsFailsAsUnavailableAndTheNextOneWrites) {
  TempDir dir;
  ConsumeQueue cq("T", 0, dir.path(), 200 * 20);
  ASSERT_TRUE(cq.load().is_ok());
  for (uint64_t i = 0; i < 10; ++i)
    ASSERT_TRUE(cq.put(i, unit_for(0, i)).is_ok());
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  int highest = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd"))
    highest = std::max(highest, std::stoi(e.path().filename().string()));
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(highest) + 1;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  std::vector<int> fillers;  // every descriptor left below the limit
  for (int fd; fillers.size() < 4096 && (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
    fillers.push_back(fd);
  const Status failed = cq.flush();
  for (int fd : fillers)
    ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(failed.code(), Code::kUnavailable) << failed.to_string();
  EXPECT_TRUE(cq.needs_flush());
  EXPECT_EQ(cq.get(9), unit_for(0, 9));
  ASSERT_TRUE(cq.flush().is_ok());
  ConsumeQueue again("T", 0, dir.path(), 200 * 20);
  ASSERT_TRUE(again.load().is_ok());
  EXPECT_EQ(again.max_offset(), 10u);
}

}  // namespace
}  // namespace comet::commitlog
