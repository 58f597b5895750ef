// A blocking TCP socket for tests that need the bytes themselves: frames sent exactly as given
// (a captured signed request sent again, a malformed frame, a plain client against a TLS port)
// and native or RocketMQ frames read back. It can connect from a chosen local address
// (127.0.0.2: another peer on loopback). Every read is bounded by a deadline (poll), never by
// sleeping. The protocol clients build on it: native_wire_client.h, rocketmq_wire_client.h.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"
#include "remoting/connection.h"
#include "remoting/remoting_command.h"
#include "remoting/rocketmq_codec.h"

namespace comet::testing {

class WireSocket {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  WireSocket() = default;
  WireSocket(const WireSocket&) = delete;
  WireSocket& operator=(const WireSocket&) = delete;
  ~WireSocket() { close(); }

  // Connects to `address` (IPv4 host:port), from `local_ip` when given (any port).
  Status connect(const std::string& address, const std::string& local_ip = "") {
    close();
    auto hp = remoting::split_host_port(address);
    if (!hp.is_ok()) return hp.status();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Status::from_errno("socket", errno);
    if (!local_ip.empty()) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      if (::inet_pton(AF_INET, local_ip.c_str(), &local.sin_addr) != 1) {
        return Status::invalid_argument("not an IPv4 address: " + local_ip);
      }
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
        return Status::from_errno("bind " + local_ip, errno);
      }
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(hp->second);
    if (::inet_pton(AF_INET, hp->first.c_str(), &sa.sin_addr) != 1) {
      return Status::invalid_argument("not an IPv4 address: " + hp->first);
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      return Status::from_errno("connect " + address, errno);
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return Status::ok();
  }

  // The socket, for a caller that polls many at once (-1 when closed).
  int fd() const { return fd_; }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  Status write_all(std::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return Status::io_error("send failed");
      done += static_cast<size_t>(n);
    }
    return Status::ok();
  }

  // The next native frame the peer sends.
  Result<remoting::RemotingCommand> read_native(Deadline deadline) {
    char prefix[remoting::kFramePrefixSize];
    if (Status s = read_exact(prefix, sizeof(prefix), deadline); !s.is_ok()) return s;
    auto p = remoting::decode_prefix(reinterpret_cast<const uint8_t*>(prefix),
                                     remoting::kDefaultMaxFrameBytes);
    if (!p.is_ok()) return p.status();
    std::string rest(p->rest(), '\0');
    if (Status s = read_exact(rest.data(), rest.size(), deadline); !s.is_ok()) return s;
    return remoting::decode_frame_rest(*p, reinterpret_cast<const uint8_t*>(rest.data()));
  }
  Result<remoting::RemotingCommand> read_native(
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return read_native(std::chrono::steady_clock::now() + timeout);
  }

  // The next RocketMQ frame the peer sends.
  Result<remoting::rocketmq::Command> read_rocketmq(Deadline deadline) {
    char prefix[remoting::rocketmq::kPrefixSize];
    if (Status s = read_exact(prefix, sizeof(prefix), deadline); !s.is_ok()) return s;
    auto p = remoting::rocketmq::decode_prefix(reinterpret_cast<const uint8_t*>(prefix),
                                               remoting::kDefaultMaxFrameBytes);
    if (!p.is_ok()) return p.status();
    std::string rest(p->rest(), '\0');
    if (Status s = read_exact(rest.data(), rest.size(), deadline); !s.is_ok()) return s;
    return remoting::rocketmq::decode_frame_rest(*p, reinterpret_cast<const uint8_t*>(rest.data()));
  }
  Result<remoting::rocketmq::Command> read_rocketmq(
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return read_rocketmq(std::chrono::steady_clock::now() + timeout);
  }

  // True when the peer closed the connection (EOF or reset) within `timeout`; bytes it sends
  // meanwhile are skipped.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const Deadline deadline = std::chrono::steady_clock::now() + timeout;
    char c[256];
    for (int reads = 0; reads < 10000; ++reads) {
      if (!wait_readable(deadline)) return false;
      const ssize_t n = ::recv(fd_, c, sizeof(c), 0);
      if (n <= 0) return true;  // end of stream, or reset
    }
    return false;
  }

 private:
  bool wait_readable(Deadline deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
  }

  Status read_exact(char* out, size_t n, Deadline deadline) {
    size_t done = 0;
    while (done < n) {
      if (!wait_readable(deadline)) return Status::timeout("read timed out");
      const ssize_t got = ::recv(fd_, out + done, n - done, 0);
      if (got <= 0) return Status::unavailable("connection closed");
      done += static_cast<size_t>(got);
    }
    return Status::ok();
  }

  int fd_ = -1;
};

}  // namespace comet::testing
