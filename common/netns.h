// Network namespaces a program makes for itself (tests, comet-bench chaos): never the machine's
// own network. Needs root and iproute2; netns_unavailable() says why not.
//
// InNetns moves the calling thread into a namespace for a scope: processes it forks and threads
// it starts meanwhile stay there for good. NetnsLab is a small network: a "hub" namespace holding
// a bridge (10.78.0.1/24) and `hosts` namespaces, each joined to the bridge by a veth pair, host i
// at 10.78.0.(10 + i). A host can be cut off (its link down: packets either way are dropped, no
// reset is sent), have delay and loss added (tc netem, where the kernel has it), and be restored.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/child_process.h"
#include "common/status.h"

namespace comet {

inline std::string find_binary(std::initializer_list<const char*> paths) {
  for (const char* p : paths) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}
inline std::string ip_binary() {
  return find_binary({"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"});
}
inline std::string tc_binary() {
  return find_binary({"/usr/sbin/tc", "/sbin/tc", "/usr/bin/tc", "/bin/tc"});
}

// Why namespaces cannot be made here (empty when they can).
inline std::string netns_unavailable() {
  if (::geteuid() != 0) return "network namespaces need root";
  if (ip_binary().empty()) return "iproute2's ip is not installed";
  return "";
}

// Runs a command to completion (output appended to `log`); an error names the command.
inline Status run_command(const std::vector<std::string>& argv, const std::string& log,
                          std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  std::string what;
  for (const auto& a : argv)
    what += (what.empty() ? "" : " ") + a;
  COMET_ASSIGN_OR_RETURN(auto proc, ChildProcess::spawn(argv, log));
  if (!proc->wait_exit(timeout)) return Status::timeout(what);
  const int st = proc->stop();
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    return Status::io_error(what + " failed (see " + log + ")");
  }
  return Status::ok();
}

class InNetns {
 public:
  explicit InNetns(const std::string& ns) {
    home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (home_ < 0 || fd < 0) {
      status_ = Status::from_errno("open netns " + ns, errno);
    } else if (::setns(fd, CLONE_NEWNET) != 0) {
      status_ = Status::from_errno("setns " + ns, errno);
    }
    if (fd >= 0) ::close(fd);
  }
  ~InNetns() {
    if (home_ < 0) return;
    if (status_.is_ok()) (void)::setns(home_, CLONE_NEWNET);
    ::close(home_);
  }
  InNetns(const InNetns&) = delete;
  InNetns& operator=(const InNetns&) = delete;

  const Status& status() const { return status_; }

 private:
  int home_ = -1;
  Status status_ = Status::ok();
};

class NetnsLab {
 public:
  // Names carry `tag` (keep it short: interface names hold 15 characters) and this process's id,
  // so labs of parallel runs do not meet.
  NetnsLab(std::string tag, int hosts, std::string log) : log_(std::move(log)), hosts_(hosts) {
    prefix_ = tag + std::to_string(::getpid() % 100000);
  }
  ~NetnsLab() {
    if (!created_) return;
    // The log's directory may be gone by now (a run removes its directory when it passed):
    // the namespaces must go all the same.
    if (!std::filesystem::exists(std::filesystem::path(log_).parent_path())) log_ = "/dev/null";
    (void)ip({"netns", "del", hub()});
    for (int i = 0; i < hosts_; ++i)
      (void)ip({"netns", "del", host_ns(i)});
  }
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  Status create() {
    created_ = true;
    // A namespace of a crashed run whose process id this one reuses would be in the way.
    for (int i = -1; i < hosts_; ++i)
      (void)ip({"netns", "del", i < 0 ? hub() : host_ns(i)});
    COMET_RETURN_IF_ERROR(ip({"netns", "add", hub()}));
    COMET_RETURN_IF_ERROR(ip({"-n", hub(), "link", "set", "lo", "up"}));
    COMET_RETURN_IF_ERROR(ip({"-n", hub(), "link", "add", "br0", "type", "bridge"}));
    COMET_RETURN_IF_ERROR(ip({"-n", hub(), "addr", "add", hub_addr() + "/24", "dev", "br0"}));
    COMET_RETURN_IF_ERROR(ip({"-n", hub(), "link", "set", "br0", "up"}));
    for (int i = 0; i < hosts_; ++i) {
      const std::string ns = host_ns(i), outer = hub_side(i), inner = "eth0";
      COMET_RETURN_IF_ERROR(ip({"netns", "add", ns}));
      COMET_RETURN_IF_ERROR(ip({"-n", ns, "link", "set", "lo", "up"}));
      COMET_RETURN_IF_ERROR(
          ip({"-n", hub(), "link", "add", outer, "type", "veth", "peer", inner, "netns", ns}));
      COMET_RETURN_IF_ERROR(ip({"-n", hub(), "link", "set", outer, "master", "br0"}));
      COMET_RETURN_IF_ERROR(ip({"-n", hub(), "link", "set", outer, "up"}));
      COMET_RETURN_IF_ERROR(ip({"-n", ns, "addr", "add", host_addr(i) + "/24", "dev", inner}));
      COMET_RETURN_IF_ERROR(ip({"-n", ns, "link", "set", inner, "up"}));
    }
    return Status::ok();
  }

  std::string hub() const { return prefix_ + "h"; }
  std::string host_ns(int i) const { return prefix_ + "n" + std::to_string(i); }
  static std::string hub_addr() { return "10.78.0.1"; }
  static std::string host_addr(int i) { return "10.78.0." + std::to_string(10 + i); }
  int hosts() const { return hosts_; }

  // Host i's link down (cut off from every other host and the hub) or up again.
  Status cut(int i) { return ip({"-n", hub(), "link", "set", hub_side(i), "down"}); }
  Status restore(int i) { return ip({"-n", hub(), "link", "set", hub_side(i), "up"}); }
  // Delay and loss on host i's link, both ways (netem on each end).
  Status degrade(int i, int delay_ms, int loss_percent) {
    for (const auto& [ns, dev] : {std::pair{hub(), hub_side(i)}, {host_ns(i), "eth0"}}) {
      COMET_RETURN_IF_ERROR(
          tc({"-n", ns, "qdisc", "replace", "dev", dev, "root", "netem", "delay",
              std::to_string(delay_ms) + "ms", "loss", std::to_string(loss_percent) + "%"}));
    }
    return Status::ok();
  }
  Status undegrade(int i) {
    Status first;
    for (const auto& [ns, dev] : {std::pair{hub(), hub_side(i)}, {host_ns(i), "eth0"}}) {
      Status s = tc({"-n", ns, "qdisc", "del", "dev", dev, "root"});
      if (first.is_ok()) first = s;
    }
    return first;
  }
  // Whether netem works here: tc installed and the kernel's sch_netem usable (tried on the hub's
  // loopback).
  bool netem_available() {
    if (tc_binary().empty()) return false;
    if (!tc({"-n", hub(), "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"}).is_ok()) {
      return false;
    }
    (void)tc({"-n", hub(), "qdisc", "del", "dev", "lo", "root"});
    return true;
  }

 private:
  std::string hub_side(int i) const { return prefix_ + "v" + std::to_string(i); }
  Status ip(std::vector<std::string> args) {
    args.insert(args.begin(), ip_binary());
    return run_command(args, log_);
  }
  Status tc(std::vector<std::string> args) {
    args.insert(args.begin(), tc_binary());
    return run_command(args, log_);
  }

  std::string log_;
  std::string prefix_;
  int hosts_;
  bool created_ = false;
};

}  // namespace comet
