// The message index through a real MessageStore: lookups by KEYS and UNIQ_KEY, time ranges,
// rotation, retention, truncation, crash recovery (each record indexed exactly once) and
// rebuilds; the time search over ConsumeQueues; bad input.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "commitlog/index_file.h"
#include "commitlog/index_service.h"
#include "commitlog/message_store.h"
#include "test_util.h"

namespace comet::commitlog {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using comet::testing::make_message;
using comet::testing::ManualClock;
using comet::testing::small_config;
using comet::testing::TempDir;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int64_t kAll = INT64_MAX;

StoreConfig index_config(const std::string& root, uint32_t slots = 4096, uint32_t entries = 8192) {
  StoreConfig c = small_config(root, 1 << 20);
  c.mapped_file_size_consume_queue = 20 * 32 * 1024;  // few files: creating them is the cost
  c.max_hash_slot_num = slots;
  c.max_index_num = entries;
  return c;
}

std::string key_of(int i) {
  return "k" + std::to_string(i);
}
std::string uniq_of(int i) {
  return "U" + std::to_string(i);
}

// Message i: KEYS "k<i> g<i / 50>", UNIQ_KEY "U<i>", body "m<i>".
AppendResult put_keyed(MessageStore& store, int i, std::string_view topic = "T",
                       uint32_t sys_flag = 0) {
  const std::string props =
      encode_properties({{std::string(kPropertyKeys), key_of(i) + " g" + std::to_string(i / 50)},
                         {std::string(kPropertyUniqKey), uniq_of(i)}});
  const std::string body = "m" + std::to_string(i);
  Message m = make_message(topic, static_cast<uint32_t>(i % 4), body, props);
  m.sys_flag = sys_flag;
  auto r = store.put_message(m);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : AppendResult{};
}

void wait_indexed(MessageStore& store) {
  ASSERT_TRUE(store.dispatched().wait(store.commit_log().max_offset(), 10s).is_ok());
}

std::unique_ptr<MessageStore> open_store(const StoreConfig& cfg, const Clock& clock) {
  auto s = MessageStore::open(cfg, clock);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return s.is_ok() ? std::move(s).value() : nullptr;
}

std::vector<std::string> bodies(const MessageStore::QueryResult& r) {
  std::vector<std::string> out;
  for (const ReadView& v : r.messages) {
    auto d = record::decode(v.data, v.size);
    out.emplace_back(d.record.body);
  }
  return out;
}

std::vector<std::string> query(const MessageStore& store, std::string_view key,
                               uint32_t max_num = 1000, int64_t begin = 0, int64_t end = kAll,
                               std::string_view topic = "T") {
  auto r = store.query_messages(topic, key, max_num, begin, end);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? bodies(*r) : std::vector<std::string>{};
}

// Every message 0..n-1 is found once by its key and by its UNIQ_KEY, and the index holds one
// entry per key (a re-indexed record would show twice in the raw lookup).
void expect_each_indexed_once(const MessageStore& store, int n) {
  const IndexService* index = store.index_service();
  ASSERT_NE(index, nullptr);
  for (int i = 0; i < n; ++i) {
    const std::string want = "m" + std::to_string(i);
    ASSERT_EQ(query(store, key_of(i)), std::vector<std::string>{want}) << i;
    ASSERT_EQ(query(store, uniq_of(i)), std::vector<std::string>{want}) << i;
    ASSERT_EQ(index->lookup("T", key_of(i), 0, kAll, 0, UINT64_MAX, 100).size(), 1u) << i;
  }
}

// The newest index file and its header, read and written as raw bytes.
struct RawIndex {
  explicit RawIndex(const StoreConfig& cfg) {
    for (const auto& e : fs::directory_iterator(cfg.index_dir()))
      path = std::max(path, e.path().string());
    fd = ::open(path.c_str(), O_RDWR);
  }
  ~RawIndex() { ::close(fd); }
  template <typename T>
  T get(off_t pos) const {
    T v{};
    EXPECT_EQ(::pread(fd, &v, sizeof(T), pos), ssize_t(sizeof(T)));
    return v;
  }
  template <typename T>
  void set(off_t pos, T v) {
    EXPECT_EQ(::pwrite(fd, &v, sizeof(T), pos), ssize_t(sizeof(T)));
  }
  std::string path;
  int fd = -1;
};

TEST(MessageIndex, EveryKeyOfManyMessagesFindsItsMessage) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path(), 100'000, 250'000);
  cfg.mapped_file_size_commit_log = 8 << 20;
  cfg.max_message_size = 1 << 20;
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  constexpr int kN = 100'000;
  for (int i = 0; i < kN; ++i)
    put_keyed(*store, i);
  wait_indexed(*store);
  for (int i = 0; i < kN; ++i) {
    const std::string want = "m" + std::to_string(i);
    ASSERT_EQ(query(*store, key_of(i)), std::vector<std::string>{want}) << i;
  }
  for (int i = 0; i < kN; i += 997)
    ASSERT_EQ(query(*store, uniq_of(i)), std::vector<std::string>{"m" + std::to_string(i)});
  EXPECT_TRUE(query(*store, "missing").empty());
  EXPECT_TRUE(query(*store, key_of(7), 10, 0, kAll, "Other").empty());
  // g7 is the key of messages 350..399: all 50, newest first, and max_num caps them.
  std::vector<std::string> shared = query(*store, "g7");
  ASSERT_EQ(shared.size(), 50u);
  for (int j = 0; j < 50; ++j)
    EXPECT_EQ(shared[j], "m" + std::to_string(399 - j));
  EXPECT_EQ(query(*store, "g7", 10), std::vector<std::string>(shared.begin(), shared.begin() + 10));
  auto r = store->query_messages("T", "g7", 5, 0, kAll);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->index_last_update_phy, store->dispatched().get());
  EXPECT_EQ(r->index_last_update_ms, kT0);
}

TEST(MessageIndex, TimeRangeSelectsByStoreTime) {
  TempDir dir;
  ManualClock clock(kT0);
  auto store = open_store(index_config(dir.path()), clock);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 50; ++i) {  // all share key g0; one every 300 ms
    clock.set(kT0 + i * 300);
    put_keyed(*store, i);
  }
  wait_indexed(*store);
  // [kT0 + 3000, kT0 + 6000]: messages 10..20, to the millisecond (entries hold seconds).
  std::vector<std::string> got = query(*store, "g0", 100, kT0 + 3000, kT0 + 6000);
  ASSERT_EQ(got.size(), 11u);
  EXPECT_EQ(got.front(), "m20");
  EXPECT_EQ(got.back(), "m10");
  EXPECT_EQ(query(*store, "g0", 100, kT0 + 3001, kT0 + 3299).size(), 0u);
  EXPECT_EQ(query(*store, "g0", 100, kT0 + 60'000, kAll).size(), 0u);
  EXPECT_EQ(query(*store, "g0", 100, kT0 + 6000, kT0 + 3000).size(), 0u);
}

TEST(MessageIndex, RollbackRecordsAndOverlongKeysAreNotIndexed) {
  TempDir dir;
  ManualClock clock(kT0);
  auto store = open_store(index_config(dir.path()), clock);
  ASSERT_NE(store, nullptr);
  put_keyed(*store, 1, "T", kSysFlagTransactionRollback);
  put_keyed(*store, 2, "T", kSysFlagTransactionCommit);
  const std::string long_key(record::kMaxKeyLength + 1, 'x');
  const std::string edge_key(record::kMaxKeyLength, 'y');
  const std::string props =
      encode_properties({{std::string(kPropertyKeys), long_key + "  " + edge_key + " z"}});
  ASSERT_TRUE(store->put_message(make_message("T", 0, "long", props)).is_ok());
  wait_indexed(*store);
  EXPECT_TRUE(query(*store, key_of(1)).empty());
  EXPECT_EQ(query(*store, key_of(2)), std::vector<std::string>{"m2"});
  EXPECT_EQ(query(*store, edge_key), std::vector<std::string>{"long"});
  EXPECT_EQ(query(*store, "z"), std::vector<std::string>{"long"});
  auto too_long = store->query_messages("T", long_key, 10, 0, kAll);
  EXPECT_EQ(too_long.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->query_messages("T", "", 10, 0, kAll).status().code(), Code::kInvalidArgument);
}

TEST(MessageIndex, DisabledIndexRefusesQueriesAndWritesNoFiles) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path());
  cfg.message_index_enable = false;
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  put_keyed(*store, 1);
  wait_indexed(*store);
  EXPECT_EQ(store->query_messages("T", key_of(1), 10, 0, kAll).status().code(), Code::kUnsupported);
  EXPECT_FALSE(fs::exists(cfg.index_dir()));
}

TEST(MessageIndex, FilesAreSparseAndTakeBlocksOnlyForWhatIsWritten) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path(), 5'000'000, 20'000'000);  // the defaults
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 100; ++i)
    put_keyed(*store, i);
  wait_indexed(*store);
  RawIndex raw(cfg);
  struct stat st {};
  ASSERT_EQ(::fstat(raw.fd, &st), 0);
  EXPECT_EQ(uint64_t(st.st_size), IndexFileView::file_size(5'000'000, 20'000'000));
  // 300 entries (6,000 bytes: three pages at most), up to 300 slot pages and the header's.
  EXPECT_LE(uint64_t(st.st_blocks) * 512, 304u * 4096);
  expect_each_indexed_once(*store, 100);
}

TEST(MessageIndex, RotatesFullFilesAndFindsKeysInAll) {
  TempDir dir;
  ManualClock clock(kT0);
  auto store = open_store(index_config(dir.path(), 16, 64), clock);  // 21 records per file
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 300; ++i)
    put_keyed(*store, i);
  wait_indexed(*store);
  EXPECT_GE(store->index_service()->file_count(), 300u / 21);
  expect_each_indexed_once(*store, 300);
  EXPECT_EQ(query(*store, "g1").size(), 50u);  // spans files
}

TEST(MessageIndex, RetentionDeletesIndexFilesBelowTheLog) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path(), 16, 64);
  cfg.mapped_file_size_commit_log = 8192;
  cfg.max_message_size = 4096;
  cfg.file_reserved_time_hours = 1;
  cfg.delete_files_batch_max = 1000;
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  store->set_disk_usage_probe([](const std::string&) { return 0.1; });
  for (int i = 0; i < 300; ++i) {
    clock.set(kT0 + i);
    put_keyed(*store, i);
  }
  wait_indexed(*store);
  ASSERT_TRUE(store->commit_log().flush().is_ok());
  const size_t files = store->index_service()->file_count();
  clock.set(kT0 + 2 * 3600 * 1000);
  ASSERT_GT(store->delete_expired_files(), 0u);
  const uint64_t log_min = store->commit_log().min_offset();
  EXPECT_LT(store->index_service()->file_count(), files);
  EXPECT_EQ(size_t(std::distance(fs::directory_iterator(cfg.index_dir()), {})),
            store->index_service()->file_count());
  EXPECT_TRUE(query(*store, key_of(0)).empty());
  EXPECT_EQ(query(*store, key_of(299)), std::vector<std::string>{"m299"});
  // The time search and the earliest store time start at what retention left (message i went
  // to queue i % 4 at kT0 + i).
  const uint64_t min = store->min_queue_offset("T", 1);
  ASSERT_GT(min, 0u);
  EXPECT_EQ(store->earliest_store_time("T", 1), kT0 + int64_t(min) * 4 + 1);
  EXPECT_EQ(store->search_offset_by_time("T", 1, kT0), min);
  EXPECT_EQ(store->search_offset_by_time("T", 1, kT0 + int64_t(min + 3) * 4 + 1), min + 3);
  for (int i = 0; i < 300; ++i) {  // whatever is still in the log is still found
    auto r = store->query_messages("T", key_of(i), 10, 0, kAll);
    ASSERT_TRUE(r.is_ok());
    for (const ReadView& v : r->messages)
      EXPECT_GE(v.offset, log_min);
  }
}

TEST(MessageIndex, TruncationUndoesEntriesPastTheCut) {
  TempDir dir;
  ManualClock clock(kT0);
  auto store = open_store(index_config(dir.path(), 16, 64), clock);
  ASSERT_NE(store, nullptr);
  std::vector<AppendResult> at;
  for (int i = 0; i < 100; ++i)
    at.push_back(put_keyed(*store, i));
  wait_indexed(*store);
  const size_t files = store->index_service()->file_count();
  ASSERT_TRUE(store->truncate(at[30].physical_offset, 10s).is_ok());
  EXPECT_LT(store->index_service()->file_count(), files);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(query(*store, key_of(i)).size(), i < 30 ? 1u : 0u) << i;
  EXPECT_EQ(query(*store, "g0").size(), 30u);
  // The log continues from the cut: new records are indexed once.
  for (int i = 30; i < 60; ++i)
    put_keyed(*store, i);
  wait_indexed(*store);
  expect_each_indexed_once(*store, 60);
  // A cut outside the log drops it all; the index starts again there.
  const uint64_t restart = store->commit_log().max_offset() + 1'000'000;
  ASSERT_TRUE(store->truncate(restart, 10s).is_ok());
  EXPECT_EQ(store->index_service()->file_count(), 0u);
  EXPECT_TRUE(query(*store, key_of(1)).empty());
}

TEST(MessageIndex, CrashesAtSeveralPointsLeaveEachRecordIndexedOnce) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path(), 64, 512);
  int written = 0;
  for (int round = 0; round < 4; ++round) {
    auto store = open_store(cfg, clock);
    ASSERT_NE(store, nullptr);
    expect_each_indexed_once(*store, written);
    for (int i = 0; i < 400; ++i)
      put_keyed(*store, written++);
    wait_indexed(*store);
    if (round == 1) {
      ASSERT_TRUE(store->checkpoint().is_ok());  // a checkpoint mid-way
    }
    store->crash_for_test();
    if (round == 2) fs::remove(cfg.store_path_root_dir + "/checkpoint");  // replay everything
  }
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->recovery_info().crashed);
  expect_each_indexed_once(*store, written);
}

TEST(MessageIndex, HalfIndexedRecordIsUndoneAndIndexedAgainOnce) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path());
  std::vector<AppendResult> at;
  {
    auto store = open_store(cfg, clock);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 20; ++i)
      at.push_back(put_keyed(*store, i));
    wait_indexed(*store);
    store->crash_for_test();
  }
  {
    // The process died after the last record's entries but before its covered end moved.
    RawIndex raw(cfg);
    raw.set<uint64_t>(24, at.back().physical_offset);
  }
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  expect_each_indexed_once(*store, 20);
}

TEST(MessageIndex, TornLastEntryIsRepairedAndIndexedOnce) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path());
  std::vector<AppendResult> at;
  {
    auto store = open_store(cfg, clock);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 20; ++i)
      at.push_back(put_keyed(*store, i));
    wait_indexed(*store);
    store->crash_for_test();
  }
  {
    // The last record's last put wrote its entry and linked its slot, but never counted it, and
    // the covered end stayed at the record's start.
    RawIndex raw(cfg);
    raw.set<uint32_t>(36, raw.get<uint32_t>(36) - 1);
    raw.set<uint64_t>(24, at.back().physical_offset);
  }
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  expect_each_indexed_once(*store, 20);
}

TEST(MessageIndex, DeletedIndexDirectoryIsRebuilt) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path(), 16, 64);
  {
    auto store = open_store(cfg, clock);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 100; ++i)
      put_keyed(*store, i);
    ASSERT_TRUE(store->shutdown().is_ok());
  }
  {
    auto store = open_store(cfg, clock);  // a clean restart re-indexes nothing
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->recovery_info().reindexed, 0u);
    ASSERT_TRUE(store->shutdown().is_ok());
  }
  fs::remove_all(cfg.index_dir());
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->recovery_info().redispatched, 0u);  // the ConsumeQueues were complete
  EXPECT_EQ(store->recovery_info().reindexed, 100u);
  expect_each_indexed_once(*store, 100);
}

TEST(MessageIndex, IndexEnabledLaterIndexesTheWholeLog) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path());
  cfg.message_index_enable = false;
  {
    auto store = open_store(cfg, clock);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 50; ++i)
      put_keyed(*store, i);
    ASSERT_TRUE(store->shutdown().is_ok());
  }
  cfg.message_index_enable = true;
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  for (int i = 50; i < 60; ++i)
    put_keyed(*store, i);
  wait_indexed(*store);
  expect_each_indexed_once(*store, 60);
}

TEST(MessageIndex, DamagedIndexFileIsLoggedAndRebuilt) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path(), 16, 64);
  {
    auto store = open_store(cfg, clock);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 100; ++i)
      put_keyed(*store, i);
    ASSERT_TRUE(store->shutdown().is_ok());
  }
  {
    RawIndex raw(cfg);
    raw.set<uint32_t>(36, 0xffffffff);  // index count past maxIndexNum
  }
  {
    auto store = open_store(cfg, clock);
    ASSERT_NE(store, nullptr);
    expect_each_indexed_once(*store, 100);
    ASSERT_TRUE(store->shutdown().is_ok());
  }
  {
    RawIndex raw(cfg);
    ASSERT_EQ(::ftruncate(raw.fd, 1000), 0);  // a file of the wrong size
  }
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  expect_each_indexed_once(*store, 100);
}

TEST(MessageIndex, AReplicaAnswersAsItsMasterDoes) {
  TempDir master_dir;
  TempDir replica_dir;
  ManualClock clock(kT0);
  auto master = open_store(index_config(master_dir.path(), 16, 64), clock);
  auto replica = open_store(index_config(replica_dir.path(), 16, 64), clock);
  ASSERT_NE(master, nullptr);
  ASSERT_NE(replica, nullptr);
  for (int i = 0; i < 200; ++i) {
    clock.set(kT0 + i * 100);
    put_keyed(*master, i);
  }
  wait_indexed(*master);
  clock.set(kT0 + 3'600'000);  // the replica copies later: store times come with the bytes
  for (uint64_t at = 0; at < master->commit_log().max_offset();) {
    auto v = master->commit_log().read_records(at, 4096);
    ASSERT_TRUE(v.is_ok()) << v.status().to_string();
    auto end = replica->append_replica(at, v->bytes());
    ASSERT_TRUE(end.is_ok()) << end.status().to_string();
    at = *end;
  }
  wait_indexed(*replica);
  ASSERT_EQ(query(*master, "g0").size(), 50u);
  for (const std::string key : {"g0", "g3", "k17", "U150", "missing"}) {
    EXPECT_EQ(query(*replica, key), query(*master, key)) << key;
    EXPECT_EQ(query(*replica, key, 5, kT0 + 1000, kT0 + 2000),
              query(*master, key, 5, kT0 + 1000, kT0 + 2000))
        << key;
  }
  for (int64_t t : {kT0 - 1, kT0 + 1234, kT0 + 19'999, kT0 + 30'000}) {
    EXPECT_EQ(replica->search_offset_by_time("T", 1, t), master->search_offset_by_time("T", 1, t));
  }
  EXPECT_EQ(replica->earliest_store_time("T", 2), master->earliest_store_time("T", 2));
}

TEST(MessageIndex, QueriesRunWhileTheDispatcherIndexes) {
  TempDir dir;
  ManualClock clock(kT0);
  auto store = open_store(index_config(dir.path(), 64, 1024), clock);
  ASSERT_NE(store, nullptr);
  std::atomic<bool> done{false};
  std::atomic<int> found{0};
  std::thread reader([&] {
    for (int round = 0; round < 100000 && !done.load(); ++round) {
      auto r = store->query_messages("T", "g" + std::to_string(round % 40), 64, 0, kAll);
      ASSERT_TRUE(r.is_ok());
      for (const ReadView& v : r->messages) {
        auto d = record::decode(v.data, v.size);
        ASSERT_EQ(d.outcome, record::Outcome::kRecord);
        ASSERT_LT(v.offset, store->dispatched().get());
      }
      found += static_cast<int>(r->messages.size());
    }
  });
  for (int i = 0; i < 2000; ++i)
    put_keyed(*store, i);
  wait_indexed(*store);
  done = true;
  reader.join();
  expect_each_indexed_once(*store, 2000);
}

TEST(MessageIndex, NewIndexSizesRebuildTheIndex) {
  TempDir dir;
  ManualClock clock(kT0);
  auto cfg = index_config(dir.path(), 16, 64);
  {
    auto store = open_store(cfg, clock);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 100; ++i)
      put_keyed(*store, i);
    ASSERT_TRUE(store->shutdown().is_ok());
  }
  cfg.max_hash_slot_num = 32;
  cfg.max_index_num = 1000;
  auto store = open_store(cfg, clock);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->recovery_info().reindexed, 100u);
  EXPECT_EQ(store->index_service()->file_count(), 1u);
  expect_each_indexed_once(*store, 100);
}

TEST(MessageIndex, ReadMessageAtChecksTheOffset) {
  TempDir dir;
  ManualClock clock(kT0);
  auto store = open_store(index_config(dir.path()), clock);
  ASSERT_NE(store, nullptr);
  const AppendResult a = put_keyed(*store, 1);
  const AppendResult b = put_keyed(*store, 2);
  wait_indexed(*store);
  auto got = store->read_message_at(b.physical_offset);
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(record::decode(got->data, got->size).record.body, "m2");
  EXPECT_EQ(store->read_message_at(a.physical_offset + 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store->read_message_at(b.end_offset()).status().code(), Code::kNotFound);
  EXPECT_EQ(store->read_message_at(UINT64_MAX).status().code(), Code::kNotFound);
}

TEST(TimeSearch, LandsOnTheFirstMessageStoredAtOrAfter) {
  TempDir dir;
  ManualClock clock(kT0);
  auto store = open_store(index_config(dir.path()), clock);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->search_offset_by_time("T", 0, kT0), 0u);
  EXPECT_FALSE(store->earliest_store_time("T", 0).has_value());
  for (int i = 0; i < 1000; ++i) {  // queue 0 gets every 4th: stored at kT0 + 40 * offset
    clock.set(kT0 + i * 10);
    put_keyed(*store, i);
  }
  wait_indexed(*store);
  EXPECT_EQ(store->earliest_store_time("T", 0), kT0);
  EXPECT_EQ(store->earliest_store_time("T", 1), kT0 + 10);
  EXPECT_EQ(store->search_offset_by_time("T", 0, kT0 - 1), 0u);  // before all: min
  EXPECT_EQ(store->search_offset_by_time("T", 0, kT0), 0u);
  EXPECT_EQ(store->search_offset_by_time("T", 0, kT0 + 1), 1u);
  EXPECT_EQ(store->search_offset_by_time("T", 0, kT0 + 40 * 100), 100u);
  EXPECT_EQ(store->search_offset_by_time("T", 0, kT0 + 40 * 100 - 39), 100u);
  EXPECT_EQ(store->search_offset_by_time("T", 0, kT0 + 40 * 249), 249u);
  EXPECT_EQ(store->search_offset_by_time("T", 0, kT0 + 40 * 249 + 1), 250u);  // after all: max
  EXPECT_EQ(store->search_offset_by_time("T", 0, INT64_MAX), 250u);
  EXPECT_EQ(store->search_offset_by_time("Nope", 0, kT0), 0u);
  for (int64_t t = kT0 - 5; t < kT0 + 40 * 250 + 5; t += 7) {
    const uint64_t want = t <= kT0 ? 0 : static_cast<uint64_t>((t - kT0 + 39) / 40);
    ASSERT_EQ(store->search_offset_by_time("T", 0, t), want) << t;
  }
}

TEST(StoreConfigIndex, BadIndexKeysAreTypedErrorsNamingTheKey) {
  Properties p;
  p.set("maxIndexNum", "1");
  auto c = StoreConfig::from_properties(p);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("maxIndexNum"), std::string::npos);
  Properties q;
  q.set("maxHashSlotNum", "0");
  auto d = StoreConfig::from_properties(q);
  ASSERT_FALSE(d.is_ok());
  EXPECT_NE(d.status().message().find("maxHashSlotNum"), std::string::npos);
  Properties ok;
  ok.set("messageIndexEnable", "false");
  ok.set("maxIndexNum", "1000");
  auto e = StoreConfig::from_properties(ok);
  ASSERT_TRUE(e.is_ok());
  EXPECT_FALSE(e->message_index_enable);
  EXPECT_EQ(e->max_index_num, 1000u);
}

}  // namespace
}  // namespace comet::commitlog
