#include "commitlog/message_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <iterator>

#include <fmt/format.h>

#include "commitlog/index_service.h"
#include "commitlog/sparse_file.h"
#include "common/assert.h"
#include "common/deferred_wake.h"
#include "common/logging.h"

namespace comet::commitlog {

namespace fs = std::filesystem;

namespace {

// Units scanned per get when a tag filter skips most of them.
constexpr uint64_t kMaxFilterScan = 16000;
// ConsumeQueues a flush syncs one by one; past that it syncs the file system once.
constexpr size_t kSyncEachQueueMax = 16;

// The ConsumeQueue unit that indexes `r`.
CqUnit unit_of(const RecordView& r) {
  return CqUnit{r.physical_offset, r.total_size,
                tag_hash(find_property(r.properties, kPropertyTags))};
}

Status touch_durably(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno("create " + path, errno);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::from_errno("fsync " + path, errno);
  return Status::ok();
}

}  // namespace

std::string_view get_status_name(GetStatus s) {
  switch (s) {
    case GetStatus::kFound:
      return "FOUND";
    case GetStatus::kNoMatchedMessage:
      return "NO_MATCHED_MESSAGE";
    case GetStatus::kNoMatchedLogicQueue:
      return "NO_MATCHED_LOGIC_QUEUE";
    case GetStatus::kNoMessageInQueue:
      return "NO_MESSAGE_IN_QUEUE";
    case GetStatus::kOffsetTooSmall:
      return "OFFSET_TOO_SMALL";
    case GetStatus::kOffsetOverflowOne:
      return "OFFSET_OVERFLOW_ONE";
    case GetStatus::kOffsetOverflowBadly:
      return "OFFSET_OVERFLOW_BADLY";
  }
  return "UNKNOWN";
}

MessageStore::MessageStore(const StoreConfig& config, const Clock& clock, HostAddress store_host)
    : config_(config),
      clock_(clock),
      health_(config.disk_space_warning_level_ratio, config.mapped_file_size_commit_log),
      commit_log_(config, clock, store_host),
      index_(config.message_index_enable ? std::make_unique<IndexService>(config) : nullptr),
      abort_path_(config.store_path_root_dir + "/abort"),
      checkpoint_path_(config.store_path_root_dir + "/checkpoint"),
      cq_mappings_(config.max_mapped_consume_queue_files) {}

MessageStore::~MessageStore() {
  (void)shutdown();
  release_lock();
}

void MessageStore::release_lock() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  lock_fd_ = -1;
}

Result<std::unique_ptr<MessageStore>> MessageStore::open(const StoreConfig& config,
                                                         const Clock& clock, HostAddress store_host,
                                                         std::optional<uint64_t> committed) {
  COMET_RETURN_IF_ERROR(config.validate());
  std::error_code ec;
  fs::create_directories(config.store_path_root_dir, ec);
  if (ec) {
    return Status::io_error("create " + config.store_path_root_dir + ": " + ec.message());
  }
  std::unique_ptr<MessageStore> store(new MessageStore(config, clock, store_host));
  if (committed) {
    store->commit_bounded_ = true;
    store->committed_.reset(*committed);
  }
  Status s = store->recover();
  if (!s.is_ok()) {
    store->closed_ = true;
    return s;
  }
  store->start_threads();
  return store;
}

Status MessageStore::load_consume_queues() {
  const std::string root = config_.consume_queue_dir();
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Status::io_error("create " + root + ": " + ec.message());
  for (const auto& topic_dir : fs::directory_iterator(root, ec)) {
    if (!topic_dir.is_directory()) continue;
    const std::string topic = topic_dir.path().filename().string();
    if (!record::valid_topic_name(topic)) continue;
    for (const auto& queue_dir : fs::directory_iterator(topic_dir.path(), ec)) {
      const std::string name = queue_dir.path().filename().string();
      if (!queue_dir.is_directory() || name.empty() || name.size() > 9 ||
          !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        continue;
      }
      auto cq = std::make_unique<ConsumeQueue>(
          topic, static_cast<uint32_t>(std::stoul(name)), queue_dir.path().string(),
          config_.mapped_file_size_consume_queue, &cq_mappings_);
      COMET_RETURN_IF_ERROR(cq->load());
      cqs_.emplace(TopicQueueKey{topic, cq->queue_id()}, std::move(cq));
    }
  }
  if (ec) return Status::io_error("list " + root + ": " + ec.message());
  return Status::ok();
}

Status MessageStore::recover() {
  auto log = logger("commitlog");
  const std::string lock_path = config_.store_path_root_dir + "/lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return Status::from_errno("open " + lock_path, errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::unavailable("store " + config_.store_path_root_dir +
                               " is in use by another process (" + lock_path + " is locked)");
  }
  recovery_.crashed = fs::exists(abort_path_);
  COMET_RETURN_IF_ERROR(touch_durably(abort_path_));
  auto cp = StoreCheckpoint::read(checkpoint_path_);
  recovery_.checkpoint_found = cp.has_value();

  COMET_RETURN_IF_ERROR(commit_log_.load());
  COMET_RETURN_IF_ERROR(load_consume_queues());
  if (index_) COMET_RETURN_IF_ERROR(index_->load());

  const uint64_t log_min = commit_log_.min_offset();
  uint64_t verify_from = cp ? cp->physical_flushed : log_min;
  // Without any ConsumeQueue (first start, or the index was deleted) rebuild from the start.
  uint64_t dispatch_from = (cp && !cqs_.empty()) ? cp->logics_flushed : log_min;
  verify_from = std::max(verify_from, log_min);
  dispatch_from = std::max(dispatch_from, log_min);
  if (recovery_.crashed) {
    log->warn("store at {} was not shut down cleanly; recovering from offset {}",
              config_.store_path_root_dir, std::min(verify_from, dispatch_from));
  }

  for (const ConsumeQueuePtr& cq : all_cqs())
    COMET_RETURN_IF_ERROR(cq->truncate_by_physical(dispatch_from));
  // The index is replayed with the ConsumeQueues (it skips what it holds) unless it lags them:
  // then it catches up once the log is recovered, in log order.
  const bool index_lags = index_ && index_resume_offset() < dispatch_from;
  Status visit_status;
  uint64_t replayed = 0;
  // Consensus mode: records past the committed offset are not indexed yet, but the next queue
  // offsets must count them (a leader continues after them).
  const uint64_t limit = commit_bounded_ ? committed_.get() : UINT64_MAX;
  TopicQueueMap<uint64_t> uncommitted_next;
  auto end = commit_log_.recover(verify_from, dispatch_from, [&](const RecordView& r) {
    if (r.physical_offset + r.total_size > limit) {
      uint64_t& next = uncommitted_next[TopicQueueKey{std::string(r.topic), r.queue_id}];
      next = std::max(next, r.queue_offset + 1);
      return;
    }
    Status s = find_or_create_cq(r.topic, r.queue_id)->put(r.queue_offset, unit_of(r));
    if (s.is_ok() && index_ && !index_lags) s = index_->index(r);
    if (!s.is_ok() && visit_status.is_ok()) visit_status = s;
    ++replayed;
  });
  if (!end.is_ok()) return end.status();
  COMET_RETURN_IF_ERROR(visit_status);
  const uint64_t indexed_end = std::min(end.value(), limit);
  if (index_) {
    // Entries past the recovered (or committed) end go, as the ConsumeQueue units do below.
    COMET_RETURN_IF_ERROR(index_->truncate(indexed_end));
    if (index_lags) {
      const uint64_t from = index_resume_offset();
      log->warn("message index lags the ConsumeQueues; rebuilding it from offset {}", from);
      COMET_RETURN_IF_ERROR(index_range(from, indexed_end, &recovery_.reindexed));
    }
  }

  recovery_.verified_from = std::min(verify_from, dispatch_from);
  recovery_.end_offset = end.value();
  recovery_.redispatched = replayed;
  for (const ConsumeQueuePtr& cq : all_cqs()) {
    COMET_RETURN_IF_ERROR(cq->truncate_by_physical(indexed_end));
    cq->delete_expired(commit_log_.min_offset());
    commit_log_.set_queue_offset(cq->topic(), cq->queue_id(), cq->max_offset());
  }
  for (const auto& [key, next] : uncommitted_next) {
    commit_log_.set_queue_offset(key.topic, key.queue_id,
                                 std::max(next, commit_log_.queue_offset(key.topic, key.queue_id)));
  }
  reput_offset_ = indexed_end;
  dispatched_.reset(indexed_end);
  log->info("store recovered: log [{}, {}), {} queue(s), {} record(s) re-indexed{}",
            commit_log_.min_offset(), end.value(), cqs_.size(), replayed,
            recovery_.crashed ? " after a crash" : "");
  return Status::ok();
}

void MessageStore::start_threads() {
  check_disk();  // a store opened on a full disk refuses its first send already
  commit_log_.set_io_error_hook(
      [this](const Status& s) { health_.on_io_error(s, clock_.now_ms()); });
  // A new segment (and the next one the allocator makes ahead) is where the disk's use jumps:
  // sampled then, a fast writer cannot outrun the periodic check by more than a segment.
  commit_log_.set_roll_hook([this] { check_disk(); });
  commit_log_.set_append_hook([this] {
    if (append_listener_) append_listener_();
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!dispatcher_idle_.load(std::memory_order_relaxed)) return;
    // Inside a batch (an I/O thread handling one recv's frames) the dispatcher is woken once,
    // at the batch's end, and indexes the whole batch in one go.
    if (!defer_wake(&MessageStore::wake_dispatcher, this)) wake_dispatcher(this);
  });
  commit_log_.start();
  dispatch_thread_ = std::thread([this] { dispatch_loop(); });
  house_thread_ = std::thread([this] { housekeeping_loop(); });
}

void MessageStore::wake_dispatcher(void* store) {
  auto* self = static_cast<MessageStore*>(store);
  std::lock_guard lock(self->dispatch_mu_);
  self->dispatch_cv_.notify_one();
}

void MessageStore::stop_threads() {
  {
    std::scoped_lock lock(dispatch_mu_, house_mu_);
    stop_ = true;
  }
  dispatch_cv_.notify_all();
  house_cv_.notify_all();
  if (dispatch_thread_.joinable()) dispatch_thread_.join();
  if (house_thread_.joinable()) house_thread_.join();
  std::vector<TopicDeletion> abandoned;
  {
    std::lock_guard lock(deletions_mu_);
    abandoned.swap(deletions_);
  }
  for (auto& d : abandoned)
    d.done(Status::shutdown("store stopped before topic " + d.topic + " was deleted"));
}

MessageStore::ConsumeQueuePtr MessageStore::find_cq(std::string_view topic,
                                                    uint32_t queue_id) const {
  std::shared_lock lock(cq_mu_);
  auto it = cqs_.find(TopicQueueRef{topic, queue_id});
  return it == cqs_.end() ? nullptr : it->second;
}

MessageStore::ConsumeQueuePtr MessageStore::find_or_create_cq(std::string_view topic,
                                                              uint32_t queue_id) {
  if (ConsumeQueuePtr cq = find_cq(topic, queue_id)) return cq;
  std::unique_lock lock(cq_mu_);
  auto it = cqs_.find(TopicQueueRef{topic, queue_id});
  if (it != cqs_.end()) return it->second;
  std::string dir =
      config_.consume_queue_dir() + "/" + std::string(topic) + "/" + std::to_string(queue_id);
  auto cq = std::make_shared<ConsumeQueue>(std::string(topic), queue_id, dir,
                                           config_.mapped_file_size_consume_queue, &cq_mappings_);
  cqs_.emplace(TopicQueueKey{std::string(topic), queue_id}, cq);
  return cq;
}

std::vector<MessageStore::ConsumeQueuePtr> MessageStore::all_cqs() const {
  std::shared_lock lock(cq_mu_);
  std::vector<ConsumeQueuePtr> out;
  out.reserve(cqs_.size());
  for (const auto& [_, cq] : cqs_)
    out.push_back(cq);
  return out;
}

bool MessageStore::hand_to_dispatcher(const std::function<void()>& add) {
  {
    std::lock_guard lock(dispatch_mu_);
    if (stop_) return false;
    add();
  }
  dispatch_cv_.notify_one();
  return true;
}

namespace {

// Runs `start(done)` and waits (bounded) for `done`'s status.
Status wait_done(const std::function<void(std::function<void(Status)>)>& start,
                 std::chrono::milliseconds timeout, std::string_view what) {
  auto result = std::make_shared<std::promise<Status>>();
  auto future = result->get_future();
  start([result](Status s) { result->set_value(std::move(s)); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Status::timeout(std::string(what) + " still waits for the dispatcher");
  }
  return future.get();
}

}  // namespace

std::vector<MessageStore::ConsumeQueuePtr> MessageStore::take_queues(
    const std::function<bool(const TopicQueueKey&)>& which) {
  std::vector<ConsumeQueuePtr> gone;
  {
    std::unique_lock lock(cq_mu_);
    std::erase_if(cqs_, [&](const auto& e) {
      if (!which(e.first)) return false;
      gone.push_back(e.second);
      return true;
    });
  }
  // A flush that picked them up before they left the map must not write their files again
  // once the caller has deleted the directory.
  for (const ConsumeQueuePtr& cq : gone)
    cq->retire();
  return gone;
}

void MessageStore::delete_topic_async(std::string topic, std::function<void(Status)> done) {
  const bool queued = hand_to_dispatcher([&] {
    // The deletion is registered before any record with the new offsets can be appended
    // (under the append lock), so the dispatcher, which checks for pending deletions before
    // each record, never indexes such a record into the old queues.
    const std::string name = topic;
    commit_log_.forget_topic(name, [&](uint64_t cut) {
      std::lock_guard dl(deletions_mu_);
      deletions_.push_back({std::move(topic), cut, std::move(done)});
      deletions_pending_.store(true, std::memory_order_release);
    });
  });
  if (!queued) done(Status::shutdown("store is stopped"));
}

Status MessageStore::delete_topic(std::string topic, std::chrono::milliseconds timeout) {
  return wait_done([&](auto done) { delete_topic_async(std::move(topic), std::move(done)); },
                   timeout, "topic deletion");
}

void MessageStore::apply_topic_deletions(uint64_t position) {
  std::vector<TopicDeletion> due;
  {
    std::lock_guard lock(deletions_mu_);
    auto split = std::stable_partition(deletions_.begin(), deletions_.end(),
                                       [&](const TopicDeletion& d) { return d.cut > position; });
    std::move(split, deletions_.end(), std::back_inserter(due));
    deletions_.erase(split, deletions_.end());
    deletions_pending_.store(!deletions_.empty(), std::memory_order_release);
  }
  for (auto& d : due) {
    const auto gone = take_queues([&](const TopicQueueKey& k) { return k.topic == d.topic; });
    std::error_code ec;
    fs::remove_all(config_.consume_queue_dir() + "/" + d.topic, ec);
    Status s = ec ? Status::io_error("remove the ConsumeQueues of " + d.topic + ": " + ec.message())
                  : checkpoint();
    logger("commitlog")
        ->info("topic {} deleted: {} ConsumeQueue(s) at log offset {}", d.topic, gone.size(),
               d.cut);
    d.done(std::move(s));
  }
}

std::vector<TopicQueueKey> MessageStore::queues() const {
  std::shared_lock lock(cq_mu_);
  std::vector<TopicQueueKey> out;
  for (const auto& [k, _] : cqs_)
    out.push_back(k);
  return out;
}

Status MessageStore::dispatch_record(const RecordView& r) {
  COMET_RETURN_IF_ERROR(find_or_create_cq(r.topic, r.queue_id)->put(r.queue_offset, unit_of(r)));
  return index_ ? index_->index(r) : Status::ok();
}

uint64_t MessageStore::index_resume_offset() const {
  const uint64_t log_min = commit_log_.min_offset();
  return std::max(index_->covered_end().value_or(log_min), log_min);
}

Status MessageStore::index_range(uint64_t from, uint64_t to, uint64_t* records) {
  for (uint64_t pos = from; pos < to;) {
    auto view =
        commit_log_.read(pos, static_cast<uint32_t>(std::min<uint64_t>(to - pos, UINT32_MAX)));
    if (!view.is_ok()) return view.status();
    uint64_t consumed = 0;
    while (consumed < view->size) {
      auto d = record::decode(view->data + consumed, view->size - consumed, false);
      if (d.outcome == record::Outcome::kRecord) {
        COMET_RETURN_IF_ERROR(index_->index(d.record));
        ++*records;
      } else if (d.outcome != record::Outcome::kBlank) {
        return Status::corruption("undecodable record at " + std::to_string(pos + consumed) +
                                  " while rebuilding the message index");
      }
      consumed += d.size;
    }
    pos += consumed;
  }
  return Status::ok();
}

void MessageStore::dispatch_loop() {
  auto log = logger("commitlog");
  std::vector<ConsumeQueuePtr> touched;
  while (true) {
    {
      std::unique_lock lock(dispatch_mu_);
      dispatcher_idle_.store(true, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      dispatch_cv_.wait(lock, [&] {
        return stop_ || dispatch_end() > reput_offset_ ||
               deletions_pending_.load(std::memory_order_acquire) ||
               truncation_pending_.load(std::memory_order_acquire);
      });
      dispatcher_idle_.store(false, std::memory_order_relaxed);
      if (stop_) return;
    }
    if (deletions_pending_.load(std::memory_order_acquire)) apply_topic_deletions(reput_offset_);
    bool no_space = false;
    for (uint64_t bound; reput_offset_ < (bound = dispatch_end());) {
      auto view = commit_log_.read(reput_offset_, static_cast<uint32_t>(std::min<uint64_t>(
                                                      bound - reput_offset_, UINT32_MAX)));
      if (!view.is_ok()) {
        log->error("dispatcher cannot read offset {}: {}", reput_offset_,
                   view.status().to_string());
        break;
      }
      const uint8_t* p = view->data;
      uint64_t consumed = 0;
      ConsumeQueuePtr last_cq;
      while (consumed < view->size) {
        if (deletions_pending_.load(std::memory_order_acquire)) {
          apply_topic_deletions(reput_offset_ + consumed);
          last_cq = nullptr;  // it may belong to a deleted topic
        }
        auto d = record::decode(p + consumed, view->size - consumed, /*verify_crc=*/false);
        if (d.outcome == record::Outcome::kBlank) {
          consumed += d.size;
          continue;
        }
        if (d.outcome != record::Outcome::kRecord) {
          log->critical("dispatcher found an undecodable record at {} ({}); indexing stops",
                        reput_offset_ + consumed, d.reason);
          return;
        }
        const RecordView& r = d.record;
        assert_indexable(r, reput_offset_ + consumed, bound);
        ConsumeQueuePtr cq =
            (last_cq && last_cq->queue_id() == r.queue_id && last_cq->topic() == r.topic)
                ? last_cq
                : find_or_create_cq(r.topic, r.queue_id);
        Status s = cq->put(r.queue_offset, unit_of(r));
        if (s.is_ok() && index_) s = index_->index(r);
        if (s.code() == Code::kNoSpace) {
          // A ConsumeQueue or index file that does not fit: the record stays unindexed (not yet
          // readable, still stored) and is indexed again once there is room (a repeated unit
          // or index entry is a no-op). The store refuses writes meanwhile.
          (void)on_append_failure(s, config_.mapped_file_size_consume_queue);
          no_space = true;
          break;
        }
        if (s.code() == Code::kIOError) {
          // A unit or index entry that could not be written: the checkpoint must not pass it
          // (recovery writes it again), so the store turns read-only.
          health_.on_io_error(s, clock_.now_ms());
        } else if (!s.is_ok()) {
          log->error("dispatch at {}: {}", r.physical_offset, s.to_string());
        }
        if (cq != last_cq && std::find(touched.begin(), touched.end(), cq) == touched.end()) {
          touched.push_back(cq);
        }
        last_cq = cq;
        consumed += d.size;
      }
      reput_offset_ += consumed;
      dispatched_.advance(reput_offset_);
      if (no_space) break;
      if (!touched.empty()) {
        std::lock_guard lock(listeners_mu_);
        for (const ConsumeQueuePtr& cq : touched) {
          for (auto& l : listeners_)
            l(cq->topic(), cq->queue_id(), cq->max_offset());
        }
        touched.clear();
      }
    }
    if (truncation_pending_.load(std::memory_order_acquire)) apply_truncation();
    if (no_space) {
      // Retried after a disk check's interval (or at once when the store stops).
      std::unique_lock lock(dispatch_mu_);
      dispatch_cv_.wait_for(lock, kDiskCheckInterval, [&] { return stop_; });
    }
  }
}

void MessageStore::assert_indexable(const RecordView& r, uint64_t at, uint64_t bound) {
  // A unit must name the bytes it lies at (readers fetch the record by the unit's offset), and
  // never a record past the read bound: in consensus mode that would make an uncommitted message
  // readable.
  COMET_ASSERT(r.physical_offset == at && at + r.total_size <= bound,
               fmt::format("dispatcher: record at {} claims offset {} and ends at {}, past the "
                           "read bound {}",
                           at, r.physical_offset, at + r.total_size, bound));
}

uint64_t MessageStore::dispatch_end() const {
  const uint64_t max = commit_log_.max_offset();
  return commit_bounded_ ? std::min(max, committed_.get()) : max;
}

void MessageStore::advance_committed(uint64_t offset) {
  committed_.advance(offset);
  if (!commit_bounded_.load(std::memory_order_acquire)) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (dispatcher_idle_.load(std::memory_order_relaxed)) wake_dispatcher(this);
}

void MessageStore::bound_to_committed(uint64_t committed) {
  if (commit_bounded_.load(std::memory_order_acquire)) {
    advance_committed(committed);
    return;
  }
  // Unbounded, nobody waits on the committed mark: it may move back to where the bound starts.
  committed_.reset(committed);
  commit_bounded_.store(true, std::memory_order_release);
}

void MessageStore::unbound() {
  if (!commit_bounded_.exchange(false, std::memory_order_acq_rel)) return;
  wake_dispatcher(this);
}

void MessageStore::truncate_async(uint64_t offset, std::function<void(Status)> done) {
  const bool queued = hand_to_dispatcher([&] {
    std::lock_guard dl(deletions_mu_);
    truncations_.push_back({offset, std::move(done)});
    truncation_pending_.store(true, std::memory_order_release);
  });
  if (!queued) done(Status::shutdown("store is stopped"));
}

Status MessageStore::truncate(uint64_t offset, std::chrono::milliseconds timeout) {
  return wait_done([&](auto done) { truncate_async(offset, std::move(done)); }, timeout,
                   "truncation");
}

void MessageStore::apply_truncation() {
  std::vector<Truncation> due;
  {
    std::lock_guard lock(deletions_mu_);
    due.swap(truncations_);
    truncation_pending_.store(false, std::memory_order_release);
  }
  for (auto& t : due)
    t.done(truncate_now(t.offset));
}

Status MessageStore::truncate_now(uint64_t offset) {
  auto log = logger("commitlog");
  const uint64_t min = commit_log_.min_offset();
  const uint64_t max = commit_log_.max_offset();
  if (offset == max) return Status::ok();
  if (offset >= min && offset < max) {
    COMET_RETURN_IF_ERROR(commit_log_.truncate(offset));
    TopicQueueMap<uint64_t> next;
    for (const ConsumeQueuePtr& cq : all_cqs()) {
      COMET_RETURN_IF_ERROR(cq->truncate_by_physical(offset));
      next.emplace(TopicQueueKey{cq->topic(), cq->queue_id()}, cq->max_offset());
    }
    if (index_) COMET_RETURN_IF_ERROR(index_->truncate(offset));
    // Consensus mode: records kept below the cut but not indexed yet (uncommitted) hold queue
    // offsets too.
    for (uint64_t pos = reput_offset_; pos < offset;) {
      auto view = commit_log_.read(pos, static_cast<uint32_t>(offset - pos));
      if (!view.is_ok()) return view.status();
      uint64_t consumed = 0;
      while (consumed < view->size) {
        auto d = record::decode(view->data + consumed, view->size - consumed, false);
        if (d.outcome == record::Outcome::kRecord) {
          uint64_t& n = next[TopicQueueKey{std::string(d.record.topic), d.record.queue_id}];
          n = std::max(n, d.record.queue_offset + 1);
        } else if (d.outcome != record::Outcome::kBlank) {
          return Status::corruption("undecodable record at " + std::to_string(pos + consumed) +
                                    " below a truncation point");
        }
        consumed += d.size;
      }
      pos += consumed;
    }
    commit_log_.reset_queue_offsets(std::move(next));
    log->warn("log truncated from {} to {} ({} bytes dropped)", max, offset, max - offset);
  } else {
    const auto gone = take_queues([](const TopicQueueKey&) { return true; });
    std::error_code ec;
    fs::remove_all(config_.consume_queue_dir(), ec);
    if (ec) return Status::io_error("remove the ConsumeQueues: " + ec.message());
    COMET_RETURN_IF_ERROR(commit_log_.reset(offset));
    if (index_) COMET_RETURN_IF_ERROR(index_->reset(offset));
    log->warn("log [{}, {}) dropped; it restarts empty at {}", min, max, offset);
    reput_offset_ = offset;
  }
  reput_offset_ = std::min(reput_offset_, offset);
  dispatched_.reset(reput_offset_);
  return checkpoint();
}

Result<uint64_t> MessageStore::append_replica(uint64_t offset, std::span<const uint8_t> bytes) {
  // A replica's disk full refuses the master's bytes the same way: the replica stops
  // acknowledging, and the master sees it fall out of sync (SLAVE_NOT_AVAILABLE).
  COMET_RETURN_IF_ERROR(health_.writable());
  return refuse_if_no_space(commit_log_.append_raw(offset, bytes),
                            config_.mapped_file_size_commit_log);
}

void MessageStore::housekeeping_loop() {
  using Clock = std::chrono::steady_clock;
  const auto flush_every = std::chrono::milliseconds(config_.flush_consume_queue_interval_ms);
  const auto clean_every = std::chrono::milliseconds(config_.clean_resource_interval_ms);
  auto next_flush = Clock::now() + flush_every;
  auto next_clean = Clock::now() + clean_every;
  auto next_index_flush = Clock::now() + kIndexFlushInterval;
  auto next_disk_check = Clock::now() + kDiskCheckInterval;
  std::unique_lock lock(house_mu_);
  while (!stop_) {
    house_cv_.wait_until(lock, std::min({next_flush, next_clean, next_disk_check}),
                         [&] { return stop_; });
    if (stop_) break;
    lock.unlock();
    auto now = Clock::now();
    if (now >= next_disk_check) {
      check_disk();
      next_disk_check = now + kDiskCheckInterval;
    }
    if (now >= next_flush) {
      const bool flush_index = now >= next_index_flush;
      Status s = write_checkpoint(flush_index);
      // An I/O error was logged once, as it made the store read-only; then no checkpoint is
      // written again until restart, quietly.
      if (!s.is_ok() && !health_.io_failed()) {
        logger("commitlog")->error("checkpoint failed: {}", s.to_string());
      }
      next_flush = now + flush_every;
      if (flush_index) next_index_flush = now + kIndexFlushInterval;
    }
    if (now >= next_clean) {
      delete_expired_files();
      next_clean = now + clean_every;
    }
    lock.lock();
  }
}

Status MessageStore::checkpoint() {
  return write_checkpoint(/*flush_index=*/true);
}

Status MessageStore::write_checkpoint(bool flush_index) {
  std::lock_guard lock(checkpoint_mu_);
  // Never past data whose sync failed: the kernel reports a failed write-back once, so the next
  // sync of the same ConsumeQueue or index file succeeds over the lost units. The checkpoint
  // stays where it was, and recovery rebuilds them from the CommitLog from there.
  COMET_RETURN_IF_ERROR(health_.io_status());
  Status s = sync_and_write_checkpoint(flush_index);
  if (s.code() == Code::kIOError) health_.on_io_error(s, clock_.now_ms());
  // ConsumeQueue units that did not fit stay in memory, readable, until a flush finds room; the
  // store refuses writes meanwhile, as for a segment that does not fit.
  if (s.code() == Code::kNoSpace) {
    health_.on_no_space(config_.mapped_file_size_consume_queue, s, clock_.now_ms());
  }
  return s;
}

Status MessageStore::sync_and_write_checkpoint(bool flush_index) {
  StoreCheckpoint cp;
  cp.logics_flushed = dispatched_.get();
  COMET_RETURN_IF_ERROR(flush_consume_queues());
  if (index_ && flush_index) COMET_RETURN_IF_ERROR(index_->flush());
  cp.physical_flushed = commit_log_.flushed().get();
  cp.timestamp_ms = clock_.now_ms();
  return cp.write(checkpoint_path_);
}

Status MessageStore::flush_consume_queues() {
  std::vector<ConsumeQueuePtr> due;
  for (ConsumeQueuePtr& cq : all_cqs()) {
    if (cq->needs_flush()) due.push_back(std::move(cq));
  }
  // Past a few files, one syncfs() costs less than a fdatasync() each: with thousands of queues
  // written in an interval, a sync per file took longer than the interval.
  const bool one_sync = due.size() > kSyncEachQueueMax;
  const auto how = one_sync ? ConsumeQueue::Sync::kDeferred : ConsumeQueue::Sync::kEachFile;
  for (const ConsumeQueuePtr& cq : due)
    COMET_RETURN_IF_ERROR(cq->flush(how));
  if (!one_sync) return Status::ok();
  COMET_RETURN_IF_ERROR(sync_file_system(config_.consume_queue_dir()));
  for (const ConsumeQueuePtr& cq : due)
    cq->mark_synced();
  return Status::ok();
}

double MessageStore::file_system_usage(const std::string& path) {
  return sample_disk_space(path).used_ratio;  // negative when statvfs fails
}

double MessageStore::disk_usage(uint64_t blocks, uint64_t free, uint64_t available,
                                bool privileged) {
  // Counting available blocks against all blocks made a root broker on a disk with a large
  // reserve see 88% used where df saw 44%, and retention deleted unconsumed segments.
  return disk_space_of(blocks, free, available, 1, privileged).used_ratio;
}

void MessageStore::set_disk_usage_probe(DiskUsageProbe probe) {
  set_disk_space_probe([probe = std::move(probe)](const std::string& path) {
    DiskSpace d;
    d.used_ratio = probe(path);
    return d;
  });
}

void MessageStore::set_disk_space_probe(DiskSpaceProbe probe) {
  std::lock_guard lock(disk_usage_mu_);
  disk_space_ = std::move(probe);
}

void MessageStore::set_deletion_listener(DeletionListener listener) {
  std::lock_guard lock(deletion_listener_mu_);
  deletion_listener_ = std::move(listener);
}

DiskSpace MessageStore::sample_disk() {
  std::lock_guard lock(disk_usage_mu_);
  return disk_space_(config_.store_path_root_dir);
}

void MessageStore::check_disk() {
  health_.on_disk_sample(sample_disk(), clock_.now_ms());
}

Status MessageStore::on_append_failure(const Status& s, uint64_t bytes) {
  if (s.code() == Code::kIOError) {
    // A segment that could not be made, or the CommitLog's sticky sync failure: refused, as
    // every later send is, with the remark naming the first error.
    health_.on_io_error(s, clock_.now_ms());
    return health_.io_status();
  }
  if (s.code() != Code::kNoSpace) return s;
  health_.on_no_space(bytes, s, clock_.now_ms());
  // Not acked, nothing half written: a segment that could not be allocated was removed, and
  // the append fails before any byte of the record is copied.
  Status refused = health_.writable();
  return refused.is_ok() ? Status::unavailable("disk full: " + s.message()) : refused;
}

template <typename T>
Result<T> MessageStore::refuse_if_no_space(Result<T> r, uint64_t bytes) {
  if (r.is_ok()) return r;
  return on_append_failure(r.status(), bytes);
}

void MessageStore::announce_deletion(bool forced, size_t segments, uint64_t log_end) {
  DeletionListener listener;
  {
    std::lock_guard lock(deletion_listener_mu_);
    listener = deletion_listener_;
  }
  if (!listener) return;
  SegmentDeletion d;
  d.forced = forced;
  d.segments = segments;
  d.log_begin = commit_log_.min_offset();
  d.log_end = log_end;
  for (const ConsumeQueuePtr& cq : all_cqs()) {
    const uint64_t begin = cq->min_offset();
    const uint64_t end = cq->offset_at_physical(log_end);
    if (end > begin) d.queues.push_back({cq->topic(), cq->queue_id(), begin, end});
  }
  listener(d);
}

size_t MessageStore::delete_expired_files() {
  const double used = sample_disk().used_ratio;
  // Like RocketMQ: expired segments go on every pass (the fuller disk above
  // diskMaxUsedSpaceRatio only gets a warning); unexpired ones only above the forcible ratio.
  const bool force =
      config_.clean_file_forcibly_enable && used * 100.0 > config_.disk_space_clean_forcibly_ratio;
  if (force) {
    logger("commitlog")
        ->warn("disk {:.0f}% full (diskSpaceCleanForciblyRatio {}%): deleting oldest segments",
               used * 100.0, config_.disk_space_clean_forcibly_ratio);
  } else if (used * 100.0 > config_.disk_max_used_space_ratio) {
    logger("commitlog")
        ->warn("disk {:.0f}% full (diskMaxUsedSpaceRatio {}%): only expired segments are deleted",
               used * 100.0, config_.disk_max_used_space_ratio);
  }
  const uint64_t deletable_end = std::min(dispatched_.get(), commit_log_.flushed().get());
  const int64_t reserved_ms = int64_t{config_.file_reserved_time_hours} * 3600 * 1000;
  const auto plan = commit_log_.plan_deletion(clock_.now_ms(), reserved_ms, force, deletable_end,
                                              config_.delete_files_batch_max);
  if (plan.count == 0) return 0;
  // Forced when the same pass without force would not have deleted as much.
  const bool forced = force && commit_log_
                                       .plan_deletion(clock_.now_ms(), reserved_ms, false,
                                                      deletable_end, config_.delete_files_batch_max)
                                       .count < plan.count;
  announce_deletion(forced, plan.count, plan.end_offset);
  size_t n = commit_log_.delete_oldest(plan.count);
  if (n > 0) {
    const uint64_t min = commit_log_.min_offset();
    for (const ConsumeQueuePtr& cq : all_cqs())
      cq->delete_expired(min);
    if (index_) index_->delete_below(min);
  }
  return n;
}

namespace {

uint64_t end_of(const AppendResult& r) {
  return r.end_offset();
}
uint64_t end_of(const std::vector<AppendResult>& r) {
  return r.back().end_offset();
}

// Blocks until what `r` appended is durable (SYNC_FLUSH), or returns it as it is.
template <typename T>
Result<T> wait_durable(Watermark& flushed, const StoreConfig& config, Result<T> r) {
  if (!r.is_ok() || config.flush_disk_type != FlushDiskType::kSyncFlush) return r;
  Status s =
      flushed.wait(end_of(r.value()), std::chrono::milliseconds(config.sync_flush_timeout_ms));
  if (!s.is_ok()) return s;
  return r;
}

// Calls `done` with `r` once what it appended is durable (SYNC_FLUSH), or at once.
template <typename T>
void when_durable(Watermark& flushed, const StoreConfig& config, Result<T> r,
                  std::function<void(Result<T>)> done) {
  if (!r.is_ok() || config.flush_disk_type != FlushDiskType::kSyncFlush) {
    done(std::move(r));
    return;
  }
  const uint64_t end = end_of(r.value());
  flushed.on_reach(end, [done = std::move(done), res = std::move(r).value()](Status s) mutable {
    if (s.is_ok()) {
      done(std::move(res));
    } else {
      done(std::move(s));
    }
  });
}

}  // namespace

Result<AppendResult> MessageStore::put_message(const Message& msg) {
  COMET_RETURN_IF_ERROR(health_.writable());
  return wait_durable(
      commit_log_.flushed(), config_,
      refuse_if_no_space(commit_log_.append(msg), config_.mapped_file_size_commit_log));
}

Result<std::vector<AppendResult>> MessageStore::put_messages(std::span<const Message> msgs) {
  COMET_RETURN_IF_ERROR(health_.writable());
  return wait_durable(
      commit_log_.flushed(), config_,
      refuse_if_no_space(commit_log_.append_batch(msgs), config_.mapped_file_size_commit_log));
}

void MessageStore::put_message_async(const Message& msg, PutCallback done) {
  if (Status s = health_.writable(); !s.is_ok()) return done(std::move(s));
  when_durable(commit_log_.flushed(), config_,
               refuse_if_no_space(commit_log_.append(msg), config_.mapped_file_size_commit_log),
               std::move(done));
}

void MessageStore::put_messages_async(std::span<const Message> msgs, BatchPutCallback done) {
  if (Status s = health_.writable(); !s.is_ok()) return done(std::move(s));
  when_durable(
      commit_log_.flushed(), config_,
      refuse_if_no_space(commit_log_.append_batch(msgs), config_.mapped_file_size_commit_log),
      std::move(done));
}

GetResult MessageStore::get_messages(std::string_view topic, uint32_t queue_id, uint64_t offset,
                                     uint32_t max_msgs, uint64_t max_bytes,
                                     std::span<const uint64_t> tag_hashes) const {
  GetResult g;
  const ConsumeQueuePtr cq = find_cq(topic, queue_id);
  if (cq == nullptr) {
    g.status = GetStatus::kNoMatchedLogicQueue;
    return g;
  }
  g.min_offset = cq->min_offset();
  g.max_offset = cq->max_offset();
  if (g.max_offset == 0 || g.min_offset >= g.max_offset) {
    g.status = GetStatus::kNoMessageInQueue;
    g.next_begin_offset = g.max_offset;
    return g;
  }
  if (offset < g.min_offset) {
    g.status = GetStatus::kOffsetTooSmall;
    g.next_begin_offset = g.min_offset;
    return g;
  }
  if (offset == g.max_offset) {
    g.status = GetStatus::kOffsetOverflowOne;
    g.next_begin_offset = offset;
    return g;
  }
  if (offset > g.max_offset) {
    g.status = GetStatus::kOffsetOverflowBadly;
    g.next_begin_offset = g.max_offset;
    return g;
  }
  const uint64_t scan =
      tag_hashes.empty() ? max_msgs : std::max<uint64_t>(max_msgs, kMaxFilterScan);
  const uint64_t log_min = commit_log_.min_offset();
  // After an I/O error the log past its last good sync may not be on disk, and a restart may not
  // have it: a consumer is not shown what it may never see again (the queue ends there).
  const uint64_t durable_end = health_.io_failed() ? commit_log_.flushed().get() : UINT64_MAX;
  uint64_t next = offset;
  for (const CqUnit& u : cq->read(offset, scan)) {
    if (g.messages.size() >= max_msgs) break;
    if (!g.messages.empty() && g.total_bytes + u.size > max_bytes) break;
    if (u.size != 0 && u.physical_offset + u.size > durable_end) {
      if (next == offset) g.status = GetStatus::kOffsetOverflowOne;
      break;
    }
    ++next;
    if (u.size == 0 || u.physical_offset < log_min) continue;  // hole, or already deleted
    if (!tag_hashes.empty() &&
        std::find(tag_hashes.begin(), tag_hashes.end(), u.tag_hash) == tag_hashes.end()) {
      continue;
    }
    auto view = commit_log_.read_exact(u.physical_offset, u.size);
    if (!view.is_ok()) {
      --next;
      break;
    }
    g.total_bytes += u.size;
    g.messages.push_back(std::move(view).value());
  }
  g.next_begin_offset = next;
  if (g.status == GetStatus::kOffsetOverflowOne && g.messages.empty()) return g;
  g.status = g.messages.empty() ? GetStatus::kNoMatchedMessage : GetStatus::kFound;
  return g;
}

uint64_t MessageStore::min_queue_offset(std::string_view topic, uint32_t queue_id) const {
  const ConsumeQueuePtr cq = find_cq(topic, queue_id);
  return cq ? cq->min_offset() : 0;
}

uint64_t MessageStore::max_queue_offset(std::string_view topic, uint32_t queue_id) const {
  const ConsumeQueuePtr cq = find_cq(topic, queue_id);
  return cq ? cq->max_offset() : 0;
}

void MessageStore::add_arrival_listener(ArrivalListener listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

Status MessageStore::shutdown() {
  if (closed_) return Status::ok();
  closed_ = true;
  // Let the dispatcher index everything written before it stops.
  Status caught_up = dispatched_.wait(dispatch_end(), std::chrono::milliseconds(10000));
  stop_threads();
  Status s = commit_log_.shutdown();
  if (!s.is_ok()) return s;
  if (!caught_up.is_ok()) return caught_up;
  COMET_RETURN_IF_ERROR(checkpoint());
  if (::unlink(abort_path_.c_str()) != 0 && errno != ENOENT) {
    return Status::from_errno("remove " + abort_path_, errno);
  }
  release_lock();
  return Status::ok();
}

void MessageStore::crash_for_test() {
  if (closed_) return;
  closed_ = true;
  stop_threads();
  commit_log_.flushed().fail_all(Status::shutdown("crashed"), false);
  release_lock();  // as the kernel does for a killed process
}

}  // namespace comet::commitlog
