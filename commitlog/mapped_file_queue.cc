#include "commitlog/mapped_file_queue.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "common/logging.h"

namespace comet::commitlog {

namespace fs = std::filesystem;

MappedFileQueue::MappedFileQueue(std::string dir, uint64_t file_size, AllocateService* allocator,
                                 bool prefault)
    : dir_(std::move(dir)), file_size_(file_size), allocator_(allocator), prefault_(prefault) {}

std::string MappedFileQueue::path_for(uint64_t start_offset) const {
  return dir_ + "/" + MappedFile::file_name(start_offset);
}

Status MappedFileQueue::load() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Status::io_error("create " + dir_ + ": " + ec.message());
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.size() != 20 ||
        !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    found.emplace_back(std::stoull(name), entry.path().string());
  }
  if (ec) return Status::io_error("list " + dir_ + ": " + ec.message());
  std::sort(found.begin(), found.end());

  std::unique_lock lock(mu_);
  files_.clear();
  orphaned_.clear();
  for (const auto& [start, path] : found) {
    if (!files_.empty() && start != files_.back()->end_offset()) {
      orphaned_.push_back(path);
      continue;
    }
    if (!orphaned_.empty()) {
      orphaned_.push_back(path);
      continue;
    }
    auto mf = MappedFile::open(path, start, file_size_);
    if (!mf.is_ok()) return mf.status();
    if (mf.value()->was_short() && first_short_offset_ == UINT64_MAX) {
      first_short_offset_ = start;
    }
    // Until recovery says otherwise, a segment is taken as written and flushed in full.
    mf.value()->set_write_pos(file_size_);
    mf.value()->set_flushed_pos(file_size_);
    files_.push_back(std::move(mf).value());
  }
  if (!files_.empty()) base_offset_ = files_.front()->start_offset();
  return Status::ok();
}

bool MappedFileQueue::empty() const {
  std::shared_lock lock(mu_);
  return files_.empty();
}

size_t MappedFileQueue::count() const {
  std::shared_lock lock(mu_);
  return files_.size();
}

MappedFilePtr MappedFileQueue::first() const {
  std::shared_lock lock(mu_);
  return files_.empty() ? nullptr : files_.front();
}

MappedFilePtr MappedFileQueue::last() const {
  std::shared_lock lock(mu_);
  return files_.empty() ? nullptr : files_.back();
}

MappedFilePtr MappedFileQueue::find(uint64_t offset) const {
  std::shared_lock lock(mu_);
  if (files_.empty()) return nullptr;
  uint64_t first = files_.front()->start_offset();
  if (offset < first) return nullptr;
  uint64_t idx = (offset - first) / file_size_;
  return idx < files_.size() ? files_[idx] : nullptr;
}

std::vector<MappedFilePtr> MappedFileQueue::snapshot() const {
  std::shared_lock lock(mu_);
  return files_;
}

uint64_t MappedFileQueue::min_offset() const {
  std::shared_lock lock(mu_);
  return files_.empty() ? base_offset_ : files_.front()->start_offset();
}

uint64_t MappedFileQueue::max_written_offset() const {
  std::shared_lock lock(mu_);
  return files_.empty() ? base_offset_ : files_.back()->start_offset() + files_.back()->write_pos();
}

void MappedFileQueue::set_base_offset(uint64_t offset) {
  std::unique_lock lock(mu_);
  base_offset_ = offset;
}

Result<MappedFilePtr> MappedFileQueue::create_next(uint64_t start_offset) {
  {
    std::shared_lock lock(mu_);
    if (!files_.empty() && files_.back()->end_offset() != start_offset) {
      return Status::invalid_argument("segment at " + std::to_string(start_offset) +
                                      " would not follow the last one");
    }
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  Result<MappedFilePtr> made = Status::unavailable("");
  if (allocator_ != nullptr) {
    uint64_t next = start_offset + file_size_;
    made = allocator_->take(path_for(start_offset), start_offset, file_size_, path_for(next), next);
  } else {
    made = MappedFile::create(path_for(start_offset), start_offset, file_size_, prefault_);
  }
  if (!made.is_ok()) return made.status();
  std::unique_lock lock(mu_);
  files_.push_back(made.value());
  return made;
}

void MappedFileQueue::prefetch_next() {
  if (allocator_ == nullptr) return;
  uint64_t start;
  {
    std::shared_lock lock(mu_);
    if (!files_.empty() && !files_.back()->is_full()) {
      start = files_.back()->end_offset();  // the active one has room: make its successor
    } else {
      start = files_.empty() ? base_offset_ : files_.back()->end_offset();
    }
  }
  allocator_->prefetch(path_for(start), start, file_size_);
}

Status MappedFileQueue::truncate(uint64_t offset) {
  std::vector<MappedFilePtr> doomed;
  MappedFilePtr holder;
  {
    std::unique_lock lock(mu_);
    while (!files_.empty() && files_.back()->start_offset() >= offset) {
      doomed.push_back(files_.back());
      files_.pop_back();
    }
    if (!files_.empty() && files_.back()->end_offset() > offset) holder = files_.back();
    if (files_.empty()) base_offset_ = offset;
  }
  for (auto& f : doomed)
    COMET_RETURN_IF_ERROR(f->destroy());
  for (const auto& path : orphaned_) {
    std::error_code ec;
    fs::remove(path, ec);
  }
  orphaned_.clear();
  if (holder) {
    uint64_t pos = offset - holder->start_offset();
    COMET_RETURN_IF_ERROR(holder->zero_from(pos));
    holder->set_write_pos(pos);
    if (holder->flushed_pos() > pos) holder->set_flushed_pos(pos);
  }
  return Status::ok();
}

size_t MappedFileQueue::delete_first(size_t n) {
  std::vector<MappedFilePtr> doomed;
  {
    std::unique_lock lock(mu_);
    n = std::min(n, files_.empty() ? 0 : files_.size() - 1);
    doomed.assign(files_.begin(), files_.begin() + static_cast<ptrdiff_t>(n));
    files_.erase(files_.begin(), files_.begin() + static_cast<ptrdiff_t>(n));
  }
  for (auto& f : doomed) {
    Status s = f->destroy();
    if (!s.is_ok()) logger("commitlog")->warn("delete {}: {}", f->path(), s.to_string());
  }
  return doomed.size();
}

}  // namespace comet::commitlog
