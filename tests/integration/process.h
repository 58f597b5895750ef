// Child processes for multi-process tests: a real comet binary started with fork/exec, its stdout
// on a pipe the test reads (servers print "<name> ready on <host:port>" once listening, so tests
// use port 0 and learn the port: no race for free ports), stderr to a log file. The child gets
// SIGKILL if the test process dies (PR_SET_PDEATHSIG), and the destructor kills and reaps it, so
// no process outlives its test. Waiting is poll() on the pipe or waitpid, bounded by deadlines.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

extern char** environ;

namespace comet::testing {

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

  // Reads stdout until a line containing `marker` arrives; returns that line.
  Result<std::string> wait_for_line(std::string_view marker, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      size_t nl;
      while ((nl = buffer_.find('\n')) != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (line.find(marker) != std::string::npos) return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return Status::timeout("no '" + std::string(marker) + "' from pid " + std::to_string(pid_) +
                               " (log: " + log_path_ + ")");
      }
      pollfd p{out_fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno != EINTR) return Status::from_errno("poll", errno);
      if (rc <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(out_fd_, buf, sizeof(buf));
      if (n <= 0) {
        return Status::unavailable("pid " + std::to_string(pid_) +
                                   " closed stdout before printing '" + std::string(marker) +
                                   "' (log: " + log_path_ + ")");
      }
      buffer_.append(buf, static_cast<size_t>(n));
    }
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

  pid_t pid_;
  int out_fd_;
  std::string log_path_;
  std::string buffer_;
  bool exited_ = false;
  int exit_status_ = 0;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv to completion (SIGKILL after `timeout`), collecting stdout and stderr.
inline RunResult run_process(const std::vector<std::string>& argv,
                             const std::vector<std::string>& extra_env = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  RunResult res;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return res;
  }
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e)
    env_store.emplace_back(*e);
  for (const auto& e : extra_env)
    env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&res.out, &res.err};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    int rc = ::poll(fds, 2, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        sinks[i]->append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_FALSE(killed) << argv[1] << " did not finish within " << timeout.count() << " ms";
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return res;
}

}  // namespace comet::testing
