// Timer messages: the send-path rewrite, the timer log's format and recovery, and the timing
// wheel's rules (due, pending, later rounds re-linked, chains that end at deleted segments).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "broker/system_topics.h"
#include "broker/timer_log.h"
#include "broker/timer_messages.h"
#include "broker/timer_progress.h"
#include "broker/timer_wheel.h"
#include "test_util.h"

namespace comet::broker {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// --- The send path ---

// A message and the properties its view points into.
struct TestMessage {
  explicit TestMessage(std::string props) : properties(std::move(props)) {
    m.topic = "Orders";
    m.queue_id = 3;
    m.properties = properties;
  }
  TestMessage(const TestMessage&) = delete;
  std::string properties;
  Message m;
};

TEST(TimerMessages, ATimerDueLaterMovesToTheTimerTopicWithItsDueTimeAndRealQueue) {
  TestMessage t(encode_properties({{"TAGS", "t"}, {"TIMER_DELAY_SEC", "30"}}));
  Message& m = t.m;
  std::string storage;
  auto r = to_timer_topic(m, kNow, 259200, 18, storage);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, TimerSend::kScheduled);
  EXPECT_EQ(m.topic, kTimerTopic);
  EXPECT_EQ(m.queue_id, 0u);
  EXPECT_EQ(find_property(m.properties, "TIMER_OUT_MS"), std::to_string(kNow + 30'000));
  EXPECT_EQ(find_property(m.properties, "REAL_TOPIC"), "Orders");
  EXPECT_EQ(find_property(m.properties, "REAL_QID"), "3");
  EXPECT_EQ(find_property(m.properties, "TAGS"), "t");

  TestMessage abs_held(encode_properties({{"TIMER_DELIVER_MS", std::to_string(kNow + 5)}}));
  Message& abs = abs_held.m;
  ASSERT_EQ(*to_timer_topic(abs, kNow, 259200, 18, storage), TimerSend::kScheduled);
  EXPECT_EQ(timer_out_ms(abs.properties), kNow + 5);
  TestMessage ms_held(encode_properties({{"TIMER_DELAY_MS", "1500"}}));
  Message& ms = ms_held.m;
  ASSERT_EQ(*to_timer_topic(ms, kNow, 259200, 18, storage), TimerSend::kScheduled);
  EXPECT_EQ(timer_out_ms(ms.properties), kNow + 1500);
}

TEST(TimerMessages, APastOrPresentDueTimeIsStoredInItsTopicAtOnce) {
  std::string storage;
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"TIMER_DELIVER_MS", "5"},
                                                        {"TIMER_DELIVER_MS", std::to_string(kNow)},
                                                        {"TIMER_DELAY_SEC", "0"}}) {
    TestMessage m_held(encode_properties({{key, value}}));
    Message& m = m_held.m;
    auto r = to_timer_topic(m, kNow, 259200, 18, storage);
    ASSERT_TRUE(r.is_ok()) << key << "=" << value;
    EXPECT_EQ(*r, TimerSend::kDueNow);
    EXPECT_EQ(m.topic, "Orders");
  }
}

TEST(TimerMessages, BadValuesAndTooFarDueTimesAreRefusedWithTheirReason) {
  std::string storage;
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"TIMER_DELIVER_MS", "abc"},
                                                        {"TIMER_DELIVER_MS", "-1"},
                                                        {"TIMER_DELAY_SEC", "1.5"},
                                                        {"TIMER_DELAY_SEC", "-3"},
                                                        {"TIMER_DELAY_SEC", "99999999999999999"},
                                                        {"TIMER_DELAY_MS", "12x"}}) {
    TestMessage m_held(encode_properties({{key, value}}));
    Message& m = m_held.m;
    auto r = to_timer_topic(m, kNow, 259200, 18, storage);
    ASSERT_FALSE(r.is_ok()) << key << "=" << value;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(key), std::string::npos) << r.status().message();
  }
  TestMessage far_held(encode_properties({{"TIMER_DELAY_SEC", "259201"}}));
  Message& far = far_held.m;
  auto r = to_timer_topic(far, kNow, 259200, 18, storage);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("timerMaxDelaySec (259200 s)"), std::string::npos)
      << r.status().message();
  TestMessage edge_held(encode_properties({{"TIMER_DELAY_SEC", "259200"}}));
  Message& edge = edge_held.m;
  EXPECT_TRUE(to_timer_topic(edge, kNow, 259200, 18, storage).is_ok());
}

TEST(TimerMessages, ADelayLevelWinsAndTheTimerPropertiesAreDroppedAsInRocketMq) {
  TestMessage m_held(encode_properties({{"DELAY", "2"}, {"TIMER_DELAY_SEC", "abc"}}));
  Message& m = m_held.m;
  std::string storage;
  auto r = to_timer_topic(m, kNow, 259200, 18, storage);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, TimerSend::kNotTimer);
  EXPECT_EQ(m.topic, "Orders");
  EXPECT_FALSE(has_timer_properties(m.properties));
  EXPECT_EQ(find_property(m.properties, "DELAY"), "2");
}

TEST(TimerMessages, TheDeliveredMessageHasItsRealTopicAndNoTimerProperties) {
  const std::string props = encode_properties({{"TAGS", "t"},
                                               {"TIMER_DELAY_SEC", "3"},
                                               {"TIMER_OUT_MS", "9"},
                                               {"REAL_TOPIC", "Orders"},
                                               {"REAL_QID", "2"}});
  RecordView r;
  r.topic = kTimerTopic;
  r.body = "b";
  r.properties = props;
  std::string storage;
  auto m = real_timer_message(r, storage);
  ASSERT_TRUE(m.is_ok());
  EXPECT_EQ(m->topic, "Orders");
  EXPECT_EQ(m->queue_id, 2u);
  EXPECT_EQ(m->properties, encode_properties({{"TAGS", "t"}}));
  const std::string bad_qid = encode_properties({{"REAL_TOPIC", "Orders"}, {"REAL_QID", "x"}});
  r.properties = bad_qid;  // a view: the string must outlive it
  EXPECT_EQ(real_timer_message(r, storage).status().code(), Code::kCorruption);
}

// --- The timer log ---

TEST(TimerLog, AnEntryRoundTripsAndZeroesOrForwardLinksAreNotEntries) {
  uint8_t buf[kTimerEntrySize] = {};
  EXPECT_FALSE(decode_timer_entry(buf, 64));  // a hole
  const TimerEntry e{123456789, 77, kNow, 32};
  encode_timer_entry(e, buf);
  EXPECT_EQ(decode_timer_entry(buf, 64), e);
  EXPECT_FALSE(decode_timer_entry(buf, 32)) << "prev must point back";
  encode_timer_entry({1, 1, -5, -1}, buf);
  EXPECT_FALSE(decode_timer_entry(buf, 0)) << "negative due";
}

std::vector<std::pair<int64_t, TimerEntry>> load_all(TimerLog& log) {
  std::vector<std::pair<int64_t, TimerEntry>> out;
  EXPECT_TRUE(
      log.load([&](int64_t pos, const TimerEntry& e) { out.emplace_back(pos, e); }).is_ok());
  return out;
}

TEST(TimerLog, ReopenedAtTheCheckpointItDropsTheTailAfterIt) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/log";
  int64_t checkpointed = 0;
  {
    auto log = TimerLog::open(path, 4, 0);
    ASSERT_TRUE(log.is_ok());
    for (int i = 0; i < 10; ++i) {
      auto pos = (*log)->append({uint64_t(i) * 100, 10, kNow + i, -1});
      ASSERT_TRUE(pos.is_ok());
      EXPECT_EQ(*pos, i * 32);
      if (i == 5) checkpointed = (*log)->end();  // 6 entries: segments 0 and 128
    }
    EXPECT_EQ((*log)->segment_count(), 3u);
    auto e = (*log)->read(9 * 32);
    ASSERT_TRUE(e.is_ok());
    EXPECT_EQ(e->commitlog_offset, 900u);
    EXPECT_FALSE((*log)->read(10 * 32).is_ok());
  }
  auto log = TimerLog::open(path, 4, checkpointed);
  ASSERT_TRUE(log.is_ok());
  EXPECT_EQ((*log)->end(), checkpointed);
  EXPECT_EQ((*log)->segment_count(), 2u) << "the segment past the checkpoint is gone";
  auto all = load_all(**log);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all.back().second.commitlog_offset, 500u);
  // Appending goes on where the checkpoint ended, over the cut tail.
  auto pos = (*log)->append({4242, 1, kNow, -1});
  ASSERT_TRUE(pos.is_ok());
  EXPECT_EQ(*pos, checkpointed);
  EXPECT_EQ((*log)->read(*pos)->commitlog_offset, 4242u);
}

TEST(TimerLog, SegmentsAreDeletedOnlyWhenEveryEntryIsDeliveredAndNeverTheLast) {
  testing::TempDir dir;
  auto log = TimerLog::open(dir.path() + "/log", 2, 0);
  ASSERT_TRUE(log.is_ok());
  TimerLog& l = **log;
  for (int64_t due : {100, 300, 200, 150, 400}) {  // segments {100,300} {200,150} {400}
    ASSERT_TRUE(l.append({0, 1, due, -1}).is_ok());
  }
  EXPECT_EQ(l.delete_delivered(300), 0u) << "the first segment holds a timer due at 300";
  EXPECT_EQ(l.delete_delivered(301), 2u);
  EXPECT_EQ(l.begin(), 128);
  EXPECT_EQ(l.delete_delivered(1000), 0u) << "the segment being written stays";
  EXPECT_FALSE(l.read(0).is_ok());
  EXPECT_TRUE(l.read(128).is_ok());
}

TEST(TimerLog, TheCheckpointRoundTripsAndAGarbledOneIsCorruption) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/checkpoint";
  auto none = read_timer_checkpoint(path);
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(write_timer_checkpoint(path, {42, 320}).is_ok());
  auto cp = read_timer_checkpoint(path);
  ASSERT_TRUE(cp.is_ok() && cp->has_value());
  EXPECT_EQ((*cp)->queue_offset, 42u);
  EXPECT_EQ((*cp)->log_length, 320);
  std::ofstream(path) << "timer-checkpoint-v1 42 33\n";  // not a whole entry
  EXPECT_EQ(read_timer_checkpoint(path).status().code(), Code::kCorruption);
}

// --- The wheel, over an in-memory log ---

class MemoryLog : public TimerEntrySource {
 public:
  Result<TimerEntry> read(int64_t pos) const override {
    auto it = entries_.find(pos);
    if (it == entries_.end() || pos < begin_) return Status::not_found("no entry");
    return it->second;
  }
  Result<int64_t> append(const TimerEntry& e) override {
    entries_[end_] = e;
    end_ += kTimerEntrySize;
    return end_ - static_cast<int64_t>(kTimerEntrySize);
  }
  int64_t begin() const override { return begin_; }
  int64_t end() const override { return end_; }
  void drop_before(int64_t pos) { begin_ = pos; }
  const std::map<int64_t, TimerEntry>& entries() const { return entries_; }

 private:
  std::map<int64_t, TimerEntry> entries_;
  int64_t begin_ = 0;
  int64_t end_ = 0;
};

std::vector<uint64_t> offsets_of(const std::vector<DueTimer>& due) {
  std::vector<uint64_t> out;
  for (const DueTimer& d : due)
    out.push_back(d.commitlog_offset);
  return out;
}

TEST(TimerWheel, ATickDeliversWhatIsDueAndKeepsWhatIsNotYet) {
  MemoryLog log;
  TimerWheel wheel(1000, 64);
  ASSERT_TRUE(wheel.insert(log, 1, 10, 5'700).is_ok());
  ASSERT_TRUE(wheel.insert(log, 2, 10, 5'100).is_ok());
  ASSERT_TRUE(wheel.insert(log, 3, 10, 5'100).is_ok());
  ASSERT_TRUE(wheel.insert(log, 4, 10, 6'000).is_ok());  // the next tick
  EXPECT_EQ(wheel.next_occupied_tick(0, 100), 5);
  auto scan = wheel.scan(log, 5, 5'000, 5'500);
  ASSERT_TRUE(scan.is_ok());
  EXPECT_EQ(offsets_of(scan->due), (std::vector<uint64_t>{2, 3})) << "by due, then log order";
  EXPECT_EQ(scan->earliest_pending, 5'700);
  // Later in the tick: what was gathered before `from` is not gathered again.
  scan = wheel.scan(log, 5, 5'501, 5'999);
  ASSERT_TRUE(scan.is_ok());
  EXPECT_EQ(offsets_of(scan->due), (std::vector<uint64_t>{1}));
  EXPECT_FALSE(scan->earliest_pending);
  ASSERT_TRUE(wheel.finish(log, 5, scan->later_rounds).is_ok());
  EXPECT_FALSE(wheel.occupied(5));
  EXPECT_EQ(wheel.next_occupied_tick(0, 100), 6);
  EXPECT_EQ(wheel.next_occupied_tick(7, 69), std::nullopt);
  EXPECT_EQ(wheel.next_occupied_tick(7, 70), 70) << "tick 70 is slot 6 again";
}

TEST(TimerWheel, ALaterRoundIsReLinkedNotDeliveredEarly) {
  MemoryLog log;
  TimerWheel wheel(1000, 64);  // slot 5 holds ticks 5, 69, 133, ...
  ASSERT_TRUE(wheel.insert(log, 1, 10, 69'200).is_ok());
  ASSERT_TRUE(wheel.insert(log, 2, 10, 5'200).is_ok());
  ASSERT_TRUE(wheel.insert(log, 3, 10, 133'000).is_ok());
  auto scan = wheel.scan(log, 5, 5'000, 5'999);
  ASSERT_TRUE(scan.is_ok());
  EXPECT_EQ(offsets_of(scan->due), (std::vector<uint64_t>{2}));
  ASSERT_EQ(scan->later_rounds.size(), 2u);
  const int64_t end_before = log.end();
  ASSERT_TRUE(wheel.finish(log, 5, scan->later_rounds).is_ok());
  EXPECT_EQ(log.end(), end_before + 2 * 32) << "re-linked by appending them again";
  EXPECT_TRUE(wheel.occupied(5));
  // The slot's chain now holds only the re-linked entries, in their original order.
  auto again = wheel.scan(log, 69, 69'000, 69'999);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->walked, 2u) << "the delivered entry is no longer reached";
  EXPECT_EQ(offsets_of(again->due), (std::vector<uint64_t>{1}));
  ASSERT_EQ(again->later_rounds.size(), 1u);
  EXPECT_EQ(again->later_rounds[0].commitlog_offset, 3u);
}

TEST(TimerWheel, AChainEndsAtADeletedSegmentAndAnEarlierTickIsSkipped) {
  MemoryLog log;
  TimerWheel wheel(1000, 64);
  ASSERT_TRUE(wheel.insert(log, 1, 10, 5'100).is_ok());   // pos 0
  ASSERT_TRUE(wheel.insert(log, 2, 10, 69'100).is_ok());  // pos 32
  log.drop_before(32);
  auto scan = wheel.scan(log, 69, 0, 70'000);
  ASSERT_TRUE(scan.is_ok());
  EXPECT_EQ(scan->walked, 1u);
  EXPECT_EQ(offsets_of(scan->due), (std::vector<uint64_t>{2}));
  // An entry of an earlier tick in the chain was delivered: skipped, neither due nor later.
  TimerWheel w2(1000, 64);
  MemoryLog l2;
  ASSERT_TRUE(w2.insert(l2, 1, 10, 5'100).is_ok());
  ASSERT_TRUE(w2.insert(l2, 2, 10, 69'100).is_ok());
  scan = w2.scan(l2, 69, 69'000, 69'500);
  ASSERT_TRUE(scan.is_ok());
  EXPECT_EQ(offsets_of(scan->due), (std::vector<uint64_t>{2}));
  EXPECT_TRUE(scan->later_rounds.empty());
}

// Recovery: a wheel restored from the log's entries, in order, finds what the original finds.
TEST(TimerWheel, AWheelRestoredFromTheLogScansAsTheOriginal) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/log";
  TimerWheel original(100, 64);
  int64_t checkpointed = 0;
  {
    auto log = TimerLog::open(path, 8, 0);
    ASSERT_TRUE(log.is_ok());
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(original.insert(**log, uint64_t(i), 10, 1'000 + (i * 37) % 900).is_ok());
    }
    // One tick delivered and a later round re-linked before the checkpoint.
    ASSERT_TRUE(original.insert(**log, 99, 10, 1'000 + 64 * 100 + 5).is_ok());
    auto scan = original.scan(**log, 10, 1'000, 1'099);
    ASSERT_TRUE(scan.is_ok());
    ASSERT_TRUE(original.finish(**log, 10, scan->later_rounds).is_ok());
    checkpointed = (*log)->end();
    // A tail past the checkpoint: cut at the restart.
    ASSERT_TRUE(original.insert(**log, 1000, 10, 1'550).is_ok());
  }
  auto log = TimerLog::open(path, 8, checkpointed);
  ASSERT_TRUE(log.is_ok());
  TimerWheel restored(100, 64);
  ASSERT_TRUE(
      (*log)->load([&](int64_t pos, const TimerEntry& e) { restored.restore(pos, e); }).is_ok());
  for (int64_t tick = 11; tick < 20; ++tick) {
    auto a = restored.scan(**log, tick, 0, 1'999);
    ASSERT_TRUE(a.is_ok());
    std::vector<uint64_t> got = offsets_of(a->due);
    std::vector<uint64_t> want;
    for (int i = 0; i < 40; ++i)
      if ((1'000 + (i * 37) % 900) / 100 == tick) want.push_back(uint64_t(i));
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want) << "tick " << tick;
  }
  auto later = restored.scan(**log, 74, 0, 8'000);
  ASSERT_TRUE(later.is_ok());
  EXPECT_EQ(offsets_of(later->due), (std::vector<uint64_t>{99})) << "re-linked entry found once";
}

// --- Replicated progress ---

TEST(TimerProgress, ANewMasterResumesFromWAndQOrFromNowAndTheQueueStart) {
  auto r = resume_from(5'000, 40, 9'000, 10, 55);
  EXPECT_EQ(r.scanned_ms, 5'000);
  EXPECT_EQ(r.handled_below, 40u);
  EXPECT_EQ(r.catch_up_from, 40u);
  EXPECT_EQ(r.catch_up_to, 55u);
  r = resume_from(std::nullopt, std::nullopt, 9'000, 10, 55);
  EXPECT_EQ(r.scanned_ms, 9'000);
  EXPECT_EQ(r.handled_below, 10u);
  EXPECT_EQ(r.catch_up_from, 10u);
  // A replica whose schedule is behind Q catches up over nothing: it classifies on insertion.
  r = resume_from(5'000, 40, 9'000, 0, 30);
  EXPECT_EQ(r.catch_up_from, r.catch_up_to);
  // Retention took the queue's head: catch up from what is left.
  EXPECT_EQ(resume_from(5'000, 40, 9'000, 45, 55).catch_up_from, 45u);
}

TEST(TimerProgress, AnArrivalBelowQWasHandledOneDueBeforeTheScanGoesAtOnce) {
  EXPECT_EQ(classify_arrival(3, 100, 4, 1'000), TimerArrival::kHandled);
  EXPECT_EQ(classify_arrival(4, 999, 4, 1'000), TimerArrival::kDueNow);
  EXPECT_EQ(classify_arrival(4, 1'000, 4, 1'000), TimerArrival::kScheduled);
}

// A failover played out on wheels and logs in memory, over many seeds: an old master inserts and
// delivers timers (the rules above, gather() for the scan) and commits W and Q after each step;
// the replicas learn them `lag` steps late (the metadata flush). It dies; a replica whose own
// schedule is behind resumes from the replicated progress. Every timer is delivered, none before
// it is due, and what both deliver is only what the old master delivered after the progress the
// replica had.
TEST(TimerProgress, AFailoverLosesNoTimerAndRepeatsOnlyTheUnreplicatedSteps) {
  constexpr int64_t kStepMs = 50;
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    std::mt19937 rng(seed);
    struct Timer {
      int64_t arrival_ms;
      int64_t due_ms;
    };
    std::vector<Timer> timers;
    for (int i = 0; i < 300; ++i) {
      const int64_t arrival = i * 20;
      // Half due around their arrival, many before it (read late by a slow schedule); the
      // others up to a few wheel turns ahead.
      const int64_t due = std::max<int64_t>(0, i % 2 == 0 ? arrival - 500 + int64_t(rng() % 1'000)
                                                          : arrival + int64_t(rng() % 20'000));
      timers.push_back({arrival, due});
    }
    const int64_t crash_ms = 1'000 + int64_t(rng() % 5'000);
    const size_t lag = rng() % 8;
    const size_t replica_cursor = rng() % 300;  // its schedule is behind; its queue holds all

    // The old master.
    MemoryLog old_log;
    TimerWheel old_wheel(100, 64);
    std::map<uint64_t, int64_t> old_delivered_at_step;    // timer -> step
    std::vector<std::pair<int64_t, uint64_t>> committed;  // (W, Q) after each step
    int64_t scanned = 0;
    uint64_t inserted = 0;
    int64_t step = 0;
    // It dies in its last step after reading the queue but before its appends, or after them.
    const bool dies_before_appends = rng() % 2 == 0;
    for (int64_t now = 0; now < crash_ms; now += kStepMs, ++step) {
      const bool appends = !(dies_before_appends && now + kStepMs >= crash_ms);
      for (; inserted < timers.size() && timers[inserted].arrival_ms <= now; ++inserted) {
        const Timer& t = timers[inserted];
        ASSERT_TRUE(old_wheel.insert(old_log, inserted, 1, t.due_ms).is_ok());
        if (classify_arrival(inserted, t.due_ms, 0, scanned) == TimerArrival::kDueNow && appends) {
          old_delivered_at_step.emplace(inserted, step);
        }
      }
      auto g = old_wheel.gather(old_log, scanned, now, 1'000'000);
      ASSERT_TRUE(g.is_ok());
      if (!appends) break;  // nothing delivered, nothing committed
      for (const DueTimer& d : g->due) {
        ASSERT_LE(d.due_ms, now) << "seed " << seed;
        ASSERT_TRUE(old_delivered_at_step.emplace(d.commitlog_offset, step).second)
            << "seed " << seed << ": the old master delivered " << d.commitlog_offset << " twice";
      }
      scanned = g->scanned_ms;
      committed.emplace_back(scanned, inserted);
    }
    const int64_t replicated_step =
        static_cast<int64_t>(committed.size()) - 1 - static_cast<int64_t>(lag);
    std::optional<uint64_t> w;
    std::optional<uint64_t> q;
    if (replicated_step >= 0) {
      w = static_cast<uint64_t>(committed[size_t(replicated_step)].first);
      q = committed[size_t(replicated_step)].second;
    }

    // The replica: its schedule holds the first `replica_cursor` timers of its queue.
    MemoryLog log;
    TimerWheel wheel(100, 64);
    const size_t queue_end = inserted;  // what the old master stored before dying
    const size_t cursor = std::min(replica_cursor, queue_end);
    for (size_t i = 0; i < cursor; ++i)
      ASSERT_TRUE(wheel.insert(log, i, 1, timers[i].due_ms).is_ok());
    const TimerResume r = resume_from(w, q, crash_ms, 0, cursor);
    std::map<uint64_t, int> new_delivered;
    for (uint64_t i = r.catch_up_from; i < r.catch_up_to; ++i) {
      if (timers[i].due_ms < r.scanned_ms) ++new_delivered[i];
    }
    scanned = r.scanned_ms;
    size_t next = cursor;
    for (int64_t now = crash_ms; now < 40'000; now += kStepMs) {
      for (; next < timers.size() && (next < queue_end || timers[next].arrival_ms <= now); ++next) {
        ASSERT_TRUE(wheel.insert(log, next, 1, timers[next].due_ms).is_ok());
        if (classify_arrival(next, timers[next].due_ms, r.handled_below, scanned) ==
            TimerArrival::kDueNow) {
          ++new_delivered[next];
        }
      }
      auto g = wheel.gather(log, scanned, now, 1'000'000);
      ASSERT_TRUE(g.is_ok());
      for (const DueTimer& d : g->due) {
        ASSERT_LE(d.due_ms, now) << "seed " << seed << ": delivered early";
        ++new_delivered[d.commitlog_offset];
      }
      scanned = g->scanned_ms;
    }

    for (uint64_t i = 0; i < timers.size(); ++i) {
      const bool by_old = old_delivered_at_step.count(i) > 0;
      const int by_new = new_delivered.count(i) ? new_delivered[i] : 0;
      ASSERT_LE(by_new, 1) << "seed " << seed << ": the new master delivered " << i << " twice";
      ASSERT_TRUE(by_old || by_new == 1)
          << "seed " << seed << ": timer " << i << " (due " << timers[i].due_ms << ") was lost";
      if (by_old && by_new == 1) {
        EXPECT_GT(old_delivered_at_step[i], replicated_step)
            << "seed " << seed << ": timer " << i
            << " delivered again although the replica had the progress covering it";
      }
    }
  }
}

}  // namespace
}  // namespace comet::broker
