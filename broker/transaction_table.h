// TransactionTable: the open transactions of a master, as a pure state machine (no I/O, no
// clock). The TransactionService feeds it the records of the half queue and the op queue in log
// order (physical offset) and asks it which transactions are due for a check.
//
// A transaction is keyed by its origin: the half-topic queue offset of its first half message.
// A check re-appends a copy of the half message carrying the origin and the check count, so the
// table learns of a check when its copy arrives; an op record (commit, rollback, discard) names
// the origin it ends. The rules:
//   - a half record whose origin is its own queue offset opens a transaction (unless the origin
//     is below the low water H, which the table was started from);
//   - a copy updates its open transaction (check count, time of the check, newest copy) and is
//     ignored when the origin is not open (settled already, or below H);
//   - an op ends its open transaction and is ignored when the origin is not open;
//   - a transaction is due for its first check `timeout` (or its CHECK_IMMUNITY_TIME_IN_SECONDS)
//     after its first half was stored, and for each next one `check_interval` after the last check;
//   - an in-flight mark keeps it out of due(): kCheck (a check's copy being appended) until the
//     copy arrives, kEnd (an END's or a discard's op being appended) until the op arrives; the
//     service clears a mark after a refused append. An END may overtake a check (kCheck to
//     kEnd), never another END;
//   - H = the lowest open origin, or the half queue's end when none is open; it never moves back.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace comet::broker {

// What the table needs of one record of the half queue.
struct HalfRecordInfo {
  uint64_t origin = 0;                 // TRAN_PREPARED_QUEUE_OFFSET, else its own queue offset
  uint64_t queue_offset = 0;           // its own offset in the half queue
  uint64_t physical_offset = 0;        // its CommitLog offset
  int64_t born_ms = 0;                 // when the producer sent the first half (copies keep it)
  int64_t stored_ms = 0;               // when this record was stored (for a copy: when checked)
  uint32_t check_times = 0;            // TRANSACTION_CHECK_TIMES (0 on the first half)
  std::optional<int64_t> immunity_ms;  // CHECK_IMMUNITY_TIME_IN_SECONDS * 1000
  std::string_view producer_group;     // PGROUP
};

struct TransactionTiming {
  int64_t timeout_ms = 6000;          // transactionTimeOut
  int64_t check_interval_ms = 30000;  // transactionCheckInterval
};

// One open transaction, as listed and as handed out for a check.
struct OpenEntry {
  uint64_t origin = 0;
  uint64_t physical_offset = 0;  // of its newest half record (the first half or the last copy)
  int64_t born_ms = 0;
  int64_t due_ms = 0;  // when it is due for its next check
  uint32_t check_times = 0;
  std::string_view producer_group;
  bool operator==(const OpenEntry&) const = default;
};

enum class InFlight : uint8_t { kNone = 0, kCheck = 1, kEnd = 2 };

struct DueScan {
  std::vector<OpenEntry> due;  // in origin order from `from_origin` (wrapping), at most `limit`
  // The earliest due time of the open transactions not due yet (and not in flight); only when
  // the scan went through the whole table (fewer than `limit` due).
  std::optional<int64_t> next_due_ms;
};

class TransactionTable {
 public:
  // `low_water`: H as committed (origins below it are settled).
  TransactionTable(TransactionTiming timing, uint64_t low_water);

  // --- Feeding, in log order ---
  void on_half(const HalfRecordInfo& h);
  void on_op(uint64_t origin);

  // --- Reading ---
  // The open transactions due at `now_ms` and not in flight, from origin `from_origin` on and
  // then from the oldest: a service that resumes after the last origin it took reaches every
  // due transaction in turn, however many there are, rather than the oldest again and again.
  DueScan due(int64_t now_ms, size_t limit, uint64_t from_origin = 0) const;
  std::optional<OpenEntry> find(uint64_t origin) const;
  bool is_open(uint64_t origin) const { return open_.contains(origin); }
  size_t size() const { return open_.size(); }
  // H: every origin below it is settled.
  uint64_t low_water() const;
  // The half queue offset after the newest half record fed (H when none is open).
  uint64_t half_end() const { return half_end_; }
  // Open transactions, oldest first, of `group` (every group when empty), at most `limit`;
  // `total` counts all of them.
  std::vector<OpenEntry> list(std::string_view group, size_t limit, uint64_t& total) const;

  // --- In-flight marks ---
  // Marks an open transaction in flight for `kind`: false when it is not open or its mark is
  // kind or more already (a check over nothing; an end over nothing or a check).
  bool mark_in_flight(uint64_t origin, InFlight kind);
  // Clears the mark if it is `kind` (a refused append of that kind).
  void clear_in_flight(uint64_t origin, InFlight kind);
  InFlight in_flight(uint64_t origin) const;

 private:
  // 32 bytes per open transaction besides the map node; the group is an index into groups_.
  struct Entry {
    uint64_t physical_offset;
    int64_t born_ms;
    int64_t due_ms;
    uint32_t group;
    uint32_t check_times : 30;
    uint32_t in_flight : 2;  // an InFlight
  };

  uint32_t intern(std::string_view group);
  OpenEntry view(uint64_t origin, const Entry& e) const;
  int64_t first_due_ms(const HalfRecordInfo& h) const;

  TransactionTiming timing_;
  std::map<uint64_t, Entry> open_;
  uint64_t floor_;     // H as committed: origins below are settled
  uint64_t half_end_;  // newest half queue offset fed + 1
  std::vector<std::string> groups_;
  std::unordered_map<std::string, uint32_t> group_ids_;
};

}  // namespace comet::broker
