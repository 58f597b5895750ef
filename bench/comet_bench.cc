// comet-bench: end-to-end benchmarks against a running cluster.
//
//   comet-bench produce -n <namesrv> [-t topic] [--messages N] [--size bytes] [--inflight K]
//                       [--batch B] [--producers P] [--rate msgs/s] [--json]
//
// Sends N messages of `size` bytes from P producers, each keeping up to K requests in flight
// (async, pipelined), B messages per request; `--rate` paces the offered load (0 = as fast as
// possible). Every acknowledged request's latency goes into a histogram; the report gives
// throughput (msgs/s, MB/s), p50/p90/p99/p99.9/max and the error count.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/latency_histogram.h"
#include "common/logging.h"
#include "producer/producer.h"

namespace comet::bench {
namespace {

using Clock = std::chrono::steady_clock;
// How far ahead of its schedule a paced sender may be before it sleeps.
constexpr auto kPaceSlack = std::chrono::microseconds(200);

struct ProduceOptions {
  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "BenchTopic";
  uint64_t messages = 100000;
  size_t size = 1024;
  int inflight = 256;
  int batch = 1;
  int producers = 1;
  double rate = 0;
  bool json = false;
};

// Bounds the requests in flight; waits on a condition variable, never spins. A full window
// sleeps until an eighth of it is free again (hysteresis), so the sender is woken once per
// group of completions rather than once per completion: a wake-up is a futex call on each side,
// which would otherwise cost as much as the send itself.
class Window {
 public:
  explicit Window(int limit) : limit_(limit), resume_at_(limit - std::max(1, limit / 8)) {}
  void acquire() {
    std::unique_lock lock(mu_);
    if (used_ >= limit_) {
      waiting_ = true;
      cv_.wait(lock, [&] { return used_ <= resume_at_; });
      waiting_ = false;
    }
    ++used_;
  }
  void release() {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      --used_;
      wake = waiting_ && (used_ <= resume_at_ || used_ == 0);
    }
    if (wake) cv_.notify_all();
  }
  void drain() {
    std::unique_lock lock(mu_);
    waiting_ = true;
    resume_at_ = 0;
    cv_.wait(lock, [&] { return used_ == 0; });
  }

 private:
  const int limit_;
  int resume_at_;
  std::mutex mu_;
  std::condition_variable cv_;
  int used_ = 0;
  bool waiting_ = false;
};

int usage(const char* why) {
  if (why) std::cerr << "comet-bench: " << why << "\n";
  std::cerr
      << "usage: comet-bench produce -n <namesrv> [-t topic] [--messages N] [--size bytes]\n"
         "                          [--inflight K] [--batch B] [--producers P] [--rate msgs/s]"
         " [--json]\n";
  return 2;
}

int produce(const ProduceOptions& o) {
  std::vector<std::unique_ptr<client::Producer>> producers;
  for (int p = 0; p < o.producers; ++p) {
    client::ClientConfig cfg;
    cfg.namesrv_addr = o.namesrv;
    cfg.client_id = client::default_client_id() + "-" + std::to_string(p);
    auto producer = std::make_unique<client::Producer>("comet-bench", cfg);
    if (Status s = producer->start(); !s.is_ok()) {
      std::cerr << "comet-bench: producer start: " << s.to_string() << "\n";
      return 1;
    }
    producers.push_back(std::move(producer));
  }
  const std::string body(o.size, 'x');
  // Warm up the route and the connections with one synchronous send.
  {
    client::ProducerMessage m{o.topic, body, "warmup", "", {}, 0};
    auto r = producers[0]->send(m);
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
      client::Producer& producer = *producers[static_cast<size_t>(p)];
      Window window(o.inflight);
      const double per_thread_rate = o.rate / o.producers;
      const auto interval = per_thread_rate > 0
                                ? std::chrono::duration<double>(o.batch / per_thread_rate)
                                : std::chrono::duration<double>(0);
      auto next_send = Clock::now();
      std::mutex pace_mu;
      std::condition_variable pace_cv;  // never notified: a timed wait paces the offered load
      for (uint64_t sent = 0; sent < per_producer; sent += static_cast<uint64_t>(o.batch)) {
        if (per_thread_rate > 0) {
          // Sleep only when ahead of schedule by more than kPaceSlack: a timed wait costs tens
          // of microseconds itself, more than the interval between sends at high rates.
          if (next_send - Clock::now() > kPaceSlack) {
            std::unique_lock lock(pace_mu);
            pace_cv.wait_until(lock, next_send, [] { return false; });
          }
          next_send += std::chrono::duration_cast<Clock::duration>(interval);
        }
        window.acquire();
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
          producer.send_async(client::ProducerMessage{o.topic, body, "bench", "", {}, 0}, done);
        } else {
          std::vector<client::ProducerMessage> batch(
              static_cast<size_t>(o.batch),
              client::ProducerMessage{o.topic, body, "bench", "", {}, 0});
          producer.send_async(std::move(batch), done);
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
        "produce: %llu msgs of %zu B acked in %.2f s (%d producer(s), %d in flight, batch %d%s)\n",
        static_cast<unsigned long long>(acked.load()), o.size, secs, o.producers, o.inflight,
        o.batch, o.rate > 0 ? ", paced" : "");
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
  if (argc < 2) return usage(nullptr);
  if (!std::getenv("COMET_LOG_LEVEL")) comet::set_log_level("warn");
  std::string cmd = argv[1];
  if (cmd != "produce") return usage(("unknown command " + cmd).c_str());
  ProduceOptions o;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::exit(usage((std::string(name) + " needs a value").c_str()));
      }
      return argv[++i];
    };
    if (a == "-n")
      o.namesrv = value("-n");
    else if (a == "-t")
      o.topic = value("-t");
    else if (a == "--messages")
      o.messages = std::strtoull(value("--messages"), nullptr, 10);
    else if (a == "--size")
      o.size = std::strtoull(value("--size"), nullptr, 10);
    else if (a == "--inflight")
      o.inflight = std::atoi(value("--inflight"));
    else if (a == "--batch")
      o.batch = std::atoi(value("--batch"));
    else if (a == "--producers")
      o.producers = std::atoi(value("--producers"));
    else if (a == "--rate")
      o.rate = std::atof(value("--rate"));
    else if (a == "--json")
      o.json = true;
    else
      return usage(("unknown option " + a).c_str());
  }
  if (o.messages == 0 || o.size == 0 || o.inflight <= 0 || o.batch <= 0 || o.producers <= 0) {
    return usage("--messages, --size, --inflight, --batch and --producers must be positive");
  }
  return produce(o);
}
