#include "bench/workload.h"
#include "bench/bench_security.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "admin/admin_client.h"
#include "bench/window.h"
#include "consumer/pull_consumer.h"

namespace comet::bench {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// The progress bar on stderr, redrawn four times a second while a run lasts (only when stderr
// is a terminal).
class Progress {
 public:
  Progress(std::string label, uint64_t total, const std::atomic<uint64_t>& done,
           const std::atomic<uint64_t>& acked)
      : label_(std::move(label)), total_(total), done_(done), acked_(acked) {
    const char* term = std::getenv("TERM");
    if (!::isatty(STDERR_FILENO) || (term && std::string(term) == "dumb")) return;
    start_ = Clock::now();
    thread_ = std::thread([this] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, 250ms, [&] { return stop_; }))
        draw();
      std::fprintf(stderr, "\r%*s\r", 100, "");
    });
  }
  ~Progress() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void draw() {
    constexpr int kWidth = 30;
    const uint64_t done = done_.load(std::memory_order_relaxed);
    const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1;
    const int filled = static_cast<int>(frac * kWidth);
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = secs > 0 ? static_cast<double>(acked_.load()) / secs : 0;
    std::fprintf(stderr, "\r  %-10s [%s%s] %3.0f%%  %7.1fk msgs/s  ", label_.c_str(),
                 std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(kWidth - filled), '-').c_str(), frac * 100,
                 rate / 1000);
    std::fflush(stderr);
  }

  const std::string label_;
  const uint64_t total_;
  const std::atomic<uint64_t>& done_;
  const std::atomic<uint64_t>& acked_;
  Clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

void AckedEnds::record(const std::string& topic, const client::SendResult& r) {
  std::lock_guard lock(mu_);
  uint64_t& end = ends_[topic + "@" + r.broker_name + "#" + std::to_string(r.queue_id)];
  end = std::max(end, r.queue_offset + r.count);
}

uint64_t AckedEnds::end(const client::MessageQueue& mq) const {
  std::lock_guard lock(mu_);
  auto it = ends_.find(mq.topic + "@" + mq.broker_name + "#" + std::to_string(mq.queue_id));
  return it == ends_.end() ? 0 : it->second;
}

void wait_out(std::chrono::milliseconds d) {
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  cv.wait_for(lock, d, [] { return false; });
}

std::string client_id(const std::string& what) {
  return client::default_client_id() + "-" + what;
}

namespace {

// Every producer loads the route of every topic, each on a thread of its own: what a run over
// many topics does before its clock starts.
Status load_routes(const std::vector<std::unique_ptr<BenchProducer>>& producers,
                   const TopicSet& topics) {
  std::vector<Status> results(producers.size());
  std::vector<std::thread> threads;
  for (size_t p = 0; p < producers.size(); ++p) {
    threads.emplace_back([&, p] {
      for (size_t t = 0; t < topics.size() && results[p].is_ok(); ++t)
        results[p] = producers[p]->load_route(topics[t]);
    });
  }
  for (auto& t : threads)
    t.join();
  for (auto& r : results)
    COMET_RETURN_IF_ERROR(r);
  return Status::ok();
}

}  // namespace

// Sends `per_producer` messages from each of o.producers producers, o.inflight async sends in
// flight each (`paced`: at o.rate in all); SEND_OK answers go to `verifier` (when given).
// `at_half` runs on this thread once half the sends are answered, while the rest go on.
Status run_sends(const SendOptions& o, const std::string& namesrv, const TopicSet& topics,
                 uint64_t per_producer, const BodyMaker& maker, Verifier* verifier,
                 SendStats& stats, AckTimeline* timeline, const std::string& label,
                 const std::function<void()>& at_half, bool paced, const std::atomic<bool>* stop,
                 uint64_t at) {
  std::vector<std::unique_ptr<BenchProducer>> producers;
  for (int p = 0; p < o.producers; ++p) {
    auto producer = start_producer(o.protocol, namesrv, "comet-bench-compare",
                                   client_id(label + "-" + std::to_string(p)), o.send_timeout);
    if (!producer.is_ok()) {
      for (auto& started : producers)
        started->shutdown();
      return producer.status();
    }
    producers.push_back(std::move(*producer));
  }
  auto shutdown = [&] {
    for (auto& p : producers)
      p->shutdown();
  };
  if (topics.size() > 1) {
    if (Status s = load_routes(producers, topics); !s.is_ok()) {
      shutdown();
      return s;
    }
  }

  const uint64_t total = per_producer * static_cast<uint64_t>(o.producers);
  const uint64_t half = at > 0 ? at : std::max<uint64_t>(1, total / 2);
  std::mutex half_mu;
  std::condition_variable half_cv;
  bool half_reached = false;
  Progress progress(label, total, stats.completed, stats.acked);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < o.producers; ++p) {
    threads.emplace_back([&, p] {
      BenchProducer& producer = *producers[static_cast<size_t>(p)];
      Window window(o.inflight);
      Pacer pacer(paced ? o.rate / o.producers : 0);
      for (uint64_t seq = 0; seq < per_producer; ++seq) {
        if (stop && stop->load(std::memory_order_relaxed)) break;
        pacer.pace();
        window.acquire();
        std::string body;
        const uint32_t crc = maker.make(static_cast<uint32_t>(p), seq, &body);
        const std::string& topic =
            topics.of_message(seq * static_cast<uint64_t>(o.producers) + static_cast<uint64_t>(p));
        const auto t0 = Clock::now();
        producer.send_async(
            client::ProducerMessage{topic, std::move(body), "bench", "", {}, 0, o.delay_level},
            [&, p, seq, crc, t0](Result<client::SendResult> r) {
              const auto now = Clock::now();
              if (r.is_ok() && r->status == client::SendStatus::kSendOk) {
                stats.hist->record(now - t0);
                stats.acked.fetch_add(1, std::memory_order_relaxed);
                if (verifier) {
                  verifier->acked(static_cast<uint32_t>(p), seq, crc);
                  stats.acked_ends.record(topic, *r);
                }
                if (timeline) timeline->record(now);
              } else if (r.is_ok()) {
                stats.unconfirmed.fetch_add(1, std::memory_order_relaxed);
                std::lock_guard lock(stats.mu);
                ++stats.errors[std::string(client::send_status_name(r->status))];
              } else {
                stats.failed.fetch_add(1, std::memory_order_relaxed);
                std::lock_guard lock(stats.mu);
                ++stats.errors[r.status().message().substr(0, 100)];
              }
              if (stats.completed.fetch_add(1, std::memory_order_relaxed) + 1 == half) {
                {
                  std::lock_guard lock(half_mu);
                  half_reached = true;
                }
                half_cv.notify_all();
              }
              window.release();
            });
      }
      window.drain();
    });
  }
  if (at_half) {
    // On this thread, not one of its own: a child process the drill starts is tied to the
    // thread that started it (PR_SET_PDEATHSIG) and must outlive the drill.
    std::unique_lock lock(half_mu);
    half_cv.wait(lock, [&] { return half_reached; });
    lock.unlock();
    at_half();
  }
  for (auto& t : threads)
    t.join();
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  shutdown();
  return Status::ok();
}

// One synchronous send that may wait up to 30 s: a cluster just started may still be electing a
// leader or pre-faulting its first segment.
Status first_send(const std::string& namesrv, const std::string& topic) {
  client::ClientConfig cfg = bench_client_config(namesrv);
  cfg.client_id = client_id("first");
  client::Producer producer("comet-bench-compare", cfg);
  COMET_RETURN_IF_ERROR(producer.start());
  producer.set_send_msg_timeout(30s);
  producer.set_retry_times_when_send_failed(10);
  auto r = producer.send(client::ProducerMessage{topic, "warm-up", "warmup", "", {}, 0});
  producer.shutdown();
  return r.status();
}

namespace {

// Reads queue `mq` of `topic` from its first offset to its last, and on to the end of what was
// acknowledged there; hands each body to the verifier as queue `verifier_queue`.
Status read_queue_back(client::PullConsumer& consumer, const client::MessageQueue& mq,
                       uint32_t verifier_queue, const AckedEnds& acked, Verifier& verifier,
                       Clock::time_point deadline, std::chrono::milliseconds timeout) {
  auto max = consumer.max_offset(mq);
  auto min = consumer.min_offset(mq);
  if (!max.is_ok()) return max.status();
  if (!min.is_ok()) return min.status();
  uint64_t indexed = *max;
  uint64_t offset = *min;
  int errors = 0;
  while (offset < std::max(indexed, acked.end(mq))) {
    if (Clock::now() >= deadline) {
      return Status::timeout(
          fmt::format("reading back {} took longer than {} s", mq.topic, timeout.count() / 1000));
    }
    auto r = offset < indexed ? consumer.pull(mq, "*", offset, 64)
                              : consumer.pull_block_if_not_found(mq, "*", offset, 64);
    if (!r.is_ok()) {
      if (++errors > 20) return r.status();
      continue;
    }
    for (const auto& m : r->msgs)
      verifier.found(verifier_queue, m.body);
    indexed = std::max(indexed, r->max_offset);
    if (r->status != client::PullStatus::kFound && r->next_begin_offset <= offset) break;
    offset = r->next_begin_offset;
  }
  return Status::ok();
}

}  // namespace

// Reads every queue of `topics` from its first offset to its last, and on to the end of what was
// acknowledged there (a broker indexes a message a moment after it acknowledged it: long polls
// wait for that), and hands each body to the verifier. A queue whose acknowledged end never
// comes (lost in a failover) is left after one long poll brings nothing. Bounded by `timeout`.
Status read_back(const std::string& namesrv, const TopicSet& topics, const AckedEnds& acked,
                 Verifier& verifier, std::chrono::milliseconds timeout) {
  client::ClientConfig cfg = bench_client_config(namesrv);
  cfg.client_id = client_id("verify");
  client::PullConsumer consumer("comet-bench-verify", cfg);
  consumer.set_pull_timeout_when_suspend(3s);
  COMET_RETURN_IF_ERROR(consumer.start());
  const auto deadline = Clock::now() + timeout;
  Status result;
  uint32_t verifier_queue = 0;
  for (size_t t = 0; result.is_ok() && t < topics.size(); ++t) {
    auto queues = consumer.fetch_subscribe_message_queues(topics[t]);
    if (!queues.is_ok()) result = queues.status();
    for (size_t qi = 0; result.is_ok() && qi < queues->size(); ++qi) {
      result = read_queue_back(consumer, (*queues)[qi], verifier_queue++, acked, verifier, deadline,
                               timeout);
    }
  }
  consumer.shutdown();
  return result;
}

Status create_topic(const std::string& namesrv, const std::vector<std::string>& masters,
                    const std::string& topic, int queues) {
  return create_topics(namesrv, masters, TopicSet(topic), queues, /*inflight=*/1, 10s);
}

Result<std::vector<std::string>> cluster_masters(const std::string& namesrv) {
  admin::AdminClient admin(bench_admin_config(namesrv), 10s);
  auto info = admin.cluster_info();
  if (!info.is_ok()) {
    return Status(info.status().code(),
                  "cluster info from " + namesrv + ": " + info.status().message());
  }
  std::vector<std::string> masters;
  for (const auto& b : info->broker_datas) {
    for (const auto& a : b->broker_addrs) {
      if (a->broker_id == 0) masters.push_back(a->addr);
    }
  }
  if (masters.empty()) return Status::unavailable("the cluster at " + namesrv + " has no master");
  return masters;
}

// What the cluster's logs say that explains a failed mode, for a reader who has only this
// program's output (CI keeps no files): each log's last warnings and errors, and its role
// changes and starts and stops.
void print_log_excerpts(const std::string& dir, const std::string& label) {
  std::vector<std::filesystem::path> logs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".log") logs.push_back(e.path());
  }
  std::sort(logs.begin(), logs.end());
  constexpr size_t kLines = 30;
  for (const auto& path : logs) {
    std::ifstream in(path);
    std::vector<std::string> picked;
    for (std::string line; std::getline(in, line);) {
      const bool notable = line.find(" warning [") != std::string::npos ||
                           line.find(" error [") != std::string::npos ||
                           line.find(" critical [") != std::string::npos ||
                           line.find(" is LEADER") != std::string::npos ||
                           line.find(" is FOLLOWER") != std::string::npos ||
                           line.find(" is CANDIDATE") != std::string::npos ||
                           line.find("serving on") != std::string::npos ||
                           line.find("signal") != std::string::npos;
      if (notable) picked.push_back(std::move(line));
    }
    const size_t from = picked.size() > kLines ? picked.size() - kLines : 0;
    std::cerr << fmt::format("{}: {} ({} notable lines{}):\n", label, path.filename().string(),
                             picked.size(), from > 0 ? fmt::format(", the last {}", kLines) : "");
    for (size_t i = from; i < picked.size(); ++i)
      std::cerr << "  " << picked[i] << "\n";
  }
}

}  // namespace comet::bench
