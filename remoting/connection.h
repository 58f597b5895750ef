// One TCP connection carrying frames both ways: a reader coroutine and a writer coroutine on the
// connection's strand (the Asio chat_server shape), a send queue bounded in bytes, and request /
// response correlation by opaque with a timeout per request. Used by server and client alike.
//
// The hot path avoids cross-thread hand-offs: send() appends to a mutex-guarded queue and wakes
// the writer only when it sleeps (a busy writer picks the frame up with its next batch), and
// request timeouts are enforced by one sweep timer per connection that fires at the earliest
// deadline, not a timer per request (RocketMQ scans its response table the same way).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio.hpp>
#include <asio/ssl/context.hpp>

#include "common/status.h"
#include "remoting/remoting_command.h"
#include "remoting/request_signature.h"
#include "remoting/rocketmq_session.h"
#include "remoting/security_config.h"
#include "remoting/tls_stream.h"

namespace comet::remoting {

struct ConnectionOptions {
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  // A peer that does not read what we send is cut off past this many queued bytes.
  size_t send_queue_max_bytes = 64 * 1024 * 1024;
  // Server side: while this many requests wait for their responses, the connection reads no
  // more (TCP then pushes back on the client, as Kafka mutes a channel). 0: no limit.
  uint32_t max_inflight_requests = 0;
  // Client side: the requests this connection sends are signed with it; over TLS only until a
  // signed one has been written (a signed session, docs/security.md).
  std::shared_ptr<RequestSigner> signer;
  // TLS (remoting/tls_context.h). Client side: connect with TLS through this context, and with
  // tls_verify_hostname check that the server's certificate names the host dialled. Server
  // side: the server's context, used as tls_mode says (permissive: a connection whose first
  // bytes are a TLS ClientHello gets TLS, any other plain; enforcing: only TLS).
  std::shared_ptr<asio::ssl::context> tls;
  bool tls_verify_hostname = true;
  TlsMode tls_mode = TlsMode::kDisabled;
  // Server side: a connection must have sent its first bytes and finished the TLS handshake
  // within this, or it is closed (a slow or stalled handshaker holds nothing for long).
  // RemotingServer lowers it to its frame_read_timeout when that is lower.
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  // Server side: where refused TLS connections are logged (one per server, rate-limited; the
  // RemotingServer makes it). Null: each is logged.
  std::shared_ptr<TlsRefusalLog> tls_refusals;
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

  // Starts reading and writing on an accepted socket; its first frame decides its protocol
  // (native or RocketMQ, detect_protocol). Client connections are native. With a server TLS
  // mode, the first bytes decide TLS or plain first (classify_first_bytes) and a TLS handshake
  // comes before any frame; enforcing refuses plain connections.
  void start();
  // Resolves and connects to "host:port" within `timeout` (with options.tls, the TLS handshake
  // too), then starts; frames sent meanwhile wait in the queue, and a failed connect or
  // handshake fails every pending request with kUnavailable naming the error.
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
  // True once the connection runs over TLS (set on the strand before any frame is handled).
  bool is_tls() const { return tls_active_.load(std::memory_order_acquire); }
  const std::string& remote_address() const { return remote_address_; }
  // kUndecided until an accepted connection's first frame arrives.
  Protocol protocol() const { return protocol_.load(std::memory_order_acquire); }
  size_t pending_requests() const;
  // Requests read and not yet answered (counted only with max_inflight_requests set).
  uint32_t inflight_requests() const { return inflight_.load(std::memory_order_relaxed); }

  // Server side, over TLS: the account a signed request on this connection proved (the request
  // gate sets and reads it on the connection's strand only). Null until then.
  const VerifiedSigner* verified_signer() const {
    return verified_signer_ ? &*verified_signer_ : nullptr;
  }
  void set_verified_signer(VerifiedSigner signer) { verified_signer_ = std::move(signer); }

  // Why this connection should be cut at `now`, or "": a frame whose bytes began arriving more
  // than `frame_timeout` ago and is still incomplete (a slow-loris sender), or nothing read for
  // `idle_timeout`. A zero timeout is off; time spent not reading because of the in-flight limit
  // does not count.
  std::string overdue(std::chrono::steady_clock::time_point now,
                      std::chrono::milliseconds frame_timeout,
                      std::chrono::milliseconds idle_timeout) const;

 private:
  struct OutFrame {
    std::string head;
    Body body;
    size_t bytes = 0;
    bool signed_request = false;  // carries a full signature (options_.signer)
  };
  using Deadline = std::chrono::steady_clock::time_point;
  struct Pending {
    ResponseCallback callback;
    Deadline deadline;
    std::chrono::milliseconds timeout{0};
  };

  asio::awaitable<void> reader();
  // Reader: fixes the protocol of an accepted connection from its first bytes.
  void decide_protocol(Protocol p);
  // Reader: one RocketMQ frame (`prefix` decoded, the rest at `p`); false when malformed.
  bool handle_rocketmq_frame(const rocketmq::FramePrefix& prefix, const uint8_t* p,
                             const std::shared_ptr<Connection>& self);
  // Queues a RocketMQ frame the session answered itself.
  bool send_rocketmq(rocketmq::Command cmd);
  // Queues an encoded frame (send's tail, for both protocols).
  bool enqueue(OutFrame f);
  asio::awaitable<void> writer();
  // Writer: `buffers` through the TLS stream, copied in turns into `staged`.
  asio::awaitable<std::error_code> write_tls(const std::vector<asio::const_buffer>& buffers,
                                             std::vector<uint8_t>& staged);
  asio::awaitable<void> connect(std::string address, std::chrono::milliseconds timeout);
  // Server side with a TLS mode: TLS or plain from the first bytes, the handshake, then I/O.
  asio::awaitable<void> accept_tls();
  // Client side: the TLS handshake with `host` (SNI, hostname check); "" or why it failed.
  asio::awaitable<std::string> client_handshake(const std::string& host,
                                                std::chrono::steady_clock::time_point deadline);
  // Closes the socket at `deadline` unless the returned timer is cancelled first: bounds the
  // bytes before a handshake and the handshake (closing the socket ends whichever socket
  // operation either waits on). `*fired` tells which happened.
  std::unique_ptr<asio::steady_timer> close_at(std::chrono::steady_clock::time_point deadline,
                                               std::shared_ptr<bool> fired);
  // A server refusal of a TLS or plain connection: logged (rate-limited) and closed.
  void refuse(const std::string& why);
  void complete(uint32_t opaque, Result<RemotingCommand> result);
  void fail_all_pending(const Status& status);
  void spawn_io();
  // Strand: arms the sweep timer for `at` (or sooner if already armed sooner).
  void arm_sweep(Deadline at);
  void on_sweep();

  asio::ip::tcp::socket socket_;
  // Set (on the strand, before the reader and writer start) when the connection runs over TLS;
  // reads and writes then go through it.
  std::unique_ptr<TlsStream> tls_;
  std::atomic<bool> tls_active_{false};
  // Plain bytes a server read to decide TLS or plain; the reader starts with them.
  std::vector<uint8_t> first_bytes_;
  const ConnectionOptions options_;
  RequestHandler on_request_;
  CloseHandler on_close_;
  std::string remote_address_;
  std::atomic<bool> open_{true};
  std::atomic<bool> started_{false};
  // Written once by the reader (or start_connect) before any frame of the connection is
  // handled; rocketmq_ is set before protocol_ becomes kRocketmq (release/acquire).
  std::atomic<Protocol> protocol_{Protocol::kUndecided};
  std::unique_ptr<rocketmq::RocketmqSession> rocketmq_;

  std::mutex out_mu_;
  std::vector<OutFrame> out_;     // guarded by out_mu_
  bool writer_sleeping_ = false;  // guarded by out_mu_: the writer waits on writer_wake_
  asio::steady_timer writer_wake_;
  std::atomic<size_t> queued_bytes_{0};

  // In-flight limit: the reader sleeps on reader_wake_ while inflight_ is at the limit; the
  // response that brings it under wakes it (the writer's wake-up scheme).
  std::atomic<uint32_t> inflight_{0};
  bool reader_sleeping_ = false;  // guarded by out_mu_
  asio::steady_timer reader_wake_;
  // For overdue(), in steady_clock ticks: the last read, and when the bytes of the incomplete
  // frame at the buffer's tail began to arrive (0: none).
  std::atomic<int64_t> last_read_{0};
  std::atomic<int64_t> partial_since_{0};
  std::atomic<bool> reader_paused_{false};

  mutable std::mutex pending_mu_;
  std::unordered_map<uint32_t, Pending> pending_;
  // Guarded by pending_mu_: the deadline the sweep timer is (about to be) armed for; max()
  // when it is not armed.
  Deadline sweep_at_ = Deadline::max();
  asio::steady_timer sweep_timer_;  // strand only
  std::atomic<uint32_t> next_opaque_{1};

  // Client side with a signer over TLS: a signed request has been written, so the requests sent
  // from now on may carry the access key alone (the server reads in order, so it checks the
  // signed one first). A NO_PERMISSION answer clears it: the next requests are signed again.
  std::atomic<bool> signed_written_{false};
  std::optional<VerifiedSigner> verified_signer_;  // server side; strand only
};

// "host:port" → (host, port); kInvalidArgument with a message otherwise.
Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& address);

}  // namespace comet::remoting
