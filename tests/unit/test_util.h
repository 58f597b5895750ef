// Helpers shared by the unit tests: a temporary directory removed on scope exit, a manual
// clock, small-segment store configs and message builders.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "commitlog/store_config.h"
#include "common/clock.h"
#include "common/record_codec.h"

namespace comet::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "comet-test-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 1'700'000'000'000) : now_(now_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  void set(int64_t now_ms) { now_.store(now_ms); }
  void advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

inline commitlog::StoreConfig small_config(
    const std::string& root, uint64_t segment_bytes = 8192,
    commitlog::FlushDiskType flush = commitlog::FlushDiskType::kAsyncFlush) {
  commitlog::StoreConfig c;
  c.store_path_root_dir = root;
  c.mapped_file_size_commit_log = segment_bytes;
  c.mapped_file_size_consume_queue = 20 * 64;  // 64 units per ConsumeQueue segment
  c.flush_disk_type = flush;
  c.max_message_size = static_cast<uint32_t>(segment_bytes / 2);
  c.flush_interval_commit_log_ms = 50;
  c.flush_consume_queue_interval_ms = 50;
  c.clean_resource_interval_ms = 3600 * 1000;  // retention runs only when a test asks
  c.warm_mapped_file_enable = false;
  // The host's disk, however full, must not make a test's appends refused (disk full is tested
  // with a probe, tests/unit/retention_test.cc, and on a loop mount).
  c.disk_space_warning_level_ratio = 99;
  // Small index files (56 KiB): a test that copies a store copies them whole (fs::copy does not
  // keep holes), and the default 420 MB made recovery_test's byte-by-byte trials take minutes.
  c.max_hash_slot_num = 1024;
  c.max_index_num = 2600;
  return c;
}

// A body that names its message, so a read-back can be checked against what was sent.
inline std::string body_for(const std::string& topic, uint32_t queue, uint64_t seq,
                            size_t size = 100) {
  std::string b = topic + "/" + std::to_string(queue) + "/" + std::to_string(seq) + "|";
  while (b.size() < size)
    b += static_cast<char>('a' + (b.size() * 7 + seq) % 26);
  b.resize(std::max(size, b.size()));
  return b;
}

inline Message make_message(std::string_view topic, uint32_t queue, std::string_view body,
                            std::string_view props = {}) {
  Message m;
  m.topic = topic;
  m.queue_id = queue;
  m.body = body;
  m.properties = props;
  m.born_timestamp_ms = 1'700'000'000'000;
  m.born_host = {0x7f000001, 40000};
  return m;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Mappings of files under `dir` in this process (lines of /proc/self/maps naming one).
inline int mappings_under(const std::string& dir) {
  std::ifstream maps("/proc/self/maps");
  int n = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(dir + "/") != std::string::npos) ++n;
  }
  return n;
}

// Descriptors of this process open on files under `dir`.
inline int descriptors_under(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target.string().rfind(dir + "/", 0) == 0) ++n;
  }
  return n;
}

}  // namespace comet::testing
