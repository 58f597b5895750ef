#include "remoting/remoting_server.h"

#include <algorithm>
#include <latch>

#include <asio/experimental/as_tuple.hpp>

#include "common/logging.h"
#include "common/open_files_limit.h"

namespace comet::remoting {

using asio::experimental::as_tuple;

RemotingServer::RemotingServer(ServerOptions options)
    : options_(std::move(options)),
      acceptor_(asio::make_strand(io_)),
      deadline_timer_(acceptor_.get_executor()),
      accept_retry_timer_(acceptor_.get_executor()) {
  if (!options_.connection.tls_refusals) {
    options_.connection.tls_refusals = std::make_shared<TlsRefusalLog>();
  }
  // A slow handshaker is a slow-loris sender too: the frame read timeout bounds it when lower.
  auto& handshake = options_.connection.tls_handshake_timeout;
  if (options_.frame_read_timeout.count() > 0) {
    handshake = std::min(handshake, options_.frame_read_timeout);
  }
}

RemotingServer::~RemotingServer() {
  stop();
}

void RemotingServer::register_handler(RequestCode code, Handler handler) {
  handlers_[static_cast<int32_t>(code)] = std::move(handler);
}

Status RemotingServer::start() {
  if (started_.load() || !threads_.empty()) {
    return Status::invalid_argument("server already started");
  }
  std::error_code ec;
  auto addr = asio::ip::make_address(options_.bind_address, ec);
  if (ec) return Status::invalid_argument("bad bind address " + options_.bind_address);
  asio::ip::tcp::endpoint ep(addr, options_.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    acceptor_.close(ignored);
    return Status::unavailable("cannot listen on " + options_.bind_address + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  work_.emplace(asio::make_work_guard(io_));
  // The accept loop and the acceptor's close share a strand: a connection is either registered
  // before stop() takes its snapshot or never accepted.
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
  if (options_.frame_read_timeout.count() > 0 || options_.idle_timeout.count() > 0) {
    asio::co_spawn(acceptor_.get_executor(), deadline_loop(), asio::detached);
  }
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
  started_.store(true);
  return Status::ok();
}

asio::awaitable<void> RemotingServer::accept_loop() {
  auto log = logger("remoting");
  while (acceptor_.is_open()) {
    auto [ec, socket] =
        co_await acceptor_.async_accept(asio::make_strand(io_), as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      const auto step = accept_backoff_.on_failure(ec, std::chrono::steady_clock::now());
      if (step.log) log_accept_failure(ec, step);
      if (step.wait.count() > 0) {
        accept_retry_timer_.expires_after(step.wait);
        auto [waited] = co_await accept_retry_timer_.async_wait(as_tuple(asio::use_awaitable));
        if (waited) co_return;  // stop() cancelled it
      }
      continue;
    }
    accept_backoff_.on_success();
    std::error_code ep_ec;
    const auto ep = socket.remote_endpoint(ep_ec);
    const std::string ip = ep_ec ? "?" : ep.address().to_string();
    std::string refusal;
    {
      std::lock_guard lock(conns_mu_);
      refusal = over_limit(ip);
    }
    if (!refusal.empty()) {
      std::error_code ignored;
      socket.close(ignored);
      ++refused_unlogged_;
      const auto now = std::chrono::steady_clock::now();
      if (now - refusal_logged_at_ >= std::chrono::seconds(1)) {
        log->warn("refused {} connection(s), the last from {}: {}", refused_unlogged_, ip, refusal);
        refused_unlogged_ = 0;
        refusal_logged_at_ = now;
      }
      continue;
    }
    auto conn = std::make_shared<Connection>(
        std::move(socket), options_.connection,
        [this](const std::shared_ptr<Connection>& c, RemotingCommand cmd) {
          dispatch(c, std::move(cmd));
        },
        [this](Connection* c) {
          {
            std::lock_guard lock(conns_mu_);
            if (auto it = conns_.find(c); it != conns_.end()) {
              if (auto n = conns_per_ip_.find(it->second.ip);
                  n != conns_per_ip_.end() && --n->second == 0) {
                conns_per_ip_.erase(n);
              }
              conns_.erase(it);
            }
          }
          if (close_handler_) close_handler_(c);
        });
    {
      std::lock_guard lock(conns_mu_);
      conns_.emplace(conn.get(), Accepted{conn, ip});
      ++conns_per_ip_[ip];
    }
    conn->start();
  }
}

void RemotingServer::log_accept_failure(std::error_code ec, const AcceptBackoff::Step& step) {
  auto log = logger("remoting");
  if (!AcceptBackoff::out_of_resources(ec)) {
    log->warn("accept failed ({} time(s) in the last second): {}", step.failures, ec.message());
    return;
  }
  // Out of descriptors: say which limit, and that clients wait rather than get refused.
  log->error(
      "accept failed ({} time(s) in the last second): {} (errno {}) with {} connections open and "
      "a descriptor limit (RLIMIT_NOFILE) of {}; new connections wait in the listen backlog, next "
      "accept in {} ms",
      step.failures, ec.message(), ec.value(), connection_count(), open_files_soft_limit(),
      step.wait.count());
}

std::string RemotingServer::over_limit(const std::string& ip) const {
  if (options_.max_connections != 0 && conns_.size() >= options_.max_connections) {
    return "the server holds its limit of " + std::to_string(options_.max_connections) +
           " connections";
  }
  if (options_.max_connections_per_ip != 0) {
    auto it = conns_per_ip_.find(ip);
    if (it != conns_per_ip_.end() && it->second >= options_.max_connections_per_ip) {
      return ip + " holds its limit of " + std::to_string(options_.max_connections_per_ip) +
             " connections";
    }
  }
  return "";
}

asio::awaitable<void> RemotingServer::deadline_loop() {
  using std::chrono::milliseconds;
  milliseconds shortest = milliseconds::max();
  for (auto t : {options_.frame_read_timeout, options_.idle_timeout}) {
    if (t.count() > 0) shortest = std::min(shortest, t);
  }
  // Checked four times per shortest timeout: a connection is cut within 1.25 times it.
  const milliseconds period = std::clamp(shortest / 4, milliseconds(10), milliseconds(1000));
  auto& timer = deadline_timer_;
  auto log = logger("remoting");
  while (acceptor_.is_open()) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(as_tuple(asio::use_awaitable));
    if (ec || !acceptor_.is_open()) co_return;
    std::vector<std::shared_ptr<Connection>> open;
    {
      std::lock_guard lock(conns_mu_);
      for (auto& [_, a] : conns_) {
        if (auto c = a.conn.lock()) open.push_back(std::move(c));
      }
    }
    const auto now = std::chrono::steady_clock::now();
    for (auto& c : open) {
      std::string why = c->overdue(now, options_.frame_read_timeout, options_.idle_timeout);
      if (why.empty()) continue;
      log->warn("closing connection from {}: {}", c->remote_address(), why);
      c->close();
    }
  }
}

void RemotingServer::dispatch(const std::shared_ptr<Connection>& conn, RemotingCommand cmd) {
  if (options_.gate) {
    if (Status admitted = options_.gate->admit(*conn, cmd); !admitted.is_ok()) {
      if (!cmd.is_oneway()) {
        conn->send(
            RemotingCommand::response_to(cmd, ResponseCode::NO_PERMISSION, admitted.message()));
      }
      return;
    }
  }
  auto it = handlers_.find(cmd.code());
  if (it == handlers_.end()) {
    if (!cmd.is_oneway()) {
      conn->send(RemotingCommand::response_to(
          cmd, ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
          "request code " + std::to_string(cmd.code()) + " is not supported"));
    }
    return;
  }
  it->second(conn, std::move(cmd));
}

void RemotingServer::stop() {
  if (!started_.exchange(false)) return;
  // First stop accepting (and wait for it), so no connection arrives after the snapshot below.
  {
    std::latch acceptor_closed(1);
    asio::post(acceptor_.get_executor(), [this, &acceptor_closed] {
      std::error_code ec;
      acceptor_.close(ec);
      deadline_timer_.cancel();
      accept_retry_timer_.cancel();
      acceptor_closed.count_down();
    });
    acceptor_closed.wait();
  }
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(conns_mu_);
    for (auto& [_, a] : conns_) {
      if (auto c = a.conn.lock()) open.push_back(std::move(c));
    }
  }
  // Close every socket on its strand and wait, so that peers see the close before the I/O
  // threads stop.
  std::latch closed(static_cast<ptrdiff_t>(open.size()));
  for (auto& c : open)
    c->close_then([&closed] { closed.count_down(); });
  closed.wait();
  work_.reset();
  io_.stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

size_t RemotingServer::connection_count() const {
  std::lock_guard lock(conns_mu_);
  return conns_.size();
}

}  // namespace comet::remoting
