#include "broker/metadata_store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "common/logging.h"
#include "common/rocksdb_status.h"

namespace comet::broker {
namespace {

constexpr Family kFamilies[] = {Family::kTopics, Family::kConsumerOffsets, Family::kHa,
                                Family::kSubscriptionGroups};

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}
std::string_view view(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

rocksdb::WriteOptions write_options(bool sync) {
  rocksdb::WriteOptions o;
  o.sync = sync;
  return o;
}

bool has_prefix(const rocksdb::Slice& key, std::string_view prefix) {
  return key.size() >= prefix.size() && view(key).substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string_view family_name(Family f) {
  switch (f) {
    case Family::kTopics:
      return "topics";
    case Family::kConsumerOffsets:
      return "consumer_offsets";
    case Family::kHa:
      return "ha";
    case Family::kSubscriptionGroups:
      return "subscription_groups";
  }
  return "unknown";
}

Result<std::unique_ptr<MetadataStore>> MetadataStore::open(const std::string& store_path_root_dir) {
  std::unique_ptr<MetadataStore> store(new MetadataStore());
  store->path_ = path_for(store_path_root_dir);
  const std::string& path = store->path_;
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return Status::unavailable("metadata store " + path +
                               ": cannot create directory: " + ec.message());
  }

  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.keep_log_file_num = 4;
  options.max_manifest_file_size = 16 << 20;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // A broker restarted on a full disk must still open its metadata: replaying the WAL into a
  // new SST file at open (RocksDB preallocates SST files by the MiB) failed with ENOSPC and the
  // broker did not start (issue 24). The WAL is kept instead; the memtable is flushed as usual
  // later, when there is room.
  options.avoid_flush_during_recovery = true;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = 4 << 20;

  // Every column family present on disk must be opened; families a newer version added are
  // opened and left alone.
  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName};
  for (Family f : kFamilies)
    names.emplace_back(family_name(f));
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(options, path, &existing).ok()) {
    for (const std::string& n : existing) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& n : names)
    descriptors.emplace_back(n, cf_options);

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, descriptors, &handles, &db);
  if (!s.ok()) {
    std::string msg = "metadata store " + path + ": cannot open: " + s.ToString();
    if (s.IsCorruption()) return Status::corruption(std::move(msg));
    return Status::unavailable(std::move(msg));
  }
  store->db_.reset(db);
  store->default_handle_ = handles[0];
  for (size_t i = 0; i < std::size(kFamilies); ++i)
    store->handles_.push_back(handles[i + 1]);
  for (size_t i = std::size(kFamilies) + 1; i < handles.size(); ++i) {
    logger("broker")->warn("metadata store {}: unknown column family '{}' left untouched", path,
                           names[i]);
    store->handles_.push_back(handles[i]);
  }
  return store;
}

MetadataStore::~MetadataStore() {
  if (!db_) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_)
    db_->DestroyColumnFamilyHandle(h);
  db_->DestroyColumnFamilyHandle(default_handle_);
  rocksdb::Status s = db_->Close();
  if (!s.ok()) logger("broker")->warn("metadata store {}: close: {}", path_, s.ToString());
  db_.reset();
}

rocksdb::ColumnFamilyHandle* MetadataStore::handle(Family f) const {
  return handles_[static_cast<size_t>(f)];
}

Result<std::string> MetadataStore::get(Family f, std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(f), slice(key), &value);
  if (!s.ok()) return from_rocksdb(s, "metadata get");
  return value;
}

void MetadataStore::resume_if_stopped() {
  if (!stopped_by_no_space_.load(std::memory_order_acquire)) return;
  // Fails while there is still no room (the write after it then fails as before).
  if (db_->Resume().ok()) {
    stopped_by_no_space_.store(false, std::memory_order_release);
    logger("broker")->info("metadata store {} writes again", path_);
  }
}

Status MetadataStore::written(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::ok();
  if (!s.IsNoSpace()) return from_rocksdb(s, context);
  stopped_by_no_space_.store(true, std::memory_order_release);
  Status no_space = Status::no_space(std::string(context) + ": " + s.ToString());
  logger("broker")->error("metadata store {}: {}", path_, no_space.message());
  if (no_space_listener_) no_space_listener_(no_space);
  return no_space;
}

Status MetadataStore::put(Family f, std::string_view key, std::string_view value, bool sync) {
  resume_if_stopped();
  return written(db_->Put(write_options(sync), handle(f), slice(key), slice(value)),
                 "metadata put");
}

Status MetadataStore::remove(Family f, std::string_view key, bool sync) {
  resume_if_stopped();
  return written(db_->Delete(write_options(sync), handle(f), slice(key)), "metadata delete");
}

Status MetadataStore::write(const MetadataBatch& batch, bool sync) {
  rocksdb::WriteBatch wb;
  for (const MetadataBatch::Op& op : batch.ops_) {
    rocksdb::Status s = op.value ? wb.Put(handle(op.family), op.key, *op.value)
                                 : wb.Delete(handle(op.family), op.key);
    if (!s.ok()) return from_rocksdb(s, "metadata batch");
  }
  resume_if_stopped();
  return written(db_->Write(write_options(sync), &wb), "metadata write");
}

Status MetadataStore::for_each(
    Family f, std::string_view prefix,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(f)));
  for (it->Seek(slice(prefix)); it->Valid() && has_prefix(it->key(), prefix); it->Next()) {
    if (!fn(view(it->key()), view(it->value()))) break;
  }
  return from_rocksdb(it->status(), "metadata iterate");
}

Result<size_t> MetadataStore::remove_prefix(Family f, std::string_view prefix, bool sync) {
  rocksdb::WriteBatch wb;
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(f)));
  for (it->Seek(slice(prefix)); it->Valid() && has_prefix(it->key(), prefix); it->Next()) {
    rocksdb::Status s = wb.Delete(handle(f), it->key());
    if (!s.ok()) return from_rocksdb(s, "metadata batch");
    ++n;
  }
  COMET_RETURN_IF_ERROR(from_rocksdb(it->status(), "metadata iterate"));
  if (n == 0) return n;
  resume_if_stopped();
  COMET_RETURN_IF_ERROR(written(db_->Write(write_options(sync), &wb), "metadata write"));
  return n;
}

Status MetadataStore::flush() {
  resume_if_stopped();
  return written(db_->FlushWAL(true), "metadata flush");
}

}  // namespace comet::broker
