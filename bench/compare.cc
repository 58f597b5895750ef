#include "bench/compare.h"
#include "bench/bench_security.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "admin/admin_client.h"
#include "bench/ack_timeline.h"
#include "bench/bench_cluster.h"
#include "bench/latency_histogram.h"
#include "bench/report.h"
#include "bench/round_stats.h"
#include "bench/verify.h"
#include "bench/workload.h"
#include "common/args.h"
#include "consumer/pull_consumer.h"
#include "producer/producer.h"

namespace comet::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct CompareOptions {
  std::vector<Mode> modes = {Mode::kSingle, Mode::kAsync, Mode::kSync, Mode::kDLedger};
  std::string namesrv;  // an existing cluster instead of local ones
  size_t size = 1024;
  uint64_t messages = 100000;
  int producers = 1;
  int inflight = 256;
  double rate = 0;      // offered msgs/s over all producers; 0: as fast as possible
  int64_t warmup = -1;  // -1: a fifth of --messages, at most 50,000
  bool failover = false;
  std::string out = "comet-compare";
  std::string bin_dir;
  bool keep = false;
  std::vector<std::string> broker_args;  // --broker key=value, for every broker started
  int queues = 8;                        // --queues-per-topic
  int topics = 1;  // --topics: CompareTopic-0 .. -(N-1) instead of CompareTopic
  std::chrono::milliseconds send_timeout{3000};
  Protocol protocol = Protocol::kNative;  // what the producers speak
  SecurityOptions security;               // --acl, --tls, or an existing cluster's account
};

constexpr const char* kCompareUsage =
    "usage: comet-bench compare [--modes single,async,sync,dledger] [--msg-size B]\n"
    "                           [--messages N] [--producers P] [--inflight K] [--rate R]\n"
    "                           [--warmup N] [--failover] [--namesrv host:port]\n"
    "                           [--broker key=value]... [--send-timeout-ms MS]\n"
    "                           [--protocol native|rocketmq] [--topics N] [--queues-per-topic Q]\n"
    "                           [--out DIR] [--bin-dir DIR] [--keep]\n"
    "                           [--acl] [--tls] [--certs-dir DIR] [account and TLS options]\n"
    "Starts a fresh local cluster per mode (or uses --namesrv's), sends the same workload,\n"
    "reads every message back and checks it; prints a table, writes results.csv,\n"
    "results.json and chart.svg to --out. Exit status 0 only if every mode passed.\n";

int usage(const std::string& why) {
  if (!why.empty()) std::cerr << "comet-bench compare: " << why << "\n";
  std::cerr << kCompareUsage << kSecurityUsage;
  return 2;
}

int compare_help() {
  std::cout << kCompareUsage << kSecurityUsage;
  return 0;
}

SendOptions send_options(const CompareOptions& o) {
  SendOptions s;
  s.producers = o.producers;
  s.inflight = o.inflight;
  s.rate = o.rate;
  s.send_timeout = o.send_timeout;
  s.protocol = o.protocol;
  return s;
}

// Runs the workload on the cluster `namesrv` serves (topics already created); fills the
// throughput, latency and verification parts of `r`. `drill` (may be empty) runs at half way.
void measure(const CompareOptions& o, const std::string& namesrv, const std::string& label,
             const std::function<Result<DrillReport>()>& drill, ModeResult& r,
             const std::function<void()>& before_run, const std::function<void()>& after_run) {
  const std::string topic = "CompareTopic";
  const TopicSet topics = TopicSet::spread(topic, o.topics);
  const uint64_t per_producer = o.messages / static_cast<uint64_t>(o.producers);
  std::random_device rd;
  const BodyMaker maker(o.size, (uint64_t{rd()} << 32) | rd());
  if (Status s = first_send(namesrv, topic + "Warmup"); !s.is_ok()) {
    r.error = "first send: " + s.to_string();
    return;
  }
  const uint64_t warmup =
      o.warmup >= 0 ? static_cast<uint64_t>(o.warmup) : std::min<uint64_t>(o.messages / 5, 50000);
  if (warmup > 0) {
    SendStats ws;
    const uint64_t per = std::max<uint64_t>(1, warmup / static_cast<uint64_t>(o.producers));
    if (Status s = run_sends(send_options(o), namesrv, topic + "Warmup", per, maker, nullptr, ws,
                             nullptr, label + " warm-up", {}, /*paced=*/false);
        !s.is_ok()) {
      r.error = "warm-up: " + s.to_string();
      return;
    }
  }

  Verifier verifier(static_cast<uint32_t>(o.producers), per_producer);
  SendStats stats;
  const auto start = Clock::now();
  AckTimeline timeline(start);
  std::optional<Result<DrillReport>> drilled;
  std::function<void()> at_half;
  if (drill) at_half = [&] { drilled = drill(); };
  if (before_run) before_run();
  if (Status s = run_sends(send_options(o), namesrv, topics, per_producer, maker, &verifier, stats,
                           &timeline, label, at_half, /*paced=*/true);
      !s.is_ok()) {
    r.error = s.to_string();
    return;
  }
  const auto end = Clock::now();
  if (after_run) after_run();

  r.messages = per_producer * static_cast<uint64_t>(o.producers);
  r.msg_size = o.size;
  r.acked = stats.acked.load();
  r.unconfirmed = stats.unconfirmed.load();
  r.failed = stats.failed.load();
  r.seconds = stats.seconds;
  r.msgs_per_s = static_cast<double>(r.acked) / stats.seconds;
  r.mb_per_s = r.msgs_per_s * static_cast<double>(o.size) / 1e6;
  const LatencyHistogram& h = *stats.hist;
  r.p50_ms = ms_of(h.percentile_us(0.50));
  r.p90_ms = ms_of(h.percentile_us(0.90));
  r.p99_ms = ms_of(h.percentile_us(0.99));
  r.p999_ms = ms_of(h.percentile_us(0.999));
  r.max_ms = ms_of(h.max_us());
  for (const auto& [what, n] : stats.errors)
    std::cerr << fmt::format("  {}: {} x {}\n", label, n, what);
  if (drilled) {
    if (!drilled->is_ok()) {
      r.error = "failover drill: " + drilled->status().to_string();
      return;
    }
    const DrillReport& d = drilled->value();
    FailoverResult f;
    for (const auto& step : d.steps)
      f.drill += (f.drill.empty() ? "" : "; ") + step;
    f.window_ms = timeline.longest_gap_from(d.killed_at, end);
    f.kill_at_s = std::chrono::duration<double>(d.killed_at - start).count();
    r.failover = f;
  }
  if (Status s = read_back(namesrv, topics, stats.acked_ends, verifier, 120s); !s.is_ok()) {
    r.error = "reading back: " + s.to_string();
    return;
  }
  r.verify = verifier.report();
}

// The measured topics (o.topics of o.queues queues) and the warm-up's.
Status create_compare_topics(const CompareOptions& o, const std::string& namesrv,
                             const std::vector<std::string>& masters) {
  COMET_RETURN_IF_ERROR(
      create_topics(namesrv, masters, TopicSet::spread("CompareTopic", o.topics), o.queues));
  return create_topic(namesrv, masters, "CompareTopicWarmup", 4);
}

ModeResult run_local(const CompareOptions& o, const Binaries& bin, Mode mode) {
  ModeResult r;
  r.mode = std::string(mode_name(mode));
  r.layout = std::string(mode_layout(mode));
  auto run_dir = make_run_dir("compare");
  if (!run_dir.is_ok()) {
    r.error = run_dir.status().to_string();
    return r;
  }
  const std::string dir = *run_dir;
  const auto t0 = Clock::now();
  auto cluster = BenchCluster::start(mode, bin, dir, o.broker_args, 60s);
  if (!cluster.is_ok()) {
    r.error = "cluster: " + cluster.status().to_string() + " (logs in " + dir + ")";
    return r;
  }
  BenchCluster& c = **cluster;
  std::cerr << fmt::format("{} ({}): cluster up in {:.1f} s in {}\n", r.mode, r.layout,
                           std::chrono::duration<double>(Clock::now() - t0).count(), dir);
  Status s = create_compare_topics(o, c.namesrv_addr(), {c.master_addr()});
  if (!s.is_ok()) {
    r.error = "creating the topic: " + s.to_string();
  } else {
    std::function<Result<DrillReport>()> drill;
    if (o.failover) drill = [&] { return c.fail_over(); };
    measure(
        o, c.namesrv_addr(), r.mode, drill, r, [&] { c.mark_cpu(); },
        [&] { r.broker_cpu_s = c.broker_cpu_seconds(); });
  }
  c.stop();
  cluster->reset();
  if (!r.passed()) print_log_excerpts(dir, r.mode);
  finish_run_dir(dir, o.keep || !r.passed(), r.mode);
  return r;
}

ModeResult run_external(const CompareOptions& o) {
  ModeResult r;
  r.mode = "cluster";
  auto masters = cluster_masters(o.namesrv);
  if (!masters.is_ok()) {
    r.error = masters.status().to_string();
    return r;
  }
  r.layout = fmt::format("{} master(s) at {}", masters->size(), o.namesrv);
  Status s = create_compare_topics(o, o.namesrv, *masters);
  if (!s.is_ok()) {
    r.error = "creating the topic: " + s.to_string();
    return r;
  }
  measure(o, o.namesrv, r.mode, {}, r, {}, {});
  return r;
}

}  // namespace

int run_compare(int argc, char** argv) {
  CompareOptions o;
  Args args(argc, argv, 2);
  std::optional<std::string> s;
  std::optional<int64_t> n;
  while (args.next()) {
    const std::string& a = args.option();
    if (a == "--help" || a == "-h") {
      return compare_help();
    } else if (a == "--modes" && (s = args.value())) {
      auto modes = parse_modes(*s);
      if (!modes.is_ok()) return usage(modes.status().message());
      o.modes = std::move(*modes);
    } else if (a == "--msg-size" && (n = args.count())) {
      o.size = static_cast<size_t>(*n);
    } else if (a == "--messages" && (n = args.count())) {
      o.messages = static_cast<uint64_t>(*n);
    } else if (a == "--producers" && (n = args.count())) {
      o.producers = static_cast<int>(*n);
    } else if (a == "--inflight" && (n = args.count())) {
      o.inflight = static_cast<int>(*n);
    } else if (a == "--rate" && (n = args.count())) {
      o.rate = static_cast<double>(*n);
    } else if (a == "--warmup" && (n = args.count())) {
      o.warmup = *n;
    } else if (a == "--topics" && (n = args.count(1))) {
      o.topics = static_cast<int>(*n);
    } else if (a == "--queues-per-topic" && (n = args.count(1))) {
      o.queues = static_cast<int>(*n);
    } else if (a == "--failover") {
      o.failover = true;
    } else if ((a == "--namesrv" || a == "-n") && (s = args.value())) {
      o.namesrv = *s;
    } else if (a == "--out" && (s = args.value())) {
      o.out = *s;
    } else if (a == "--bin-dir" && (s = args.value())) {
      o.bin_dir = *s;
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--broker" && (s = args.value())) {
      if (s->find('=') == std::string::npos) return usage("--broker takes key=value, not " + *s);
      o.broker_args.push_back(*s);
    } else if (a == "--send-timeout-ms" && (n = args.count())) {
      o.send_timeout = std::chrono::milliseconds(*n);
    } else if (a == "--protocol" && (s = args.value())) {
      auto p = parse_protocol(*s);
      if (!p) return usage("--protocol is native or rocketmq, not " + *s);
      o.protocol = *p;
    } else if (auto taken = parse_security_option(args, o.security); taken != OptionTaken::kNo) {
      if (taken == OptionTaken::kBad) return usage(args.bad());
    } else {
      return usage(args.bad());
    }
  }
  if (o.size < kMinBodySize || o.size > client::Producer::kDefaultMaxMessageSize) {
    return usage(fmt::format("--msg-size must be {}..{} bytes", kMinBodySize,
                             client::Producer::kDefaultMaxMessageSize));
  }
  if (o.messages == 0 || o.producers <= 0 || o.inflight <= 0 || o.send_timeout.count() <= 0) {
    return usage("--messages, --producers, --inflight and --send-timeout-ms must be positive");
  }
  if (o.messages < static_cast<uint64_t>(o.producers)) {
    return usage("--messages must be at least --producers");
  }
  if (!o.namesrv.empty() && o.failover) {
    return usage("--failover needs the local clusters (it kills brokers): drop --namesrv");
  }

  auto security = prepare_security(o.security, o.namesrv.empty(), "compare");
  if (!security.is_ok()) return usage(security.status().message());
  const ScopedBenchSecurity secured(std::move(*security), o.keep);

  std::vector<ModeResult> results;
  if (!o.namesrv.empty()) {
    results.push_back(run_external(o));
  } else {
    auto bin = Binaries::find(o.bin_dir);
    if (!bin.is_ok()) {
      std::cerr << "comet-bench compare: " << bin.status().message() << "\n";
      return 2;
    }
    for (Mode m : o.modes)
      results.push_back(run_local(o, *bin, m));
  }

  const std::string label = bench_security().label();
  const std::string workload = fmt::format(
      "{} messages of {} B, {} producer(s) x {} in flight{}{}{}", o.messages, o.size, o.producers,
      o.inflight,
      o.topics > 1 ? fmt::format(", over {} topics of {} queues", o.topics, o.queues) : "",
      o.failover ? ", failover drill at half way" : "", label.empty() ? "" : ", " + label);
  std::printf("\ncomet-bench compare: %s\n\n%s\n", workload.c_str(),
              markdown_table(results).c_str());
  for (const auto& r : results) {
    if (r.failover) std::printf("%s drill: %s\n", r.mode.c_str(), r.failover->drill.c_str());
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  const std::filesystem::path out(o.out);
  Status written = write_file(out / "results.csv", to_csv(results));
  if (written.is_ok()) written = write_file(out / "results.json", to_json(results, workload));
  if (written.is_ok()) {
    written = write_file(out / "chart.svg", to_svg(results, "comet-bench compare", workload));
  }
  if (!written.is_ok()) {
    std::cerr << "comet-bench compare: " << written.to_string() << "\n";
    return 1;
  }
  std::printf("\nwrote %s/results.csv, results.json, chart.svg\n", o.out.c_str());
  bool all = true;
  for (const auto& r : results) {
    all = all && r.passed() && (o.failover || (r.failed == 0 && r.unconfirmed == 0));
  }
  return all ? 0 : 1;
}

}  // namespace comet::bench
