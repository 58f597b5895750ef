// A small blocking RocketMQ 4.x client for process tests: one TCP connection to a comet name
// server or broker, frames built with the codec (remoting/rocketmq_codec.h) in JSON or ROCKETMQ
// binary headers. call() sends a request and reads until its response; requests the server
// starts meanwhile (NOTIFY_CONSUMER_IDS_CHANGED, CHECK_TRANSACTION_STATE) are kept for
// next_server_request(). Every read is bounded by a deadline (poll), never by sleeping.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <string>

#include "common/status.h"
#include "remoting/connection.h"
#include "remoting/rocketmq_codec.h"

namespace comet::testing {

class RocketmqWireClient {
 public:
  using Command = remoting::rocketmq::Command;
  using SerializeType = remoting::rocketmq::SerializeType;

  RocketmqWireClient() = default;
  RocketmqWireClient(const RocketmqWireClient&) = delete;
  RocketmqWireClient& operator=(const RocketmqWireClient&) = delete;
  ~RocketmqWireClient() { close(); }

  Status connect(const std::string& address) {
    auto hp = remoting::split_host_port(address);
    if (!hp.is_ok()) return hp.status();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return Status::io_error("socket failed");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(hp->second);
    if (::inet_pton(AF_INET, hp->first.c_str(), &sa.sin_addr) != 1) {
      return Status::invalid_argument("not an IPv4 address: " + hp->first);
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      return Status::unavailable("cannot connect to " + address);
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return Status::ok();
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Sends `req` (opaque assigned) and returns its response, reading for at most `timeout`.
  Result<Command> call(Command req, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    req.opaque = next_opaque_++;
    req.flag &= ~remoting::rocketmq::kFlagOneway;
    if (Status s = write_all(remoting::rocketmq::encode_frame(req)); !s.is_ok()) return s;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (int frames = 0; frames < 10000; ++frames) {
      auto cmd = read_frame(deadline);
      if (!cmd.is_ok()) return cmd.status();
      if (cmd->is_response() && cmd->opaque == req.opaque) return cmd;
      if (!cmd->is_response()) server_requests_.push_back(std::move(cmd).value());
    }
    return Status::timeout("no response");
  }

  Status oneway(Command req) {
    req.opaque = next_opaque_++;
    req.flag |= remoting::rocketmq::kFlagOneway;
    return write_all(remoting::rocketmq::encode_frame(req));
  }

  // Raw bytes (a malformed frame).
  Status write_all(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return Status::io_error("send failed");
      done += static_cast<size_t>(n);
    }
    return Status::ok();
  }

  // The next request the server started with `code`, waiting up to `timeout`.
  Result<Command> next_server_request(int32_t code, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (int frames = 0; frames < 10000; ++frames) {
      for (auto it = server_requests_.begin(); it != server_requests_.end(); ++it) {
        if (it->code == code) {
          Command c = std::move(*it);
          server_requests_.erase(it);
          return c;
        }
      }
      auto cmd = read_frame(deadline);
      if (!cmd.is_ok()) return cmd.status();
      if (!cmd->is_response()) server_requests_.push_back(std::move(cmd).value());
    }
    return Status::timeout("no server request");
  }

  // True when the server closed the connection within `timeout` (EOF or reset).
  bool closed_by_peer(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char c;
    for (int reads = 0; reads < 10000; ++reads) {
      if (!wait_readable(deadline)) return false;
      ssize_t n = ::recv(fd_, &c, 1, 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  bool wait_readable(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
  }

  Status read_exact(char* out, size_t n, std::chrono::steady_clock::time_point deadline) {
    size_t done = 0;
    while (done < n) {
      if (!wait_readable(deadline)) return Status::timeout("read timed out");
      ssize_t got = ::recv(fd_, out + done, n - done, 0);
      if (got <= 0) return Status::unavailable("connection closed");
      done += static_cast<size_t>(got);
    }
    return Status::ok();
  }

  Result<Command> read_frame(std::chrono::steady_clock::time_point deadline) {
    char prefix[remoting::rocketmq::kPrefixSize];
    if (Status s = read_exact(prefix, sizeof(prefix), deadline); !s.is_ok()) return s;
    auto p = remoting::rocketmq::decode_prefix(reinterpret_cast<const uint8_t*>(prefix),
                                               remoting::kDefaultMaxFrameBytes);
    if (!p.is_ok()) return p.status();
    std::string rest(p->rest(), '\0');
    if (Status s = read_exact(rest.data(), rest.size(), deadline); !s.is_ok()) return s;
    return remoting::rocketmq::decode_frame_rest(*p, reinterpret_cast<const uint8_t*>(rest.data()));
  }

  int fd_ = -1;
  int32_t next_opaque_ = 1;
  std::deque<Command> server_requests_;
};

}  // namespace comet::testing
