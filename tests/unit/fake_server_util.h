// Helpers of the client tests that run fake brokers and name servers in-process: a loopback
// RemotingServer, and a Signal the fakes notify whenever their state changed, so tests wait on
// a condition instead of sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "remoting/remoting_server.h"

namespace comet::testing {

inline std::unique_ptr<remoting::RemotingServer> make_loopback_server() {
  remoting::ServerOptions opts;
  opts.bind_address = "127.0.0.1";
  return std::make_unique<remoting::RemotingServer>(opts);
}

// Predicates may take the fakes' locks: fakes never hold theirs while notifying.
class Signal {
 public:
  void notify() {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }
  template <typename Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, pred);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace comet::testing
