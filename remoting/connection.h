// One TCP connection carrying frames both ways: a reader coroutine and a writer coroutine on the
// connection's strand (the Asio chat_server shape), a send queue bounded in bytes, and request /
// response correlation by opaque with a timeout per request. Used by server and client alike.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <asio.hpp>

#include "common/status.h"
#include "remoting/remoting_command.h"

namespace comet::remoting {

struct ConnectionOptions {
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  // A peer that does not read what we send is cut off past this many queued bytes.
  size_t send_queue_max_bytes = 64 * 1024 * 1024;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using RequestHandler = std::function<void(const std::shared_ptr<Connection>&, RemotingCommand)>;
  using ResponseCallback = std::function<void(Result<RemotingCommand>)>;
  using CloseHandler = std::function<void(Connection*)>;

  // `socket` must use a strand executor (asio::make_strand).
  Connection(asio::ip::tcp::socket socket, ConnectionOptions options, RequestHandler on_request,
             CloseHandler on_close);
  ~Connection();

  // Starts reading and writing on an accepted socket.
  void start();
  // Resolves and connects to "host:port" within `timeout`, then starts; frames sent meanwhile
  // wait in the queue, and a failed connect fails every pending request.
  void start_connect(std::string address, std::chrono::milliseconds timeout);

  // Queues a frame. False when the connection is closed or its send queue is full (which
  // closes it: the peer is not reading).
  bool send(RemotingCommand cmd);
  // Sends a request; `cb` runs once with the response, or kTimeout / kUnavailable.
  void invoke(RemotingCommand request, std::chrono::milliseconds timeout, ResponseCallback cb);
  bool invoke_oneway(RemotingCommand request);

  void close();
  // close(), then `done` on the connection's strand once the socket is closed.
  void close_then(std::function<void()> done);
  bool is_open() const { return open_.load(std::memory_order_acquire); }
  const std::string& remote_address() const { return remote_address_; }
  size_t pending_requests() const;

 private:
  struct OutFrame {
    std::string head;
    Body body;
    size_t bytes = 0;
  };
  struct Pending {
    ResponseCallback callback;
    std::shared_ptr<asio::steady_timer> timer;
  };

  asio::awaitable<void> reader();
  asio::awaitable<void> writer();
  asio::awaitable<void> connect(std::string address, std::chrono::milliseconds timeout);
  void complete(uint32_t opaque, Result<RemotingCommand> result);
  void fail_all_pending(const Status& status);
  void cancel_timer(std::shared_ptr<asio::steady_timer> timer);
  void spawn_io();

  asio::ip::tcp::socket socket_;
  const ConnectionOptions options_;
  RequestHandler on_request_;
  CloseHandler on_close_;
  std::string remote_address_;
  std::atomic<bool> open_{true};
  std::atomic<bool> started_{false};

  // Touched only on the strand.
  std::deque<OutFrame> queue_;
  asio::steady_timer writer_wake_;
  std::atomic<size_t> queued_bytes_{0};

  mutable std::mutex pending_mu_;
  std::unordered_map<uint32_t, Pending> pending_;
  std::atomic<uint32_t> next_opaque_{1};
};

// "host:port" → (host, port); kInvalidArgument with a message otherwise.
Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& address);

}  // namespace comet::remoting
