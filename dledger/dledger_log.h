// DLedgerLog: what a DLedger member persists besides the CommitLog, in its own RocksDB
// database (<storePathRootDir>/dledger): the hard state (term, vote, commit) and one index
// record per Raft entry (term, and the CommitLog range [start, start + size) the entry carries;
// size 0 for a leader's no-op). The entry bytes themselves are the CommitLog's records, so a
// member's CommitLog is its Raft log.
//
// A write that changes the term or the vote is synced before it returns (a vote is durable
// before it is answered); entry records and commit advances are written unsynced, like the
// CommitLog pages they describe (both survive a killed process).
//
// It is the RaftNode's LogStore: entries the node compacted out of memory are read back from
// the index and the CommitLog. Entry data on the wire and in the node is the start offset
// (u64, little-endian) followed by the record bytes; empty for a no-op.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "commitlog/commit_log.h"
#include "dledger/raft_node.h"

namespace rocksdb {
class DB;
}

namespace comet::dledger {

struct EntryMeta {
  int64_t term = 0;
  uint64_t start = 0;
  uint32_t size = 0;
  uint64_t end() const { return start + size; }
};

// Entry data: the CommitLog offset it starts at, then its bytes.
std::string encode_entry_data(uint64_t start, std::span<const uint8_t> bytes);
// false when `data` is neither empty nor at least the 8-byte offset.
bool decode_entry_data(const std::string& data, uint64_t* start, std::span<const uint8_t>* bytes);

class DLedgerLog : public LogStore {
 public:
  static Result<std::unique_ptr<DLedgerLog>> open(const std::string& dir);
  ~DLedgerLog() override;

  const HardState& hard_state() const { return state_; }
  int64_t last_index() const { return last_index_; }
  int64_t last_term() const;
  Result<EntryMeta> meta(int64_t index) const;
  // The CommitLog offset where entry `index` ends (entry 0: where the first entry starts).
  Result<uint64_t> end_of(int64_t index) const;

  // One atomic write: the hard state, then the index cut at `truncate_from`, then `appended`
  // (consecutive, continuing the index).
  Status write(const std::optional<HardState>& state, std::optional<int64_t> truncate_from,
               const std::vector<std::pair<int64_t, EntryMeta>>& appended);
  // Forgets in-memory copies of index records up to `index` (they stay on disk).
  void trim_cache(int64_t index);

  // The CommitLog that holds the entries' bytes (LogStore reads need it).
  void attach(const commitlog::CommitLog* log) { commit_log_ = log; }

  Result<int64_t> term(int64_t index) const override;
  Status entries(int64_t lo, int64_t hi, size_t max_bytes, std::vector<Entry>* out) const override;

 private:
  DLedgerLog() = default;
  Result<EntryMeta> read_meta(int64_t index) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::string path_;
  HardState state_;
  int64_t last_index_ = 0;
  // Index records cache_base_ + 1 .. last_index_ (the recent ones the hot path asks for).
  std::deque<EntryMeta> cache_;
  int64_t cache_base_ = 0;
  const commitlog::CommitLog* commit_log_ = nullptr;
};

}  // namespace comet::dledger
