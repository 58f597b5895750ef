#include "ha/ha_client.h"

#include <future>

#include "common/clock.h"
#include "common/logging.h"
#include "ha/ha_service.h"

namespace comet::ha {

using remoting::Connection;
using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;

HAClient::HAClient(commitlog::MessageStore& store, HaOptions options, Identity identity,
                   EpochsFn epochs, AdoptFn adopt)
    : store_(store),
      options_(std::move(options)),
      identity_(std::move(identity)),
      epochs_(std::move(epochs)),
      adopt_(std::move(adopt)),
      strand_(asio::make_strand(io_)),
      reconnect_timer_(strand_),
      heartbeat_timer_(strand_),
      stream_(options_, store.config().mapped_file_size_commit_log) {}

HAClient::~HAClient() {
  stop();
}

void HAClient::start() {
  if (thread_.joinable()) return;
  auto work = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
      io_.get_executor());
  thread_ = std::thread([this, work]() mutable {
    io_.run();
    work.reset();
  });
  asio::post(strand_, [this] { schedule_heartbeat(); });
}

void HAClient::stop() {
  if (stopped_.exchange(true) || !thread_.joinable()) return;
  std::promise<void> done;
  asio::post(strand_, [&] {
    reconnect_timer_.cancel();
    heartbeat_timer_.cancel();
    auto conn = std::move(conn_);
    streaming_ = false;
    {
      std::lock_guard lock(stream_mu_);
      stream_.on_closed();
    }
    if (conn) {
      conn->close_then([&done] { done.set_value(); });
    } else {
      done.set_value();
    }
  });
  done.get_future().wait();
  {
    // A cut still running calls back into this object, and a promotion that stops this client
    // starts its epoch at the log end: after the cut, never before.
    std::unique_lock lock(stream_mu_);
    if (!cut_done_.wait_for(lock, std::chrono::seconds(30),
                            [this] { return !stream_.cut_pending(); })) {
      logger("ha")->error("the log cut for the master did not finish within 30 s");
    }
  }
  io_.stop();
  thread_.join();
}

void HAClient::set_master(const std::string& ha_addr) {
  asio::post(strand_, [this, ha_addr] {
    if (stopped_ || ha_addr == master_) return;
    logger("ha")->info("following master HA address '{}' (was '{}')", ha_addr, master_);
    master_ = ha_addr;
    {
      std::lock_guard lock(state_mu_);
      master_shown_ = ha_addr;
    }
    warned_ = false;
    if (conn_) {
      auto old = std::move(conn_);
      streaming_ = false;
      {
        std::lock_guard lock(stream_mu_);
        stream_.on_closed();
      }
      old->close();
    }
    connect();
  });
}

HAClient::State HAClient::state() const {
  State s;
  {
    std::lock_guard lock(state_mu_);
    s.master = master_shown_;
  }
  s.streaming = streaming_.load();
  s.master_max_offset = master_max_.load();
  s.offset = store_.commit_log().max_offset();
  return s;
}

void HAClient::connect() {
  if (stopped_ || master_.empty() || conn_) return;
  {
    // A cut from a closed stream still running: a hello now would describe the log before it.
    std::lock_guard lock(stream_mu_);
    if (stream_.cut_pending()) {
      schedule_reconnect();
      return;
    }
  }
  // A full disk refuses the master's bytes: stay away (the master sees no slave in sync and
  // answers SLAVE_NOT_AVAILABLE at once) and try again once it has room.
  if (Status writable = store_.health().writable(); !writable.is_ok()) {
    if (!disk_full_logged_) {
      logger("ha")->warn("not following master {} until the store writes again: {}", master_,
                         writable.message());
    }
    disk_full_logged_ = true;
    schedule_reconnect();
    return;
  }
  disk_full_logged_ = false;
  remoting::ConnectionOptions copts;
  options_.security.apply_to_client(copts);
  auto conn = std::make_shared<Connection>(
      asio::ip::tcp::socket(asio::make_strand(io_)), copts,
      [this](const std::shared_ptr<Connection>& c, RemotingCommand cmd) {
        if (cmd.code() == static_cast<int32_t>(RequestCode::HA_PUSH)) {
          on_push(c, std::move(cmd));
        } else {
          c->close();
        }
      },
      [this](Connection* c) { asio::post(strand_, [this, c] { on_closed(c); }); });
  conn_ = conn;
  conn->start_connect(master_, std::chrono::milliseconds(options_.connect_timeout_ms));

  const EpochCache epochs = epochs_();
  SlaveHello hello;
  {
    std::lock_guard lock(stream_mu_);
    hello = stream_.on_connect(epochs, store_.commit_log().min_offset(),
                               store_.commit_log().max_offset(), now_ms());
  }
  auto req = RemotingCommand::request(RequestCode::HA_HANDSHAKE);
  protocol::HaHandshakeRequestT h;
  h.cluster_name = hello.cluster_name;
  h.broker_name = hello.broker_name;
  h.broker_id = identity_.broker_id;
  h.broker_addr = identity_.broker_addr;
  h.max_offset = static_cast<int64_t>(hello.max_offset);
  h.min_offset = static_cast<int64_t>(hello.min_offset);
  h.max_epoch = hello.max_epoch;
  h.epochs = to_protocol(hello.epochs);
  h.mapped_file_size = static_cast<int64_t>(hello.segment_bytes);
  req.set_ext(std::move(h));
  conn->invoke(
      std::move(req),
      std::chrono::milliseconds(options_.connect_timeout_ms + options_.heartbeat_interval_ms),
      [this, conn](Result<RemotingCommand> r) {
        asio::post(strand_, [this, conn, r = std::move(r)]() mutable {
          on_connected_handshake(conn, std::move(r));
        });
      });
}

void HAClient::on_connected_handshake(const std::shared_ptr<Connection>& conn,
                                      Result<RemotingCommand> resp) {
  auto log = logger("ha");
  if (conn != conn_) return;  // superseded
  const protocol::HaHandshakeResponseT* h = nullptr;
  std::string why;
  if (!resp.is_ok()) {
    why = resp.status().to_string();
  } else if (resp->response_code() != ResponseCode::SUCCESS) {
    why = std::string(remoting::response_code_name(resp->code())) + ": " + resp->remark();
  } else if ((h = resp->ext<protocol::HaHandshakeResponseT>()) == nullptr) {
    why = "handshake response lacks its header";
  }
  HandshakeAnswer answer;
  if (h == nullptr) {
    answer.refusal = Refusal::kBadAnswer;  // refused, failed, or no header
    answer.reason = why;
  } else {
    answer.start_offset = static_cast<uint64_t>(std::max<int64_t>(h->start_offset, 0));
    answer.master_epoch = h->master_epoch;
    answer.epochs = from_protocol(h->epochs);
  }
  const uint64_t end = store_.commit_log().max_offset();
  SlaveStream::Attach a;
  {
    std::lock_guard lock(stream_mu_);
    a = stream_.on_answer(answer, end, now_ms());
  }
  if (!a.accepted()) {
    if (!warned_) log->warn("cannot attach to master {}: {}", master_, a.reason);
    warned_ = true;
    conn->close();
    return;
  }
  warned_ = false;
  if (a.lost_acked_bytes > 0) {
    log->error(
        "the master's history lacks {} bytes this replica acknowledged (it lost a tail, "
        "or a less advanced replica was promoted)",
        a.lost_acked_bytes);
  }
  if (a.begin) {
    begin_stream(conn, *a.begin, h->master_role);
    return;
  }
  const uint64_t start = *a.truncate_to;
  log->warn("log ends at {} but the master's history agrees only up to {}: {} first", end, start,
            start < end ? "truncating" : "restarting the log");
  store_.truncate_async(start, [this, conn, role = h->master_role](Status s) {
    // On the store's dispatcher: stop() waits for this, so `this` is alive until the notify.
    std::lock_guard lock(stream_mu_);
    auto b = stream_.on_truncated(s.is_ok(), store_.commit_log().max_offset());
    cut_done_.notify_all();
    asio::post(strand_, [this, conn, role, s, b] {
      if (conn != conn_) return;  // superseded; a reconnect waited for the cut
      if (!b) {
        logger("ha")->error("cannot truncate the log for the master: {}", s.to_string());
        conn->close();
        return;
      }
      begin_stream(conn, *b, role);
    });
  });
}

void HAClient::begin_stream(const std::shared_ptr<Connection>& conn, const SlaveStream::Begin& b,
                            const std::string& master_role) {
  if (conn != conn_) return;
  // Durably before any record of this master lands (the broker persists them).
  adopt_(b.adopt, b.master_epoch, master_role);
  streaming_ = true;
  logger("ha")->info("streaming from master {} at offset {}", master_, b.ack);
  send_ack(conn, b.ack);
  if (stream_listener_) stream_listener_(master_, b.ack);
}

void HAClient::on_push(const std::shared_ptr<Connection>& conn, RemotingCommand cmd) {
  const auto* p = cmd.ext<protocol::HaPushT>();
  if (p == nullptr) {
    conn->close();
    return;
  }
  PushRange push;
  push.epoch = p->epoch;
  push.offset = static_cast<uint64_t>(std::max<int64_t>(p->offset, 0));
  push.master_max = static_cast<uint64_t>(std::max<int64_t>(p->master_max_offset, 0));
  const std::string& body = cmd.body.owned;
  std::lock_guard lock(stream_mu_);
  const auto verdict =
      stream_.on_push(push, body.size(), store_.commit_log().max_offset(), now_ms());
  master_max_.store(stream_.master_max());
  switch (verdict) {
    case SlaveStream::PushVerdict::kHeartbeat:
      return;
    case SlaveStream::PushVerdict::kAppend:
      break;
    case SlaveStream::PushVerdict::kNotStreaming:
      conn->close();
      return;
    case SlaveStream::PushVerdict::kStaleEpoch:
    case SlaveStream::PushVerdict::kNewerEpoch:
    case SlaveStream::PushVerdict::kOffsetGap:
      logger("ha")->error(
          "push of epoch {} at offset {} from a master of epoch {} whose log ends "
          "at {}: {}; closing",
          push.epoch, push.offset, stream_.master_epoch(), store_.commit_log().max_offset(),
          verdict == SlaveStream::PushVerdict::kOffsetGap ? "not at our log end" : "wrong epoch");
      conn->close();
      return;
  }
  auto end = store_.append_replica(push.offset,
                                   {reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  if (!end.is_ok()) {
    // Disk full (kUnavailable from the store's health) included: nothing appended, nothing acked.
    logger("ha")->error("cannot append {} bytes from the master at {}: {}; reconnecting",
                        body.size(), push.offset, end.status().to_string());
    conn->close();
    return;
  }
  const uint64_t ack = stream_.on_appended(push.offset, body.size(), end.value());
  store_.advance_committed(ack);  // a slave reads all it holds from its master
  send_ack(conn, ack);
}

void HAClient::send_ack(const std::shared_ptr<Connection>& conn, uint64_t offset) {
  auto ack = RemotingCommand::request(RequestCode::HA_ACK);
  protocol::HaAckT a;
  a.offset = static_cast<int64_t>(offset);
  ack.set_ext(std::move(a));
  conn->invoke_oneway(std::move(ack));
}

void HAClient::on_closed(Connection* c) {
  if (conn_.get() != c) return;
  conn_.reset();
  {
    std::lock_guard lock(stream_mu_);
    stream_.on_closed();
  }
  if (streaming_.exchange(false)) logger("ha")->warn("lost the stream from master {}", master_);
  schedule_reconnect();
}

void HAClient::schedule_reconnect() {
  if (stopped_ || reconnect_pending_ || master_.empty()) return;
  reconnect_pending_ = true;
  reconnect_timer_.expires_after(std::chrono::milliseconds(options_.reconnect_interval_ms));
  reconnect_timer_.async_wait([this](std::error_code ec) {
    reconnect_pending_ = false;
    if (ec || stopped_) return;
    connect();
  });
}

void HAClient::schedule_heartbeat() {
  if (stopped_) return;
  heartbeat_timer_.expires_after(std::chrono::milliseconds(options_.heartbeat_interval_ms));
  heartbeat_timer_.async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    SlaveStream::TickResult t;
    {
      std::lock_guard lock(stream_mu_);
      t = stream_.on_tick(now_ms(), store_.commit_log().max_offset());
    }
    if (conn_ && t.reconnect) {
      logger("ha")->warn("master {} silent for over {} ms: reconnecting", master_,
                         options_.housekeeping_interval_ms);
      conn_->close();
    } else if (conn_ && t.heartbeat) {
      send_ack(conn_, *t.heartbeat);
    }
    schedule_heartbeat();
  });
}

}  // namespace comet::ha
