// Crash recovery: a torn or corrupted tail is cut at the first bad record; nothing acknowledged
// before the damage is lost and nothing after it is served.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "commitlog/mapped_file.h"
#include "commitlog/message_store.h"
#include "test_util.h"

namespace comet::commitlog {
namespace {

namespace fs = std::filesystem;
using comet::testing::body_for;
using comet::testing::make_message;
using comet::testing::small_config;
using comet::testing::TempDir;

struct Acked {
  std::string body;
  AppendResult at;
};

std::vector<Acked> write_messages(MessageStore& store, int n, uint32_t queues = 2) {
  std::vector<Acked> acked;
  for (int i = 0; i < n; ++i) {
    uint32_t q = static_cast<uint32_t>(i) % queues;
    std::string body = body_for("R", q, i, 100 + (i * 13) % 300);
    auto r = store.put_message(make_message("R", q, body));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    acked.push_back({body, *r});
  }
  return acked;
}

// Writes `n` messages into a fresh store and "kills" it; without a checkpoint recovery then
// verifies the whole log.
std::vector<Acked> write_then_crash(const StoreConfig& cfg, int n, bool keep_checkpoint) {
  std::vector<Acked> acked;
  auto store = MessageStore::open(cfg);
  EXPECT_TRUE(store.is_ok()) << store.status().to_string();
  if (!store.is_ok()) return acked;
  acked = write_messages(**store, n);
  (*store)->crash_for_test();
  if (!keep_checkpoint) fs::remove(cfg.store_path_root_dir + "/checkpoint");
  return acked;
}

std::string segment_path(const StoreConfig& c, uint64_t offset) {
  uint64_t start = offset - offset % c.mapped_file_size_commit_log;
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu", static_cast<unsigned long long>(start));
  return c.commit_log_dir() + "/" + name;
}

void patch_file(const std::string& path, uint64_t pos, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(pos)),
            static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

void flip_byte(const std::string& path, uint64_t pos) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c;
  ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(pos)), 1);
  c ^= 0x5a;
  ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(pos)), 1);
  ::close(fd);
}

// Every message in `expect` is served, in order, and nothing else is, on each queue.
void expect_exactly(MessageStore& store, const std::vector<Acked>& expect, uint32_t queues = 2) {
  for (uint32_t q = 0; q < queues; ++q) {
    std::vector<std::string> want;
    for (const auto& a : expect) {
      if (a.at.queue_offset == want.size() && a.body.find("R/" + std::to_string(q) + "/") == 0) {
        want.push_back(a.body);
      }
    }
    auto g = store.get_messages("R", q, 0, 100000, 1ull << 40);
    std::vector<std::string> got;
    for (const auto& v : g.messages) {
      auto d = record::decode(v.data, v.size);
      ASSERT_EQ(d.outcome, record::Outcome::kRecord);
      got.emplace_back(d.record.body);
    }
    EXPECT_EQ(got, want) << "queue " << q;
    EXPECT_EQ(store.max_queue_offset("R", q), want.size());
  }
}

TEST(Recovery, ASecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  auto cfg = small_config(dir.path());
  auto first = MessageStore::open(cfg);
  ASSERT_TRUE(first.is_ok());
  auto second = MessageStore::open(cfg);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
  // The refused open changed nothing: the first store still works and still recovers.
  std::string body = "still mine";
  ASSERT_TRUE((*first)->put_message(make_message("R", 0, body)).is_ok());
  first = Status::shutdown("closed");  // destroys the store, releasing the lock
  auto third = MessageStore::open(cfg);
  ASSERT_TRUE(third.is_ok()) << third.status().to_string();
  EXPECT_EQ((*third)->max_queue_offset("R", 0), 1u);
}

TEST(Recovery, CleanShutdownIsToldFromACrash) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 4096);
  std::vector<Acked> acked;
  {
    auto store = MessageStore::open(cfg);
    ASSERT_TRUE(store.is_ok());
    EXPECT_FALSE((*store)->recovery_info().crashed);
    acked = write_messages(**store, 100);
    ASSERT_TRUE((*store)->shutdown().is_ok());
  }
  {
    auto store = MessageStore::open(cfg);
    ASSERT_TRUE(store.is_ok());
    EXPECT_FALSE((*store)->recovery_info().crashed);
    EXPECT_TRUE((*store)->recovery_info().checkpoint_found);
    EXPECT_EQ((*store)->recovery_info().redispatched, 0u);  // the index was complete
    expect_exactly(**store, acked);
    (*store)->crash_for_test();
  }
  auto store = MessageStore::open(cfg);
  ASSERT_TRUE(store.is_ok());
  EXPECT_TRUE((*store)->recovery_info().crashed);
  expect_exactly(**store, acked);
}

TEST(Recovery, HalfWrittenRecordAtTheTailIsTruncated) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 8192, FlushDiskType::kSyncFlush);
  std::vector<Acked> acked = write_then_crash(cfg, 120, /*keep_checkpoint=*/true);
  ASSERT_EQ(acked.size(), 120u);
  const uint64_t end = acked.back().at.end_offset();
  // The writer died mid-memcpy: the first half of a next record reached the file.
  const std::string torn_body(300, 'z');
  Message m = make_message("R", 0, torn_body);
  std::string rec(record::encoded_size(m), '\0');
  record::encode(m, acked.size(), end, 0, {}, reinterpret_cast<uint8_t*>(rec.data()));
  patch_file(segment_path(cfg, end), end % cfg.mapped_file_size_commit_log,
             rec.substr(0, rec.size() / 2));

  auto store = MessageStore::open(cfg);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_TRUE((*store)->recovery_info().crashed);
  EXPECT_EQ((*store)->commit_log().max_offset(), end);
  expect_exactly(**store, acked);
  // The log continues where the valid records end, with dense queue offsets.
  std::string next_body = body_for("R", 0, 9999);
  auto r = (*store)->put_message(make_message("R", 0, next_body));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->physical_offset, end);
  EXPECT_EQ(r->queue_offset, 60u);
}

TEST(Recovery, FlippedByteInTheLastRecordDropsOnlyThatRecord) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 8192);
  std::vector<Acked> acked;
  {
    auto store = MessageStore::open(cfg);
    ASSERT_TRUE(store.is_ok());
    acked = write_messages(**store, 75);
    ASSERT_TRUE((*store)->shutdown().is_ok());  // even a clean stop's tail is verified
  }
  const AppendResult last = acked.back().at;
  flip_byte(segment_path(cfg, last.physical_offset),
            last.physical_offset % cfg.mapped_file_size_commit_log + last.size / 2);
  acked.pop_back();

  auto store = MessageStore::open(cfg);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ((*store)->commit_log().max_offset(), last.physical_offset);
  expect_exactly(**store, acked);
}

TEST(Recovery, CorruptionMidLogCutsEverythingAfterIt) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 4096);
  std::vector<Acked> acked = write_then_crash(cfg, 150, /*keep_checkpoint=*/false);
  // Damage record 40.
  const AppendResult bad = acked[40].at;
  flip_byte(segment_path(cfg, bad.physical_offset),
            bad.physical_offset % cfg.mapped_file_size_commit_log + 30);
  acked.resize(40);

  auto store = MessageStore::open(cfg);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ((*store)->commit_log().max_offset(), bad.physical_offset);
  expect_exactly(**store, acked);
  // No data past the damage survives on disk: segments wholly past it were deleted (the store
  // may since have pre-allocated an empty successor, which holds only zeroes).
  for (const auto& e : fs::directory_iterator(cfg.commit_log_dir())) {
    if (std::stoull(e.path().filename().string()) <= bad.physical_offset) continue;
    const std::string bytes = comet::testing::read_file(e.path().string());
    EXPECT_EQ(bytes.find_first_not_of('\0'), std::string::npos) << e.path() << " holds data";
  }
}

TEST(Recovery, TruncatedSegmentFileKeepsOnlyWholeRecords) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 4096);
  std::vector<Acked> acked = write_then_crash(cfg, 100, /*keep_checkpoint=*/false);
  // The file system lost the second half of a middle segment.
  const uint64_t seg_start = 4096 * 5;
  const uint64_t cut = seg_start + 2048;
  fs::resize_file(segment_path(cfg, seg_start), 2048);
  std::vector<Acked> survivors;
  for (const auto& a : acked) {
    if (a.at.end_offset() <= cut) survivors.push_back(a);
  }
  ASSERT_LT(survivors.size(), acked.size());

  auto store = MessageStore::open(cfg);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ((*store)->commit_log().max_offset(), survivors.back().at.end_offset());
  expect_exactly(**store, survivors);
  EXPECT_EQ(fs::file_size(segment_path(cfg, seg_start)), 4096u);
}

// A real crash: a child process appends under SYNC_FLUSH and reports each acknowledged
// offset through a pipe until it is SIGKILLed. Every acknowledged record survives.
TEST(Recovery, KillNineDuringSyncFlushLosesNoAcknowledgedRecord) {
  TempDir dir;
  auto cfg = small_config(dir.path(), 16384, FlushDiskType::kSyncFlush);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto store = MessageStore::open(cfg);
    if (!store.is_ok()) ::_exit(2);
    for (int i = 0; i < 1000000; ++i) {
      std::string body = body_for("R", 0, i, 200);
      auto r = (*store)->put_message(make_message("R", 0, body));
      if (!r.is_ok()) ::_exit(3);
      uint64_t qo = r->queue_offset;
      if (::write(fds[1], &qo, sizeof(qo)) != sizeof(qo)) ::_exit(4);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  uint64_t last_acked = 0;
  uint64_t n_acked = 0;
  while (n_acked < 300) {
    ASSERT_EQ(::read(fds[0], &last_acked, sizeof(last_acked)),
              static_cast<ssize_t>(sizeof(last_acked)));
    ++n_acked;
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  uint64_t extra;
  while (::read(fds[0], &extra, sizeof(extra)) == sizeof(extra))
    last_acked = extra;
  ::close(fds[0]);

  auto store = MessageStore::open(cfg);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_TRUE((*store)->recovery_info().crashed);
  EXPECT_GT((*store)->max_queue_offset("R", 0), last_acked);
  auto g = (*store)->get_messages("R", 0, 0, 100000, 1ull << 40);
  ASSERT_EQ(g.status, GetStatus::kFound);
  for (size_t i = 0; i < g.messages.size(); ++i) {
    auto d = record::decode(g.messages[i].data, g.messages[i].size);
    ASSERT_EQ(d.outcome, record::Outcome::kRecord);
    EXPECT_EQ(d.record.body, body_for("R", 0, i, 200));
  }
}

TEST(Recovery, TruncationLeavesZeroesOnDiskAndTheTailWritable) {
  // A segment full of data (some pre-faulted, some flushed); truncating it mid-page must leave
  // nothing past the cut, in the mapping or in the file, and the tail must take appends again.
  TempDir dir;
  const std::string path = dir.path() + "/seg";
  constexpr uint64_t kSize = 256 * 1024;
  constexpr uint64_t kCut = 10000;  // inside a page
  for (bool prefault : {false, true}) {
    SCOPED_TRACE(prefault ? "pre-faulted" : "not pre-faulted");
    fs::remove(path);
    auto f = MappedFile::create(path, 0, kSize, prefault);
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    std::memset((*f)->data(), 'x', kSize);
    (*f)->set_write_pos(kSize);
    ASSERT_TRUE((*f)->flush(kSize / 2).is_ok());  // half on disk, half only in the page cache
    ASSERT_TRUE((*f)->zero_from(kCut).is_ok());
    EXPECT_EQ((*f)->write_pos(), kCut);
    const uint8_t* m = (*f)->data();
    EXPECT_EQ(std::count(m, m + kCut, 'x'), static_cast<long>(kCut));
    EXPECT_EQ(std::count(m + kCut, m + kSize, 0), static_cast<long>(kSize - kCut));
    // The file as read(2) sees it, and its size and blocks: unchanged size, nothing past the cut.
    std::string disk(kSize, '?');
    int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pread(fd, disk.data(), kSize, 0), static_cast<ssize_t>(kSize));
    ::close(fd);
    EXPECT_EQ(std::count(disk.begin(), disk.begin() + kCut, 'x'), static_cast<long>(kCut));
    EXPECT_EQ(std::count(disk.begin() + kCut, disk.end(), '\0'), static_cast<long>(kSize - kCut));
    // Appends past the cut land and read back.
    std::memset((*f)->data() + kCut, 'y', 5000);
    EXPECT_EQ(std::count(m + kCut, m + kCut + 5000, 'y'), 5000);
    EXPECT_TRUE((*f)->flush(kCut + 5000).is_ok());
  }
}

// Power loss, at every byte: a store whose last records were written but never flushed (the
// checkpoint says where the flushed part ends) loses its tail from any byte on (zeroes from
// there, as a preallocated file reads), or has any one byte of it damaged. At every such point,
// recovery serves every record that ends before the damage (the flushed ones among them) and no
// other; the log then takes appends where it ends.
TEST(Recovery, PowerLossAtEveryByteOfTheUnflushedTail) {
  TempDir dir;
  const std::string base = dir.path() + "/base";
  auto cfg = small_config(base, 4096);
  cfg.flush_interval_commit_log_ms = 3600 * 1000;  // nothing flushed but by the clean stop
  cfg.flush_consume_queue_interval_ms = 3600 * 1000;
  std::vector<Acked> acked;
  // Message n goes to queue n % 2 with a body that names it.
  auto put = [&](MessageStore& store, size_t size) {
    const auto n = static_cast<uint32_t>(acked.size());
    std::string body = body_for("R", n % 2, n, size);
    auto r = store.put_message(make_message("R", n % 2, body));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    acked.push_back({body, *r});
  };
  {
    auto store = MessageStore::open(cfg);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    // Up to a few hundred bytes before a segment's end, so that a short tail crosses it.
    const uint64_t seg = cfg.mapped_file_size_commit_log;
    for (int i = 0; i < 200; ++i) {
      ASSERT_NO_FATAL_FAILURE(put(**store, 100 + (i * 13) % 300));
      if (i >= 10 && seg - acked.back().at.end_offset() % seg < 300) break;
    }
    ASSERT_TRUE((*store)->shutdown().is_ok());  // flushed, and the checkpoint says so
  }
  const uint64_t flushed = acked.back().at.end_offset();
  const size_t flushed_count = acked.size();
  {
    auto store = MessageStore::open(cfg);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    // The unflushed tail: records up to and past the next segment boundary (so it holds the
    // end-of-segment filler too).
    const uint64_t segment = flushed / cfg.mapped_file_size_commit_log;
    for (int i = 0; i < 100; ++i) {
      ASSERT_NO_FATAL_FAILURE(put(**store, 30));
      if (acked.back().at.physical_offset / cfg.mapped_file_size_commit_log > segment &&
          acked.size() >= flushed_count + 5) {
        break;
      }
    }
    (*store)->crash_for_test();
  }
  const uint64_t end = acked.back().at.end_offset();
  ASSERT_GT(end / cfg.mapped_file_size_commit_log, flushed / cfg.mapped_file_size_commit_log);

  // The log's bytes as the crash left them.
  auto byte_at = [&, cache = std::map<uint64_t, std::string>()](uint64_t offset) mutable {
    const uint64_t seg = offset - offset % cfg.mapped_file_size_commit_log;
    auto it = cache.find(seg);
    if (it == cache.end())
      it = cache.emplace(seg, comet::testing::read_file(segment_path(cfg, seg))).first;
    return static_cast<uint8_t>(it->second.at(offset - seg));
  };
  // One trial: a copy of the crashed store, damaged from `at` on, recovered and checked.
  const std::string trial = dir.path() + "/trial";
  auto run = [&](uint64_t at, bool flip) {
    SCOPED_TRACE((flip ? "byte flipped at " : "zeroes from ") + std::to_string(at));
    fs::remove_all(trial);
    fs::copy(base, trial, fs::copy_options::recursive);
    auto tcfg = cfg;
    tcfg.store_path_root_dir = trial;
    if (flip) {
      flip_byte(segment_path(tcfg, at), at % tcfg.mapped_file_size_commit_log);
    } else {
      for (uint64_t from = at; from < end;) {
        const uint64_t seg_end =
            (from / tcfg.mapped_file_size_commit_log + 1) * tcfg.mapped_file_size_commit_log;
        const uint64_t to = std::min(end, seg_end);
        patch_file(segment_path(tcfg, from), from % tcfg.mapped_file_size_commit_log,
                   std::string(to - from, '\0'));
        from = to;
      }
    }
    // Zeroes over bytes that were zero already change nothing (a record without properties
    // ends with a zero length): the damage begins at the first byte it changes.
    uint64_t damaged = at;
    while (!flip && damaged < end && byte_at(damaged) == 0)
      ++damaged;
    std::vector<Acked> survivors;
    for (const auto& a : acked) {
      if (a.at.end_offset() > damaged) break;
      survivors.push_back(a);
    }
    ASSERT_GE(survivors.size(), flushed_count) << "the model damages only the unflushed tail";
    auto store = MessageStore::open(tcfg);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    EXPECT_TRUE((*store)->recovery_info().crashed);
    const uint64_t log_end = (*store)->commit_log().max_offset();
    EXPECT_GE(log_end, survivors.back().at.end_offset());
    EXPECT_LE(log_end, std::max(damaged, survivors.back().at.end_offset()));
    expect_exactly(**store, survivors);
    // The log goes on where it ends.
    auto r = (*store)->put_message(make_message("R", 0, body_for("R", 0, 99999)));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_GE(r->physical_offset, log_end);
    size_t queue0 = 0;
    for (const auto& a : survivors)
      queue0 += a.body.rfind("R/0/", 0) == 0 ? 1 : 0;
    EXPECT_EQ(r->queue_offset, queue0);
    (*store)->crash_for_test();  // no flush and checkpoint to wait for
  };
  int trials = 0;
  for (uint64_t at = flushed; at <= end && !::testing::Test::HasFailure(); ++at, ++trials)
    run(at, /*flip=*/false);
  // Flips inside records (a flip in an end-of-segment filler's unused bytes changes nothing).
  for (const auto& a : acked) {
    if (a.at.physical_offset < flushed) continue;
    for (uint64_t at = a.at.physical_offset;
         at < a.at.end_offset() && !::testing::Test::HasFailure(); ++at, ++trials) {
      run(at, /*flip=*/true);
    }
  }
  std::printf("%d power-loss trials over the %llu unflushed bytes past offset %llu\n", trials,
              static_cast<unsigned long long>(end - flushed),
              static_cast<unsigned long long>(flushed));
}

}  // namespace
}  // namespace comet::commitlog
