// BenchCluster: the throwaway local cluster comet-bench compare runs each mode on: a comet-namesrv
// and one broker group ("broker-a") on 127.0.0.1, in a directory of its own, as child processes
// (common/child_process.h) that die with comet-bench.
//
//   single   one broker (ASYNC_MASTER)
//   async    ASYNC_MASTER + SLAVE
//   sync     SYNC_MASTER + SLAVE
//   dledger  three members of one DLedger (Raft) group
//
// Every broker flushes asynchronously (ASYNC_FLUSH, the default), so the modes differ only in
// replication. start() returns once the group can take writes: the slave streams and is in sync,
// or a leader is elected.
//
// fail_over() is the failover drill: SIGKILL the broker the route names as master (the leader),
// then what an operator does: for async/sync `comet-admin promoteSlave -b broker-a -i 1`; then the
// killed broker is started again on its store (it rejoins as a slave, or as a follower; a single
// broker simply comes back).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/child_process.h"
#include "common/netns.h"
#include "common/process_usage.h"
#include "common/status.h"

namespace comet::bench {

enum class Mode { kSingle, kAsync, kSync, kDLedger };

std::string_view mode_name(Mode mode);
Result<Mode> parse_mode(std::string_view name);
// "sync,dledger" → {kSync, kDLedger}; an error names the first unknown one.
Result<std::vector<Mode>> parse_modes(std::string_view list);
// "a,b,c" → {"a", "b", "c"} ("" → {""}).
std::vector<std::string> split_commas(std::string_view list);
// "ASYNC_MASTER + SLAVE", ...
std::string_view mode_layout(Mode mode);

// A fresh directory for a run's stores and logs: <tmp>/comet-<what>-XXXXXX.
Result<std::string> make_run_dir(std::string_view what);
// The end of a run's directory: removed, or (with `keep`) kept and named on stderr.
void finish_run_dir(const std::string& dir, bool keep, std::string_view label);

struct Binaries {
  std::string namesrv, broker, admin;
  // Next to this executable: the build tree (bench/../namesrv/comet-namesrv, ...) or one
  // directory holding all; `dir` non-empty: only there.
  static Result<Binaries> find(const std::string& dir);
};

// What a drill did, with times relative to the kill.
struct DrillReport {
  std::string victim;  // "master 127.0.0.1:port", "leader n1 ..."
  std::chrono::steady_clock::time_point killed_at;
  std::vector<std::string> steps;  // "promoteSlave: ... (+120 ms)"
};

class BenchCluster {
 public:
  static constexpr const char* kBrokerName = "broker-a";

  // `dir`: an empty directory the stores and logs go in (the caller removes it).
  // `broker_args`: "key=value" settings every broker gets last (they win).
  // `lab` (optional, kept by the caller for the cluster's life): the name server runs in the
  // lab's hub and broker i on host i, each in its own network namespace with its own address and
  // fixed ports there. The caller's thread must then be in the hub namespace.
  static Result<std::unique_ptr<BenchCluster>> start(Mode mode, const Binaries& bin,
                                                     const std::string& dir,
                                                     const std::vector<std::string>& broker_args,
                                                     std::chrono::milliseconds timeout,
                                                     NetnsLab* lab = nullptr);
  ~BenchCluster();
  BenchCluster(const BenchCluster&) = delete;
  BenchCluster& operator=(const BenchCluster&) = delete;

  const std::string& namesrv_addr() const { return namesrv_addr_; }
  // The broker that takes writes now (the master, or the elected leader).
  const std::string& master_addr() const { return master_addr_; }
  size_t broker_count() const { return brokers_.size(); }

  // CPU seconds (user + system) the brokers used since the last mark_cpu(), killed ones included.
  void mark_cpu();
  double broker_cpu_seconds();

  // The drill (see above); returns what it did and when it killed.
  Result<DrillReport> fail_over();

  // SIGTERM to every process (SIGKILL after a grace period), waited for.
  void stop();

  // Faults, by broker index (comet-bench chaos). kill() is SIGKILL and reaping; restart() starts
  // a killed broker again on its store with its first settings (a former master comes back as a
  // slave, a member as a follower); pause() and resume() are SIGSTOP and SIGCONT.
  const std::string& broker_label(size_t i) const { return brokers_[i].label; }
  const std::string& broker_addr(size_t i) const { return brokers_[i].addr; }
  // Started and not exited: a broker that died by itself is not alive (its process is asked).
  bool alive(size_t i) { return brokers_[i].proc != nullptr && brokers_[i].proc->running(); }
  pid_t broker_pid(size_t i) const { return brokers_[i].proc ? brokers_[i].proc->pid() : -1; }
  pid_t namesrv_pid() const { return namesrv_ ? namesrv_->pid() : -1; }
  Status kill(size_t i);
  // SIGTERM and reaping (a clean shutdown: the store flushed), SIGKILL after `grace`.
  void terminate(size_t i, std::chrono::milliseconds grace);
  Status restart(size_t i);
  // Broker i's storePathRootDir.
  std::string store_dir(size_t i) const { return store_dir_of(dir_, brokers_[i].label); }
  void pause(size_t i);
  void resume(size_t i);
  // The broker the name server names master (brokerId 0) of the group, or the member whose
  // status says LEADER; not_found when none does now.
  Result<size_t> master_index();
  // The drill's step: comet-admin promoteSlave for broker i, under the brokerId the name server
  // has for it now.
  Status promote(size_t i);

 private:
  struct Broker {
    std::string label;  // "master", "slave", "n0", ...
    std::string netns;  // where it runs ("": here)
    std::vector<std::string> argv;
    std::unique_ptr<ChildProcess> proc;
    std::string addr;
    double cpu_mark = 0;    // CPU seconds of the current process at mark_cpu()
    double cpu_banked = 0;  // CPU seconds of killed processes since mark_cpu()
  };

  // Where the broker labelled `label` keeps its store: <dir>/<label>.
  static std::string store_dir_of(const std::string& dir, const std::string& label) {
    return dir + "/" + label;
  }
  BenchCluster(Mode mode, Binaries bin, std::string dir)
      : mode_(mode), bin_(std::move(bin)), dir_(std::move(dir)) {}
  Status start_namesrv();
  Status start_broker(Broker& b);
  size_t index_of_addr(const std::string& addr) const;
  Status wait_until_writable();
  Result<std::string> run_admin(const std::vector<std::string>& args);

  const Mode mode_;
  const Binaries bin_;
  const std::string dir_;
  std::chrono::milliseconds timeout_{30000};
  std::unique_ptr<ChildProcess> namesrv_;
  std::string namesrv_addr_;
  std::vector<Broker> brokers_;
  std::string master_addr_;
  NetnsLab* lab_ = nullptr;
};

}  // namespace comet::bench
