// MetadataStore: the broker's small, durable key/value metadata in one RocksDB database at
// <storePathRootDir>/metadata, one column family per kind (Family). The WAL is always on; writes
// are unsynced unless asked (`sync`), and flush() syncs the WAL so everything written before it
// survives a machine crash. One process may open a directory at a time (RocksDB's LOCK file):
// a second open fails with kUnavailable. Thread-safe; closed on destruction.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rocksdb {
class DB;
class Status;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace comet::broker {

enum class Family { kTopics = 0, kConsumerOffsets = 1, kHa = 2, kSubscriptionGroups = 3 };
// The column family: "topics", "consumer_offsets", "ha", "subscription_groups".
std::string_view family_name(Family f);

// Mutations applied atomically by MetadataStore::write().
class MetadataBatch {
 public:
  void put(Family f, std::string key, std::string value) {
    ops_.push_back({f, std::move(key), std::move(value)});
  }
  void remove(Family f, std::string key) { ops_.push_back({f, std::move(key), std::nullopt}); }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }

 private:
  friend class MetadataStore;
  struct Op {
    Family family;
    std::string key;
    std::optional<std::string> value;  // nullopt: delete
  };
  std::vector<Op> ops_;
};

class MetadataStore {
 public:
  // Opens (creating if missing) <store_path_root_dir>/metadata.
  static Result<std::unique_ptr<MetadataStore>> open(const std::string& store_path_root_dir);
  static std::string path_for(const std::string& store_path_root_dir) {
    return store_path_root_dir + "/metadata";
  }
  ~MetadataStore();
  MetadataStore(const MetadataStore&) = delete;
  MetadataStore& operator=(const MetadataStore&) = delete;

  const std::string& path() const { return path_; }

  // kNotFound when the key is absent.
  Result<std::string> get(Family f, std::string_view key) const;
  Status put(Family f, std::string_view key, std::string_view value, bool sync = false);
  // Deleting an absent key is not an error.
  Status remove(Family f, std::string_view key, bool sync = false);
  Status write(const MetadataBatch& batch, bool sync = false);
  // Calls `fn` for every key starting with `prefix` (all keys when empty) in key order, from a
  // consistent snapshot, until `fn` returns false.
  Status for_each(
      Family f, std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  // Deletes every key starting with `prefix` in one atomic batch; returns how many.
  Result<size_t> remove_prefix(Family f, std::string_view prefix, bool sync = false);
  // Syncs the WAL: every write that returned before this call is durable when it returns.
  Status flush();

  // A write that fails for want of space returns kNoSpace (the request is refused, as
  // SERVICE_NOT_AVAILABLE) and tells `listener` (the broker makes the store refuse writes). RocksDB
  // then stops writing until resumed: the next write resumes it first, so writes work again by
  // themselves once there is room.
  void set_no_space_listener(std::function<void(const Status&)> listener) {
    no_space_listener_ = std::move(listener);
  }

 private:
  MetadataStore() = default;
  rocksdb::ColumnFamilyHandle* handle(Family f) const;
  // Before a write: resumes RocksDB after a write failed for want of space.
  void resume_if_stopped();
  // A write's RocksDB status as a comet Status; one for want of space is kNoSpace and told.
  Status written(const rocksdb::Status& s, std::string_view context);

  std::function<void(const Status&)> no_space_listener_;
  std::atomic<bool> stopped_by_no_space_{false};

  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by Family
  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
};

}  // namespace comet::broker
