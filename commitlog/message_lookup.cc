// MessageStore's lookups (issue 21): by key through the message index, by CommitLog offset, and
// by store time through a ConsumeQueue. Every answer comes from bytes below dispatched(), which
// every replica holds identically, so a replica answers as its master does.
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "commitlog/index_service.h"
#include "commitlog/message_store.h"

namespace comet::commitlog {

namespace {

// Candidates read per hit asked for: the index holds hashes, so a few collide, and a record
// with a key listed twice (or also as its UNIQ_KEY) comes once per entry.
constexpr size_t kCandidatesPerHit = 2;
constexpr size_t kCandidateSlack = 64;
// Queries return at most this many messages whatever they ask.
constexpr uint32_t kMaxQueryHits = 64 * 1024;
// Units a time search steps over when it lands on a hole or a unit whose record is gone.
constexpr uint64_t kMaxUnreadableUnits = 1024;

bool key_in_keys(std::string_view keys, std::string_view key) {
  while (!keys.empty()) {
    const size_t space = keys.find(' ');
    if (keys.substr(0, space) == key) return true;
    if (space == std::string_view::npos) break;
    keys.remove_prefix(space + 1);
  }
  return false;
}

}  // namespace

Result<ReadView> MessageStore::read_message_at(uint64_t physical_offset) const {
  const uint64_t min = commit_log_.min_offset();
  // Not dispatched(): the dispatcher puts a batch's ConsumeQueue units before it advances that,
  // so a pull can return a message before dispatched() covers it (a view right after a pull then
  // failed in CI).
  const uint64_t end = dispatch_end();
  if (physical_offset < min || physical_offset >= end) {
    return Status::not_found("offset " + std::to_string(physical_offset) +
                             " is outside the readable log [" + std::to_string(min) + ", " +
                             std::to_string(end) + ")");
  }
  auto head = commit_log_.read(physical_offset, record::kHeaderSize);
  if (!head.is_ok()) return Status::not_found(head.status().message());
  const auto bad = [&](std::string_view why) {
    return Status::invalid_argument("no message starts at offset " +
                                    std::to_string(physical_offset) + ": " + std::string(why));
  };
  if (head->size < record::kHeaderSize) return bad("too few bytes left in its segment");
  uint32_t size = 0;
  std::memcpy(&size, head->data + record::kOffTotalSize, sizeof(size));
  if (size < record::kMinRecordSize || size > end - physical_offset) return bad("bad length");
  auto whole = commit_log_.read_exact(physical_offset, size);
  if (!whole.is_ok()) return bad(whole.status().message());
  const auto d = record::decode(whole->data, whole->size, /*verify_crc=*/true);
  if (d.outcome != record::Outcome::kRecord || d.size != size ||
      d.record.physical_offset != physical_offset) {
    return bad(d.outcome == record::Outcome::kRecord ? "offset mismatch" : d.reason);
  }
  return whole;
}

Result<MessageStore::QueryResult> MessageStore::query_messages(std::string_view topic,
                                                               std::string_view key,
                                                               uint32_t max_num, int64_t begin_ms,
                                                               int64_t end_ms) const {
  if (!index_) return Status::unsupported("messageIndexEnable is off: messages are not indexed");
  if (key.empty()) return Status::invalid_argument("empty message key");
  if (key.size() > record::kMaxKeyLength) {
    return Status::invalid_argument("message key of " + std::to_string(key.size()) +
                                    " bytes; keys longer than " +
                                    std::to_string(record::kMaxKeyLength) + " are not indexed");
  }
  QueryResult out;
  const uint64_t end = dispatched_.get();
  out.index_last_update_phy = end;
  out.index_last_update_ms = index_->last_update_ms();
  max_num = std::min(max_num, kMaxQueryHits);
  if (max_num == 0 || begin_ms > end_ms) return out;
  const std::vector<uint64_t> candidates =
      index_->lookup(topic, key, begin_ms, end_ms, commit_log_.min_offset(), end,
                     size_t{max_num} * kCandidatesPerHit + kCandidateSlack);
  std::unordered_set<uint64_t> seen;
  for (uint64_t phy : candidates) {
    if (out.messages.size() >= max_num) break;
    if (!seen.insert(phy).second) continue;
    auto view = read_message_at(phy);
    if (!view.is_ok()) continue;  // deleted by retention meanwhile
    const auto d = record::decode(view->data, view->size, /*verify_crc=*/false);
    const RecordView& r = d.record;
    if (r.topic != topic || r.store_timestamp_ms < begin_ms || r.store_timestamp_ms > end_ms) {
      continue;
    }
    if (find_property(r.properties, kPropertyUniqKey) != key &&
        !key_in_keys(find_property(r.properties, kPropertyKeys), key)) {
      continue;  // a hash collision
    }
    out.messages.push_back(std::move(view).value());
  }
  return out;
}

namespace {

// Store time of the record a unit names; nullopt for a hole or a record no longer in the log.
std::optional<int64_t> unit_store_time(const CommitLog& log, const CqUnit& u) {
  if (u.size < record::kMinRecordSize) return std::nullopt;
  auto head = log.read(u.physical_offset, record::kHeaderSize);
  if (!head.is_ok() || head->size < record::kHeaderSize) return std::nullopt;
  return record::peek_store_timestamp(head->data);
}

// The first unit at or after `from` (below `to`, at most kMaxUnreadableUnits on) whose record
// is readable: its queue offset and store time.
std::optional<std::pair<uint64_t, int64_t>> first_readable(const CommitLog& log,
                                                           const ConsumeQueue& cq, uint64_t from,
                                                           uint64_t to) {
  const uint64_t stop = std::min(to, from + kMaxUnreadableUnits);
  for (uint64_t at = from; at < stop; ++at) {
    const auto u = cq.get(at);
    if (!u) return std::nullopt;
    if (auto t = unit_store_time(log, *u)) return std::make_pair(at, *t);
  }
  return std::nullopt;
}

}  // namespace

uint64_t MessageStore::search_offset_by_time(std::string_view topic, uint32_t queue_id,
                                             int64_t timestamp_ms) const {
  const ConsumeQueuePtr cq = find_cq(topic, queue_id);
  if (cq == nullptr) return 0;
  // The first offset in [lo, hi) whose message was stored at or after timestamp_ms; hi if none.
  uint64_t lo = cq->min_offset();
  uint64_t hi = cq->max_offset();
  const uint64_t max = hi;
  for (int steps = 0; lo < hi && steps < 128; ++steps) {
    const uint64_t mid = lo + (hi - lo) / 2;
    const auto probe = first_readable(commit_log_, *cq, mid, hi);
    if (!probe || probe->second >= timestamp_ms) {
      hi = mid;  // nothing readable in [mid, hi) counts as "at or after": nothing older there
    } else {
      lo = probe->first + 1;
    }
  }
  return std::min(lo, max);
}

std::optional<int64_t> MessageStore::earliest_store_time(std::string_view topic,
                                                         uint32_t queue_id) const {
  const ConsumeQueuePtr cq = find_cq(topic, queue_id);
  if (cq == nullptr || cq->min_offset() >= cq->max_offset()) return std::nullopt;
  const auto first = first_readable(commit_log_, *cq, cq->min_offset(), cq->max_offset());
  if (!first) return std::nullopt;
  return first->second;
}

}  // namespace comet::commitlog
