#include "bench/routes.h"

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_cluster.h"
#include "bench/latency_histogram.h"
#include "common/args.h"
#include "common/child_process.h"
#include "common/process_usage.h"
#include "remoting/remoting_client.h"
#include "remoting/rocketmq_codec.h"

namespace comet::bench {
namespace {

using remoting::RemotingClient;
using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;
using namespace std::chrono_literals;
namespace rmq = remoting::rocketmq;

constexpr int32_t kRocketmqGetRouteInfo = 105;
constexpr auto kRequestTimeout = 30s;

struct RoutesOptions {
  int brokers = 10;
  int topics = 10'000;  // per broker
  int connections = 8;
  int seconds = 10;         // per lookup protocol
  int quiet_seconds = 20;   // per heartbeat kind
  int heartbeat_ms = 1000;  // comet-broker's heartbeatIntervalMs default
  // What the brokers send during the lookups: small heartbeats, or (--heartbeats full) their
  // whole table every interval, as comet brokers did before BROKER_HEARTBEAT.
  bool full_during_lookups = false;
  std::string bin_dir;
  bool keep = false;
};

std::string topic_of(int broker, int topic) {
  return fmt::format("RouteTopic-{:02}-{:05}", broker, topic);
}

// One synthetic broker: a master of its own group, with its own topics.
struct SyntheticBroker {
  std::string name;
  std::string addr;  // never contacted: the name server does not call brokers
  int index = 0;

  template <typename Request>
  void fill_identity(Request& r) const {
    r.cluster_name = "BenchCluster";
    r.broker_name = name;
    r.broker_addr = addr;
    r.broker_id = 0;
    r.ha_server_addr = addr;
    r.epoch = 1;
    r.heartbeat_timeout_millis = 120'000;
    r.data_version = std::make_unique<protocol::DataVersionT>();
    r.data_version->timestamp_ms = 1;
    r.data_version->counter = 1;
  }

  RemotingCommand registration(int topics) const {
    protocol::RegisterBrokerRequestT r;
    fill_identity(r);
    r.topic_configs.reserve(static_cast<size_t>(topics));
    for (int t = 0; t < topics; ++t) {
      auto tc = std::make_unique<protocol::TopicConfigT>();
      tc->topic_name = topic_of(index, t);
      tc->read_queue_nums = 8;
      tc->write_queue_nums = 8;
      tc->perm = 6;
      r.topic_configs.push_back(std::move(tc));
    }
    auto req = RemotingCommand::request(RequestCode::REGISTER_BROKER);
    req.set_ext(std::move(r));
    return req;
  }

  RemotingCommand heartbeat() const {
    protocol::BrokerHeartbeatRequestT h;
    fill_identity(h);
    auto req = RemotingCommand::request(RequestCode::BROKER_HEARTBEAT);
    req.set_ext(std::move(h));
    return req;
  }
};

enum class HeartbeatKind { kSmall, kFull };

// The brokers' heartbeats, every interval on a thread of its own, small or full, until stopped.
class HeartbeatLoop {
 public:
  HeartbeatLoop(RemotingClient& client, std::string namesrv,
                const std::vector<SyntheticBroker>& brokers, int topics,
                std::chrono::milliseconds interval)
      : client_(client),
        namesrv_(std::move(namesrv)),
        brokers_(brokers),
        topics_(topics),
        interval_(interval),
        thread_([this] { run(); }) {}
  ~HeartbeatLoop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void set_kind(HeartbeatKind kind) {
    std::lock_guard lock(mu_);
    kind_ = kind;
  }
  int64_t failures() const { return failures_.load(); }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval_, [&] { return stopping_; })) {
      const HeartbeatKind kind = kind_;
      lock.unlock();
      for (const auto& b : brokers_) {
        auto req = kind == HeartbeatKind::kSmall ? b.heartbeat() : b.registration(topics_);
        auto r = client_.invoke(namesrv_, std::move(req), kRequestTimeout);
        const auto* answer = r.is_ok() ? r->ext<protocol::RegisterBrokerResponseT>() : nullptr;
        if (!answer || r->response_code() != ResponseCode::SUCCESS ||
            answer->full_registration_needed) {
          failures_.fetch_add(1);
        }
      }
      lock.lock();
    }
  }

  RemotingClient& client_;
  const std::string namesrv_;
  const std::vector<SyntheticBroker>& brokers_;
  const int topics_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  HeartbeatKind kind_ = HeartbeatKind::kSmall;
  std::atomic<int64_t> failures_{0};
  std::thread thread_;  // last: starts once the rest is built
};

// A RocketMQ 4.x client's GET_ROUTEINFO_BY_TOPIC over a blocking socket: the name server
// answers code 0 with the route's JSON, or 17 (TOPIC_NOT_EXIST).
class RocketmqRouteClient {
 public:
  Status connect(const std::string& addr) {
    const auto colon = addr.rfind(':');
    asio::error_code ec;
    socket_.connect({asio::ip::make_address(addr.substr(0, colon), ec),
                     static_cast<uint16_t>(std::stoi(addr.substr(colon + 1)))},
                    ec);
    if (ec) return Status::unavailable("connect " + addr + ": " + ec.message());
    socket_.set_option(asio::ip::tcp::no_delay(true));
    return Status::ok();
  }
  // True when the route came back.
  bool lookup(const std::string& topic) {
    rmq::Command cmd;
    cmd.code = kRocketmqGetRouteInfo;
    cmd.opaque = ++opaque_;
    cmd.ext.set("topic", topic);
    asio::error_code ec;
    asio::write(socket_, asio::buffer(rmq::encode_frame(cmd)), ec);
    if (ec) return false;
    uint8_t prefix_bytes[rmq::kPrefixSize];
    asio::read(socket_, asio::buffer(prefix_bytes), ec);
    if (ec) return false;
    auto prefix = rmq::decode_prefix(prefix_bytes, 64 << 20);
    if (!prefix.is_ok()) return false;
    rest_.resize(prefix->rest());
    asio::read(socket_, asio::buffer(rest_), ec);
    if (ec) return false;
    auto answer = rmq::decode_frame_rest(*prefix, reinterpret_cast<const uint8_t*>(rest_.data()));
    return answer.is_ok() && answer->code == 0 && answer->opaque == cmd.opaque &&
           !answer->body.empty();
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_{io_};
  std::string rest_;
  int32_t opaque_ = 0;
};

struct LookupReport {
  int64_t lookups = 0;
  int64_t failures = 0;
  double seconds = 0;
  double namesrv_cpu_s = 0;
  uint64_t p50_us = 0, p99_us = 0, max_us = 0;
};

// `connections` threads, each with a connection of its own, look up random topics for `seconds`.
template <typename MakeLookup>
LookupReport run_lookups(const RoutesOptions& o, pid_t namesrv, MakeLookup make_lookup) {
  LatencyHistogram histogram;
  std::atomic<int64_t> failures{0};
  const double cpu_before = process_cpu_seconds(namesrv);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(o.seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      auto lookup = make_lookup();
      std::mt19937_64 rng(static_cast<uint64_t>(c) * 7919 + 1);
      std::uniform_int_distribution<int> broker(0, o.brokers - 1), topic(0, o.topics - 1);
      if (!lookup(topic_of(0, 0))) failures.fetch_add(1);  // connects: not timed
      while (std::chrono::steady_clock::now() < deadline) {
        const std::string name = topic_of(broker(rng), topic(rng));
        const auto sent = std::chrono::steady_clock::now();
        const bool ok = lookup(name);
        histogram.record(std::chrono::steady_clock::now() - sent);
        if (!ok) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads)
    t.join();
  LookupReport r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.namesrv_cpu_s = process_cpu_seconds(namesrv) - cpu_before;
  r.lookups = static_cast<int64_t>(histogram.count());
  r.failures = failures.load();
  r.p50_us = histogram.percentile_us(0.50);
  r.p99_us = histogram.percentile_us(0.99);
  r.max_us = histogram.max_us();
  return r;
}

void print_lookups(std::string_view protocol, const LookupReport& r) {
  std::cout << fmt::format(
      "| {} | {:.0f} | {} | {} | {} | {:.1f} | {} |\n", protocol,
      static_cast<double>(r.lookups) / r.seconds, r.p50_us, r.p99_us, r.max_us,
      r.lookups > 0 ? r.namesrv_cpu_s * 1e6 / static_cast<double>(r.lookups) : 0.0, r.failures);
}

struct QuietReport {
  double cpu_s = 0;
  double seconds = 0;
  int64_t rss_anon_kib = 0;
};

// The name server's CPU over `seconds` of heartbeats of `kind`.
QuietReport measure_quiet(HeartbeatLoop& loop, HeartbeatKind kind, int seconds, pid_t namesrv) {
  loop.set_kind(kind);
  const double before = process_cpu_seconds(namesrv);
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // the window measured
  QuietReport r;
  r.cpu_s = process_cpu_seconds(namesrv) - before;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.rss_anon_kib = read_process_usage(namesrv).rss_anon_kib;
  return r;
}

int usage(const Args& args) {
  std::cerr
      << "comet-bench routes [--brokers B] [--topics T] [--connections C] [--seconds D]\n"
         "                   [--quiet-seconds Q] [--heartbeat-ms H] [--heartbeats small|full]\n"
         "                   [--bin-dir D] [--keep]"
      << (args.bad().empty() ? "" : ": " + args.bad()) << "\n";
  return 2;
}

std::optional<RoutesOptions> parse(int argc, char** argv, int& exit_code) {
  RoutesOptions o;
  Args args(argc, argv, 2);
  while (args.next()) {
    const std::string& a = args.option();
    std::optional<int64_t> n;
    std::optional<std::string> v;
    auto to_int = [](int64_t x) { return static_cast<int>(std::min<int64_t>(x, 1'000'000)); };
    if (a == "--brokers" && (n = args.count(1))) {
      o.brokers = to_int(*n);
    } else if (a == "--topics" && (n = args.count(1))) {
      o.topics = to_int(*n);
    } else if (a == "--connections" && (n = args.count(1))) {
      o.connections = std::min(to_int(*n), 256);
    } else if (a == "--seconds" && (n = args.count(1))) {
      o.seconds = to_int(*n);
    } else if (a == "--quiet-seconds" && (n = args.count(1))) {
      o.quiet_seconds = to_int(*n);
    } else if (a == "--heartbeat-ms" && (n = args.count(1))) {
      o.heartbeat_ms = to_int(*n);
    } else if (a == "--heartbeats" && (v = args.value()) && (*v == "small" || *v == "full")) {
      o.full_during_lookups = *v == "full";
    } else if (a == "--bin-dir" && (v = args.value())) {
      o.bin_dir = *v;
    } else if (a == "--keep" && !args.has_attached_value()) {
      o.keep = true;
    } else {
      exit_code = usage(args);
      return std::nullopt;
    }
  }
  return o;
}

Result<std::unique_ptr<ChildProcess>> start_namesrv(const RoutesOptions& o, const std::string& dir,
                                                    std::string* addr) {
  COMET_ASSIGN_OR_RETURN(Binaries bins, Binaries::find(o.bin_dir));
  COMET_ASSIGN_OR_RETURN(
      auto proc, ChildProcess::spawn({bins.namesrv, "listenPort=0", "bindAddress=127.0.0.1"},
                                     dir + "/namesrv.log"));
  COMET_ASSIGN_OR_RETURN(std::string line, proc->wait_for_line("ready on", 30s));
  *addr = ChildProcess::address_in(line);
  return proc;
}

// Registers every broker fully, one after another; the slowest registration's milliseconds.
Result<double> register_brokers(RemotingClient& client, const std::string& namesrv,
                                const std::vector<SyntheticBroker>& brokers, int topics) {
  double slowest_ms = 0;
  for (const auto& b : brokers) {
    const auto sent = std::chrono::steady_clock::now();
    auto r = client.invoke(namesrv, b.registration(topics), kRequestTimeout);
    if (!r.is_ok()) return r.status();
    if (r->response_code() != ResponseCode::SUCCESS) {
      return Status::unavailable("registration of " + b.name + ": " + r->remark());
    }
    slowest_ms = std::max(
        slowest_ms,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count());
  }
  return slowest_ms;
}

int run(const RoutesOptions& o, const std::string& dir) {
  std::string namesrv_addr;
  auto namesrv = start_namesrv(o, dir, &namesrv_addr);
  if (!namesrv.is_ok()) {
    std::cerr << "comet-bench routes: " << namesrv.status().to_string() << "\n";
    return 1;
  }
  const pid_t pid = (*namesrv)->pid();
  const int64_t idle_anon_kib = read_process_usage(pid).rss_anon_kib;
  std::vector<SyntheticBroker> brokers;
  for (int i = 0; i < o.brokers; ++i)
    brokers.push_back(
        {fmt::format("bench-broker-{:02}", i), fmt::format("127.0.0.1:{}", 1 + i), i});

  RemotingClient client;
  const double cpu_before = process_cpu_seconds(pid);
  auto slowest = register_brokers(client, namesrv_addr, brokers, o.topics);
  if (!slowest.is_ok()) {
    std::cerr << "comet-bench routes: " << slowest.status().to_string() << "\n";
    return 1;
  }
  const double register_cpu_s = process_cpu_seconds(pid) - cpu_before;
  const int64_t registered_anon_kib = read_process_usage(pid).rss_anon_kib;
  std::cout << fmt::format(
      "name server at {} topics ({} brokers x {}): RssAnon {:.1f} MiB idle, {:.1f} MiB "
      "registered; a full registration of {} topics took at most {:.1f} ms, {:.1f} ms of name "
      "server CPU each\n\n",
      o.brokers * o.topics, o.brokers, o.topics, idle_anon_kib / 1024.0,
      registered_anon_kib / 1024.0, o.topics, *slowest, register_cpu_s * 1000 / o.brokers);

  HeartbeatLoop heartbeats(client, namesrv_addr, brokers, o.topics,
                           std::chrono::milliseconds(o.heartbeat_ms));
  heartbeats.set_kind(o.full_during_lookups ? HeartbeatKind::kFull : HeartbeatKind::kSmall);
  std::cout << fmt::format(
      "route lookups, {} connections, {} s each, {} every {} ms meanwhile:\n\n", o.connections,
      o.seconds, o.full_during_lookups ? "full registrations" : "small heartbeats", o.heartbeat_ms);
  std::cout << "| protocol | lookups/s | p50 µs | p99 µs | max µs | name server CPU µs/lookup "
               "| failed |\n|---|---|---|---|---|---|---|\n";
  print_lookups("native", run_lookups(o, pid, [&] {
                  auto c = std::make_shared<RemotingClient>();
                  return [c, &namesrv_addr](const std::string& topic) {
                    auto req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
                    protocol::GetRouteInfoRequestT q;
                    q.topic = topic;
                    req.set_ext(std::move(q));
                    auto r = c->invoke(namesrv_addr, std::move(req), kRequestTimeout);
                    return r.is_ok() && r->response_code() == ResponseCode::SUCCESS;
                  };
                }));
  print_lookups("RocketMQ 4.x", run_lookups(o, pid, [&] {
                  auto c = std::make_shared<RocketmqRouteClient>();
                  const bool connected = c->connect(namesrv_addr).is_ok();
                  return [c, connected](const std::string& topic) {
                    return connected && c->lookup(topic);
                  };
                }));

  std::cout << fmt::format(
      "\nquiet period, {} s each: the brokers' heartbeats only, every {} ms\n\n", o.quiet_seconds,
      o.heartbeat_ms);
  std::cout << "| heartbeat | name server CPU s | CPU % of a core | RssAnon MiB |\n"
               "|---|---|---|---|\n";
  for (auto [kind, label] : {std::pair{HeartbeatKind::kSmall, "BROKER_HEARTBEAT (small)"},
                             std::pair{HeartbeatKind::kFull, "REGISTER_BROKER (full table)"}}) {
    const QuietReport q = measure_quiet(heartbeats, kind, o.quiet_seconds, pid);
    std::cout << fmt::format("| {} | {:.3f} | {:.2f} | {:.1f} |\n", label, q.cpu_s,
                             100 * q.cpu_s / q.seconds, q.rss_anon_kib / 1024.0);
  }
  if (heartbeats.failures() > 0) {
    std::cerr << fmt::format("comet-bench routes: {} heartbeats failed\n", heartbeats.failures());
    return 1;
  }
  (*namesrv)->stop();
  return 0;
}

}  // namespace

int run_routes(int argc, char** argv) {
  int exit_code = 0;
  auto options = parse(argc, argv, exit_code);
  if (!options) return exit_code;
  if (options->brokers < 1 || options->topics < 1 || options->connections < 1 ||
      options->seconds < 1 || options->heartbeat_ms < 1) {
    std::cerr << "comet-bench routes: every count must be positive\n";
    return 2;
  }
  auto dir = make_run_dir("routes");
  if (!dir.is_ok()) {
    std::cerr << dir.status().to_string() << "\n";
    return 1;
  }
  const int rc = run(*options, *dir);
  finish_run_dir(*dir, options->keep, "comet-bench routes");
  return rc;
}

}  // namespace comet::bench
