// comet-bench compare's checker, outage measure and report (bench/verify.h, ack_timeline.h,
// report.h): the parts that decide whether a mode passed. And the option reader every
// comet-bench command uses (common/args.h).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "bench/ack_timeline.h"
#include "bench/disk_budget.h"
#include "bench/failure_plan.h"
#include "bench/report.h"
#include "bench/scale_report.h"
#include "bench/topic_spread.h"
#include "bench/verify.h"
#include "common/args.h"

namespace comet::bench {
namespace {

using namespace std::chrono_literals;

TEST(ArgsTest, ValuesAreCheckedForTheirKindAndABadOneIsNamed) {
  const char* argv[] = {"comet-bench", "chaos", "--cycles", "3",   "--seed", "x7",
                        "--load",      "0.5",   "--load",   "1.5", "--keep", "--out"};
  Args args(12, const_cast<char**>(argv), 2);
  ASSERT_TRUE(args.next());
  EXPECT_EQ(args.option(), "--cycles");
  EXPECT_EQ(args.count(1), 3);
  ASSERT_TRUE(args.next());
  EXPECT_EQ(args.option(), "--seed");
  EXPECT_EQ(args.count(), std::nullopt);  // not a number: its value is used up all the same
  EXPECT_EQ(args.bad(), "bad or incomplete option '--seed' (given 'x7')");
  ASSERT_TRUE(args.next());
  EXPECT_EQ(args.real(0.01, 1), 0.5);
  ASSERT_TRUE(args.next());
  EXPECT_EQ(args.real(0.01, 1), std::nullopt);  // out of range
  ASSERT_TRUE(args.next());
  EXPECT_EQ(args.option(), "--keep");  // a flag: no value taken
  ASSERT_TRUE(args.next());
  EXPECT_EQ(args.value(), std::nullopt);  // the last option, its value missing
  EXPECT_EQ(args.bad(), "bad or incomplete option '--out'");
  EXPECT_FALSE(args.next());

  const char* negative[] = {"comet-bench", "compare", "--messages", "-5", "--rate", ""};
  Args more(6, const_cast<char**>(negative), 2);
  ASSERT_TRUE(more.next());
  EXPECT_EQ(more.count(), std::nullopt);  // below the default floor of 0
  ASSERT_TRUE(more.next());
  EXPECT_EQ(more.count(), std::nullopt);  // empty
  EXPECT_FALSE(more.next());
}

// comet-admin reads its options with the same reader: values attached to the option too.
TEST(ArgsTest, AValueMayComeAttachedToItsOption) {
  Args args({"comet-admin", "topicRoute", "--topic=T", "-tX", "--json", "--json=1", "-i", "-3"}, 2);
  ASSERT_TRUE(args.next());
  EXPECT_EQ(args.option(), "--topic");
  EXPECT_EQ(args.value(), "T");
  ASSERT_TRUE(args.next());
  EXPECT_EQ(args.option(), "-tX");  // single-letter options split only when the caller says
  args.take_attached_value(2);
  EXPECT_EQ(args.option(), "-t");
  EXPECT_EQ(args.value(), "X");
  ASSERT_TRUE(args.next());
  EXPECT_FALSE(args.has_attached_value());
  ASSERT_TRUE(args.next());
  EXPECT_EQ(args.option(), "--json");
  EXPECT_TRUE(args.has_attached_value());  // a flag given a value: the caller refuses it
  ASSERT_TRUE(args.next());
  EXPECT_EQ(args.count(INT64_MIN), -3);
  EXPECT_FALSE(args.next());

  Args big({"x", "--n", "99999999999999999999"}, 1);
  ASSERT_TRUE(big.next());
  EXPECT_EQ(big.count(), std::nullopt);  // out of range is not a number
  EXPECT_EQ(big.bad(), "bad or incomplete option '--n' (given '99999999999999999999')");
}

TEST(BodyMakerTest, BodiesNameTheirSenderAndCatchAnyChangedByte) {
  BodyMaker maker(1024, 42);
  std::string body;
  const uint32_t crc = maker.make(3, 123456789, &body);
  ASSERT_EQ(body.size(), 1024u);
  auto id = BodyMaker::parse(body);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->producer, 3u);
  EXPECT_EQ(id->seq, 123456789u);
  EXPECT_EQ(id->crc, crc);
  for (size_t at : {size_t{0}, size_t{5}, size_t{12}, size_t{16}, size_t{500}, size_t{1023}}) {
    std::string bad = body;
    bad[at] ^= 0x20;
    EXPECT_FALSE(BodyMaker::parse(bad).has_value()) << "byte " << at;
  }
  EXPECT_FALSE(BodyMaker::parse(body.substr(0, 1000)).has_value());
  EXPECT_FALSE(BodyMaker::parse("short").has_value());
  // Another run's bodies differ (another filler), so its CRC differs too.
  std::string other;
  EXPECT_NE(BodyMaker(1024, 43).make(3, 123456789, &other), crc);
}

struct Sent {
  BodyMaker maker{64, 7};
  std::string body(uint32_t p, uint64_t seq) const {
    std::string b;
    maker.make(p, seq, &b);
    return b;
  }
  void ack(Verifier& v, uint32_t p, uint64_t seq) const {
    std::string b;
    v.acked(p, seq, maker.make(p, seq, &b));
  }
};

TEST(FailurePlanTest, FatesAreSeededByMessageAndInTheirProportions) {
  FailurePlan plan(4242, 2, 100000);
  FailurePlan same(4242, 2, 100000);
  FailurePlan other(4243, 2, 100000);
  uint64_t always = 0, once = 0, differ = 0;
  for (uint32_t p = 0; p < 2; ++p) {
    for (uint64_t seq = 0; seq < 100000; ++seq) {
      const Fate f = plan.fate(p, seq);
      always += f == Fate::kFailAlways;
      once += f == Fate::kFailOnce;
      ASSERT_EQ(f, same.fate(p, seq));
      differ += f != other.fate(p, seq);
    }
  }
  // 0.1 % and 10 % of 200,000, within a few standard deviations.
  EXPECT_GT(always, 140u);
  EXPECT_LT(always, 260u);
  EXPECT_GT(once, 19000u);
  EXPECT_LT(once, 21000u);
  EXPECT_GT(differ, 10000u) << "another seed fails other messages";
  EXPECT_EQ(plan.fate(2, 0), Fate::kConsume) << "outside the run's shape";
}

TEST(FailurePlanTest, AFailOnceMessageFailsItsFirstDeliveryOnlyAndAFailAlwaysOneEvery) {
  FailurePlan plan(7, 1, 10000);
  std::optional<uint64_t> once, always, consume;
  for (uint64_t seq = 0; seq < 10000; ++seq) {
    const Fate f = plan.fate(0, seq);
    auto& slot = f == Fate::kFailOnce ? once : f == Fate::kFailAlways ? always : consume;
    if (!slot) slot = seq;
  }
  ASSERT_TRUE(once && always && consume);
  EXPECT_TRUE(plan.fail_delivery(0, *once));
  EXPECT_FALSE(plan.fail_delivery(0, *once));
  for (int i = 0; i < 17; ++i)
    EXPECT_TRUE(plan.fail_delivery(0, *always));
  EXPECT_FALSE(plan.fail_delivery(0, *consume));
  EXPECT_EQ(plan.failed_deliveries(), 18u);
}

TEST(DeliveryLogTest, AnAckedMessageInTheDeadLetterQueueIsNotLost) {
  Sent s;
  Verifier acked(1, 4), dead(1, 4);
  for (uint64_t seq = 0; seq < 4; ++seq)
    s.ack(acked, 0, seq);
  DeliveryLog log(1, 4);
  log.delivered("b", 0, 0, s.body(0, 0));
  log.delivered("b", 0, 1, s.body(0, 1));
  dead.found(0, s.body(0, 2));
  // Seq 2 and 3 excused: nothing to wait for.
  EXPECT_EQ(log.wait_for_acked(acked, 10ms, [](uint32_t, uint64_t seq) { return seq >= 2; }), 0u);
  EXPECT_EQ(log.wait_for_acked(acked, 10ms), 2u);
  DeliveryReport r = log.report(&acked, &dead);
  EXPECT_EQ(r.dead_lettered, 1u);
  EXPECT_EQ(r.verify.lost, 1u) << "seq 3: neither consumed nor dead-lettered";
  ASSERT_EQ(r.verify.lost_examples.size(), 1u);
  EXPECT_EQ(r.verify.lost_examples[0], "0/3");
  EXPECT_EQ(log.report(&acked).verify.lost, 2u) << "without the DLQ both count";
}

TEST(VerifierTest, EveryAckedMessageFoundOnceInOrderPasses) {
  Sent s;
  Verifier v(2, 50);
  for (uint32_t p = 0; p < 2; ++p) {
    for (uint64_t seq = 0; seq < 50; ++seq) {
      s.ack(v, p, seq);
      v.found(static_cast<uint32_t>(seq % 4), s.body(p, seq));
    }
  }
  VerifyReport r = v.report();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.acked, 100u);
  EXPECT_EQ(r.found, 100u);
  EXPECT_EQ(r.lost + r.duplicated + r.reordered + r.corrupt + r.changed + r.unacked_found, 0u);
  EXPECT_EQ(r.acked_digest, r.found_digest);
}

TEST(VerifierTest, ReportsLostDuplicatedReorderedCorruptAndUnacked) {
  Sent s;
  Verifier v(1, 10);
  for (uint64_t seq = 0; seq < 8; ++seq)
    s.ack(v, 0, seq);  // 8 and 9 were sent but never acknowledged
  // Queue 0 holds 0..7 but 3 is missing, 5 comes twice, 7 comes before 6; 9 was not acked.
  for (uint64_t seq : {0, 1, 2, 4, 5, 5, 7, 6, 9})
    v.found(0, s.body(0, seq));
  std::string corrupt = s.body(0, 2);
  corrupt[20] ^= 1;
  v.found(0, corrupt);
  VerifyReport r = v.report();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.acked, 8u);
  EXPECT_EQ(r.lost, 1u);
  ASSERT_EQ(r.lost_examples.size(), 1u);
  EXPECT_EQ(r.lost_examples[0], "0/3");
  EXPECT_EQ(r.duplicated, 1u);
  EXPECT_EQ(r.reordered, 1u);
  EXPECT_EQ(r.corrupt, 1u);
  EXPECT_EQ(r.unacked_found, 1u);
  EXPECT_NE(r.acked_digest, r.found_digest);
}

TEST(VerifierTest, AnotherBodyUnderTheSameIdentityIsChanged) {
  Sent s;
  Verifier v(1, 1);
  s.ack(v, 0, 0);
  std::string impostor;
  BodyMaker(64, 8).make(0, 0, &impostor);  // valid CRC, other content
  v.found(0, impostor);
  VerifyReport r = v.report();
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.changed, 1u);
  EXPECT_FALSE(r.ok());
}

TEST(VerifierTest, OrderIsPerQueueAndPerProducer) {
  Sent s;
  Verifier v(2, 10);
  // Two queues, two producers interleaved: each producer's sequence rises within each queue.
  v.found(0, s.body(0, 5));
  v.found(1, s.body(0, 1));
  v.found(0, s.body(1, 0));
  v.found(0, s.body(0, 6));
  v.found(1, s.body(1, 9));
  EXPECT_EQ(v.report().reordered, 0u);
  v.found(1, s.body(1, 2));
  EXPECT_EQ(v.report().reordered, 1u);
}

TEST(AckTimelineTest, TheOutageRunsFromTheLastAckBeforeTheKillToTheFirstAfter) {
  const auto t0 = std::chrono::steady_clock::now();
  AckTimeline t(t0);
  for (int ms = 0; ms < 1000; ms += 2)
    t.record(t0 + std::chrono::milliseconds(ms));  // steady acks up to 998 ms
  t.record(t0 + 1003ms);                           // a late answer read after the kill
  for (int ms = 1750; ms < 2000; ms += 3)
    t.record(t0 + std::chrono::milliseconds(ms));  // service again at 1750 ms
  EXPECT_EQ(t.longest_gap_from(t0 + 1001ms, t0 + 2000ms), 1750 - 1003);
  // No ack after the kill: the outage lasts to the end of the run.
  AckTimeline dead(t0);
  dead.record(t0 + 10ms);
  EXPECT_EQ(dead.longest_gap_from(t0 + 20ms, t0 + 500ms), 490);
}

ModeResult result(const std::string& mode, double rate, uint64_t lost, bool failover) {
  ModeResult r;
  r.mode = mode;
  r.layout = "layout of " + mode;
  r.messages = 1000;
  r.acked = 1000;
  r.msg_size = 1024;
  r.msgs_per_s = rate;
  r.p50_ms = 0.5;
  r.p90_ms = 1;
  r.p99_ms = 4;
  r.p999_ms = 20;
  r.max_ms = 30;
  VerifyReport v;
  v.acked = 1000;
  v.found = 1000 - lost;
  v.lost = lost;
  r.verify = v;
  if (failover) r.failover = FailoverResult{"SIGKILL master", 812, 1.5};
  return r;
}

TEST(ReportTest, LossFailsEveryModeButAnAsyncMasterThatDied) {
  EXPECT_TRUE(result("async", 1, 3, true).passed());
  EXPECT_FALSE(result("async", 1, 3, false).passed());
  EXPECT_FALSE(result("sync", 1, 1, true).passed());
  EXPECT_FALSE(result("dledger", 1, 1, true).passed());
  EXPECT_TRUE(result("dledger", 1, 0, true).passed());
  ModeResult corrupt = result("single", 1, 0, false);
  corrupt.verify->corrupt = 1;
  EXPECT_FALSE(corrupt.passed());
  ModeResult not_run;
  not_run.mode = "sync";
  not_run.error = "cluster: no port";
  EXPECT_FALSE(not_run.passed());
}

TEST(ReportTest, TableCsvJsonAndChartCarryEveryMode) {
  ModeResult failed;
  failed.mode = "dledger";
  failed.error = "cluster: did not start";
  std::vector<ModeResult> rs = {result("single", 90000, 0, false), result("sync", 30000, 0, true),
                                failed};
  const std::string table = markdown_table(rs);
  EXPECT_NE(table.find("| single | layout of single | 90000 |"), std::string::npos) << table;
  EXPECT_NE(table.find("812 ms"), std::string::npos) << table;
  EXPECT_NE(table.find("not run: cluster: did not start"), std::string::npos) << table;

  const std::string csv = to_csv(rs);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  EXPECT_EQ(csv.rfind("mode,layout,", 0), 0u);
  EXPECT_NE(csv.find("\nsync,layout of sync,1000,1024,1000,"), std::string::npos) << csv;

  const std::string json = to_json(rs, "1000 \"quoted\" messages");
  EXPECT_NE(json.find("\"workload\": \"1000 \\\"quoted\\\" messages\""), std::string::npos);
  EXPECT_NE(json.find("\"window_ms\": 812"), std::string::npos);
  EXPECT_NE(json.find("\"error\": \"cluster: did not start\", \"passed\": false"),
            std::string::npos);

  const std::string svg = to_svg(rs, "a <chart> & more", "1000 messages");
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_NE(svg.find("a &lt;chart&gt; &amp; more"), std::string::npos);
  EXPECT_NE(svg.find(">1000 messages<"), std::string::npos);
  // One throughput bar per mode that ran, the faster one taller; four latency bars each.
  size_t bars = 0, latency = 0;
  for (size_t at = 0; (at = svg.find("class=\"throughput\"", at)) != std::string::npos; ++at)
    ++bars;
  for (size_t at = 0; (at = svg.find("class=\"latency\"", at)) != std::string::npos; ++at)
    ++latency;
  EXPECT_EQ(bars, 2u);
  EXPECT_EQ(latency, 8u);
  auto height_of = [&](const std::string& mode) {
    const size_t title = svg.find("<title>" + mode + ": ");
    const size_t rect = svg.rfind("<rect class=\"throughput\"", title);
    const size_t h = svg.find("height=\"", rect) + 8;
    return std::stoi(svg.substr(h));
  };
  EXPECT_GT(height_of("single"), 2 * height_of("sync"));
}

TEST(DiskBudgetTest, ARowSendsWhatHalfTheBudgetHoldsInConsumeQueues) {
  constexpr uint64_t kMiB = 1024 * 1024;
  constexpr uint64_t kBudget = 8000 * kMiB;
  // A sparse store before its first flush shows nothing: everything is sent.
  EXPECT_EQ(affordable_messages(320000, 80000, 0, kBudget), 320000u);
  // 4 KiB per queue: 80,000 queues take 312 MiB of the 4,000 MiB half.
  EXPECT_EQ(affordable_messages(320000, 80000, 4096, kBudget), 320000u);
  // A whole 6 MB file per queue: 666 queues fill the half, so 666 messages, one each.
  EXPECT_EQ(affordable_messages(320000, 80000, 6 * kMiB, kBudget), 666u);
  // Fewer messages than queues: only the queues they reach count.
  EXPECT_EQ(affordable_messages(500, 80000, 6 * kMiB, kBudget), 500u);
  // Fewer queues than messages: the queues bound what is filled, however many messages.
  EXPECT_EQ(affordable_messages(320000, 400, 6 * kMiB, kBudget), 320000u);
  // A budget below one queue still sends one message.
  EXPECT_EQ(affordable_messages(320000, 80000, 6 * kMiB, kMiB), 1u);
}

TEST(TopicSetTest, ManyTopicsAreNumberedAndTakeMessagesRoundRobin) {
  const TopicSet one = TopicSet::spread("Bench", 1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], "Bench");  // one topic keeps its name, as every run before --topics
  EXPECT_EQ(one.of_message(7), "Bench");
  const TopicSet many = TopicSet::spread("Bench", 3);
  ASSERT_EQ(many.size(), 3u);
  EXPECT_EQ(many[0], "Bench-0");
  EXPECT_EQ(many[2], "Bench-2");
  EXPECT_EQ(many.of_message(0), "Bench-0");
  EXPECT_EQ(many.of_message(4), "Bench-1");
  EXPECT_EQ(many.of_message(5), "Bench-2");
}

ScaleResult scale_row(int topics, double rate, int64_t fds) {
  ScaleResult r;
  r.topics = topics;
  r.queues_per_topic = 8;
  r.messages = r.acked = 1000;
  r.msgs_per_s = rate;
  r.p99_ms = 2.5;
  r.idle.rss_anon_kib = 10 * 1024;
  r.loaded = {
      .rss_anon_kib = 30 * 1024, .rss_file_kib = 512 * 1024, .open_fds = fds, .mappings = 300};
  r.restarted = {
      .rss_anon_kib = 20 * 1024, .rss_file_kib = 256 * 1024, .open_fds = fds, .mappings = 290};
  r.disk_beyond_commitlog_bytes = 3ull * 1024 * 1024;
  r.commitlog_disk_bytes = 1ull << 30;
  r.restart_s = 0.25;
  return r;
}

TEST(ScaleReportTest, TableCsvJsonAndChartCarryEveryTopicCount) {
  ScaleResult stopped = scale_row(10000, 40000, 900);
  stopped.stopped = "sends stopped after 5 of 10: the free disk fell by 20 GB";
  ScaleResult failed;
  failed.topics = 100000;
  failed.error = "cluster: did not start";
  const std::vector<ScaleResult> rs = {scale_row(1, 90000, 50), stopped, failed};

  const std::string table = scale_markdown_table(rs);
  // RssAnon 30 MiB loaded and 20 MiB restarted against 10 MiB idle: +20 and +10.
  EXPECT_NE(
      table.find(
          "| 1 | 8 | 0.0 | 0.0 / 0.0 | 90000 | 2.50 | 20 | 512 | 50 | 300 | 3.0 | 1024 | 0.25 | "
          "256 | 10 | 50 | 290 |  |"),
      std::string::npos)
      << table;
  EXPECT_NE(table.find("| 10000 | 80000 |"), std::string::npos) << table;
  EXPECT_NE(table.find("the free disk fell by 20 GB |"), std::string::npos) << table;
  EXPECT_NE(table.find("not run: cluster: did not start"), std::string::npos) << table;

  const std::string csv = scale_csv(rs);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  EXPECT_EQ(csv.rfind("topics,queues_per_topic,", 0), 0u);
  EXPECT_NE(csv.find("\n1,8,1000,1000,0,0.000,0.000,0.000,90000,"), std::string::npos) << csv;

  const std::string json = scale_json(rs, "320000 messages");
  EXPECT_NE(json.find("\"workload\": \"320000 messages\""), std::string::npos);
  EXPECT_NE(json.find("\"restarted\": {\"rss_anon_kib\": 20480, \"rss_file_kib\": 262144"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"error\": \"cluster: did not start\""), std::string::npos);

  const std::string svg = scale_svg(rs, "320000 messages");
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  size_t panels = 0, points = 0;
  for (size_t at = 0; (at = svg.find("class=\"panel\"", at)) != std::string::npos; ++at)
    ++panels;
  for (size_t at = 0; (at = svg.find("<circle ", at)) != std::string::npos; ++at)
    ++points;
  EXPECT_EQ(panels, 8u);
  // Two rows ran: a point each on 8 panels, twice more on the 4 with an after-restart line.
  EXPECT_EQ(points, 2u * (8 + 4));
  EXPECT_NE(svg.find("10000 topics: sends stopped after 5 of 10"), std::string::npos);
  EXPECT_NE(svg.find("100000 topics: not run: cluster: did not start"), std::string::npos);
}

}  // namespace
}  // namespace comet::bench
