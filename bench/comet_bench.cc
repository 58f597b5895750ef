// comet-bench: end-to-end benchmarks against a running cluster.
//
//   comet-bench produce -n <namesrv> [-t topic] [--messages N] [--size bytes] [--inflight K]
//                       [--batch B] [--producers P] [--rate msgs/s] [--protocol native|rocketmq]
//                       [--topics N [--queues-per-topic Q]] [--json]
//   comet-bench consume -n <namesrv> [-t topic] [-g group] [--messages N] [--threads T]
//                       [--timeout-s S] [--json]
//
// consume: a PushConsumer of a fresh group (so it starts at each queue's first offset) reads
// until N distinct messages arrived; the report gives throughput, redeliveries and whether every
// queue arrived in order.
//
// Sends N messages of `size` bytes from P producers, each keeping up to K requests in flight
// (async, pipelined), B messages per request; `--rate` paces the offered load (0 = as fast as
// possible). Every acknowledged request's latency goes into a histogram; the report gives
// throughput (msgs/s, MB/s), p50/p90/p99/p99.9/max and the error count. `--protocol rocketmq`
// sends RocketMQ 4.x SEND_MESSAGE_V2 requests (bench/rocketmq_producer.h) instead of comet's
// native ones, one message per request. `--topics N` spreads the requests round robin over
// <topic>-0 .. <topic>-(N-1), created first on every master with Q queues each (default 8), their
// routes loaded by every producer before the clock starts.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_producer.h"
#include "bench/bench_security.h"
#include "bench/chaos.h"
#include "bench/compare.h"
#include "bench/delay.h"
#include "bench/latency_histogram.h"
#include "bench/routes.h"
#include "bench/scale.h"
#include "bench/soak.h"
#include "bench/timers.h"
#include "bench/topic_spread.h"
#include "bench/transaction.h"
#include "bench/window.h"
#include "bench/workload.h"
#include "common/args.h"
#include "common/clock.h"
#include "common/logging.h"
#include "consumer/push_consumer.h"
#include "producer/producer.h"

namespace comet::bench {
namespace {

using Clock = std::chrono::steady_clock;

// The options every command takes.
struct CommonOptions {
  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "BenchTopic";
  uint64_t messages = 100000;
  bool json = false;
  SecurityOptions security;  // the cluster's account and TLS (bench/bench_security.h)
};

struct ProduceOptions : CommonOptions {
  size_t size = 1024;
  int inflight = 256;
  int batch = 1;
  int producers = 1;
  double rate = 0;
  Protocol protocol = Protocol::kNative;
  int topics = 1;  // > 1: <topic>-0 .. <topic>-(N-1), created before the run
  int queues_per_topic = 8;
};

struct ConsumeOptions : CommonOptions {
  std::string group;  // default: a fresh group per run
  int threads = 4;
  int timeout_s = 120;
};

constexpr const char* kUsage =
    "usage: comet-bench <command> [options]; comet-bench <command> --help for its options\n"
    "       comet-bench produce -n <namesrv> [-t topic] [--messages N] [--size bytes]\n"
    "                          [--inflight K] [--batch B] [--producers P] [--rate msgs/s]\n"
    "                          [--protocol native|rocketmq] [--topics N [--queues-per-topic Q]]\n"
    "                          [--json]\n"
    "         sends N messages to a running cluster; prints throughput and latency\n"
    "       comet-bench consume -n <namesrv> [-t topic] [-g group] [--messages N]"
    " [--threads T]\n"
    "                          [--timeout-s S] [--json]\n"
    "         reads N messages with a push consumer; prints throughput, redeliveries, reorders\n"
    "       produce and consume also take [--accessKey AK --secretKey SK | --credentials-file F]\n"
    "                          [--tls-ca F [--tls-cert F --tls-key F] [--tls-no-verify-hostname]]\n"
    "       comet-bench compare [--modes single,async,sync,dledger] [--messages N]"
    " [--failover] ...\n"
    "         the replication modes side by side on local clusters, every message verified\n"
    "       comet-bench chaos [--modes sync,dledger] [--cycles N] [--seed S] ...\n"
    "         a seeded schedule of faults against a local cluster, then every message checked\n"
    "       comet-bench soak [--mode sync] [--minutes M] [--load F] ...\n"
    "         a long run at a fraction of the probed maximum, judged for memory and latency"
    " drift\n"
    "       comet-bench delay [--rounds R] [--rate R] [--seconds S] [--delay-s D] ...\n"
    "         delayed sends against plain ones, and how late 50k msgs/s fall due on a local"
    " broker\n"

    "       comet-bench timers [--timers N] [--sample M] [--window W] [--bin-dir D] [--keep]\n"
    "         broker RSS with N pending timer messages, restart time, lateness of M falling due\n"
    "       comet-bench transaction [--rounds R] [--senders T] [--check-storm N] ...\n"
    "         transactional sends against plain ones, and latency during a storm of checks\n"
    "       comet-bench routes [--brokers B] [--topics T] [--connections C] [--seconds D] ...\n"
    "         a name server with B x T topics: route lookups, and its CPU between changes\n"
    "       comet-bench scale [--topics-list 1,100,1000,10000] [--queues-per-topic Q] ...\n"
    "         one broker with N topics: throughput, p99, RSS, descriptors, mappings, disk,"
    " restart\n";

int usage(const char* why) {
  if (why) std::cerr << "comet-bench: " << why << "\n";
  std::cerr << kUsage;
  return 2;
}

int help() {
  std::cout << kUsage;
  return 0;
}

// True when argv[first..] asks for help (--help or -h).
bool wants_help(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) return true;
  }
  return false;
}

// Reads argv[2..]: the common options into `common`, the command's own through
// `specific(args)`, which returns false for an option it does not know or whose value is bad.
// Returns 0, or usage()'s exit code.
template <typename Specific>
int parse_options(int argc, char** argv, CommonOptions& common, Specific specific) {
  Args args(argc, argv, 2);
  std::optional<std::string> s;
  std::optional<int64_t> n;
  while (args.next()) {
    const std::string& a = args.option();
    if (a == "-n" && (s = args.value())) {
      common.namesrv = *s;
    } else if (a == "-t" && (s = args.value())) {
      common.topic = *s;
    } else if (a == "--messages" && (n = args.count(1))) {
      common.messages = static_cast<uint64_t>(*n);
    } else if (a == "--json") {
      common.json = true;
    } else if (auto taken = parse_security_option(args, common.security);
               taken != OptionTaken::kNo) {
      if (taken == OptionTaken::kBad) return usage(args.bad().c_str());
    } else if (!specific(args)) {
      return usage(args.bad().c_str());
    }
  }
  return 0;
}

// The account and TLS settings of `o` for this process (an existing cluster's); nullopt and a
// usage message when they are bad.
std::optional<ScopedBenchSecurity> secure(const CommonOptions& o) {
  auto security = prepare_security(o.security, /*local=*/false, "");
  if (!security.is_ok()) {
    usage(security.status().message().c_str());
    return std::nullopt;
  }
  return std::optional<ScopedBenchSecurity>(std::in_place, std::move(*security), false);
}

int consume(const ConsumeOptions& o) {
  client::ClientConfig cfg = bench_client_config(o.namesrv);
  cfg.client_id = client::default_client_id() + "-consume";
  const std::string group = !o.group.empty()
                                ? o.group
                                : "comet-bench-" + std::to_string(SystemClock::instance().now_ms());
  client::PushConsumer consumer(group, cfg);
  if (Status s = consumer.subscribe(o.topic, "*"); !s.is_ok()) {
    std::cerr << "comet-bench: subscribe: " << s.to_string() << "\n";
    return 2;
  }
  consumer.set_consume_from_where(client::ConsumeFromWhere::kFirstOffset);
  consumer.set_consume_thread_count(o.threads);
  consumer.set_consume_message_batch_max_size(32);

  std::mutex mu;
  std::condition_variable cv;
  uint64_t distinct = 0, redelivered = 0, out_of_order = 0, bytes = 0;
  std::map<uint32_t, uint64_t> next_offset;  // queue → the offset expected next
  consumer.register_message_listener([&](const std::vector<client::MessageExt>& msgs) {
    std::lock_guard lock(mu);
    for (const auto& m : msgs) {
      auto [it, first] = next_offset.try_emplace(m.queue_id, m.queue_offset);
      if (m.queue_offset < it->second) {
        ++redelivered;
        continue;
      }
      if (m.queue_offset > it->second && !first) ++out_of_order;
      it->second = m.queue_offset + 1;
      ++distinct;
      bytes += m.body.size();
    }
    if (distinct >= o.messages) cv.notify_all();
    return client::ConsumeStatus::kSuccess;
  });
  const auto start = Clock::now();
  if (Status s = consumer.start(); !s.is_ok()) {
    std::cerr << "comet-bench: consumer start: " << s.to_string() << "\n";
    return 1;
  }
  bool complete = false;
  double secs = 0;
  {
    std::unique_lock lock(mu);
    complete = cv.wait_for(lock, std::chrono::seconds(o.timeout_s),
                           [&] { return distinct >= o.messages; });
    secs = std::chrono::duration<double>(Clock::now() - start).count();
  }
  consumer.shutdown();
  std::lock_guard lock(mu);
  const double rate = static_cast<double>(distinct) / secs;
  if (o.json) {
    std::printf(
        "{\"messages\":%llu,\"seconds\":%.3f,\"msgs_per_s\":%.0f,\"mb_per_s\":%.1f,"
        "\"redelivered\":%llu,\"out_of_order\":%llu,\"queues\":%zu,\"complete\":%s}\n",
        static_cast<unsigned long long>(distinct), secs, rate,
        static_cast<double>(bytes) / secs / 1e6, static_cast<unsigned long long>(redelivered),
        static_cast<unsigned long long>(out_of_order), next_offset.size(),
        complete ? "true" : "false");
  } else {
    std::printf("consume: %llu msgs from %zu queue(s) in %.2f s (group %s, %d thread(s))\n",
                static_cast<unsigned long long>(distinct), next_offset.size(), secs, group.c_str(),
                o.threads);
    std::printf("  throughput  %.0f msgs/s  %.1f MB/s\n", rate,
                static_cast<double>(bytes) / secs / 1e6);
    std::printf("  redelivered %llu  out of order %llu\n",
                static_cast<unsigned long long>(redelivered),
                static_cast<unsigned long long>(out_of_order));
    if (!complete) {
      std::printf("  INCOMPLETE: %llu of %llu messages within %d s\n",
                  static_cast<unsigned long long>(distinct),
                  static_cast<unsigned long long>(o.messages), o.timeout_s);
    }
  }
  return complete && out_of_order == 0 ? 0 : 1;
}

int parse_consume(int argc, char** argv) {
  ConsumeOptions o;
  int bad = parse_options(argc, argv, o, [&](Args& args) {
    const std::string& a = args.option();
    std::optional<std::string> s;
    std::optional<int64_t> n;
    if (a == "-g" && (s = args.value())) {
      o.group = *s;
    } else if (a == "--threads" && (n = args.count(1))) {
      o.threads = static_cast<int>(*n);
    } else if (a == "--timeout-s" && (n = args.count(1))) {
      o.timeout_s = static_cast<int>(*n);
    } else {
      return false;
    }
    return true;
  });
  if (bad != 0) return bad;
  if (o.messages == 0 || o.threads <= 0 || o.timeout_s <= 0) {
    return usage("--messages, --threads and --timeout-s must be positive");
  }
  auto secured = secure(o);
  if (!secured) return 2;
  return consume(o);
}

// With --topics: creates them on every master, and every producer loads their routes.
Status prepare_topics(const ProduceOptions& o, const TopicSet& topics,
                      const std::vector<std::unique_ptr<BenchProducer>>& producers) {
  if (topics.size() <= 1) return Status::ok();
  COMET_ASSIGN_OR_RETURN(auto masters, cluster_masters(o.namesrv));
  COMET_RETURN_IF_ERROR(create_topics(o.namesrv, masters, topics, o.queues_per_topic));
  for (const auto& producer : producers) {
    for (const auto& topic : topics.names())
      COMET_RETURN_IF_ERROR(producer->load_route(topic));
  }
  return Status::ok();
}

int produce(const ProduceOptions& o) {
  const TopicSet topics = TopicSet::spread(o.topic, o.topics);
  std::vector<std::unique_ptr<BenchProducer>> producers;
  for (int p = 0; p < o.producers; ++p) {
    auto producer = start_producer(o.protocol, o.namesrv, "comet-bench",
                                   client::default_client_id() + "-" + std::to_string(p),
                                   std::chrono::milliseconds(3000));
    if (!producer.is_ok()) {
      std::cerr << "comet-bench: producer start: " << producer.status().to_string() << "\n";
      return 1;
    }
    producers.push_back(std::move(*producer));
  }
  if (Status s = prepare_topics(o, topics, producers); !s.is_ok()) {
    std::cerr << "comet-bench: topics: " << s.to_string() << "\n";
    return 1;
  }
  const std::string body(o.size, 'x');
  // Warm up the route and the connections with one synchronous send. A cluster started a
  // moment ago may take seconds for its first write (a fresh segment still being pre-faulted, a
  // leader just elected): this one send may take up to 30 s, the rest the producer's default.
  {
    auto r =
        producers[0]->first_send(client::ProducerMessage{topics[0], body, "warmup", "", {}, 0});
    if (!r.is_ok()) {
      std::cerr << "comet-bench: first send failed: " << r.status().to_string() << "\n";
      return 1;
    }
  }

  LatencyHistogram hist;
  std::atomic<uint64_t> acked{0}, errors{0};
  std::mutex err_mu;
  std::map<std::string, uint64_t> error_kinds;
  const uint64_t per_producer = o.messages / static_cast<uint64_t>(o.producers);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < o.producers; ++p) {
    threads.emplace_back([&, p] {
      BenchProducer& producer = *producers[static_cast<size_t>(p)];
      Window window(o.inflight);
      // One pace per request: a batch of B counts as B messages of the offered rate.
      Pacer pacer(o.rate / o.producers / o.batch);
      for (uint64_t sent = 0; sent < per_producer; sent += static_cast<uint64_t>(o.batch)) {
        pacer.pace();
        window.acquire();
        const std::string& topic = topics.of_message(sent / static_cast<uint64_t>(o.batch) *
                                                         static_cast<uint64_t>(o.producers) +
                                                     static_cast<uint64_t>(p));
        const auto t0 = Clock::now();
        auto done = [&, t0](Result<client::SendResult> r) {
          if (r.is_ok()) {
            hist.record(Clock::now() - t0);
            acked.fetch_add(r->count, std::memory_order_relaxed);
          } else {
            errors.fetch_add(1, std::memory_order_relaxed);
            std::lock_guard lock(err_mu);
            ++error_kinds[r.status().message().substr(0, 80)];
          }
          window.release();
        };
        if (o.batch <= 1) {
          producer.send_async(client::ProducerMessage{topic, body, "bench", "", {}, 0}, done);
        } else {
          std::vector<client::ProducerMessage> batch(
              static_cast<size_t>(o.batch),
              client::ProducerMessage{topic, body, "bench", "", {}, 0});
          producer.send_batch_async(std::move(batch), done);
        }
      }
      window.drain();
    });
  }
  for (auto& t : threads)
    t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& p : producers)
    p->shutdown();

  const double msgs = static_cast<double>(acked.load());
  const double rate = msgs / secs;
  const double mbs = rate * static_cast<double>(o.size) / 1e6;
  if (o.json) {
    std::printf(
        "{\"messages\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"msgs_per_s\":%.0f,\"mb_per_s\":%.1f,"
        "\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,\"p999_us\":%llu,\"max_us\":%llu}\n",
        static_cast<unsigned long long>(acked.load()),
        static_cast<unsigned long long>(errors.load()), secs, rate, mbs,
        static_cast<unsigned long long>(hist.percentile_us(0.50)),
        static_cast<unsigned long long>(hist.percentile_us(0.90)),
        static_cast<unsigned long long>(hist.percentile_us(0.99)),
        static_cast<unsigned long long>(hist.percentile_us(0.999)),
        static_cast<unsigned long long>(hist.max_us()));
  } else {
    std::printf(
        "produce: %llu msgs of %zu B acked in %.2f s (%d producer(s), %d in flight, batch %d%s, "
        "%s protocol)\n",
        static_cast<unsigned long long>(acked.load()), o.size, secs, o.producers, o.inflight,
        o.batch, o.rate > 0 ? ", paced" : "", std::string(protocol_name(o.protocol)).c_str());
    std::printf("  throughput  %.0f msgs/s  %.1f MB/s\n", rate, mbs);
    std::printf("  latency us  p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu  (per request)\n",
                static_cast<unsigned long long>(hist.percentile_us(0.50)),
                static_cast<unsigned long long>(hist.percentile_us(0.90)),
                static_cast<unsigned long long>(hist.percentile_us(0.99)),
                static_cast<unsigned long long>(hist.percentile_us(0.999)),
                static_cast<unsigned long long>(hist.max_us()));
    std::printf("  errors      %llu\n", static_cast<unsigned long long>(errors.load()));
    for (const auto& [what, n] : error_kinds)
      std::printf("    %llu x %s\n", static_cast<unsigned long long>(n), what.c_str());
  }
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace comet::bench

int main(int argc, char** argv) {
  using namespace comet::bench;
  using comet::Args;
  if (argc < 2) return usage(nullptr);
  if (!std::getenv("COMET_LOG_LEVEL")) comet::set_log_level("warn");
  std::string cmd = argv[1];
  if (cmd == "help" ||
      (wants_help(argc, argv, 1) && cmd != "compare" && cmd != "chaos" && cmd != "soak" &&
       cmd != "delay" && cmd != "transaction" && cmd != "scale")) {
    return help();
  }
  if (cmd == "consume") return parse_consume(argc, argv);
  if (cmd == "compare") return run_compare(argc, argv);
  if (cmd == "chaos") return run_chaos(argc, argv);
  if (cmd == "soak") return run_soak(argc, argv);
  if (cmd == "delay") return run_delay(argc, argv);
  if (cmd == "timers") return run_timers(argc, argv);
  if (cmd == "transaction") return run_transaction(argc, argv);
  if (cmd == "routes") return run_routes(argc, argv);
  if (cmd == "scale") return run_scale(argc, argv);
  if (cmd != "produce") return usage(("unknown command " + cmd).c_str());
  ProduceOptions o;
  int bad = parse_options(argc, argv, o, [&](Args& args) {
    const std::string& a = args.option();
    std::optional<int64_t> n;
    std::optional<double> r;
    if (a == "--size" && (n = args.count(1))) {
      o.size = static_cast<size_t>(*n);
    } else if (a == "--inflight" && (n = args.count(1))) {
      o.inflight = static_cast<int>(*n);
    } else if (a == "--batch" && (n = args.count(1))) {
      o.batch = static_cast<int>(*n);
    } else if (a == "--producers" && (n = args.count(1))) {
      o.producers = static_cast<int>(*n);
    } else if (a == "--rate" && (r = args.real(0))) {
      o.rate = *r;
    } else if (a == "--topics" && (n = args.count(1))) {
      o.topics = static_cast<int>(*n);
    } else if (a == "--queues-per-topic" && (n = args.count(1))) {
      o.queues_per_topic = static_cast<int>(*n);
    } else if (a == "--protocol") {
      auto v = args.value();
      auto p = v ? parse_protocol(*v) : std::nullopt;
      if (!p) return false;
      o.protocol = *p;
    } else {
      return false;
    }
    return true;
  });
  if (bad != 0) return bad;
  if (o.protocol == Protocol::kRocketmq && o.batch > 1) {
    return usage("--protocol rocketmq sends one message per request: no --batch");
  }
  if (o.messages == 0 || o.size == 0 || o.inflight <= 0 || o.batch <= 0 || o.producers <= 0) {
    return usage("--messages, --size, --inflight, --batch and --producers must be positive");
  }
  auto secured = secure(o);
  if (!secured) return 2;
  return produce(o);
}
