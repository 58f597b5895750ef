#include "commitlog/commit_log.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/logging.h"

namespace comet::commitlog {
namespace {

constexpr uint64_t kPageSize = 4096;
// Under ASYNC_FLUSH, everything written is synced at least this often, however little.
constexpr int64_t kThoroughFlushIntervalMs = 10000;

}  // namespace

CommitLog::CommitLog(const StoreConfig& config, const Clock& clock, HostAddress store_host)
    : config_(config),
      clock_(clock),
      store_host_(store_host),
      allocator_(config.warm_mapped_file_enable),
      files_(config.commit_log_dir(), config.mapped_file_size_commit_log, &allocator_,
             config.warm_mapped_file_enable) {}

CommitLog::~CommitLog() {
  (void)shutdown();
}

Status CommitLog::load() {
  return files_.load();
}

Result<uint64_t> CommitLog::recover(uint64_t verify_from, uint64_t dispatch_from,
                                    const RecordVisitor& visit) {
  auto log = logger("commitlog");
  auto segments = files_.snapshot();
  if (segments.empty()) {
    uint64_t base = files_.min_offset();
    COMET_RETURN_IF_ERROR(files_.truncate(base));  // drops orphans past a gap, if any
    max_offset_.store(base, std::memory_order_release);
    flushed_.reset(base);
    return base;
  }
  const uint64_t first = segments.front()->start_offset();
  const uint64_t seg_size = files_.file_size();
  uint64_t from = std::min({verify_from, dispatch_from, files_.first_short_offset()});
  size_t idx = from <= first ? 0 : std::min<size_t>((from - first) / seg_size, segments.size() - 1);

  uint64_t end = segments.back()->end_offset();
  bool ended = false;
  for (; idx < segments.size() && !ended; ++idx) {
    const MappedFilePtr& seg = segments[idx];
    uint64_t pos = 0;
    while (true) {
      auto d = record::decode(seg->data() + pos, seg->size() - pos, /*verify_crc=*/true);
      const uint64_t at = seg->start_offset() + pos;
      if (d.outcome == record::Outcome::kRecord) {
        if (d.record.physical_offset != at) {
          log->error("record at {} claims physical offset {}; truncating there", at,
                     d.record.physical_offset);
          end = at;
          ended = true;
          break;
        }
        if (at >= dispatch_from) visit(d.record);
        pos += d.size;
        continue;
      }
      if (d.outcome == record::Outcome::kBlank && pos + d.size == seg->size()) {
        break;  // segment complete; continue with the next
      }
      if (d.outcome != record::Outcome::kEnd) {
        log->error("torn or corrupt record at offset {} ({}); truncating the log there", at,
                   d.outcome == record::Outcome::kBlank ? "blank not at segment end" : d.reason);
      }
      end = at;
      ended = true;
      break;
    }
  }
  if (!files_.orphaned_files().empty()) {
    log->error("{} segment file(s) past a gap in the CommitLog are dropped",
               files_.orphaned_files().size());
  }
  if (end < segments.back()->end_offset()) {
    log->info("CommitLog recovered up to offset {}, dropping {} bytes of segment space past it",
              end, segments.back()->end_offset() - end);
  }
  COMET_RETURN_IF_ERROR(files_.truncate(end));
  max_offset_.store(end, std::memory_order_release);
  flushed_.reset(end);
  {
    std::lock_guard lock(append_mu_);
    active_ = files_.last();
  }
  return end;
}

void CommitLog::start() {
  std::lock_guard lock(flush_mu_);
  if (flush_thread_.joinable()) return;
  // The first append should not wait for a segment to be made and pre-faulted.
  files_.prefetch_next();
  stop_ = false;
  if (config_.flush_disk_type == FlushDiskType::kSyncFlush) {
    flushed_.set_waiter_added_hook([this] {
      {
        std::lock_guard l(flush_mu_);
        flush_requested_ = true;
      }
      flush_cv_.notify_one();
    });
  }
  flush_thread_ = std::thread([this] { flush_loop(); });
}

Status CommitLog::shutdown() {
  {
    std::lock_guard lock(flush_mu_);
    if (!flush_thread_.joinable()) return Status::ok();
    stop_ = true;
  }
  flush_cv_.notify_all();
  flush_thread_.join();
  flushed_.set_waiter_added_hook(nullptr);
  Status s = flush();
  if (!s.is_ok()) return s;
  flushed_.fail_all(Status::shutdown("CommitLog shut down"), false);
  return Status::ok();
}

void CommitLog::flush_loop() {
  const bool sync = config_.flush_disk_type == FlushDiskType::kSyncFlush;
  // Group commit waits on waiters (woken at once); the interval is only a backstop.
  const auto interval = std::chrono::milliseconds(sync ? 10 : config_.flush_interval_commit_log_ms);
  int64_t last_thorough_ms = clock_.now_ms();
  size_t last_group = 0;
  std::unique_lock lock(flush_mu_);
  while (!stop_) {
    flush_cv_.wait_for(lock, interval, [&] { return stop_ || flush_requested_; });
    if (stop_) break;
    if (sync && last_group > 1) gather_group(lock, last_group);
    flush_requested_ = false;
    lock.unlock();
    uint32_t least = 0;
    if (!sync) {
      int64_t now = clock_.now_ms();
      if (now - last_thorough_ms >= kThoroughFlushIntervalMs) {
        last_thorough_ms = now;
      } else {
        least = config_.flush_commit_log_least_pages;
      }
    }
    // A failure is reported once, by flush(); later rounds return the sticky error quietly.
    (void)flush(least, &last_group);
    lock.lock();
  }
}

void CommitLog::gather_group(std::unique_lock<std::mutex>& lock, size_t expected) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::microseconds(config_.group_commit_gather_us);
  while (!stop_ && flushed_.pending() < expected) {
    flush_requested_ = false;
    if (flush_cv_.wait_until(lock, deadline, [&] { return stop_ || flush_requested_; }) == false) {
      return;  // deadline passed
    }
  }
}

Status CommitLog::flush(uint32_t least_pages, size_t* waiters_completed) {
  if (waiters_completed != nullptr) *waiters_completed = 0;
  std::lock_guard exec(flush_exec_mu_);
  const uint64_t target = max_offset();
  const uint64_t done = flushed_.get();
  if (target <= done) return Status::ok();
  if (least_pages > 0 && target - done < uint64_t{least_pages} * kPageSize) return Status::ok();
  if (failed_.load(std::memory_order_acquire)) return sticky_error_;
  for (const auto& seg : files_.snapshot()) {
    if (seg->end_offset() <= done || seg->start_offset() >= target) continue;
    Status s = seg->flush(std::min(seg->size(), target - seg->start_offset()));
    if (!s.is_ok()) {
      // A failed sync may have dropped dirty pages: nothing written since can be trusted
      // to be durable, so every later write fails too (as leveldb does).
      {
        std::lock_guard lock(append_mu_);
        sticky_error_ = s;
        failed_.store(true, std::memory_order_release);
      }
      // The store's health first, so a send that arrives as the waiters fail is refused
      // (SERVICE_NOT_AVAILABLE) rather than appended and failed.
      if (io_error_hook_) {
        io_error_hook_(s);
      } else {
        logger("commitlog")->error("flush failed: {}", s.to_string());
      }
      // The waiters' answer (SYSTEM_ERROR): what failed, and that the send is not acknowledged.
      flushed_.fail_all(Status::io_error("I/O error: " + s.message() +
                                         "; not acknowledged, the store is read-only"),
                        /*sticky=*/true);
      return s;
    }
  }
  sync_count_.fetch_add(1, std::memory_order_relaxed);
  size_t completed = flushed_.advance(target);
  if (waiters_completed != nullptr) *waiters_completed = completed;
  return Status::ok();
}

Result<MappedFile*> CommitLog::reserve(size_t size) {
  MappedFile* seg = active_.get();
  if (seg != nullptr) {
    const uint64_t pos = seg->write_pos();
    if (pos + size + record::kBlankSize <= seg->size()) return seg;
    if (pos < seg->size()) {
      record::encode_blank(seg->data() + pos, static_cast<uint32_t>(seg->size() - pos));
      seg->set_write_pos(seg->size());
      max_offset_.store(seg->end_offset(), std::memory_order_release);
    }
  }
  uint64_t start = seg != nullptr ? seg->end_offset() : files_.max_written_offset();
  auto next = files_.create_next(start);
  if (!next.is_ok()) return next.status();
  active_ = std::move(next).value();
  if (roll_hook_) roll_hook_();
  return active_.get();
}

void CommitLog::warm_ahead(uint64_t pos) {
  if (!config_.warm_mapped_file_enable) return;
  if (const uint64_t upto = active_->warm_request(pos)) allocator_.warm(active_, pos, upto);
}

void CommitLog::assert_continues_log(uint64_t physical_offset) const {
  // Each record starts where the previous one (or the blank that ended its segment) ended: a gap
  // or an overlap would leave bytes that recovery, replicas and ConsumeQueues read differently.
  const uint64_t end = max_offset_.load(std::memory_order_relaxed);
  COMET_ASSERT(physical_offset == end,
               fmt::format("append at offset {} but the log ends at {}", physical_offset, end));
}

uint64_t& CommitLog::queue_offset_slot(std::string_view topic, uint32_t queue_id) {
  auto it = queue_offsets_.find(TopicQueueRef{topic, queue_id});
  if (it == queue_offsets_.end()) {
    it = queue_offsets_.emplace(TopicQueueKey{std::string(topic), queue_id}, 0).first;
  }
  return it->second;
}

uint64_t CommitLog::next_queue_offset(std::string_view topic, uint32_t queue_id) {
  return queue_offset_slot(topic, queue_id)++;
}

Result<AppendResult> CommitLog::append(const Message& msg) {
  COMET_RETURN_IF_ERROR(record::validate(msg, config_.max_message_size));
  const size_t size = record::encoded_size(msg);
  if (size + record::kBlankSize > config_.mapped_file_size_commit_log) {
    return Status::message_too_large("record of " + std::to_string(size) +
                                     " bytes does not fit in one CommitLog segment");
  }
  AppendResult r;
  {
    std::lock_guard lock(append_mu_);
    if (failed_.load(std::memory_order_relaxed)) return sticky_error_;
    COMET_ASSIGN_OR_RETURN(MappedFile * seg, reserve(size));
    const uint64_t pos = seg->write_pos();
    r.physical_offset = seg->start_offset() + pos;
    assert_continues_log(r.physical_offset);
    r.size = static_cast<uint32_t>(size);
    r.queue_offset = next_queue_offset(msg.topic, msg.queue_id);
    r.store_timestamp_ms = clock_.now_ms();
    record::encode(msg, r.queue_offset, r.physical_offset, r.store_timestamp_ms, store_host_,
                   seg->data() + pos);
    seg->set_write_pos(pos + size);
    max_offset_.store(r.end_offset(), std::memory_order_release);
    warm_ahead(pos + size);
  }
  if (append_hook_) append_hook_();
  return r;
}

Result<std::vector<AppendResult>> CommitLog::append_batch(std::span<const Message> msgs) {
  if (msgs.empty()) return Status::invalid_argument("empty batch");
  size_t total = 0;
  for (const auto& m : msgs) {
    COMET_RETURN_IF_ERROR(record::validate(m, config_.max_message_size));
    total += record::encoded_size(m);
  }
  if (total + record::kBlankSize > config_.mapped_file_size_commit_log) {
    return Status::message_too_large("batch of " + std::to_string(total) +
                                     " bytes does not fit in one CommitLog segment");
  }
  std::vector<AppendResult> out(msgs.size());
  {
    std::lock_guard lock(append_mu_);
    if (failed_.load(std::memory_order_relaxed)) return sticky_error_;
    COMET_ASSIGN_OR_RETURN(MappedFile * seg, reserve(total));
    uint64_t pos = seg->write_pos();
    assert_continues_log(seg->start_offset() + pos);
    const int64_t now = clock_.now_ms();
    for (size_t i = 0; i < msgs.size(); ++i) {
      AppendResult& r = out[i];
      r.physical_offset = seg->start_offset() + pos;
      r.size = static_cast<uint32_t>(record::encoded_size(msgs[i]));
      r.queue_offset = next_queue_offset(msgs[i].topic, msgs[i].queue_id);
      r.store_timestamp_ms = now;
      record::encode(msgs[i], r.queue_offset, r.physical_offset, now, store_host_,
                     seg->data() + pos);
      pos += r.size;
    }
    // reserve() made room for the whole batch and the blank that will end the segment.
    COMET_ASSERT(pos + record::kBlankSize <= seg->size(),
                 fmt::format("batch of {} bytes at {} runs past its segment [{}, {})", total,
                             out.front().physical_offset, seg->start_offset(), seg->end_offset()));
    seg->set_write_pos(pos);
    max_offset_.store(seg->start_offset() + pos, std::memory_order_release);
    warm_ahead(pos);
  }
  if (append_hook_) append_hook_();
  return out;
}

Result<uint64_t> CommitLog::append_raw(uint64_t offset, std::span<const uint8_t> bytes) {
  if (bytes.empty()) return offset;
  // Verify everything before touching the log: a bad batch leaves it as it was.
  struct Placed {
    std::string_view topic;
    uint32_t queue_id;
    uint64_t queue_offset;
  };
  std::vector<Placed> placed;
  bool ends_segment = false;
  for (size_t pos = 0; pos < bytes.size();) {
    auto d = record::decode(bytes.data() + pos, bytes.size() - pos, /*verify_crc=*/true);
    if (d.outcome == record::Outcome::kBlank && pos + d.size == bytes.size()) {
      ends_segment = true;
      break;
    }
    if (d.outcome != record::Outcome::kRecord) {
      return Status::corruption(
          "replicated bytes at " + std::to_string(offset + pos) + " are not a whole record (" +
          (d.outcome == record::Outcome::kBlank ? "blank before the end" : d.reason) + ")");
    }
    if (d.record.physical_offset != offset + pos) {
      return Status::corruption("replicated record at " + std::to_string(offset + pos) +
                                " claims offset " + std::to_string(d.record.physical_offset));
    }
    placed.push_back({d.record.topic, d.record.queue_id, d.record.queue_offset});
    pos += d.size;
  }
  uint64_t end;
  {
    std::lock_guard lock(append_mu_);
    if (failed_.load(std::memory_order_relaxed)) return sticky_error_;
    const uint64_t max = max_offset_.load(std::memory_order_relaxed);
    if (offset != max) {
      return Status::invalid_argument("replicated bytes start at " + std::to_string(offset) +
                                      " but the log ends at " + std::to_string(max));
    }
    MappedFile* seg = active_.get();
    if (seg == nullptr || seg->write_pos() == seg->size()) {
      auto next = files_.create_next(seg != nullptr ? seg->end_offset() : max);
      if (!next.is_ok()) return next.status();
      active_ = std::move(next).value();
      if (roll_hook_) roll_hook_();
      seg = active_.get();
    }
    const uint64_t pos = seg->write_pos();
    if (seg->start_offset() + pos != offset) {
      return Status::invalid_argument("replicated bytes at " + std::to_string(offset) +
                                      " do not continue the active segment");
    }
    const uint64_t room = seg->size() - pos;
    if (bytes.size() > room || (ends_segment && bytes.size() != room)) {
      return Status::corruption("replicated bytes at " + std::to_string(offset) +
                                " do not fit the segment layout (segment sizes differ?)");
    }
    if (!ends_segment && room - bytes.size() < record::kBlankSize) {
      return Status::corruption("replicated bytes at " + std::to_string(offset) +
                                " leave no room for the segment's end marker");
    }
    std::memcpy(seg->data() + pos, bytes.data(), bytes.size());
    seg->set_write_pos(pos + bytes.size());
    warm_ahead(pos + bytes.size());
    for (const Placed& p : placed) {
      uint64_t& next = queue_offset_slot(p.topic, p.queue_id);
      next = std::max(next, p.queue_offset + 1);
    }
    end = offset + bytes.size();
    max_offset_.store(end, std::memory_order_release);
  }
  if (append_hook_) append_hook_();
  return end;
}

Status CommitLog::reset(uint64_t base) {
  std::lock_guard lock(append_mu_);
  COMET_RETURN_IF_ERROR(files_.truncate(files_.min_offset()));
  allocator_.discard_all();  // a prefetched next segment would sit before the new base
  files_.set_base_offset(base);
  active_ = nullptr;
  queue_offsets_.clear();
  max_offset_.store(base, std::memory_order_release);
  flushed_.reset(base);
  return Status::ok();
}

void CommitLog::reset_queue_offsets(TopicQueueMap<uint64_t> queue_offsets) {
  std::lock_guard lock(append_mu_);
  queue_offsets_ = std::move(queue_offsets);
}

Status CommitLog::copy_range(uint64_t offset, uint64_t end, std::string* out) const {
  out->reserve(out->size() + (end - offset));
  for (uint64_t pos = offset; pos < end;) {
    COMET_ASSIGN_OR_RETURN(
        ReadView view, read(pos, static_cast<uint32_t>(std::min<uint64_t>(end - pos, UINT32_MAX))));
    out->append(reinterpret_cast<const char*>(view.data), view.size);
    pos += view.size;
  }
  return Status::ok();
}

Result<ReadView> CommitLog::read(uint64_t offset, uint32_t max_bytes) const {
  const uint64_t end = max_offset();
  if (offset >= end)
    return Status::out_of_range("offset " + std::to_string(offset) + " is at or past the log end " +
                                std::to_string(end));
  MappedFilePtr seg = files_.find(offset);
  if (!seg) {
    return Status::out_of_range("offset " + std::to_string(offset) + " is below the log start " +
                                std::to_string(min_offset()));
  }
  const uint64_t pos = offset - seg->start_offset();
  const uint64_t limit = std::min(seg->end_offset(), end) - seg->start_offset();
  const uint64_t n = std::min<uint64_t>(max_bytes, limit - pos);
  ReadView v;
  v.data = seg->data() + pos;
  v.size = static_cast<uint32_t>(n);
  v.offset = offset;
  v.file = std::move(seg);
  return v;
}

Result<ReadView> CommitLog::read_records(uint64_t offset, uint32_t max_bytes) const {
  COMET_ASSIGN_OR_RETURN(ReadView v, read(offset, UINT32_MAX));
  // Walk the size fields only: the replica verifies every CRC.
  uint32_t n = 0;
  while (n + 4 <= v.size) {
    uint32_t size;
    std::memcpy(&size, v.data + n, 4);
    if (size == 0 || size > v.size - n) break;  // the end, or a record not yet fully written
    if (n > 0 && n + size > max_bytes) break;
    n += size;
  }
  if (n == 0) {
    return Status::corruption("no whole record at CommitLog offset " + std::to_string(offset));
  }
  v.size = n;
  return v;
}

Result<ReadView> CommitLog::read_exact(uint64_t offset, uint32_t size) const {
  COMET_ASSIGN_OR_RETURN(ReadView v, read(offset, size));
  if (v.size != size) {
    return Status::out_of_range("record at " + std::to_string(offset) + " is not fully written");
  }
  return v;
}

void CommitLog::set_queue_offset(std::string_view topic, uint32_t queue_id, uint64_t next) {
  std::lock_guard lock(append_mu_);
  queue_offset_slot(topic, queue_id) = next;
}

void CommitLog::forget_topic(std::string_view topic,
                             const std::function<void(uint64_t cut)>& at_cut) {
  std::lock_guard lock(append_mu_);
  std::erase_if(queue_offsets_, [&](const auto& e) { return e.first.topic == topic; });
  at_cut(max_offset_.load(std::memory_order_acquire));
}

uint64_t CommitLog::queue_offset(std::string_view topic, uint32_t queue_id) const {
  std::lock_guard lock(append_mu_);
  auto it = queue_offsets_.find(TopicQueueRef{topic, queue_id});
  return it == queue_offsets_.end() ? 0 : it->second;
}

Status CommitLog::truncate(uint64_t offset) {
  std::lock_guard lock(append_mu_);
  // A cut only drops a tail; an offset past the end would make bytes never written readable.
  COMET_ASSERT(offset <= max_offset_.load(std::memory_order_relaxed),
               fmt::format("truncate at {} past the log end {}", offset,
                           max_offset_.load(std::memory_order_relaxed)));
  COMET_RETURN_IF_ERROR(files_.truncate(offset));
  active_ = files_.last();
  max_offset_.store(offset, std::memory_order_release);
  if (flushed_.get() > offset) flushed_.reset(offset);
  return Status::ok();
}

CommitLog::DeletionPlan CommitLog::plan_deletion(int64_t now_ms, int64_t reserved_ms, bool force,
                                                 uint64_t deletable_end, size_t batch_max) const {
  auto segments = files_.snapshot();
  DeletionPlan plan;
  // Segment i's newest record is no newer than the first record of segment i+1.
  while (plan.count < batch_max && plan.count + 1 < segments.size()) {
    const MappedFilePtr& seg = segments[plan.count];
    if (seg->end_offset() > deletable_end) break;
    const MappedFilePtr& next = segments[plan.count + 1];
    int64_t newest = next->write_pos() > 0 ? record::peek_store_timestamp(next->data()) : now_ms;
    if (!force && now_ms - newest < reserved_ms) break;
    ++plan.count;
    plan.end_offset = seg->end_offset();
  }
  return plan;
}

size_t CommitLog::delete_oldest(size_t count) {
  if (count == 0) return 0;
  size_t deleted = files_.delete_first(count);
  logger("commitlog")
      ->info("retention deleted {} CommitLog segment(s); log now starts at {}", deleted,
             files_.min_offset());
  return deleted;
}

size_t CommitLog::delete_expired(int64_t now_ms, int64_t reserved_ms, bool force,
                                 uint64_t deletable_end, size_t batch_max) {
  return delete_oldest(plan_deletion(now_ms, reserved_ms, force, deletable_end, batch_max).count);
}

}  // namespace comet::commitlog
