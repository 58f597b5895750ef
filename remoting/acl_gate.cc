#include "remoting/acl_gate.h"

#include <sys/stat.h>

#include <cerrno>

#include <chrono>
#include <fstream>
#include <sstream>

#include "common/logging.h"
#include "remoting/connection.h"
#include "remoting/request_signature.h"
#include "remoting/security_config.h"

namespace comet::remoting {

namespace {

constexpr int64_t kRefusalLogIntervalMs = 1000;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The file's text and stamp, or an error naming it.
struct FileContent {
  std::string text;
  int64_t mtime_ns = 0;
  int64_t size = 0;
};

Result<FileContent> read_acl_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::from_errno("acl file '" + path + "'", errno);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("acl file '" + path + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  FileContent c;
  c.text = std::move(text).str();
  c.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  c.size = static_cast<int64_t>(st.st_size);
  return c;
}

std::string replay_refusal(ReplayGuard::Verdict v, std::string_view principal, int32_t code) {
  const std::string who = "account '" + std::string(principal) + "' (" + request_label(code) + ")";
  switch (v) {
    case ReplayGuard::Verdict::kReplayed:
      return "nonce replayed for " + who;
    case ReplayGuard::Verdict::kTooOld:
      return "nonce more than " + std::to_string(ReplayGuardOptions::kWindow) +
             " behind its signer's newest, refused as a possible replay, for " + who;
    case ReplayGuard::Verdict::kFull:
      return "too many signers active for " + who + "; the replay guard is full";
    case ReplayGuard::Verdict::kBadNonce:
      return "nonce is not 16 bytes for " + who;
    case ReplayGuard::Verdict::kAccepted:
      break;
  }
  return {};
}

}  // namespace

Result<AclGateOptions> AclGateOptions::from_config(const SecurityConfig& config,
                                                   std::string server_role) {
  AclGateOptions o;
  o.acl_file = config.acl_file;
  o.signature_window_ms = config.acl_signature_window_ms;
  o.reload_interval_ms = config.acl_reload_interval_ms;
  o.server_role = std::move(server_role);
  o.replay.signature_window_ms = o.signature_window_ms;
  if (!config.cluster_credential_file.empty()) {
    COMET_ASSIGN_OR_RETURN(Credentials c, load_credentials_file(config.cluster_credential_file));
    o.cluster = std::move(c);
  }
  return o;
}

AclGate::AclGate(AclGateOptions options, RequiredAccessFn required)
    : options_(std::move(options)), required_(std::move(required)) {
  ReplayGuardOptions shard = options_.replay;
  shard.signature_window_ms = options_.signature_window_ms;
  shard.max_prefixes = std::max<size_t>(1, shard.max_prefixes / kReplayShards);
  shard.max_prefixes_per_account =
      std::max<size_t>(1, shard.max_prefixes_per_account / kReplayShards);
  for (ReplayShard& s : replay_)
    s.guard.emplace(shard);
}

AclGate::~AclGate() = default;

Result<std::shared_ptr<AclGate>> AclGate::open(AclGateOptions options, RequiredAccessFn required) {
  if (options.acl_file.empty()) return Status::invalid_argument("aclEnable needs aclFile");
  COMET_ASSIGN_OR_RETURN(FileContent file, read_acl_file(options.acl_file));
  std::shared_ptr<AclGate> gate(new AclGate(std::move(options), std::move(required)));
  COMET_ASSIGN_OR_RETURN(auto snapshot, gate->build_snapshot(file.text));
  gate->set_snapshot(std::move(snapshot));
  gate->stamp_ = {file.mtime_ns, file.size, std::hash<std::string_view>{}(file.text)};
  return gate;
}

Result<std::shared_ptr<AclGate>> AclGate::from_config(const SecurityConfig& config,
                                                      std::string server_role,
                                                      RequiredAccessFn required) {
  COMET_ASSIGN_OR_RETURN(AclGateOptions options,
                         AclGateOptions::from_config(config, std::move(server_role)));
  return open(std::move(options), std::move(required));
}

Result<std::shared_ptr<AclGate>> AclGate::with_config(PlainAclConfig config, AclGateOptions options,
                                                      RequiredAccessFn required) {
  COMET_ASSIGN_OR_RETURN(AclSnapshot s,
                         AclSnapshot::make(std::move(config), options.cluster,
                                           options.signature_window_ms, options.server_role));
  std::shared_ptr<AclGate> gate(new AclGate(std::move(options), std::move(required)));
  gate->set_snapshot(std::make_shared<const AclSnapshot>(std::move(s)));
  return gate;
}

std::shared_ptr<AclGate> AclGate::cluster_only(Credentials cluster, int64_t signature_window_ms,
                                               std::string server_role) {
  AclGateOptions o;
  o.cluster = std::move(cluster);
  o.signature_window_ms = signature_window_ms;
  o.server_role = std::move(server_role);
  // No accounts, so no account can share the cluster's access key: this cannot fail.
  return std::move(with_config({}, std::move(o), &AclGate::everything_cluster_only).value());
}

Result<std::shared_ptr<const AclSnapshot>> AclGate::build_snapshot(std::string_view text) const {
  COMET_ASSIGN_OR_RETURN(PlainAclConfig config, parse_plain_acl(text, options_.acl_file));
  COMET_ASSIGN_OR_RETURN(AclSnapshot s,
                         AclSnapshot::make(std::move(config), options_.cluster,
                                           options_.signature_window_ms, options_.server_role));
  return std::make_shared<const AclSnapshot>(std::move(s));
}

Status AclGate::admit(Connection& conn, const RemotingCommand& cmd) {
  return admit_on(&conn, conn.remote_address(), cmd, unix_millis_now());
}

Status AclGate::admit_from(std::string_view remote_address, const RemotingCommand& cmd,
                           int64_t now_ms) {
  return admit_on(nullptr, remote_address, cmd, now_ms);
}

Status AclGate::admit_on(Connection* conn, std::string_view remote_address,
                         const RemotingCommand& cmd, int64_t now_ms) {
  const std::shared_ptr<const AclSnapshot> snapshot = this->snapshot();
  const RequiredAccess required = required_(cmd);
  const AccessRequest request{host_of(remote_address), cmd.auth.get(), cmd.code(), now_ms,
                              conn != nullptr ? conn->verified_signer() : nullptr};
  AccessDecision decision = decide_access(*snapshot, request, required);
  if (decision.status.is_ok() && decision.check_replay) {
    decision.status = check_replay(*cmd.auth, decision.principal, cmd.code(), now_ms);
  }
  // A signature that passed every check, replay included (a refused request's nonce is never
  // recorded, so it could be replayed): TLS binds the connection's later requests to its signer.
  if (decision.status.is_ok() && decision.check_replay && conn != nullptr && conn->is_tls()) {
    remember_signer(*conn, *snapshot, decision.principal);
  }
  if (!decision.status.is_ok()) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    log_refusal(remote_address, decision.status);
    if (conn != nullptr && cmd.is_oneway() && cmd.auth != nullptr &&
        cmd.auth->scheme == RequestAuth::Scheme::kCometSession) {
      conn->close();
    }
  }
  return decision.status;
}

void AclGate::remember_signer(Connection& conn, const AclSnapshot& snapshot,
                              std::string_view principal) {
  const auto key = snapshot.signing_keys.find(std::string(principal));
  if (key == snapshot.signing_keys.end()) return;
  const VerifiedSigner* known = conn.verified_signer();
  if (known != nullptr && known->access_key == principal && known->key == key->second) return;
  conn.set_verified_signer({std::string(principal), key->second});
}

Status AclGate::check_replay(const RequestAuth& auth, std::string_view principal, int32_t code,
                             int64_t now_ms) {
  // Shard by the nonce's prefix (random per signer): one signer's requests share a lock.
  size_t shard = 0;
  if (auth.nonce.size() >= 8) shard = static_cast<uint8_t>(auth.nonce[7]) % kReplayShards;
  ReplayShard& s = replay_[shard];
  ReplayGuard::Verdict v;
  {
    std::lock_guard lock(s.mu);
    v = s.guard->check(auth.access_key, auth.nonce, auth.timestamp_ms, now_ms);
  }
  if (v == ReplayGuard::Verdict::kAccepted) return Status::ok();
  return Status::permission_denied(replay_refusal(v, principal, code));
}

void AclGate::log_refusal(std::string_view remote_address, const Status& status) {
  const int64_t now = steady_ms();
  int64_t last = last_log_ms_.load(std::memory_order_relaxed);
  if (now - last < kRefusalLogIntervalMs ||
      !last_log_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    unlogged_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint64_t unlogged = unlogged_.exchange(0, std::memory_order_relaxed);
  if (unlogged == 0) {
    logger("acl")->warn("refused a request from {}: {}", remote_address, status.message());
  } else {
    logger("acl")->warn("refused a request from {}: {} ({} more refused since the last line)",
                        remote_address, status.message(), unlogged);
  }
}

void AclGate::expire_replay_entries(int64_t now_ms) {
  for (ReplayShard& s : replay_) {
    std::lock_guard lock(s.mu);
    s.guard->expire(now_ms);
  }
}

Result<bool> AclGate::reload_if_changed() {
  if (options_.acl_file.empty()) return false;
  std::lock_guard lock(reload_mu_);
  auto file = read_acl_file(options_.acl_file);
  if (!file) {
    logger("acl")->error("keeping the accounts in force: {}", file.status().message());
    return file.status();
  }
  const FileStamp stamp{file->mtime_ns, file->size, std::hash<std::string_view>{}(file->text)};
  if (stamp == stamp_) return false;
  // Remember what was read even when it is bad: the same bad file is reported once.
  stamp_ = stamp;
  auto snapshot = build_snapshot(file->text);
  if (!snapshot) {
    logger("acl")->error("keeping the accounts in force: {}", snapshot.status().message());
    return snapshot.status();
  }
  const size_t accounts = snapshot.value()->config.accounts.size();
  set_snapshot(std::move(snapshot.value()));
  reloads_.fetch_add(1, std::memory_order_relaxed);
  logger("acl")->info("reloaded {}: {} accounts", options_.acl_file, accounts);
  return true;
}

void AclGate::start(const asio::any_io_executor& executor) {
  std::lock_guard lock(reload_mu_);
  if (timer_ || stopped_) return;
  timer_ = std::make_unique<asio::steady_timer>(executor);
  arm_timer();
}

void AclGate::stop() {
  std::lock_guard lock(reload_mu_);
  stopped_ = true;
  // Destroyed here, while its io_context still runs: the gate itself may outlive it (servers'
  // options and LinkSecurity copies hold it).
  timer_.reset();
}

// Called with reload_mu_ held.
void AclGate::arm_timer() {
  timer_->expires_after(
      std::chrono::milliseconds(std::max<uint32_t>(1, options_.reload_interval_ms)));
  std::weak_ptr<AclGate> weak = weak_from_this();
  timer_->async_wait([weak](const std::error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self) return;
    (void)self->reload_if_changed();  // logged there
    self->expire_replay_entries(unix_millis_now());
    std::lock_guard lock(self->reload_mu_);
    if (!self->stopped_ && self->timer_) self->arm_timer();
  });
}

}  // namespace comet::remoting
