// The bounded mapping cache behind ConsumeQueue reads: it keeps at most `capacity` files mapped
// and no descriptor open, and evicting a mapping never unmaps it under a reader holding it.
#include "commitlog/mapping_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace comet::commitlog {
namespace {

using comet::testing::descriptors_under;
using comet::testing::mappings_under;
using comet::testing::TempDir;

constexpr uint64_t kFileSize = 64 * 1024;
constexpr uint64_t kWords = kFileSize / 8;

// Word i of file f holds f * 1,000,000 + i: a reader can tell a wrong or unmapped file.
uint64_t word_of(uint64_t file, uint64_t i) {
  return file * 1000000 + i;
}

std::string make_file(const std::string& dir, uint64_t file) {
  const std::string path = dir + "/" + std::to_string(file);
  std::vector<uint64_t> words(kWords);
  for (uint64_t i = 0; i < kWords; ++i)
    words[i] = word_of(file, i);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(words.data()), kFileSize);
  return path;
}

uint64_t read_word(const MappingPin& pin, uint64_t i) {
  uint64_t w;
  std::memcpy(&w, pin->data() + i * 8, 8);
  return w;
}

TEST(MappingCache, KeepsAtMostCapacityMappedAndNoDescriptor) {
  TempDir dir;
  MappingCache cache(4);
  const uint64_t owner = MappingCache::new_owner();
  for (uint64_t f = 0; f < 10; ++f) {
    const std::string path = make_file(dir.path(), f);
    auto pin = cache.acquire({owner, f}, path, kFileSize);
    ASSERT_TRUE(pin.is_ok()) << pin.status().to_string();
    EXPECT_EQ(read_word(*pin, 7), word_of(f, 7));
  }
  EXPECT_EQ(mappings_under(dir.path()), 4);
  EXPECT_EQ(descriptors_under(dir.path()), 0);
  const auto stats = cache.stats();
  EXPECT_EQ(stats.mapped, 4u);
  EXPECT_EQ(stats.misses, 10u);
  EXPECT_EQ(stats.evictions, 6u);
  // The most recently used are the ones kept: file 9 is a hit, file 0 a miss.
  ASSERT_TRUE(cache.acquire({owner, 9}, dir.path() + "/9", kFileSize).is_ok());
  EXPECT_EQ(cache.stats().hits, 1u);
  ASSERT_TRUE(cache.acquire({owner, 0}, dir.path() + "/0", kFileSize).is_ok());
  EXPECT_EQ(cache.stats().misses, 11u);
}

TEST(MappingCache, AnEvictedOrForgottenMappingStaysMappedForItsHolder) {
  TempDir dir;
  MappingCache cache(2);
  const uint64_t owner = MappingCache::new_owner();
  for (uint64_t f = 0; f < 4; ++f)
    make_file(dir.path(), f);
  auto held = cache.acquire({owner, 0}, dir.path() + "/0", kFileSize);
  ASSERT_TRUE(held.is_ok());
  for (uint64_t f = 1; f < 4; ++f)  // file 0 is evicted
    ASSERT_TRUE(cache.acquire({owner, f}, dir.path() + "/" + std::to_string(f), kFileSize).is_ok());
  EXPECT_EQ(cache.stats().evictions, 2u);
  EXPECT_EQ(mappings_under(dir.path()), 3);  // two cached and the held one
  for (uint64_t i = 0; i < kWords; i += 512)
    EXPECT_EQ(read_word(*held, i), word_of(0, i));
  // Deleted and forgotten: still readable through the pin; unmapped once it is let go.
  std::filesystem::remove(dir.path() + "/0");
  cache.forget({owner, 0});
  EXPECT_EQ(read_word(*held, 1), word_of(0, 1));
  held = Status::not_found("released");
  EXPECT_EQ(mappings_under(dir.path()), 2);
  // A missing file is an error, not a mapping.
  EXPECT_FALSE(cache.acquire({owner, 0}, dir.path() + "/0", kFileSize).is_ok());
}

// Readers on four threads hammer 32 files through a cache of 3, so nearly every acquire evicts a
// mapping another thread may be reading. A reader touching an unmapped page would crash the test
// (SIGSEGV); one reading another file's mapping would see the wrong words.
TEST(MappingCache, EvictionUnderConcurrentReadersNeverUnmapsAHeldMapping) {
  TempDir dir;
  constexpr uint64_t kFiles = 32;
  constexpr size_t kCapacity = 3;
  constexpr int kThreads = 4;
  constexpr int kRounds = 4000;
  for (uint64_t f = 0; f < kFiles; ++f)
    make_file(dir.path(), f);
  MappingCache cache(kCapacity);
  const uint64_t owner = MappingCache::new_owner();
  std::atomic<int> wrong{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < kThreads; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t) + 1);
      for (int round = 0; round < kRounds; ++round) {
        const uint64_t f = rng() % kFiles;
        auto pin = cache.acquire({owner, f}, dir.path() + "/" + std::to_string(f), kFileSize);
        if (!pin.is_ok()) {
          failed.fetch_add(1);
          continue;
        }
        // Read across the whole file while other threads evict it from the cache.
        for (uint64_t i = rng() % 64; i < kWords; i += 61) {
          if (read_word(*pin, i) != word_of(f, i)) wrong.fetch_add(1);
        }
        if (round % 97 == 0) cache.forget({owner, (f + 1) % kFiles});
      }
    });
  }
  for (auto& r : readers)
    r.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  const auto stats = cache.stats();
  EXPECT_EQ(stats.hits + stats.misses, static_cast<uint64_t>(kThreads) * kRounds);
  EXPECT_GT(stats.evictions, static_cast<uint64_t>(kRounds));  // eviction really was constant
  EXPECT_LE(stats.mapped, kCapacity);
  EXPECT_LE(mappings_under(dir.path()), static_cast<int>(kCapacity));
  EXPECT_EQ(descriptors_under(dir.path()), 0);
}

}  // namespace
}  // namespace comet::commitlog
