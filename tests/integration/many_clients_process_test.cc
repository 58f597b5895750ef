// A thousand clients on one broker (issue 25): real comet-namesrv and comet-broker processes,
// started with the soft descriptor limit most shells give (1,024), and 1,000 raw wire clients in
// 500 consumer groups holding 10,000 long-poll pulls over 20 topics x 8 queues. It checks that
// the broker raised its own limit, that a message wakes exactly the pulls held on its queue, that
// the others stay held until their suspend time, that heartbeats and a quiet period cost bounded
// CPU, and that a membership change notifies only that group. It prints the figures
// docs/benchmarks.md quotes ("Many clients"). A second test takes descriptors away from a broker
// and checks that it waits for them without spinning, logs why, and serves again once they return.
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

// COMET_BIN_DIR=<dir> runs the comet-namesrv and comet-broker found there instead of this build's
// (the before/after figures of docs/benchmarks.md, "Many clients"). LocalCluster (cluster.h)
// names the binaries by these macros, which the other process tests get from CMake.
namespace comet::testing {
inline std::string bin_of(const char* name, const char* built) {
  const char* dir = std::getenv("COMET_BIN_DIR");
  return dir != nullptr && *dir != 0 ? std::string(dir) + "/" + name : std::string(built);
}
}  // namespace comet::testing
#define COMET_NAMESRV_BIN ::comet::testing::bin_of("comet-namesrv", COMET_BUILT_NAMESRV_BIN)
#define COMET_BROKER_BIN ::comet::testing::bin_of("comet-broker", COMET_BUILT_BROKER_BIN)

#include "common/open_files_limit.h"
#include "common/process_usage.h"
#include "integration/cluster.h"
#include "integration/wire_socket.h"

namespace comet::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kClients = 1000;
constexpr int kGroups = 500;  // two clients each
constexpr int kTopics = 20;
constexpr int kQueuesPerTopic = 8;
constexpr int kPullsPerClient = 10;
constexpr int kPulls = kClients * kPullsPerClient;
constexpr int kWakeRounds = 24;           // one message each, to a queue of its own
constexpr auto kSuspend = 15s;            // the broker's suspendMaxTimeMillis by default
constexpr auto kWakeBound = 2s;           // every woken pull answers within this
constexpr auto kSilenceWindow = 300ms;    // nobody else hears anything within this
constexpr rlim_t kShellSoftLimit = 1024;  // what the servers are started with
constexpr int kHeartbeatRounds = 10;
constexpr double kHeartbeatRoundCpuMax = 0.5;  // broker CPU seconds for 1,000 heartbeats
constexpr double kQuietCpuMax = 0.25;          // broker CPU seconds in 2 s with nothing to do

std::string topic_name(int t) {
  return "ManyClients-" + std::to_string(t);
}

// Pull k of the whole fleet: client k / 10 holds pulls k..k+9, so a client pulls one queue id of
// ten topics and every queue has 62 or 63 pulls held on it, from as many clients.
struct QueueRef {
  int topic = 0;
  int queue = 0;
  auto operator<=>(const QueueRef&) const = default;
};
QueueRef queue_of_pull(int k) {
  return {k % kTopics, (k / kTopics) % kQueuesPerTopic};
}

struct OutstandingPull {
  QueueRef where;
  int64_t offset = 0;
  Clock::time_point sent;
};

// One client: its connection, its group, the pulls it has not had answered, and how many
// NOTIFY_CONSUMER_IDS_CHANGED the broker sent it.
struct FleetClient {
  WireSocket socket;
  std::string id;
  std::string group;
  std::map<uint32_t, OutstandingPull> pulls;  // by opaque
  int notices = 0;
};

// Every request of the fleet gets an opaque of its own (answers are matched by it).
uint32_t next_opaque() {
  static uint32_t next = 1;
  return next++;
}

RemotingCommand heartbeat_of(const FleetClient& c) {
  auto req = RemotingCommand::request(RequestCode::HEART_BEAT);
  req.header.opaque = next_opaque();
  protocol::HeartbeatRequestT hb;
  hb.client_id = c.id;
  hb.language = "CPP";
  auto data = std::make_unique<protocol::ConsumerDataT>();
  data->group_name = c.group;
  data->consume_type = "CONSUME_PASSIVELY";
  data->message_model = "CLUSTERING";
  data->consume_from_where = "CONSUME_FROM_LAST_OFFSET";
  for (int t = 0; t < kTopics; ++t) {
    auto sub = std::make_unique<protocol::SubscriptionT>();
    sub->topic = topic_name(t);
    sub->expression = "*";
    data->subscriptions.push_back(std::move(sub));
  }
  hb.consumers.push_back(std::move(data));
  req.set_ext(std::move(hb));
  return req;
}

// A producer's heartbeat: the broker keeps it in memory only (a consumer's would create the
// group's config, a store write).
RemotingCommand producer_heartbeat_of(const FleetClient& c) {
  auto req = RemotingCommand::request(RequestCode::HEART_BEAT);
  req.header.opaque = next_opaque();
  protocol::HeartbeatRequestT hb;
  hb.client_id = c.id;
  hb.producer_groups = {c.group};
  req.set_ext(std::move(hb));
  return req;
}

RemotingCommand held_pull_of(const FleetClient& c, QueueRef q, int64_t offset) {
  auto req = pull_request(topic_name(q.topic), q.queue, offset, 32,
                          std::chrono::duration_cast<std::chrono::milliseconds>(kSuspend).count());
  req.header.ext.AsPullMessageRequest()->consumer_group = c.group;
  req.header.opaque = next_opaque();
  return req;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Sets this process's soft RLIMIT_NOFILE (children inherit it).
void set_soft_open_files(rlim_t soft) {
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  lim.rlim_cur = std::min(soft, lim.rlim_max);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0) << std::strerror(errno);
}

// "Max open files  <soft>  <hard>  files" from /proc/<pid>/limits: the soft figure.
uint64_t soft_open_files_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(sizeof("Max open files") - 1));
    uint64_t soft = 0;
    fields >> soft;
    return soft;
  }
  return 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class ManyClientsProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The servers start as from a shell with the usual soft limit; this process then takes its
    // hard limit, as it holds a thousand sockets itself.
    rlimit lim{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_max < 2 * kClients + 200) {
      GTEST_SKIP() << "hard RLIMIT_NOFILE " << lim.rlim_max << " is below what 1,000 clients need";
    }
    set_soft_open_files(kShellSoftLimit);
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    Status namesrv = cluster_->start_namesrv();
    Result<std::string> broker = cluster_->start_broker("broker-a");
    ASSERT_TRUE(raise_open_files_limit().is_ok());
    ASSERT_TRUE(namesrv.is_ok()) << namesrv.to_string();
    ASSERT_TRUE(broker.is_ok()) << broker.status().to_string();
    broker_addr_ = *broker;
    broker_pid_ = cluster_->broker("broker-a")->pid();
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  Result<RemotingCommand> call(RemotingCommand req) {
    return cluster_->client().invoke(broker_addr_, std::move(req), 10s);
  }

  // Sends one frame per client and reads each client's answer (NOTIFY_CONSUMER_IDS_CHANGED on
  // the way counted). A connection answers in order, so every notice the broker queued for a
  // client before this round has been read when the round ends.
  void round_trip_all(const std::function<RemotingCommand(const FleetClient&)>& request) {
    std::vector<uint32_t> opaques(clients_.size());
    for (size_t i = 0; i < clients_.size(); ++i) {
      RemotingCommand req = request(clients_[i]);
      opaques[i] = req.opaque();
      ASSERT_TRUE(clients_[i].socket.write_all(encode_frame(req)).is_ok()) << i;
    }
    for (size_t i = 0; i < clients_.size(); ++i) {
      auto answer = next_answer(clients_[i], Clock::now() + 10s);
      ASSERT_TRUE(answer.is_ok()) << "client " << i << ": " << answer.status().to_string();
      ASSERT_EQ(answer->opaque(), opaques[i]);
      ASSERT_EQ(answer->response_code(), ResponseCode::SUCCESS) << answer->remark();
    }
  }

  // The next response on `c`'s connection; notices before it are counted.
  static Result<RemotingCommand> next_answer(FleetClient& c, Clock::time_point deadline) {
    for (int frames = 0; frames < 100; ++frames) {
      auto frame = c.socket.read_native(deadline);
      if (!frame.is_ok() || frame->is_response()) return frame;
      if (frame->code() == static_cast<int32_t>(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED)) {
        ++c.notices;
      }
    }
    return Status::corruption("100 server requests and no answer");
  }

  // The clients whose sockets have bytes to read within `wait` (0: now).
  std::vector<size_t> readable(std::chrono::milliseconds wait) {
    std::vector<pollfd> fds(clients_.size());
    for (size_t i = 0; i < clients_.size(); ++i)
      fds[i] = {clients_[i].socket.fd(), POLLIN, 0};
    std::vector<size_t> out;
    if (::poll(fds.data(), fds.size(), static_cast<int>(wait.count())) <= 0) return out;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) out.push_back(i);
    }
    return out;
  }

  int64_t held_pulls_on_broker() {
    auto r = call(RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO));
    const auto* info = r.is_ok() ? r->ext<protocol::RuntimeInfoT>() : nullptr;
    if (info == nullptr) return -1;
    for (const auto& kv : info->entries) {
      if (kv->key == "heldPullRequests") return std::stoll(kv->value);
    }
    return -1;
  }

  // Sends a message to `q` and waits for the pulls held on it; returns their wake latencies (ms,
  // from the send to the answer) and re-issues each at the next offset, so 10,000 stay held.
  void wake_one_queue(QueueRef q, std::vector<double>& latencies_ms) {
    std::map<size_t, uint32_t> expected;  // client -> the opaque of its pull on q
    for (size_t i = 0; i < clients_.size(); ++i) {
      for (const auto& [opaque, pull] : clients_[i].pulls) {
        if (pull.where == q) expected.emplace(i, opaque);
      }
    }
    ASSERT_GE(expected.size(), 62u);
    const auto sent = Clock::now();
    auto stored = call(send_request(topic_name(q.topic), q.queue, {"wake"}));
    ASSERT_TRUE(stored.is_ok() && stored->response_code() == ResponseCode::SUCCESS);
    const auto deadline = sent + kWakeBound;
    while (!expected.empty() && Clock::now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      for (size_t i : readable(std::max(left, 1ms))) {
        auto it = expected.find(i);
        ASSERT_NE(it, expected.end()) << "client " << i << " heard something; it holds no pull on "
                                      << topic_name(q.topic) << ":" << q.queue;
        auto answer = next_answer(clients_[i], deadline);
        ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
        ASSERT_EQ(answer->opaque(), it->second);
        ASSERT_EQ(answer->response_code(), ResponseCode::SUCCESS) << answer->remark();
        latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        const auto* got = answer->ext<protocol::PullMessageResponseT>();
        ASSERT_NE(got, nullptr);
        clients_[i].pulls.erase(it->second);
        expected.erase(it);
        auto again = held_pull_of(clients_[i], q, got->next_begin_offset);
        clients_[i].pulls[again.opaque()] = {q, got->next_begin_offset, Clock::now()};
        ASSERT_TRUE(clients_[i].socket.write_all(encode_frame(again)).is_ok());
      }
    }
    ASSERT_TRUE(expected.empty()) << expected.size() << " pulls on " << topic_name(q.topic) << ":"
                                  << q.queue << " not woken within " << kWakeBound.count() << " s";
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string broker_addr_;
  pid_t broker_pid_ = -1;
  std::vector<FleetClient> clients_;
};

TEST_F(ManyClientsProcessTest, ThousandClientsTenThousandHeldPulls) {
  const auto test_started = Clock::now();
  EXPECT_GT(soft_open_files_of(broker_pid_), kShellSoftLimit)
      << "the broker started with a soft limit of 1,024 and must raise it";
  EXPECT_NE(read_file(cluster_->broker("broker-a")->log_path()).find("descriptor limit"),
            std::string::npos);
  for (int t = 0; t < kTopics; ++t) {
    auto created = call(update_topic_request(topic_name(t), kQueuesPerTopic));
    ASSERT_TRUE(created.is_ok() && created->response_code() == ResponseCode::SUCCESS);
  }

  // 1,000 connections, two per group; each joiner's heartbeat notifies its group only: the first
  // member hears of itself and of the second, the second of itself.
  const ProcessUsage idle = read_process_usage(broker_pid_);
  clients_ = std::vector<FleetClient>(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients_[i].id = "client-" + std::to_string(i);
    clients_[i].group = "group-" + std::to_string(i % kGroups);
    ASSERT_TRUE(clients_[i].socket.connect(broker_addr_).is_ok()) << "client " << i;
  }
  round_trip_all(heartbeat_of);
  round_trip_all(heartbeat_of);  // flushes the first round's notices: a connection is in order
  int notices = 0;
  for (const auto& c : clients_)
    notices += c.notices;
  EXPECT_EQ(notices, 3 * kGroups);
  const ProcessUsage connected = read_process_usage(broker_pid_);
  EXPECT_GE(connected.open_fds, kClients);

  // 10,000 pulls of empty queues, held; a round trip per connection orders them before the check.
  for (int i = 0; i < kClients; ++i) {
    std::string frames;
    for (int j = 0; j < kPullsPerClient; ++j) {
      const QueueRef q = queue_of_pull(i * kPullsPerClient + j);
      auto pull = held_pull_of(clients_[i], q, 0);
      clients_[i].pulls[pull.opaque()] = {q, 0, Clock::now()};
      frames += encode_frame(pull);
    }
    ASSERT_TRUE(clients_[i].socket.write_all(frames).is_ok());
  }
  round_trip_all(heartbeat_of);
  int64_t held = -1;
  for (int asked = 0; asked < 100 && held != kPulls; ++asked)
    held = held_pulls_on_broker();
  ASSERT_EQ(held, kPulls);
  const ProcessUsage holding = read_process_usage(broker_pid_);

  // A message on one queue wakes exactly the pulls held there.
  std::vector<double> wake_ms;
  std::set<QueueRef> woken_queues;
  for (int r = 0; r < kWakeRounds; ++r) {
    const QueueRef q{r % kTopics, (r * 3) % kQueuesPerTopic};
    ASSERT_TRUE(woken_queues.insert(q).second);
    wake_one_queue(q, wake_ms);
    if (HasFatalFailure()) return;
  }
  EXPECT_TRUE(readable(kSilenceWindow).empty()) << "a pull on another queue answered";
  round_trip_all(heartbeat_of);  // the re-issued pulls reached the hold service
  held = -1;
  for (int asked = 0; asked < 100 && held != kPulls; ++asked)
    held = held_pulls_on_broker();
  EXPECT_EQ(held, kPulls) << "the woken pulls were held again";

  // Quiet: 10,000 held pulls and 1,000 idle connections cost nothing between events.
  const double quiet_before = process_cpu_seconds(broker_pid_);
  EXPECT_TRUE(readable(2000ms).empty());
  const double quiet_cpu = process_cpu_seconds(broker_pid_) - quiet_before;
  EXPECT_LT(quiet_cpu, kQuietCpuMax);
  // /proc counts CPU in 10 ms ticks: ten rounds make the figure per round finer than a tick.
  const double rounds_before = process_cpu_seconds(broker_pid_);
  for (int r = 0; r < kHeartbeatRounds; ++r)
    round_trip_all(heartbeat_of);
  const double heartbeat_cpu =
      (process_cpu_seconds(broker_pid_) - rounds_before) / kHeartbeatRounds;
  EXPECT_LT(heartbeat_cpu, kHeartbeatRoundCpuMax);

  // A member joins group-7 and leaves: its two members hear of it each time, nobody else does.
  for (auto& c : clients_)
    c.notices = 0;
  {
    FleetClient joiner;
    joiner.id = "joiner";
    joiner.group = "group-7";
    ASSERT_TRUE(joiner.socket.connect(broker_addr_).is_ok());
    ASSERT_TRUE(joiner.socket.write_all(encode_frame(heartbeat_of(joiner))).is_ok());
    auto joined = next_answer(joiner, Clock::now() + 5s);
    ASSERT_TRUE(joined.is_ok() && joined->response_code() == ResponseCode::SUCCESS);
    EXPECT_EQ(joiner.notices, 1);
    for (size_t member : {7u, 507u}) {
      const auto deadline = Clock::now() + 5s;
      auto notice = clients_[member].socket.read_native(deadline);
      ASSERT_TRUE(notice.is_ok()) << notice.status().to_string();
      EXPECT_EQ(notice->code(), static_cast<int32_t>(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED));
    }
  }  // the joiner's connection closes: it leaves the group
  for (size_t member : {7u, 507u}) {
    auto notice = clients_[member].socket.read_native(Clock::now() + 5s);
    ASSERT_TRUE(notice.is_ok()) << notice.status().to_string();
    EXPECT_EQ(notice->code(), static_cast<int32_t>(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED));
  }
  EXPECT_TRUE(readable(kSilenceWindow).empty()) << "a client outside group-7 heard of its change";

  // The pulls never woken answer once their suspend time is up, not before.
  const auto suspend_ms = std::chrono::duration_cast<std::chrono::milliseconds>(kSuspend);
  const auto last_deadline = Clock::now() + kSuspend + 5s;
  size_t timed_out = 0, early = 0;
  for (size_t answered = 0;
       answered < static_cast<size_t>(kPulls) && Clock::now() < last_deadline;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(last_deadline - Clock::now());
    for (size_t i : readable(std::max(left, 1ms))) {
      auto answer = next_answer(clients_[i], last_deadline);
      ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
      auto it = clients_[i].pulls.find(answer->opaque());
      ASSERT_NE(it, clients_[i].pulls.end());
      EXPECT_NE(answer->response_code(), ResponseCode::SUCCESS) << "no message was sent there";
      if (Clock::now() - it->second.sent < suspend_ms - 500ms) ++early;
      clients_[i].pulls.erase(it);
      ++answered;
      ++timed_out;
    }
  }
  EXPECT_EQ(timed_out, static_cast<size_t>(kPulls));
  EXPECT_EQ(early, 0u) << "pulls answered before their suspend time with nothing to say";

  const double rss_per_connection_kib =
      static_cast<double>(connected.rss_anon_kib - idle.rss_anon_kib) / kClients;
  const double rss_per_pull_kib =
      static_cast<double>(holding.rss_anon_kib - connected.rss_anon_kib) / kPulls;
  std::printf(
      "many clients: %d connections, %d groups, %d held pulls on %d queues\n"
      "  wake latency with %d held: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu pulls, %d rounds)\n"
      "  broker CPU per heartbeat round of %d: %.4f s (mean of %d); quiet 2 s: %.3f s\n"
      "  RssAnon: idle %lld KiB, +%.1f KiB per connection, +%.2f KiB per held pull; fds %lld\n"
      "  test time %.1f s\n",
      kClients, kGroups, kPulls, kTopics * kQueuesPerTopic, kPulls, percentile(wake_ms, 0.5),
      percentile(wake_ms, 0.99), percentile(wake_ms, 1.0), wake_ms.size(), kWakeRounds, kClients,
      heartbeat_cpu, kHeartbeatRounds, quiet_cpu, static_cast<long long>(idle.rss_anon_kib),
      rss_per_connection_kib, rss_per_pull_kib, static_cast<long long>(connected.open_fds),
      std::chrono::duration<double>(Clock::now() - test_started).count());
}

// A broker out of descriptors leaves new connections in the listen backlog without spinning,
// says which limit it hit, and takes them once descriptors are free again.
TEST_F(ManyClientsProcessTest, OutOfDescriptorsWaitsWithoutSpinningAndRecovers) {
  constexpr int kSpare = 8, kClientsTried = 24;
  const ProcessUsage before = read_process_usage(broker_pid_);
  ASSERT_GT(before.open_fds, 0);
  const rlim_t cap = static_cast<rlim_t>(before.open_fds + kSpare);
  rlimit lim{cap, cap};
  ASSERT_EQ(::prlimit(broker_pid_, RLIMIT_NOFILE, &lim, nullptr), 0) << std::strerror(errno);

  clients_ = std::vector<FleetClient>(kClientsTried);
  for (int i = 0; i < kClientsTried; ++i) {
    clients_[i].id = "client-" + std::to_string(i);
    clients_[i].group = "group-" + std::to_string(i);
    // The kernel completes the handshake; the broker accepts only while it has descriptors.
    ASSERT_TRUE(clients_[i].socket.connect(broker_addr_).is_ok()) << i;
    ASSERT_TRUE(
        clients_[i].socket.write_all(encode_frame(producer_heartbeat_of(clients_[i]))).is_ok());
  }
  // For a second the served keep their descriptors: the rest wait, and the broker must not spin.
  const double cpu_before = process_cpu_seconds(broker_pid_);
  std::vector<size_t> served;
  const auto window_end = Clock::now() + 1000ms;
  while (Clock::now() < window_end) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(window_end - Clock::now());
    for (size_t i : readable(std::max(left, 1ms))) {
      if (std::find(served.begin(), served.end(), i) != served.end()) continue;
      auto answer = next_answer(clients_[i], Clock::now() + 1s);
      ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
      served.push_back(i);
    }
  }
  const double waiting_cpu = process_cpu_seconds(broker_pid_) - cpu_before;
  EXPECT_LT(waiting_cpu, 0.3) << "the accept loop spins while out of descriptors";
  std::printf("out of descriptors: %zu of %d clients served at first, broker CPU %.2f s in 1 s\n",
              served.size(), kClientsTried, waiting_cpu);
  ASSERT_GT(served.size(), 0u);
  ASSERT_LT(served.size(), static_cast<size_t>(kClientsTried)) << "nobody had to wait";

  // Each served client gives its descriptor back; those waiting are taken in turn.
  for (size_t i : served)
    clients_[i].socket.close();
  const auto deadline = Clock::now() + 15s;
  while (served.size() < static_cast<size_t>(kClientsTried) && Clock::now() < deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    for (size_t i : readable(std::max(left, 1ms))) {
      auto answer = next_answer(clients_[i], Clock::now() + 1s);
      ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
      served.push_back(i);
      clients_[i].socket.close();
    }
  }
  EXPECT_EQ(served.size(), static_cast<size_t>(kClientsTried));
  const std::string log = read_file(cluster_->broker("broker-a")->log_path());
  EXPECT_NE(log.find("RLIMIT_NOFILE"), std::string::npos) << "the broker did not say why";
  EXPECT_NE(log.find("listen backlog"), std::string::npos);
}

}  // namespace
}  // namespace comet::testing
