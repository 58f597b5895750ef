#include "bench/chaos.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_cluster.h"
#include "bench/verify.h"
#include "bench/workload.h"
#include "common/args.h"
#include "common/netns.h"
#include "consumer/push_consumer.h"

namespace comet::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

enum class Fault { kKill, kPause, kPartition, kDelay };

std::string_view fault_name(Fault f) {
  switch (f) {
    case Fault::kKill:
      return "kill";
    case Fault::kPause:
      return "pause";
    case Fault::kPartition:
      return "partition";
    case Fault::kDelay:
      return "delay";
  }
  return "?";
}

struct ChaosOptions {
  std::vector<Mode> modes = {Mode::kSync, Mode::kDLedger};
  std::vector<Fault> faults = {Fault::kKill, Fault::kPause, Fault::kPartition, Fault::kDelay};
  int cycles = 20;
  uint64_t seed = 0;  // 0: from the clock (printed, to replay)
  std::chrono::milliseconds fault{3000};
  std::chrono::milliseconds settle{3000};
  SendOptions send;
  int consumers = 2;       // members of the consumer group running through the faults
  int consumer_churn = 3;  // every Nth cycle one member leaves for the fault and a new one joins
  size_t size = 256;
  bool netns = true;
  std::vector<std::string> broker_args;
  std::string bin_dir;
  bool keep = false;
};

constexpr const char* kChaosUsage =
    "usage: comet-bench chaos [--modes sync,dledger] [--cycles N] [--seed S]\n"
    "                         [--faults kill,pause,partition,delay] [--fault-ms MS]\n"
    "                         [--settle-ms MS] [--rate R] [--producers P]\n"
    "                         [--msg-size B] [--consumers N] [--consumer-churn N]\n"
    "                         [--no-netns] [--broker key=value]...\n"
    "                         [--bin-dir DIR] [--keep]\n"
    "Per mode a fresh local cluster (brokers in network namespaces as root), a seeded\n"
    "schedule of faults while producers and consumers run, then every queue and every\n"
    "delivery checked. Exit status 0 only if every mode passed.\n";

int chaos_usage(const std::string& why) {
  if (!why.empty()) std::cerr << "comet-bench chaos: " << why << "\n";
  std::cerr << kChaosUsage;
  return 2;
}

int chaos_help() {
  std::cout << kChaosUsage;
  return 0;
}

struct ChaosResult {
  std::string mode;
  std::string error;
  int cycles = 0;
  std::vector<int> by_fault = std::vector<int>(4, 0);
  int drills = 0, drills_failed = 0;
  uint64_t sent = 0, acked = 0, unconfirmed = 0, failed = 0;
  double seconds = 0;
  std::optional<VerifyReport> verify;
  std::optional<DeliveryReport> delivery;  // with consumers
  int churns = 0;
  bool may_lose = false;  // async replication
  bool passed() const {
    if (!error.empty() || !verify || verify->corrupt != 0 || verify->changed != 0) return false;
    if (delivery && (delivery->verify.corrupt != 0 || delivery->verify.changed != 0 ||
                     (!may_lose && (delivery->verify.lost != 0 || delivery->vanished != 0)))) {
      return false;
    }
    return may_lose || verify->lost == 0;
  }
};

// The consumer group that runs through the faults: push consumers, each message handed to the
// delivery log. Members are started and stopped on the schedule's thread only.
class ConsumerGroup {
 public:
  ConsumerGroup(std::string namesrv, std::string topic, DeliveryLog& log)
      : namesrv_(std::move(namesrv)), topic_(std::move(topic)), log_(log) {}
  ~ConsumerGroup() { stop(); }

  Status add() {
    client::ClientConfig cfg;
    cfg.namesrv_addr = namesrv_;
    cfg.client_id = client_id("chaos-consumer-" + std::to_string(started_++));
    auto c = std::make_unique<client::PushConsumer>("ChaosConsumers", cfg);
    c->set_consume_from_where(client::ConsumeFromWhere::kFirstOffset);
    c->set_consume_message_batch_max_size(16);
    COMET_RETURN_IF_ERROR(c->subscribe(topic_));
    c->register_message_listener([this](const std::vector<client::MessageExt>& msgs) {
      for (const auto& m : msgs)
        log_.delivered(m.broker_name, m.queue_id, m.queue_offset, m.body);
      return client::ConsumeStatus::kSuccess;
    });
    COMET_RETURN_IF_ERROR(c->start());
    members_.push_back(std::move(c));
    return Status::ok();
  }
  // Shuts down the member at `i` (modulo the members): it commits its offsets and leaves.
  void remove(size_t i) {
    if (members_.empty()) return;
    auto it = members_.begin() + static_cast<std::ptrdiff_t>(i % members_.size());
    (*it)->shutdown();
    members_.erase(it);
  }
  void stop() {
    for (auto& m : members_)
      m->shutdown();
    members_.clear();
  }

 private:
  const std::string namesrv_, topic_;
  DeliveryLog& log_;
  std::vector<std::unique_ptr<client::PushConsumer>> members_;
  int started_ = 0;
};

ChaosResult run_mode(const ChaosOptions& o, const Binaries& bin, Mode mode, uint64_t seed) {
  ChaosResult r;
  r.mode = std::string(mode_name(mode));
  r.may_lose = mode == Mode::kAsync;
  auto run_dir = make_run_dir("chaos");
  if (!run_dir.is_ok()) {
    r.error = run_dir.status().to_string();
    return r;
  }
  const std::string dir = *run_dir;
  std::mt19937_64 rng(seed);
  std::vector<std::string> history;
  const auto t0 = Clock::now();
  auto note = [&](const std::string& what) {
    const std::string line = fmt::format(
        "  {:>7.1f} s  {}", std::chrono::duration<double>(Clock::now() - t0).count(), what);
    history.push_back(line);
    std::cout << line << "\n" << std::flush;
  };

  std::unique_ptr<NetnsLab> lab;
  std::optional<InNetns> in_hub;
  bool netem = false;
  if (o.netns) {
    lab = std::make_unique<NetnsLab>("cc", 3, dir + "/ip.log");
    if (Status s = lab->create(); !s.is_ok()) {
      r.error = "network namespaces: " + s.to_string();
      return r;
    }
    netem = lab->netem_available();
    in_hub.emplace(lab->hub());  // this thread's clients and drills talk from the hub
    if (!in_hub->status().is_ok()) {
      r.error = in_hub->status().to_string();
      return r;
    }
  }
  std::vector<Fault> faults;
  for (Fault f : o.faults) {
    if ((f == Fault::kPartition && !lab) || (f == Fault::kDelay && !netem)) {
      note(fmt::format("{} faults are not possible here ({}): left out", fault_name(f),
                       lab ? "no tc netem" : "no network namespaces"));
      continue;
    }
    faults.push_back(f);
  }
  if (faults.empty()) {
    r.error = "no fault kind possible here";
    return r;
  }

  auto cluster = BenchCluster::start(mode, bin, dir, o.broker_args, 60s, lab.get());
  if (!cluster.is_ok()) {
    r.error = "cluster: " + cluster.status().to_string();
    print_log_excerpts(dir, r.mode);
    return r;
  }
  BenchCluster& c = **cluster;
  const std::string topic = "ChaosTopic";
  Status s = create_topic(c.namesrv_addr(), {c.master_addr()}, topic, 8);
  // The first send (which may wait for an election) goes to a topic of its own: the checker
  // reads only the workload's.
  if (s.is_ok()) s = create_topic(c.namesrv_addr(), {c.master_addr()}, topic + "Warmup", 1);
  if (s.is_ok()) s = first_send(c.namesrv_addr(), topic + "Warmup");
  if (!s.is_ok()) {
    r.error = "setup: " + s.to_string();
    print_log_excerpts(dir, r.mode);
    return r;
  }
  note(fmt::format("{} cluster up ({}), seed {}", r.mode,
                   lab ? "a namespace per broker" : "loopback", seed));

  // Enough sends for the whole schedule and then some; producers stop when it is over.
  const double schedule_s =
      o.cycles * std::chrono::duration<double>(o.fault + o.settle).count() + 60;
  const auto per_producer = static_cast<uint64_t>(o.send.rate / o.send.producers * schedule_s);
  std::random_device rd;
  const BodyMaker maker(o.size, (uint64_t{rd()} << 32) | rd());
  Verifier verifier(static_cast<uint32_t>(o.send.producers), per_producer);
  DeliveryLog deliveries(static_cast<uint32_t>(o.send.producers), per_producer);
  ConsumerGroup consumers(c.namesrv_addr(), topic, deliveries);
  for (int i = 0; i < o.consumers && s.is_ok(); ++i)
    s = consumers.add();
  if (!s.is_ok()) {
    r.error = "consumers: " + s.to_string();
    return r;
  }
  if (o.consumers > 0) note(fmt::format("{} consumers of group ChaosConsumers up", o.consumers));
  SendStats stats;
  std::atomic<bool> stop{false};
  Status schedule_status;

  DeliveryLog::Counts last_delivery;
  auto schedule = [&] {
    for (int cycle = 1; cycle <= o.cycles; ++cycle) {
      const Fault f = faults[rng() % faults.size()];
      const size_t victim = rng() % c.broker_count();
      const std::string who = c.broker_label(victim);
      auto master = c.master_index();
      const bool was_master = master.is_ok() && *master == victim;
      const std::string role =
          was_master ? (mode == Mode::kDLedger ? " (leader)" : " (master)") : "";
      ++r.by_fault[static_cast<size_t>(f)];
      const bool churn = o.consumers > 0 && o.consumer_churn > 0 && cycle % o.consumer_churn == 0;
      if (churn) {
        consumers.remove(static_cast<size_t>(cycle / o.consumer_churn));
        ++r.churns;
      }
      switch (f) {
        case Fault::kKill: {
          note(fmt::format("cycle {}/{}: kill -9 {}{}", cycle, o.cycles, who, role));
          (void)c.kill(victim);
          if (was_master && (mode == Mode::kSync || mode == Mode::kAsync)) {
            const size_t other = 1 - victim;
            ++r.drills;
            if (Status p = c.promote(other); p.is_ok()) {
              note(fmt::format("  promoted {}", c.broker_label(other)));
            } else {
              ++r.drills_failed;
              note(fmt::format("  promoteSlave failed: {}", p.to_string()));
            }
          }
          wait_out(o.fault);
          if (Status rs = c.restart(victim); !rs.is_ok()) {
            schedule_status = rs;
            note(fmt::format("  restart of {} failed: {}", who, rs.to_string()));
            return;
          }
          note(fmt::format("  restarted {}", who));
          break;
        }
        case Fault::kPause:
          note(fmt::format("cycle {}/{}: SIGSTOP {}{}", cycle, o.cycles, who, role));
          c.pause(victim);
          wait_out(o.fault);
          c.resume(victim);
          note(fmt::format("  SIGCONT {}", who));
          break;
        case Fault::kPartition:
          note(fmt::format("cycle {}/{}: partition {}{}", cycle, o.cycles, who, role));
          (void)lab->cut(static_cast<int>(victim));
          wait_out(o.fault);
          (void)lab->restore(static_cast<int>(victim));
          note(fmt::format("  healed {}", who));
          break;
        case Fault::kDelay:
          note(fmt::format("cycle {}/{}: 50 ms delay, 5 % loss on {}{}", cycle, o.cycles, who,
                           role));
          (void)lab->degrade(static_cast<int>(victim), 50, 5);
          wait_out(o.fault);
          (void)lab->undegrade(static_cast<int>(victim));
          note(fmt::format("  link of {} clean again", who));
          break;
      }
      if (churn) {
        if (Status cs = consumers.add(); cs.is_ok()) {
          note("  a consumer left the group and a new one joined");
        } else {
          schedule_status = cs;
          note("  a new consumer could not start: " + cs.to_string());
          return;
        }
      }
      ++r.cycles;
      wait_out(o.settle);
      if (o.consumers > 0) {
        const DeliveryLog::Counts d = deliveries.counts();
        note(fmt::format("  consumers: {} delivered, {} redelivered in the cycle",
                         d.deliveries - last_delivery.deliveries,
                         d.redelivered - last_delivery.redelivered));
        last_delivery = d;
      }
    }
  };
  auto during = [&] {
    schedule();
    stop = true;
  };
  const auto start = Clock::now();
  s = run_sends(o.send, c.namesrv_addr(), topic, per_producer, maker, &verifier, stats, nullptr,
                r.mode, during, /*paced=*/true, &stop, /*at=*/1);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!stop) {
    r.error = "the producers ran out of messages before the schedule ended";
  }
  // Heal whatever the schedule left (it always heals, but a failed restart may leave one down).
  for (size_t i = 0; i < c.broker_count(); ++i) {
    c.resume(i);
    if (lab) (void)lab->restore(static_cast<int>(i));
    if (!c.alive(i)) (void)c.restart(i);
  }
  if (!s.is_ok() && r.error.empty()) r.error = "producers: " + s.to_string();
  if (!schedule_status.is_ok() && r.error.empty()) r.error = schedule_status.to_string();
  r.acked = stats.acked.load();
  r.unconfirmed = stats.unconfirmed.load();
  r.failed = stats.failed.load();
  r.sent = stats.completed.load();
  for (const auto& [what, n] : stats.errors)
    std::cerr << fmt::format("  {}: {} x {}\n", r.mode, n, what);
  note(fmt::format("schedule done: {} sends, {} acked, {} unconfirmed, {} failed", r.sent, r.acked,
                   r.unconfirmed, r.failed));
  if (o.consumers > 0) {
    const uint64_t missing = deliveries.wait_for_acked(verifier, 120s);
    note(missing == 0 ? std::string("every acked message was delivered to the consumers")
                      : fmt::format("{} acked messages not delivered after 120 s", missing));
    consumers.stop();
  }
  note("reading back");
  if (Status rb = read_back(c.namesrv_addr(), topic, stats.acked_ends, verifier, 180s);
      !rb.is_ok()) {
    if (r.error.empty()) r.error = "reading back: " + rb.to_string();
  }
  r.verify = verifier.report();
  if (o.consumers > 0) r.delivery = deliveries.report(&verifier);
  c.stop();
  // The network goes before the directory its log is in.
  in_hub.reset();
  lab.reset();
  if (!r.passed()) print_log_excerpts(dir, r.mode);
  finish_run_dir(dir, o.keep || !r.passed(), r.mode);
  return r;
}

void print_results(const std::vector<ChaosResult>& results) {
  std::cout << "\n| mode | cycles | kill / pause / partition / delay | drills (failed) | sends | "
               "acked | unconfirmed | failed | lost | duplicated | reordered | unacked found | "
               "corrupt | result |\n"
               "|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n";
  for (const auto& r : results) {
    if (!r.verify) {
      std::cout << fmt::format("| {} | {} | | | | | | | | | | | | error: {} |\n", r.mode, r.cycles,
                               r.error);
      continue;
    }
    const VerifyReport& v = *r.verify;
    std::string verdict = r.passed() ? "passed" : "FAILED";
    if (!r.error.empty()) verdict += ": " + r.error;
    if (r.may_lose && v.lost > 0) verdict += " (async: losses counted, not failed)";
    std::cout << fmt::format(
        "| {} | {} | {} / {} / {} / {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} | {} | "
        "{} |\n",
        r.mode, r.cycles, r.by_fault[0], r.by_fault[1], r.by_fault[2], r.by_fault[3], r.drills,
        r.drills_failed, r.sent, r.acked, r.unconfirmed, r.failed, v.lost, v.duplicated,
        v.reordered, v.unacked_found, v.corrupt + v.changed, verdict);
    for (const auto& ex : v.lost_examples)
      std::cout << "  lost: " << ex << "\n";
    if (v.corrupt + v.changed > 0) {
      std::cout << fmt::format("  {}: {} corrupt, {} changed\n", r.mode, v.corrupt, v.changed);
    }
  }
  const bool any_consumers = std::any_of(
      results.begin(), results.end(), [](const ChaosResult& r) { return r.delivery.has_value(); });
  if (!any_consumers) return;
  std::cout << "\nWhat the consumer group was handed while the faults ran:\n\n"
               "| mode | churns | deliveries | acked delivered | acked not delivered | "
               "redelivered | stored copies | reordered | unacked delivered | delivered, then "
               "gone | corrupt |\n"
               "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
  for (const auto& r : results) {
    if (!r.delivery) continue;
    const DeliveryReport& d = *r.delivery;
    const VerifyReport& v = d.verify;
    std::cout << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", r.mode,
                             r.churns, d.deliveries, v.acked - v.lost, v.lost, d.redelivered,
                             d.stored_copies, v.reordered, v.unacked_found, d.vanished,
                             v.corrupt + v.changed);
    for (const auto& ex : v.lost_examples)
      std::cout << "  not delivered: " << ex << "\n";
  }
}

}  // namespace

int run_chaos(int argc, char** argv) {
  ChaosOptions o;
  o.send.producers = 2;
  o.send.inflight = 64;
  o.send.rate = 2000;
  o.send.send_timeout = 3000ms;
  Args args(argc, argv, 2);
  std::optional<std::string> s;
  std::optional<int64_t> n;
  while (args.next()) {
    const std::string& a = args.option();
    if (a == "--help" || a == "-h") return chaos_help();
    if (a == "--modes" && (s = args.value())) {
      auto modes = parse_modes(*s);
      if (!modes.is_ok()) return chaos_usage(modes.status().message());
      o.modes = std::move(*modes);
    } else if (a == "--faults" && (s = args.value())) {
      o.faults.clear();
      for (const std::string& name : split_commas(*s)) {
        bool known = false;
        for (Fault f : {Fault::kKill, Fault::kPause, Fault::kPartition, Fault::kDelay}) {
          if (name == fault_name(f)) {
            o.faults.push_back(f);
            known = true;
          }
        }
        if (!known) {
          return chaos_usage("unknown fault '" + name + "' (kill, pause, partition, delay)");
        }
      }
    } else if (a == "--cycles" && (n = args.count(1))) {
      o.cycles = static_cast<int>(*n);
    } else if (a == "--seed" && (n = args.count(1))) {
      o.seed = static_cast<uint64_t>(*n);
    } else if (a == "--fault-ms" && (n = args.count(1))) {
      o.fault = std::chrono::milliseconds(*n);
    } else if (a == "--settle-ms" && (n = args.count(0))) {
      o.settle = std::chrono::milliseconds(*n);
    } else if (a == "--rate" && (n = args.count(1))) {
      o.send.rate = static_cast<double>(*n);
    } else if (a == "--producers" && (n = args.count(1))) {
      o.send.producers = static_cast<int>(*n);
    } else if (a == "--msg-size" && (n = args.count(static_cast<int64_t>(kMinBodySize)))) {
      o.size = static_cast<size_t>(*n);
    } else if (a == "--consumers" && (n = args.count(0))) {
      o.consumers = static_cast<int>(*n);
    } else if (a == "--consumer-churn" && (n = args.count(0))) {
      o.consumer_churn = static_cast<int>(*n);
    } else if (a == "--no-netns") {
      o.netns = false;
    } else if (a == "--broker" && (s = args.value())) {
      o.broker_args.push_back(*s);
    } else if (a == "--bin-dir" && (s = args.value())) {
      o.bin_dir = *s;
    } else if (a == "--keep") {
      o.keep = true;
    } else {
      return chaos_usage(args.bad());
    }
  }
  if (o.netns) {
    if (std::string why = netns_unavailable(); !why.empty()) {
      std::cout << "chaos: " << why << ": brokers on 127.0.0.1, process faults only\n";
      o.netns = false;
    }
  }
  auto bin = Binaries::find(o.bin_dir);
  if (!bin.is_ok()) return chaos_usage(bin.status().message());
  const uint64_t seed =
      o.seed ? o.seed
             : static_cast<uint64_t>(Clock::now().time_since_epoch().count()) % 1000000 + 1;
  std::cout << fmt::format(
      "chaos: {} cycles per mode of {} ms fault + {} ms settle, {} msgs/s "
      "from {} producers, seed {} (--seed {} replays the schedule)\n",
      o.cycles, o.fault.count(), o.settle.count(), o.send.rate, o.send.producers, seed, seed);
  std::vector<ChaosResult> results;
  for (Mode m : o.modes)
    results.push_back(run_mode(o, *bin, m, seed));
  print_results(results);
  const bool all =
      std::all_of(results.begin(), results.end(), [](const ChaosResult& r) { return r.passed(); });
  return all ? 0 : 1;
}

}  // namespace comet::bench
