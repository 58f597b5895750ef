// The index file format on a byte buffer: put and look up, rotation's "full", exact undo, and
// what a crash or damage leaves behind.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "commitlog/index_file.h"

namespace comet::commitlog {
namespace {

constexpr uint32_t kSlots = 8;
constexpr uint32_t kEntries = 32;
constexpr int64_t kT0 = 1'700'000'000'000;

struct Buffer {
  explicit Buffer(uint32_t slots = kSlots, uint32_t entries = kEntries)
      : bytes(IndexFileView::file_size(slots, entries)),
        view({bytes.data(), bytes.size()}, slots, entries) {
    view.init(1000);
  }
  std::vector<uint8_t> bytes;
  IndexFileView view;
};

std::vector<uint64_t> offsets_of(const IndexFileView& v, uint32_t hash) {
  std::vector<uint64_t> out;
  v.lookup(hash, [&](uint64_t phy, int64_t) {
    out.push_back(phy);
    return true;
  });
  return out;
}

void set_u32(std::vector<uint8_t>& b, size_t pos, uint32_t v) {
  std::memcpy(b.data() + pos, &v, 4);
}

size_t slot_pos(uint32_t slot) {
  return IndexFileView::kHeaderSize + slot * IndexFileView::kSlotSize;
}
size_t entry_pos(uint32_t index, uint32_t slots = kSlots) {
  return IndexFileView::kHeaderSize + slots * IndexFileView::kSlotSize +
         index * IndexFileView::kEntrySize;
}

TEST(IndexFile, FindsEachKeyNewestFirstAcrossSharedSlots) {
  Buffer b;
  // Hashes 1, 9 and 17 share slot 1; 2 has slot 2.
  ASSERT_TRUE(b.view.put(1, 1000, kT0));
  ASSERT_TRUE(b.view.put(9, 1100, kT0 + 1500));
  ASSERT_TRUE(b.view.put(1, 1200, kT0 + 2500));
  ASSERT_TRUE(b.view.put(2, 1300, kT0 + 3000));
  ASSERT_TRUE(b.view.put(17, 1400, kT0 + 3000));
  EXPECT_EQ(offsets_of(b.view, 1), (std::vector<uint64_t>{1200, 1000}));
  EXPECT_EQ(offsets_of(b.view, 9), (std::vector<uint64_t>{1100}));
  EXPECT_EQ(offsets_of(b.view, 2), (std::vector<uint64_t>{1300}));
  EXPECT_EQ(offsets_of(b.view, 17), (std::vector<uint64_t>{1400}));
  EXPECT_TRUE(offsets_of(b.view, 3).empty());
  const IndexHeader h = b.view.header();
  EXPECT_EQ(h.index_count, 6u);
  EXPECT_EQ(h.hash_slot_count, 2u);
  EXPECT_EQ(h.begin_timestamp_ms, kT0);
  EXPECT_EQ(h.end_timestamp_ms, kT0 + 3000);
  EXPECT_EQ(h.begin_phy_offset, 1000u);
}

TEST(IndexFile, EntryTimesAreSecondsFromTheFirst) {
  Buffer b;
  ASSERT_TRUE(b.view.put(5, 1000, kT0 + 700));
  ASSERT_TRUE(b.view.put(5, 1100, kT0 + 2699));
  std::vector<int64_t> times;
  b.view.lookup(5, [&](uint64_t, int64_t ms) {
    times.push_back(ms);
    return true;
  });
  EXPECT_EQ(times, (std::vector<int64_t>{kT0 + 700 + 1000, kT0 + 700}));
}

TEST(IndexFile, IsFullAfterMaxIndexNumMinusOneEntries) {
  Buffer b(4, 5);
  EXPECT_EQ(b.view.free_entries(), 4u);
  for (uint64_t i = 0; i < 4; ++i)
    ASSERT_TRUE(b.view.put(static_cast<uint32_t>(i), 1000 + i, kT0));
  EXPECT_EQ(b.view.free_entries(), 0u);
  EXPECT_FALSE(b.view.put(7, 2000, kT0));
  EXPECT_EQ(b.view.header().index_count, 5u);
}

TEST(IndexFile, UndoFromACutRestoresEverySlotHead) {
  Buffer b;
  for (uint32_t i = 0; i < 20; ++i)
    ASSERT_TRUE(b.view.put(i % 3 + 8 * (i % 2), 1000 + i * 10, kT0 + i));
  b.view.cover(1200);
  Buffer expected;
  for (uint32_t i = 0; i < 12; ++i)
    ASSERT_TRUE(expected.view.put(i % 3 + 8 * (i % 2), 1000 + i * 10, kT0 + i));
  EXPECT_EQ(b.view.undo_from(1120), 8u);
  EXPECT_EQ(b.view.header().index_count, 13u);
  EXPECT_EQ(b.view.header().end_phy_offset, 1120u);
  for (uint32_t h : {0u, 1u, 2u, 8u, 9u, 10u})
    EXPECT_EQ(offsets_of(b.view, h), offsets_of(expected.view, h)) << "hash " << h;
  // The slots and entries are byte for byte what they were before the undone puts.
  EXPECT_EQ(std::vector<uint8_t>(b.bytes.begin() + IndexFileView::kHeaderSize, b.bytes.end()),
            std::vector<uint8_t>(expected.bytes.begin() + IndexFileView::kHeaderSize,
                                 expected.bytes.end()));
  EXPECT_EQ(b.view.header().hash_slot_count, expected.view.header().hash_slot_count);
}

TEST(IndexFile, UndoingEverythingEmptiesTheFile) {
  Buffer b;
  ASSERT_TRUE(b.view.put(3, 1000, kT0));
  ASSERT_TRUE(b.view.put(3, 1010, kT0));
  EXPECT_EQ(b.view.undo_from(0), 2u);
  EXPECT_EQ(b.view.header().index_count, 1u);
  EXPECT_EQ(b.view.header().hash_slot_count, 0u);
  EXPECT_TRUE(offsets_of(b.view, 3).empty());
}

TEST(IndexFile, TornPutPastTheCountIsUndoneOnValidation) {
  Buffer b;
  ASSERT_TRUE(b.view.put(3, 1000, kT0));
  std::vector<uint8_t> before = b.bytes;
  // A put that wrote its entry and linked it into slot 3, then died before counting it.
  ASSERT_TRUE(b.view.put(11, 1100, kT0));
  set_u32(b.bytes, 36, 2);                       // index_count back to 2
  ASSERT_EQ(offsets_of(b.view, 11).size(), 0u);  // not counted: never served
  uint32_t repaired = 0;
  ASSERT_TRUE(b.view.validate_and_repair(&repaired).is_ok());
  EXPECT_EQ(repaired, 1u);
  EXPECT_EQ(b.bytes, before);
  // The next put reuses the entry and links the slot correctly.
  ASSERT_TRUE(b.view.put(11, 1200, kT0));
  EXPECT_EQ(offsets_of(b.view, 11), (std::vector<uint64_t>{1200}));
  EXPECT_EQ(offsets_of(b.view, 3), (std::vector<uint64_t>{1000}));
}

TEST(IndexFile, TornPutBeforeItsSlotWasLinkedIsZeroed) {
  Buffer b;
  ASSERT_TRUE(b.view.put(3, 1000, kT0));
  std::vector<uint8_t> before = b.bytes;
  ASSERT_TRUE(b.view.put(3, 1100, kT0));
  set_u32(b.bytes, 36, 2);
  set_u32(b.bytes, slot_pos(3), 1);  // the slot still heads the old entry
  ASSERT_TRUE(b.view.validate_and_repair().is_ok());
  EXPECT_EQ(b.bytes, before);
}

TEST(IndexFile, ValidationRefusesAHeaderTheConfigCannotHave) {
  Buffer b;
  ASSERT_TRUE(b.view.put(3, 1000, kT0));
  auto damaged = [&](size_t pos, uint32_t v) {
    std::vector<uint8_t> copy = b.bytes;
    set_u32(copy, pos, v);
    IndexFileView view({copy.data(), copy.size()}, kSlots, kEntries);
    return view.validate_and_repair();
  };
  EXPECT_EQ(damaged(36, 0).code(), Code::kCorruption);             // index count 0
  EXPECT_EQ(damaged(36, kEntries + 1).code(), Code::kCorruption);  // past maxIndexNum
  EXPECT_EQ(damaged(16, 5000).code(), Code::kCorruption);          // begin offset past end
  EXPECT_TRUE(damaged(32, 7).is_ok());  // slot count: a statistic, clamped
  std::vector<uint8_t> small(100);
  IndexFileView wrong_size({small.data(), small.size()}, kSlots, kEntries);
  EXPECT_EQ(wrong_size.validate_and_repair().code(), Code::kCorruption);
}

TEST(IndexFile, ChainWalksStopAtLinksThatDoNotGoBack) {
  Buffer b;
  ASSERT_TRUE(b.view.put(3, 1000, kT0));
  ASSERT_TRUE(b.view.put(3, 1100, kT0));
  set_u32(b.bytes, entry_pos(1) + 16, 2);  // entry 1 links to entry 2: a cycle
  EXPECT_EQ(offsets_of(b.view, 3), (std::vector<uint64_t>{1100, 1000}));
  set_u32(b.bytes, slot_pos(3), 999);  // a head past the count
  EXPECT_TRUE(offsets_of(b.view, 3).empty());
  // A put over a damaged head starts a new chain instead of linking to garbage.
  ASSERT_TRUE(b.view.put(3, 1200, kT0));
  EXPECT_EQ(offsets_of(b.view, 3), (std::vector<uint64_t>{1200}));
}

TEST(IndexFile, KeyHashIsTopicHashKey) {
  EXPECT_EQ(index_key_hash("T", "a#b"), index_key_hash("T#a", "b"));  // RocketMQ's buildKey
  EXPECT_NE(index_key_hash("T", "k"), index_key_hash("U", "k"));
}

}  // namespace
}  // namespace comet::commitlog
