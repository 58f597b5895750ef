// Edge cases of the replication state machines (ha/master_stream.h, ha/slave_stream.h), one
// rule per test; ha_sim_test drives them together through faults.
#include <gtest/gtest.h>

#include "ha/master_stream.h"
#include "ha/slave_stream.h"

namespace comet::ha {
namespace {

constexpr uint64_t kSegment = 1 << 20;

HaOptions options() {
  HaOptions o;
  o.cluster_name = "c";
  o.broker_name = "b";
  o.transfer_batch_bytes = 100;
  o.window_bytes = 250;
  o.max_gap_not_in_sync = 1000;
  o.housekeeping_interval_ms = 5000;
  return o;
}

SlaveHello hello(uint64_t max_offset = 0, std::vector<EpochEntry> epochs = {{1, 0}}) {
  SlaveHello h;
  h.cluster_name = "c";
  h.broker_name = "b";
  h.segment_bytes = kSegment;
  h.epochs = std::move(epochs);
  h.max_epoch = h.epochs.empty() ? 0 : h.epochs.back().epoch;
  h.max_offset = max_offset;
  return h;
}

MasterLogView master_log(uint64_t max_offset, std::vector<EpochEntry> epochs = {{1, 0}}) {
  MasterLogView v;
  v.is_master = true;
  v.epoch = epochs.back().epoch;
  v.epochs = std::move(epochs);
  v.max_offset = max_offset;
  v.segment_bytes = kSegment;
  return v;
}

// A master stream that answered a slave at `start` and got its first ack.
MasterStream streaming_master(uint64_t start, uint64_t log_end) {
  MasterStream m(options());
  EXPECT_TRUE(m.on_handshake(hello(start), master_log(log_end), 0).answer.accepted());
  EXPECT_TRUE(m.on_ack(start, log_end, 0).began);
  return m;
}

TEST(MasterStream, RefusesAnotherGroupAnotherSegmentSizeAndANonMaster) {
  {
    MasterStream m(options());
    SlaveHello h = hello();
    h.broker_name = "other";
    EXPECT_EQ(m.on_handshake(h, master_log(0), 0).answer.refusal, Refusal::kWrongGroup);
    EXPECT_EQ(m.phase(), MasterStream::Phase::kClosed);
  }
  {
    MasterStream m(options());
    SlaveHello h = hello();
    h.segment_bytes = kSegment / 2;
    EXPECT_EQ(m.on_handshake(h, master_log(0), 0).answer.refusal, Refusal::kSegmentSize);
  }
  {
    MasterStream m(options());
    MasterLogView v = master_log(0);
    v.is_master = false;
    EXPECT_EQ(m.on_handshake(hello(), v, 0).answer.refusal, Refusal::kNotMaster);
  }
}

TEST(MasterStream, ASlaveThatSawAHigherEpochFencesTheMaster) {
  MasterStream m(options());
  SlaveHello h = hello();
  h.max_epoch = 3;
  auto r = m.on_handshake(h, master_log(100, {{1, 0}, {2, 50}}), 0);
  EXPECT_EQ(r.answer.refusal, Refusal::kStaleMaster);
  EXPECT_EQ(r.fence_epoch, 3);
  EXPECT_FALSE(m.streaming());
}

TEST(MasterStream, StartsWhereTheEpochHistoriesAgree) {
  MasterStream m(options());
  // The slave wrote 80..120 as master of epoch 1; the master began epoch 2 at 80.
  auto r = m.on_handshake(hello(120, {{1, 0}}), master_log(200, {{1, 0}, {2, 80}}), 0);
  ASSERT_TRUE(r.answer.accepted());
  EXPECT_EQ(r.answer.start_offset, 80u);
  EXPECT_EQ(r.answer.master_epoch, 2);
  EXPECT_EQ(r.answer.epochs, (std::vector<EpochEntry>{{1, 0}, {2, 80}}));
}

TEST(MasterStream, AFirstAckAwayFromTheStartOrBeyondThePushesClosesTheStream) {
  {
    MasterStream m(options());
    ASSERT_TRUE(m.on_handshake(hello(40), master_log(100), 0).answer.accepted());
    auto r = m.on_ack(60, 100, 0);
    EXPECT_TRUE(r.close);
    EXPECT_FALSE(r.replicated.has_value());
  }
  {
    MasterStream m = streaming_master(40, 100);
    auto d = m.next_push(100);
    ASSERT_EQ(d.wait, MasterStream::PushWait::kSend);
    m.on_pushed(40, 30);
    EXPECT_TRUE(m.on_ack(71, 100, 0).close);  // one byte more than was pushed
  }
}

TEST(MasterStream, PushesStopWhenTheWindowIsFullAndResumeOnAnAck) {
  MasterStream m = streaming_master(0, 1000);
  uint64_t pushed = 0;
  for (int i = 0; i < 10 && m.next_push(1000).wait == MasterStream::PushWait::kSend; ++i) {
    auto d = m.next_push(1000);
    EXPECT_EQ(d.push.offset, pushed);
    EXPECT_EQ(d.push.max_bytes, 100u);
    m.on_pushed(d.push.offset, 100);
    pushed += 100;
  }
  EXPECT_EQ(pushed, 300u);  // 0, 100, 200 sent: 300 - 0 >= 250
  EXPECT_EQ(m.next_push(1000).wait, MasterStream::PushWait::kWindowFull);
  auto r = m.on_ack(100, 1000, 0);
  ASSERT_TRUE(r.replicated.has_value());
  EXPECT_EQ(*r.replicated, 100u);
  EXPECT_EQ(m.next_push(1000).wait, MasterStream::PushWait::kSend);
}

TEST(MasterStream, ACaughtUpStreamIdlesHeartbeatsAndWakesWhenTheLogGrows) {
  MasterStream m = streaming_master(100, 100);
  EXPECT_EQ(m.next_push(100).wait, MasterStream::PushWait::kCaughtUp);
  auto t = m.on_tick(1000, 100);
  ASSERT_TRUE(t.heartbeat.has_value());
  EXPECT_EQ(t.heartbeat->max_bytes, 0u);
  EXPECT_EQ(t.heartbeat->offset, 100u);
  EXPECT_TRUE(m.wake());
  EXPECT_FALSE(m.wake());
  EXPECT_FALSE(m.on_tick(2000, 150).heartbeat.has_value());  // not idle: no heartbeat
}

TEST(MasterStream, ASilentSlaveIsClosed) {
  MasterStream m = streaming_master(0, 0);
  EXPECT_FALSE(m.on_tick(5000, 0).close_silent);
  EXPECT_TRUE(m.on_tick(5001, 0).close_silent);
  EXPECT_EQ(m.phase(), MasterStream::Phase::kClosed);
}

TEST(MasterStream, InSyncOnlyWhileStreamingAndWithinTheGap) {
  MasterStream m(options());
  ASSERT_TRUE(m.on_handshake(hello(0), master_log(0), 0).answer.accepted());
  EXPECT_FALSE(m.in_sync(0));  // not streaming before its first ack
  ASSERT_TRUE(m.on_ack(0, 0, 0).began);
  EXPECT_TRUE(m.in_sync(1000));
  EXPECT_FALSE(m.in_sync(1001));
  m.on_closed();
  EXPECT_FALSE(m.in_sync(0));
}

TEST(MasterStreamDeathTest, AnInvariantBrokenByTheShellAbortsInEveryBuild) {
  MasterStream m = streaming_master(0, 100);
  // The shell claims a push at an offset the stream never asked for: the slave would get a hole.
  EXPECT_DEATH(m.on_pushed(10, 5), "pushed at 10, the stream is at 0");
  SlaveStream s(options(), kSegment);
  s.on_connect(EpochCache(), 0, 50, 0);
  HandshakeAnswer a;
  a.start_offset = 20;
  a.master_epoch = 1;
  ASSERT_TRUE(s.on_answer(a, 50, 0).truncate_to.has_value());
  EXPECT_DEATH(s.on_truncated(true, 30), "the log ends at 30 after cutting it at 20");
  EXPECT_DEATH(s.on_connect(EpochCache(), 0, 50, 0),
               "handshaking while the log is still being cut");
}

// A master's answer to a slave whose log holds epoch 1: start at `start`, where the master's
// `epoch` began (a slave whose log ends later cuts to `start` first).
HandshakeAnswer answer_from(uint64_t start, int64_t epoch = 2) {
  HandshakeAnswer a;
  a.start_offset = start;
  a.master_epoch = epoch;
  a.epochs = {{1, 0}, {epoch, start}};
  return a;
}

// A slave stream that sent its hello and got accepted at `start` with its log ending there.
SlaveStream streaming_slave(uint64_t start, int64_t epoch = 2) {
  SlaveStream s(options(), kSegment);
  s.on_connect(EpochCache({{1, 0}}), 0, start, 0);
  auto r = s.on_answer(answer_from(start, epoch), start, 0);
  EXPECT_TRUE(r.begin.has_value());
  return s;
}

TEST(SlaveStream, CutsADivergentTailBeforeAdoptingTheMastersEpochs) {
  SlaveStream s(options(), kSegment);
  SlaveHello h = s.on_connect(EpochCache({{1, 0}}), 0, 120, 0);
  EXPECT_EQ(h.max_offset, 120u);
  const HandshakeAnswer a = answer_from(80);  // the slave's log ends at 120
  auto r = s.on_answer(a, 120, 0);
  ASSERT_TRUE(r.accepted());
  EXPECT_EQ(r.truncate_to, 80u);
  EXPECT_FALSE(r.begin.has_value());  // nothing adopted while the old tail is still there
  EXPECT_FALSE(s.on_truncated(false, 120).has_value());
  EXPECT_EQ(s.phase(), SlaveStream::Phase::kDisconnected);
}

TEST(SlaveStream, BeginsAfterTheCutWithTheMastersEpochs) {
  SlaveStream s(options(), kSegment);
  s.on_connect(EpochCache({{1, 0}}), 0, 120, 0);
  const HandshakeAnswer a = answer_from(80);  // the slave's log ends at 120
  ASSERT_TRUE(s.on_answer(a, 120, 0).truncate_to.has_value());
  auto b = s.on_truncated(true, 80);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->ack, 80u);
  EXPECT_EQ(b->master_epoch, 2);
  EXPECT_EQ(b->adopt, a.epochs);
  EXPECT_TRUE(s.streaming());
}

TEST(SlaveStream, AReconnectWaitsForTheCutOfAClosedStream) {
  SlaveStream s(options(), kSegment);
  s.on_connect(EpochCache({{1, 0}}), 0, 120, 0);
  const HandshakeAnswer a = answer_from(80);  // the slave's log ends at 120
  ASSERT_TRUE(s.on_answer(a, 120, 0).truncate_to.has_value());
  s.on_closed();
  EXPECT_TRUE(s.cut_pending());  // a hello now would report 120, a log about to end at 80
  EXPECT_FALSE(s.on_truncated(true, 80).has_value());  // the stream it was for is gone
  EXPECT_FALSE(s.cut_pending());
  EXPECT_EQ(s.on_connect(EpochCache({{1, 0}}), 0, 80, 0).max_offset, 80u);
}

TEST(SlaveStream, RefusesAStaleMasterAndAHistoryOutOfOrder) {
  {
    SlaveStream s(options(), kSegment);
    s.on_connect(EpochCache({{1, 0}}, 3), 0, 0, 0);
    HandshakeAnswer a;
    a.master_epoch = 2;
    a.epochs = {{1, 0}, {2, 0}};
    EXPECT_EQ(s.on_answer(a, 0, 0).refusal, Refusal::kStaleMaster);
  }
  {
    SlaveStream s(options(), kSegment);
    s.on_connect(EpochCache(), 0, 0, 0);
    HandshakeAnswer a;
    a.master_epoch = 3;
    a.epochs = {{3, 0}, {2, 10}};
    EXPECT_EQ(s.on_answer(a, 0, 0).refusal, Refusal::kBadAnswer);
  }
  {
    SlaveStream s(options(), kSegment);
    HandshakeAnswer a;
    EXPECT_EQ(s.on_answer(a, 0, 0).refusal, Refusal::kBadAnswer);  // no hello sent
  }
}

TEST(SlaveStream, AppendsOnlyAtItsLogEndInTheMastersEpoch) {
  SlaveStream s = streaming_slave(100);
  EXPECT_EQ(s.on_push({2, 100, 50, 300}, 50, 100, 0), SlaveStream::PushVerdict::kAppend);
  EXPECT_EQ(s.on_appended(100, 50, 150), 150u);
  EXPECT_EQ(s.on_push({2, 200, 50, 300}, 50, 150, 0), SlaveStream::PushVerdict::kOffsetGap);
  EXPECT_EQ(s.on_push({2, 120, 50, 300}, 50, 150, 0), SlaveStream::PushVerdict::kOffsetGap);
  EXPECT_EQ(s.on_push({1, 150, 50, 300}, 50, 150, 0), SlaveStream::PushVerdict::kStaleEpoch);
  EXPECT_EQ(s.on_push({3, 150, 50, 300}, 50, 150, 0), SlaveStream::PushVerdict::kNewerEpoch);
  EXPECT_EQ(s.on_push({2, 999, 0, 300}, 0, 150, 0), SlaveStream::PushVerdict::kHeartbeat);
  EXPECT_EQ(s.master_max(), 300u);
}

TEST(SlaveStream, APushBeforeTheStreamBeganIsRefused) {
  SlaveStream s(options(), kSegment);
  EXPECT_EQ(s.on_push({1, 0, 10, 10}, 10, 0, 0), SlaveStream::PushVerdict::kNotStreaming);
  s.on_connect(EpochCache(), 0, 0, 0);
  EXPECT_EQ(s.on_push({1, 0, 10, 10}, 10, 0, 0), SlaveStream::PushVerdict::kNotStreaming);
}

TEST(SlaveStream, AcksItsLogEndOnTicksAndReconnectsWhenTheMasterFallsSilent) {
  SlaveStream s = streaming_slave(100);
  auto t = s.on_tick(1000, 100);
  EXPECT_FALSE(t.reconnect);
  EXPECT_EQ(t.heartbeat, 100u);
  EXPECT_EQ(s.on_push({2, 100, 0, 100}, 0, 100, 4000), SlaveStream::PushVerdict::kHeartbeat);
  EXPECT_FALSE(s.on_tick(9000, 100).reconnect);  // the heartbeat at 4000 counts
  EXPECT_TRUE(s.on_tick(9001, 100).reconnect);
  s.on_closed();
  EXPECT_FALSE(s.on_tick(20000, 100).heartbeat.has_value());
}

TEST(SlaveStream, ReportsAcknowledgedBytesANewMastersHistoryLacks) {
  SlaveStream s = streaming_slave(100);
  ASSERT_EQ(s.on_push({2, 100, 50, 150}, 50, 100, 0), SlaveStream::PushVerdict::kAppend);
  s.on_appended(100, 50, 150);
  s.on_closed();
  s.on_connect(EpochCache({{1, 0}, {2, 100}}), 0, 150, 0);
  HandshakeAnswer a;
  a.start_offset = 130;  // a less advanced replica became master of epoch 3 at 130
  a.master_epoch = 3;
  a.epochs = {{1, 0}, {2, 100}, {3, 130}};
  auto r = s.on_answer(a, 150, 0);
  ASSERT_TRUE(r.accepted());
  EXPECT_EQ(r.lost_acked_bytes, 20u);
  EXPECT_EQ(r.truncate_to, 130u);
}

}  // namespace
}  // namespace comet::ha
