// The replica side of the store: append_raw copies a master's log byte for byte (segment end
// markers included), rejects bytes that are corrupt, misplaced or torn without changing the
// log, and truncate/reset cut a divergent tail or restart a replica at the master's offset.
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <gtest/gtest.h>

#include "commitlog/message_store.h"
#include "test_util.h"

namespace comet::commitlog {
namespace {

namespace fs = std::filesystem;
using comet::testing::body_for;
using comet::testing::make_message;
using comet::testing::small_config;
using comet::testing::TempDir;
using namespace std::chrono_literals;

constexpr uint64_t kSegment = 1 << 14;

std::unique_ptr<MessageStore> open_store(const std::string& dir) {
  auto s = MessageStore::open(small_config(dir, kSegment));
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return s.is_ok() ? std::move(s).value() : nullptr;
}

void fill(MessageStore& store, int from, int n) {
  for (int i = from; i < from + n; ++i) {
    const uint32_t q = static_cast<uint32_t>(i % 3);
    ASSERT_TRUE(
        store.put_message(make_message("T", q, body_for("T", q, i, 200 + i % 300))).is_ok());
  }
}

// Streams the master's log to the replica from the replica's end, as the HA master does.
void replicate(MessageStore& master, MessageStore& replica, uint32_t batch = 4096) {
  uint64_t at = replica.commit_log().max_offset();
  for (int rounds = 0; at < master.commit_log().max_offset() && rounds < 100000; ++rounds) {
    auto v = master.commit_log().read_records(at, batch);
    ASSERT_TRUE(v.is_ok()) << v.status().to_string();
    auto end = replica.append_replica(at, v->bytes());
    ASSERT_TRUE(end.is_ok()) << end.status().to_string();
    ASSERT_EQ(end.value(), at + v->size);
    at = end.value();
  }
  ASSERT_EQ(at, master.commit_log().max_offset());
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Every CommitLog segment, by name, with its bytes up to `end`.
std::map<std::string, std::string> segments(const std::string& root, uint64_t end) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(root + "/commitlog")) {
    const uint64_t start = std::stoull(e.path().filename().string());
    if (start >= end) continue;
    std::string b = file_bytes(e.path());
    b.resize(std::min<uint64_t>(b.size(), end - start));
    out.emplace(e.path().filename().string(), std::move(b));
  }
  return out;
}

void expect_same_queues(MessageStore& a, MessageStore& b) {
  ASSERT_TRUE(a.dispatched().wait(a.commit_log().max_offset(), 10s).is_ok());
  ASSERT_TRUE(b.dispatched().wait(b.commit_log().max_offset(), 10s).is_ok());
  for (uint32_t q = 0; q < 3; ++q) {
    ASSERT_EQ(a.max_queue_offset("T", q), b.max_queue_offset("T", q)) << "queue " << q;
    auto ga = a.get_messages("T", q, 0, 100000, 1ull << 40);
    auto gb = b.get_messages("T", q, 0, 100000, 1ull << 40);
    ASSERT_EQ(ga.messages.size(), gb.messages.size());
    for (size_t i = 0; i < ga.messages.size(); ++i) {
      ASSERT_EQ(ga.messages[i].offset, gb.messages[i].offset);
      ASSERT_EQ(0, std::memcmp(ga.messages[i].data, gb.messages[i].data, ga.messages[i].size));
    }
  }
}

TEST(ReplicaStore, CopiesTheLogByteForByteAcrossSegmentsAndIndexesIt) {
  TempDir md, rd;
  auto master = open_store(md.path());
  auto replica = open_store(rd.path());
  fill(*master, 0, 300);  // ~110 KiB: several 16 KiB segments, each ended by a blank
  ASSERT_GT(master->commit_log().segment_count(), 4u);
  replicate(*master, *replica);
  const uint64_t end = master->commit_log().max_offset();
  EXPECT_EQ(replica->commit_log().max_offset(), end);
  EXPECT_TRUE(segments(md.path(), end) == segments(rd.path(), end));
  expect_same_queues(*master, *replica);

  // A promoted replica continues every queue's offsets where the master left them.
  for (uint32_t q = 0; q < 3; ++q) {
    auto r = replica->put_message(make_message("T", q, "after promotion"));
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r->queue_offset, master->max_queue_offset("T", q));
  }
}

TEST(ReplicaStore, RejectsCorruptMisplacedAndTornBytesWithoutChangingTheLog) {
  TempDir md, rd;
  auto master = open_store(md.path());
  auto replica = open_store(rd.path());
  fill(*master, 0, 20);
  auto v = master->commit_log().read_records(0, 1 << 20);
  ASSERT_TRUE(v.is_ok());
  std::string bytes(reinterpret_cast<const char*>(v->data), v->size);
  auto span_of = [](const std::string& s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };

  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x40;
  auto r = replica->append_replica(0, span_of(flipped));
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().to_string();

  r = replica->append_replica(0, span_of(bytes.substr(0, bytes.size() - 7)));
  EXPECT_EQ(r.status().code(), Code::kCorruption) << "a torn last record";

  r = replica->append_replica(100, span_of(bytes));
  EXPECT_FALSE(r.is_ok()) << "bytes not at the log end";
  EXPECT_EQ(replica->commit_log().max_offset(), 0u);

  ASSERT_TRUE(replica->append_replica(0, span_of(bytes)).is_ok());
  r = replica->append_replica(0, span_of(bytes));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << "the same bytes twice";
  EXPECT_EQ(replica->commit_log().max_offset(), bytes.size());
}

TEST(ReplicaStore, TruncatesADivergentTailAndConvergesAgain) {
  TempDir md, rd;
  auto master = open_store(md.path());
  auto replica = open_store(rd.path());
  fill(*master, 0, 100);
  replicate(*master, *replica);
  const uint64_t common = master->commit_log().max_offset();
  ASSERT_TRUE(master->dispatched().wait(common, 10s).is_ok());
  std::array<uint64_t, 3> common_next{};
  for (uint32_t q = 0; q < 3; ++q)
    common_next[q] = master->max_queue_offset("T", q);

  // The replica (an old master) wrote a tail of its own; the master moved on differently.
  fill(*replica, 1000, 40);
  fill(*master, 2000, 70);
  ASSERT_TRUE(replica->dispatched().wait(replica->commit_log().max_offset(), 10s).is_ok());
  ASSERT_TRUE(replica->truncate(common, 10s).is_ok());
  EXPECT_EQ(replica->commit_log().max_offset(), common);
  for (uint32_t q = 0; q < 3; ++q) {
    EXPECT_EQ(replica->max_queue_offset("T", q), common_next[q]);
    EXPECT_EQ(replica->commit_log().queue_offset("T", q), common_next[q]);
  }

  replicate(*master, *replica);
  const uint64_t end = master->commit_log().max_offset();
  EXPECT_TRUE(segments(md.path(), end) == segments(rd.path(), end));
  expect_same_queues(*master, *replica);

  // The truncation survives a restart: recovery finds the same log.
  ASSERT_TRUE(replica->shutdown().is_ok());
  replica.reset();
  replica = open_store(rd.path());
  EXPECT_EQ(replica->commit_log().max_offset(), end);
  expect_same_queues(*master, *replica);
}

TEST(ReplicaStore, AReplicaBehindTheMastersRetainedLogRestartsAtItsStart) {
  TempDir md, rd;
  auto master = open_store(md.path());
  auto replica = open_store(rd.path());
  fill(*replica, 0, 30);  // stale data of its own
  fill(*master, 0, 200);
  const uint64_t master_start = 3 * kSegment;  // as if retention had deleted three segments
  ASSERT_TRUE(replica->dispatched().wait(replica->commit_log().max_offset(), 10s).is_ok());
  ASSERT_TRUE(replica->truncate(master_start, 10s).is_ok());
  EXPECT_EQ(replica->commit_log().min_offset(), master_start);
  EXPECT_EQ(replica->commit_log().max_offset(), master_start);
  EXPECT_TRUE(replica->queues().empty());

  replicate(*master, *replica);
  const uint64_t end = master->commit_log().max_offset();
  auto m = segments(md.path(), end);
  auto r = segments(rd.path(), end);
  for (auto it = m.begin(); it != m.end();) {
    it = std::stoull(it->first) < master_start ? m.erase(it) : std::next(it);
  }
  ASSERT_EQ(m.size(), r.size());
  for (const auto& [name, bytes] : m) {
    ASSERT_TRUE(r.count(name)) << name;
    EXPECT_TRUE(r[name] == bytes) << name << ": " << bytes.size() << " vs " << r[name].size();
  }
  ASSERT_TRUE(replica->dispatched().wait(end, 10s).is_ok());
  for (uint32_t q = 0; q < 3; ++q) {
    EXPECT_EQ(replica->max_queue_offset("T", q), master->max_queue_offset("T", q));
    auto g = replica->get_messages("T", q, replica->min_queue_offset("T", q), 1000, 1ull << 40);
    ASSERT_EQ(g.status, GetStatus::kFound);
    EXPECT_GE(g.messages.front().offset, master_start);
  }

  // A restart finds the log where it now starts (no stale segment before it).
  ASSERT_TRUE(replica->shutdown().is_ok());
  replica.reset();
  replica = open_store(rd.path());
  EXPECT_EQ(replica->commit_log().min_offset(), master_start);
  EXPECT_EQ(replica->commit_log().max_offset(), end);
}

// A SYNC_MASTER's reads end where its slave's acks do: a store bounded to its committed offset
// indexes (so serves) nothing past it, then what the bound passes, in order; unbound, all.
TEST(ReplicaStore, ABoundedStoreServesOnlyWhatItsBoundPassed) {
  TempDir dir;
  auto store = open_store(dir.path());
  fill(*store, 0, 6);  // queue offsets 0 and 1 on each of the 3 queues
  const uint64_t before = store->commit_log().max_offset();
  ASSERT_TRUE(store->dispatched().wait(before, 10s).is_ok());
  ASSERT_EQ(store->max_queue_offset("T", 0), 2u);

  store->bound_to_committed(before);
  std::vector<uint64_t> ends;
  for (int i = 6; i < 9; ++i) {  // queue 0 at offsets 2, 3 and 4
    auto r = store->put_message(make_message("T", 0, body_for("T", 0, i, 100)));
    ASSERT_TRUE(r.is_ok());
    ends.push_back(r->physical_offset + r->size);
  }
  // The dispatcher is idle at the bound: nothing of the three is indexed or read.
  EXPECT_EQ(store->dispatched().get(), before);
  EXPECT_EQ(store->max_queue_offset("T", 0), 2u);
  EXPECT_EQ(store->get_messages("T", 0, 2, 32, 1 << 20).status, GetStatus::kOffsetOverflowOne);

  store->advance_committed(ends[0]);
  ASSERT_TRUE(store->dispatched().wait(ends[0], 10s).is_ok());
  EXPECT_EQ(store->max_queue_offset("T", 0), 3u);
  auto got = store->get_messages("T", 0, 2, 32, 1 << 20);
  ASSERT_EQ(got.status, GetStatus::kFound);
  EXPECT_EQ(got.messages.size(), 1u);

  // An ack below the bound changes nothing; unbounding indexes the rest.
  store->advance_committed(before);
  EXPECT_EQ(store->max_queue_offset("T", 0), 3u);
  store->unbound();
  ASSERT_TRUE(store->dispatched().wait(ends[2], 10s).is_ok());
  EXPECT_EQ(store->max_queue_offset("T", 0), 5u);
  EXPECT_EQ(store->get_messages("T", 0, 2, 32, 1 << 20).messages.size(), 3u);
}

}  // namespace
}  // namespace comet::commitlog
