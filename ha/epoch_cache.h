// The master epochs a CommitLog holds (RocketMQ's EpochFileCache): epoch e wrote the log from
// its entry's start offset up to the next entry's start. Every promotion appends an entry, so
// two logs agree exactly up to the end of the last epoch they share with the same start, and
// a replica with a divergent tail truncates there (the fencing rule of the design).
//
// A log with no entries holds "epoch 0" from its start: data written before any epoch was
// recorded. Not thread-safe: the broker's HA state owns it under its lock. MasterStream
// (ha/master_stream.h) answers a slave's handshake with consistent_offset(); SlaveStream
// (ha/slave_stream.h) checks a master's history with is_ordered() before it is adopted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace comet::ha {

struct EpochEntry {
  int64_t epoch = 0;
  uint64_t start_offset = 0;
  bool operator==(const EpochEntry&) const = default;
};

class EpochCache {
 public:
  EpochCache() = default;
  explicit EpochCache(std::vector<EpochEntry> entries, int64_t max_seen = 0);

  // "epoch:start,epoch:start;maxSeen" (what the broker stores in RocksDB).
  static Result<EpochCache> parse(std::string_view text);
  std::string serialize() const;

  const std::vector<EpochEntry>& entries() const { return entries_; }
  // Epoch of the last entry (0 with none).
  int64_t last_epoch() const { return entries_.empty() ? 0 : entries_.back().epoch; }
  // The highest epoch this broker has seen anywhere (its own, or a master's it followed).
  int64_t max_seen() const { return max_seen_; }
  void observe(int64_t epoch) { max_seen_ = std::max(max_seen_, epoch); }

  // Starts `epoch` (> every epoch seen) at `start_offset`: entries starting past it are
  // dropped first (epochs this log never received data of).
  Status start_epoch(int64_t epoch, uint64_t start_offset);
  // A replica adopting its master's history: entries become `master`'s, max_seen grows.
  void adopt(const std::vector<EpochEntry>& master);

  // Epochs strictly grow and each starts where the previous one did or later (a well-formed
  // history, ours or a master's).
  static bool is_ordered(const std::vector<EpochEntry>& entries);

  // The offset up to which a log with these entries ending at `end` and another log agree.
  static uint64_t consistent_offset(const std::vector<EpochEntry>& a, uint64_t a_end,
                                    const std::vector<EpochEntry>& b, uint64_t b_end);

 private:
  std::vector<EpochEntry> entries_;
  int64_t max_seen_ = 0;
};

}  // namespace comet::ha
