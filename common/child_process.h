// Child processes: a comet binary started with fork/exec, its stdout on a pipe the parent reads
// (servers print "<name> ready on <host:port>" once listening, so callers use port 0 and learn
// the port: no race for free ports), stderr to a log file. The child gets SIGKILL if the parent
// dies (PR_SET_PDEATHSIG), and the destructor kills and reaps it, so no process outlives its
// owner. PR_SET_PDEATHSIG fires when the *thread* that spawned the child ends: spawn from a
// thread that lives as long as the child should. Waiting is poll() on the pipe or a pidfd, bounded
// by deadlines. Used by the multi-process tests and by comet-bench's local clusters.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace comet {

class ChildProcess {
 public:
  static Result<std::unique_ptr<ChildProcess>> spawn(const std::vector<std::string>& argv,
                                                     const std::string& log_path) {
    if (argv.empty()) return Status::invalid_argument("empty argv");
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return Status::from_errno("pipe", errno);
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return Status::from_errno("open " + log_path, errno);
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return Status::from_errno("fork", errno);
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      std::vector<char*> args;
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(log_fd);
    return std::unique_ptr<ChildProcess>(new ChildProcess(pid, out[0], log_path));
  }

  ~ChildProcess() {
    kill9();
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

  // Reads stdout until a line containing `marker` arrives; returns that line. With
  // `include_read`, a line read by an earlier call (the last kHistory lines are kept) counts too:
  // the latest such line is returned at once.
  Result<std::string> wait_for_line(std::string_view marker, std::chrono::milliseconds timeout,
                                    bool include_read = false) {
    if (include_read) {
      for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
        if (it->find(marker) != std::string::npos) return *it;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      size_t nl;
      while ((nl = buffer_.find('\n')) != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (history_.size() == kHistory) history_.erase(history_.begin());
        history_.push_back(line);
        if (line.find(marker) != std::string::npos) return line;
      }
      switch (read_more(deadline)) {
        case Read::kMore:
          break;
        case Read::kTimeout:
          return Status::timeout("no '" + std::string(marker) + "' from pid " +
                                 std::to_string(pid_) + " (log: " + log_path_ + ")");
        case Read::kPollError:
          return Status::from_errno("poll", errno);
        case Read::kEnd:
          return Status::unavailable("pid " + std::to_string(pid_) +
                                     " closed stdout before printing '" + std::string(marker) +
                                     "' (log: " + log_path_ + ")");
      }
    }
  }

  // The rest of stdout, up to its end (the process exited or closed it), or what arrived before
  // `timeout` passed.
  std::string read_rest(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read_more(deadline) == Read::kMore) {
    }
    std::string out = std::move(buffer_);
    buffer_.clear();
    return out;
  }

  // "<name> ready on 127.0.0.1:PORT" → "127.0.0.1:PORT".
  static std::string address_in(const std::string& ready_line) {
    return ready_line.substr(ready_line.rfind(' ') + 1);
  }

  bool running() {
    if (exited_) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      exit_status_ = status;
    }
    return !exited_;
  }

  // SIGTERM, then SIGKILL if it has not exited within `grace`. Returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000)) {
    if (!running()) return exit_status_;
    ::kill(pid_, SIGTERM);
    if (wait_exit(grace)) return exit_status_;
    kill9();
    return exit_status_;
  }

  void kill9() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_) exit_status_ = status;
    exited_ = true;
  }
  void signal(int sig) {
    if (running()) ::kill(pid_, sig);
  }

  // Waits for exit up to `timeout` by polling a pidfd (readable when the process exits).
  bool wait_exit(std::chrono::milliseconds timeout) {
    if (!running()) return true;
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd < 0) return false;
    pollfd p{pidfd, POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    ::close(pidfd);
    if (rc <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_) {
      exited_ = true;
      exit_status_ = status;
    }
    return true;
  }

 private:
  ChildProcess(pid_t pid, int out_fd, std::string log_path)
      : pid_(pid), out_fd_(out_fd), log_path_(std::move(log_path)) {}

  enum class Read { kMore, kTimeout, kPollError, kEnd };
  // Waits (until `deadline`) for stdout to be readable and appends what one read gets to buffer_.
  Read read_more(std::chrono::steady_clock::time_point deadline) {
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Read::kTimeout;
      pollfd p{out_fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno != EINTR) return Read::kPollError;
      if (rc <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(out_fd_, buf, sizeof(buf));
      if (n <= 0) return Read::kEnd;
      buffer_.append(buf, static_cast<size_t>(n));
      return Read::kMore;
    }
  }

  static constexpr size_t kHistory = 256;

  pid_t pid_;
  int out_fd_;
  std::string log_path_;
  std::string buffer_;
  std::vector<std::string> history_;  // the last lines read, oldest first
  bool exited_ = false;
  int exit_status_ = 0;
};

// A TCP port free now on 127.0.0.1 (the kernel picks it; the caller's child binds it a moment
// later, so another process could take it in between: only for ports that cannot be 0, such as
// the DLedger peer list every member must know in advance). 0 when none could be had.
uint16_t free_loopback_port();

}  // namespace comet
