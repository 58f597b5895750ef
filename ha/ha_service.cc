#include "ha/ha_service.h"

#include <future>

#include "common/clock.h"
#include "common/deferred_wake.h"
#include "common/logging.h"

namespace comet::ha {

using remoting::Connection;
using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;
namespace protocol = ::comet::protocol;

std::vector<std::unique_ptr<protocol::EpochEntryT>> to_protocol(const std::vector<EpochEntry>& in) {
  std::vector<std::unique_ptr<protocol::EpochEntryT>> out;
  for (const auto& e : in) {
    auto p = std::make_unique<protocol::EpochEntryT>();
    p->epoch = e.epoch;
    p->start_offset = static_cast<int64_t>(e.start_offset);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<EpochEntry> from_protocol(
    const std::vector<std::unique_ptr<protocol::EpochEntryT>>& in) {
  std::vector<EpochEntry> out;
  for (const auto& e : in)
    if (e) out.push_back({e->epoch, static_cast<uint64_t>(std::max<int64_t>(e->start_offset, 0))});
  return out;
}

struct HAService::Slave {
  std::shared_ptr<Connection> conn;
  std::string broker_addr;
  int64_t broker_id = 0;
  int64_t epoch = 0;
  std::mutex mu;                       // guards the fields below
  std::atomic<bool> streaming{false};  // the slave acked its start: pushes may flow
  bool idle = false;                   // sent everything written; waits for an append
  uint64_t next = 0;                   // next offset to push
  std::atomic<uint64_t> acked{0};
  std::atomic<int64_t> last_ack_ms{0};
};

std::vector<std::shared_ptr<HAService::Slave>> HAService::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Slave>> out;
  out.reserve(slaves_.size());
  for (const auto& [_, s] : slaves_)
    out.push_back(s);
  return out;
}

std::shared_ptr<HAService::Slave> HAService::find(Connection* conn) const {
  std::lock_guard lock(mu_);
  auto it = slaves_.find(conn);
  return it == slaves_.end() ? nullptr : it->second;
}

bool HAService::in_sync(const Slave& s, uint64_t log_end) const {
  const uint64_t acked = s.acked.load(std::memory_order_relaxed);
  return s.streaming.load() && s.conn->is_open() &&
         log_end - std::min(log_end, acked) <= options_.max_gap_not_in_sync;
}

// An HA_PUSH of `s` at its next offset; the caller adds the records (none: a heartbeat).
RemotingCommand HAService::push_command(const Slave& s, uint64_t log_end) {
  auto cmd = RemotingCommand::request(RequestCode::HA_PUSH);
  protocol::HaPushT p;
  p.epoch = s.epoch;
  p.offset = static_cast<int64_t>(s.next);
  p.master_max_offset = static_cast<int64_t>(log_end);
  cmd.set_ext(std::move(p));
  return cmd;
}

HAService::HAService(commitlog::MessageStore& store, HaOptions options, MasterViewFn view,
                     FencedFn fenced)
    : store_(store),
      options_(std::move(options)),
      view_(std::move(view)),
      fenced_(std::move(fenced)) {}

HAService::~HAService() {
  stop();
}

Status HAService::start(const std::string& bind_address, uint16_t port) {
  remoting::ServerOptions opts;
  opts.bind_address = bind_address;
  opts.port = port;
  opts.io_threads = 1;
  server_ = std::make_unique<remoting::RemotingServer>(opts);
  server_->register_handler(RequestCode::HA_HANDSHAKE,
                            [this](const std::shared_ptr<Connection>& c, RemotingCommand req) {
                              on_handshake(c, std::move(req));
                            });
  server_->register_handler(RequestCode::HA_ACK, [this](const std::shared_ptr<Connection>& c,
                                                        RemotingCommand req) { on_ack(c, req); });
  server_->set_close_handler([this](Connection* c) { on_close(c); });
  COMET_RETURN_IF_ERROR(server_->start());
  store_.set_append_listener([this] { on_append(); });
  timer_ = std::make_unique<asio::steady_timer>(server_->io_context());
  asio::post(server_->io_context(), [this] { schedule_housekeeping(); });
  logger("ha")->info("HA service of {} listening on port {}", options_.broker_name,
                     server_->port());
  return Status::ok();
}

void HAService::stop() {
  // The store's append listener stays: it checks stopped_ (clearing it would race appends).
  if (!server_ || stopped_.exchange(true)) return;
  std::promise<void> cancelled;
  asio::post(server_->io_context(), [&] {
    timer_->cancel();
    cancelled.set_value();
  });
  cancelled.get_future().wait();
  server_->stop();
  {
    std::lock_guard lock(mu_);
    slaves_.clear();
  }
  replicated_.fail_all(Status::shutdown("HA service stopped"), false);
}

void HAService::on_handshake(const std::shared_ptr<Connection>& conn, RemotingCommand req) {
  auto log = logger("ha");
  const auto* h = req.ext<protocol::HaHandshakeRequestT>();
  auto refuse = [&](ResponseCode code, std::string why) {
    log->warn("refusing slave {} ({}): {}", h ? h->broker_addr : "?", conn->remote_address(), why);
    conn->send(RemotingCommand::response_to(req, code, std::move(why)));
  };
  if (h == nullptr) return refuse(ResponseCode::BAD_REQUEST, "HA_HANDSHAKE lacks its header");
  if (h->cluster_name != options_.cluster_name || h->broker_name != options_.broker_name) {
    return refuse(ResponseCode::BAD_REQUEST, "this is the HA port of " + options_.cluster_name +
                                                 "/" + options_.broker_name + ", not of " +
                                                 h->cluster_name + "/" + h->broker_name);
  }
  const uint64_t segment = store_.config().mapped_file_size_commit_log;
  if (static_cast<uint64_t>(h->mapped_file_size) != segment) {
    return refuse(ResponseCode::BAD_REQUEST, "mappedFileSizeCommitLog differs: master " +
                                                 std::to_string(segment) + ", slave " +
                                                 std::to_string(h->mapped_file_size));
  }
  MasterView view = view_();
  if (!view.is_master) return refuse(ResponseCode::SERVICE_NOT_AVAILABLE, "not a master");
  if (h->max_epoch > view.epoch) {
    refuse(ResponseCode::SERVICE_NOT_AVAILABLE,
           "stale master: epoch " + std::to_string(view.epoch) + " < " +
               std::to_string(h->max_epoch) + " seen by the slave");
    if (fenced_) fenced_(h->max_epoch);
    return;
  }
  const uint64_t master_max = store_.commit_log().max_offset();
  const uint64_t master_min = store_.commit_log().min_offset();
  const uint64_t slave_max = static_cast<uint64_t>(std::max<int64_t>(h->max_offset, 0));
  uint64_t start =
      EpochCache::consistent_offset(view.epochs, master_max, from_protocol(h->epochs), slave_max);
  // The slave's log has to start where the master's still does: a slave holding nothing the
  // master retains restarts its log at the master's first offset.
  if (start < master_min || static_cast<uint64_t>(std::max<int64_t>(h->min_offset, 0)) > start) {
    start = master_min;
  }
  auto s = std::make_shared<Slave>();
  s->conn = conn;
  s->broker_addr = h->broker_addr;
  s->broker_id = h->broker_id;
  s->epoch = view.epoch;
  s->next = start;
  s->last_ack_ms = now_ms();
  {
    std::lock_guard lock(mu_);
    slaves_[conn.get()] = s;
  }
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::HaHandshakeResponseT r;
  r.start_offset = static_cast<int64_t>(start);
  r.master_epoch = view.epoch;
  r.epochs = to_protocol(view.epochs);
  r.master_role = view.role;
  resp.set_ext(std::move(r));
  conn->send(std::move(resp));
  log->info("slave {} (id {}, {}) attached at offset {} (its log ended at {}, ours at {})",
            h->broker_addr, h->broker_id, conn->remote_address(), start, slave_max, master_max);
}

void HAService::on_ack(const std::shared_ptr<Connection>& conn, const RemotingCommand& req) {
  const auto* a = req.ext<protocol::HaAckT>();
  std::shared_ptr<Slave> s = find(conn.get());
  if (a == nullptr || s == nullptr) {
    conn->close();  // an ack before a handshake: not a slave of ours
    return;
  }
  const uint64_t offset = static_cast<uint64_t>(std::max<int64_t>(a->offset, 0));
  s->last_ack_ms.store(now_ms(), std::memory_order_relaxed);
  bool began = false;
  {
    std::lock_guard lock(s->mu);
    if (!s->streaming.load()) {
      // The slave truncated (if it had to) and holds exactly `offset`.
      s->next = offset;
      s->streaming.store(true);
      began = true;
    }
  }
  if (offset > s->acked.load(std::memory_order_relaxed)) {
    s->acked.store(offset, std::memory_order_relaxed);
  }
  if (began && slave_listener_) slave_listener_(s->broker_addr, offset);
  if (offset <= store_.commit_log().max_offset()) {
    replicated_.advance(offset);
    store_.advance_committed(offset);  // what a SYNC_MASTER's consumers may read
  }
  pump(*s);
}

void HAService::on_close(Connection* conn) {
  std::shared_ptr<Slave> gone;
  {
    std::lock_guard lock(mu_);
    auto it = slaves_.find(conn);
    if (it == slaves_.end()) return;
    gone = std::move(it->second);
    slaves_.erase(it);
  }
  logger("ha")->warn("slave {} (id {}) detached at offset {}", gone->broker_addr, gone->broker_id,
                     gone->acked.load());
  fail_waiters_if_no_slave();
}

void HAService::fail_waiters_if_no_slave() {
  if (!has_in_sync_slave() && replicated_.pending() > 0) {
    replicated_.fail_all(Status::unavailable("no slave in sync"), false);
  }
}

void HAService::pump(Slave& s) {
  auto& log = store_.commit_log();
  std::lock_guard lock(s.mu);
  if (!s.streaming || !s.conn->is_open()) return;
  for (int rounds = 0; rounds < 1024; ++rounds) {
    uint64_t max = log.max_offset();
    if (s.next >= max) {
      // Idle until an append: publish that before looking at the log end once more, so an
      // append racing this either sees the flag or is seen here.
      s.idle = true;
      any_idle_.store(true, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      max = log.max_offset();
      if (s.next >= max) return;
      s.idle = false;
    }
    if (s.next - s.acked.load(std::memory_order_relaxed) >= options_.window_bytes) return;
    auto v = log.read_records(s.next, options_.transfer_batch_bytes);
    if (!v.is_ok()) {
      logger("ha")->error("cannot read offset {} for slave {}: {}; dropping it", s.next,
                          s.broker_addr, v.status().to_string());
      s.conn->close();
      return;
    }
    auto cmd = push_command(s, max);
    cmd.body.views.emplace_back(v->data, v->size);
    cmd.body.keepalive = v->file;
    if (!s.conn->invoke_oneway(std::move(cmd))) return;  // closed, or the slave stopped reading
    s.next += v->size;
  }
  // Bounded per call; continue later without starving the other streams.
  asio::post(server_->io_context(), [this, conn = s.conn.get()] {
    if (auto again = find(conn)) pump(*again);
  });
}

void HAService::on_append() {
  if (stopped_.load(std::memory_order_relaxed)) return;
  if (!any_idle_.load(std::memory_order_relaxed)) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!any_idle_.load(std::memory_order_relaxed)) return;
  }
  if (!any_idle_.exchange(false)) return;
  if (!defer_wake(&HAService::wake, this)) wake(this);
}

void HAService::wake(void* self) {
  auto* service = static_cast<HAService*>(self);
  asio::post(service->server_->io_context(), [service] { service->pump_idle(); });
}

void HAService::pump_idle() {
  for (auto& s : snapshot()) {
    bool was_idle;
    {
      std::lock_guard lock(s->mu);
      was_idle = s->idle;
      s->idle = false;
    }
    if (was_idle) pump(*s);
  }
}

void HAService::schedule_housekeeping() {
  if (stopped_) return;
  timer_->expires_after(std::chrono::milliseconds(options_.heartbeat_interval_ms));
  timer_->async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    housekeeping();
    schedule_housekeeping();
  });
}

void HAService::housekeeping() {
  const int64_t now = now_ms();
  const uint64_t max = store_.commit_log().max_offset();
  for (auto& s : snapshot()) {
    if (now - s->last_ack_ms.load(std::memory_order_relaxed) > options_.housekeeping_interval_ms) {
      logger("ha")->warn("slave {} silent for {} ms: closing its stream", s->broker_addr,
                         now - s->last_ack_ms.load());
      s->conn->close();
      continue;
    }
    std::lock_guard lock(s->mu);
    if (!s->streaming || !s->idle) continue;
    s->conn->invoke_oneway(push_command(*s, max));  // a heartbeat: no records
  }
}

bool HAService::has_in_sync_slave() const {
  const uint64_t max = store_.commit_log().max_offset();
  std::lock_guard lock(mu_);
  for (const auto& [_, s] : slaves_) {
    if (in_sync(*s, max)) return true;
  }
  return false;
}

std::vector<SlaveInfo> HAService::slaves() const {
  const uint64_t max = store_.commit_log().max_offset();
  const int64_t now = now_ms();
  std::vector<SlaveInfo> out;
  std::lock_guard lock(mu_);
  for (const auto& [_, s] : slaves_) {
    SlaveInfo i;
    i.broker_addr = s->broker_addr;
    i.remote_addr = s->conn->remote_address();
    i.broker_id = s->broker_id;
    i.acked_offset = s->acked.load(std::memory_order_relaxed);
    i.lag_bytes = max - std::min(max, i.acked_offset);
    i.in_sync = in_sync(*s, max);
    i.last_ack_ms_ago = now - s->last_ack_ms.load(std::memory_order_relaxed);
    out.push_back(std::move(i));
  }
  return out;
}

void HAService::drop_slaves() {
  for (auto& s : snapshot())
    s->conn->close();
}

void HAService::reset_replicated(uint64_t offset) {
  replicated_.fail_all(Status::unavailable("the broker changed role"), false);
  replicated_.reset(offset);
}

}  // namespace comet::ha
