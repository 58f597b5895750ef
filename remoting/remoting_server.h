// Accepts connections and hands each request to the handler registered for its code, on the
// connection's strand. Unknown codes get REQUEST_CODE_NOT_SUPPORTED. Handlers answer with
// conn->send(...), at once or later (long polling, group commit).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio.hpp>

#include "remoting/accept_backoff.h"
#include "remoting/connection.h"
#include "remoting/request_gate.h"

namespace comet::remoting {

struct ServerOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 0;  // 0: any free port (see port())
  int io_threads = 2;
  ConnectionOptions connection;
  // Limits that keep one client from exhausting the server (0: none). A connection past a
  // count limit is closed as soon as it is accepted.
  uint32_t max_connections = 0;
  uint32_t max_connections_per_ip = 0;
  // A frame must arrive whole within frame_read_timeout of its first bytes (slow-loris senders
  // are cut), and a connection that sends nothing for idle_timeout is closed (RocketMQ's
  // serverChannelMaxIdleTimeSeconds; clients heartbeat far more often).
  std::chrono::milliseconds frame_read_timeout{0};
  std::chrono::milliseconds idle_timeout{0};
  // Runs on every request before its handler (access control); null: every request runs.
  std::shared_ptr<RequestGate> gate;
};

class RemotingServer {
 public:
  using Handler = std::function<void(const std::shared_ptr<Connection>&, RemotingCommand)>;

  explicit RemotingServer(ServerOptions options);
  ~RemotingServer();

  // Register before start().
  void register_handler(RequestCode code, Handler handler);
  // Runs (on the connection's strand) when an accepted connection has closed.
  void set_close_handler(std::function<void(Connection*)> handler) {
    close_handler_ = std::move(handler);
  }

  Status start();
  // Stops accepting, closes every connection (peers see the close) and joins the I/O threads.
  // Blocks: never call it from a handler or an I/O thread of this server.
  void stop();
  uint16_t port() const { return port_; }
  size_t connection_count() const;
  asio::io_context& io_context() { return io_; }

 private:
  asio::awaitable<void> accept_loop();
  // Every so often: closes the connections overdue() names.
  asio::awaitable<void> deadline_loop();
  void log_accept_failure(std::error_code ec, const AcceptBackoff::Step& step);
  // Under conns_mu_: why a new connection from `ip` is refused, or "".
  std::string over_limit(const std::string& ip) const;
  void dispatch(const std::shared_ptr<Connection>& conn, RemotingCommand cmd);

  ServerOptions options_;
  asio::io_context io_;
  // Keeps the I/O threads running until stop() has closed everything.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer deadline_timer_;  // on the acceptor's strand
  // accept_loop's wait after an accept() failed for want of descriptors; on the acceptor's strand.
  asio::steady_timer accept_retry_timer_;
  AcceptBackoff accept_backoff_;  // accept_loop only
  std::unordered_map<int32_t, Handler> handlers_;
  std::function<void(Connection*)> close_handler_;
  mutable std::mutex conns_mu_;
  struct Accepted {
    std::weak_ptr<Connection> conn;
    std::string ip;
  };
  std::unordered_map<Connection*, Accepted> conns_;
  std::unordered_map<std::string, uint32_t> conns_per_ip_;  // guarded by conns_mu_
  // Refusals since the last one logged (logged at most once a second).
  uint64_t refused_unlogged_ = 0;                              // accept strand only
  std::chrono::steady_clock::time_point refusal_logged_at_{};  // accept strand only
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> started_{false};
};

}  // namespace comet::remoting
