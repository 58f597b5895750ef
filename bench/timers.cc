#include "bench/timers.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_cluster.h"
#include "common/args.h"
#include "common/child_process.h"
#include "common/process_usage.h"
#include "common/record_codec.h"
#include "remoting/remoting_client.h"

namespace comet::bench {
namespace {

using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;
using namespace std::chrono_literals;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RemotingCommand timer_topic_request(const std::string& topic) {
  auto req = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC);
  protocol::UpdateTopicRequestT ext;
  ext.config = std::make_unique<protocol::TopicConfigT>();
  ext.config->topic_name = topic;
  ext.config->read_queue_nums = 1;
  ext.config->write_queue_nums = 1;
  ext.config->perm = 6;
  req.set_ext(std::move(ext));
  return req;
}

RemotingCommand timer_send(const std::string& topic, const std::string& body, int64_t due_ms) {
  auto req = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  protocol::SendMessageRequestT ext;
  ext.producer_group = "bench-timers";
  ext.topic = topic;
  ext.queue_id = 0;
  req.set_ext(std::move(ext));
  const std::string props = encode_properties({{"TIMER_DELIVER_MS", std::to_string(due_ms)}});
  Message m;
  m.topic = topic;
  m.body = body;
  m.properties = props;
  m.born_timestamp_ms = wall_ms();
  std::string out(record::encoded_size(m), '\0');
  record::encode(m, 0, 0, 0, {}, reinterpret_cast<uint8_t*>(out.data()));
  req.body.owned = std::move(out);
  return req;
}

RemotingCommand pull(const std::string& topic, int64_t offset) {
  auto req = RemotingCommand::request(RequestCode::PULL_MESSAGE);
  protocol::PullMessageRequestT ext;
  ext.consumer_group = "bench-timers";
  ext.topic = topic;
  ext.queue_id = 0;
  ext.queue_offset = offset;
  ext.max_msg_nums = 32;
  ext.suspend_timeout_millis = 1000;
  ext.commit_offset = -1;
  ext.subscription = "*";
  req.set_ext(std::move(ext));
  return req;
}

// Sends `count` timers with `window` in flight; due_of(i) is the i-th due time. Failures.
int64_t send_timers(remoting::RemotingClient& client, const std::string& addr,
                    const std::string& topic, int64_t count, int window,
                    const std::function<int64_t(int64_t)>& due_of) {
  std::mutex mu;
  std::condition_variable cv;
  int inflight = 0;
  int64_t failed = 0;
  for (int64_t i = 0; i < count; ++i) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return inflight < window; });
      ++inflight;
    }
    client.invoke_async(addr, timer_send(topic, fmt::format("timer-{:08}", i), due_of(i)), 30s,
                        [&](Result<RemotingCommand> r) {
                          std::lock_guard lock(mu);
                          if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) ++failed;
                          --inflight;
                          cv.notify_one();
                        });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return inflight == 0; });
  return failed;
}

// The queue offset the broker's timer checkpoint says it inserted up to (-1: none yet).
int64_t checkpointed_offset(const std::string& store) {
  std::ifstream in(store + "/timer/checkpoint");
  std::string magic;
  int64_t offset = -1;
  in >> magic >> offset;
  return in ? offset : -1;
}

// RSS once it stops moving (the broker pre-faults its CommitLog segment in the background after
// start): two reads a second apart within 1 MiB, for at most 60 s.
ProcessUsage settled_rss(pid_t pid) {
  ProcessUsage last = read_process_usage(pid);
  for (int i = 0; i < 60; ++i) {
    std::this_thread::sleep_for(1s);
    const ProcessUsage now = read_process_usage(pid);
    if (std::abs(now.vm_rss_kib - last.vm_rss_kib) < 1024) return now;
    last = now;
  }
  return last;
}

Result<std::unique_ptr<ChildProcess>> start_broker(const Binaries& bins, const std::string& dir,
                                                   std::string* addr) {
  COMET_ASSIGN_OR_RETURN(
      auto proc,
      ChildProcess::spawn({bins.broker, "listenPort=0", "haListenPort=0", "bindAddress=127.0.0.1",
                           "brokerName=bench-timers", "storePathRootDir=" + dir + "/store"},
                          dir + "/broker.log"));
  COMET_ASSIGN_OR_RETURN(std::string line, proc->wait_for_line("ready on", 120s));
  *addr = ChildProcess::address_in(line);
  return proc;
}

}  // namespace

int run_timers(int argc, char** argv) {
  int64_t pending = 1'000'000;
  int64_t sample = 10'000;
  int window = 512;
  std::string bin_dir;
  bool keep = false;
  Args args(argc, argv, 2);
  auto usage = [&] {
    std::cerr << "comet-bench timers [--timers N] [--sample M] [--window W] [--bin-dir D] "
                 "[--keep]: "
              << args.bad() << "\n";
    return 2;
  };
  while (args.next()) {
    const std::string& a = args.option();
    std::optional<int64_t> n;
    std::optional<std::string> v;
    if (a == "--timers" && (n = args.count(1))) {
      pending = *n;
    } else if (a == "--sample" && (n = args.count(1))) {
      sample = *n;
    } else if (a == "--window" && (n = args.count(1))) {
      window = static_cast<int>(std::min<int64_t>(*n, 65536));
    } else if (a == "--bin-dir" && (v = args.value())) {
      bin_dir = *v;
    } else if (a == "--keep" && !args.has_attached_value()) {
      keep = true;
    } else {
      return usage();
    }
  }
  auto bins = Binaries::find(bin_dir);
  if (!bins.is_ok()) {
    std::cerr << bins.status().to_string() << "\n";
    return 1;
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "comet-timers-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return 1;
  const std::string dir = tmpl;
  std::string addr;
  auto broker = start_broker(*bins, dir, &addr);
  if (!broker.is_ok()) {
    std::cerr << broker.status().to_string() << "\n";
    return 1;
  }
  remoting::RemotingClient client;
  for (const char* topic : {"BenchTimers", "BenchDue"}) {
    auto r = client.invoke(addr, timer_topic_request(topic), 10s);
    if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) return 1;
  }
  const ProcessUsage idle = settled_rss((*broker)->pid());

  // Pending: due one to two hours ahead, spread so that every tick of the wheel holds some.
  const int64_t base = wall_ms() + 3'600'000;
  const auto send_start = std::chrono::steady_clock::now();
  const int64_t failed = send_timers(client, addr, "BenchTimers", pending, window,
                                     [&](int64_t i) { return base + (i * 7919) % 3'600'000; });
  const double send_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - send_start).count();
  // Wait (bounded) until the broker's schedule holds every one of them.
  const auto inserted_by = std::chrono::steady_clock::now() + 300s;
  while (checkpointed_offset(dir + "/store") < pending - failed &&
         std::chrono::steady_clock::now() < inserted_by) {
    std::this_thread::sleep_for(500ms);
  }
  const ProcessUsage loaded = settled_rss((*broker)->pid());

  // Restart with them pending.
  (*broker)->stop();
  const auto restart_start = std::chrono::steady_clock::now();
  broker = start_broker(*bins, dir, &addr);
  if (!broker.is_ok()) {
    std::cerr << broker.status().to_string() << "\n";
    return 1;
  }
  const double restart_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - restart_start).count();
  const ProcessUsage restarted = settled_rss((*broker)->pid());

  // Lateness of a sample falling due over 10 s while the rest stays pending.
  const int64_t due_base = wall_ms() + 5'000;
  std::vector<int64_t> due(static_cast<size_t>(sample));
  for (int64_t i = 0; i < sample; ++i)
    due[static_cast<size_t>(i)] = due_base + (i * 7919) % 10'000;
  const int64_t sample_failed = send_timers(client, addr, "BenchDue", sample, window,
                                            [&](int64_t i) { return due[size_t(i)]; });
  std::vector<int64_t> late;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (int64_t offset = 0; static_cast<int64_t>(late.size()) < sample - sample_failed &&
                           std::chrono::steady_clock::now() < deadline;) {
    auto r = client.invoke(addr, pull("BenchDue", offset), 5s);
    if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) continue;
    const std::string body = r->body.to_string();
    const auto* p = reinterpret_cast<const uint8_t*>(body.data());
    for (size_t pos = 0; pos < body.size();) {
      auto d = record::decode(p + pos, body.size() - pos, true);
      if (d.outcome != record::Outcome::kRecord) break;
      const int64_t i = std::stoll(std::string(d.record.body.substr(6)));
      late.push_back(d.record.store_timestamp_ms - due[static_cast<size_t>(i)]);
      pos += d.size;
      ++offset;
    }
  }
  std::sort(late.begin(), late.end());
  auto pct = [&](size_t p) { return late.empty() ? -1 : late[(late.size() - 1) * p / 100]; };
  std::cout << fmt::format(
      "timers: {} pending sent in {:.1f} s ({} failed)\n"
      "  RSS idle:      VmRSS {} MiB, RssAnon {} MiB, RssFile {} MiB\n"
      "  RSS pending:   VmRSS {} MiB, RssAnon {} MiB, RssFile {} MiB (+{} MiB, +{} MiB, +{} MiB "
      "over idle)\n"
      "  restart:       {:.2f} s to ready; then VmRSS {} MiB, RssAnon {} MiB, RssFile {} MiB\n"
      "  lateness of {} of {} timers due over 10 s: p50 {} ms, p99 {} ms, max {} ms\n",
      pending, send_s, failed, idle.vm_rss_kib / 1024, idle.rss_anon_kib / 1024,
      idle.rss_file_kib / 1024, loaded.vm_rss_kib / 1024, loaded.rss_anon_kib / 1024,
      loaded.rss_file_kib / 1024, (loaded.vm_rss_kib - idle.vm_rss_kib) / 1024,
      (loaded.rss_anon_kib - idle.rss_anon_kib) / 1024,
      (loaded.rss_file_kib - idle.rss_file_kib) / 1024, restart_s, restarted.vm_rss_kib / 1024,
      restarted.rss_anon_kib / 1024, restarted.rss_file_kib / 1024, late.size(), sample, pct(50),
      pct(99), late.empty() ? -1 : late.back());
  (*broker)->stop();
  finish_run_dir(dir, keep, "timers");
  return failed == 0 && static_cast<int64_t>(late.size()) == sample ? 0 : 1;
}

}  // namespace comet::bench
