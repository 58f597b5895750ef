// Issue 24 item 4, slow disks: a broker whose store is on comet-faultfs with every fsync (and
// so every msync) delayed by seconds. SYNC_FLUSH sends time out with FLUSH_DISK_TIMEOUT after
// syncFlushTimeout; pulls, client heartbeats, offset commits and the name-server registration go
// on meanwhile, and the broker is not expired; when the disk is fast again sends succeed, and
// every acknowledged message is readable after kill -9 and a restart.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "integration/cluster.h"
#include "integration/fault_fs_cluster.h"

namespace comet::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kTopic = "SlowDisk";
constexpr auto kSyncFlushTimeout = milliseconds(1000);
constexpr auto kFsyncDelay = milliseconds(4000);
constexpr auto kBrokerExpiry = milliseconds(1500);
constexpr auto kServedWithin = milliseconds(500);

class SlowDiskTest : public FaultFsClusterTest {
 protected:
  Result<std::string> start_broker() {
    return cluster_->start_broker(
        "broker-a", {"storePathRootDir=" + fs_->path() + "/broker-a", "flushDiskType=SYNC_FLUSH",
                     "syncFlushTimeout=" + std::to_string(kSyncFlushTimeout.count()),
                     "brokerExpiryMs=" + std::to_string(kBrokerExpiry.count()),
                     "mappedFileSizeCommitLog=8388608"});
  }

  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req,
                               milliseconds timeout = milliseconds(10000)) {
    return cluster_->client().invoke(addr, std::move(req), timeout);
  }

  // A call's answer code and how long it took.
  struct Timed {
    Status status;
    ResponseCode code = ResponseCode::SYSTEM_ERROR;
    milliseconds took{0};
  };
  Timed timed_call(const std::string& addr, RemotingCommand req) {
    auto start = Clock::now();
    auto r = call(addr, std::move(req), milliseconds(5000));
    Timed t;
    t.took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    t.status = r.status();
    if (r.is_ok()) t.code = static_cast<ResponseCode>(r->response_code());
    return t;
  }

  bool broker_in_route(const std::string& addr) {
    auto req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
    protocol::GetRouteInfoRequestT rr;
    rr.topic = kTopic;
    req.set_ext(std::move(rr));
    auto route = call(cluster_->namesrv_addr(), std::move(req), milliseconds(2000));
    if (!route.is_ok() || route->response_code() != ResponseCode::SUCCESS) return false;
    const auto* rd = route->ext<protocol::TopicRouteDataT>();
    if (rd == nullptr) return false;
    for (const auto& bd : rd->broker_datas) {
      for (const auto& a : bd->broker_addrs) {
        if (a->addr == addr) return true;
      }
    }
    return false;
  }

  static RemotingCommand heartbeat() {
    auto hb = RemotingCommand::request(RequestCode::HEART_BEAT);
    protocol::HeartbeatRequestT h;
    h.client_id = "slow-disk-consumer";
    auto cd = std::make_unique<protocol::ConsumerDataT>();
    cd->group_name = "slow-disk-group";
    cd->message_model = "CLUSTERING";
    h.consumers.push_back(std::move(cd));
    hb.set_ext(std::move(h));
    return hb;
  }

  // Every body in queue 0 from offset 0, pulled until `want` are there (or the log ends).
  std::vector<std::string> pull_all(const std::string& addr, size_t want) {
    std::vector<std::string> got;
    int64_t offset = 0;
    for (int round = 0; round < 200 && got.size() < want; ++round) {
      auto pulled = call(addr, pull_request(kTopic, 0, offset, 256, 1000));
      if (!pulled.is_ok() || pulled->response_code() != ResponseCode::SUCCESS) break;
      for (auto& b : bodies_of(*pulled))
        got.push_back(std::move(b));
      offset = pulled->ext<protocol::PullMessageResponseT>()->next_begin_offset;
    }
    return got;
  }
};

TEST_F(SlowDiskTest, SyncFlushTimesOutWhileReadsHeartbeatsAndRegistrationGoOn) {
  auto broker = start_broker();
  ASSERT_TRUE(broker.is_ok()) << broker.status().to_string();
  ASSERT_EQ(call(*broker, update_topic_request(kTopic, 1))->response_code(), ResponseCode::SUCCESS);
  std::vector<std::string> acked;
  auto send = [&](const std::string& body) {
    Timed t = timed_call(*broker, send_request(kTopic, 0, {body}));
    if (t.status.is_ok() && t.code == ResponseCode::SUCCESS) acked.push_back(body);
    return t;
  };
  Timed first = send("before-0");
  ASSERT_EQ(first.code, ResponseCode::SUCCESS) << first.status.to_string();

  // The disk turns slow: every fsync, fdatasync and msync under the store waits 4 s.
  ASSERT_TRUE(fs_->set("fsync * delay=" + std::to_string(kFsyncDelay.count()) + "\n").is_ok());
  const auto stall_start = Clock::now();

  // A producer sends during the stall: each SYNC_FLUSH send is answered FLUSH_DISK_TIMEOUT
  // after about syncFlushTimeout, within the client's 5 s send timeout.
  std::atomic<bool> stop{false};
  std::vector<Timed> stalled_sends;
  std::thread producer([&] {
    for (int i = 0; i < 10 && !stop; ++i)
      stalled_sends.push_back(timed_call(*broker, send_request(kTopic, 0, {"stalled"})));
  });

  // Meanwhile, for twice the broker's expiry interval: pulls (long polls of 200 ms at the end
  // of the queue), heartbeats and offset commits are answered within kServedWithin, and the
  // name server keeps the broker in the route.
  int probes = 0;
  int64_t next_offset = 1;
  milliseconds slowest_pull{0}, slowest_heartbeat{0}, slowest_commit{0};
  while (Clock::now() - stall_start < 2 * kBrokerExpiry && probes < 100) {
    ++probes;
    auto start = Clock::now();
    auto pulled = call(*broker, pull_request(kTopic, 0, next_offset, 32, 200), milliseconds(5000));
    auto pull_took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    slowest_pull = std::max(slowest_pull, pull_took);
    ASSERT_TRUE(pulled.is_ok()) << pulled.status().to_string();
    EXPECT_LT(pull_took, kServedWithin + milliseconds(200)) << "pull " << probes;
    if (const auto* ext = pulled->ext<protocol::PullMessageResponseT>()) {
      next_offset = std::max(next_offset, ext->next_begin_offset);
    }
    Timed hb = timed_call(*broker, heartbeat());
    EXPECT_EQ(hb.code, ResponseCode::SUCCESS) << hb.status.to_string();
    EXPECT_LT(hb.took, kServedWithin) << "heartbeat " << probes;
    slowest_heartbeat = std::max(slowest_heartbeat, hb.took);
    Timed commit =
        timed_call(*broker, commit_offset_request("slow-disk-group", kTopic, 0, next_offset));
    EXPECT_EQ(commit.code, ResponseCode::SUCCESS) << commit.status.to_string();
    EXPECT_LT(commit.took, kServedWithin) << "offset commit " << probes;
    slowest_commit = std::max(slowest_commit, commit.took);
    EXPECT_TRUE(broker_in_route(*broker)) << "expired by the name server, probe " << probes;
  }
  EXPECT_GE(Clock::now() - stall_start, 2 * kBrokerExpiry) << "probes ended early";
  stop = true;
  producer.join();
  ASSERT_FALSE(stalled_sends.empty());
  std::printf("stall: %zu sends answered in", stalled_sends.size());
  for (const Timed& t : stalled_sends)
    std::printf(" %lld", static_cast<long long>(t.took.count()));
  std::printf(
      " ms; %d probes, slowest pull (200 ms long poll) %lld ms, heartbeat %lld ms, "
      "offset commit %lld ms\n",
      probes, static_cast<long long>(slowest_pull.count()),
      static_cast<long long>(slowest_heartbeat.count()),
      static_cast<long long>(slowest_commit.count()));
  for (const Timed& t : stalled_sends) {
    EXPECT_EQ(t.code, ResponseCode::FLUSH_DISK_TIMEOUT) << t.status.to_string();
    EXPECT_GE(t.took, kSyncFlushTimeout - milliseconds(50));
    EXPECT_LT(t.took, kSyncFlushTimeout + milliseconds(1000));
  }

  // The disk is fast again: sends succeed at once.
  ASSERT_TRUE(fs_->clear().is_ok());
  milliseconds slowest_after{0};
  for (int i = 0; i < 20; ++i) {
    Timed t = send("after-" + std::to_string(i));
    EXPECT_EQ(t.code, ResponseCode::SUCCESS) << t.status.to_string();
    EXPECT_LT(t.took, kSyncFlushTimeout);
    slowest_after = std::max(slowest_after, t.took);
  }
  std::printf("healed: 20 sends, slowest %lld ms\n", static_cast<long long>(slowest_after.count()));

  // kill -9 and restart: every acknowledged message is there.
  cluster_->broker("broker-a")->kill9();
  auto again = start_broker();
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  auto got = pull_all(*again, acked.size() + stalled_sends.size());
  for (const auto& body : acked) {
    EXPECT_NE(std::find(got.begin(), got.end(), body), got.end()) << body << " lost";
  }
}

}  // namespace
}  // namespace comet::testing
