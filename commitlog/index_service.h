// IndexService: the message index under <storePathRootDir>/index, RocketMQ's IndexService.
// The dispatcher hands it every record in log order; it adds an entry per key (each of KEYS,
// space-separated, and the UNIQ_KEY) to the newest index file and rotates to a new file when
// that is full. Files are named by the CommitLog offset from which they cover the log, and each
// header's end offset says how far that is: the last file's end is where the index continues
// after a restart, so a record is indexed exactly once (replay skips what is covered; a record
// half indexed when the process died is undone on load and indexed again).
//
// Derived data like the ConsumeQueues: every replica builds its own; a damaged file is dropped
// with the files after it and rebuilt from the log.
//
// Threads: the dispatcher writes (index, truncate, reset); retention deletes; queries read under
// a shared lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "commitlog/index_file.h"
#include "commitlog/store_config.h"
#include "common/record_codec.h"

namespace comet::commitlog {

class IndexService {
 public:
  explicit IndexService(const StoreConfig& config);
  ~IndexService();

  // Maps the files on disk. A file that fails validation is logged and deleted with every
  // later file (the log rebuilds them); only I/O errors fail the load.
  Status load();
  // The CommitLog offset up to which the index is complete; nullopt without any file (nothing
  // is known: the whole log is to be indexed).
  std::optional<uint64_t> covered_end() const;
  // Indexes `r`, the record at the covered end (or past it, after a blank or below the log's
  // start); a record below the covered end is already indexed and skipped.
  Status index(const RecordView& r);
  // Undoes every entry at or past `cut` and deletes the files that begin there or later.
  Status truncate(uint64_t cut);
  // Deletes every file: the log restarts empty at `offset`.
  Status reset(uint64_t offset);
  // Retention: deletes the files (never the newest) that cover only the log below `log_min`.
  size_t delete_below(uint64_t log_min);
  Status flush();

  // Candidate CommitLog offsets for (topic, key) in [min_phy, max_phy), stored about within
  // [begin_ms, end_ms] (to the second), newest first, at most `max_candidates`. Hash matches
  // only: the caller reads each record back to confirm it.
  std::vector<uint64_t> lookup(std::string_view topic, std::string_view key, int64_t begin_ms,
                               int64_t end_ms, uint64_t min_phy, uint64_t max_phy,
                               size_t max_candidates) const;
  // Store time of the last record indexed (0 before the first).
  int64_t last_update_ms() const { return last_update_ms_.load(std::memory_order_acquire); }
  size_t file_count() const;
  std::string dir() const { return config_.store_path_root_dir + "/index"; }
  // The keys `r` is indexed under: each of KEYS up to record::kMaxKeyLength, and its UNIQ_KEY;
  // none for a transaction rollback.
  static std::vector<std::string_view> keys_of(const RecordView& r);

 private:
  std::string path_for(uint64_t begin_phy_offset) const;
  // The file to add `entries` entries to, created or rotated as needed. Under mu_.
  Result<IndexFile*> writable_file(uint32_t entries, uint64_t begin_phy_offset);
  Status drop_files_from(size_t first);

  const StoreConfig config_;
  mutable std::shared_mutex mu_;
  // By begin offset; the last one is written. Shared: a flush syncs a file outside mu_.
  std::vector<std::shared_ptr<IndexFile>> files_;
  std::optional<uint64_t> covered_;  // guarded by mu_ (written by the dispatcher)
  std::atomic<int64_t> last_update_ms_{0};
  bool warned_too_many_keys_ = false;
};

}  // namespace comet::commitlog
