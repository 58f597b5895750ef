// A tiny blocking client of comet's native protocol for process tests that need the bytes
// themselves: it sends frames exactly as given (a captured signed request sent again, on a new
// connection) from a chosen local address (127.0.0.2: another peer on loopback) and reads one
// response frame. Every read is bounded by a deadline (poll), never by sleeping.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "common/status.h"
#include "remoting/connection.h"
#include "remoting/remoting_command.h"

namespace comet::testing {

class NativeWireClient {
 public:
  NativeWireClient() = default;
  NativeWireClient(const NativeWireClient&) = delete;
  NativeWireClient& operator=(const NativeWireClient&) = delete;
  ~NativeWireClient() { close(); }

  // Connects to `address` (IPv4 host:port) from `local_ip` (any port).
  Status connect(const std::string& address, const std::string& local_ip = "127.0.0.1") {
    close();
    auto hp = remoting::split_host_port(address);
    if (!hp.is_ok()) return hp.status();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Status::from_errno("socket", errno);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, local_ip.c_str(), &local.sin_addr) != 1) {
      return Status::invalid_argument("not an IPv4 address: " + local_ip);
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      return Status::from_errno("bind " + local_ip, errno);
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

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Sends `frame` as is and returns the next frame the server sends.
  Result<remoting::RemotingCommand> exchange(
      const std::string& frame, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (Status s = write_all(frame); !s.is_ok()) return s;
    return read_frame(std::chrono::steady_clock::now() + timeout);
  }

  Status write_all(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return Status::io_error("send failed");
      done += static_cast<size_t>(n);
    }
    return Status::ok();
  }

 private:
  Status read_exact(char* out, size_t n, std::chrono::steady_clock::time_point deadline) {
    size_t done = 0;
    while (done < n) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Status::timeout("read timed out");
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t got = ::recv(fd_, out + done, n - done, 0);
      if (got <= 0) return Status::unavailable("connection closed");
      done += static_cast<size_t>(got);
    }
    return Status::ok();
  }

  Result<remoting::RemotingCommand> read_frame(std::chrono::steady_clock::time_point deadline) {
    char prefix[remoting::kFramePrefixSize];
    if (Status s = read_exact(prefix, sizeof(prefix), deadline); !s.is_ok()) return s;
    auto p = remoting::decode_prefix(reinterpret_cast<const uint8_t*>(prefix),
                                     remoting::kDefaultMaxFrameBytes);
    if (!p.is_ok()) return p.status();
    std::string rest(p->rest(), '\0');
    if (Status s = read_exact(rest.data(), rest.size(), deadline); !s.is_ok()) return s;
    return remoting::decode_frame_rest(*p, reinterpret_cast<const uint8_t*>(rest.data()));
  }

  int fd_ = -1;
};

}  // namespace comet::testing
