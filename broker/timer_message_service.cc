#include "broker/timer_message_service.h"

#include <unistd.h>

#include <cerrno>
#include <future>
#include <limits>

#include "broker/system_topics.h"
#include "broker/timer_messages.h"
#include "broker/timer_progress.h"
#include "broker/topic_creation.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {
namespace {

constexpr auto kRetryAfterFailure = std::chrono::seconds(1);
constexpr auto kCheckpointInterval = std::chrono::seconds(1);
// A wake for a timer within the current tick waits at least this long, so a tick with many
// timers due a few ms apart is scanned a few times, not once per timer.
constexpr int64_t kMinWakeMs = 10;
constexpr size_t kMaxQueuedJobs = 4;
constexpr uint32_t kQueueOfHandled = 0;    // %TIMER% offset of Q
constexpr uint32_t kQueueOfDelivered = 1;  // %TIMER% offset of W

// What an append's messages point into, kept until it is done.
struct HeldDelivery {
  std::vector<commitlog::ReadView> records;
  std::vector<std::string> properties;
};

int64_t now_ms() {
  return SystemClock::instance().now_ms();
}

}  // namespace

TimerMessageService::TimerMessageService(BrokerContext& ctx, Replication& replication,
                                         uint64_t segment_entries)
    : ctx_(ctx),
      replication_(replication),
      segment_entries_(segment_entries),
      dir_(ctx.config.store.store_path_root_dir + "/timer"),
      strand_(asio::make_strand(*ctx.io)),
      wake_timer_(*ctx.io),
      retry_timer_(*ctx.io),
      checkpoint_timer_(*ctx.io) {}

TimerMessageService::~TimerMessageService() {
  stop();
}

Status TimerMessageService::open() {
  auto log = logger("broker");
  const int64_t max_delay_ms = ctx_.config.timer_max_delay_sec * 1000;
  if (int64_t{ctx_.config.store.file_reserved_time_hours} * 3600 <
      ctx_.config.timer_max_delay_sec) {
    log->warn(
        "fileReservedTime ({} h) is shorter than timerMaxDelaySec ({} s): a timer message whose "
        "CommitLog segment is deleted before it is due is lost",
        ctx_.config.store.file_reserved_time_hours, ctx_.config.timer_max_delay_sec);
  }
  auto checkpoint = read_timer_checkpoint(dir_ + "/checkpoint");
  if (!checkpoint.is_ok()) {
    log->warn("{}; rebuilding the timer schedule from the timer queue",
              checkpoint.status().to_string());
  }
  const TimerCheckpoint cp = checkpoint.is_ok() && *checkpoint ? **checkpoint : TimerCheckpoint{};
  COMET_ASSIGN_OR_RETURN(log_, TimerLog::open(dir_ + "/log", segment_entries_, cp.log_length));
  wheel_ =
      std::make_unique<TimerWheel>(ctx_.config.timer_precision_ms,
                                   timer_wheel_slots(max_delay_ms, ctx_.config.timer_precision_ms));
  size_t restored = 0;
  COMET_RETURN_IF_ERROR(log_->load([&](int64_t pos, const TimerEntry& e) {
    wheel_->restore(pos, e);
    ++restored;
  }));
  cursor_ = cp.queue_offset;
  const uint64_t min = ctx_.store->min_queue_offset(kTimerTopic, 0);
  const uint64_t max = ctx_.store->max_queue_offset(kTimerTopic, 0);
  if (cursor_ < min) cursor_ = min;  // retention took them
  if (cursor_ > max) {
    log->warn("timer checkpoint offset {} is past the timer queue's end {} (the log was cut)",
              cursor_, max);
    cursor_ = max;
  }
  checkpointed_ = {cursor_, log_->end()};
  log->info("timer schedule: {} entries in {} segments, inserting from queue offset {}", restored,
            log_->segment_count(), cursor_);
  return Status::ok();
}

void TimerMessageService::start() {
  started_ = true;
  sync_thread_ = std::thread([this] { sync_loop(); });
  ctx_.store->add_arrival_listener([this](std::string_view topic, uint32_t, uint64_t) {
    if (topic != kTimerTopic || insert_posted_.exchange(true)) return;
    asio::post(strand_, [this] {
      insert_posted_ = false;
      insert_more();
    });
  });
  asio::post(strand_, [this] {
    insert_more();
    schedule_checkpoint();
  });
  wake_all();
}

void TimerMessageService::stop() {
  if (stopped_.exchange(true) || !started_) return;
  {
    std::lock_guard lock(sync_mu_);
    sync_stop_ = true;
    sync_cv_.notify_one();
  }
  // The sync thread finishes a job it took, or the one handed to it, before it ends: no older
  // checkpoint can be written after the last one below.
  if (sync_thread_.joinable()) sync_thread_.join();
  if (ctx_.io->stopped()) return;
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  asio::post(strand_, [this, done] {
    wake_timer_.cancel();
    retry_timer_.cancel();
    checkpoint_timer_.cancel();
    if (log_ && !failed_) {  // the last checkpoint, synchronously
      const TimerCheckpoint last{cursor_, log_->end()};
      Status s = log_->sync();
      if (s.is_ok()) s = write_timer_checkpoint(dir_ + "/checkpoint", last);
      if (!s.is_ok()) logger("broker")->error("timer checkpoint at stop: {}", s.to_string());
    }
    done->set_value();
  });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    logger("broker")->warn("timer service: the last checkpoint did not complete in time");
  }
}

void TimerMessageService::wake_all() {
  asio::post(strand_, [this] {
    if (stopped_ || failed_) return;
    if (!replication_.is_master()) return step_down();
    if (!replication_.check_writable().is_ok()) return;  // wake_all() again once confirmed
    // Leading again in a later epoch (term): another master may have delivered meanwhile.
    if (leading_ && replication_.epoch() != leading_epoch_) step_down();
    if (!leading_) return become_master();
    scan_due();
    run_jobs();
  });
}

bool TimerMessageService::leading() {
  if (leading_ && !replication_.is_master()) step_down();
  return leading_;
}

void TimerMessageService::step_down() {
  leading_ = false;
  catching_up_ = false;
  ++term_;  // an append still in flight completes into nothing
  appending_ = false;
  resume_after_jobs_ = false;
  retry_armed_ = false;
  retry_timer_.cancel();
  jobs_.clear();
  wake_at_ms_.reset();
  wake_timer_.cancel();
}

// A new master: resume from the replicated progress, first catching up over the queue offsets
// the old master had not handled that this replica's wheel will not scan again (due before W).
void TimerMessageService::become_master() {
  const TimerResume r =
      resume_from(ctx_.offsets->query(kTimerGroup, kTimerTopic, kQueueOfDelivered),
                  ctx_.offsets->query(kTimerGroup, kTimerTopic, kQueueOfHandled), now_ms(),
                  ctx_.store->min_queue_offset(kTimerTopic, 0), cursor_);
  scanned_ms_ = r.scanned_ms;
  handled_ = r.handled_below;
  leading_ = true;
  leading_epoch_ = replication_.epoch();
  catching_up_ = true;
  catch_up_next_ = r.catch_up_from;
  catch_up_end_ = r.catch_up_to;
  logger("broker")->info(
      "timer delivery resumes: delivered below {} ms, handled below queue offset {}, catching up "
      "over [{}, {})",
      scanned_ms_, handled_, catch_up_next_, catch_up_end_);
  catch_up();
}

void TimerMessageService::catch_up() {
  if (!leading() || !catching_up_) return;
  if (jobs_.size() >= kMaxQueuedJobs) {
    resume_after_jobs_ = true;
    return;
  }
  if (catch_up_next_ >= catch_up_end_) {
    catching_up_ = false;
    Job done;
    done.handled_offset = catch_up_end_;
    push_job(std::move(done));
    insert_more();
    scan_due();
    return;
  }
  auto got = ctx_.store->get_messages(kTimerTopic, 0, catch_up_next_, kInsertBatch, 8u << 20);
  if (got.status == commitlog::GetStatus::kOffsetTooSmall) {
    catch_up_next_ = got.min_offset;
  } else if (got.status == commitlog::GetStatus::kNoMatchedMessage) {
    catch_up_next_ = got.next_begin_offset;  // only units whose records retention deleted
  } else if (got.status != commitlog::GetStatus::kFound) {
    catch_up_next_ = catch_up_end_;  // the queue was cut below the cursor: nothing to read
  } else {
    Job job;
    for (const auto& view : got.messages) {
      auto d = record::decode(view.data, view.size, /*verify_crc=*/false);
      if (d.outcome != record::Outcome::kRecord) continue;  // the store verified it
      if (d.record.queue_offset >= catch_up_end_) break;
      const auto due = timer_out_ms(d.record.properties);
      if (due && *due < scanned_ms_) {  // due at or after W: the wheel scan delivers it
        job.timers.push_back({*due, -1, d.record.physical_offset, d.record.total_size});
      }
    }
    catch_up_next_ = std::min(got.next_begin_offset, catch_up_end_);
    job.handled_offset = catch_up_next_;
    push_job(std::move(job));
  }
  asio::post(strand_, [this] { catch_up(); });
}

void TimerMessageService::insert_more() {
  if (stopped_ || failed_) return;
  const bool master = leading();
  if (master && catching_up_) return;  // catch_up() calls it once done
  if (master && jobs_.size() >= kMaxQueuedJobs) {
    resume_after_jobs_ = true;
    return;
  }
  auto got = ctx_.store->get_messages(kTimerTopic, 0, cursor_, kInsertBatch, 8u << 20);
  if (got.status == commitlog::GetStatus::kOffsetTooSmall ||
      got.status == commitlog::GetStatus::kNoMatchedMessage) {
    // Retention deleted them (all the units read, for kNoMatchedMessage): step over.
    cursor_ = got.status == commitlog::GetStatus::kOffsetTooSmall ? got.min_offset
                                                                  : got.next_begin_offset;
    return asio::post(strand_, [this] { insert_more(); });
  }
  if (got.status != commitlog::GetStatus::kFound) return;  // an arrival wakes it
  Job immediate;
  int64_t earliest = std::numeric_limits<int64_t>::max();
  for (const auto& view : got.messages) {
    auto d = record::decode(view.data, view.size, /*verify_crc=*/false);
    if (d.outcome != record::Outcome::kRecord) continue;  // the store verified it
    const auto due = timer_out_ms(d.record.properties);
    if (!due) {
      logger("broker")->error("timer queue offset {} has no TIMER_OUT_MS: skipped",
                              d.record.queue_offset);
      continue;
    }
    auto pos = wheel_->insert(*log_, d.record.physical_offset, d.record.total_size, *due);
    if (!pos.is_ok()) return fail(pos.status());
    const auto arrival = classify_arrival(d.record.queue_offset, *due, handled_, scanned_ms_);
    if (master && arrival == TimerArrival::kDueNow) {
      immediate.timers.push_back({*due, *pos, d.record.physical_offset, d.record.total_size});
    } else if (master && arrival == TimerArrival::kScheduled) {
      earliest = std::min(earliest, *due);
    }
  }
  cursor_ = got.next_begin_offset;
  if (master) {
    immediate.handled_offset = cursor_;
    push_job(std::move(immediate));
    if (earliest != std::numeric_limits<int64_t>::max()) arm_wake(earliest);
  }
  if (cursor_ < got.max_offset) asio::post(strand_, [this] { insert_more(); });  // more to read
}

// Gathers the timers due from scanned_ms_ up to now, tick by tick, into a job.
void TimerMessageService::scan_due() {
  if (stopped_ || failed_ || !leading() || catching_up_) return;
  if (jobs_.size() >= kMaxQueuedJobs) {
    resume_after_jobs_ = true;
    return;
  }
  const int64_t now = now_ms();
  if (now < scanned_ms_) return arm_wake(scanned_ms_);  // the clock went back: wait for W
  auto gathered = wheel_->gather(*log_, scanned_ms_, now, kMaxJobTimers);
  if (!gathered.is_ok()) return fail(gathered.status());
  scanned_ms_ = gathered->scanned_ms;
  // The watermark is committed with deliveries only: what a new master scans again between the
  // last one and now holds nothing this master delivered, and an idle broker writes nothing.
  if (!gathered->due.empty()) {
    Job job;
    job.timers = std::move(gathered->due);
    job.delivered_below_ms = scanned_ms_;
    push_job(std::move(job));
  }
  if (gathered->more) return asio::post(strand_, [this] { scan_due(); });
  wake_at_ms_.reset();
  if (auto at = wheel_->next_wake_ms(*gathered, now, kMinWakeMs)) arm_wake(*at);
}

void TimerMessageService::arm_wake(int64_t at_ms) {
  if (wake_at_ms_ && *wake_at_ms_ <= at_ms) return;
  wake_at_ms_ = at_ms;
  wake_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, at_ms - now_ms())));
  wake_timer_.async_wait(asio::bind_executor(strand_, [this](std::error_code ec) {
    if (ec) return;
    wake_at_ms_.reset();
    scan_due();
  }));
}

void TimerMessageService::push_job(Job job) {
  // Progress alone joins the last job not yet started: fewer commits, same order.
  if (!jobs_.empty() && (jobs_.size() > 1 || !appending_)) {
    Job& last = jobs_.back();
    if (last.timers.size() + job.timers.size() <= kMaxJobTimers && last.appended == 0) {
      last.timers.insert(last.timers.end(), job.timers.begin(), job.timers.end());
      if (job.delivered_below_ms) last.delivered_below_ms = job.delivered_below_ms;
      if (job.handled_offset) last.handled_offset = job.handled_offset;
      return run_jobs();
    }
  }
  jobs_.push_back(std::move(job));
  run_jobs();
}

void TimerMessageService::run_jobs() {
  while (!stopped_ && !appending_ && !retry_armed_ && !jobs_.empty()) {
    if (!leading()) return;
    if (!replication_.check_writable().is_ok()) return;  // wake_all() once writable again
    Job& job = jobs_.front();
    auto held = std::make_shared<HeldDelivery>();
    held->properties.reserve(kMaxBatch);  // the messages point into these strings
    std::vector<Message> msgs;
    size_t taken = 0;
    while (job.appended + taken < job.timers.size() && msgs.size() < kMaxBatch) {
      const DueTimer& t = job.timers[job.appended + taken++];
      auto view = ctx_.store->commit_log().read_exact(t.commitlog_offset, t.size);
      auto d = view.is_ok() ? record::decode(view->data, view->size, /*verify_crc=*/false)
                            : record::Decoded{};
      if (d.outcome != record::Outcome::kRecord || d.record.topic != kTimerTopic ||
          timer_out_ms(d.record.properties) != t.due_ms) {
        logger("broker")->error("timer message at offset {} is gone or not a timer: skipped",
                                t.commitlog_offset);
        continue;
      }
      auto m = real_timer_message(d.record, held->properties.emplace_back());
      if (!m.is_ok()) {
        logger("broker")->error("timer message dropped: {}", m.status().to_string());
        continue;
      }
      ensure_delivery_topic(ctx_, m->topic, m->queue_id);
      msgs.push_back(m.value());
      held->records.push_back(std::move(view).value());
    }
    if (msgs.empty()) {
      job.appended += taken;
      if (job.appended >= job.timers.size()) {
        commit_progress(job);
        jobs_.pop_front();
      }
      continue;
    }
    appending_ = true;
    replication_.append(
        std::move(msgs), held, [] {},
        [this, taken, term = term_](AppendOutcome out) {
          asio::post(strand_, [this, taken, term, out = std::move(out)] {
            if (term == term_) appended(out, taken);
          });
        });
  }
  if (resume_after_jobs_ && jobs_.size() < kMaxQueuedJobs && leading_) {
    resume_after_jobs_ = false;
    asio::post(strand_, [this] {
      catch_up();
      insert_more();
      scan_due();
    });
  }
}

void TimerMessageService::appended(const AppendOutcome& out, size_t count) {
  appending_ = false;
  if (stopped_ || jobs_.empty()) return;
  if (!out.status.is_ok()) {
    logger("broker")->warn("delivering timer messages failed ({}); retrying in 1 s",
                           out.status.to_string());
    retry_armed_ = true;
    retry_timer_.expires_after(kRetryAfterFailure);
    retry_timer_.async_wait(asio::bind_executor(strand_, [this](std::error_code ec) {
      if (ec) return;
      retry_armed_ = false;
      run_jobs();
    }));
    return;
  }
  Job& job = jobs_.front();
  job.appended += count;
  if (job.appended >= job.timers.size()) {
    commit_progress(job);
    jobs_.pop_front();
  }
  run_jobs();
}

void TimerMessageService::commit_progress(const Job& job) {
  // Q only when it moved: a broker without timer messages commits nothing.
  const uint64_t handled =
      ctx_.offsets->query(kTimerGroup, kTimerTopic, kQueueOfHandled).value_or(0);
  if (job.handled_offset && *job.handled_offset > handled) {
    (void)ctx_.offsets->commit(kTimerGroup, kTimerTopic, kQueueOfHandled, *job.handled_offset);
  }
  if (job.delivered_below_ms) {
    (void)ctx_.offsets->commit(kTimerGroup, kTimerTopic, kQueueOfDelivered,
                               static_cast<uint64_t>(*job.delivered_below_ms));
  }
}

void TimerMessageService::schedule_checkpoint() {
  checkpoint_timer_.expires_after(kCheckpointInterval);
  checkpoint_timer_.async_wait(asio::bind_executor(strand_, [this](std::error_code ec) {
    if (ec || stopped_) return;
    checkpoint();
    schedule_checkpoint();
  }));
}

// Hands the sync of the log and the checkpoint of what it holds to the sync thread; deletes the
// segments whose timers were delivered (W as the master committed it, replicated to every
// replica).
void TimerMessageService::checkpoint() {
  if (failed_) return;
  if (!syncing_ &&
      (checkpointed_.queue_offset != cursor_ || checkpointed_.log_length != log_->end())) {
    syncing_ = true;
    std::lock_guard lock(sync_mu_);
    sync_job_ = SyncJob{log_->take_sync_handles(), {cursor_, log_->end()}};
    sync_cv_.notify_one();
  }
  if (auto w = ctx_.offsets->query(kTimerGroup, kTimerTopic, kQueueOfDelivered)) {
    log_->delete_delivered(static_cast<int64_t>(*w));
  }
}

void TimerMessageService::sync_loop() {
  while (true) {
    SyncJob job;
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [this] { return sync_stop_ || sync_job_.has_value(); });
      if (!sync_job_) return;  // stopping with nothing to do
      job = std::move(*sync_job_);
      sync_job_.reset();
    }
    Status s;
    for (int fd : job.fds) {
      if (s.is_ok() && ::fdatasync(fd) != 0) s = Status::from_errno("timer log fdatasync", errno);
      ::close(fd);
    }
    if (s.is_ok()) s = write_timer_checkpoint(dir_ + "/checkpoint", job.checkpoint);
    asio::post(strand_, [this, s, cp = job.checkpoint] {
      syncing_ = false;
      if (!s.is_ok()) return fail(s);
      checkpointed_ = cp;
    });
  }
}

void TimerMessageService::fail(const Status& s) {
  logger("broker")->error(
      "timer schedule stopped: {}; timer messages wait in their queue until a restart",
      s.to_string());
  failed_ = true;
  step_down();
}

}  // namespace comet::broker
