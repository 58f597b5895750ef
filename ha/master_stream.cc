#include "ha/master_stream.h"

#include <algorithm>

#include "common/assert.h"

namespace comet::ha {

const char* refusal_name(Refusal r) {
  switch (r) {
    case Refusal::kNone:
      return "none";
    case Refusal::kWrongGroup:
      return "wrong group";
    case Refusal::kSegmentSize:
      return "segment size differs";
    case Refusal::kNotMaster:
      return "not a master";
    case Refusal::kStaleMaster:
      return "stale master";
    case Refusal::kBadAnswer:
      return "bad answer";
  }
  return "?";
}

MasterStream::MasterStream(const HaOptions& options)
    : cluster_name_(options.cluster_name),
      broker_name_(options.broker_name),
      window_bytes_(options.window_bytes),
      batch_bytes_(options.transfer_batch_bytes),
      max_gap_not_in_sync_(options.max_gap_not_in_sync),
      housekeeping_interval_ms_(options.housekeeping_interval_ms) {}

MasterStream::HandshakeResult MasterStream::refuse(Refusal why, std::string reason) {
  phase_ = Phase::kClosed;
  HandshakeResult r;
  r.answer.refusal = why;
  r.answer.reason = std::move(reason);
  return r;
}

MasterStream::HandshakeResult MasterStream::on_handshake(const SlaveHello& hello,
                                                         const MasterLogView& master,
                                                         int64_t now_ms) {
  if (phase_ != Phase::kAwaitHello) return refuse(Refusal::kBadAnswer, "a second handshake");
  if (hello.cluster_name != cluster_name_ || hello.broker_name != broker_name_) {
    return refuse(Refusal::kWrongGroup, "this is the HA port of " + cluster_name_ + "/" +
                                            broker_name_ + ", not of " + hello.cluster_name + "/" +
                                            hello.broker_name);
  }
  if (hello.segment_bytes != master.segment_bytes) {
    return refuse(Refusal::kSegmentSize, "mappedFileSizeCommitLog differs: master " +
                                             std::to_string(master.segment_bytes) + ", slave " +
                                             std::to_string(hello.segment_bytes));
  }
  if (!master.is_master) return refuse(Refusal::kNotMaster, "not a master");
  COMET_ASSERT(EpochCache::is_ordered(master.epochs) &&
                   (master.epochs.empty() || master.epochs.back().epoch <= master.epoch),
               "the master's own epoch history is out of order");
  COMET_ASSERT(master.min_offset <= master.max_offset, "the master's log ends before it starts");
  if (hello.max_epoch > master.epoch) {
    auto r = refuse(Refusal::kStaleMaster, "stale master: epoch " + std::to_string(master.epoch) +
                                               " < " + std::to_string(hello.max_epoch) +
                                               " seen by the slave");
    r.fence_epoch = hello.max_epoch;
    return r;
  }
  uint64_t start = EpochCache::consistent_offset(master.epochs, master.max_offset, hello.epochs,
                                                 hello.max_offset);
  // The slave's log has to start where the master's still does: a slave holding nothing the
  // master retains restarts its log at the master's first offset.
  if (start < master.min_offset || hello.min_offset > start) start = master.min_offset;
  COMET_ASSERT(start >= master.min_offset && start <= master.max_offset,
               "a stream would start outside the master's log");
  phase_ = Phase::kAwaitStartAck;
  epoch_ = master.epoch;
  start_ = start;
  next_ = start;
  last_ack_ms_ = now_ms;
  HandshakeResult r;
  r.answer.start_offset = start;
  r.answer.master_epoch = master.epoch;
  r.answer.epochs = master.epochs;
  return r;
}

MasterStream::AckResult MasterStream::on_ack(uint64_t offset, uint64_t log_end, int64_t now_ms) {
  AckResult r;
  auto violation = [&](std::string why) {
    phase_ = Phase::kClosed;
    r.close = true;
    r.reason = std::move(why);
    return r;
  };
  if (phase_ == Phase::kAwaitHello || phase_ == Phase::kClosed) {
    return violation("an ack outside a stream");
  }
  last_ack_ms_ = now_ms;
  if (phase_ == Phase::kAwaitStartAck) {
    // The slave truncated (if it had to) and holds exactly the start offset; anything else
    // claims bytes we never agreed on.
    if (offset != start_) {
      return violation("first ack at " + std::to_string(offset) + ", not at the start offset " +
                       std::to_string(start_));
    }
    phase_ = Phase::kStreaming;
    r.began = true;
  } else if (offset > next_) {
    return violation("ack of " + std::to_string(offset) + " beyond what was pushed, " +
                     std::to_string(next_));
  }
  acked_ = std::max(acked_, offset);
  if (offset <= log_end) r.replicated = offset;
  check_invariants();
  return r;
}

MasterStream::PushDecision MasterStream::next_push(uint64_t log_end) {
  PushDecision d;
  if (!streaming()) return d;
  if (next_ >= log_end) {
    idle_ = true;
    d.wait = PushWait::kCaughtUp;
    return d;
  }
  idle_ = false;
  if (next_ - acked_ >= window_bytes_) {
    d.wait = PushWait::kWindowFull;
    return d;
  }
  d.wait = PushWait::kSend;
  d.push = {epoch_, next_, batch_bytes_, log_end};
  return d;
}

void MasterStream::on_pushed(uint64_t offset, uint64_t bytes) {
  COMET_ASSERT(streaming(), "pushed on a stream that is not streaming");
  COMET_ASSERT(offset == next_, "pushed at " + std::to_string(offset) + ", the stream is at " +
                                    std::to_string(next_));
  COMET_ASSERT(bytes > 0, "an empty push counted as data");
  next_ += bytes;
  check_invariants();
}

bool MasterStream::wake() {
  const bool was = idle_;
  idle_ = false;
  return was;
}

MasterStream::TickResult MasterStream::on_tick(int64_t now_ms, uint64_t log_end) {
  TickResult r;
  if (phase_ == Phase::kAwaitHello || phase_ == Phase::kClosed) return r;
  if (now_ms - last_ack_ms_ > housekeeping_interval_ms_) {
    phase_ = Phase::kClosed;
    r.close_silent = true;
    return r;
  }
  if (streaming() && idle_) r.heartbeat = PushRange{epoch_, next_, 0, log_end};
  return r;
}

void MasterStream::check_invariants() const {
  COMET_ASSERT(acked_ <= next_, "the slave acked bytes never pushed");
  COMET_ASSERT(next_ >= start_, "the stream went back before its start");
}

}  // namespace comet::ha
