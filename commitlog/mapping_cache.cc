#include "commitlog/mapping_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace comet::commitlog {

Result<MappingPin> FileMapping::map(const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno("open " + path, errno);
  void* base = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping holds the file; the descriptor is not needed any more
  if (base == MAP_FAILED) return Status::from_errno("mmap " + path, err);
  return MappingPin(new FileMapping(static_cast<const uint8_t*>(base), size));
}

FileMapping::~FileMapping() {
  ::munmap(const_cast<uint8_t*>(base_), size_);
}

MappingCache::MappingCache(size_t capacity) : capacity_(capacity > 0 ? capacity : 1) {}

uint64_t MappingCache::new_owner() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

Result<MappingPin> MappingCache::acquire(const Key& key, const std::string& path, uint64_t size) {
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++stats_.hits;
      return it->second->second;
    }
  }
  // Mapped unlocked: opening and mapping a file must not hold up readers of other files.
  auto made = FileMapping::map(path, size);
  if (!made.is_ok()) return made.status();
  std::vector<MappingPin> dropped;
  MappingPin pin;
  {
    std::lock_guard lock(mu_);
    ++stats_.misses;
    if (auto it = index_.find(key); it != index_.end()) {
      pin = it->second->second;  // another reader mapped it meanwhile: ours goes
      dropped.push_back(std::move(made).value());
    } else {
      pin = std::move(made).value();
      lru_.emplace_front(key, pin);
      index_.emplace(key, lru_.begin());
      evict_locked(dropped);
    }
    stats_.mapped = lru_.size();
  }
  return pin;
}

void MappingCache::evict_locked(std::vector<MappingPin>& dropped) {
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    dropped.push_back(std::move(lru_.back().second));
    lru_.pop_back();
    ++stats_.evictions;
  }
}

void MappingCache::forget(const Key& key) {
  MappingPin dropped;
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    dropped = std::move(it->second->second);
    lru_.erase(it->second);
    index_.erase(it);
    stats_.mapped = lru_.size();
  }
}

MappingCache::Stats MappingCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace comet::commitlog
