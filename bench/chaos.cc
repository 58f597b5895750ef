#include "bench/chaos.h"
#include "bench/bench_security.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_cluster.h"
#include "bench/failure_plan.h"
#include "bench/verify.h"
#include "bench/workload.h"
#include "common/args.h"
#include "common/group_topics.h"
#include "common/netns.h"
#include "consumer/pull_consumer.h"
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
  bool failing_listener = false;  // the consumers fail messages (bench/failure_plan.h)
  SecurityOptions security;       // --acl, --tls (bench/bench_security.h)
};

constexpr std::string_view kGroup = "ChaosConsumers";
// With --failing-listener and no messageDelayLevel of the user's: every retry level 1 s, so that
// a message failed for good reaches the DLQ after its 16 retries in well under a minute.
constexpr std::string_view kFastRetryLevels =
    "messageDelayLevel=1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";

constexpr const char* kChaosUsage =
    "usage: comet-bench chaos [--modes sync,dledger] [--cycles N] [--seed S]\n"
    "                         [--faults kill,pause,partition,delay] [--fault-ms MS]\n"
    "                         [--settle-ms MS] [--rate R] [--producers P]\n"
    "                         [--msg-size B] [--consumers N] [--consumer-churn N]\n"
    "                         [--no-netns] [--broker key=value]...\n"
    "                         [--bin-dir DIR] [--keep] [--failing-listener] [--acl] [--tls]\n"
    "                         [--certs-dir DIR]\n"
    "Per mode a fresh local cluster (brokers in network namespaces as root), a seeded\n"
    "schedule of faults while producers and consumers run, then every queue and every\n"
    "delivery checked. Exit status 0 only if every mode passed.\n"
    "--failing-listener: the consumers fail 10 % of the messages once and 0.1 % always (by\n"
    "message, from the seed); every acked message must then be consumed or in the group's\n"
    "%DLQ%, which is read at the end (retry levels 1 s unless --broker messageDelayLevel=...).\n";

int chaos_usage(const std::string& why) {
  if (!why.empty()) std::cerr << "comet-bench chaos: " << why << "\n";
  std::cerr << kChaosUsage << kSecurityUsage;
  return 2;
}

int chaos_help() {
  std::cout << kChaosUsage << kSecurityUsage;
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
  struct Failing {
    uint64_t failed_deliveries = 0;  // listener answers RECONSUME_LATER
    uint64_t fail_always_acked = 0;  // acked messages the listener fails every time
    uint64_t in_dlq = 0;             // distinct messages read from the DLQ
    uint64_t dlq_unexpected = 0;     // in the DLQ, though the listener consumes them in the end
  };
  std::optional<Failing> failing;  // with --failing-listener
  bool may_lose = false;           // async replication
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
  // `plan`: which deliveries the listener fails (nullptr: none).
  ConsumerGroup(std::string namesrv, std::string topic, DeliveryLog& log, FailurePlan* plan)
      : namesrv_(std::move(namesrv)), topic_(std::move(topic)), log_(log), plan_(plan) {}
  ~ConsumerGroup() { stop(); }

  Status add() {
    client::ClientConfig cfg = bench_client_config(namesrv_);
    cfg.client_id = client_id("chaos-consumer-" + std::to_string(started_++));
    auto c = std::make_unique<client::PushConsumer>(std::string(kGroup), cfg);
    c->set_consume_from_where(client::ConsumeFromWhere::kFirstOffset);
    // A failure is the whole batch's: one message a batch when failing on purpose.
    c->set_consume_message_batch_max_size(plan_ != nullptr ? 1 : 16);
    COMET_RETURN_IF_ERROR(c->subscribe(topic_));
    c->register_message_listener([this](const std::vector<client::MessageExt>& msgs) {
      if (fails(msgs)) return client::ConsumeStatus::kReconsumeLater;
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
  bool fails(const std::vector<client::MessageExt>& msgs) {
    if (plan_ == nullptr) return false;
    bool fail = false;
    for (const auto& m : msgs) {
      if (auto id = BodyMaker::parse(m.body)) fail |= plan_->fail_delivery(id->producer, id->seq);
    }
    return fail;
  }

  const std::string namesrv_, topic_;
  DeliveryLog& log_;
  FailurePlan* const plan_;
  std::vector<std::unique_ptr<client::PushConsumer>> members_;
  int started_ = 0;
};

// Reads the dead-letter queue `topic` into `dead`: every queue to its end, then long polls until
// `complete()` (a message fails its last time a while after the others were consumed) or
// `timeout`. No DLQ route and nothing expected: nothing was dead-lettered.
Status read_dead_letters(const std::string& namesrv, const std::string& topic, Verifier& dead,
                         const std::function<bool()>& complete, std::chrono::milliseconds timeout) {
  client::ClientConfig cfg = bench_client_config(namesrv);
  cfg.client_id = client_id("dlq-reader");
  client::PullConsumer consumer("comet-bench-dlq", cfg);
  consumer.set_broker_suspend_max_time(2s);
  consumer.set_pull_timeout_when_suspend(5s);
  COMET_RETURN_IF_ERROR(consumer.start());
  const auto deadline = Clock::now() + timeout;
  auto timed_out = [&](const std::string& why) {
    return Status::timeout(fmt::format("reading {} back took longer than {} s: {}", topic,
                                       timeout.count() / 1000, why));
  };
  // The broker creates the DLQ when a message first fails for good; its route reaches the name
  // server with the broker's next registration.
  auto queues = consumer.fetch_subscribe_message_queues(topic);
  while (!queues.is_ok()) {
    if (complete()) return Status::ok();
    if (Clock::now() >= deadline) return timed_out(queues.status().to_string());
    wait_out(1s);
    queues = consumer.fetch_subscribe_message_queues(topic);
  }
  std::vector<uint64_t> next(queues->size(), 0);
  int errors = 0;
  for (bool first_pass = true; first_pass || !complete(); first_pass = false) {
    for (size_t qi = 0; qi < queues->size(); ++qi) {
      const client::MessageQueue& mq = (*queues)[qi];
      for (bool more = true; more;) {
        if (Clock::now() >= deadline) return timed_out("not every expected message is there");
        auto r = first_pass ? consumer.pull(mq, "*", next[qi], 64)
                            : consumer.pull_block_if_not_found(mq, "*", next[qi], 64);
        if (!r.is_ok()) {
          if (++errors > 20) return r.status();
          continue;
        }
        for (const auto& m : r->msgs)
          dead.found(static_cast<uint32_t>(qi), m.body);
        more = r->status == client::PullStatus::kFound && r->next_begin_offset > next[qi];
        next[qi] = std::max(next[qi], r->next_begin_offset);
      }
    }
  }
  return Status::ok();
}

ChaosResult::Failing failing_figures(const FailurePlan& plan, const Verifier& acked,
                                     const Verifier& dead) {
  ChaosResult::Failing f;
  f.failed_deliveries = plan.failed_deliveries();
  for (uint32_t p = 0; p < acked.producers(); ++p) {
    for (uint64_t seq = 0; seq < acked.per_producer(); ++seq) {
      const bool always = plan.fate(p, seq) == Fate::kFailAlways;
      f.fail_always_acked += always && acked.is_acked(p, seq);
      f.in_dlq += dead.was_found(p, seq);
      f.dlq_unexpected += dead.was_found(p, seq) && !always;
    }
  }
  return f;
}

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

  std::vector<std::string> broker_args = o.broker_args;
  if (o.failing_listener &&
      std::none_of(broker_args.begin(), broker_args.end(),
                   [](const std::string& a) { return a.starts_with("messageDelayLevel="); })) {
    broker_args.emplace_back(kFastRetryLevels);
  }
  auto cluster = BenchCluster::start(mode, bin, dir, broker_args, 60s, lab.get());
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
  Verifier dead(static_cast<uint32_t>(o.send.producers), per_producer);  // the DLQ read back
  std::unique_ptr<FailurePlan> plan;
  if (o.failing_listener) {
    plan =
        std::make_unique<FailurePlan>(seed, static_cast<uint32_t>(o.send.producers), per_producer);
  }
  ConsumerGroup consumers(c.namesrv_addr(), topic, deliveries, plan.get());
  for (int i = 0; i < o.consumers && s.is_ok(); ++i)
    s = consumers.add();
  if (!s.is_ok()) {
    r.error = "consumers: " + s.to_string();
    return r;
  }
  if (o.consumers > 0) {
    note(fmt::format("{} consumers of group {} up{}", o.consumers, kGroup,
                     plan ? ", failing 10 % of the messages once and 0.1 % always" : ""));
  }
  SendStats stats;
  std::atomic<bool> stop{false};
  Status schedule_status;

  DeliveryLog::Counts last_delivery;
  auto schedule = [&] {
    for (int cycle = 1; cycle <= o.cycles; ++cycle) {
      // A broker that exited without a fault (a crash) fails the run, said at once; it is
      // restarted so that the rest of the schedule still tells something.
      for (size_t i = 0; i < c.broker_count(); ++i) {
        if (c.alive(i)) continue;
        const std::string why =
            fmt::format("{} exited by itself before cycle {}", c.broker_label(i), cycle);
        note(why);
        if (r.error.empty()) r.error = why;
        (void)c.restart(i);
      }
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
    auto fails_always = [&](uint32_t p, uint64_t seq) {
      return plan && plan->fate(p, seq) == Fate::kFailAlways;
    };
    const uint64_t missing = deliveries.wait_for_acked(verifier, 120s, fails_always);
    note(missing == 0 ? std::string("every acked message was delivered to the consumers") +
                            (plan ? " (those failed for good left out)" : "")
                      : fmt::format("{} acked messages not delivered after 120 s", missing));
    if (plan) {
      // While the consumers still run: the messages failed for good reach the DLQ after their
      // last retry.
      note("reading the dead-letter queue back");
      auto all_dead = [&] {
        for (uint32_t p = 0; p < verifier.producers(); ++p) {
          for (uint64_t seq = 0; seq < verifier.per_producer(); ++seq) {
            if (verifier.is_acked(p, seq) && fails_always(p, seq) && !dead.was_found(p, seq)) {
              return false;
            }
          }
        }
        return true;
      };
      if (Status ds = read_dead_letters(c.namesrv_addr(), dlq_topic(kGroup), dead, all_dead, 180s);
          !ds.is_ok() && r.error.empty()) {
        r.error = "dead letters: " + ds.to_string();
      }
    }
    consumers.stop();
  }
  note("reading back");
  if (Status rb = read_back(c.namesrv_addr(), topic, stats.acked_ends, verifier, 180s);
      !rb.is_ok()) {
    if (r.error.empty()) r.error = "reading back: " + rb.to_string();
  }
  r.verify = verifier.report();
  if (o.consumers > 0) r.delivery = deliveries.report(&verifier, plan ? &dead : nullptr);
  if (plan) r.failing = failing_figures(*plan, verifier, dead);
  c.stop();
  // The network goes before the directory its log is in.
  in_hub.reset();
  lab.reset();
  if (!r.passed()) print_log_excerpts(dir, r.mode);
  finish_run_dir(dir, o.keep || !r.passed(), r.mode);
  return r;
}

// --failing-listener: what the listener failed, and where those messages ended.
void print_failing(const std::vector<ChaosResult>& results) {
  const bool any = std::any_of(results.begin(), results.end(), [](const ChaosResult& r) {
    return r.failing.has_value() && r.delivery.has_value();
  });
  if (!any) return;
  std::cout << "\nThe failing listener (10 % of the messages failed once, 0.1 % always):\n\n"
               "| mode | failed deliveries | acked, failed always | in the DLQ | acked, "
               "dead-lettered | in the DLQ, not failed always | acked, neither consumed nor in "
               "the DLQ |\n"
               "|---|--:|--:|--:|--:|--:|--:|\n";
  for (const auto& r : results) {
    if (!r.failing || !r.delivery) continue;
    const ChaosResult::Failing& f = *r.failing;
    std::cout << fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", r.mode, f.failed_deliveries,
                             f.fail_always_acked, f.in_dlq, r.delivery->dead_lettered,
                             f.dlq_unexpected, r.delivery->verify.lost);
  }
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
    // A dead-lettered message was not delivered either (the failing listener's table says where
    // it is).
    const uint64_t undelivered = v.lost + d.dead_lettered;
    std::cout << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", r.mode,
                             r.churns, d.deliveries, v.acked - undelivered, undelivered,
                             d.redelivered, d.stored_copies, v.reordered, v.unacked_found,
                             d.vanished, v.corrupt + v.changed);
    for (const auto& ex : v.lost_examples)
      std::cout << "  not delivered: " << ex << "\n";
  }
  print_failing(results);
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
    } else if (a == "--failing-listener") {
      o.failing_listener = true;
    } else if (auto taken = parse_security_option(args, o.security); taken != OptionTaken::kNo) {
      if (taken == OptionTaken::kBad) return chaos_usage(args.bad());
    } else {
      return chaos_usage(args.bad());
    }
  }
  if (o.failing_listener && o.consumers == 0) {
    return chaos_usage("--failing-listener needs consumers (--consumers N > 0)");
  }
  if (o.netns) {
    if (std::string why = netns_unavailable(); !why.empty()) {
      std::cout << "chaos: " << why << ": brokers on 127.0.0.1, process faults only\n";
      o.netns = false;
    }
  }
  auto bin = Binaries::find(o.bin_dir);
  if (!bin.is_ok()) return chaos_usage(bin.status().message());
  auto security = prepare_security(o.security, /*local=*/true, "chaos");
  if (!security.is_ok()) return chaos_usage(security.status().message());
  const ScopedBenchSecurity secured(std::move(*security), o.keep);
  // make-certs.sh's server certificate names 127.0.0.1 and localhost, not the namespaces' hosts.
  if (o.netns) skip_hostname_check();
  const uint64_t seed =
      o.seed ? o.seed
             : static_cast<uint64_t>(Clock::now().time_since_epoch().count()) % 1000000 + 1;
  std::cout << fmt::format(
      "chaos: {} cycles per mode of {} ms fault + {} ms settle, {} msgs/s "
      "from {} producers, seed {} (--seed {} replays the schedule){}\n",
      o.cycles, o.fault.count(), o.settle.count(), o.send.rate, o.send.producers, seed, seed,
      bench_security().secured() ? ", " + bench_security().label() : "");
  std::vector<ChaosResult> results;
  for (Mode m : o.modes)
    results.push_back(run_mode(o, *bin, m, seed));
  print_results(results);
  const bool all =
      std::all_of(results.begin(), results.end(), [](const ChaosResult& r) { return r.passed(); });
  return all ? 0 : 1;
}

}  // namespace comet::bench
