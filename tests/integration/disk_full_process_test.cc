// Disk full, for real: a broker's store on a small loop-mounted ext4 file system (issue 24, items
// 1, 2 and 5). A producer sends 1 KiB messages as fast as it can until refused; the broker must
// refuse at once with SERVICE_NOT_AVAILABLE and the figures, keep serving pulls, offset commits
// and its route, accept sends again by itself when space returns, and keep every acknowledged
// message across a kill -9. With forcible cleaning, what it deletes unconsumed is logged per
// group and topic and counted in brokerStatus. A SYNC_MASTER whose slave's disk fills answers
// SLAVE_NOT_AVAILABLE or FLUSH_SLAVE_TIMEOUT within the send timeout and resumes by itself.
//
// Needs root and loop devices (CI has both); skips otherwise. The times from disk full to the
// first refused send and from space freed to the first accepted one are printed
// (docs/reliability.md quotes them).
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "integration/cluster.h"
#include "producer/producer.h"

namespace comet::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr int kBatch = 16;  // 1 KiB messages per send

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The path of a system tool (run_process execs a path, without a PATH search); empty if absent.
std::string tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    const std::string path = dir + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// A small ext4 file system in an image file, loop-mounted under `dir` for the test's lifetime.
class LoopFs {
 public:
  // Why a loop mount cannot be made here (empty when it can).
  static std::string unavailable() {
    if (::geteuid() != 0) return "needs root to mount a loop device";
    if (::access("/dev/loop-control", F_OK) != 0) return "no /dev/loop-control";
    for (const char* t : {"mkfs.ext4", "mount", "umount"}) {
      if (tool(t).empty()) return std::string("no ") + t;
    }
    return "";
  }

  LoopFs(const std::string& dir, uint64_t size_mib)
      : image_(dir + "/fs.img"), mount_point_(dir + "/mnt"), size_mib_(size_mib) {}
  ~LoopFs() {
    if (!mounted_) return;
    // Lazily if something still holds it (a broker killed a moment ago): never left mounted.
    if (run_process({tool("umount"), mount_point_}).exit_code != 0) {
      run_process({tool("umount"), "-l", mount_point_});
    }
  }
  LoopFs(const LoopFs&) = delete;
  LoopFs& operator=(const LoopFs&) = delete;

  Status mount() {
    fs::create_directories(mount_point_);
    { std::ofstream img(image_, std::ios::binary); }
    fs::resize_file(image_, size_mib_ * kMiB);
    // No reserved blocks: root and the broker see the same capacity df shows.
    RunResult made = run_process({tool("mkfs.ext4"), "-q", "-F", "-m", "0", image_});
    if (made.exit_code != 0) return Status::io_error("mkfs.ext4: " + made.err);
    RunResult mounted = run_process({tool("mount"), "-o", "loop", image_, mount_point_});
    if (mounted.exit_code != 0) return Status::io_error("mount: " + mounted.err);
    mounted_ = true;
    return Status::ok();
  }

  const std::string& path() const { return mount_point_; }

  double used_ratio() const {
    struct statvfs st {};
    if (::statvfs(mount_point_.c_str(), &st) != 0 || st.f_blocks == 0) return -1;
    return 1.0 - static_cast<double>(st.f_bfree) / static_cast<double>(st.f_blocks);
  }
  uint64_t free_bytes() const {
    struct statvfs st {};
    if (::statvfs(mount_point_.c_str(), &st) != 0) return 0;
    return st.f_bfree * st.f_frsize;
  }
  uint64_t capacity_bytes() const {
    struct statvfs st {};
    if (::statvfs(mount_point_.c_str(), &st) != 0) return 0;
    return st.f_blocks * st.f_frsize;
  }

  // Fills the file system to `ratio` with a ballast file (allocated in 1 MiB steps, synced). A
  // broker allocating segments meanwhile may fill it first: the ballast then stops at ENOSPC.
  Status fill_to(double ratio) {
    const double used = used_ratio();
    if (used >= ratio) return Status::ok();
    const auto bytes = static_cast<off_t>((ratio - used) * static_cast<double>(capacity_bytes()));
    const std::string path = mount_point_ + "/ballast" + std::to_string(ballasts_++);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::from_errno("open " + path, errno);
    constexpr off_t kStep = 1 << 20;
    int rc = 0;
    for (off_t at = 0; at < bytes && rc == 0; at += kStep) {
      rc = ::posix_fallocate(fd, at, std::min(kStep, bytes - at));
    }
    if (rc == ENOSPC) rc = 0;
    if (rc == 0 && ::fsync(fd) != 0) rc = errno;
    ::close(fd);
    if (rc != 0) return Status::from_errno("ballast " + path, rc);
    return Status::ok();
  }
  // Takes every block left (in 1 MiB, then 4 KiB steps until ENOSPC): nothing fits any more.
  void fill_completely() {
    const std::string path = mount_point_ + "/ballast" + std::to_string(ballasts_++);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    off_t end = 0;
    for (off_t step : {off_t{1} << 20, off_t{4096}}) {
      for (int i = 0; i < 200000 && ::posix_fallocate(fd, end, step) == 0; ++i)
        end += step;
    }
    ::fsync(fd);
    ::close(fd);
  }
  void free_last_ballast() {
    if (ballasts_ > 0) fs::remove(mount_point_ + "/ballast" + std::to_string(--ballasts_));
    ::sync();
  }
  // Deletes every ballast file: the space a full broker waits for.
  void free_ballast() {
    for (int i = 0; i < ballasts_; ++i)
      fs::remove(mount_point_ + "/ballast" + std::to_string(i));
    ::sync();
  }

 private:
  const std::string image_;
  const std::string mount_point_;
  const uint64_t size_mib_;
  bool mounted_ = false;
  int ballasts_ = 0;
};

std::string body_of(int64_t i) {
  std::string b = "m" + std::to_string(i) + "|";
  b.resize(1024, static_cast<char>('a' + i % 26));
  return b;
}

class DiskFullProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = LoopFs::unavailable(); !why.empty()) GTEST_SKIP() << why;
    disk_ = std::make_unique<LoopFs>(dir_.path(), 128);
    ASSERT_TRUE(disk_->mount().is_ok());
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
    cluster_.reset();  // the brokers go before their file system is unmounted
    disk_.reset();
  }

  // Settings of a broker whose store is on the small file system: 8 MiB segments, small
  // ConsumeQueue files, no message index.
  std::vector<std::string> small_store(std::vector<std::string> extra) const {
    std::vector<std::string> s = {"storePathRootDir=" + disk_->path() + "/store",
                                  "mappedFileSizeCommitLog=8388608",
                                  "mappedFileSizeConsumeQueue=60000", "messageIndexEnable=false",
                                  "cleanResourceInterval=200"};
    s.insert(s.end(), extra.begin(), extra.end());
    return s;
  }

  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req,
                               std::chrono::milliseconds timeout = 10s) {
    return cluster_->client().invoke(addr, std::move(req), timeout);
  }

  void create_topic(const std::string& addr, const std::string& topic) {
    auto r = call(addr, update_topic_request(topic, 1));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
  }

  struct Sent {
    ResponseCode code = ResponseCode::SUCCESS;
    std::string remark;
    double took_ms = 0;
    int64_t end = 0;  // queue offset past the batch, when stored
  };
  // Sends messages [first, first + kBatch) to queue 0 of `topic`.
  Sent send(const std::string& addr, const std::string& topic, int64_t first,
            std::chrono::milliseconds timeout = 5s) {
    std::vector<std::string> bodies;
    for (int64_t i = first; i < first + kBatch; ++i)
      bodies.push_back(body_of(i));
    const auto t0 = Clock::now();
    auto r = call(addr, send_request(topic, 0, bodies), timeout);
    Sent s;
    s.took_ms = ms_between(t0, Clock::now());
    if (!r.is_ok()) {
      ADD_FAILURE() << "send at " << first << ": " << r.status().to_string();
      s.code = ResponseCode::SYSTEM_ERROR;
      return s;
    }
    s.code = static_cast<ResponseCode>(r->code());
    s.remark = r->remark();
    if (const auto* ext = r->ext<protocol::SendMessageResponseT>()) {
      s.end = ext->queue_offset + ext->count;
    }
    return s;
  }

  // Every message of queue 0 below `end`: bodies in order, as sent from message 0.
  void expect_readable(const std::string& addr, const std::string& topic, int64_t from,
                       int64_t end) {
    int64_t offset = from;
    const auto deadline = Clock::now() + 30s;
    for (int rounds = 0; rounds < 100000 && offset < end && Clock::now() < deadline; ++rounds) {
      // Long-polls: the broker indexes a message a moment after acknowledging it.
      auto r = call(addr, pull_request(topic, 0, offset, 256, 1000));
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      if (r->response_code() == ResponseCode::PULL_NOT_FOUND) continue;  // held, timed out
      ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS)
          << "pull at " << offset << " of " << end << ": " << r->remark();
      const auto bodies = bodies_of(*r);
      ASSERT_FALSE(bodies.empty());
      for (const auto& b : bodies) {
        ASSERT_EQ(b, body_of(offset)) << "message at queue offset " << offset;
        ++offset;
      }
    }
    EXPECT_GE(offset, end);
  }

  int64_t max_offset(const std::string& addr, const std::string& topic) {
    auto req = RemotingCommand::request(RequestCode::GET_MAX_OFFSET);
    protocol::QueueOffsetRequestT q;
    q.topic = topic;
    q.queue_id = 0;
    req.set_ext(std::move(q));
    auto r = call(addr, std::move(req));
    const auto* ext = r.is_ok() ? r->ext<protocol::QueueOffsetResponseT>() : nullptr;
    return ext == nullptr ? 0 : ext->offset;
  }

  std::map<std::string, std::string> runtime_info(const std::string& addr) {
    std::map<std::string, std::string> out;
    auto r = call(addr, RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO));
    const auto* info = r.is_ok() ? r->ext<protocol::RuntimeInfoT>() : nullptr;
    if (info == nullptr) return out;
    for (const auto& kv : info->entries)
      out[kv->key] = kv->value;
    return out;
  }

  std::vector<std::string> route_brokers(const std::string& topic) {
    auto req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
    protocol::GetRouteInfoRequestT rr;
    rr.topic = topic;
    req.set_ext(std::move(rr));
    auto r = call(cluster_->namesrv_addr(), std::move(req));
    std::vector<std::string> out;
    const auto* rd = r.is_ok() ? r->ext<protocol::TopicRouteDataT>() : nullptr;
    if (rd == nullptr) return out;
    for (const auto& b : rd->broker_datas)
      out.push_back(b->broker_name);
    return out;
  }

  // Waits until brokerStatus says diskFull is `full` (an outside observation: asked every 20 ms,
  // for at most 5 s; the broker samples its disk every 100 ms).
  bool await_disk_full(const std::string& addr, bool full) {
    const auto deadline = Clock::now() + 5s;
    for (int i = 0; i < 250 && Clock::now() < deadline; ++i) {
      if (runtime_info(addr)["diskFull"] == (full ? "true" : "false")) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // A fill until refused, the refusal, reads while full, and the recovery once space returns.
  struct Scenario {
    const char* name;
    std::vector<std::string> settings;
    std::string remark_part;                      // what the refusal's remark must say
    std::function<bool(const LoopFs&)> full_now;  // the disk is full, as the test sees it
    bool all_indexed_while_full = true;
    bool then_no_block_left = false;  // metadata writes on a disk with nothing left
  };
  void fill_refuse_resume(const Scenario& sc);
  // With not a block left: offset commits and topic updates (RocksDB writes) succeed or are
  // refused as SERVICE_NOT_AVAILABLE, and the broker lives on.
  void expect_metadata_writes_typed(const std::string& addr, const std::string& topic) {
    disk_->fill_completely();
    for (int i = 0; i < 3; ++i) {
      auto c = call(addr, commit_offset_request("late-reader", topic, 0, i + 1));
      ASSERT_TRUE(c.is_ok()) << c.status().to_string();
      EXPECT_TRUE(c->response_code() == ResponseCode::SUCCESS ||
                  c->response_code() == ResponseCode::SERVICE_NOT_AVAILABLE)
          << c->remark();
      auto t = call(addr, update_topic_request("NoRoom" + std::to_string(i), 1));
      ASSERT_TRUE(t.is_ok()) << t.status().to_string();
      EXPECT_TRUE(t->response_code() == ResponseCode::SUCCESS ||
                  t->response_code() == ResponseCode::SERVICE_NOT_AVAILABLE)
          << t->remark();
      std::printf("no block left: offset commit %s, topic update %s (%s)\n",
                  std::string(remoting::response_code_name(c->code())).c_str(),
                  std::string(remoting::response_code_name(t->code())).c_str(),
                  t->remark().c_str());
    }
    EXPECT_EQ(runtime_info(addr)["diskFull"], "true");
  }

  std::string log_of(const std::string& key) {
    std::ifstream in(cluster_->broker(key)->log_path());
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  TempDir dir_;
  std::unique_ptr<LoopFs> disk_;
  std::unique_ptr<LocalCluster> cluster_;
};

void DiskFullProcessTest::fill_refuse_resume(const Scenario& sc) {
  const std::string topic = "DiskFull";
  const auto args = small_store(sc.settings);
  auto addr = cluster_->start_broker("full", args);
  ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
  create_topic(*addr, topic);
  ASSERT_TRUE(disk_->fill_to(0.55).is_ok());

  // As fast as it can until refused.
  int64_t acked = 0;
  Clock::time_point over_warning{};  // when this test first saw the disk full
  Sent refused;
  Clock::time_point refused_at{};
  const auto fill_deadline = Clock::now() + 60s;
  for (int i = 0; i < 20000 && Clock::now() < fill_deadline; ++i) {
    if (over_warning == Clock::time_point{} && sc.full_now(*disk_)) {
      over_warning = Clock::now();
    }
    Sent s = send(*addr, topic, acked);
    if (s.code != ResponseCode::SUCCESS) {
      refused = s;
      refused_at = Clock::now();
      break;
    }
    ASSERT_EQ(s.end, acked + kBatch);
    acked = s.end;
  }
  ASSERT_EQ(refused.code, ResponseCode::SERVICE_NOT_AVAILABLE) << refused.remark;
  EXPECT_EQ(refused.remark.rfind("disk full: ", 0), 0u) << refused.remark;
  EXPECT_NE(refused.remark.find(sc.remark_part), std::string::npos) << refused.remark;
  EXPECT_LT(refused.took_ms, 1000) << "a refused send must not wait";
  ASSERT_NE(over_warning, Clock::time_point{}) << "refused before the disk was full";
  std::printf(
      "%s: disk full -> first refused send: %.0f ms (%lld messages acked, refused in %.1f ms)\n",
      sc.name, ms_between(over_warning, refused_at), static_cast<long long>(acked),
      refused.took_ms);

  // Refused at once, every time, while full.
  for (int i = 0; i < 5; ++i) {
    Sent s = send(*addr, topic, acked);
    EXPECT_EQ(s.code, ResponseCode::SERVICE_NOT_AVAILABLE) << s.remark;
    EXPECT_LT(s.took_ms, 1000);
  }
  // Reads, offset commits and the route go on: every acked message, or (when a ConsumeQueue
  // file did not fit) those indexed before, the rest once there is room again.
  expect_readable(*addr, topic, 0, sc.all_indexed_while_full ? acked : max_offset(*addr, topic));
  auto committed = call(*addr, commit_offset_request("reader", topic, 0, acked / 2));
  ASSERT_TRUE(committed.is_ok());
  EXPECT_EQ(committed->response_code(), ResponseCode::SUCCESS) << committed->remark();
  auto queried = call(*addr, query_offset_request("reader", topic, 0));
  ASSERT_TRUE(queried.is_ok());
  ASSERT_NE(queried->ext<protocol::ConsumerOffsetResponseT>(), nullptr);
  EXPECT_EQ(queried->ext<protocol::ConsumerOffsetResponseT>()->offset, acked / 2);
  EXPECT_EQ(route_brokers(topic), std::vector<std::string>{"full"});
  auto info = runtime_info(*addr);
  EXPECT_EQ(info["diskFull"], "true");
  EXPECT_GT(std::stod(info["diskUsedRatio"]), 0.80);
  if (sc.then_no_block_left) {
    expect_metadata_writes_typed(*addr, topic);
    // A restart on the full disk (less than a segment free): it recovers (RocksDB opens without
    // writing an SST file), serves reads, and refuses sends once the next segment does not fit.
    disk_->free_last_ballast();
    cluster_->broker("full")->kill9();
    addr = cluster_->start_broker("full", args);
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    Sent s;
    for (int i = 0; i < 2000; ++i) {
      s = send(*addr, topic, acked);
      if (s.code != ResponseCode::SUCCESS) break;
      acked = s.end;
    }
    EXPECT_EQ(s.code, ResponseCode::SERVICE_NOT_AVAILABLE) << s.remark;
    EXPECT_LT(s.took_ms, 1000);
    expect_readable(*addr, topic, 0, max_offset(*addr, topic));
  }

  // Space returns: the broker accepts again by itself. Watched from outside: a send every
  // 10 ms, at most 10 s (the broker samples its disk every 100 ms).
  const auto freed_at = Clock::now();
  disk_->free_ballast();
  Sent accepted;
  for (int i = 0; i < 1000 && Clock::now() < freed_at + 10s; ++i) {
    accepted = send(*addr, topic, acked);
    if (accepted.code == ResponseCode::SUCCESS) break;
    ASSERT_EQ(accepted.code, ResponseCode::SERVICE_NOT_AVAILABLE) << accepted.remark;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(accepted.code, ResponseCode::SUCCESS) << accepted.remark;
  std::printf("%s: space freed -> first accepted send: %.0f ms\n", sc.name,
              ms_between(freed_at, Clock::now()));
  acked = accepted.end;
  for (int i = 0; i < 20; ++i) {
    Sent s = send(*addr, topic, acked);
    ASSERT_EQ(s.code, ResponseCode::SUCCESS) << s.remark;
    acked = s.end;
  }
  EXPECT_EQ(runtime_info(*addr)["diskFull"], "false");

  // Every acknowledged message survives a kill -9.
  cluster_->broker("full")->kill9();
  addr = cluster_->start_broker("full", args);
  ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
  expect_readable(*addr, topic, 0, acked);
}

TEST_F(DiskFullProcessTest, RefusesSendsAboveTheWarningRatioAtOnceAndResumesWhenSpaceReturns) {
  fill_refuse_resume({"above diskSpaceWarningLevelRatio",
                      {"cleanFileForciblyEnable=false"},
                      "(diskSpaceWarningLevelRatio 90%)",
                      [](const LoopFs& d) { return d.used_ratio() > 0.90; }});
}

// Thresholds so high that the next 8 MiB segment does not fit first: the failed allocation
// (ENOSPC) refuses sends, leaves no partial file behind, and clears once it would fit.
TEST_F(DiskFullProcessTest, RefusesSendsWhenTheNextSegmentDoesNotFitAndResumesWhenItWould) {
  fill_refuse_resume({"next segment does not fit",
                      {"cleanFileForciblyEnable=false", "diskMaxUsedSpaceRatio=95",
                       "diskSpaceCleanForciblyRatio=97", "diskSpaceWarningLevelRatio=99"},
                      // The segment, or a ConsumeQueue file made while a failed segment
                      // allocation held the last blocks for a moment.
                      "did not fit",
                      [](const LoopFs& d) { return d.free_bytes() < 8 * kMiB; },
                      /*all_indexed_while_full=*/false,
                      /*then_no_block_left=*/true});
}

// Two masters, one on the small disk: once it is full, the client library's producer (its
// retries on SERVICE_NOT_AVAILABLE, as RocketMQ's) moves every send to the other, each within
// the send timeout, and none fails.
TEST_F(DiskFullProcessTest, AProducerMovesToAnotherBrokerWhileOneDiskIsFull) {
  const std::string topic = "DiskMove";
  auto full = cluster_->start_broker("full", small_store({"cleanFileForciblyEnable=false"}));
  ASSERT_TRUE(full.is_ok()) << full.status().to_string();
  auto roomy = cluster_->start_broker("roomy");
  ASSERT_TRUE(roomy.is_ok()) << roomy.status().to_string();
  for (const std::string& addr : {*full, *roomy}) {
    create_topic(addr, topic);
  }
  client::Producer producer("disk-move-producer", cluster_->client_config("disk-move@" + topic));
  producer.set_send_msg_timeout(3s);
  ASSERT_TRUE(producer.start().is_ok());
  auto send_all = [&](int n) {
    std::map<std::string, int> by_broker;
    double slowest_ms = 0;
    for (int i = 0; i < n; ++i) {
      client::ProducerMessage m;
      m.topic = topic;
      m.body = body_of(i);
      const auto t0 = Clock::now();
      auto r = producer.send(m);
      slowest_ms = std::max(slowest_ms, ms_between(t0, Clock::now()));
      EXPECT_TRUE(r.is_ok()) << "send " << i << ": " << r.status().to_string();
      if (r.is_ok()) ++by_broker[r->broker_name];
    }
    return std::make_pair(by_broker, slowest_ms);
  };
  auto [before, before_ms] = send_all(40);
  (void)before_ms;
  EXPECT_GT(before["full"], 0) << "both brokers take sends while there is room";
  EXPECT_GT(before["roomy"], 0);

  ASSERT_TRUE(disk_->fill_to(0.95).is_ok());
  ASSERT_TRUE(await_disk_full(*full, true));
  auto [during, during_ms] = send_all(200);
  EXPECT_EQ(during["full"], 0) << "a send was stored on the full broker";
  EXPECT_EQ(during["roomy"], 200);
  EXPECT_LT(during_ms, 3000) << "bounded by the send timeout";
  std::printf("one disk full: 200 sends moved to the other broker, the slowest in %.1f ms\n",
              during_ms);
  // Space returns: the full broker takes sends again. (This producer keeps it isolated for a
  // while, as RocketMQ's fault tolerance does after a failed send; a send of its own shows it.)
  disk_->free_ballast();
  ASSERT_TRUE(await_disk_full(*full, false));
  EXPECT_EQ(send(*full, topic, 0).code, ResponseCode::SUCCESS);
  producer.shutdown();
}

TEST_F(DiskFullProcessTest, ForcedCleaningSaysWhatItDestroys) {
  const std::string topic = "DiskForced";
  auto addr = cluster_->start_broker("forced", small_store({"cleanFileForciblyEnable=true"}));
  ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
  create_topic(*addr, topic);
  // A consumer group that has read nothing yet.
  auto committed = call(*addr, commit_offset_request("slow-readers", topic, 0, 0));
  ASSERT_TRUE(committed.is_ok());
  ASSERT_EQ(committed->response_code(), ResponseCode::SUCCESS) << committed->remark();
  ASSERT_TRUE(disk_->fill_to(0.55).is_ok());

  // Above 85% the oldest segments go (before sends would be refused at 90%).
  int64_t next = 0;
  uint64_t forced_segments = 0;
  const auto deadline = Clock::now() + 60s;
  for (int i = 0; i < 40000 && Clock::now() < deadline && forced_segments == 0; ++i) {
    Sent s = send(*addr, topic, next);
    if (s.code == ResponseCode::SUCCESS) next = s.end;
    if (i % 64 == 0) forced_segments = std::stoull(runtime_info(*addr)["forcedDeleteSegments"]);
  }
  ASSERT_GT(forced_segments, 0u) << "no forced deletion within the bounds";

  // The log names the group and topic and counts; brokerStatus adds them up.
  const std::string log = log_of("forced");
  const std::regex line(
      "consumer group slow-readers loses ([0-9]+) unconsumed message\\(s\\) "
      "of topic DiskForced");
  uint64_t logged = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
       ++it) {
    logged += std::stoull((*it)[1].str());
  }
  auto info = runtime_info(*addr);
  const uint64_t counted = std::stoull(info["forcedDeleteUnconsumedMessages"]);
  EXPECT_GT(counted, 0u);
  EXPECT_EQ(logged, counted) << log;
  // What was lost is what the queue no longer holds: every message below its new start (which
  // moves a moment after the count: the count is made before the files go).
  auto min_offset = [&] {
    auto req = RemotingCommand::request(RequestCode::GET_MIN_OFFSET);
    protocol::QueueOffsetRequestT q;
    q.topic = topic;
    q.queue_id = 0;
    req.set_ext(std::move(q));
    auto r = call(*addr, std::move(req));
    const auto* ext = r.is_ok() ? r->ext<protocol::QueueOffsetResponseT>() : nullptr;
    return ext == nullptr ? uint64_t{0} : static_cast<uint64_t>(ext->offset);
  };
  uint64_t min = 0;
  const auto min_deadline = Clock::now() + 5s;
  for (int i = 0; i < 250 && Clock::now() < min_deadline && (min = min_offset()) < counted; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(min, counted);
  // Messages past the cut are all there.
  expect_readable(*addr, topic, static_cast<int64_t>(min), next);
}

TEST_F(DiskFullProcessTest, SyncMasterAnswersSlaveNotAvailableWhileItsSlavesDiskIsFull) {
  const std::string topic = "DiskSlave";
  const std::vector<std::string> ha = {
      "slaveSyncIntervalMs=200", "haSendHeartbeatInterval=200",     "haHousekeepingInterval=2000",
      "syncFlushTimeout=2000",   "mappedFileSizeCommitLog=8388608", "messageIndexEnable=false"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), ha.begin(), ha.end());
    return extra;
  };
  auto master = cluster_->start_broker_as("m", "pair", with({"brokerRole=SYNC_MASTER"}));
  ASSERT_TRUE(master.is_ok()) << master.status().to_string();
  auto slave = cluster_->start_broker_as(
      "s", "pair",
      with({"brokerRole=SLAVE", "brokerId=1", "storePathRootDir=" + disk_->path() + "/store"}));
  ASSERT_TRUE(slave.is_ok()) << slave.status().to_string();
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s, true).is_ok());
  ASSERT_TRUE(cluster_->broker("m")->wait_for_line("in sync from offset", 30s).is_ok());
  create_topic(*master, topic);
  int64_t acked = 0;
  for (int i = 0; i < 5; ++i) {
    Sent s = send(*master, topic, acked);
    ASSERT_EQ(s.code, ResponseCode::SUCCESS) << s.remark;
    acked = s.end;
  }

  // The slave's disk fills: sends are answered within the send timeout, never SUCCESS.
  ASSERT_TRUE(disk_->fill_to(0.95).is_ok());
  ASSERT_TRUE(await_disk_full(*slave, true));
  int64_t next = acked;
  for (int i = 0; i < 8; ++i) {
    Sent s = send(*master, topic, next, 3s);
    EXPECT_TRUE(s.code == ResponseCode::SLAVE_NOT_AVAILABLE ||
                s.code == ResponseCode::FLUSH_SLAVE_TIMEOUT)
        << "send " << i << ": " << remoting::response_code_name(static_cast<int32_t>(s.code)) << " "
        << s.remark;
    EXPECT_LT(s.took_ms, 3000);
    std::printf("slave's disk full: send %d answered %s in %.1f ms\n", i,
                std::string(remoting::response_code_name(static_cast<int32_t>(s.code))).c_str(),
                s.took_ms);
    if (s.end > 0) next = s.end;  // stored on the master, not replicated
  }
  // The master keeps serving reads.
  expect_readable(*master, topic, 0, acked);

  // Space returns: the slave follows again by itself and sends succeed.
  disk_->free_ballast();
  ASSERT_TRUE(await_disk_full(*slave, false));
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s).is_ok());
  ASSERT_TRUE(cluster_->broker("m")->wait_for_line("in sync from offset", 30s).is_ok());
  Sent s = send(*master, topic, next);
  EXPECT_EQ(s.code, ResponseCode::SUCCESS) << s.remark;
}

}  // namespace
}  // namespace comet::testing
