// DLedger groups as real processes: three comet-broker members of one Raft group and a name
// server on 127.0.0.1. A producer runs while the leader is killed with -9 again and again (and
// restarted); afterwards every acknowledged message must be at the queue offset its send
// reported, exactly once, on every member, and the members' queues must be identical.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "integration/metadata_offsets.h"
#include "integration/netns.h"
#include "producer/producer.h"

namespace comet::testing {
namespace {

using client::ClientConfig;
using client::Producer;
using client::ProducerMessage;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = 60s;
constexpr int kMembers = 3;
constexpr int kQueues = 4;

struct Acked {
  std::string body;
  uint32_t queue = 0;
  uint64_t offset = 0;
};

class DLedgerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
    peers_ = dledger_peers(kMembers);
    ASSERT_FALSE(peers_.empty()) << "no free port";
    for (int i = 0; i < kMembers; ++i)
      ASSERT_NO_FATAL_FAILURE(start_member(i));
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  static std::string id(int i) { return dledger_member_id(i); }

  void start_member(int i) {
    std::vector<std::string> settings = dledger_member_settings("dl-a", peers_, i);
    settings.insert(settings.end(),
                    {"slaveSyncIntervalMs=" + slave_sync_interval_ms_, "defaultTopicQueueNums=4",
                     // Small segments: entries that end one segment and start the next are common.
                     "mappedFileSizeCommitLog=65536", "maxMessageSize=16384"});
    auto addr = cluster_->start_broker_as(id(i), "dl-a", std::move(settings));
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    addrs_[i] = *addr;
  }

  Result<protocol::DLedgerStatusT> status(int i) {
    auto r = cluster_->client().invoke(
        addrs_[i], RemotingCommand::request(RequestCode::GET_DLEDGER_STATUS), 5s);
    if (!r.is_ok()) return r.status();
    const auto* s = r->ext<protocol::DLedgerStatusT>();
    if (r->response_code() != ResponseCode::SUCCESS || s == nullptr) {
      return Status::unavailable("GET_DLEDGER_STATUS: " + r->remark());
    }
    return *s;
  }

  // The member that leads, as its own status says (-1 if none does).
  int leader() {
    for (int i = 0; i < kMembers; ++i) {
      if (!alive_[i]) continue;
      auto s = status(i);
      if (s.is_ok() && s->role == "LEADER") return i;
    }
    return -1;
  }

  ClientConfig config(const std::string& client_id) { return cluster_->client_config(client_id); }

  // Queue `queue` of member `i` from offset 0 up to `end` (long-polling for what has not
  // arrived yet), as bodies in queue order.
  std::vector<std::string> read_queue(int i, const std::string& topic, uint32_t queue,
                                      uint64_t end) {
    std::vector<std::string> out;
    const auto deadline = Clock::now() + kWait;
    while (out.size() < end && Clock::now() < deadline) {
      auto r = cluster_->client().invoke(addrs_[i],
                                         pull_request(topic, static_cast<int32_t>(queue),
                                                      static_cast<int64_t>(out.size()), 32, 2000),
                                         10s);
      if (!r.is_ok()) continue;
      for (auto& b : bodies_of(*r))
        out.push_back(std::move(b));
    }
    out.resize(std::min<size_t>(out.size(), end));
    return out;
  }

  std::string slave_sync_interval_ms_ = "200";
  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string peers_;
  std::string addrs_[kMembers];
  bool alive_[kMembers] = {true, true, true};
};

TEST_F(DLedgerProcessTest, EveryAckedMessageSurvivesRepeatedLeaderKillsOnEveryMember) {
  const std::string topic = "DLTopic";
  const int first = next_leader_announced(cluster_->broker(id(0)));
  ASSERT_GE(first, 0) << "no leader elected";
  auto created =
      cluster_->client().invoke(addrs_[first], update_topic_request(topic, kQueues), 10s);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  ASSERT_EQ(created->response_code(), ResponseCode::SUCCESS) << created->remark();
  Producer producer("dl-producer", config("dl-producer@test"));
  producer.set_send_msg_timeout(3000ms);
  // No resend of a send whose outcome is unknown: each body is sent once, so a body found twice
  // would be a duplicate made by the group, not by the client.
  producer.set_retry_times_when_send_failed(0);
  ASSERT_TRUE(producer.start().is_ok());

  std::mutex mu;
  std::condition_variable cv;
  std::vector<Acked> acked;
  std::map<std::string, int> failure_kinds;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int64_t> last_ack_ns{0};
  std::thread sender([&] {
    for (int i = 0; !stop.load() && i < 1'000'000; ++i) {
      ProducerMessage m{topic, "m-" + std::to_string(i), "", "", {}, 0};
      auto r = producer.send(m);
      if (r.is_ok() && r->status == client::SendStatus::kSendOk) {
        std::lock_guard lock(mu);
        acked.push_back({m.body, r->queue_id, r->queue_offset});
        last_ack_ns = Clock::now().time_since_epoch().count();
        cv.notify_all();
      } else {
        failures.fetch_add(1);
        std::lock_guard lock(mu);
        ++failure_kinds[r.is_ok() ? std::string(client::send_status_name(r->status))
                                  : r.status().to_string().substr(0, 160)];
        // Back off as an application would after a failed send (the next one is a new message
        // either way); without it the loop would hammer the dead leader's port from one core.
        std::this_thread::sleep_for(5ms);
      }
    }
  });
  // Waits (bounded) until `n` more sends are acknowledged; true when they were.
  auto wait_acks = [&](size_t n) {
    std::unique_lock lock(mu);
    const size_t target = acked.size() + n;
    return cv.wait_for(lock, kWait, [&] { return acked.size() >= target; });
  };

  ASSERT_TRUE(wait_acks(500)) << "no leader took writes";
  std::vector<long long> failover_ms;
  for (int round = 0; round < 3; ++round) {
    const int victim = leader();
    ASSERT_GE(victim, 0) << "no member says it leads";
    cluster_->broker(id(victim))->kill9();
    alive_[victim] = false;
    const auto killed = Clock::now();
    const int64_t killed_ns = killed.time_since_epoch().count();
    // The first acknowledgement after the kill comes from a new leader.
    ASSERT_TRUE(wait_acks(1)) << "round " << round << ": no send acknowledged after the kill";
    failover_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                              Clock::time_point(Clock::duration(last_ack_ns.load())) - killed)
                              .count());
    EXPECT_GT(last_ack_ns.load(), killed_ns);
    ASSERT_TRUE(wait_acks(300));
    ASSERT_NO_FATAL_FAILURE(start_member(victim));
    alive_[victim] = true;
    ASSERT_TRUE(wait_acks(300));
  }
  stop = true;
  sender.join();
  producer.shutdown();

  // Every member: each queue up to the last acknowledged offset, identical everywhere, each
  // acknowledged body exactly at its offset, no body twice.
  std::map<uint32_t, uint64_t> ends;
  for (const Acked& a : acked)
    ends[a.queue] = std::max(ends[a.queue], a.offset + 1);
  std::map<uint32_t, std::vector<std::string>> reference;
  for (int i = 0; i < kMembers; ++i) {
    for (const auto& [queue, end] : ends) {
      auto bodies = read_queue(i, topic, queue, end);
      ASSERT_EQ(bodies.size(), end) << "member " << id(i) << " queue " << queue;
      std::set<std::string> distinct(bodies.begin(), bodies.end());
      EXPECT_EQ(distinct.size(), bodies.size()) << "a duplicate on " << id(i) << " q" << queue;
      if (i == 0) {
        reference[queue] = std::move(bodies);
      } else {
        EXPECT_EQ(bodies, reference[queue]) << "member " << id(i) << " differs in queue " << queue;
      }
    }
  }
  for (const Acked& a : acked) {
    const auto& q = reference[a.queue];
    ASSERT_LT(a.offset, q.size());
    EXPECT_EQ(q[a.offset], a.body) << "queue " << a.queue << " offset " << a.offset;
  }
  std::string figures;
  for (long long ms : failover_ms)
    figures += " " + std::to_string(ms);
  for (const auto& [k, n] : failure_kinds)
    std::printf("  failed %d x %s\n", n, k.c_str());
  std::printf("dledger: %zu acknowledged, %d failed sends, failover (kill -9 to first ack) ms:%s\n",
              acked.size(), failures.load(), figures.c_str());
}

// With the periodic sync off (an hour), only the Raft log carries consumer offsets: a follower
// holds what consumers committed on the leader within a moment, and whichever member leads after
// the leader is killed answers those offsets.
class DLedgerOffsetTest : public DLedgerProcessTest {
 protected:
  DLedgerOffsetTest() { slave_sync_interval_ms_ = "3600000"; }
};

TEST_F(DLedgerOffsetTest, ConsumerOffsetsFollowLeadership) {
  const std::string topic = "DLOffsets";
  const int first = next_leader_announced(cluster_->broker(id(0)));
  ASSERT_GE(first, 0) << "no leader elected";
  auto created =
      cluster_->client().invoke(addrs_[first], update_topic_request(topic, kQueues), 10s);
  ASSERT_TRUE(created.is_ok() && created->response_code() == ResponseCode::SUCCESS);
  OffsetMap committed;
  for (int q = 0; q < kQueues; ++q) {
    auto r = cluster_->client().invoke(addrs_[first],
                                       commit_offset_request("dl-group", topic, q, 200 + q), 10s);
    ASSERT_TRUE(r.is_ok() && r->response_code() == ResponseCode::SUCCESS);
    committed[offset_key("dl-group", topic, q)] = 200 + q;
  }
  for (int i = 0; i < kMembers; ++i) {
    if (i == first) continue;
    EXPECT_EQ(await_replicated_offsets(cluster_->client(), addrs_[i], committed, 30s), committed)
        << "member " << id(i);
  }

  cluster_->broker(id(first))->kill9();
  alive_[first] = false;
  const int watcher = (first + 1) % kMembers;
  int next = first;
  for (int announced = 0; announced < 8 && next == first; ++announced)
    next = next_leader_announced(cluster_->broker(id(watcher)));
  ASSERT_GE(next, 0) << "no new leader";
  ASSERT_NE(next, first);
  EXPECT_EQ(query_offsets(cluster_->client(), addrs_[next], "dl-group", topic, kQueues), committed);
}

TEST_F(DLedgerProcessTest, AdminShowsTheGroupAndTransfersLeadership) {
  const std::string topic = "DLAdmin";
  const int first = next_leader_announced(cluster_->broker(id(0)));
  ASSERT_GE(first, 0) << "no leader elected";
  auto created =
      cluster_->client().invoke(addrs_[first], update_topic_request(topic, kQueues), 10s);
  ASSERT_TRUE(created.is_ok() && created->response_code() == ResponseCode::SUCCESS);
  Producer producer("dl-admin-producer", config("dl-admin-producer@test"));
  ASSERT_TRUE(producer.start().is_ok());
  auto send_some = [&](int from, int n) {
    int ok = 0;
    for (int i = from; i < from + n; ++i) {
      auto r = producer.send(ProducerMessage{topic, "a-" + std::to_string(i), "", "", {}, 0});
      ok += r.is_ok() && r->status == client::SendStatus::kSendOk;
    }
    return ok;
  };
  ASSERT_EQ(send_some(0, 100), 100);

  auto admin = [&](std::vector<std::string> args) {
    args.insert(args.begin(), COMET_ADMIN_BIN);
    args.push_back("-n");
    args.push_back(cluster_->namesrv_addr());
    return run_process(args);
  };
  auto shown = admin({"dledgerStatus", "-b", "dl-a"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("LEADER"), std::string::npos) << shown.out;
  for (int i = 0; i < kMembers; ++i)
    EXPECT_NE(shown.out.find(id(i)), std::string::npos) << shown.out;
  auto json = admin({"dledgerStatus", "-b", "dl-a", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"LEADER\""), std::string::npos) << json.out;

  const int target = (first + 1) % kMembers;
  auto moved = admin({"transferLeader", "-b", "dl-a", "-t", id(target)});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_NE(moved.out.find(id(target) + " leads"), std::string::npos) << moved.out;
  auto s = status(target);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->role, "LEADER");
  EXPECT_EQ(s->leader_id, id(target));
  // The producer follows the move through the name server.
  EXPECT_EQ(send_some(100, 100), 100);

  auto bad = admin({"transferLeader", "-b", "dl-a", "-t", "n9"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("not a member"), std::string::npos) << bad.err;
  auto promote = cluster_->client().invoke(addrs_[first], promote_slave_request(99), 10s);
  ASSERT_TRUE(promote.is_ok());
  EXPECT_EQ(promote->response_code(), ResponseCode::BAD_REQUEST);
  EXPECT_NE(promote->remark().find("transferLeader"), std::string::npos) << promote->remark();
  producer.shutdown();
}

// A leader cut off from the rest of its group by a real network partition: member n0 lives in
// network namespace A, n1 and n2 in B, joined by a veth pair the test takes down. No name server:
// the test speaks to the members directly (its own threads live in A).
class DLedgerNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = NetnsPair::unavailable(); !why.empty()) GTEST_SKIP() << why;
    net_ = std::make_unique<NetnsPair>(dir_.path());
    Status s = net_->create();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    in_a_ = std::make_unique<InNetns>(net_->ns_a());
    ASSERT_TRUE(in_a_->status().is_ok()) << in_a_->status().to_string();
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    const std::string a = NetnsPair::kAddrA, b = NetnsPair::kAddrB;
    // Fixed ports are safe: the namespaces are new and hold nothing else.
    hosts_ = {a, b, b};
    const std::string peers = "n0-" + a + ":40911;n1-" + b + ":40911;n2-" + b + ":40912";
    for (int i = 0; i < kMembers; ++i) {
      std::optional<InNetns> in_b;
      if (i > 0) {
        in_b.emplace(net_->ns_b());
        ASSERT_TRUE(in_b->status().is_ok()) << in_b->status().to_string();
      }
      auto addr = cluster_->start_broker_as(
          "n" + std::to_string(i), "dl-n",
          {"enableDLegerCommitLog=true", "dLegerPeers=" + peers,
           "dLegerSelfId=n" + std::to_string(i), "bindAddress=" + hosts_[i],
           "brokerIP1=" + hosts_[i], "syncFlushTimeout=1500"});
      ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
      addrs_[i] = *addr;
    }
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
    cluster_.reset();  // members killed and reaped before their namespaces go
    in_a_.reset();
    net_.reset();
  }

  // What is left of the test's budget, at most `cap`: the waits below share one budget, kept
  // well under ctest's 300 s timeout so a group that never recovers fails with its logs printed
  // instead of being killed silently.
  std::chrono::milliseconds left(std::chrono::milliseconds cap = kWait) const {
    auto l = std::chrono::duration_cast<std::chrono::milliseconds>(budget_ - Clock::now());
    return std::clamp(l, std::chrono::milliseconds(0), cap);
  }

  Result<RemotingCommand> send(int member, int first, int count) {
    std::vector<std::string> bodies;
    for (int i = first; i < first + count; ++i)
      bodies.push_back("p-" + std::to_string(i));
    return cluster_->client().invoke(addrs_[member],
                                     send_request("DLNet", (first / count) % kQueues, bodies), 10s);
  }

  TempDir dir_;
  std::unique_ptr<NetnsPair> net_;
  std::unique_ptr<InNetns> in_a_;
  std::unique_ptr<LocalCluster> cluster_;
  std::vector<std::string> hosts_;
  std::string addrs_[kMembers];
  Clock::time_point budget_ = Clock::now() + 180s;
};

TEST_F(DLedgerNetnsTest, APartitionedLeaderCannotAckAndRejoinsAsFollower) {
  Leadership first = next_leadership_announced(cluster_->broker("n0"), left());
  const int leader = first.member;
  ASSERT_GE(leader, 0) << "no leader elected";
  int64_t n0_term = first.term;  // the term n0 leads in when the partition comes
  if (leader != 0) {
    // n0, alone in namespace A, is to be the leader the partition isolates.
    auto req = RemotingCommand::request(RequestCode::DLEDGER_TRANSFER_LEADER);
    protocol::TransferLeaderRequestT t;
    t.target_id = "n0";
    req.set_ext(std::move(t));
    auto r = cluster_->client().invoke(addrs_[leader], std::move(req), 10s);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
    const Leadership moved = next_leadership_announced(cluster_->broker("n0"), left());
    ASSERT_EQ(moved.member, 0);
    n0_term = moved.term;
  }
  for (const auto& addr : addrs_) {
    auto r = cluster_->client().invoke(addr, update_topic_request("DLNet", kQueues), 10s);
    ASSERT_TRUE(r.is_ok() && r->response_code() == ResponseCode::SUCCESS) << addr;
  }
  std::map<std::pair<uint32_t, uint64_t>, std::string> acked;  // (queue, offset) -> body
  int next = 0;
  auto send_ok = [&](int member) {
    auto r = send(member, next, 10);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
    const auto* ext = r->ext<protocol::SendMessageResponseT>();
    ASSERT_NE(ext, nullptr);
    for (int k = 0; k < 10; ++k) {
      acked[{static_cast<uint32_t>(ext->queue_id), static_cast<uint64_t>(ext->queue_offset + k)}] =
          "p-" + std::to_string(next + k);
    }
    next += 10;
  };
  for (int i = 0; i < 20; ++i)
    ASSERT_NO_FATAL_FAILURE(send_ok(0));

  // The partition: n0 keeps taking sends but can never commit one; once its lease runs out it
  // steps down and refuses them.
  ASSERT_TRUE(net_->cut().is_ok());
  int timed_out = 0, refused = 0;
  // Bodies whose sends got FLUSH_SLAVE_TIMEOUT: stored on n0, outcome unknown (they may commit
  // if n0 leads again). Refused ones were never stored.
  std::set<std::string> unknown;
  const auto deadline = Clock::now() + left();
  while (refused < 3 && Clock::now() < deadline) {
    auto r = send(0, next, 10);
    if (r.is_ok() && r->response_code() == ResponseCode::FLUSH_SLAVE_TIMEOUT) {
      for (int k = next; k < next + 10; ++k)
        unknown.insert("p-" + std::to_string(k));
    }
    next += 10;
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    const auto code = r->response_code();
    ASSERT_TRUE(code == ResponseCode::FLUSH_SLAVE_TIMEOUT ||
                code == ResponseCode::SERVICE_NOT_AVAILABLE)
        << "a send to the cut-off leader answered " << remoting::response_code_name(r->code())
        << ": " << r->remark();
    (code == ResponseCode::SERVICE_NOT_AVAILABLE ? refused : timed_out) += 1;
  }
  EXPECT_EQ(refused, 3) << "the cut-off leader never stepped down";
  // The majority, n1 and n2 in namespace B, elects one of them. (Healed before that, n0 may
  // simply win the next term again: n0 stepping down and B's election timeout are about as
  // long, and on a loaded machine B's can come second.)
  // n1's earlier lines (the first elections) are still unread: only a term after n0's counts.
  Leadership majority;
  for (int lines = 0;
       lines < 8 && !(majority.member > 0 && majority.term > n0_term) && left() > 0ms; ++lines) {
    majority = next_leadership_announced(cluster_->broker("n1"), left());
  }
  ASSERT_TRUE(majority.member > 0 && majority.term > n0_term)
      << "namespace B never elected a leader of its own";

  // Healed: n0 hears the leader B elected meanwhile, drops the tail it could not commit and
  // follows. Or n0 wins the next term itself: when B's leader had not yet copied an entry of its
  // own term to the other member of B, that member's log ends in n0's old term and is shorter
  // than n0's, so it votes for n0 (Raft's rule; it failed once in CI that way). n0 then commits
  // its tail, whose sends had unknown outcomes. Either way a leader takes sends.
  ASSERT_TRUE(net_->restore().is_ok());
  Leadership healed;
  for (int lines = 0; lines < 5 && !(healed.member >= 0 && healed.term > n0_term) && left() > 0ms;
       ++lines) {
    healed = next_leadership_announced(cluster_->broker("n0"), left());
  }
  ASSERT_TRUE(healed.member >= 0 && healed.term > n0_term)
      << "n0 never learned of a leader after the heal";
  const int now = healed.member;
  for (int i = 0; i < 10; ++i)
    ASSERT_NO_FATAL_FAILURE(send_ok(now));

  // Every acknowledged message is on every member, at its offset; a refused one is nowhere.
  std::map<uint32_t, uint64_t> ends;
  for (const auto& [key, body] : acked)
    ends[key.first] = std::max(ends[key.first], key.second + 1);
  for (int m = 0; m < kMembers; ++m) {
    for (const auto& [queue, end] : ends) {
      std::vector<std::string> bodies;
      const auto until = Clock::now() + left();
      while (bodies.size() < end && Clock::now() < until) {
        auto r =
            cluster_->client().invoke(addrs_[m],
                                      pull_request("DLNet", static_cast<int32_t>(queue),
                                                   static_cast<int64_t>(bodies.size()), 32, 2000),
                                      10s);
        if (!r.is_ok()) continue;
        for (auto& b : bodies_of(*r))
          bodies.push_back(std::move(b));
      }
      ASSERT_GE(bodies.size(), end) << "member n" << m << " queue " << queue;
      for (uint64_t o = 0; o < end; ++o) {
        auto it = acked.find({queue, o});
        if (it == acked.end()) {
          EXPECT_TRUE(unknown.contains(bodies[o]))
              << "queue " << queue << " offset " << o << " on n" << m << " holds " << bodies[o]
              << ", neither acknowledged nor of a send with an unknown outcome";
          continue;
        }
        EXPECT_EQ(bodies[o], it->second) << "member n" << m;
      }
    }
  }
  std::printf("partition: %d sends timed out, %d refused on the cut-off leader, none acked\n",
              timed_out, refused);
}

}  // namespace
}  // namespace comet::testing
