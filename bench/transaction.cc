#include "bench/transaction.h"
#include "bench/bench_security.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "admin/admin_client.h"
#include "bench/bench_cluster.h"
#include "bench/latency_histogram.h"
#include "bench/round_stats.h"
#include "bench/workload.h"
#include "common/args.h"
#include "consumer/pull_consumer.h"
#include "producer/transaction_producer.h"

namespace comet::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kSendTopic = "TxnBenchSends";
constexpr const char* kProbeTopic = "TxnBenchProbe";
constexpr const char* kStormGroup = "comet-bench-txn-storm";

struct TxnOptions {
  Mode mode = Mode::kSingle;
  int rounds = 5;
  int seconds = 5;
  int senders = 16;
  size_t size = 1024;
  uint64_t storm = 0;  // open transactions of the check storm; 0: no storm
  int storm_seconds = 10;
  double probe_rate = 200;
  int64_t txn_timeout_ms = 1000;
  int64_t check_interval_ms = 1000;
  std::vector<std::string> broker_args;
  std::string bin_dir;
  bool keep = false;
  bool json = false;
};

constexpr const char* kTxnUsage =
    "usage: comet-bench transaction [--rounds R] [--seconds S] [--senders T] [--msg-size B]\n"
    "                               [--check-storm N] [--storm-seconds S] [--probe-rate P]\n"
    "                               [--txn-timeout-ms MS] [--check-interval-ms MS]\n"
    "                               [--mode single] [--broker key=value]... [--bin-dir DIR]\n"
    "                               [--keep] [--json]\n"
    "On a fresh cluster (one broker unless --mode async, sync or dledger): R rounds each of plain\n"
    "synchronous sends and of transactional sends (half message, commit, END_TRANSACTION) for\n"
    "S seconds with T sender threads, alternated; their medians and ratio (target:\n"
    "transactional >= 50 % of plain). With --check-storm N: a probe sends and pulls P times a\n"
    "second for --storm-seconds while idle, then while N open transactions whose producer is\n"
    "gone are checked (brokers get transactionTimeOut and transactionCheckInterval, 1000 ms by\n"
    "default): send and pull p50/p99 idle and during the storm (target: within 2x).\n"
    "Exit status 0 when every round and probe ran.\n";

int txn_usage(const std::string& why) {
  if (!why.empty()) std::cerr << "comet-bench transaction: " << why << "\n";
  std::cerr << kTxnUsage;
  return 2;
}

// A local transaction that always reaches `state`, and a check that answers the same.
class FixedListener : public client::TransactionListener {
 public:
  explicit FixedListener(client::LocalTransactionState state) : state_(state) {}
  client::LocalTransactionState execute_local_transaction(const client::ProducerMessage&,
                                                          const std::any&) override {
    return state_;
  }
  client::LocalTransactionState check_local_transaction(const client::MessageExt&) override {
    return state_;
  }

 private:
  const client::LocalTransactionState state_;
};

client::ClientConfig config_for(const std::string& namesrv, const std::string& what) {
  client::ClientConfig cfg = bench_client_config(namesrv);
  cfg.client_id = client_id(what);
  return cfg;
}

client::ProducerMessage bench_message(const std::string& topic, size_t size) {
  client::ProducerMessage m;
  m.topic = topic;
  m.body.assign(size, 'x');
  return m;
}

struct RoundCount {
  uint64_t ok = 0, failed = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
};

// `senders` threads call `send` (true: acknowledged) until `length` has passed, or `until_count`
// calls were made in all when it is not 0.
template <typename Send>
RoundCount run_senders(int senders, std::chrono::milliseconds length, uint64_t until_count,
                       const Send& send) {
  std::atomic<uint64_t> ok{0}, failed{0}, started{0};
  const auto begin = Clock::now();
  const auto deadline = begin + length;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(senders));
  for (int t = 0; t < senders; ++t) {
    threads.emplace_back([&] {
      while (Clock::now() < deadline) {
        if (until_count > 0 && started.fetch_add(1) >= until_count) break;
        (send() ? ok : failed).fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& t : threads)
    t.join();
  RoundCount r;
  r.ok = ok.load();
  r.failed = failed.load();
  r.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  return r;
}

struct Throughput {
  std::vector<double> plain, txn;  // msgs/s per round, in run order
  uint64_t failed = 0;
  double ratio() const {
    const double p = median_of(plain);
    return p > 0 ? median_of(txn) / p : 0;
  }
  // The median of each round pair's ratio: a pair runs back to back, so it shares the machine's
  // load of the moment, which moves single rounds by far more than the difference measured.
  double paired_ratio() const {
    std::vector<double> r;
    for (size_t i = 0; i < plain.size() && i < txn.size(); ++i) {
      if (plain[i] > 0) r.push_back(txn[i] / plain[i]);
    }
    return median_of(r);
  }
};

Result<Throughput> measure_throughput(const TxnOptions& o, const std::string& namesrv) {
  client::Producer plain("comet-bench-txn-plain", config_for(namesrv, "txn-plain"));
  COMET_RETURN_IF_ERROR(plain.start());
  client::TransactionProducer txn(
      "comet-bench-txn", config_for(namesrv, "txn"),
      std::make_shared<FixedListener>(client::LocalTransactionState::kCommitMessage));
  if (Status s = txn.start(); !s.is_ok()) {
    plain.shutdown();
    return s;
  }
  const client::ProducerMessage msg = bench_message(kSendTopic, o.size);
  auto plain_send = [&] { return plain.send(msg).is_ok(); };
  // send_in_transaction does not wait for the END's answer (RocketMQ sends it oneway): a round
  // counts the transactions sent, and then waits for every END's answer, counting refusals.
  std::mutex ends_mu;
  std::vector<std::shared_future<Status>> ends;
  auto txn_send = [&] {
    auto r = txn.send_in_transaction(msg);
    if (!r.is_ok() || r->local_state != client::LocalTransactionState::kCommitMessage) return false;
    std::lock_guard lock(ends_mu);
    ends.push_back(r->end);
    return true;
  };
  auto ends_refused = [&] {
    std::lock_guard lock(ends_mu);
    const auto refused =
        std::count_if(ends.begin(), ends.end(), [](const auto& end) { return !end.get().is_ok(); });
    ends.clear();
    return static_cast<uint64_t>(refused);
  };
  const std::chrono::milliseconds length(int64_t{o.seconds} * 1000);
  // One round of each first, not counted: the first sends of a fresh broker fault its segment in.
  run_senders(o.senders, length, 0, plain_send);
  run_senders(o.senders, length, 0, txn_send);
  (void)ends_refused();
  Throughput r;
  for (int i = 0; i < o.rounds; ++i) {
    const RoundCount p = run_senders(o.senders, length, 0, plain_send);
    const RoundCount t = run_senders(o.senders, length, 0, txn_send);
    r.plain.push_back(p.rate());
    r.txn.push_back(t.rate());
    r.failed += p.failed + t.failed + ends_refused();
    if (!o.json) {
      std::cout << fmt::format("  round {}: plain {:.0f} msgs/s, transactional {:.0f} msgs/s\n",
                               i + 1, p.rate(), t.rate())
                << std::flush;
    }
  }
  txn.shutdown();
  plain.shutdown();
  return r;
}

struct ProbeResult {
  uint64_t probes = 0, failed = 0;
  double send_p50_ms = 0, send_p99_ms = 0, pull_p50_ms = 0, pull_p99_ms = 0;
};

// Sends one message and pulls it back, `rate` times a second for `length`: the latency a client
// of the broker sees.
ProbeResult probe(const TxnOptions& o, client::Producer& producer, client::PullConsumer& consumer,
                  std::chrono::milliseconds length) {
  LatencyHistogram send_hist, pull_hist;
  ProbeResult r;
  const client::ProducerMessage msg = bench_message(kProbeTopic, 128);
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / std::max(1.0, o.probe_rate)));
  const auto deadline = Clock::now() + length;
  for (auto next = Clock::now(); next < deadline; next += period) {
    std::this_thread::sleep_until(next);  // the probe's pace, not a wait for another thread
    ++r.probes;
    const auto t0 = Clock::now();
    auto sent = producer.send(msg);
    const auto t1 = Clock::now();
    if (!sent.is_ok()) {
      ++r.failed;
      continue;
    }
    send_hist.record(t1 - t0);
    const client::MessageQueue mq{kProbeTopic, sent->broker_name, sent->queue_id};
    auto pulled = consumer.pull_block_if_not_found(mq, "*", sent->queue_offset, 1);
    if (!pulled.is_ok() || pulled->status != client::PullStatus::kFound) {
      ++r.failed;
      continue;
    }
    pull_hist.record(Clock::now() - t1);
  }
  r.send_p50_ms = ms_of(send_hist.percentile_us(0.50));
  r.send_p99_ms = ms_of(send_hist.percentile_us(0.99));
  r.pull_p50_ms = ms_of(pull_hist.percentile_us(0.50));
  r.pull_p99_ms = ms_of(pull_hist.percentile_us(0.99));
  return r;
}

struct Storm {
  ProbeResult idle, storm;
  uint64_t opened = 0, open_failed = 0;
  double open_seconds = 0;
  int64_t open_at_end = -1;     // the broker's count of open transactions of the storm's group
  int32_t oldest_checks = -1;   // how often the broker checked the oldest of them
  std::string open_list_error;  // why the broker could not say
  double ratio(double storm_ms, double idle_ms) const {
    return idle_ms > 0 ? storm_ms / idle_ms : 0;
  }
};

// N transactions left open: the local transaction answers "unknown", then the producer leaves.
RoundCount open_transactions(const TxnOptions& o, const std::string& namesrv) {
  client::TransactionProducer storm(
      kStormGroup, config_for(namesrv, "txn-storm"),
      std::make_shared<FixedListener>(client::LocalTransactionState::kUnknow));
  if (Status s = storm.start(); !s.is_ok()) {
    std::cerr << "transaction: storm producer: " << s.to_string() << "\n";
    return {};
  }
  const client::ProducerMessage msg = bench_message(kSendTopic, o.size);
  const RoundCount r = run_senders(o.senders, 10min, o.storm,
                                   [&] { return storm.send_in_transaction(msg).is_ok(); });
  storm.shutdown();
  return r;
}

Result<Storm> measure_storm(const TxnOptions& o, const BenchCluster& c) {
  const std::string& namesrv = c.namesrv_addr();
  client::Producer producer("comet-bench-txn-probe", config_for(namesrv, "txn-probe"));
  COMET_RETURN_IF_ERROR(producer.start());
  client::PullConsumer consumer("comet-bench-txn-probe", config_for(namesrv, "txn-probe-pull"));
  if (Status s = consumer.start(); !s.is_ok()) {
    producer.shutdown();
    return s;
  }
  consumer.set_broker_suspend_max_time(2s);
  const std::chrono::milliseconds length(int64_t{o.storm_seconds} * 1000);
  Storm r;
  r.idle = probe(o, producer, consumer, length);
  const RoundCount opened = open_transactions(o, namesrv);
  r.opened = opened.ok;
  r.open_failed = opened.failed;
  r.open_seconds = opened.seconds;
  // The last of them is due transactionTimeOut after it was sent; the first check round follows
  // within a check interval.
  wait_out(std::chrono::milliseconds(o.txn_timeout_ms + o.check_interval_ms));
  r.storm = probe(o, producer, consumer, length);
  admin::AdminClient admin(bench_admin_config(namesrv), 5s);
  auto open = admin.open_transactions(c.master_addr(), kStormGroup, 1);
  if (open.is_ok()) {
    r.open_at_end = open->total;
    if (!open->entries.empty() && open->entries[0]) {
      r.oldest_checks = open->entries[0]->check_times;
    }
  } else {
    r.open_list_error = open.status().to_string();
  }
  consumer.shutdown();
  producer.shutdown();
  return r;
}

void print_table(const TxnOptions& o, const std::optional<Throughput>& t,
                 const std::optional<Storm>& s) {
  std::cout << fmt::format("\ntransaction: {} ({}), {} B bodies, {} sender threads\n",
                           mode_name(o.mode), mode_layout(o.mode), o.size, o.senders);
  if (t) {
    const double ratio = t->ratio();
    std::cout << fmt::format(
        "\n| sends | rounds of {} s | msgs/s median | range |\n|---|--:|--:|--:|\n"
        "| plain sync | {} | {:.0f} | {} |\n| transactional (half + commit) | {} | {:.0f} | {} |\n"
        "| transactional / plain | | {:.1f} % | target >= 50 %: {} |\n"
        "| median of the round pairs' ratios | | {:.1f} % | |\n",
        o.seconds, t->plain.size(), median_of(t->plain), range_of(t->plain), t->txn.size(),
        median_of(t->txn), range_of(t->txn), ratio * 100, ratio >= 0.5 ? "met" : "MISSED",
        t->paired_ratio() * 100);
    if (t->failed > 0) std::cout << fmt::format("  {} sends failed\n", t->failed);
  }
  if (s) {
    auto row = [&](const char* what, double idle, double storm) {
      const double ratio = s->ratio(storm, idle);
      return fmt::format("| {} | {:.2f} ms | {:.2f} ms | {:.2f}x | {} |\n", what, idle, storm,
                         ratio, ratio <= 2.0 ? "met" : "MISSED");
    };
    std::cout << fmt::format(
        "\ncheck storm: {} open transactions (opened in {:.1f} s, {} failed) whose producer is "
        "gone; transactionTimeOut {} ms, transactionCheckInterval {} ms; probe {:.0f}/s for {} s\n"
        "\n| latency | idle | storm | storm / idle | target <= 2x |\n|---|--:|--:|--:|---|\n",
        s->opened, s->open_seconds, s->open_failed, o.txn_timeout_ms, o.check_interval_ms,
        o.probe_rate, o.storm_seconds);
    std::cout << row("send p50", s->idle.send_p50_ms, s->storm.send_p50_ms)
              << row("send p99", s->idle.send_p99_ms, s->storm.send_p99_ms)
              << row("pull p50", s->idle.pull_p50_ms, s->storm.pull_p50_ms)
              << row("pull p99", s->idle.pull_p99_ms, s->storm.pull_p99_ms);
    std::cout << fmt::format("  probes: idle {} ({} failed), storm {} ({} failed)\n",
                             s->idle.probes, s->idle.failed, s->storm.probes, s->storm.failed);
    if (s->open_list_error.empty()) {
      std::cout << fmt::format("  at the end: {} still open, the oldest checked {} time(s)\n",
                               s->open_at_end, s->oldest_checks);
    } else {
      std::cout << "  open transactions: " << s->open_list_error << "\n";
    }
  }
}

std::string probe_json(const ProbeResult& p) {
  return fmt::format(
      "{{\"probes\":{},\"failed\":{},\"send_p50_ms\":{:.3f},\"send_p99_ms\":{:.3f},"
      "\"pull_p50_ms\":{:.3f},\"pull_p99_ms\":{:.3f}}}",
      p.probes, p.failed, p.send_p50_ms, p.send_p99_ms, p.pull_p50_ms, p.pull_p99_ms);
}

void print_json(const TxnOptions& o, const std::optional<Throughput>& t,
                const std::optional<Storm>& s) {
  std::string out =
      fmt::format("{{\"mode\":\"{}\",\"msg_size\":{},\"senders\":{},\"round_seconds\":{}",
                  mode_name(o.mode), o.size, o.senders, o.seconds);
  if (t) {
    out += fmt::format(
        ",\"throughput\":{{\"plain_msgs_per_s\":{},\"transactional_msgs_per_s\":{},"
        "\"plain_median\":{:.0f},\"transactional_median\":{:.0f},\"ratio\":{:.4f},"
        "\"paired_ratio\":{:.4f},\"failed\":{}}}",
        numbers_json(t->plain), numbers_json(t->txn), median_of(t->plain), median_of(t->txn),
        t->ratio(), t->paired_ratio(), t->failed);
  }
  if (s) {
    out += fmt::format(
        ",\"check_storm\":{{\"open\":{},\"open_failed\":{},\"open_seconds\":{:.2f},"
        "\"transaction_timeout_ms\":{},\"check_interval_ms\":{},\"idle\":{},\"storm\":{},"
        "\"open_at_end\":{},\"oldest_checks\":{}}}",
        s->opened, s->open_failed, s->open_seconds, o.txn_timeout_ms, o.check_interval_ms,
        probe_json(s->idle), probe_json(s->storm), s->open_at_end, s->oldest_checks);
  }
  std::cout << out << "}\n";
}

// A part "ran" when what it measured was measured at all.
bool throughput_ran(const Throughput& t) {
  return std::all_of(t.plain.begin(), t.plain.end(), [](double x) { return x > 0; }) &&
         std::all_of(t.txn.begin(), t.txn.end(), [](double x) { return x > 0; });
}

bool storm_ran(const TxnOptions& o, const Storm& s) {
  return s.opened == o.storm && s.open_list_error.empty() && s.idle.probes > 0 &&
         s.idle.failed < s.idle.probes && s.storm.probes > 0 && s.storm.failed < s.storm.probes;
}

int transaction(const TxnOptions& o, const Binaries& bin) {
  auto run_dir = make_run_dir("transaction");
  if (!run_dir.is_ok()) return txn_usage(run_dir.status().to_string());
  const std::string dir = *run_dir;
  auto cleanup = [&](int code) {
    finish_run_dir(dir, o.keep || code != 0, "transaction");
    return code;
  };
  std::vector<std::string> broker_args = {
      fmt::format("transactionTimeOut={}", o.txn_timeout_ms),
      fmt::format("transactionCheckInterval={}", o.check_interval_ms)};
  broker_args.insert(broker_args.end(), o.broker_args.begin(), o.broker_args.end());
  auto cluster = BenchCluster::start(o.mode, bin, dir, broker_args, 60s);
  if (!cluster.is_ok()) {
    std::cerr << "transaction: cluster: " << cluster.status().to_string() << "\n";
    print_log_excerpts(dir, "transaction");
    return cleanup(1);
  }
  BenchCluster& c = **cluster;
  Status s = bench::create_topic(c.namesrv_addr(), {c.master_addr()}, kSendTopic, 8);
  if (s.is_ok()) s = bench::create_topic(c.namesrv_addr(), {c.master_addr()}, kProbeTopic, 1);
  if (s.is_ok()) s = first_send(c.namesrv_addr(), kSendTopic);
  if (!s.is_ok()) {
    std::cerr << "transaction: setup: " << s.to_string() << "\n";
    return cleanup(1);
  }
  bool ok = true;
  std::optional<Throughput> throughput;
  if (o.rounds > 0) {
    auto t = measure_throughput(o, c.namesrv_addr());
    if (t.is_ok()) {
      ok = throughput_ran(*t);
      throughput = std::move(*t);
    } else {
      std::cerr << "transaction: throughput: " << t.status().to_string() << "\n";
      ok = false;
    }
  }
  std::optional<Storm> storm;
  if (o.storm > 0) {
    auto st = measure_storm(o, c);
    if (st.is_ok()) {
      ok = ok && storm_ran(o, *st);
      storm = std::move(*st);
    } else {
      std::cerr << "transaction: check storm: " << st.status().to_string() << "\n";
      ok = false;
    }
  }
  c.stop();
  if (o.json) {
    print_json(o, throughput, storm);
  } else {
    print_table(o, throughput, storm);
  }
  if (!ok) print_log_excerpts(dir, "transaction");
  return cleanup(ok ? 0 : 1);
}

}  // namespace

int run_transaction(int argc, char** argv) {
  TxnOptions o;
  Args args(argc, argv, 2);
  std::optional<std::string> s;
  std::optional<int64_t> n;
  std::optional<double> r;
  while (args.next()) {
    const std::string& a = args.option();
    if (a == "--help" || a == "-h") {
      std::cout << kTxnUsage;
      return 0;
    }
    if (a == "--mode" && (s = args.value())) {
      auto m = parse_mode(*s);
      if (!m.is_ok()) return txn_usage(m.status().message());
      o.mode = *m;
    } else if (a == "--rounds" && (n = args.count(0))) {
      o.rounds = static_cast<int>(*n);
    } else if (a == "--seconds" && (n = args.count(1))) {
      o.seconds = static_cast<int>(*n);
    } else if (a == "--senders" && (n = args.count(1))) {
      o.senders = static_cast<int>(*n);
    } else if (a == "--msg-size" && (n = args.count(1))) {
      o.size = static_cast<size_t>(*n);
    } else if (a == "--check-storm" && (n = args.count(0))) {
      o.storm = static_cast<uint64_t>(*n);
    } else if (a == "--storm-seconds" && (n = args.count(1))) {
      o.storm_seconds = static_cast<int>(*n);
    } else if (a == "--probe-rate" && (r = args.real(1))) {
      o.probe_rate = *r;
    } else if (a == "--txn-timeout-ms" && (n = args.count(1))) {
      o.txn_timeout_ms = *n;
    } else if (a == "--check-interval-ms" && (n = args.count(1))) {
      o.check_interval_ms = *n;
    } else if (a == "--broker" && (s = args.value())) {
      o.broker_args.push_back(*s);
    } else if (a == "--bin-dir" && (s = args.value())) {
      o.bin_dir = *s;
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--json") {
      o.json = true;
    } else {
      return txn_usage(args.bad());
    }
  }
  if (o.rounds == 0 && o.storm == 0) return txn_usage("--rounds 0 and no --check-storm");
  auto bin = Binaries::find(o.bin_dir);
  if (!bin.is_ok()) return txn_usage(bin.status().message());
  return transaction(o, *bin);
}

}  // namespace comet::bench
