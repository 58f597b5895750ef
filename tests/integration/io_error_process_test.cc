// Issue 24 item 3, I/O errors: a broker whose store is on comet-faultfs meets EIO from a sync or
// a write-back of its CommitLog, a ConsumeQueue or the checkpoint. No send is acknowledged for
// data that may not be on disk; the store turns read-only (sends refused at once with
// SERVICE_NOT_AVAILABLE and a remark naming the call, the file and the error; brokerStatus says
// storeReadOnly with the error; one error line in the log); pulls of what was acknowledged go
// on; it stays read-only when the fault clears (a restart is the way back: docs/reliability.md);
// after kill -9 and a restart every acknowledged message is read back and sends succeed. A
// SYNC_MASTER whose slave's disk fails answers SLAVE_NOT_AVAILABLE or FLUSH_SLAVE_TIMEOUT within
// the send timeout and keeps serving.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "integration/fault_fs_cluster.h"

namespace comet::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

constexpr const char* kTopic = "IoError";
constexpr auto kSendTimeout = 3000ms;
constexpr int kDLedgerMembers = 3;
constexpr auto kCheckpointInterval = 200ms;  // flushIntervalConsumeQueue

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string body_of(int64_t i) {
  std::string b = "io" + std::to_string(i) + "|";
  b.resize(512, static_cast<char>('a' + i % 26));
  return b;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string code_name(ResponseCode c) {
  return std::string(remoting::response_code_name(static_cast<int32_t>(c)));
}

class IoErrorTest : public FaultFsClusterTest {
 protected:
  // A broker whose store is on the fault file system. A short ConsumeQueue flush interval makes
  // the checkpoint (and its ConsumeQueue syncs) come round every 200 ms.
  Result<std::string> start_broker(const std::string& flush_type) {
    return cluster_->start_broker(
        "io", {"storePathRootDir=" + fs_->path() + "/io", "flushDiskType=" + flush_type,
               "syncFlushTimeout=1000", "mappedFileSizeCommitLog=8388608",
               "flushIntervalConsumeQueue=" + std::to_string(kCheckpointInterval.count()),
               "flushIntervalCommitLog=100", "flushCommitLogLeastPages=0"});
  }

  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req,
                               milliseconds timeout = 10000ms) {
    return cluster_->client().invoke(addr, std::move(req), timeout);
  }

  struct Sent {
    ResponseCode code = ResponseCode::SYSTEM_ERROR;
    std::string remark;
    double took_ms = 0;
  };
  Sent send(const std::string& addr, int64_t i) {
    const auto t0 = Clock::now();
    auto r = call(addr, send_request(kTopic, 0, {body_of(i)}), kSendTimeout);
    Sent s;
    s.took_ms = ms_since(t0);
    if (!r.is_ok()) {
      s.remark = r.status().to_string();  // no answer within the send timeout
      return s;
    }
    s.code = static_cast<ResponseCode>(r->response_code());
    s.remark = r->remark();
    return s;
  }

  // Sends messages from `next` until one is not acknowledged (at most `max`); returns it. The
  // acknowledged ones are counted in `next`.
  Sent send_until_refused(const std::string& addr, int64_t* next, int max) {
    const auto deadline = Clock::now() + 20s;
    for (int i = 0; i < max && Clock::now() < deadline; ++i) {
      Sent s = send(addr, *next);
      if (s.code != ResponseCode::SUCCESS) return s;
      ++*next;
    }
    ADD_FAILURE() << "every send was acknowledged";
    return {};
  }

  // Messages [0, end) of queue 0, in order.
  void expect_readable(const std::string& addr, int64_t end) {
    int64_t offset = 0;
    for (int rounds = 0; rounds < 10000 && offset < end; ++rounds) {
      // A long poll: a message just acknowledged may not be indexed yet (DLedger answers at
      // commit, before the dispatcher has it).
      auto r = call(addr, pull_request(kTopic, 0, offset, 256, 2000));
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS)
          << "pull at " << offset << " of " << end << ": " << r->remark();
      const auto bodies = bodies_of(*r);
      ASSERT_FALSE(bodies.empty());
      for (const auto& b : bodies) {
        if (offset >= end) break;  // past the acknowledged: a refused message may be there
        ASSERT_EQ(b, body_of(offset)) << "message at queue offset " << offset;
        ++offset;
      }
    }
    EXPECT_GE(offset, end);
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

  // Waits until brokerStatus says storeReadOnly (an outside observation: asked every 20 ms, for
  // at most 5 s).
  bool await_read_only(const std::string& addr) {
    const auto deadline = Clock::now() + 5s;
    for (int i = 0; i < 250 && Clock::now() < deadline; ++i) {
      if (runtime_info(addr)["storeReadOnly"] == "true") return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // Waits until the file at `path` holds something other than `old` (an outside observation:
  // read every 20 ms, for at most 5 s).
  static bool await_change(const std::string& path, const std::string& old) {
    const auto deadline = Clock::now() + 5s;
    for (int i = 0; i < 250 && Clock::now() < deadline; ++i) {
      const std::string now = file_bytes(path);
      if (!now.empty() && now != old) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // Nothing from queue offset `from` on is served (not durable after the I/O error).
  void expect_not_served(const std::string& addr, int64_t from) {
    auto r = call(addr, pull_request(kTopic, 0, from, 32, 0));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_NE(r->response_code(), ResponseCode::SUCCESS) << "served past the durable log";
    EXPECT_TRUE(bodies_of(*r).empty());
  }

  // Sends one more message and waits until the checkpoint says the log is flushed past it:
  // everything acknowledged so far is on disk.
  void flush_everything(const std::string& addr, int64_t* acked) {
    auto last = call(addr, send_request(kTopic, 0, {body_of(*acked)}));
    ASSERT_TRUE(last.is_ok() && last->response_code() == ResponseCode::SUCCESS);
    ++*acked;
    const auto* stored = last->ext<protocol::SendMessageResponseT>();
    ASSERT_NE(stored, nullptr);
    ASSERT_TRUE(await_checkpoint_past(static_cast<uint64_t>(stored->physical_offset)));
  }

  // Waits until the store's checkpoint says the CommitLog is flushed past `physical_offset` (an
  // outside observation: read every 20 ms, for at most 5 s).
  bool await_checkpoint_past(uint64_t physical_offset) {
    const std::string path = fs_->backing() + "/io/checkpoint";
    const auto deadline = Clock::now() + 5s;
    for (int i = 0; i < 250 && Clock::now() < deadline; ++i) {
      const std::string cp = file_bytes(path);
      uint64_t flushed = 0;
      if (cp.size() >= 12) std::memcpy(&flushed, cp.data() + 4, 8);  // after the magic
      if (flushed > physical_offset) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // Waits until broker `key`'s log has a line with `text` (an outside observation: read every
  // 20 ms, for at most 5 s).
  bool await_log_line(const std::string& key, const std::string& text) {
    const auto deadline = Clock::now() + 5s;
    for (int i = 0; i < 250 && Clock::now() < deadline; ++i) {
      if (log_lines_with(key, text) > 0) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  size_t log_lines_with(const std::string& key, const std::string& text) {
    std::ifstream in(cluster_->broker(key)->log_path());
    size_t n = 0;
    for (std::string line; std::getline(in, line);)
      n += line.find(text) != std::string::npos;
    return n;
  }

  // The store is read-only: brokerStatus names the error, the log has one error line, sends are
  // refused at once with the same remark, pulls of the first `readable` messages (the durable
  // ones; all acknowledged by default) go on and nothing past them is served; so it stays when
  // the fault clears.
  void expect_read_only(const std::string& addr, const std::string& file_part, int64_t acked,
                        int64_t readable = -1) {
    if (readable < 0) readable = acked;
    ASSERT_TRUE(await_read_only(addr));
    auto info = runtime_info(addr);
    const std::string error = info["storeIoError"];
    EXPECT_EQ(error.rfind("I/O error: ", 0), 0u) << error;
    EXPECT_NE(error.find(file_part), std::string::npos) << error;
    EXPECT_NE(error.find("Input/output error"), std::string::npos) << error;
    EXPECT_EQ(log_lines_with("io", "read-only until restart"), 1u);
    Sent refused = send(addr, acked);
    EXPECT_EQ(refused.code, ResponseCode::SERVICE_NOT_AVAILABLE) << refused.remark;
    EXPECT_EQ(refused.remark, error);
    EXPECT_LT(refused.took_ms, 500) << "a refused send must not wait";
    std::printf("read-only: a send refused in %.1f ms\n", refused.took_ms);
    expect_readable(addr, readable);
    expect_not_served(addr, readable);
    ASSERT_TRUE(fs_->clear().is_ok());
    Sent after = send(addr, acked);
    EXPECT_EQ(after.code, ResponseCode::SERVICE_NOT_AVAILABLE)
        << "read-only until restart: " << after.remark;
    expect_readable(addr, readable);
  }

  // kill -9 and a restart on the healed disk: every acknowledged message is there, the store
  // accepts writes again.
  void expect_restart_recovers(const std::string& flush_type, int64_t acked) {
    cluster_->broker("io")->kill9();
    auto again = start_broker(flush_type);
    ASSERT_TRUE(again.is_ok()) << again.status().to_string();
    EXPECT_EQ(runtime_info(*again)["storeReadOnly"], "false");
    expect_readable(*again, acked);
    Sent s = send(*again, 1000000);
    EXPECT_EQ(s.code, ResponseCode::SUCCESS) << s.remark;
  }

  // A broker that acknowledged some messages; the number in `acked`.
  std::string start_with_messages(const std::string& flush_type, int64_t* acked) {
    auto addr = start_broker(flush_type);
    EXPECT_TRUE(addr.is_ok()) << addr.status().to_string();
    if (!addr.is_ok()) return "";
    auto created = call(*addr, update_topic_request(kTopic, 1));
    EXPECT_TRUE(created.is_ok() && created->response_code() == ResponseCode::SUCCESS);
    for (*acked = 0; *acked < 20; ++*acked) {
      Sent s = send(*addr, *acked);
      EXPECT_EQ(s.code, ResponseCode::SUCCESS) << s.remark;
      if (s.code != ResponseCode::SUCCESS) break;
    }
    return *addr;
  }

  // A 3-member DLedger group, every member's store on the fault file system under /n<i>; the
  // members' addresses in `addrs`.
  void start_dledger_group(std::string* addrs) {
    const std::string peers = dledger_peers(kDLedgerMembers);
    ASSERT_FALSE(peers.empty()) << "no free port";
    for (int i = 0; i < kDLedgerMembers; ++i) {
      auto settings = dledger_member_settings("dl-io", peers, i);
      settings.insert(settings.end(),
                      {"storePathRootDir=" + fs_->path() + "/" + dledger_member_id(i),
                       "slaveSyncIntervalMs=200", "mappedFileSizeCommitLog=8388608",
                       "flushIntervalCommitLog=100", "flushCommitLogLeastPages=0"});
      auto addr = cluster_->start_broker_as(dledger_member_id(i), "dl-io", std::move(settings));
      ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
      addrs[i] = *addr;
    }
  }
};

// fsync EIO (the msync's FSYNC fails) and write-back EIO (its WRITEs fail: the kernel reports
// that once) under SYNC_FLUSH: the send whose range was not synced is answered SYSTEM_ERROR
// with the msync's error, never SUCCESS; every later one SERVICE_NOT_AVAILABLE at once.
class CommitLogSyncFlush : public IoErrorTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(CommitLogSyncFlush, NoAckThenReadOnlyUntilRestart) {
  int64_t acked = 0;
  const std::string addr = start_with_messages("SYNC_FLUSH", &acked);
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(fs_->set(std::string(GetParam()) + " */commitlog/* eio\n").is_ok());
  Sent first = send(addr, acked);
  std::printf("%s EIO on the CommitLog, SYNC_FLUSH: first send %s in %.1f ms: %s\n", GetParam(),
              code_name(first.code).c_str(), first.took_ms, first.remark.c_str());
  EXPECT_EQ(first.code, ResponseCode::SYSTEM_ERROR) << first.remark;
  EXPECT_EQ(first.remark.rfind("I/O error: msync", 0), 0u) << first.remark;
  EXPECT_NE(first.remark.find("Input/output error"), std::string::npos) << first.remark;
  EXPECT_LT(first.took_ms, 1000);
  expect_read_only(addr, "msync " + fs_->path() + "/io/commitlog/", acked);
  expect_restart_recovers("SYNC_FLUSH", acked);
}

INSTANTIATE_TEST_SUITE_P(FsyncAndWriteBack, CommitLogSyncFlush,
                         ::testing::Values("fsync", "write"));

// ASYNC_FLUSH acknowledges before the sync (as RocketMQ does); once the flush thread meets the
// EIO the store turns read-only, no later send is acknowledged, and what the failed sync covered
// is not served until a restart.
TEST_F(IoErrorTest, CommitLogAsyncFlushTurnsReadOnlyWhenTheFlushFails) {
  int64_t acked = 0;
  const std::string addr = start_with_messages("ASYNC_FLUSH", &acked);
  ASSERT_FALSE(HasFailure());
  ASSERT_NO_FATAL_FAILURE(flush_everything(addr, &acked));
  ASSERT_TRUE(fs_->set("fsync */commitlog/* eio\n").is_ok());
  const auto t0 = Clock::now();
  const int64_t before = acked;
  Sent refused = send_until_refused(addr, &acked, 20000);
  std::printf(
      "fsync EIO on the CommitLog, ASYNC_FLUSH: %lld sends acked, then %s after %.0f ms: %s\n",
      static_cast<long long>(acked - before), code_name(refused.code).c_str(), ms_since(t0),
      refused.remark.c_str());
  EXPECT_EQ(refused.code, ResponseCode::SERVICE_NOT_AVAILABLE) << refused.remark;
  // Acknowledged after the last good flush: not served until a restart shows what is on disk.
  expect_read_only(addr, "msync " + fs_->path() + "/io/commitlog/", acked, before);
  // The fsync failed after the pages were written back: all of them come back.
  expect_restart_recovers("ASYNC_FLUSH", acked);
}

// A write-back EIO under ASYNC_FLUSH: what was acknowledged since the last good flush may be lost
// (ASYNC_FLUSH promises no more); the store turns read-only all the same, and what was
// acknowledged before the fault is read back after kill -9 and a restart.
TEST_F(IoErrorTest, CommitLogAsyncFlushWriteBackFailureKeepsWhatWasFlushed) {
  int64_t acked = 0;
  const std::string addr = start_with_messages("ASYNC_FLUSH", &acked);
  ASSERT_FALSE(HasFailure());
  ASSERT_NO_FATAL_FAILURE(flush_everything(addr, &acked));
  const int64_t flushed = acked;
  ASSERT_TRUE(fs_->set("write */commitlog/* eio\n").is_ok());
  const auto t0 = Clock::now();
  Sent refused = send_until_refused(addr, &acked, 20000);
  EXPECT_EQ(refused.code, ResponseCode::SERVICE_NOT_AVAILABLE) << refused.remark;
  ASSERT_TRUE(await_read_only(addr));
  EXPECT_EQ(log_lines_with("io", "read-only until restart"), 1u);
  EXPECT_NE(runtime_info(addr)["storeIoError"].find("/io/commitlog/"), std::string::npos);
  // What the failed write-backs covered is not served; what was flushed is.
  expect_readable(addr, flushed);
  expect_not_served(addr, flushed);
  ASSERT_TRUE(fs_->clear().is_ok());
  cluster_->broker("io")->kill9();
  auto again = start_broker("ASYNC_FLUSH");
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  expect_readable(*again, flushed);
  auto end = call(*again, pull_request(kTopic, 0, 0, 1, 0));
  int64_t kept = 0;
  if (end.is_ok() && end->ext<protocol::PullMessageResponseT>() != nullptr) {
    kept = end->ext<protocol::PullMessageResponseT>()->max_offset;
  }
  std::printf(
      "write-back EIO on the CommitLog, ASYNC_FLUSH: %lld sends acked after the fault in %.0f "
      "ms; after a restart the queue holds %lld of %lld acked\n",
      static_cast<long long>(acked - flushed), ms_since(t0), static_cast<long long>(kept),
      static_cast<long long>(acked));
  Sent s = send(*again, 1000000);
  EXPECT_EQ(s.code, ResponseCode::SUCCESS) << s.remark;
}

// A ConsumeQueue's write-back fails once (the next sync of it succeeds, over the lost units):
// the store turns read-only and the checkpoint does not pass the loss, so recovery after kill -9
// rebuilds the units from the CommitLog and every acknowledged message is read back.
TEST_F(IoErrorTest, ConsumeQueueWriteBackFailureStopsTheCheckpoint) {
  int64_t acked = 0;
  const std::string addr = start_with_messages("SYNC_FLUSH", &acked);
  ASSERT_FALSE(HasFailure());
  // A checkpoint written after those sends: recovery starts from one that covers their units.
  const std::string checkpoint = fs_->backing() + "/io/checkpoint";
  ASSERT_TRUE(await_change(checkpoint, file_bytes(checkpoint)));
  ASSERT_TRUE(fs_->set("write */consumequeue/IoError/* eio once\n").is_ok());
  const auto t0 = Clock::now();
  Sent refused = send_until_refused(addr, &acked, 2000);
  std::printf("write-back EIO on a ConsumeQueue: refused after %.0f ms (%lld acked): %s %s\n",
              ms_since(t0), static_cast<long long>(acked), code_name(refused.code).c_str(),
              refused.remark.c_str());
  EXPECT_EQ(refused.code, ResponseCode::SERVICE_NOT_AVAILABLE) << refused.remark;
  expect_read_only(addr, "/io/consumequeue/IoError/0/", acked);
  // The checkpoint stays as it was: checked over three checkpoint intervals (a negative
  // observation, so a fixed wait). A checkpoint written after the failure would let recovery
  // skip the lost units.
  const std::string before = file_bytes(checkpoint);
  ASSERT_FALSE(before.empty());
  std::this_thread::sleep_for(3 * kCheckpointInterval);
  EXPECT_EQ(file_bytes(checkpoint), before) << "a checkpoint was written after the I/O error";
  expect_restart_recovers("SYNC_FLUSH", acked);
}

// The checkpoint's own fdatasync fails: read-only, nothing acknowledged is lost.
TEST_F(IoErrorTest, CheckpointSyncFailureTurnsReadOnly) {
  int64_t acked = 0;
  const std::string addr = start_with_messages("SYNC_FLUSH", &acked);
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(fs_->set("fsync */checkpoint* eio\n").is_ok());
  Sent refused = send_until_refused(addr, &acked, 2000);
  EXPECT_EQ(refused.code, ResponseCode::SERVICE_NOT_AVAILABLE) << refused.remark;
  expect_read_only(addr, "/io/checkpoint", acked);
  expect_restart_recovers("SYNC_FLUSH", acked);
}

// A SYNC_MASTER pair whose slave's store meets fsync EIO: the slave turns read-only and stops
// following, so the master answers SLAVE_NOT_AVAILABLE or FLUSH_SLAVE_TIMEOUT within the send
// timeout, never SUCCESS, and keeps serving reads.
TEST_F(IoErrorTest, SyncMasterAnswersWithinTheSendTimeoutWhenItsSlavesDiskFails) {
  const std::vector<std::string> ha = {
      "slaveSyncIntervalMs=200", "haSendHeartbeatInterval=200",     "haHousekeepingInterval=2000",
      "syncFlushTimeout=2000",   "mappedFileSizeCommitLog=8388608", "flushIntervalCommitLog=100"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), ha.begin(), ha.end());
    return extra;
  };
  auto master = cluster_->start_broker_as("m", "pair", with({"brokerRole=SYNC_MASTER"}));
  ASSERT_TRUE(master.is_ok()) << master.status().to_string();
  auto slave = cluster_->start_broker_as(
      "s", "pair",
      with({"brokerRole=SLAVE", "brokerId=1", "storePathRootDir=" + fs_->path() + "/s",
            "flushCommitLogLeastPages=0"}));
  ASSERT_TRUE(slave.is_ok()) << slave.status().to_string();
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s, true).is_ok());
  ASSERT_TRUE(cluster_->broker("m")->wait_for_line("in sync from offset", 30s).is_ok());
  auto created = call(*master, update_topic_request(kTopic, 1));
  ASSERT_TRUE(created.is_ok() && created->response_code() == ResponseCode::SUCCESS);
  int64_t acked = 0;
  for (; acked < 5; ++acked)
    ASSERT_EQ(send(*master, acked).code, ResponseCode::SUCCESS);

  // The slave acknowledges what it wrote into its CommitLog's pages, before its flush thread syncs
  // them (RocketMQ's contract for a slave); the send that makes its flush meet the EIO may be
  // acknowledged, no later one is.
  ASSERT_TRUE(fs_->set("fsync */commitlog/* eio\n").is_ok());
  Sent trigger = send(*master, acked);
  std::printf("slave's disk fails: the send that meets it answered %s in %.1f ms\n",
              code_name(trigger.code).c_str(), trigger.took_ms);
  if (trigger.code == ResponseCode::SUCCESS) ++acked;
  ASSERT_TRUE(await_read_only(*slave));
  EXPECT_EQ(log_lines_with("s", "read-only until restart"), 1u);
  int64_t next = acked;
  for (int i = 0; i < 5; ++i) {
    Sent s = send(*master, next++);
    EXPECT_TRUE(s.code == ResponseCode::SLAVE_NOT_AVAILABLE ||
                s.code == ResponseCode::FLUSH_SLAVE_TIMEOUT)
        << "send " << i << ": " << code_name(s.code) << " " << s.remark;
    EXPECT_LT(s.took_ms, static_cast<double>(kSendTimeout.count()));
    std::printf("slave's disk failed: send %d answered %s in %.1f ms\n", i,
                code_name(s.code).c_str(), s.took_ms);
  }
  expect_readable(*master, acked);
}

// A 3-member DLedger group whose stores are all on the fault file system; one follower's disk
// fails (every fsync under its store). Its flush meets the EIO, its store turns read-only, its
// next append of the leader's entries is refused and it stops taking part (no acks, no votes);
// the other two keep committing, and every acknowledged message stays readable on the leader.
TEST_F(IoErrorTest, DLedgerFollowerWithAFailedDiskLeavesTheQuorum) {
  std::string addrs[kDLedgerMembers];
  ASSERT_NO_FATAL_FAILURE(start_dledger_group(addrs));
  const int leader = next_leader_announced(cluster_->broker(dledger_member_id(0)));
  ASSERT_GE(leader, 0) << "no leader elected";
  const int follower = (leader + 1) % kDLedgerMembers;
  const std::string follower_id = dledger_member_id(follower);
  auto created = call(addrs[leader], update_topic_request(kTopic, 1));
  ASSERT_TRUE(created.is_ok() && created->response_code() == ResponseCode::SUCCESS);
  int64_t acked = 0;
  for (; acked < 10; ++acked)
    ASSERT_EQ(send(addrs[leader], acked).code, ResponseCode::SUCCESS);

  ASSERT_TRUE(fs_->set("fsync /" + follower_id + "/* eio\n").is_ok());
  // The leader goes on committing with the other follower: every send is acknowledged.
  const auto t0 = Clock::now();
  for (int i = 0; i < 20; ++i) {
    Sent s = send(addrs[leader], acked);
    ASSERT_EQ(s.code, ResponseCode::SUCCESS) << "send " << i << ": " << s.remark;
    ++acked;
  }
  ASSERT_TRUE(await_read_only(addrs[follower]));
  for (int i = 0; i < 20; ++i) {
    Sent s = send(addrs[leader], acked);
    ASSERT_EQ(s.code, ResponseCode::SUCCESS) << "send " << i << ": " << s.remark;
    ++acked;
  }
  // It left the group (at its next tick or append), saying so once.
  EXPECT_TRUE(await_log_line(follower_id, "cannot persist its log and stops taking part"));
  EXPECT_EQ(log_lines_with(follower_id, "cannot persist its log and stops taking part"), 1u);
  EXPECT_EQ(log_lines_with(follower_id, "read-only until restart"), 1u);
  std::printf(
      "DLedger follower %s's disk failed: 40 sends acknowledged by the other two in %.0f ms\n",
      follower_id.c_str(), ms_since(t0));
  expect_readable(addrs[leader], acked);
}

// A read EIO of a CommitLog page (a restarted broker's recovery reads its segments through the
// file system: FUSE drops a file's cached pages when it is opened again): the broker stops,
// saying why, rather than serve bytes it could not read.
TEST_F(IoErrorTest, ReadErrorStopsTheBrokerRatherThanServeWrongBytes) {
  int64_t acked = 0;
  start_with_messages("SYNC_FLUSH", &acked);
  ASSERT_FALSE(HasFailure());
  cluster_->broker("io")->kill9();
  ASSERT_TRUE(fs_->set("read */commitlog/* eio\n").is_ok());
  auto again = start_broker("SYNC_FLUSH");
  EXPECT_FALSE(again.is_ok()) << "served from a store it cannot read";
  EXPECT_EQ(log_lines_with("io", "SIGBUS reading mapped memory"), 1u);
  // Healed, it starts and every acknowledged message is there.
  ASSERT_TRUE(fs_->clear().is_ok());
  auto healed = start_broker("SYNC_FLUSH");
  ASSERT_TRUE(healed.is_ok()) << healed.status().to_string();
  expect_readable(*healed, acked);
}

// The DLedger leader's disk fails: it stops taking part (no heartbeats), the other two elect a
// leader among themselves and commit again; every acknowledged message is readable there.
TEST_F(IoErrorTest, DLedgerLeaderWithAFailedDiskLeavesAndTheOthersElectANewOne) {
  std::string addrs[kDLedgerMembers];
  ASSERT_NO_FATAL_FAILURE(start_dledger_group(addrs));
  const Leadership first = next_leadership_announced(cluster_->broker(dledger_member_id(0)));
  ASSERT_GE(first.member, 0) << "no leader elected";
  auto created = call(addrs[first.member], update_topic_request(kTopic, 1));
  ASSERT_TRUE(created.is_ok() && created->response_code() == ResponseCode::SUCCESS);
  int64_t acked = 0;
  for (; acked < 10; ++acked)
    ASSERT_EQ(send(addrs[first.member], acked).code, ResponseCode::SUCCESS);

  const std::string leader_id = dledger_member_id(first.member);
  ASSERT_TRUE(fs_->set("fsync /" + leader_id + "/* eio\n").is_ok());
  const auto t0 = Clock::now();
  // The send whose bytes meet the failed flush may be committed (its followers hold it).
  Sent trigger = send(addrs[first.member], acked);
  if (trigger.code == ResponseCode::SUCCESS) ++acked;
  ASSERT_TRUE(await_read_only(addrs[first.member]));
  // Another member announces a leader other than the failed one.
  const int watcher = (first.member + 1) % kDLedgerMembers;
  Leadership next;
  const auto election_deadline = Clock::now() + 10s;
  for (int i = 0; i < 8 && (next.member < 0 || next.member == first.member) &&
                  Clock::now() < election_deadline;
       ++i) {
    next = next_leadership_announced(
        cluster_->broker(dledger_member_id(watcher)),
        std::chrono::duration_cast<milliseconds>(election_deadline - Clock::now()));
  }
  ASSERT_GE(next.member, 0) << "no new leader";
  ASSERT_NE(next.member, first.member);
  EXPECT_GT(next.term, first.term);
  const double elected_ms = ms_since(t0);
  for (int i = 0; i < 10; ++i) {
    Sent s = send(addrs[next.member], acked);
    ASSERT_EQ(s.code, ResponseCode::SUCCESS) << "send " << i << ": " << s.remark;
    ++acked;
  }
  EXPECT_TRUE(await_log_line(leader_id, "cannot persist its log and stops taking part"));
  EXPECT_EQ(log_lines_with(leader_id, "cannot persist its log and stops taking part"), 1u);
  std::printf("DLedger leader %s's disk failed: %s led from %.0f ms after the fault\n",
              leader_id.c_str(), dledger_member_id(next.member).c_str(), elected_ms);
  expect_readable(addrs[next.member], acked);
}

}  // namespace
}  // namespace comet::testing
