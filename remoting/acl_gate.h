// The request gate of access control (docs/security.md): holds the accounts in force (a
// snapshot, swapped whole on reload), the replay guard, and the server's table of what each
// request needs; admits or refuses every request before its handler runs.
//
// Threads: admit() runs on any connection's strand (the snapshot is an atomic shared_ptr; the
// replay guard is sharded behind mutexes). The reload timer runs on the executor given to
// start(). A refusal is logged as a warning with the peer, at most about one line a second per
// gate (the next line counts the ones left out).
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>

#include "common/status.h"
#include "remoting/access_validator.h"
#include "remoting/credentials.h"
#include "remoting/replay_guard.h"
#include "remoting/request_gate.h"

namespace comet::remoting {

struct SecurityConfig;

struct AclGateOptions {
  // plain_acl.yml; empty: no accounts file (a cluster-only gate).
  std::string acl_file;
  int64_t signature_window_ms = 300'000;
  uint32_t reload_interval_ms = 1'000;
  std::optional<Credentials> cluster;
  std::string server_role = "broker";  // "... from the broker's clock"
  ReplayGuardOptions replay;

  // aclFile, aclSignatureWindowMs, aclReloadIntervalMs and clusterCredentialFile's credential
  // (read here; required with aclEnable).
  static Result<AclGateOptions> from_config(const SecurityConfig& config, std::string server_role);
};

// What a request needs; the server's table (broker/request_access.h, namesrv/request_access.h).
using RequiredAccessFn = std::function<RequiredAccess(const RemotingCommand&)>;

class AclGate final : public RequestGate, public std::enable_shared_from_this<AclGate> {
 public:
  // Reads options.acl_file: a missing or bad file is the error (startup fails with it).
  static Result<std::shared_ptr<AclGate>> open(AclGateOptions options, RequiredAccessFn required);
  // The gate of a server with aclEnable: AclGateOptions::from_config, then open().
  static Result<std::shared_ptr<AclGate>> from_config(const SecurityConfig& config,
                                                      std::string server_role,
                                                      RequiredAccessFn required);
  // A gate over accounts already parsed (tests), or none (cluster-only gates).
  static Result<std::shared_ptr<AclGate>> with_config(PlainAclConfig config, AclGateOptions options,
                                                      RequiredAccessFn required);
  // For the HA and Raft ports: every request needs the cluster credential.
  static std::shared_ptr<AclGate> cluster_only(Credentials cluster, int64_t signature_window_ms,
                                               std::string server_role);
  static RequiredAccess everything_cluster_only(const RemotingCommand&) {
    return RequiredAccess::cluster_only();
  }

  ~AclGate() override;

  // Over TLS, a request whose signature passed makes its account the connection's verified
  // signer: later requests on it may carry the access key alone. A oneway request that leans on
  // a signer the connection lacks closes it (no answer could tell the client to sign again).
  Status admit(Connection& conn, const RemotingCommand& cmd) override;
  // The same for a peer "host:port" at `now_ms`, on no connection (tests, fuzzing).
  Status admit_from(std::string_view remote_address, const RemotingCommand& cmd, int64_t now_ms);

  // Checks acl_file every reload_interval_ms (and expires replay entries) on `executor` until
  // stop(), which must run before that executor's io_context is destroyed.
  void start(const asio::any_io_executor& executor);
  void stop();

  // Re-reads acl_file when its mtime, size or content hash changed: true when a new snapshot is
  // in force. A missing or bad file keeps the old snapshot; the error is returned and logged.
  Result<bool> reload_if_changed();

  std::shared_ptr<const AclSnapshot> snapshot() const {
    std::lock_guard lock(snapshot_mu_);
    return snapshot_;
  }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }
  // Drops replay entries past the signature window (the timer does this too).
  void expire_replay_entries(int64_t now_ms);

 private:
  struct FileStamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    size_t content_hash = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct ReplayShard {
    std::mutex mu;
    std::optional<ReplayGuard> guard;
  };
  static constexpr size_t kReplayShards = 16;

  AclGate(AclGateOptions options, RequiredAccessFn required);
  Result<std::shared_ptr<const AclSnapshot>> build_snapshot(std::string_view text) const;
  Status admit_on(Connection* conn, std::string_view remote_address, const RemotingCommand& cmd,
                  int64_t now_ms);
  // Makes `principal`, whose signature on `conn` just passed, the connection's verified signer.
  static void remember_signer(Connection& conn, const AclSnapshot& snapshot,
                              std::string_view principal);
  Status check_replay(const RequestAuth& auth, std::string_view principal, int32_t code,
                      int64_t now_ms);
  void log_refusal(std::string_view remote_address, const Status& status);
  void arm_timer();

  const AclGateOptions options_;
  const RequiredAccessFn required_;
  // The accounts in force, swapped whole by a reload. A mutex held for a reference-count
  // increment, not std::atomic<std::shared_ptr>: libstdc++ 12 implements that with a lock bit
  // ThreadSanitizer cannot see, so every reload under load read as a data race.
  mutable std::mutex snapshot_mu_;
  std::shared_ptr<const AclSnapshot> snapshot_;  // guarded by snapshot_mu_
  void set_snapshot(std::shared_ptr<const AclSnapshot> s) {
    std::lock_guard lock(snapshot_mu_);
    snapshot_ = std::move(s);
  }
  std::array<ReplayShard, kReplayShards> replay_;
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<int64_t> last_log_ms_{0};
  std::atomic<uint64_t> unlogged_{0};

  std::mutex reload_mu_;  // the file stamp and the timer
  FileStamp stamp_;
  std::unique_ptr<asio::steady_timer> timer_;
  bool stopped_ = false;
};

}  // namespace comet::remoting
