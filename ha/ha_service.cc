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

namespace {

// An HA_PUSH of `range`; the caller adds the records (none: a heartbeat).
RemotingCommand push_request(const PushRange& range) {
  auto cmd = RemotingCommand::request(RequestCode::HA_PUSH);
  protocol::HaPushT p;
  p.epoch = range.epoch;
  p.offset = static_cast<int64_t>(range.offset);
  p.master_max_offset = static_cast<int64_t>(range.master_max);
  cmd.set_ext(std::move(p));
  return cmd;
}

ResponseCode refusal_code(Refusal r) {
  return r == Refusal::kNotMaster || r == Refusal::kStaleMaster
             ? ResponseCode::SERVICE_NOT_AVAILABLE
             : ResponseCode::BAD_REQUEST;
}

uint64_t non_negative(int64_t v) {
  return static_cast<uint64_t>(std::max<int64_t>(v, 0));
}

}  // namespace

struct HAService::Slave {
  explicit Slave(const HaOptions& options) : stream(options) {}
  // Copies what readers on other threads look at (the send path asks has_in_sync_slave() per
  // request and must not wait for a pump holding `mu`).
  void publish() {
    streaming.store(stream.streaming());
    acked.store(stream.acked_offset(), std::memory_order_relaxed);
    last_ack_ms.store(stream.last_ack_ms(), std::memory_order_relaxed);
  }

  std::shared_ptr<Connection> conn;
  std::string broker_addr;
  int64_t broker_id = 0;
  std::mutex mu;        // guards `stream`
  MasterStream stream;  // the protocol; this struct only does its I/O
  std::atomic<bool> streaming{false};
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
  return s.streaming.load() && s.conn->is_open() &&
         MasterStream::within_sync_gap(s.acked.load(std::memory_order_relaxed), log_end,
                                       options_.max_gap_not_in_sync);
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
  options_.security.apply_to_server(opts);
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
  auto refuse = [&](ResponseCode code, const std::string& why) {
    log->warn("refusing slave {} ({}): {}", h ? h->broker_addr : "?", conn->remote_address(), why);
    conn->send(RemotingCommand::response_to(req, code, why));
  };
  if (h == nullptr) return refuse(ResponseCode::BAD_REQUEST, "HA_HANDSHAKE lacks its header");
  SlaveHello hello;
  hello.cluster_name = h->cluster_name;
  hello.broker_name = h->broker_name;
  hello.segment_bytes = non_negative(h->mapped_file_size);
  hello.epochs = from_protocol(h->epochs);
  hello.max_epoch = h->max_epoch;
  hello.min_offset = non_negative(h->min_offset);
  hello.max_offset = non_negative(h->max_offset);
  MasterView view = view_();
  MasterLogView master;
  master.is_master = view.is_master;
  master.epoch = view.epoch;
  master.epochs = view.epochs;
  master.min_offset = store_.commit_log().min_offset();
  master.max_offset = store_.commit_log().max_offset();
  master.segment_bytes = store_.config().mapped_file_size_commit_log;

  auto s = std::make_shared<Slave>(options_);
  s->conn = conn;
  s->broker_addr = h->broker_addr;
  s->broker_id = h->broker_id;
  MasterStream::HandshakeResult r;
  {
    std::lock_guard lock(s->mu);
    r = s->stream.on_handshake(hello, master, now_ms());
    s->publish();
  }
  if (!r.answer.accepted()) {
    refuse(refusal_code(r.answer.refusal), r.answer.reason);
    if (r.fence_epoch > 0 && fenced_) fenced_(r.fence_epoch);
    return;
  }
  {
    std::lock_guard lock(mu_);
    slaves_[conn.get()] = s;
  }
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::HaHandshakeResponseT answer;
  answer.start_offset = static_cast<int64_t>(r.answer.start_offset);
  answer.master_epoch = r.answer.master_epoch;
  answer.epochs = to_protocol(r.answer.epochs);
  answer.master_role = view.role;
  resp.set_ext(std::move(answer));
  conn->send(std::move(resp));
  log->info("slave {} (id {}, {}) attached at offset {} (its log ended at {}, ours at {})",
            h->broker_addr, h->broker_id, conn->remote_address(), r.answer.start_offset,
            hello.max_offset, master.max_offset);
}

void HAService::on_ack(const std::shared_ptr<Connection>& conn, const RemotingCommand& req) {
  const auto* a = req.ext<protocol::HaAckT>();
  std::shared_ptr<Slave> s = find(conn.get());
  if (a == nullptr || s == nullptr) {
    conn->close();  // an ack before a handshake: not a slave of ours
    return;
  }
  MasterStream::AckResult r;
  {
    std::lock_guard lock(s->mu);
    r = s->stream.on_ack(non_negative(a->offset), store_.commit_log().max_offset(), now_ms());
    s->publish();
  }
  if (r.close) {
    logger("ha")->warn("slave {} broke the protocol: {}; closing its stream", s->broker_addr,
                       r.reason);
    conn->close();
    return;
  }
  if (r.began && slave_listener_) slave_listener_(s->broker_addr, non_negative(a->offset));
  if (r.replicated) {
    // Readable before acknowledged: a SYNC_MASTER's consumers (and END_TRANSACTION, which reads
    // the half message a producer was just told is stored) may read what a slave holds.
    store_.advance_committed(*r.replicated);
    replicated_.advance(*r.replicated);
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
  {
    std::lock_guard lock(gone->mu);
    gone->stream.on_closed();
    gone->publish();
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
  if (!s.conn->is_open()) return;
  for (int rounds = 0; rounds < 1024; ++rounds) {
    MasterStream::PushDecision d = s.stream.next_push(log.max_offset());
    if (d.wait == MasterStream::PushWait::kCaughtUp) {
      // Idle until an append: publish that before looking at the log end once more, so an
      // append racing this either sees the flag or is seen here.
      any_idle_.store(true, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (log.max_offset() <= s.stream.next_offset()) return;
      s.stream.wake();
      d = s.stream.next_push(log.max_offset());
    }
    if (d.wait != MasterStream::PushWait::kSend) return;  // not streaming, or the window is full
    auto v = log.read_records(d.push.offset, d.push.max_bytes);
    if (!v.is_ok()) {
      logger("ha")->error("cannot read offset {} for slave {}: {}; dropping it", d.push.offset,
                          s.broker_addr, v.status().to_string());
      s.conn->close();
      return;
    }
    if (v->size == 0) break;  // nothing readable yet: try again later
    auto cmd = push_request(d.push);
    cmd.body.views.emplace_back(v->data, v->size);
    cmd.body.keepalive = v->file;
    if (!s.conn->invoke_oneway(std::move(cmd))) return;  // closed, or the slave stopped reading
    s.stream.on_pushed(d.push.offset, v->size);
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
      was_idle = s->stream.wake();
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
    MasterStream::TickResult t;
    {
      std::lock_guard lock(s->mu);
      t = s->stream.on_tick(now, max);
      s->publish();
      if (t.heartbeat) s->conn->invoke_oneway(push_request(*t.heartbeat));  // no records
    }
    if (t.close_silent) {
      logger("ha")->warn("slave {} silent for {} ms: closing its stream", s->broker_addr,
                         now - s->last_ack_ms.load());
      s->conn->close();
    }
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
