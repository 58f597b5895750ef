#include "broker/metadata_log.h"

#include <charconv>

#include "broker/replication.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {
namespace {

constexpr std::string_view kAppliedKey = "metadataApplied";
constexpr uint32_t kApplyBatch = 64;
constexpr int kApplyRounds = 64;  // per pass; a longer backlog continues in a later pass

// Set while this thread applies records: the managers' listeners then note nothing, since
// what a record brings is already in the log.
thread_local bool applying_records = false;

}  // namespace

MetadataLog::MetadataLog(BrokerContext& ctx, Replication& replication, MetadataStore& metadata)
    : ctx_(ctx), replication_(replication), metadata_(metadata) {}

MetadataLog::~MetadataLog() {
  stop();
}

Status MetadataLog::attach() {
  if (auto saved = metadata_.get(Family::kHa, kAppliedKey); saved.is_ok()) {
    uint64_t applied = 0;
    const std::string& v = saved.value();
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), applied);
    if (ec != std::errc() || end != v.data() + v.size()) {
      return Status::corruption("stored " + std::string(kAppliedKey) + " '" + v +
                                "' is not an offset");
    }
    applied_ = applied;
  } else if (saved.status().code() != Code::kNotFound) {
    return saved.status();
  }
  // Until a promotion says otherwise, the records already in the log are an earlier master's.
  master_since_ = ctx_.store->commit_log().max_offset();
  own_from_ = ctx_.store->max_queue_offset(kMetadataTopic, 0);
  ctx_.offsets->set_commit_listener([this](const auto& e) { note_offset(e); });
  ctx_.topics->set_change_listener([this](const TopicConfig& c) { note_topic(c); });
  ctx_.groups->set_change_listener([this](const SubscriptionGroupConfig& c) { note_group(c); });
  ctx_.groups->set_remove_listener([this](const std::string& g) { note_group_removed(g); });
  ctx_.offsets->set_group_remove_listener(
      [this](const std::string& g) { note_group_offsets_removed(g); });
  ctx_.store->add_arrival_listener([this](std::string_view topic, uint32_t, uint64_t) {
    if (topic == kMetadataTopic) apply_soon();
  });
  apply_soon();  // what the log held when the broker stopped, or gained since
  return Status::ok();
}

void MetadataLog::start_flushing() {
  timer_ = std::make_unique<asio::steady_timer>(*ctx_.io);
  asio::post(*ctx_.io, [this] { schedule_flush(); });
}

void MetadataLog::stop() {
  stopped_ = true;
  if (timer_) asio::post(*ctx_.io, [this] { timer_->cancel(); });
}

void MetadataLog::note_offset(const ConsumerOffsetManager::Entry& e) {
  if (applying_records || !replication_.is_master()) return;
  std::lock_guard lock(changes_mu_);
  offsets_.insert_or_assign(ConsumerOffsetManager::key(e.group, e.topic, e.queue_id), e);
}

void MetadataLog::note_topic(const TopicConfig& c) {
  if (applying_records || !replication_.is_master()) return;
  std::lock_guard lock(changes_mu_);
  topics_.insert_or_assign(c.name, c);
}

void MetadataLog::note_group(const SubscriptionGroupConfig& c) {
  if (applying_records || !replication_.is_master()) return;
  std::lock_guard lock(changes_mu_);
  groups_.insert_or_assign(c.group_name, c);
}

// A deletion drops what was noted of the group before it; what is noted after it stays, and the
// record applies the deletion first.
void MetadataLog::note_group_removed(const std::string& group) {
  if (applying_records || !replication_.is_master()) return;
  std::lock_guard lock(changes_mu_);
  groups_.erase(group);
  removed_groups_.insert(group);
}

void MetadataLog::note_group_offsets_removed(const std::string& group) {
  if (applying_records || !replication_.is_master()) return;
  std::lock_guard lock(changes_mu_);
  std::erase_if(offsets_, [&](const auto& kv) { return kv.second.group == group; });
  removed_offset_groups_.insert(group);
}

void MetadataLog::schedule_flush() {
  if (stopped_) return;
  timer_->expires_after(kFlushInterval);
  timer_->async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    flush();
    schedule_flush();
  });
}

MetadataChanges MetadataLog::take_changes() {
  MetadataChanges c;
  std::lock_guard lock(changes_mu_);
  for (auto& [_, e] : offsets_)
    c.offsets.push_back(std::move(e));
  for (auto& [_, t] : topics_)
    c.topics.push_back(std::move(t));
  for (auto& [_, g] : groups_)
    c.groups.push_back(std::move(g));
  // A group whose offsets went lost its config too (deleteSubGroup removes both; a group
  // without a config has none to lose).
  c.deleted_groups.assign(removed_offset_groups_.begin(), removed_offset_groups_.end());
  for (const auto& g : removed_groups_) {
    if (!removed_offset_groups_.contains(g)) c.deleted_group_configs.push_back(g);
  }
  offsets_.clear();
  topics_.clear();
  groups_.clear();
  removed_groups_.clear();
  removed_offset_groups_.clear();
  return c;
}

// A record that could not be appended goes back, behind anything noted since (newer wins): its
// offsets and configs of a group deleted since are dropped, as the deletion dropped the noted ones.
void MetadataLog::requeue(MetadataChanges changes) {
  std::lock_guard lock(changes_mu_);
  for (auto& e : changes.offsets) {
    if (removed_offset_groups_.contains(e.group)) continue;
    offsets_.try_emplace(ConsumerOffsetManager::key(e.group, e.topic, e.queue_id), std::move(e));
  }
  for (auto& t : changes.topics)
    topics_.try_emplace(t.name, std::move(t));
  for (auto& g : changes.groups) {
    if (removed_groups_.contains(g.group_name)) continue;
    groups_.try_emplace(g.group_name, std::move(g));
  }
  for (auto& g : changes.deleted_groups) {
    removed_groups_.insert(g);
    removed_offset_groups_.insert(std::move(g));
  }
  for (auto& g : changes.deleted_group_configs)
    removed_groups_.insert(std::move(g));
}

void MetadataLog::flush() {
  if (!replication_.is_master()) {
    (void)take_changes();  // the new master's consumers commit there now
    return;
  }
  if (in_flight_.load() || !replication_.check_writable().is_ok()) return;
  MetadataChanges changes = take_changes();
  if (changes.empty()) return;
  auto body = std::make_shared<const std::string>(encode_metadata_record(changes));
  Message m;
  m.topic = kMetadataTopic;
  m.born_timestamp_ms = SystemClock::instance().now_ms();
  m.born_host = ctx_.store_host;
  m.body = *body;
  in_flight_ = true;
  replication_.append(
      {m}, body, [] {},
      [this, changes = std::move(changes)](AppendOutcome out) mutable {
        if (!out.status.is_ok()) {
          logger("broker")->debug("metadata record not replicated ({}); retrying",
                                  out.status.to_string());
          requeue(std::move(changes));
        }
        in_flight_ = false;
      });
}

void MetadataLog::on_becoming_master() {
  std::lock_guard lock(apply_mu_);
  master_since_ = ctx_.store->commit_log().max_offset();
  own_from_ = ctx_.store->max_queue_offset(kMetadataTopic, 0);
}

void MetadataLog::apply_soon() {
  if (apply_posted_.exchange(true)) return;
  asio::post(*ctx_.io, [this] { apply_new(); });
}

void MetadataLog::apply_new() {
  std::lock_guard lock(apply_mu_);
  apply_posted_ = false;
  if (stopped_) return;
  rewind_after_mastership();
  uint64_t at = std::min(applied_.load(), ctx_.store->max_queue_offset(kMetadataTopic, 0));
  const uint64_t before = applied_.load();
  for (int round = 0; round < kApplyRounds; ++round) {
    auto r = ctx_.store->get_messages(kMetadataTopic, 0, at, kApplyBatch, 4u << 20);
    if (r.status == commitlog::GetStatus::kOffsetTooSmall) {
      at = r.min_offset;  // retention took the older records; SlaveMetadataSync covers them
      continue;
    }
    if (r.status != commitlog::GetStatus::kFound) break;
    for (const auto& view : r.messages)
      apply_record(view);
    at = r.next_begin_offset;
    if (round + 1 == kApplyRounds) apply_soon();
  }
  applied_ = at;
  if (at != before) (void)metadata_.put(Family::kHa, kAppliedKey, std::to_string(at));
}

// A broker that stopped being master reads again from where its mastership began: what it
// wrote may have been cut, and the new master's records take those queue offsets.
void MetadataLog::rewind_after_mastership() {
  const bool master = replication_.is_master();
  if (applied_as_master_ && !master) applied_ = std::min(applied_.load(), own_from_);
  applied_as_master_ = master;
}

void MetadataLog::apply_record(const commitlog::ReadView& view) {
  auto d = record::decode(view.data, view.size, /*verify_crc=*/false);
  if (d.outcome != record::Outcome::kRecord) return;
  const bool master = replication_.is_master();
  const bool from_old_master = master && d.record.physical_offset < master_since_;
  if (master && !from_old_master) return;  // this broker's own record
  auto changes = decode_metadata_record(d.record.body);
  if (!changes.is_ok()) {
    logger("broker")->error("metadata record at offset {} skipped: {}", d.record.physical_offset,
                            changes.status().to_string());
    return;
  }
  apply(changes.value(), from_old_master);
}

void MetadataLog::apply(const MetadataChanges& changes, bool from_old_master) {
  applying_records = true;
  // Deletions first: the rest of the record was noted after them. A master applies an old
  // master's deletion too: the operator deleted the group before the failover, and the record
  // precedes everything this master wrote (a consumer still online re-creates its offsets).
  for (const auto& g : changes.deleted_groups) {
    (void)ctx_.groups->remove(g);
    (void)ctx_.offsets->remove_group(g);
  }
  for (const auto& g : changes.deleted_group_configs)
    (void)ctx_.groups->remove(g);
  for (const auto& e : changes.offsets)
    (void)ctx_.offsets->commit(e.group, e.topic, e.queue_id, e.offset);
  for (const auto& t : changes.topics) {
    if (from_old_master && ctx_.topics->find(t.name)) continue;
    (void)ctx_.topics->create_or_update(t);
  }
  for (const auto& g : changes.groups) {
    if (from_old_master && ctx_.groups->find(g.group_name)) continue;
    (void)ctx_.groups->create_or_update(g);
  }
  applying_records = false;
}

}  // namespace comet::broker
