#include "broker/schedule_message_service.h"

#include <algorithm>

#include "broker/delay_levels.h"
#include "broker/scheduled_record.h"
#include "broker/system_topics.h"
#include "broker/topic_creation.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {
namespace {

constexpr auto kRetryAfterFailure = std::chrono::seconds(1);

// What a delivery's messages point into, kept until its append is done: the schedule topic's
// records (their mapped segments) and each message's properties without the scheduling ones.
struct HeldDelivery {
  std::vector<commitlog::ReadView> records;
  std::vector<std::string> properties;
};

// The message a schedule record stands for; kCorruption for one without a legal REAL_TOPIC and
// REAL_QID.
Result<Message> real_message(const RecordView& r, std::string& properties) {
  return real_message_of(
      r, "schedule", {kPropertyDelayLevel, kPropertyRealTopic, kPropertyRealQueueId}, properties);
}

}  // namespace

uint32_t to_schedule_topic(Message& m, size_t levels, std::string& storage) {
  const uint32_t level = delay_level_of(find_property(m.properties, kPropertyDelayLevel), levels);
  if (level == 0) return 0;
  // One pass and one allocation per message (this runs on every delayed send): the properties
  // without the three, then the three appended, as with_property would leave them.
  const std::string level_text = std::to_string(level);
  const std::string qid_text = std::to_string(m.queue_id);
  storage = without_properties(m.properties,
                               {kPropertyDelayLevel, kPropertyRealTopic, kPropertyRealQueueId});
  storage.reserve(storage.size() + kPropertyDelayLevel.size() + level_text.size() +
                  kPropertyRealTopic.size() + m.topic.size() + kPropertyRealQueueId.size() +
                  qid_text.size() + 6);
  for (const auto& [key, value] : {std::pair{kPropertyDelayLevel, std::string_view(level_text)},
                                   std::pair{kPropertyRealTopic, m.topic},
                                   std::pair{kPropertyRealQueueId, std::string_view(qid_text)}}) {
    storage.append(key).append(1, '\x01').append(value).append(1, '\x02');
  }
  m.properties = storage;
  m.topic = kScheduleTopic;
  m.queue_id = level - 1;
  return level;
}

struct ScheduleMessageService::Level {
  explicit Level(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  bool busy = false;    // strand: an append of this level is in flight
  bool loaded = false;  // strand: `next` was read from the progress since this broker leads
  uint64_t next = 0;    // strand: queue offset of the next message to deliver
  std::atomic<bool> waiting{false};  // a timer waits for the head: arrivals change nothing
};

ScheduleMessageService::ScheduleMessageService(BrokerContext& ctx, Replication& replication)
    : ctx_(ctx), replication_(replication), strand_(asio::make_strand(*ctx.io)) {
  for (size_t i = 0; i < ctx_.config.message_delay_levels_ms.size(); ++i)
    levels_.push_back(std::make_unique<Level>(*ctx.io));
}

ScheduleMessageService::~ScheduleMessageService() {
  stop();
}

void ScheduleMessageService::start() {
  ctx_.store->add_arrival_listener([this](std::string_view topic, uint32_t queue, uint64_t) {
    if (topic != kScheduleTopic || queue >= levels_.size() || levels_[queue]->waiting.load()) {
      return;
    }
    asio::post(strand_, [this, queue] { deliver(queue); });
  });
  wake_all();
}

void ScheduleMessageService::stop() {
  if (stopped_.exchange(true)) return;
  asio::post(strand_, [this] {
    for (auto& l : levels_)
      l->timer.cancel();
  });
}

void ScheduleMessageService::wake_all() {
  asio::post(strand_, [this] {
    for (uint32_t i = 0; i < levels_.size(); ++i) {
      levels_[i]->loaded = false;  // a new master starts from the replicated progress
      deliver(i);
    }
  });
}

uint64_t ScheduleMessageService::progress(uint32_t level) const {
  auto committed = ctx_.offsets->query(kScheduleGroup, kScheduleTopic, level);
  return committed ? *committed : ctx_.store->min_queue_offset(kScheduleTopic, level);
}

void ScheduleMessageService::deliver(uint32_t level) {
  Level& l = *levels_[level];
  if (stopped_ || l.busy) return;
  if (!replication_.is_master()) {
    l.loaded = false;
    return;
  }
  if (!replication_.check_writable().is_ok()) return;  // wake_all() once confirmed
  if (!l.loaded) {
    l.next = progress(level);
    l.loaded = true;
  }
  const uint64_t max_bytes =
      std::min(kMaxBatchBytes, ctx_.config.store.mapped_file_size_commit_log / 4);
  auto head = ctx_.store->get_messages(kScheduleTopic, level, l.next, kMaxBatch, max_bytes);
  if (head.status == commitlog::GetStatus::kOffsetTooSmall) {
    l.next = head.min_offset;  // retention took them: nothing left to deliver there
    return asio::post(strand_, [this, level] { deliver(level); });
  }
  if (head.status != commitlog::GetStatus::kFound) return;  // an arrival wakes the level
  deliver_due(level, std::move(head));
}

// Appends the due prefix of `head` to the real topics, or waits for the first one to fall due.
void ScheduleMessageService::deliver_due(uint32_t level, commitlog::GetResult head) {
  Level& l = *levels_[level];
  const int64_t delay = ctx_.config.message_delay_levels_ms[level];
  const int64_t now = SystemClock::instance().now_ms();
  auto held = std::make_shared<HeldDelivery>();
  held->properties.reserve(head.messages.size());  // the messages point into these strings
  std::vector<Message> msgs;
  // Where the level goes on: past the last record taken, by its own queue offset (a hole the
  // store skipped is not counted as a message), or past all of `head` when every record was taken.
  uint64_t next = l.next;
  bool took_all = true;
  for (auto& view : head.messages) {
    auto d = record::decode(view.data, view.size, /*verify_crc=*/false);
    if (d.outcome != record::Outcome::kRecord) {
      took_all = false;
      break;
    }
    const int64_t due = d.record.store_timestamp_ms + delay;
    if (due > now) {
      if (msgs.empty()) return wait_until(level, std::chrono::milliseconds(due - now));
      took_all = false;
      break;
    }
    auto m = real_message(d.record, held->properties.emplace_back());
    if (!m.is_ok()) {
      logger("broker")->error("delayed message dropped: {}", m.status().to_string());
    } else {
      ensure_delivery_topic(ctx_, m->topic, m->queue_id);
      msgs.push_back(m.value());
    }
    held->records.push_back(std::move(view));
    next = std::max(next, d.record.queue_offset + 1);
  }
  if (took_all) next = std::max(next, head.next_begin_offset);
  if (msgs.empty()) {  // only undeliverable records: step over them
    (void)ctx_.offsets->commit(kScheduleGroup, kScheduleTopic, level, next);
    l.next = next;
    return asio::post(strand_, [this, level] { deliver(level); });
  }
  l.busy = true;
  replication_.append(
      std::move(msgs), held, [] {},
      [this, level, next](AppendOutcome out) {
        asio::post(strand_,
                   [this, level, next, out = std::move(out)] { delivered(level, next, out); });
      });
}

void ScheduleMessageService::delivered(uint32_t level, uint64_t next, const AppendOutcome& out) {
  Level& l = *levels_[level];
  l.busy = false;
  if (stopped_) return;
  if (!out.status.is_ok()) {
    logger("broker")->warn("delivering delayed messages of level {} failed ({}); retrying in 1 s",
                           level + 1, out.status.to_string());
    return wait_until(level, kRetryAfterFailure);
  }
  (void)ctx_.offsets->commit(kScheduleGroup, kScheduleTopic, level, next);
  l.next = next;
  deliver(level);
}

void ScheduleMessageService::wait_until(uint32_t level, std::chrono::milliseconds delay) {
  Level& l = *levels_[level];
  l.waiting = true;
  l.timer.expires_after(delay);
  l.timer.async_wait(asio::bind_executor(strand_, [this, level](std::error_code ec) {
    if (ec) return;
    levels_[level]->waiting = false;
    deliver(level);
  }));
}

}  // namespace comet::broker
