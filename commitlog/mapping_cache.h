// A bounded cache of read-only file mappings, least recently used first out. It exists so that a
// broker with tens of thousands of ConsumeQueue files stays under the kernel's limit on mappings
// per process (vm.max_map_count, 65,530 by default) and holds no descriptor per file: a file is
// mapped when first read, its descriptor is closed at once (the mapping keeps the file), and past
// `capacity` the least recently used mapping is dropped.
//
// Readers hold a FileMapping by shared_ptr (a Pin): eviction only drops the cache's reference, so
// a segment is unmapped when its last reader lets go, never under one. Keys name a file by owner
// (one per ConsumeQueue instance, so a queue deleted and made again never finds its predecessor's
// mappings) and the file's first byte offset; forget() drops a key whose file is deleted or cut.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace comet::commitlog {

// One read-only, shared mapping of a whole file; unmapped by its destructor.
class FileMapping {
 public:
  // Maps the first `size` bytes of `path` (which must be at least that long) for reading.
  static Result<std::shared_ptr<const FileMapping>> map(const std::string& path, uint64_t size);
  ~FileMapping();
  FileMapping(const FileMapping&) = delete;
  FileMapping& operator=(const FileMapping&) = delete;

  const uint8_t* data() const { return base_; }
  uint64_t size() const { return size_; }

 private:
  FileMapping(const uint8_t* base, uint64_t size) : base_(base), size_(size) {}
  const uint8_t* base_;
  uint64_t size_;
};

using MappingPin = std::shared_ptr<const FileMapping>;

class MappingCache {
 public:
  struct Key {
    uint64_t owner = 0;  // new_owner(): one per file set (a ConsumeQueue instance)
    uint64_t start = 0;  // the file's first byte offset in its queue
    bool operator==(const Key&) const = default;
  };
  struct Stats {
    uint64_t mapped = 0;     // mappings the cache holds now
    uint64_t hits = 0;       // acquire() that found the mapping
    uint64_t misses = 0;     // acquire() that mapped the file
    uint64_t evictions = 0;  // mappings dropped for capacity
  };

  explicit MappingCache(size_t capacity);
  MappingCache(const MappingCache&) = delete;
  MappingCache& operator=(const MappingCache&) = delete;

  // A fresh owner id for Key::owner.
  static uint64_t new_owner();
  // The mapping of `key`, mapping `path` (`size` bytes) when the cache does not hold it. Holding
  // the pin keeps it mapped, whatever the cache evicts meanwhile.
  Result<MappingPin> acquire(const Key& key, const std::string& path, uint64_t size);
  // Drops `key` (its file was deleted or cut); pinned readers keep their mapping.
  void forget(const Key& key);
  size_t capacity() const { return capacity_; }
  Stats stats() const;

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const { return k.owner * 0x9E3779B97F4A7C15ull ^ k.start; }
  };
  using Lru = std::list<std::pair<Key, MappingPin>>;  // most recently used first

  // Trims to capacity; the dropped pins are moved to `dropped` to be released unlocked
  // (munmap is a system call that takes the process's mmap lock).
  void evict_locked(std::vector<MappingPin>& dropped);

  const size_t capacity_;
  mutable std::mutex mu_;
  Lru lru_;
  std::unordered_map<Key, Lru::iterator, KeyHash> index_;
  Stats stats_;
};

}  // namespace comet::commitlog
