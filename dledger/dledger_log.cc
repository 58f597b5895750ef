#include "dledger/dledger_log.h"

#include <cstring>
#include <filesystem>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "common/rocksdb_status.h"

namespace comet::dledger {
namespace {

constexpr std::string_view kHardStateKey = "hs";
constexpr char kEntryPrefix = 'e';
constexpr size_t kMetaBytes = 20;

template <typename T>
void put_le(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // the hosts comet supports are little-endian
  out.append(b, sizeof(T));
}
template <typename T>
T get_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Big-endian index after the prefix, so keys sort by index.
std::string entry_key(int64_t index) {
  std::string k(9, kEntryPrefix);
  for (int i = 0; i < 8; ++i)
    k[static_cast<size_t>(8 - i)] =
        static_cast<char>((static_cast<uint64_t>(index) >> (8 * i)) & 0xFF);
  return k;
}
int64_t key_index(const rocksdb::Slice& k) {
  uint64_t v = 0;
  for (size_t i = 1; i < 9; ++i)
    v = (v << 8) | static_cast<uint8_t>(k[i]);
  return static_cast<int64_t>(v);
}
bool is_entry_key(const rocksdb::Slice& k) {
  return k.size() == 9 && k[0] == kEntryPrefix;
}

std::string encode_meta(const EntryMeta& m) {
  std::string v;
  put_le(v, m.term);
  put_le(v, m.start);
  put_le(v, m.size);
  return v;
}
Result<EntryMeta> decode_meta(std::string_view v, int64_t index) {
  if (v.size() != kMetaBytes) {
    return Status::corruption("index record of entry " + std::to_string(index) + " has " +
                              std::to_string(v.size()) + " bytes");
  }
  return EntryMeta{get_le<int64_t>(v.data()), get_le<uint64_t>(v.data() + 8),
                   get_le<uint32_t>(v.data() + 16)};
}

}  // namespace

std::string encode_entry_data(uint64_t start, std::span<const uint8_t> bytes) {
  std::string d;
  d.reserve(8 + bytes.size());
  put_le(d, start);
  d.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return d;
}

bool decode_entry_data(const std::string& data, uint64_t* start, std::span<const uint8_t>* bytes) {
  if (data.empty()) {
    *bytes = {};
    return true;
  }
  if (data.size() < 8) return false;
  *start = get_le<uint64_t>(data.data());
  *bytes = {reinterpret_cast<const uint8_t*>(data.data()) + 8, data.size() - 8};
  return true;
}

Result<std::unique_ptr<DLedgerLog>> DLedgerLog::open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error("create " + dir + ": " + ec.message());
  std::unique_ptr<DLedgerLog> log(new DLedgerLog());
  log->path_ = dir;
  rocksdb::Options o;
  o.create_if_missing = true;
  o.max_open_files = 64;
  o.keep_log_file_num = 2;
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::Open(o, dir, &db);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status::unavailable("DLedger metadata " + dir + " is in use by another process");
    }
    return from_rocksdb(s, "open DLedger metadata " + dir);
  }
  log->db_.reset(db);

  std::string v;
  s = db->Get(rocksdb::ReadOptions(), std::string(kHardStateKey), &v);
  if (s.ok()) {
    if (v.size() != 20)
      return Status::corruption("DLedger hard state has " + std::to_string(v.size()) + " bytes");
    log->state_.term = get_le<int64_t>(v.data());
    log->state_.vote = get_le<int32_t>(v.data() + 8);
    log->state_.commit = get_le<int64_t>(v.data() + 12);
  } else if (!s.IsNotFound()) {
    return from_rocksdb(s, "read the DLedger hard state");
  }
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(entry_key(INT64_MAX));
  if (it->Valid() && is_entry_key(it->key())) log->last_index_ = key_index(it->key());
  COMET_RETURN_IF_ERROR(from_rocksdb(it->status(), "scan the DLedger index"));
  log->cache_base_ = log->last_index_;
  log->state_.commit = std::min(log->state_.commit, log->last_index_);
  return log;
}

DLedgerLog::~DLedgerLog() = default;

Result<EntryMeta> DLedgerLog::read_meta(int64_t index) const {
  std::string v;
  auto s = db_->Get(rocksdb::ReadOptions(), entry_key(index), &v);
  if (s.IsNotFound()) return Status::not_found("no index record of entry " + std::to_string(index));
  COMET_RETURN_IF_ERROR(from_rocksdb(s, "read the DLedger index"));
  return decode_meta(v, index);
}

Result<EntryMeta> DLedgerLog::meta(int64_t index) const {
  if (index < 1 || index > last_index_) {
    return Status::out_of_range("entry " + std::to_string(index) + " outside [1, " +
                                std::to_string(last_index_) + "]");
  }
  if (index > cache_base_) return cache_[static_cast<size_t>(index - cache_base_ - 1)];
  return read_meta(index);
}

Result<uint64_t> DLedgerLog::end_of(int64_t index) const {
  if (index <= 0) return uint64_t{0};
  COMET_ASSIGN_OR_RETURN(EntryMeta m, meta(index));
  return m.end();
}

int64_t DLedgerLog::last_term() const {
  auto m = meta(last_index_);
  return m.is_ok() ? m->term : 0;
}

Status DLedgerLog::write(const std::optional<HardState>& state,
                         std::optional<int64_t> truncate_from,
                         const std::vector<std::pair<int64_t, EntryMeta>>& appended) {
  rocksdb::WriteBatch b;
  bool sync = false;
  if (state) {
    std::string v;
    put_le(v, state->term);
    put_le(v, static_cast<int32_t>(state->vote));
    put_le(v, state->commit);
    b.Put(std::string(kHardStateKey), v);
    sync = state->term != state_.term || state->vote != state_.vote;
  }
  int64_t last = last_index_;
  if (truncate_from && *truncate_from <= last) {
    b.DeleteRange(entry_key(*truncate_from), entry_key(INT64_MAX));
    last = *truncate_from - 1;
  }
  for (const auto& [index, m] : appended) {
    if (index != last + 1) {
      return Status::invalid_argument("index record " + std::to_string(index) + " after " +
                                      std::to_string(last));
    }
    b.Put(entry_key(index), encode_meta(m));
    last = index;
  }
  rocksdb::WriteOptions o;
  o.sync = sync;
  COMET_RETURN_IF_ERROR(from_rocksdb(db_->Write(o, &b), "write the DLedger log " + path_));
  if (state) state_ = *state;
  if (truncate_from && *truncate_from <= last_index_) {
    if (*truncate_from <= cache_base_) {
      cache_.clear();
      cache_base_ = *truncate_from - 1;
    } else {
      cache_.resize(static_cast<size_t>(*truncate_from - cache_base_ - 1));
    }
  }
  for (const auto& [_, m] : appended)
    cache_.push_back(m);
  last_index_ = last;
  return Status::ok();
}

void DLedgerLog::trim_cache(int64_t index) {
  index = std::min(index, last_index_);
  if (index <= cache_base_) return;
  cache_.erase(cache_.begin(), cache_.begin() + (index - cache_base_));
  cache_base_ = index;
}

Result<int64_t> DLedgerLog::term(int64_t index) const {
  COMET_ASSIGN_OR_RETURN(EntryMeta m, meta(index));
  return m.term;
}

Status DLedgerLog::entries(int64_t lo, int64_t hi, size_t max_bytes,
                           std::vector<Entry>* out) const {
  if (commit_log_ == nullptr) return Status::unavailable("no CommitLog attached");
  size_t bytes = 0;
  for (int64_t i = lo; i < hi; ++i) {
    COMET_ASSIGN_OR_RETURN(EntryMeta m, meta(i));
    if (i > lo && bytes + m.size + 8 > max_bytes) break;
    Entry e{m.term, i, {}};
    if (m.size > 0) {
      if (m.start < commit_log_->min_offset()) {
        return Status::not_found("entry " + std::to_string(i) + " at offset " +
                                 std::to_string(m.start) +
                                 " was deleted by retention (the log starts at " +
                                 std::to_string(commit_log_->min_offset()) + ")");
      }
      e.data = encode_entry_data(m.start, {});
      COMET_RETURN_IF_ERROR(commit_log_->copy_range(m.start, m.end(), &e.data));
    }
    bytes += e.data.size();
    out->push_back(std::move(e));
  }
  return Status::ok();
}

}  // namespace comet::dledger
