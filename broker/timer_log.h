// The timer log: where a replica keeps its schedule of timer messages (RocketMQ 5's timerlog,
// simplified). Append-only, segmented files of fixed-size entries, one per timer message read
// from the timer topic's ConsumeQueue: {CommitLog offset, size, due ms, position of the previous
// entry of the same wheel slot}. The wheel (broker/timer_wheel.h) keeps only each slot's newest
// position in memory; a slot's entries are found by following `prev` through the log, so memory
// does not grow with the pending timers.
//
// Written with pwrite and read with pread (not mapped): pending timers cost page cache, not the
// broker's RSS. A position is a byte offset in the whole log; segment files are named by their
// first position (20 digits). Validity is the local checkpoint's (TimerCheckpoint): at start the
// log is cut to the checkpointed length and what came after is inserted again from the timer
// queue, so a torn or unsynced tail is never read.
//
// Entry (32 bytes, little-endian): commitlog offset u64 | size u32 | magic u32 "TMR1" |
// due ms i64 | prev position i64 (-1: none).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace comet::broker {

struct TimerEntry {
  uint64_t commitlog_offset = 0;
  uint32_t size = 0;
  int64_t due_ms = 0;
  int64_t prev = -1;  // position of the previous entry of the same slot; -1: none
  bool operator==(const TimerEntry&) const = default;
};

constexpr size_t kTimerEntrySize = 32;
constexpr uint32_t kTimerEntryMagic = 0x31524d54;  // "TMR1" little-endian

void encode_timer_entry(const TimerEntry& e, uint8_t* dst);
// nullopt for bytes that are not an entry (zeroes of a hole, a wrong magic, a negative due, a
// `prev` not before `pos`).
std::optional<TimerEntry> decode_timer_entry(const uint8_t* p, int64_t pos);

// What the wheel needs of a log: read an entry, append one, and the live range.
class TimerEntrySource {
 public:
  virtual ~TimerEntrySource() = default;
  virtual Result<TimerEntry> read(int64_t pos) const = 0;
  virtual Result<int64_t> append(const TimerEntry& e) = 0;
  virtual int64_t begin() const = 0;  // first live position (older segments were deleted)
  virtual int64_t end() const = 0;    // next position appended
};

class TimerLog : public TimerEntrySource {
 public:
  // Opens the log in `dir` (created if absent) cut to `length`: segments past it are deleted,
  // the one holding it truncated. `segment_entries` entries per segment file.
  static Result<std::unique_ptr<TimerLog>> open(const std::string& dir, uint64_t segment_entries,
                                                int64_t length);
  ~TimerLog() override;

  Result<TimerEntry> read(int64_t pos) const override;
  Result<int64_t> append(const TimerEntry& e) override;
  int64_t begin() const override;
  int64_t end() const override { return end_; }

  // Reads every live entry in position order (large sequential reads), calling `visit` for each
  // valid one, and learns each segment's latest due time for delete_delivered().
  Status load(const std::function<void(int64_t pos, const TimerEntry&)>& visit);
  // Makes every append so far durable.
  Status sync();
  // For a sync on another thread: duplicates of the segments' descriptors when anything was
  // appended since the last call (or sync()), else none; the caller fdatasyncs and closes them
  // (a segment deleted meanwhile stays open through its duplicate).
  std::vector<int> take_sync_handles();
  // Deletes the oldest segments whose entries are all due before `delivered_below_ms` (and so
  // delivered), never the one being written. Returns how many were deleted.
  size_t delete_delivered(int64_t delivered_below_ms);
  size_t segment_count() const { return segments_.size(); }
  uint64_t segment_bytes() const { return segment_bytes_; }

 private:
  struct Segment {
    int64_t start = 0;
    int fd = -1;
    int64_t max_due_ms = -1;  // latest due of its entries (-1: none)
  };
  TimerLog(std::string dir, uint64_t segment_entries);
  Segment* segment_of(int64_t pos);
  const Segment* segment_of(int64_t pos) const;
  Result<Segment*> writable_segment();

  std::string dir_;
  uint64_t segment_bytes_;
  std::vector<Segment> segments_;  // by start, ascending
  int64_t end_ = 0;
  bool dirty_ = false;
};

// The local checkpoint of a replica's schedule: the timer queue offset inserted up to and the
// timer log length that holds exactly those insertions (synced before the checkpoint is written).
struct TimerCheckpoint {
  uint64_t queue_offset = 0;
  int64_t log_length = 0;
};
// nullopt when there is no checkpoint; kCorruption for one that cannot be parsed.
Result<std::optional<TimerCheckpoint>> read_timer_checkpoint(const std::string& path);
// Writes it durably (a temporary file, fsync, rename).
Status write_timer_checkpoint(const std::string& path, const TimerCheckpoint& c);

}  // namespace comet::broker
