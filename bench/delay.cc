#include "bench/delay.h"
#include "bench/bench_security.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_cluster.h"
#include "bench/latency_histogram.h"
#include "bench/round_stats.h"
#include "bench/verify.h"
#include "bench/workload.h"
#include "common/args.h"
#include "common/clock.h"
#include "consumer/push_consumer.h"

namespace comet::bench {
namespace {

using namespace std::chrono_literals;

// Level 1 falls due after --delay-s; level 2 (an hour) holds the throughput rounds' messages for
// the whole run, so those rounds measure the send path alone.
constexpr int32_t kDueLevel = 1;
constexpr int32_t kHeldLevel = 2;

struct DelayOptions {
  Mode mode = Mode::kSingle;
  int rounds = 9;
  uint64_t round_messages = 100000;
  double rate = 50000;
  int seconds = 5;
  int delay_s = 1;
  size_t size = 1024;
  SendOptions send;
  std::vector<std::string> broker_args;
  std::string bin_dir;
  bool keep = false;
  bool json = false;

  std::string levels() const { return fmt::format("{}s 1h", delay_s); }
};

constexpr const char* kDelayUsage =
    "usage: comet-bench delay [--rounds R] [--round-messages N] [--rate R] [--seconds S]\n"
    "                         [--delay-s D] [--msg-size B] [--producers P] [--inflight K]\n"
    "                         [--mode single] [--broker key=value]... [--bin-dir DIR]\n"
    "                         [--keep] [--json]\n"
    "On a fresh cluster (one broker unless --mode async, sync or dledger) with\n"
    "messageDelayLevel \"<D>s 1h\": R rounds each of plain and\n"
    "delayed (level 2, held) sends of N messages, alternated, their medians and ratio (target:\n"
    "delayed >= 80 % of plain); then S seconds of level-1 sends paced at R msgs/s, consumed by a\n"
    "push consumer: p50/p99/max of arrival - (born time + D) (target: p99 <= 1 s), acked\n"
    "messages lost and duplicated. --rounds 0 or --seconds 0 skips a part.\n"
    "Exit status 0 when no acked message was lost or duplicated.\n";

int delay_usage(const std::string& why) {
  if (!why.empty()) std::cerr << "comet-bench delay: " << why << "\n";
  std::cerr << kDelayUsage;
  return 2;
}

struct ThroughputResult {
  std::vector<double> plain, delayed;  // msgs/s per round, in run order
  // The broker's CPU (user + system) per acked message, µs, per round: what a send costs, which
  // other load on the machine moves far less than it moves the rate.
  std::vector<double> plain_cpu_us, delayed_cpu_us;
  uint64_t failed = 0;  // sends failed or not confirmed, all rounds
  double ratio() const {
    const double p = median_of(plain);
    return p > 0 ? median_of(delayed) / p : 0;
  }
};

struct Percentiles {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  static Percentiles of(const LatencyHistogram& h) {
    return {ms_of(h.percentile_us(0.50)), ms_of(h.percentile_us(0.99)), ms_of(h.max_us())};
  }
};

struct LatenessResult {
  uint64_t sent = 0, acked = 0, failed = 0;
  double send_rate = 0;  // acked msgs/s while sending
  uint64_t delivered = 0;
  Percentiles consumer, broker;
  uint64_t early = 0;  // delivered to the topic before born time + delay: must never happen
  DeliveryReport report;
  bool ok() const {
    return report.verify.lost == 0 && report.verify.duplicated == 0 && report.verify.corrupt == 0 &&
           early == 0;
  }
};

struct Round {
  double msgs_per_s = 0;
  double cpu_us_per_msg = 0;
};

// One round of sends as fast as the window allows: its acked msgs/s and the broker's CPU per
// acked message.
Round send_round(const DelayOptions& o, BenchCluster& c, const std::string& topic, int32_t level,
                 const BodyMaker& maker, uint64_t& failed) {
  SendOptions so = o.send;
  so.delay_level = level;
  SendStats stats;
  const uint64_t per_producer = o.round_messages / static_cast<uint64_t>(so.producers);
  c.mark_cpu();
  const Status s = run_sends(so, c.namesrv_addr(), topic, per_producer, maker, nullptr, stats,
                             nullptr, level > 0 ? "delayed" : "plain", {}, /*paced=*/false);
  const double cpu_s = c.broker_cpu_seconds();
  failed += stats.failed.load() + stats.unconfirmed.load();
  const auto acked = static_cast<double>(stats.acked.load());
  if (!s.is_ok() || stats.seconds <= 0 || acked == 0) return {};
  return {acked / stats.seconds, cpu_s * 1e6 / acked};
}

ThroughputResult measure_throughput(const DelayOptions& o, BenchCluster& c,
                                    const std::string& topic, const BodyMaker& maker) {
  ThroughputResult r;
  // A round of each first, not counted: the first sends of a fresh broker fault its segment in.
  uint64_t warmup_failed = 0;
  send_round(o, c, topic, 0, maker, warmup_failed);
  send_round(o, c, topic, kHeldLevel, maker, warmup_failed);
  for (int i = 0; i < o.rounds; ++i) {
    const Round plain = send_round(o, c, topic, 0, maker, r.failed);
    const Round delayed = send_round(o, c, topic, kHeldLevel, maker, r.failed);
    r.plain.push_back(plain.msgs_per_s);
    r.plain_cpu_us.push_back(plain.cpu_us_per_msg);
    r.delayed.push_back(delayed.msgs_per_s);
    r.delayed_cpu_us.push_back(delayed.cpu_us_per_msg);
    if (!o.json) {
      std::cout << fmt::format(
                       "  round {}: plain {:.0f} msgs/s ({:.1f} µs CPU), delayed {:.0f} msgs/s "
                       "({:.1f} µs CPU)\n",
                       i + 1, plain.msgs_per_s, plain.cpu_us_per_msg, delayed.msgs_per_s,
                       delayed.cpu_us_per_msg)
                << std::flush;
    }
  }
  return r;
}

Result<LatenessResult> measure_lateness(const DelayOptions& o, const std::string& namesrv,
                                        const std::string& topic, const BodyMaker& maker) {
  const auto producers = static_cast<uint32_t>(o.send.producers);
  const auto per_producer =
      std::max<uint64_t>(1, static_cast<uint64_t>(o.rate * o.seconds / producers));
  const int64_t delay_ms = int64_t{o.delay_s} * 1000;
  Verifier acked(producers, per_producer);
  DeliveryLog log(producers, per_producer);
  LatencyHistogram consumer_late, broker_late;
  std::atomic<uint64_t> early{0};

  client::ClientConfig cfg = bench_client_config(namesrv);
  cfg.client_id = client_id("delay-consumer");
  client::PushConsumer consumer("comet-bench-delay", cfg);
  COMET_RETURN_IF_ERROR(consumer.subscribe(topic, "*"));
  consumer.set_consume_from_where(client::ConsumeFromWhere::kFirstOffset);
  consumer.set_consume_thread_count(2);
  consumer.set_consume_message_batch_max_size(32);
  consumer.register_message_listener([&](const std::vector<client::MessageExt>& msgs) {
    const int64_t now = now_ms();
    for (const auto& m : msgs) {
      const int64_t due = m.born_timestamp_ms + delay_ms;
      consumer_late.record(std::chrono::milliseconds(std::max<int64_t>(0, now - due)));
      broker_late.record(
          std::chrono::milliseconds(std::max<int64_t>(0, m.store_timestamp_ms - due)));
      if (m.store_timestamp_ms < due) early.fetch_add(1, std::memory_order_relaxed);
      log.delivered(m.broker_name, m.queue_id, m.queue_offset, m.body);
    }
    return client::ConsumeStatus::kSuccess;
  });
  COMET_RETURN_IF_ERROR(consumer.start());

  SendOptions so = o.send;
  so.rate = o.rate;
  so.delay_level = kDueLevel;
  SendStats stats;
  Status s = run_sends(so, namesrv, topic, per_producer, maker, &acked, stats, nullptr, "due", {},
                       /*paced=*/true);
  // Everything acked falls due within the delay; the consumer gets a minute beyond it.
  if (s.is_ok()) log.wait_for_acked(acked, std::chrono::milliseconds(delay_ms) + 60s);
  consumer.shutdown();
  COMET_RETURN_IF_ERROR(s);

  LatenessResult r;
  r.sent = per_producer * producers;
  r.acked = stats.acked.load();
  r.failed = stats.failed.load() + stats.unconfirmed.load();
  r.send_rate = stats.seconds > 0 ? static_cast<double>(r.acked) / stats.seconds : 0;
  r.consumer = Percentiles::of(consumer_late);
  r.broker = Percentiles::of(broker_late);
  r.early = early.load();
  r.report = log.report();
  r.delivered = r.report.verify.found;
  return r;
}

void print_table(const DelayOptions& o, const std::optional<ThroughputResult>& t,
                 const std::optional<LatenessResult>& l) {
  std::cout << fmt::format(
      "\ndelay: {} ({}), messageDelayLevel \"{}\", {} B bodies, {} producer(s), {} in "
      "flight each\n",
      mode_name(o.mode), mode_layout(o.mode), o.levels(), o.size, o.send.producers,
      o.send.inflight);
  if (t) {
    const double ratio = t->ratio();
    std::cout << fmt::format(
        "\n| sends | rounds | msgs/s median | range | broker CPU µs/msg median |\n"
        "|---|--:|--:|--:|--:|\n"
        "| plain | {} | {:.0f} | {} | {:.1f} |\n| delayed (level {}) | {} | {:.0f} | {} | {:.1f} "
        "|\n"
        "| delayed / plain | | {:.1f} % | target >= 80 %: {} | {:.2f}x |\n",
        t->plain.size(), median_of(t->plain), range_of(t->plain), median_of(t->plain_cpu_us),
        kHeldLevel, t->delayed.size(), median_of(t->delayed), range_of(t->delayed),
        median_of(t->delayed_cpu_us), ratio * 100, ratio >= 0.8 ? "met" : "MISSED",
        median_of(t->plain_cpu_us) > 0 ? median_of(t->delayed_cpu_us) / median_of(t->plain_cpu_us)
                                       : 0);
    if (t->failed > 0) std::cout << fmt::format("  {} sends failed or unconfirmed\n", t->failed);
  }
  if (l) {
    const auto& v = l->report.verify;
    std::cout << fmt::format(
        "\n| due at | sent msgs/s | acked | delivered | lateness p50 | p99 | max | broker "
        "p50 / p99 / max | lost | duplicated | result |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n"
        "| {:.0f} msgs/s for {} s, level {} ({} s) | {:.0f} | {} | {} | {:.0f} ms | {:.0f} ms | "
        "{:.0f} ms | {:.0f} / {:.0f} / {:.0f} ms | {} | {} | {} |\n",
        o.rate, o.seconds, kDueLevel, o.delay_s, l->send_rate, l->acked, l->delivered,
        l->consumer.p50_ms, l->consumer.p99_ms, l->consumer.max_ms, l->broker.p50_ms,
        l->broker.p99_ms, l->broker.max_ms, v.lost, v.duplicated,
        !l->ok()                       ? "FAILED"
        : l->consumer.p99_ms <= 1000.0 ? "p99 <= 1 s: met"
                                       : "p99 <= 1 s: MISSED");
    if (l->failed > 0) std::cout << fmt::format("  {} sends failed or unconfirmed\n", l->failed);
    if (l->early > 0) std::cout << fmt::format("  {} delivered before due\n", l->early);
    if (v.duplicated > 0) {
      std::cout << fmt::format("  copies: {} redelivered by the consumer, {} stored twice\n",
                               l->report.redelivered, l->report.stored_copies);
    }
    for (const auto& e : v.lost_examples)
      std::cout << "  lost: " << e << "\n";
  }
}

void print_json(const DelayOptions& o, const std::optional<ThroughputResult>& t,
                const std::optional<LatenessResult>& l) {
  std::string out = fmt::format(
      "{{\"mode\":\"{}\",\"levels\":\"{}\",\"msg_size\":{},\"producers\":{},\"inflight\":{}",
      mode_name(o.mode), o.levels(), o.size, o.send.producers, o.send.inflight);
  if (t) {
    out += fmt::format(
        ",\"throughput\":{{\"plain_msgs_per_s\":{},\"delayed_msgs_per_s\":{},"
        "\"plain_median\":{:.0f},\"delayed_median\":{:.0f},\"ratio\":{:.4f},"
        "\"plain_cpu_us_per_msg\":{:.2f},\"delayed_cpu_us_per_msg\":{:.2f},\"failed\":{}}}",
        numbers_json(t->plain), numbers_json(t->delayed), median_of(t->plain),
        median_of(t->delayed), t->ratio(), median_of(t->plain_cpu_us), median_of(t->delayed_cpu_us),
        t->failed);
  }
  if (l) {
    const auto& v = l->report.verify;
    out += fmt::format(
        ",\"lateness\":{{\"offered_msgs_per_s\":{:.0f},\"seconds\":{},\"delay_s\":{},"
        "\"sent_msgs_per_s\":{:.0f},\"sent\":{},\"acked\":{},\"failed\":{},\"delivered\":{},"
        "\"p50_ms\":{:.1f},\"p99_ms\":{:.1f},\"max_ms\":{:.1f},\"broker_p50_ms\":{:.1f},"
        "\"broker_p99_ms\":{:.1f},\"broker_max_ms\":{:.1f},\"lost\":{},\"duplicated\":{},"
        "\"redelivered\":{},\"stored_copies\":{},\"corrupt\":{},\"early\":{}}}",
        o.rate, o.seconds, o.delay_s, l->send_rate, l->sent, l->acked, l->failed, l->delivered,
        l->consumer.p50_ms, l->consumer.p99_ms, l->consumer.max_ms, l->broker.p50_ms,
        l->broker.p99_ms, l->broker.max_ms, v.lost, v.duplicated, l->report.redelivered,
        l->report.stored_copies, v.corrupt, l->early);
  }
  std::cout << out << "}\n";
}

int delay(const DelayOptions& o, const Binaries& bin) {
  auto run_dir = make_run_dir("delay");
  if (!run_dir.is_ok()) return delay_usage(run_dir.status().to_string());
  const std::string dir = *run_dir;
  auto cleanup = [&](int code) {
    finish_run_dir(dir, o.keep || code != 0, "delay");
    return code;
  };
  std::vector<std::string> broker_args = {"messageDelayLevel=" + o.levels()};
  broker_args.insert(broker_args.end(), o.broker_args.begin(), o.broker_args.end());
  auto cluster = BenchCluster::start(o.mode, bin, dir, broker_args, 60s);
  if (!cluster.is_ok()) {
    std::cerr << "delay: cluster: " << cluster.status().to_string() << "\n";
    print_log_excerpts(dir, "delay");
    return cleanup(1);
  }
  BenchCluster& c = **cluster;
  const std::string plain_topic = "DelayBenchSends", due_topic = "DelayBenchDue";
  Status s = create_topic(c.namesrv_addr(), {c.master_addr()}, plain_topic, 8);
  if (s.is_ok()) s = create_topic(c.namesrv_addr(), {c.master_addr()}, due_topic, 8);
  if (s.is_ok()) s = first_send(c.namesrv_addr(), plain_topic);
  if (!s.is_ok()) {
    std::cerr << "delay: setup: " << s.to_string() << "\n";
    return cleanup(1);
  }
  std::random_device rd;
  const BodyMaker maker(o.size, (uint64_t{rd()} << 32) | rd());

  std::optional<ThroughputResult> throughput;
  if (o.rounds > 0) throughput = measure_throughput(o, c, plain_topic, maker);
  std::optional<LatenessResult> lateness;
  if (o.seconds > 0) {
    auto l = measure_lateness(o, c.namesrv_addr(), due_topic, maker);
    if (!l.is_ok()) {
      std::cerr << "delay: lateness: " << l.status().to_string() << "\n";
      c.stop();
      print_log_excerpts(dir, "delay");
      return cleanup(1);
    }
    lateness = std::move(*l);
  }
  c.stop();
  if (o.json) {
    print_json(o, throughput, lateness);
  } else {
    print_table(o, throughput, lateness);
  }
  const bool ok = !lateness || lateness->ok();
  if (!ok) print_log_excerpts(dir, "delay");
  return cleanup(ok ? 0 : 1);
}

}  // namespace

int run_delay(int argc, char** argv) {
  DelayOptions o;
  o.send.producers = 1;
  o.send.inflight = 256;
  Args args(argc, argv, 2);
  std::optional<std::string> s;
  std::optional<int64_t> n;
  std::optional<double> r;
  while (args.next()) {
    const std::string& a = args.option();
    if (a == "--help" || a == "-h") {
      std::cout << kDelayUsage;
      return 0;
    }
    if (a == "--mode" && (s = args.value())) {
      auto m = parse_mode(*s);
      if (!m.is_ok()) return delay_usage(m.status().message());
      o.mode = *m;
    } else if (a == "--rounds" && (n = args.count(0))) {
      o.rounds = static_cast<int>(*n);
    } else if (a == "--round-messages" && (n = args.count(1))) {
      o.round_messages = static_cast<uint64_t>(*n);
    } else if (a == "--rate" && (r = args.real(1))) {
      o.rate = *r;
    } else if (a == "--seconds" && (n = args.count(0))) {
      o.seconds = static_cast<int>(*n);
    } else if (a == "--delay-s" && (n = args.count(1))) {
      o.delay_s = static_cast<int>(*n);
    } else if (a == "--msg-size" && (n = args.count(static_cast<int64_t>(kMinBodySize)))) {
      o.size = static_cast<size_t>(*n);
    } else if (a == "--producers" && (n = args.count(1))) {
      o.send.producers = static_cast<int>(*n);
    } else if (a == "--inflight" && (n = args.count(1))) {
      o.send.inflight = static_cast<int>(*n);
    } else if (a == "--broker" && (s = args.value())) {
      o.broker_args.push_back(*s);
    } else if (a == "--bin-dir" && (s = args.value())) {
      o.bin_dir = *s;
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--json") {
      o.json = true;
    } else {
      return delay_usage(args.bad());
    }
  }
  if (o.rounds == 0 && o.seconds == 0) return delay_usage("--rounds and --seconds are both 0");
  auto bin = Binaries::find(o.bin_dir);
  if (!bin.is_ok()) return delay_usage(bin.status().message());
  return delay(o, *bin);
}

}  // namespace comet::bench
