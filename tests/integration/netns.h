// Two network namespaces joined by a veth pair, made by a test for itself: each "host" has its
// own loopback and one address on the link (10.77.0.1 and 10.77.0.2), so a test can run a
// process on each side and cut or restore the link between them with `ip link set ... down|up`.
// Nothing is added to the machine's own namespace, and the destructor deletes both namespaces
// (the veth pair goes with them). Needs root and iproute2; `unavailable()` says why not.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/netns.h"
#include "common/status.h"
#include "integration/process.h"

namespace comet::testing {

class NetnsPair {
 public:
  static constexpr const char* kAddrA = "10.77.0.1";
  static constexpr const char* kAddrB = "10.77.0.2";

  // Why namespaces cannot be made here (empty when they can).
  static std::string unavailable() { return netns_unavailable(); }

  // Namespaces and veth ends are named after the test process, so parallel tests do not meet.
  explicit NetnsPair(std::string log_dir) : log_dir_(std::move(log_dir)) {
    const std::string id = "cmt" + std::to_string(::getpid());
    ns_a_ = id + "a";
    ns_b_ = id + "b";
    veth_a_ = id + "va";
    veth_b_ = id + "vb";
  }
  ~NetnsPair() {
    if (!created_) return;
    (void)ip({"netns", "del", ns_a_});
    (void)ip({"netns", "del", ns_b_});
  }
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  Status create() {
    COMET_RETURN_IF_ERROR(ip({"netns", "add", ns_a_}));
    created_ = true;
    COMET_RETURN_IF_ERROR(ip({"netns", "add", ns_b_}));
    COMET_RETURN_IF_ERROR(ip(
        {"link", "add", veth_a_, "netns", ns_a_, "type", "veth", "peer", veth_b_, "netns", ns_b_}));
    for (const auto& [ns, dev, addr] :
         {std::tuple{ns_a_, veth_a_, kAddrA}, {ns_b_, veth_b_, kAddrB}}) {
      COMET_RETURN_IF_ERROR(ip({"-n", ns, "link", "set", "lo", "up"}));
      COMET_RETURN_IF_ERROR(ip({"-n", ns, "addr", "add", std::string(addr) + "/24", "dev", dev}));
      COMET_RETURN_IF_ERROR(ip({"-n", ns, "link", "set", dev, "up"}));
    }
    return Status::ok();
  }

  // Cuts the link: side A's end goes down, so packets either way are dropped (no reset is sent;
  // open TCP connections just stop hearing from the other side, as in a real partition).
  Status cut() { return ip({"-n", ns_a_, "link", "set", veth_a_, "down"}); }
  Status restore() { return ip({"-n", ns_a_, "link", "set", veth_a_, "up"}); }

  const std::string& ns_a() const { return ns_a_; }
  const std::string& ns_b() const { return ns_b_; }

 private:
  Status ip(std::vector<std::string> args) {
    args.insert(args.begin(), ip_binary());
    return run_command(args, log_dir_ + "/ip.log");
  }

  std::string log_dir_;
  std::string ns_a_, ns_b_, veth_a_, veth_b_;
  bool created_ = false;
};

using ::comet::InNetns;

}  // namespace comet::testing
