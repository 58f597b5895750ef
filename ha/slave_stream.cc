#include "ha/slave_stream.h"

#include "common/assert.h"

namespace comet::ha {

SlaveStream::SlaveStream(const HaOptions& options, uint64_t segment_bytes)
    : cluster_name_(options.cluster_name),
      broker_name_(options.broker_name),
      segment_bytes_(segment_bytes),
      housekeeping_interval_ms_(options.housekeeping_interval_ms) {}

SlaveHello SlaveStream::on_connect(const EpochCache& epochs, uint64_t log_min, uint64_t log_max,
                                   int64_t now_ms) {
  COMET_ASSERT(!cut_pending_, "handshaking while the log is still being cut");
  phase_ = Phase::kHandshaking;
  last_push_ms_ = now_ms;
  max_epoch_seen_ = epochs.max_seen();
  SlaveHello h;
  h.cluster_name = cluster_name_;
  h.broker_name = broker_name_;
  h.segment_bytes = segment_bytes_;
  h.epochs = epochs.entries();
  h.max_epoch = epochs.max_seen();
  h.min_offset = log_min;
  h.max_offset = log_max;
  return h;
}

SlaveStream::Attach SlaveStream::refuse(Refusal why, std::string reason) {
  phase_ = Phase::kDisconnected;
  Attach a;
  a.refusal = why;
  a.reason = std::move(reason);
  return a;
}

SlaveStream::Attach SlaveStream::on_answer(const HandshakeAnswer& answer, uint64_t log_end,
                                           int64_t now_ms) {
  if (phase_ != Phase::kHandshaking) return refuse(Refusal::kBadAnswer, "no handshake pending");
  if (!answer.accepted()) return refuse(answer.refusal, answer.reason);
  if (!EpochCache::is_ordered(answer.epochs) ||
      (!answer.epochs.empty() && answer.epochs.back().epoch > answer.master_epoch)) {
    return refuse(Refusal::kBadAnswer, "the master's epoch history is out of order");
  }
  // Epochs only grow: following a master older than an epoch we have seen would let the stale
  // side of a failover overwrite the new one.
  if (answer.master_epoch < max_epoch_seen_) {
    return refuse(Refusal::kStaleMaster, "master of epoch " + std::to_string(answer.master_epoch) +
                                             " < " + std::to_string(max_epoch_seen_) +
                                             " seen here");
  }
  Attach a;
  master_epoch_ = answer.master_epoch;
  master_epochs_ = answer.epochs;
  start_ = answer.start_offset;
  last_push_ms_ = now_ms;
  if (answer.start_offset < acked_offset_) {
    a.lost_acked_bytes = acked_offset_ - answer.start_offset;
    acked_offset_ = answer.start_offset;
  }
  if (answer.start_offset == log_end) {
    a.begin = begin();
  } else {
    phase_ = Phase::kTruncating;
    cut_pending_ = true;
    a.truncate_to = answer.start_offset;
  }
  return a;
}

SlaveStream::Begin SlaveStream::begin() {
  phase_ = Phase::kStreaming;
  acked_offset_ = start_;
  return Begin{master_epochs_, master_epoch_, start_};
}

std::optional<SlaveStream::Begin> SlaveStream::on_truncated(bool ok, uint64_t log_end) {
  cut_pending_ = false;
  if (phase_ != Phase::kTruncating) return std::nullopt;
  if (!ok) {
    phase_ = Phase::kDisconnected;
    return std::nullopt;
  }
  COMET_ASSERT(log_end == start_, "the log ends at " + std::to_string(log_end) +
                                      " after cutting it at " + std::to_string(start_));
  return begin();
}

SlaveStream::PushVerdict SlaveStream::on_push(const PushRange& push, uint64_t bytes,
                                              uint64_t log_end, int64_t now_ms) {
  if (!streaming()) return PushVerdict::kNotStreaming;
  last_push_ms_ = now_ms;
  master_max_ = push.master_max;
  if (push.epoch < master_epoch_) return PushVerdict::kStaleEpoch;
  if (push.epoch > master_epoch_) return PushVerdict::kNewerEpoch;
  if (bytes == 0) return PushVerdict::kHeartbeat;
  if (push.offset != log_end) return PushVerdict::kOffsetGap;
  return PushVerdict::kAppend;
}

uint64_t SlaveStream::on_appended(uint64_t offset, uint64_t bytes, uint64_t log_end) {
  COMET_ASSERT(streaming(), "appended a push outside a stream");
  COMET_ASSERT(log_end == offset + bytes, "appending " + std::to_string(bytes) + " bytes at " +
                                              std::to_string(offset) + " ended the log at " +
                                              std::to_string(log_end));
  acked_offset_ = log_end;
  return log_end;
}

SlaveStream::TickResult SlaveStream::on_tick(int64_t now_ms, uint64_t log_end) {
  TickResult r;
  if (!streaming()) return r;
  if (now_ms - last_push_ms_ > housekeeping_interval_ms_) {
    r.reconnect = true;
    return r;
  }
  r.heartbeat = log_end;
  return r;
}

}  // namespace comet::ha
