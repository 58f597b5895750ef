#include "commitlog/allocate_service.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/logging.h"

namespace comet::commitlog {

namespace {
// A fill's step: between steps, a warm or an allocation request goes first.
constexpr uint64_t kFillStep = 8ull << 20;
}  // namespace

AllocateService::AllocateService(bool prefault) : prefault_(prefault) {
  thread_ = std::thread([this] { run(); });
}

AllocateService::~AllocateService() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& [path, req] : requests_) {
    if (req.done && req.result.is_ok()) (void)req.result.value()->destroy();
  }
}

void AllocateService::run() {
  std::unique_lock lock(mu_);
  while (true) {
    busy_ = false;
    cv_.notify_all();  // wait_idle()
    cv_.wait(lock,
             [&] { return stop_ || !queue_.empty() || warm_.file != nullptr || !fills_.empty(); });
    if (stop_) return;
    busy_ = true;
    if (warm_.file != nullptr) {  // the active segment first: appends are about to need it
      Warm w = std::move(warm_);
      warm_ = Warm{};
      lock.unlock();
      w.file->warm(w.from, w.upto);
      w.file.reset();  // may unmap a segment dropped meanwhile: not under the lock
      lock.lock();
      continue;
    }
    if (queue_.empty()) {  // a fill, a step at a time, so that other work can go first
      Fill& f = fills_.front();
      if (f.file.use_count() == 1 || f.from >= f.file->size()) {  // dropped by its log, or done
        MappedFilePtr dropped = std::move(f.file);
        fills_.pop_front();
        lock.unlock();
        dropped.reset();
        lock.lock();
        continue;
      }
      MappedFilePtr file = f.file;
      const uint64_t from = f.from;
      f.from = std::min(file->size(), from + kFillStep);
      lock.unlock();
      file->fill(from, from + kFillStep);
      file.reset();
      lock.lock();
      continue;
    }
    std::string path = queue_.front();
    queue_.pop_front();
    auto it = requests_.find(path);
    if (it == requests_.end()) continue;
    uint64_t start = it->second.start_offset;
    uint64_t size = it->second.size;
    lock.unlock();
    auto made = MappedFile::create(path, start, size, prefault_);
    if (!made.is_ok()) {
      logger("commitlog")
          ->error("background allocation of {} failed: {}", path, made.status().to_string());
    }
    lock.lock();
    it = requests_.find(path);
    if (it != requests_.end()) {
      it->second.result = std::move(made);
      it->second.done = true;
    } else if (made.is_ok()) {
      (void)made.value()->destroy();  // discarded meanwhile
    }
    cv_.notify_all();
  }
}

void AllocateService::enqueue_locked(const std::string& path, uint64_t start_offset,
                                     uint64_t size) {
  if (stop_ || requests_.find(path) != requests_.end()) return;
  Request r;
  r.path = path;
  r.start_offset = start_offset;
  r.size = size;
  requests_.emplace(path, std::move(r));
  queue_.push_back(path);
  cv_.notify_all();
}

void AllocateService::warm(MappedFilePtr file, uint64_t from, uint64_t upto) {
  Warm replaced;  // released outside the lock
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    replaced = std::exchange(warm_, Warm{std::move(file), from, upto});
  }
  cv_.notify_all();
}

void AllocateService::wait_idle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] {
    return stop_ || (!busy_ && queue_.empty() && warm_.file == nullptr && fills_.empty());
  });
}

void AllocateService::discard_all() {
  std::lock_guard lock(mu_);
  warm_ = Warm{};
  fills_.clear();
  for (auto& [path, req] : requests_) {
    if (req.done && req.result.is_ok()) (void)req.result.value()->destroy();
  }
  requests_.clear();
  queue_.clear();
}

void AllocateService::prefetch(const std::string& path, uint64_t start_offset, uint64_t size) {
  std::lock_guard lock(mu_);
  enqueue_locked(path, start_offset, size);
}

Result<MappedFilePtr> AllocateService::take(const std::string& path, uint64_t start_offset,
                                            uint64_t size, const std::string& next_path,
                                            uint64_t next_start_offset) {
  Result<MappedFilePtr> out = Status::unavailable("not made");
  {
    std::unique_lock lock(mu_);
    auto it = requests_.find(path);
    if (it != requests_.end() && it->second.start_offset == start_offset &&
        it->second.size == size) {
      const auto waited_from = std::chrono::steady_clock::now();
      cv_.wait(lock, [&] { return stop_ || it->second.done; });
      const auto waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - waited_from)
                                 .count();
      if (waited_ms >= 10) {
        logger("commitlog")
            ->warn(
                "appends waited {} ms for segment {} to be pre-allocated: the disk or memory is "
                "slower than the append rate",
                waited_ms, path);
      }
      if (it->second.done) out = std::move(it->second.result);
      requests_.erase(it);
    }
    if (!next_path.empty()) enqueue_locked(next_path, next_start_offset, size);
  }
  // A failed background attempt (disk full then) is retried here, on the caller's thread.
  if (!out.is_ok()) out = MappedFile::create(path, start_offset, size, prefault_);
  // The segment is the active one now: the rest of it is filled in the background. (Not when
  // it is made: a fresh broker would then zero-fill its first two segments, 2 GiB, at once.)
  if (out.is_ok() && prefault_) {
    {
      std::lock_guard lock(mu_);
      fills_.push_back({out.value(), MappedFile::kWarmWindow});
    }
    cv_.notify_all();
  }
  return out;
}

}  // namespace comet::commitlog
