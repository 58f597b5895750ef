#include "commitlog/index_service.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "commitlog/mapped_file.h"
#include "common/logging.h"

namespace comet::commitlog {

namespace fs = std::filesystem;

namespace {

// An index file's name: the 20-digit CommitLog offset it covers the log from.
std::optional<uint64_t> index_file_offset(const std::string& name) {
  if (name.size() != 20 ||
      !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(name);
}

}  // namespace

IndexService::IndexService(const StoreConfig& config) : config_(config) {}

IndexService::~IndexService() = default;

std::string IndexService::path_for(uint64_t begin_phy_offset) const {
  return dir() + "/" + MappedFile::file_name(begin_phy_offset);
}

Status IndexService::load() {
  auto log = logger("commitlog");
  std::error_code ec;
  fs::create_directories(dir(), ec);
  if (ec) return Status::io_error("create " + dir() + ": " + ec.message());
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const auto& e : fs::directory_iterator(dir(), ec)) {
    const std::string name = e.path().filename().string();
    if (auto offset = index_file_offset(name); offset && e.is_regular_file()) {
      found.emplace_back(*offset, e.path().string());
    }
  }
  if (ec) return Status::io_error("list " + dir() + ": " + ec.message());
  std::sort(found.begin(), found.end());
  std::unique_lock lock(mu_);
  files_.clear();
  for (size_t i = 0; i < found.size(); ++i) {
    auto file = IndexFile::open(found[i].second, config_.max_hash_slot_num, config_.max_index_num);
    const bool in_order =
        file.is_ok() && (*file)->view().header().begin_phy_offset == found[i].first &&
        (files_.empty() || files_.back()->view().header().end_phy_offset <= found[i].first);
    if (!in_order) {
      log->error("index file {} is damaged ({}); it and the {} after it are rebuilt from the log",
                 found[i].second,
                 file.is_ok() ? "its offsets do not follow the files before it"
                              : file.status().to_string(),
                 found.size() - i - 1);
      for (size_t j = i; j < found.size(); ++j)
        fs::remove(found[j].second, ec);
      break;
    }
    files_.push_back(std::move(file).value());
  }
  covered_.reset();
  if (!files_.empty()) {
    const IndexHeader last = files_.back()->view().header();
    covered_ = last.end_phy_offset;
    last_update_ms_.store(last.end_timestamp_ms, std::memory_order_release);
    // A record the process died indexing: its entries lie at or past the covered end (a record's
    // entries always go to one file, the last).
    if (const uint32_t undone = files_.back()->view().undo_from(last.end_phy_offset); undone > 0) {
      log->warn("index: {} entry(ies) of a record indexed half when the store stopped undone",
                undone);
    }
  }
  return Status::ok();
}

std::optional<uint64_t> IndexService::covered_end() const {
  std::shared_lock lock(mu_);
  return covered_;
}

size_t IndexService::file_count() const {
  std::shared_lock lock(mu_);
  return files_.size();
}

std::vector<std::string_view> IndexService::keys_of(const RecordView& r) {
  std::vector<std::string_view> keys;
  if ((r.sys_flag & kSysFlagTransactionMask) == kSysFlagTransactionRollback) return keys;
  std::string_view all = find_property(r.properties, kPropertyKeys);
  while (!all.empty()) {
    const size_t space = all.find(' ');
    const std::string_view key = all.substr(0, space);
    if (!key.empty() && key.size() <= record::kMaxKeyLength) keys.push_back(key);
    if (space == std::string_view::npos) break;
    all.remove_prefix(space + 1);
  }
  const std::string_view uniq = find_property(r.properties, kPropertyUniqKey);
  if (!uniq.empty() && uniq.size() <= record::kMaxKeyLength) keys.push_back(uniq);
  return keys;
}

Result<IndexFile*> IndexService::writable_file(uint32_t entries, uint64_t begin_phy_offset) {
  if (!files_.empty()) {
    IndexFileView& v = files_.back()->view();
    // All of a record's entries go to one file, so undoing a half-indexed record touches one.
    if (v.free_entries() >= entries || (v.header().index_count == 1 && v.free_entries() > 0)) {
      return files_.back().get();
    }
  }
  const uint64_t begin = covered_.value_or(begin_phy_offset);
  COMET_ASSIGN_OR_RETURN(auto file, IndexFile::create(path_for(begin), config_.max_hash_slot_num,
                                                      config_.max_index_num, begin));
  if (!files_.empty()) {
    logger("commitlog")
        ->info("index file {} full; continuing in {}", files_.back()->path(), file->path());
  }
  files_.push_back(std::move(file));
  return files_.back().get();
}

Status IndexService::index(const RecordView& r) {
  const uint64_t end = r.physical_offset + r.total_size;
  std::unique_lock lock(mu_);
  if (covered_ && r.physical_offset < *covered_) return Status::ok();  // indexed already
  const std::vector<std::string_view> keys = keys_of(r);
  COMET_ASSIGN_OR_RETURN(IndexFile * file,
                         writable_file(static_cast<uint32_t>(keys.size()), r.physical_offset));
  IndexFileView& v = file->view();
  for (std::string_view key : keys) {
    const uint32_t hash = index_key_hash(r.topic, key);
    // A full disk leaves the record's other entries out (and the covered end where it was).
    COMET_RETURN_IF_ERROR(file->reserve_for_put(hash));
    if (!v.put(hash, r.physical_offset, r.store_timestamp_ms)) {
      if (!warned_too_many_keys_) {
        logger("commitlog")
            ->warn(
                "record at {} has {} keys, more than an index file holds (maxIndexNum {}); "
                "the rest are not indexed",
                r.physical_offset, keys.size(), config_.max_index_num);
        warned_too_many_keys_ = true;
      }
      break;
    }
  }
  v.cover(end);
  covered_ = end;
  if (!keys.empty()) last_update_ms_.store(r.store_timestamp_ms, std::memory_order_release);
  return Status::ok();
}

Status IndexService::drop_files_from(size_t first) {
  Status result;
  while (files_.size() > first) {
    Status s = files_.back()->destroy();
    if (!s.is_ok() && result.is_ok()) result = s;
    files_.pop_back();
  }
  return result;
}

Status IndexService::truncate(uint64_t cut) {
  std::unique_lock lock(mu_);
  size_t keep = files_.size();
  while (keep > 0 && files_[keep - 1]->view().header().begin_phy_offset >= cut)
    --keep;
  COMET_RETURN_IF_ERROR(drop_files_from(keep));
  uint32_t undone = 0;
  if (!files_.empty()) undone = files_.back()->view().undo_from(cut);
  if (covered_) covered_ = std::min(*covered_, cut);
  if (undone > 0)
    logger("commitlog")->info("index: {} entry(ies) at or past {} undone", undone, cut);
  return Status::ok();
}

Status IndexService::reset(uint64_t offset) {
  std::unique_lock lock(mu_);
  COMET_RETURN_IF_ERROR(drop_files_from(0));
  covered_ = offset;
  return Status::ok();
}

size_t IndexService::delete_below(uint64_t log_min) {
  std::unique_lock lock(mu_);
  size_t n = 0;
  while (files_.size() > 1 && files_.front()->view().header().end_phy_offset <= log_min) {
    Status s = files_.front()->destroy();
    if (!s.is_ok()) {
      logger("commitlog")->error("index retention: {}", s.to_string());
      break;
    }
    files_.erase(files_.begin());
    ++n;
  }
  return n;
}

Status IndexService::flush() {
  std::vector<std::shared_ptr<IndexFile>> files;
  {
    std::shared_lock lock(mu_);
    files = files_;
  }
  // Outside the lock: an msync that waits for the disk must not stall the dispatcher.
  for (const auto& f : files)
    COMET_RETURN_IF_ERROR(f->flush());
  return Status::ok();
}

std::vector<uint64_t> IndexService::lookup(std::string_view topic, std::string_view key,
                                           int64_t begin_ms, int64_t end_ms, uint64_t min_phy,
                                           uint64_t max_phy, size_t max_candidates) const {
  std::vector<uint64_t> out;
  const uint32_t hash = index_key_hash(topic, key);
  std::shared_lock lock(mu_);
  for (auto it = files_.rbegin(); it != files_.rend() && out.size() < max_candidates; ++it) {
    const IndexFileView& v = (*it)->view();
    const IndexHeader h = v.header();
    if (h.index_count <= 1 || h.end_phy_offset <= min_phy || h.begin_phy_offset >= max_phy) {
      continue;
    }
    if (h.end_timestamp_ms < begin_ms || h.begin_timestamp_ms > end_ms) continue;
    v.lookup(hash, [&](uint64_t phy, int64_t approx_ms) {
      // approx_ms is the store time rounded down to the second: it may lie up to 999 ms before
      // begin_ms (unsigned: the exact distance, whatever the operands).
      const bool after_begin =
          approx_ms >= begin_ms ||
          static_cast<uint64_t>(begin_ms) - static_cast<uint64_t>(approx_ms) <= 999;
      if (phy >= min_phy && phy < max_phy && approx_ms <= end_ms && after_begin) {
        out.push_back(phy);
      }
      return out.size() < max_candidates;
    });
  }
  return out;
}

}  // namespace comet::commitlog
