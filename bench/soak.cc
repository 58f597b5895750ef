#include "bench/soak.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_cluster.h"
#include "bench/bench_security.h"
#include "bench/latency_histogram.h"
#include "bench/verify.h"
#include "bench/workload.h"
#include "common/args.h"

namespace comet::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct SoakOptions {
  Mode mode = Mode::kSync;
  double minutes = 10;
  double load = 0.7;
  double rate = 0;  // set: this rate, no probe
  int probe_s = 20;
  int sample_s = 10;
  size_t size = 256;
  SendOptions send;
  std::vector<std::string> broker_args;
  std::string bin_dir;
  bool keep = false;
  SecurityOptions security;  // --acl, --tls (bench/bench_security.h)
};

constexpr const char* kSoakUsage =
    "usage: comet-bench soak [--mode sync] [--minutes M] [--load F] [--rate R]\n"
    "                        [--probe-s S] [--msg-size B] [--producers P]\n"
    "                        [--sample-s S] [--broker key=value]... [--bin-dir DIR]\n"
    "                        [--keep] [--acl] [--tls] [--certs-dir DIR]\n"
    "Probes the local cluster's maximum rate, then runs at --load of it for --minutes,\n"
    "judging memory growth, latency drift and the rate held. Exit status 0 if it passed.\n";

int soak_usage(const std::string& why) {
  if (!why.empty()) std::cerr << "comet-bench soak: " << why << "\n";
  std::cerr << kSoakUsage << kSecurityUsage;
  return 2;
}

int soak_help() {
  std::cout << kSoakUsage << kSecurityUsage;
  return 0;
}

struct Sample {
  double at_s = 0;
  double msgs_per_s = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  int64_t rss_kib = 0;
  LatencyHistogram::Counts counts;
};

double ms(uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

int64_t brokers_rss_kib(const BenchCluster& c) {
  int64_t total = 0;
  for (size_t i = 0; i < c.broker_count(); ++i) {
    const pid_t pid = c.broker_pid(i);
    if (pid > 0) total += std::max<int64_t>(0, process_rss_anon_kib(pid));
  }
  return total;
}

int soak(const SoakOptions& o, const Binaries& bin) {
  auto run_dir = make_run_dir("soak");
  if (!run_dir.is_ok()) return soak_usage(run_dir.status().to_string());
  const std::string dir = *run_dir;
  auto cleanup = [&](int code) {
    finish_run_dir(dir, o.keep || code != 0, "soak");
    return code;
  };
  auto cluster = BenchCluster::start(o.mode, bin, dir, o.broker_args, 60s);
  if (!cluster.is_ok()) {
    std::cerr << "soak: cluster: " << cluster.status().to_string() << "\n";
    print_log_excerpts(dir, std::string(mode_name(o.mode)));
    return cleanup(1);
  }
  BenchCluster& c = **cluster;
  const std::string topic = "SoakTopic";
  Status s = create_topic(c.namesrv_addr(), {c.master_addr()}, topic, 8);
  if (s.is_ok()) s = create_topic(c.namesrv_addr(), {c.master_addr()}, topic + "Warmup", 1);
  if (s.is_ok()) s = first_send(c.namesrv_addr(), topic + "Warmup");
  if (!s.is_ok()) {
    std::cerr << "soak: setup: " << s.to_string() << "\n";
    return cleanup(1);
  }
  std::random_device rd;
  const BodyMaker maker(o.size, (uint64_t{rd()} << 32) | rd());
  const std::string mode(mode_name(o.mode));

  double rate = o.rate;
  if (rate <= 0) {
    // The probe: flat out for a while; its rate is the maximum here.
    SendStats probe;
    std::atomic<bool> stop{false};
    SendOptions flat = o.send;
    flat.rate = 0;
    s = run_sends(
        flat, c.namesrv_addr(), topic, uint64_t{1} << 40, maker, nullptr, probe, nullptr,
        mode + " probe",
        [&] {
          wait_out(std::chrono::seconds(o.probe_s));
          stop = true;
        },
        /*paced=*/false, &stop, /*at=*/1);
    if (!s.is_ok() || probe.acked.load() == 0) {
      std::cerr << "soak: probe: " << (s.is_ok() ? "nothing acknowledged" : s.to_string()) << "\n";
      return cleanup(1);
    }
    const double max = static_cast<double>(probe.acked.load()) / probe.seconds;
    rate = o.load * max;
    std::cout << fmt::format(
        "{}: probe {:.0f} msgs/s flat out for {} s ({} B); soak at {:.0f} % "
        "of it, {:.0f} msgs/s, for {} minutes\n",
        mode, max, o.probe_s, o.size, o.load * 100, rate, o.minutes);
  } else {
    std::cout << fmt::format("{}: soak at {:.0f} msgs/s ({} B) for {} minutes\n", mode, rate,
                             o.size, o.minutes);
  }

  const auto duration = std::chrono::milliseconds(static_cast<int64_t>(o.minutes * 60000));
  SendStats stats;
  std::atomic<bool> stop{false};
  std::vector<Sample> samples;
  Clock::time_point started;
  SendOptions paced = o.send;
  paced.rate = rate;
  const auto per_producer = static_cast<uint64_t>(
      rate / o.send.producers * (std::chrono::duration<double>(duration).count() + 60));
  std::cout << "     time   offered  achieved     p50      p99      max   brokers' RssAnon\n";
  auto sampler = [&] {
    started = Clock::now();
    Sample prev;
    prev.counts = stats.hist->snapshot();
    uint64_t prev_acked = stats.acked.load();
    auto prev_t = started;
    while (Clock::now() - started < duration) {
      wait_out(std::chrono::seconds(o.sample_s));
      Sample cur;
      const auto now = Clock::now();
      cur.at_s = std::chrono::duration<double>(now - started).count();
      cur.counts = stats.hist->snapshot();
      const uint64_t acked = stats.acked.load();
      cur.msgs_per_s = static_cast<double>(acked - prev_acked) /
                       std::chrono::duration<double>(now - prev_t).count();
      cur.p50_ms = ms(LatencyHistogram::percentile_between(prev.counts, cur.counts, 0.50));
      cur.p99_ms = ms(LatencyHistogram::percentile_between(prev.counts, cur.counts, 0.99));
      cur.max_ms = ms(LatencyHistogram::percentile_between(prev.counts, cur.counts, 1.0));
      cur.rss_kib = brokers_rss_kib(c);
      std::cout << fmt::format(
                       "  {:>5.0f} s  {:>8.0f}  {:>8.0f}  {:>6.2f}  {:>7.2f}  {:>7.1f}  "
                       "{:>8.1f} MiB\n",
                       cur.at_s, rate, cur.msgs_per_s, cur.p50_ms, cur.p99_ms, cur.max_ms,
                       static_cast<double>(cur.rss_kib) / 1024)
                << std::flush;
      prev_acked = acked;
      prev_t = now;
      prev = cur;
      samples.push_back(std::move(cur));
    }
    stop = true;
  };
  s = run_sends(paced, c.namesrv_addr(), topic, per_producer, maker, nullptr, stats, nullptr,
                mode + " soak", sampler, /*paced=*/true, &stop, /*at=*/1);
  c.stop();
  if (!s.is_ok() || samples.size() < 4) {
    std::cerr << "soak: "
              << (s.is_ok() ? "too short to judge (fewer than 4 samples)" : s.to_string()) << "\n";
    return cleanup(1);
  }
  for (const auto& [what, n] : stats.errors)
    std::cerr << fmt::format("  {}: {} x {}\n", mode, n, what);

  // Early: after a warm-up of a fifth of the run (at most a minute); late: the same span at the
  // end. Memory is compared from the end of the warm-up.
  const double total_s = samples.back().at_s;
  const double warm_s = std::min(60.0, total_s / 5);
  auto first_at = [&](double t) {
    return std::find_if(samples.begin(), samples.end(),
                        [&](const Sample& x) { return x.at_s >= t - 0.5; }) -
           samples.begin();
  };
  const size_t warm = static_cast<size_t>(first_at(warm_s));
  const size_t early_end = static_cast<size_t>(first_at(2 * warm_s));
  const size_t late_begin = static_cast<size_t>(first_at(total_s - warm_s)) - 1;
  const auto& sw = samples[std::min(warm, samples.size() - 1)];
  const auto& se = samples[std::min(early_end, samples.size() - 1)];
  const auto& sl = samples[std::min(late_begin, samples.size() - 1)];
  const auto& sz = samples.back();
  const double early_p99 = ms(LatencyHistogram::percentile_between(sw.counts, se.counts, 0.99));
  const double late_p99 = ms(LatencyHistogram::percentile_between(sl.counts, sz.counts, 0.99));
  const double rss_growth =
      sw.rss_kib > 0 ? static_cast<double>(sz.rss_kib - sw.rss_kib) / sw.rss_kib : 0;
  const double achieved = static_cast<double>(stats.acked.load()) / stats.seconds;
  const uint64_t bad = stats.failed.load() + stats.unconfirmed.load();
  const bool memory_ok = rss_growth < 0.05;
  const bool latency_ok = late_p99 <= 2 * early_p99 + 1.0;
  const bool rate_ok = achieved >= 0.98 * rate;
  const bool errors_ok = bad == 0;
  std::cout << fmt::format(
      "\n| mode | msg | offered msgs/s | achieved | RssAnon after {:.0f} s → end | p99 "
      "{:.0f}–{:.0f} "
      "s → last {:.0f} s | failed or unconfirmed | result |\n"
      "|---|--:|--:|--:|--:|--:|--:|---|\n"
      "| {} | {} B | {:.0f} | {:.0f} | {:.1f} → {:.1f} MiB ({:+.1f} %) | {:.2f} → {:.2f} ms | {} "
      "| {} |\n",
      sw.at_s, sw.at_s, se.at_s, total_s - sl.at_s, mode, o.size, rate, achieved,
      static_cast<double>(sw.rss_kib) / 1024, static_cast<double>(sz.rss_kib) / 1024,
      rss_growth * 100, early_p99, late_p99, bad,
      memory_ok && latency_ok && rate_ok && errors_ok
          ? "passed"
          : fmt::format("FAILED:{}{}{}{}", memory_ok ? "" : " memory grew",
                        latency_ok ? "" : " latency drifted", rate_ok ? "" : " rate sagged",
                        errors_ok ? "" : " sends failed"));
  return cleanup(memory_ok && latency_ok && rate_ok && errors_ok ? 0 : 1);
}

}  // namespace

int run_soak(int argc, char** argv) {
  SoakOptions o;
  o.send.producers = 2;
  o.send.inflight = 256;
  o.send.send_timeout = 3000ms;
  Args args(argc, argv, 2);
  std::optional<std::string> s;
  std::optional<double> n;
  while (args.next()) {
    const std::string& a = args.option();
    if (a == "--help" || a == "-h") return soak_help();
    if (a == "--mode" && (s = args.value())) {
      auto m = parse_mode(*s);
      if (!m.is_ok()) return soak_usage(m.status().message());
      o.mode = *m;
    } else if (a == "--minutes" && (n = args.real(0.1))) {
      o.minutes = *n;
    } else if (a == "--load" && (n = args.real(0.01, 1))) {
      o.load = *n;
    } else if (a == "--rate" && (n = args.real(1))) {
      o.rate = *n;
    } else if (a == "--probe-s" && (n = args.real(1))) {
      o.probe_s = static_cast<int>(*n);
    } else if (a == "--sample-s" && (n = args.real(1))) {
      o.sample_s = static_cast<int>(*n);
    } else if (a == "--msg-size" && (n = args.real(static_cast<double>(kMinBodySize)))) {
      o.size = static_cast<size_t>(*n);
    } else if (a == "--producers" && (n = args.real(1))) {
      o.send.producers = static_cast<int>(*n);
    } else if (a == "--broker" && (s = args.value())) {
      o.broker_args.push_back(*s);
    } else if (a == "--bin-dir" && (s = args.value())) {
      o.bin_dir = *s;
    } else if (a == "--keep") {
      o.keep = true;
    } else if (auto taken = parse_security_option(args, o.security); taken != OptionTaken::kNo) {
      if (taken == OptionTaken::kBad) return soak_usage(args.bad());
    } else {
      return soak_usage(args.bad());
    }
  }
  auto bin = Binaries::find(o.bin_dir);
  if (!bin.is_ok()) return soak_usage(bin.status().message());
  auto security = prepare_security(o.security, /*local=*/true, "soak");
  if (!security.is_ok()) return soak_usage(security.status().message());
  const ScopedBenchSecurity secured(std::move(*security), o.keep);
  return soak(o, *bin);
}

}  // namespace comet::bench
