#include "remoting/connection.h"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <utility>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "common/deferred_wake.h"
#include "common/logging.h"

namespace comet::remoting {

using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace asio::experimental::awaitable_operators;

namespace {

// Frames gathered into one write.
constexpr size_t kMaxFramesPerWrite = 256;
constexpr size_t kMaxBytesPerWrite = 4 * 1024 * 1024;
// A connection's read buffer starts at kReadBufferMinBytes and doubles, up to kReadBufferBytes,
// each time one read fills it: a busy producer soon takes many frames per syscall, while the
// thousands of consumers that send a heartbeat or a pull now and then keep 16 KiB each (a
// 256 KiB buffer for each of 1,000 clients was 256 MB of a broker's RSS).
constexpr size_t kReadBufferMinBytes = 16 * 1024;
constexpr size_t kReadBufferBytes = 256 * 1024;

// TLS writes go through a buffer of at most this size (Connection::write_tls): 64 KiB measured
// faster than 256 KiB and no slower than 32 KiB (docs/benchmarks.md).
constexpr size_t kTlsStageBytes = 64 * 1024;

// Copies up to `n` bytes of `bufs`, from buffer `index` at `offset` on, into `out`, and moves
// the position past them; returns how many (0: all copied before).
size_t gather_chunk(const std::vector<asio::const_buffer>& bufs, size_t& index, size_t& offset,
                    uint8_t* out, size_t n) {
  size_t copied = 0;
  while (copied < n && index < bufs.size()) {
    const asio::const_buffer& b = bufs[index];
    const size_t take = std::min(n - copied, b.size() - offset);
    std::memcpy(out + copied, static_cast<const uint8_t*>(b.data()) + offset, take);
    copied += take;
    offset += take;
    if (offset == b.size()) {
      ++index;
      offset = 0;
    }
  }
  return copied;
}

int64_t ticks_now() {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

std::string endpoint_string(const asio::ip::tcp::socket& s) {
  std::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::invalid_argument("address '" + address + "' is not host:port");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port = 0;
  for (size_t i = colon + 1; i < address.size(); ++i) {
    char c = address[i];
    if (c < '0' || c > '9' || port > 65535) {
      return Status::invalid_argument("address '" + address + "' has a bad port");
    }
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) {
    return Status::invalid_argument("address '" + address + "' has a bad port");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Connection::Connection(asio::ip::tcp::socket socket, ConnectionOptions options,
                       RequestHandler on_request, CloseHandler on_close)
    : socket_(std::move(socket)),
      options_(options),
      on_request_(std::move(on_request)),
      on_close_(std::move(on_close)),
      writer_wake_(socket_.get_executor()),
      reader_wake_(socket_.get_executor()),
      sweep_timer_(socket_.get_executor()) {
  writer_wake_.expires_at(asio::steady_timer::time_point::max());
  reader_wake_.expires_at(asio::steady_timer::time_point::max());
}

Connection::~Connection() = default;

void Connection::spawn_io() {
  auto self = shared_from_this();
  asio::co_spawn(socket_.get_executor(), reader(), [self](std::exception_ptr) {});
  asio::co_spawn(socket_.get_executor(), writer(), [self](std::exception_ptr) {});
}

void Connection::start() {
  remote_address_ = endpoint_string(socket_);
  std::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  started_ = true;
  if (options_.tls_mode != TlsMode::kDisabled) {
    asio::co_spawn(socket_.get_executor(), accept_tls(),
                   [self = shared_from_this()](std::exception_ptr) {});
    return;
  }
  spawn_io();
}

std::unique_ptr<asio::steady_timer> Connection::close_at(
    std::chrono::steady_clock::time_point deadline, std::shared_ptr<bool> fired) {
  auto timer = std::make_unique<asio::steady_timer>(socket_.get_executor(), deadline);
  // Holds the connection until the timer completes (cancelled: at once), so the socket it may
  // close outlives it.
  timer->async_wait([self = shared_from_this(), fired = std::move(fired)](std::error_code ec) {
    if (ec) return;
    *fired = true;
    std::error_code ignored;
    self->socket_.close(ignored);
  });
  return timer;
}

void Connection::refuse(const std::string& why) {
  if (!is_open()) return;  // closed by us (server stop), not refused
  if (options_.tls_refusals) {
    options_.tls_refusals->refused(remote_address_, why);
  } else {
    logger("remoting")->warn("refused connection from {}: {}", remote_address_, why);
  }
  close();
}

awaitable<void> Connection::accept_tls() {
  auto self = shared_from_this();
  const auto timeout = options_.tls_handshake_timeout;
  auto fired = std::make_shared<bool>(false);
  auto guard = close_at(std::chrono::steady_clock::now() + timeout, fired);
  const std::string late =
      "no TLS handshake within " + std::to_string(timeout.count()) + " ms (tls_handshake_timeout)";
  // The first bytes: TLS or plain. Bounded by kTlsDetectBytes reads and by the timer.
  std::vector<uint8_t> head(kTlsDetectBytes);
  size_t n = 0;
  FirstBytes kind = FirstBytes::kNeedMore;
  while (kind == FirstBytes::kNeedMore && n < head.size()) {
    auto [ec, got] = co_await socket_.async_read_some(
        asio::buffer(head.data() + n, head.size() - n), as_tuple(use_awaitable));
    if (ec) {
      guard->cancel();
      if (*fired)
        refuse(late);
      else
        close();  // the peer left before saying anything: nothing to refuse
      co_return;
    }
    n += got;
    kind = classify_first_bytes(head.data(), n);
  }
  head.resize(n);
  if (kind == FirstBytes::kPlain) {
    guard->cancel();
    if (options_.tls_mode == TlsMode::kEnforcing) {
      refuse("plain connection refused: tls.server.mode=enforcing");
      co_return;
    }
    first_bytes_ = std::move(head);
    spawn_io();
    co_return;
  }
  if (!options_.tls) {  // a TLS mode without a context: serve nothing rather than plain
    refuse("TLS connection refused: the server has no TLS context");
    co_return;
  }
  tls_ = std::make_unique<TlsStream>(socket_, *options_.tls, TlsStream::Role::kServer,
                                     std::move(head));
  const std::error_code ec = co_await tls_->handshake();
  guard->cancel();
  if (*fired) {
    refuse(late);
    co_return;
  }
  if (ec) {
    refuse("TLS handshake failed: " + ec.message());
    co_return;
  }
  tls_active_.store(true, std::memory_order_release);
  spawn_io();
}

awaitable<std::string> Connection::client_handshake(
    const std::string& host, std::chrono::steady_clock::time_point deadline) {
  tls_ = std::make_unique<TlsStream>(socket_, *options_.tls, TlsStream::Role::kClient);
  tls_->expect_host(host, options_.tls_verify_hostname);
  auto fired = std::make_shared<bool>(false);
  auto guard = close_at(deadline, fired);
  const std::error_code hec = co_await tls_->handshake();
  guard->cancel();
  if (*fired) co_return "TLS handshake with " + remote_address_ + " timed out";
  if (hec) co_return "TLS handshake with " + remote_address_ + " failed: " + hec.message();
  tls_active_.store(true, std::memory_order_release);
  co_return "";
}

void Connection::start_connect(std::string address, std::chrono::milliseconds timeout) {
  remote_address_ = address;
  protocol_.store(Protocol::kNative, std::memory_order_release);
  auto self = shared_from_this();
  asio::co_spawn(socket_.get_executor(), connect(std::move(address), timeout),
                 [self](std::exception_ptr) {});
}

awaitable<void> Connection::connect(std::string address, std::chrono::milliseconds timeout) {
  auto hp = split_host_port(address);
  if (!hp.is_ok()) {
    fail_all_pending(hp.status());
    close();
    co_return;
  }
  auto executor = co_await asio::this_coro::executor;
  const auto connect_deadline = std::chrono::steady_clock::now() + timeout;
  asio::ip::tcp::resolver resolver(executor);
  asio::steady_timer deadline(executor, timeout);
  auto result = co_await (
      resolver.async_resolve(hp->first, std::to_string(hp->second), as_tuple(use_awaitable)) ||
      deadline.async_wait(as_tuple(use_awaitable)));
  Status failure;
  if (result.index() == 1) {
    failure = Status::unavailable("resolving " + address + " timed out");
  } else {
    auto [ec, endpoints] = std::get<0>(result);
    if (ec) {
      failure = Status::unavailable("cannot resolve " + address + ": " + ec.message());
    } else {
      auto conn = co_await (asio::async_connect(socket_, endpoints, as_tuple(use_awaitable)) ||
                            deadline.async_wait(as_tuple(use_awaitable)));
      if (conn.index() == 1) {
        failure = Status::unavailable("connecting to " + address + " timed out");
      } else if (auto [cec, ep] = std::get<0>(conn); cec) {
        failure = Status::unavailable("cannot connect to " + address + ": " + cec.message());
      }
    }
  }
  if (failure.is_ok() && options_.tls) {
    // Within what is left of the connect timeout; frames queued meanwhile still wait.
    std::string why = co_await client_handshake(hp->first, connect_deadline);
    if (!why.empty()) failure = Status::unavailable(why);
  }
  if (!failure.is_ok()) {
    fail_all_pending(failure);
    close();
    co_return;
  }
  std::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  started_ = true;
  spawn_io();
}

awaitable<void> Connection::reader() {
  auto self = shared_from_this();
  auto log = logger("remoting");
  // One recv fills the buffer with as many pipelined frames as have arrived; every complete
  // frame in it is handled before the next recv (syscalls are the cost that matters here).
  std::vector<uint8_t> buf(std::max(kReadBufferMinBytes, first_bytes_.size()));
  size_t begin = 0, end = 0;
  if (!first_bytes_.empty()) {  // read by accept_tls to tell TLS from plain
    std::memcpy(buf.data(), first_bytes_.data(), first_bytes_.size());
    end = first_bytes_.size();
    std::vector<uint8_t>().swap(first_bytes_);
  }
  const uint32_t limit = options_.max_inflight_requests;
  last_read_.store(ticks_now(), std::memory_order_relaxed);
  while (is_open()) {
    // Handle every complete frame in [begin, end). Wake-ups the handlers cause (the store's
    // dispatcher) are deferred to the end of the batch: the scope closes before the co_await.
    bool bad = false;
    bool at_limit = false;
    size_t handled = 0;
    {
      DeferredWakeScope wakes;
      while (end - begin >= kFramePrefixSize) {
        if (limit != 0 && inflight_.load(std::memory_order_acquire) >= limit) {
          at_limit = true;
          break;
        }
        // The one branch the native path pays for RocketMQ connections on the same port.
        const bool native = protocol_.load(std::memory_order_relaxed) == Protocol::kNative;
        Result<FramePrefix> prefix = FramePrefix{};
        Result<rocketmq::FramePrefix> rmq_prefix = rocketmq::FramePrefix{};
        size_t frame_bytes = 0;
        if (native) [[likely]] {
          prefix = decode_prefix(buf.data() + begin, options_.max_frame_bytes);
          if (prefix.is_ok()) frame_bytes = kFramePrefixSize + prefix->rest();
        } else {
          if (protocol_.load(std::memory_order_relaxed) == Protocol::kUndecided) {
            const Protocol p = detect_protocol(buf.data() + begin, end - begin);
            if (p == Protocol::kUndecided) break;  // fewer than 16 bytes yet
            decide_protocol(p);
            continue;
          }
          rmq_prefix = rocketmq::decode_prefix(buf.data() + begin, options_.max_frame_bytes);
          if (rmq_prefix.is_ok()) frame_bytes = rocketmq::kPrefixSize + rmq_prefix->rest();
        }
        if (!prefix.is_ok() || !rmq_prefix.is_ok()) {
          const Status& s = prefix.is_ok() ? rmq_prefix.status() : prefix.status();
          log->warn("closing {} connection from {}: {}", protocol_name(protocol()), remote_address_,
                    s.to_string());
          bad = true;
          break;
        }
        if (end - begin < frame_bytes) {
          if (frame_bytes > buf.size() && end == buf.size()) {
            // A frame larger than the buffer, which its bytes have filled: grow it, at most
            // doubling (bounded by max_frame_bytes above), so memory follows the bytes that
            // arrived, not the length a peer announces.
            std::vector<uint8_t> bigger(std::min(frame_bytes, 2 * buf.size()));
            std::memcpy(bigger.data(), buf.data() + begin, end - begin);
            end -= begin;
            begin = 0;
            buf.swap(bigger);
          }
          break;
        }
        if (!native) [[unlikely]] {
          if (!handle_rocketmq_frame(*rmq_prefix, buf.data() + begin + rocketmq::kPrefixSize,
                                     self)) {
            bad = true;
            break;
          }
          begin += frame_bytes;
          ++handled;
          continue;
        }
        auto cmd = decode_frame_rest(*prefix, buf.data() + begin + kFramePrefixSize);
        if (!cmd.is_ok()) {
          log->warn("closing connection from {}: {}", remote_address_, cmd.status().to_string());
          bad = true;
          break;
        }
        begin += frame_bytes;
        ++handled;
        if (cmd->is_response()) {
          const uint32_t opaque = cmd->opaque();
          complete(opaque, std::move(cmd));
        } else if (on_request_) {
          if (limit != 0 && !cmd->is_oneway()) inflight_.fetch_add(1, std::memory_order_acq_rel);
          on_request_(self, std::move(cmd).value());
        } else if (!cmd->is_oneway()) {
          send(RemotingCommand::response_to(*cmd, ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                                            "this endpoint serves no requests"));
        }
      }
    }
    if (bad) break;
    if (begin == end) {
      partial_since_.store(0, std::memory_order_relaxed);
    } else if (handled > 0 || partial_since_.load(std::memory_order_relaxed) == 0) {
      partial_since_.store(ticks_now(), std::memory_order_relaxed);  // a new frame began
    }
    if (at_limit) {
      // At the in-flight limit: read nothing more (the frames already buffered wait too) until
      // a response brings the count under it.
      bool sleep = false;
      {
        std::lock_guard lock(out_mu_);
        if (inflight_.load(std::memory_order_acquire) >= limit) sleep = reader_sleeping_ = true;
      }
      if (sleep) {
        reader_paused_.store(true, std::memory_order_relaxed);
        co_await reader_wake_.async_wait(as_tuple(use_awaitable));
        reader_paused_.store(false, std::memory_order_relaxed);
        // The time spent paused was ours, not the peer's.
        const int64_t now = ticks_now();
        last_read_.store(now, std::memory_order_relaxed);
        if (begin != end) partial_since_.store(now, std::memory_order_relaxed);
      }
      continue;
    }
    if (begin == end) {
      begin = end = 0;
      if (buf.size() > kReadBufferBytes) {  // give back a big frame's memory
        buf.resize(kReadBufferBytes);
        buf.shrink_to_fit();
      }
    } else if (begin > 0 && buf.size() - end < kFramePrefixSize) {
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    if (end == buf.size()) {  // partial frame at the tail of a full buffer: make room
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    std::error_code ec;
    size_t n = 0;
    auto space = asio::buffer(buf.data() + end, buf.size() - end);
    if (tls_) [[unlikely]] {
      std::tie(ec, n) = co_await tls_->read_some(space);
    } else {
      std::tie(ec, n) = co_await socket_.async_read_some(space, as_tuple(use_awaitable));
    }
    if (ec) break;
    end += n;
    if (end == buf.size() && buf.size() < kReadBufferBytes) {
      buf.resize(std::min(2 * buf.size(), kReadBufferBytes));  // more may be waiting
    }
    last_read_.store(ticks_now(), std::memory_order_relaxed);
  }
  close();
}

awaitable<void> Connection::writer() {
  auto self = shared_from_this();
  std::vector<OutFrame> taken;  // frames taken from out_, written from `next` on
  size_t next = 0;
  std::vector<asio::const_buffer> buffers;
  std::vector<uint8_t> staged;  // TLS only (write_tls)
  while (is_open()) {
    if (next == taken.size()) {
      taken.clear();
      next = 0;
      bool sleep = false;
      {
        std::lock_guard lock(out_mu_);
        if (out_.empty()) {
          writer_sleeping_ = true;
          sleep = true;
        } else {
          taken.swap(out_);
        }
      }
      if (sleep) {
        // A send() that finds the writer asleep posts a cancel of this wait; it runs on the
        // strand after the wait is armed, so no wake-up is lost.
        co_await writer_wake_.async_wait(as_tuple(use_awaitable));
        continue;
      }
    }
    // One gathered write of the next frames; they stay in `taken` until it has completed.
    buffers.clear();
    size_t bytes = 0;
    const size_t first = next;
    while (next < taken.size() && next - first < kMaxFramesPerWrite && bytes < kMaxBytesPerWrite) {
      bytes += taken[next].bytes;
      ++next;
    }
    for (size_t i = first; i < next; ++i) {
      const OutFrame& f = taken[i];
      buffers.emplace_back(asio::buffer(f.head));
      if (!f.body.owned.empty()) buffers.emplace_back(asio::buffer(f.body.owned));
      for (const auto& [p, len] : f.body.views)
        buffers.emplace_back(p, len);
    }
    std::error_code ec;
    if (tls_) [[unlikely]] {
      ec = co_await write_tls(buffers, staged);
    } else {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(socket_, buffers, as_tuple(use_awaitable));
    }
    queued_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    for (size_t i = first; i < next; ++i) {
      if (!ec && taken[i].signed_request && tls_) {
        signed_written_.store(true, std::memory_order_release);
      }
      taken[i] = OutFrame{};  // written: release the bodies and mappings now
    }
    if (ec) break;
  }
  close();
}

awaitable<std::error_code> Connection::write_tls(const std::vector<asio::const_buffer>& buffers,
                                                 std::vector<uint8_t>& staged) {
  // One SSL_write per frame would make a record of each: the batch is gathered into one
  // buffer of at most kTlsStageBytes (big batches in turns, so a connection keeps no more than
  // that), whose full-size records then go out in one socket write (TlsStream::write).
  size_t total = 0;
  for (const asio::const_buffer& b : buffers)
    total += b.size();
  // Sized by what is written: a connection that sends only heartbeats keeps a small one.
  if (const size_t want = std::min(total, kTlsStageBytes); staged.size() < want) {
    staged.resize(want);
  }
  size_t index = 0, offset = 0;
  while (true) {
    const size_t n = gather_chunk(buffers, index, offset, staged.data(), staged.size());
    if (n == 0) co_return std::error_code();
    if (std::error_code ec = co_await tls_->write(staged.data(), n)) co_return ec;
  }
}

bool Connection::send(RemotingCommand cmd) {
  bool wake_reader = false;
  if (options_.max_inflight_requests != 0 && cmd.is_response()) {
    // One request fewer in flight (a response to a request this connection read).
    uint32_t n = inflight_.load(std::memory_order_relaxed);
    while (n > 0 && !inflight_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) {
    }
    if (n == options_.max_inflight_requests) {
      std::lock_guard lock(out_mu_);
      wake_reader = std::exchange(reader_sleeping_, false);
    }
  }
  if (wake_reader) {
    asio::post(socket_.get_executor(),
               [self = shared_from_this()] { self->reader_wake_.cancel(); });
  }
  if (!is_open()) return false;
  if (protocol_.load(std::memory_order_acquire) == Protocol::kRocketmq) [[unlikely]] {
    auto translated = rocketmq_->on_outgoing(std::move(cmd));
    if (!translated.is_ok()) {
      logger("remoting")
          ->debug("not sent to {}: {}", remote_address_, translated.status().to_string());
      return false;
    }
    if (!translated->has_value()) return true;  // the answer of a oneway request
    return send_rocketmq(std::move(**translated));
  }
  OutFrame f;
  const size_t body_size = cmd.body.size();
  if (options_.signer && !cmd.is_response()) {
    if (options_.tls && signed_written_.load(std::memory_order_acquire)) {
      f.head = options_.signer->encode_session_head(cmd);
    } else {
      f.head = options_.signer->encode_signed_head(cmd);
      f.signed_request = true;
    }
  } else {
    f.head = encode_frame_head(cmd, body_size);
  }
  f.body = std::move(cmd.body);
  f.bytes = f.head.size() + body_size;
  return enqueue(std::move(f));
}

bool Connection::send_rocketmq(rocketmq::Command cmd) {
  OutFrame f;
  f.head = rocketmq::encode_frame_head(cmd, cmd.body.size());
  f.bytes = f.head.size() + cmd.body.size();
  f.body.owned = std::move(cmd.body);
  return enqueue(std::move(f));
}

bool Connection::enqueue(OutFrame f) {
  if (queued_bytes_.fetch_add(f.bytes, std::memory_order_relaxed) + f.bytes >
      options_.send_queue_max_bytes) {
    queued_bytes_.fetch_sub(f.bytes, std::memory_order_relaxed);
    logger("remoting")
        ->warn("closing connection to {}: over {} bytes queued, peer not reading", remote_address_,
               options_.send_queue_max_bytes);
    close();
    return false;
  }
  bool wake = false;
  {
    std::lock_guard lock(out_mu_);
    out_.push_back(std::move(f));
    wake = std::exchange(writer_sleeping_, false);
  }
  if (wake) {
    asio::post(socket_.get_executor(),
               [self = shared_from_this()] { self->writer_wake_.cancel(); });
  }
  return true;
}

void Connection::invoke(RemotingCommand request, std::chrono::milliseconds timeout,
                        ResponseCallback cb) {
  const uint32_t opaque = next_opaque_.fetch_add(1, std::memory_order_relaxed);
  request.header.opaque = opaque;
  request.header.flags &= ~(kFlagResponse | kFlagOneway);
  const Deadline deadline = std::chrono::steady_clock::now() + timeout;
  bool arm = false;
  {
    std::lock_guard lock(pending_mu_);
    if (!is_open()) {
      // fall through to fail below, outside the lock
    } else {
      pending_.emplace(opaque, Pending{std::move(cb), deadline, timeout});
      cb = nullptr;
      if (deadline < sweep_at_) {
        sweep_at_ = deadline;
        arm = true;
      }
    }
  }
  if (cb) {
    cb(Status::unavailable("connection to " + remote_address_ + " is closed"));
    return;
  }
  if (arm) {
    asio::post(socket_.get_executor(),
               [self = shared_from_this(), deadline] { self->arm_sweep(deadline); });
  }
  if (!send(std::move(request))) {
    complete(opaque, Status::unavailable("connection to " + remote_address_ + " is closed"));
  }
}

bool Connection::invoke_oneway(RemotingCommand request) {
  request.header.opaque = next_opaque_.fetch_add(1, std::memory_order_relaxed);
  request.header.flags = kFlagOneway;
  return send(std::move(request));
}

void Connection::complete(uint32_t opaque, Result<RemotingCommand> result) {
  Pending p;
  {
    std::lock_guard lock(pending_mu_);
    auto it = pending_.find(opaque);
    if (it == pending_.end()) return;  // timed out already, or a stray response
    p = std::move(it->second);
    pending_.erase(it);
  }
  if (options_.signer && result.is_ok() &&
      result->code() == static_cast<int32_t>(ResponseCode::NO_PERMISSION)) {
    // Perhaps the server holds no verified signer for this connection (its signed request was
    // refused, or the account's secret changed): sign again.
    signed_written_.store(false, std::memory_order_release);
  }
  p.callback(std::move(result));
}

void Connection::arm_sweep(Deadline at) {
  // Timers are not thread-safe: this runs on the strand. A later arm for an earlier deadline
  // replaces this one (expires_at cancels the wait in flight, whose handler then does nothing).
  {
    std::lock_guard lock(pending_mu_);
    if (at != sweep_at_) return;  // superseded by an earlier deadline, or already swept
  }
  sweep_timer_.expires_at(at);
  std::weak_ptr<Connection> weak = shared_from_this();
  sweep_timer_.async_wait([weak](std::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_sweep();
  });
}

void Connection::on_sweep() {
  const Deadline now = std::chrono::steady_clock::now();
  std::vector<Pending> expired;
  Deadline next = Deadline::max();
  {
    std::lock_guard lock(pending_mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second));
        it = pending_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    sweep_at_ = next;
  }
  if (next != Deadline::max()) arm_sweep(next);
  for (Pending& p : expired) {
    p.callback(Status::timeout("no response from " + remote_address_ + " within " +
                               std::to_string(p.timeout.count()) + " ms"));
  }
}

void Connection::fail_all_pending(const Status& status) {
  std::unordered_map<uint32_t, Pending> failed;
  {
    std::lock_guard lock(pending_mu_);
    failed.swap(pending_);
  }
  for (auto& [_, p] : failed)
    p.callback(status);
}

std::string Connection::overdue(std::chrono::steady_clock::time_point now,
                                std::chrono::milliseconds frame_timeout,
                                std::chrono::milliseconds idle_timeout) const {
  if (!is_open() || reader_paused_.load(std::memory_order_relaxed)) return "";
  const int64_t t = now.time_since_epoch().count();
  auto ms = [t](int64_t since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::duration(t - since))
        .count();
  };
  const int64_t partial = partial_since_.load(std::memory_order_relaxed);
  if (frame_timeout.count() > 0 && partial != 0 && ms(partial) > frame_timeout.count()) {
    return "a frame still incomplete after " + std::to_string(ms(partial)) +
           " ms (frame read timeout " + std::to_string(frame_timeout.count()) + " ms)";
  }
  const int64_t last = last_read_.load(std::memory_order_relaxed);
  if (idle_timeout.count() > 0 && last != 0 && ms(last) > idle_timeout.count()) {
    return "idle for " + std::to_string(ms(last)) + " ms (idle timeout " +
           std::to_string(idle_timeout.count()) + " ms)";
  }
  return "";
}

void Connection::decide_protocol(Protocol p) {
  if (p == Protocol::kRocketmq) {
    rocketmq_ = std::make_unique<rocketmq::RocketmqSession>(remote_address_);
    logger("remoting")->debug("connection from {} speaks RocketMQ", remote_address_);
  }
  protocol_.store(p, std::memory_order_release);
}

bool Connection::handle_rocketmq_frame(const rocketmq::FramePrefix& prefix, const uint8_t* p,
                                       const std::shared_ptr<Connection>& self) {
  auto cmd = rocketmq::decode_frame_rest(prefix, p);
  if (!cmd.is_ok()) {
    logger("remoting")
        ->warn("closing rocketmq connection from {}: {}", remote_address_,
               cmd.status().to_string());
    return false;
  }
  if (cmd->is_response()) {
    RemotingCommand native = rocketmq_->on_response(*cmd);
    const uint32_t opaque = native.opaque();
    complete(opaque, std::move(native));
    return true;
  }
  const bool oneway = cmd->is_oneway();
  rocketmq::Inbound in = rocketmq_->on_request(std::move(cmd).value());
  if (in.reply) send_rocketmq(std::move(*in.reply));
  if (!in.request) return true;
  if (on_request_) {
    if (options_.max_inflight_requests != 0 && !oneway) {
      inflight_.fetch_add(1, std::memory_order_acq_rel);
    }
    on_request_(self, std::move(*in.request));
  } else if (!oneway) {
    send(RemotingCommand::response_to(*in.request, ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                                      "this endpoint serves no requests"));
  }
  return true;
}

size_t Connection::pending_requests() const {
  std::lock_guard lock(pending_mu_);
  return pending_.size();
}

void Connection::close_then(std::function<void()> done) {
  close();
  asio::post(socket_.get_executor(), std::move(done));  // strand order: after the close
}

// TLS connections are closed like plain ones, without a close_notify: an async_shutdown waits
// for the writer to finish and for the peer's answer, and a peer that never answers would hold
// the socket. Both sides treat the end of the stream as the close, and every frame is
// self-delimiting, so a truncation is never taken for a whole frame.
void Connection::close() {
  bool was_open = open_.exchange(false);
  if (!was_open) return;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    std::error_code ec;
    self->socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    self->socket_.close(ec);
    self->writer_wake_.cancel();
    self->reader_wake_.cancel();
    self->sweep_timer_.cancel();
    std::lock_guard lock(self->out_mu_);
    self->out_.clear();  // releases the mappings queued frames kept alive
  });
  fail_all_pending(Status::unavailable("connection to " + remote_address_ + " closed"));
  if (on_close_) on_close_(this);
}

}  // namespace comet::remoting
