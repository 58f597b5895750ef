// One message index file in RocketMQ's IndexFile layout (docs/format.md), little-endian: a
// 40-byte header, `slot_num` 4-byte hash slot heads, then `index_num` 20-byte entries
// (key hash u32 | CommitLog offset u64 | seconds since the file's begin timestamp u32 | previous
// entry of the same slot u32). Entry 0 is never used: 0 means "none" in slots and prev links, so
// each slot heads a stack of its entries, newest first.
//
// IndexFileView holds the format logic on a byte span (put, look up, undo, validate and repair),
// so tests and the fuzzer run it without a file; IndexFile maps a file for it. A file read back
// from disk is untrusted: validate() checks its header against the configuration, and every chain
// walk is bounded (a prev link must point below its entry, at most index_count steps).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace comet::commitlog {

struct IndexHeader {
  int64_t begin_timestamp_ms = 0;  // store time of the first entry (the base of time diffs)
  int64_t end_timestamp_ms = 0;    // latest store time of an entry
  uint64_t begin_phy_offset = 0;   // CommitLog offset from which the file covers the log
  uint64_t end_phy_offset = 0;     // CommitLog offset up to which it covers the log
  uint32_t hash_slot_count = 0;    // slots in use
  uint32_t index_count = 1;        // next entry to write (entry 0 is unused)
};

struct IndexEntry {
  uint32_t key_hash = 0;
  uint64_t phy_offset = 0;
  uint32_t time_diff_s = 0;
  uint32_t prev_index = 0;
};

// RocketMQ's buildKey: topic + "#" + key, hashed to 32 bits.
uint32_t index_key_hash(std::string_view topic, std::string_view key);

class IndexFileView {
 public:
  static constexpr size_t kHeaderSize = 40;
  static constexpr size_t kSlotSize = 4;
  static constexpr size_t kEntrySize = 20;
  // Entries a torn put may leave past index_count: one record's keys at most (its properties
  // hold at most kMaxPropertiesLength bytes, two per key at least) plus its UNIQ_KEY.
  static constexpr uint32_t kMaxPendingEntries = 16 * 1024 + 2;

  static uint64_t file_size(uint32_t slot_num, uint32_t index_num);

  // `bytes` must be file_size(slot_num, index_num) long.
  IndexFileView(std::span<uint8_t> bytes, uint32_t slot_num, uint32_t index_num);

  // Writes the header of an empty file covering the log from `begin_phy_offset`.
  void init(uint64_t begin_phy_offset);
  // A file read back: checks the size and header against the configuration and undoes entries
  // a crash left past index_count (written, perhaps linked into their slot, never counted).
  // Corruption when the file cannot be trusted. `repaired` receives the entries undone.
  Status validate_and_repair(uint32_t* repaired = nullptr);

  IndexHeader header() const;
  uint32_t free_entries() const;
  // Adds one entry; false (nothing written) when the file is full.
  bool put(uint32_t key_hash, uint64_t phy_offset, int64_t store_timestamp_ms);
  // Byte offsets in the file of `key_hash`'s slot and of entry `index` (what a put writes).
  uint64_t slot_offset(uint32_t key_hash) const {
    return kHeaderSize + uint64_t{slot_of(key_hash)} * kSlotSize;
  }
  uint64_t entry_offset(uint32_t index) const {
    return kHeaderSize + uint64_t{slot_num_} * kSlotSize + uint64_t{index} * kEntrySize;
  }
  // Records that the log is indexed up to `end_phy_offset`.
  void cover(uint64_t end_phy_offset);
  // Walks the chain of `key_hash`'s slot newest first, calling `visit(phy_offset, approx_ms)`
  // for each entry with that hash (approx_ms: the store time rounded down to the second) until
  // it returns false. Bounded by index_count steps and strictly decreasing links.
  template <typename Visit>
  void lookup(uint32_t key_hash, Visit&& visit) const;
  // Undoes entries with an offset at or past `cut`, newest first, and moves end_phy_offset back
  // to `cut`. Returns how many entries it undid.
  uint32_t undo_from(uint64_t cut);

 private:
  uint32_t slot_of(uint32_t key_hash) const { return key_hash % slot_num_; }
  uint8_t* slot_ptr(uint32_t slot) const {
    return bytes_.data() + kHeaderSize + uint64_t{slot} * kSlotSize;
  }
  uint8_t* entry_ptr(uint32_t index) const { return bytes_.data() + entry_offset(index); }
  uint32_t slot_head(uint32_t slot) const;
  void set_slot_head(uint32_t slot, uint32_t index);
  IndexEntry entry(uint32_t index) const;
  void write_header(const IndexHeader& h);
  // Unlinks entry `index` from its slot if it heads it, and zeroes it; true when it was linked.
  bool unlink(uint32_t index);

  std::span<uint8_t> bytes_;
  uint32_t slot_num_;
  uint32_t index_num_;
};

template <typename Visit>
void IndexFileView::lookup(uint32_t key_hash, Visit&& visit) const {
  const IndexHeader h = header();
  uint32_t at = slot_head(slot_of(key_hash));
  for (uint32_t steps = 0; at != 0 && at < h.index_count && steps < h.index_count; ++steps) {
    const IndexEntry e = entry(at);
    int64_t approx_ms = 0;
    if (__builtin_add_overflow(h.begin_timestamp_ms, int64_t{e.time_diff_s} * 1000, &approx_ms)) {
      approx_ms = INT64_MAX;  // only a damaged header's begin time gets here
    }
    if (e.key_hash == key_hash && !visit(e.phy_offset, approx_ms)) {
      return;
    }
    if (e.prev_index >= at) return;  // a link that does not go back: a damaged file
    at = e.prev_index;
  }
}

// An index file on disk, mapped; created sparse (ftruncate): idle slots and entries take no
// blocks. Blocks are allocated a page at a time just before the first write to the page
// (reserve_for_put), so a full disk fails a put with an error instead of raising SIGBUS on a
// store into a hole.
class IndexFile {
 public:
  static Result<std::unique_ptr<IndexFile>> create(const std::string& path, uint32_t slot_num,
                                                   uint32_t index_num, uint64_t begin_phy_offset);
  // Maps an existing file and validates (and repairs) it.
  static Result<std::unique_ptr<IndexFile>> open(const std::string& path, uint32_t slot_num,
                                                 uint32_t index_num);
  ~IndexFile();
  IndexFile(const IndexFile&) = delete;
  IndexFile& operator=(const IndexFile&) = delete;

  const std::string& path() const { return path_; }
  // Allocates the pages the next put of `key_hash` writes (its slot and the next entry) unless
  // done before. kNoSpace (ENOSPC) when the disk is full.
  Status reserve_for_put(uint32_t key_hash);
  IndexFileView& view() { return view_; }
  const IndexFileView& view() const { return view_; }
  Status flush();
  // Unlinks the file (the mapping goes with the object).
  Status destroy();

 private:
  IndexFile(std::string path, int fd, uint8_t* base, uint64_t size, uint32_t slot_num,
            uint32_t index_num);
  static Result<std::unique_ptr<IndexFile>> map(const std::string& path, int fd, uint32_t slot_num,
                                                uint32_t index_num);

  // Allocates page `page` (of 4 KiB) unless reserved_ says it was.
  Status reserve_page(uint64_t page);

  std::string path_;
  int fd_;
  uint8_t* base_;
  uint64_t size_;
  IndexFileView view_;
  std::vector<bool> reserved_;  // per 4 KiB page: allocated by reserve_page (or known to be)
};

}  // namespace comet::commitlog
