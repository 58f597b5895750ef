#include "bench/scale.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_cluster.h"
#include "bench/bench_security.h"
#include "bench/disk_budget.h"
#include "bench/report.h"
#include "bench/scale_report.h"
#include "bench/topic_spread.h"
#include "bench/workload.h"
#include "common/args.h"
#include "common/process_usage.h"
#include "consumer/pull_consumer.h"
#include "producer/producer.h"

namespace comet::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct ScaleOptions {
  std::vector<int> topics_list = {1, 100, 1000, 10000};
  int queues_per_topic = 8;
  size_t size = 1024;
  uint64_t messages = 0;  // 0: 4 per queue at the largest topic count, at least 100,000
  int producers = 1;
  int inflight = 256;
  double disk_budget_gb = 0;  // 0: 20 GB or half the free space, whichever is less
  std::string out = "comet-scale";
  std::string bin_dir;
  bool keep = false;
  std::vector<std::string> broker_args;
};

constexpr const char* kScaleUsage =
    "usage: comet-bench scale [--topics-list 1,100,1000,10000] [--queues-per-topic Q]\n"
    "                         [--msg-size B] [--messages M] [--producers P] [--inflight K]\n"
    "                         [--disk-budget-gb G] [--broker key=value]... [--out DIR]\n"
    "                         [--bin-dir DIR] [--keep]\n"
    "For each topic count a fresh broker: creates the topics, sends M messages over every queue,\n"
    "then reads the broker's memory, descriptors and mappings, the store's disk, and restarts it\n"
    "(time to serving, and the same figures again). Prints a table; writes results.csv,\n"
    "results.json and scale-chart.svg to --out.\n";

int usage(const std::string& why) {
  if (!why.empty()) std::cerr << "comet-bench scale: " << why << "\n";
  std::cerr << kScaleUsage;
  return 2;
}

constexpr uint64_t kGB = 1000ull * 1000 * 1000;
constexpr int kProbeQueues = 8;

// Serving again after a restart: a pull of a queue of `topic` that holds messages returns them
// (at most 32, from its first offset), and a send succeeds.
Status serves(const std::string& namesrv, const std::string& topic) {
  client::ClientConfig cfg = bench_client_config(namesrv);
  cfg.client_id = client_id("scale-restart");
  client::PullConsumer consumer("comet-bench-scale", cfg);
  COMET_RETURN_IF_ERROR(consumer.start());
  Status result = Status::not_found("no queue of " + topic + " holds a message after the restart");
  auto queues = consumer.fetch_subscribe_message_queues(topic);
  if (!queues.is_ok()) result = queues.status();
  for (size_t i = 0; queues.is_ok() && i < queues->size(); ++i) {
    const client::MessageQueue& mq = (*queues)[i];
    auto max = consumer.max_offset(mq);
    if (!max.is_ok()) {
      result = max.status();
      break;
    }
    if (*max == 0) continue;
    auto pulled = consumer.pull(mq, "*", 0, 32);
    if (!pulled.is_ok()) {
      result = pulled.status();
    } else if (pulled->msgs.size() != std::min<uint64_t>(*max, 32)) {
      result = Status::corruption(fmt::format("{} holds {} messages, a pull returned {}",
                                              mq.to_string(), *max, pulled->msgs.size()));
    } else {
      result = Status::ok();
    }
    break;
  }
  consumer.shutdown();
  COMET_RETURN_IF_ERROR(result);
  return first_send(namesrv, topic);
}

SendOptions send_options(const ScaleOptions& o) {
  SendOptions so;
  so.producers = o.producers;
  so.inflight = o.inflight;
  return so;
}

BodyMaker body_maker(const ScaleOptions& o) {
  std::random_device rd;
  return BodyMaker(o.size, (uint64_t{rd()} << 32) | rd());
}

// Not reported: a fifth of the messages (at most 50,000) to a topic of its own, so that the
// timed sends find the CommitLog's first segment faulted in and the connections made, as
// compare's warm-up does; its one queue adds one ConsumeQueue to every row alike.
Status warm_up(const ScaleOptions& o, const std::string& namesrv, const std::string& master) {
  const std::string topic = "ScaleWarmup";
  COMET_RETURN_IF_ERROR(create_topic(namesrv, {master}, topic, 1));
  COMET_RETURN_IF_ERROR(first_send(namesrv, topic));
  const uint64_t messages = std::min<uint64_t>(o.messages / 5, 50000);
  SendStats stats;
  return run_sends(send_options(o), namesrv, topic,
                   std::max<uint64_t>(1, messages / static_cast<uint64_t>(o.producers)),
                   body_maker(o), nullptr, stats, nullptr, "warm-up", {}, /*paced=*/false);
}

// What a queue holding a message costs the store in ConsumeQueue disk: one message to each queue
// of a topic of its own, each read back (a long poll: so it is indexed), then the disk under the
// topic's directory, per queue. A store that fallocates a file per queue shows its cost here at
// once; a sparse one shows at most a block per queue (0 before its first flush).
Result<uint64_t> consume_queue_bytes_per_queue(const std::string& namesrv,
                                               const std::string& master,
                                               const std::string& store) {
  const std::string topic = "ScaleProbe";
  COMET_RETURN_IF_ERROR(create_topic(namesrv, {master}, topic, kProbeQueues));
  client::ClientConfig cfg = bench_client_config(namesrv);
  cfg.client_id = client_id("scale-probe");
  client::Producer producer("comet-bench-scale", cfg);
  COMET_RETURN_IF_ERROR(producer.start());
  auto queues = producer.fetch_publish_queues(topic);
  Status s = queues.status();
  for (size_t i = 0; s.is_ok() && i < queues->size(); ++i)
    s = producer.send(client::ProducerMessage{topic, "probe", "probe", "", {}, 0}, (*queues)[i])
            .status();
  producer.shutdown();
  COMET_RETURN_IF_ERROR(s);
  client::PullConsumer consumer("comet-bench-scale", cfg);
  COMET_RETURN_IF_ERROR(consumer.start());
  for (size_t i = 0; s.is_ok() && i < queues->size(); ++i) {
    auto pulled = consumer.pull_block_if_not_found((*queues)[i], "*", 0, 1);
    s = pulled.is_ok() && pulled->msgs.empty()
            ? Status::timeout("the probe's message in " + (*queues)[i].to_string() +
                              " was not indexed")
            : pulled.status();
  }
  consumer.shutdown();
  COMET_RETURN_IF_ERROR(s);
  return disk_bytes_under(store + "/consumequeue/" + topic) / queues->size();
}

// The sends of one row: fills msgs/s, p99, acked and failed; `stop` ends them early.
Status measure_sends(const ScaleOptions& o, const std::string& namesrv, const TopicSet& topics,
                     uint64_t messages, const std::atomic<bool>& stop, ScaleResult& r) {
  const SendOptions so = send_options(o);
  const BodyMaker maker = body_maker(o);
  const uint64_t per_producer =
      std::max<uint64_t>(1, messages / static_cast<uint64_t>(o.producers));
  SendStats stats;
  COMET_RETURN_IF_ERROR(run_sends(so, namesrv, topics, per_producer, maker, nullptr, stats, nullptr,
                                  fmt::format("{} topics", topics.size()), {},
                                  /*paced=*/false, &stop));
  r.messages = stats.completed.load();
  r.acked = stats.acked.load();
  r.failed = stats.failed.load() + stats.unconfirmed.load();
  r.msgs_per_s = static_cast<double>(r.acked) / stats.seconds;
  r.p99_ms = static_cast<double>(stats.hist->percentile_us(0.99)) / 1000.0;
  for (const auto& [what, n] : stats.errors)
    std::cerr << fmt::format("  {} topics: {} x {}\n", topics.size(), n, what);
  return Status::ok();
}

// The restart: SIGTERM, the store counted at rest, the broker started again on it and timed
// until it serves, then read from /proc.
Status measure_restart(BenchCluster& c, const std::string& first_topic, ScaleResult& r) {
  c.terminate(0, 120s);
  const std::string store = c.store_dir(0);
  const uint64_t commitlog = disk_bytes_under(store + "/commitlog");
  r.commitlog_disk_bytes = commitlog;
  r.disk_beyond_commitlog_bytes = disk_bytes_under(store) - commitlog;
  const auto start = Clock::now();
  COMET_RETURN_IF_ERROR(c.restart(0));
  COMET_RETURN_IF_ERROR(serves(c.namesrv_addr(), first_topic));
  r.restart_s = std::chrono::duration<double>(Clock::now() - start).count();
  r.restarted = read_process_usage(c.broker_pid(0));
  return Status::ok();
}

// Creates the row's topics, timed, with the broker's and the name server's CPU meanwhile.
Status create_row_topics(const ScaleOptions& o, BenchCluster& c, const TopicSet& topics,
                         ScaleResult& r) {
  const auto start = Clock::now();
  const double broker_cpu = process_cpu_seconds(c.broker_pid(0));
  const double namesrv_cpu = process_cpu_seconds(c.namesrv_pid());
  Status s = create_topics(c.namesrv_addr(), {c.master_addr()}, topics, o.queues_per_topic);
  r.create_s = std::chrono::duration<double>(Clock::now() - start).count();
  r.create_broker_cpu_s = process_cpu_seconds(c.broker_pid(0)) - broker_cpu;
  r.create_namesrv_cpu_s = process_cpu_seconds(c.namesrv_pid()) - namesrv_cpu;
  std::cerr << fmt::format(
      "{} topics: created in {:.1f} s; CPU: broker {:.1f} s, name server "
      "{:.1f} s\n",
      topics.size(), r.create_s, r.create_broker_cpu_s, r.create_namesrv_cpu_s);
  return s;
}

// The warm-up, the probe of what a queue costs, then the timed sends (as many as the disk
// budget affords), watched by the budget.
Status send_row(const ScaleOptions& o, BenchCluster& c, const TopicSet& topics,
                uint64_t budget_bytes, const std::string& dir, ScaleResult& r) {
  COMET_RETURN_IF_ERROR(warm_up(o, c.namesrv_addr(), c.master_addr()));
  COMET_ASSIGN_OR_RETURN(
      const uint64_t per_queue,
      consume_queue_bytes_per_queue(c.namesrv_addr(), c.master_addr(), c.store_dir(0)));
  COMET_RETURN_IF_ERROR(first_send(c.namesrv_addr(), topics[0]));
  const uint64_t queues = topics.size() * static_cast<uint64_t>(o.queues_per_topic);
  const uint64_t messages = affordable_messages(o.messages, queues, per_queue, budget_bytes);
  if (messages < o.messages) {
    r.stopped = fmt::format(
        "sent {} of {} messages: a queue with data costs {} KiB of ConsumeQueue (probe), {} "
        "would take {:.1f} GB, over half the {:.0f} GB disk budget",
        messages, o.messages, per_queue / 1024, std::min(o.messages, queues),
        static_cast<double>(per_queue * std::min(o.messages, queues)) / kGB,
        static_cast<double>(budget_bytes) / kGB);
  }
  std::atomic<bool> stop{false};
  DiskFallWatch watch(dir, budget_bytes, stop);
  COMET_RETURN_IF_ERROR(measure_sends(o, c.namesrv_addr(), topics, messages, stop, r));
  if (watch.exceeded()) {
    r.stopped = fmt::format("sends stopped after {} of {}: the free disk fell by {:.0f} GB",
                            r.messages, messages, static_cast<double>(budget_bytes) / kGB);
  }
  return Status::ok();
}

ScaleResult run_row(const ScaleOptions& o, const Binaries& bin, int n, uint64_t budget_bytes) {
  ScaleResult r;
  r.topics = n;
  r.queues_per_topic = o.queues_per_topic;
  auto run_dir = make_run_dir("scale");
  if (!run_dir.is_ok()) {
    r.error = run_dir.status().to_string();
    return r;
  }
  const std::string dir = *run_dir;
  const std::string label = fmt::format("{} topics", n);
  auto cluster = BenchCluster::start(Mode::kSingle, bin, dir, o.broker_args, 60s);
  if (!cluster.is_ok()) {
    r.error = "cluster: " + cluster.status().to_string();
    finish_run_dir(dir, true, label);
    return r;
  }
  BenchCluster& c = **cluster;
  r.idle = read_process_usage(c.broker_pid(0));
  const TopicSet topics = TopicSet::spread("ScaleTopic", n);
  Status s = create_row_topics(o, c, topics, r);
  if (s.is_ok()) s = send_row(o, c, topics, budget_bytes, dir, r);
  if (s.is_ok()) {
    r.loaded = read_process_usage(c.broker_pid(0));
    s = measure_restart(c, topics[0], r);
  }
  if (!s.is_ok()) r.error = s.to_string();
  c.stop();
  cluster->reset();
  if (!r.error.empty()) print_log_excerpts(dir, label);
  finish_run_dir(dir, o.keep, label);  // a failed row's log excerpts are printed above
  return r;
}

Result<std::vector<int>> parse_topics_list(const std::string& list) {
  std::vector<int> out;
  for (const auto& item : split_commas(list)) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > 1000000) {
      return Status::invalid_argument("--topics-list takes counts 1..1000000, not '" + item + "'");
    }
    out.push_back(static_cast<int>(v));
  }
  return out;
}

// Reads argv[2..] into `o`; returns 0, or the exit code of a usage error (-1: --help shown).
int parse(int argc, char** argv, ScaleOptions& o) {
  Args args(argc, argv, 2);
  std::optional<std::string> s;
  std::optional<int64_t> n;
  std::optional<double> g;
  while (args.next()) {
    const std::string& a = args.option();
    if (a == "--help" || a == "-h") {
      std::cout << kScaleUsage;
      return -1;
    } else if (a == "--topics-list" && (s = args.value())) {
      auto list = parse_topics_list(*s);
      if (!list.is_ok()) return usage(list.status().message());
      o.topics_list = std::move(*list);
    } else if (a == "--queues-per-topic" && (n = args.count(1))) {
      o.queues_per_topic = static_cast<int>(*n);
    } else if (a == "--msg-size" && (n = args.count(1))) {
      o.size = static_cast<size_t>(*n);
    } else if (a == "--messages" && (n = args.count(1))) {
      o.messages = static_cast<uint64_t>(*n);
    } else if (a == "--producers" && (n = args.count(1))) {
      o.producers = static_cast<int>(*n);
    } else if (a == "--inflight" && (n = args.count(1))) {
      o.inflight = static_cast<int>(*n);
    } else if (a == "--disk-budget-gb" && (g = args.real(0.001))) {
      o.disk_budget_gb = *g;
    } else if (a == "--broker" && (s = args.value())) {
      if (s->find('=') == std::string::npos) return usage("--broker takes key=value, not " + *s);
      o.broker_args.push_back(*s);
    } else if (a == "--out" && (s = args.value())) {
      o.out = *s;
    } else if (a == "--bin-dir" && (s = args.value())) {
      o.bin_dir = *s;
    } else if (a == "--keep") {
      o.keep = true;
    } else {
      return usage(args.bad());
    }
  }
  if (o.size < kMinBodySize || o.size > client::Producer::kDefaultMaxMessageSize) {
    return usage(fmt::format("--msg-size must be {}..{} bytes", kMinBodySize,
                             client::Producer::kDefaultMaxMessageSize));
  }
  if (o.messages == 0) {
    const int most = *std::max_element(o.topics_list.begin(), o.topics_list.end());
    o.messages = std::max<uint64_t>(
        100000, 4ull * static_cast<uint64_t>(most) * static_cast<uint64_t>(o.queues_per_topic));
  }
  if (o.messages < static_cast<uint64_t>(o.producers)) {
    return usage("--messages must be at least --producers");
  }
  return 0;
}

}  // namespace

int run_scale(int argc, char** argv) {
  ScaleOptions o;
  if (int bad = parse(argc, argv, o); bad != 0) return bad < 0 ? 0 : bad;
  auto bin = Binaries::find(o.bin_dir);
  if (!bin.is_ok()) {
    std::cerr << "comet-bench scale: " << bin.status().message() << "\n";
    return 2;
  }
  const uint64_t free_bytes = free_disk_bytes(std::filesystem::temp_directory_path().string());
  const uint64_t budget = o.disk_budget_gb > 0 ? static_cast<uint64_t>(o.disk_budget_gb * kGB)
                                               : std::min<uint64_t>(20 * kGB, free_bytes / 2);
  std::vector<ScaleResult> results;
  for (int n : o.topics_list)
    results.push_back(run_row(o, *bin, n, budget));

  const std::string workload = fmt::format(
      "{} messages of {} B over N topics x {} queues, {} producer(s) x {} in flight, one broker",
      o.messages, o.size, o.queues_per_topic, o.producers, o.inflight);
  std::printf("\ncomet-bench scale: %s\n\n%s\n", workload.c_str(),
              scale_markdown_table(results).c_str());
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  const std::filesystem::path out(o.out);
  Status written = write_file(out / "results.csv", scale_csv(results));
  if (written.is_ok()) written = write_file(out / "results.json", scale_json(results, workload));
  if (written.is_ok()) written = write_file(out / "scale-chart.svg", scale_svg(results, workload));
  if (!written.is_ok()) {
    std::cerr << "comet-bench scale: " << written.to_string() << "\n";
    return 1;
  }
  std::printf("\nwrote %s/results.csv, results.json, scale-chart.svg\n", o.out.c_str());
  bool all = true;
  for (const auto& r : results)
    all = all && r.error.empty() && r.failed == 0;
  return all ? 0 : 1;
}

}  // namespace comet::bench
