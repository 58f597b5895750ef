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
      heartbeat_timer_(strand_) {}

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
    if (conn) {
      conn->close_then([&done] { done.set_value(); });
    } else {
      done.set_value();
    }
  });
  done.get_future().wait();
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
  remoting::ConnectionOptions copts;
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
  last_push_ms_ = now_ms();
  conn->start_connect(master_, std::chrono::milliseconds(options_.connect_timeout_ms));

  const EpochCache epochs = epochs_();
  auto req = RemotingCommand::request(RequestCode::HA_HANDSHAKE);
  protocol::HaHandshakeRequestT h;
  h.cluster_name = options_.cluster_name;
  h.broker_name = options_.broker_name;
  h.broker_id = identity_.broker_id;
  h.broker_addr = identity_.broker_addr;
  h.max_offset = static_cast<int64_t>(store_.commit_log().max_offset());
  h.min_offset = static_cast<int64_t>(store_.commit_log().min_offset());
  h.max_epoch = epochs.max_seen();
  h.epochs = to_protocol(epochs.entries());
  h.mapped_file_size = static_cast<int64_t>(store_.config().mapped_file_size_commit_log);
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
  if (h == nullptr) {
    if (!warned_) log->warn("cannot attach to master {}: {}", master_, why);
    warned_ = true;
    conn->close();
    return;
  }
  warned_ = false;
  const uint64_t start = static_cast<uint64_t>(std::max<int64_t>(h->start_offset, 0));
  master_epoch_ = h->master_epoch;
  adopt_(from_protocol(h->epochs), h->master_epoch, h->master_role);
  const uint64_t end = store_.commit_log().max_offset();
  auto begin = [this, conn, start] {
    if (conn != conn_) return;
    streaming_ = true;
    logger("ha")->info("streaming from master {} at offset {}", master_, start);
    send_ack(conn, start);
    if (stream_listener_) stream_listener_(master_, start);
  };
  if (start == end) {
    begin();
    return;
  }
  log->warn("log ends at {} but the master's history agrees only up to {}: {} first", end, start,
            start < end ? "truncating" : "restarting the log");
  store_.truncate_async(start, [this, conn, begin](Status s) {
    asio::post(strand_, [conn, begin, s] {
      if (!s.is_ok()) {
        logger("ha")->error("cannot truncate the log for the master: {}", s.to_string());
        conn->close();
        return;
      }
      begin();
    });
  });
}

void HAClient::on_push(const std::shared_ptr<Connection>& conn, RemotingCommand cmd) {
  const auto* p = cmd.ext<protocol::HaPushT>();
  if (p == nullptr || !streaming_.load()) {
    conn->close();
    return;
  }
  last_push_ms_.store(now_ms(), std::memory_order_relaxed);
  master_max_.store(static_cast<uint64_t>(std::max<int64_t>(p->master_max_offset, 0)));
  if (p->epoch < master_epoch_.load()) {
    logger("ha")->error("push of epoch {} from a master of epoch {}: closing", p->epoch,
                        master_epoch_.load());
    conn->close();
    return;
  }
  const std::string& body = cmd.body.owned;
  if (body.empty()) return;  // a heartbeat
  const uint64_t offset = static_cast<uint64_t>(std::max<int64_t>(p->offset, 0));
  auto end =
      store_.append_replica(offset, {reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  if (!end.is_ok()) {
    logger("ha")->error("cannot append {} bytes from the master at {}: {}; reconnecting",
                        body.size(), offset, end.status().to_string());
    conn->close();
    return;
  }
  store_.advance_committed(end.value());  // a slave reads all it holds from its master
  send_ack(conn, end.value());
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
    if (conn_ && streaming_) {
      if (now_ms() - last_push_ms_.load() > options_.housekeeping_interval_ms) {
        logger("ha")->warn("master {} silent for {} ms: reconnecting", master_,
                           now_ms() - last_push_ms_.load());
        conn_->close();
      } else {
        send_ack(conn_, store_.commit_log().max_offset());
      }
    }
    schedule_heartbeat();
  });
}

}  // namespace comet::ha
