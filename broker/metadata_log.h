// MetadataLog: consumer offsets, topic and subscription group configs follow replication. Whatever
// the mode, they travel inside the CommitLog, so they reach the replicas with the HA stream
// (master/slave) or the Raft log (DLedger), in order, with nothing else to keep in step:
//   - The master notes every commit and topic change (the managers' listeners) and appends what
//     changed as one metadata record (broker/metadata_record.h) every kFlushInterval, through
//     the Replication seam. One record is in flight at a time, so records keep their order.
//   - Every broker applies the records its log holds, in log order, as the dispatcher indexes
//     them (only what is readable: acknowledged by a slave, or committed by a quorum). A slave or
//     follower applies all of them. A master applies only records written before it became
//     master (an old master's, which a new DLedger leader may commit after its election), and of
//     those only offset commits and topics it does not have, so nothing it decided is undone.
//   - Applying a record twice changes nothing: commits move offsets forward only, topic configs
//     and group configs are upserts applied in log order. A broker that stops being master re-reads
//     the records from where its mastership began (its own, possibly cut, and the new master's
//     after them).
// So a new master resumes its consumer groups from the last record of the old one, at most a
// flush interval plus replication behind, not from the last periodic sync (SlaveMetadataSync
// stays as the backstop: offsets committed on a slave, and a replica whose log starts after
// records that retention deleted).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <asio.hpp>

#include "broker/broker_context.h"
#include "broker/metadata_record.h"
#include "broker/metadata_store.h"

namespace comet::broker {

class Replication;

class MetadataLog {
 public:
  static constexpr auto kFlushInterval = std::chrono::milliseconds(200);

  MetadataLog(BrokerContext& ctx, Replication& replication, MetadataStore& metadata);
  ~MetadataLog();

  // Before the replication starts: loads the applied position and hooks into the managers and
  // the store. start_flushing() once the broker serves.
  Status attach();
  void start_flushing();
  void stop();
  // The Replication hook: this broker becomes master now (before it takes writes).
  void on_becoming_master();

  // For tests and status: the system topic's queue offset applied up to.
  uint64_t applied() const { return applied_.load(); }

 private:
  void note_offset(const ConsumerOffsetManager::Entry& e);
  void note_topic(const TopicConfig& c);
  void note_group(const SubscriptionGroupConfig& c);
  void note_group_removed(const std::string& group);
  void note_group_offsets_removed(const std::string& group);
  void schedule_flush();
  void flush();
  MetadataChanges take_changes();
  void requeue(MetadataChanges changes);

  void apply_soon();
  void apply_new();
  void rewind_after_mastership();
  void apply_record(const commitlog::ReadView& view);
  void apply(const MetadataChanges& changes, bool from_old_master);

  BrokerContext& ctx_;
  Replication& replication_;
  MetadataStore& metadata_;
  std::unique_ptr<asio::steady_timer> timer_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> in_flight_{false};  // a record is being appended

  std::mutex changes_mu_;  // guards the maps and sets: what changed since the last record
  std::map<std::string, ConsumerOffsetManager::Entry> offsets_;  // by ConsumerOffsetManager::key
  std::map<std::string, TopicConfig> topics_;
  std::map<std::string, SubscriptionGroupConfig> groups_;
  // Deleted since the last record: group configs, and groups whose offsets were all removed.
  // What the maps hold of such a group was noted after its deletion.
  std::set<std::string> removed_groups_;
  std::set<std::string> removed_offset_groups_;

  std::atomic<bool> apply_posted_{false};
  std::mutex apply_mu_;  // one apply pass at a time; guards the fields below
  std::atomic<uint64_t> applied_{0};
  bool applied_as_master_ = false;  // the last pass ran while this broker was master
  uint64_t master_since_ = 0;       // CommitLog offset where this broker's mastership began
  uint64_t own_from_ = 0;           // the system queue's offset where its mastership began
};

}  // namespace comet::broker
