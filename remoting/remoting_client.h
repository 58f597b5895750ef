// A pool of connections by address with request/response correlation, per-request timeouts,
// pipelining (many requests in flight on one connection) and oneway sends. Connections are made
// on first use and remade after they close.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <asio.hpp>

#include "remoting/connection.h"

namespace comet::remoting {

struct ClientOptions {
  int io_threads = 1;
  std::chrono::milliseconds connect_timeout{3000};
  ConnectionOptions connection;
  // Requests a server sends on one of this client's connections (oneway notices, such as
  // NOTIFY_CONSUMER_IDS_CHANGED); run on an I/O thread, so they must not block. Without one, a
  // request is answered REQUEST_CODE_NOT_SUPPORTED.
  Connection::RequestHandler on_request;
};

class RemotingClient {
 public:
  using ResponseCallback = Connection::ResponseCallback;

  explicit RemotingClient(ClientOptions options = {});
  ~RemotingClient();
  RemotingClient(const RemotingClient&) = delete;
  RemotingClient& operator=(const RemotingClient&) = delete;

  // `cb` runs once, on an I/O thread, with the response or kTimeout / kUnavailable.
  void invoke_async(const std::string& address, RemotingCommand request,
                    std::chrono::milliseconds timeout, ResponseCallback cb);
  // Blocking form of invoke_async. Never call it from a response callback: those run on this
  // client's I/O thread, which it would block.
  Result<RemotingCommand> invoke(const std::string& address, RemotingCommand request,
                                 std::chrono::milliseconds timeout);
  Status invoke_oneway(const std::string& address, RemotingCommand request);

  // Drops the pooled connection (its pending requests fail with kUnavailable).
  void close(const std::string& address);
  void shutdown();

 private:
  std::shared_ptr<Connection> connection(const std::string& address);

  ClientOptions options_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Connection>> conns_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace comet::remoting
