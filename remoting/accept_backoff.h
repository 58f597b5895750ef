// What the accept loop does when accept() fails, as a state machine without I/O. A process out
// of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM) fails every accept at once
// while the connection waits in the listen backlog, so retrying at once would spin a core and
// flood the log: the loop waits 5 ms, doubling to 1 s (Go's net/http does the same), until an
// accept succeeds. Any other failure (a peer that reset before it was accepted) is retried at
// once. Either way the log gets at most one line a second, with how many failures it covers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <system_error>

namespace comet::remoting {

class AcceptBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kFirstWait{5};
  static constexpr std::chrono::milliseconds kMaxWait{1000};
  static constexpr std::chrono::milliseconds kLogInterval{1000};

  struct Step {
    std::chrono::milliseconds wait{0};  // before the next accept
    bool log = false;                   // write a line now
    uint64_t failures = 0;              // failures that line covers, this one included
  };

  // True for the failures that last until descriptors or memory are freed.
  static bool out_of_resources(std::error_code ec);
  Step on_failure(std::error_code ec, Clock::time_point now);
  // An accept succeeded: the next failure waits kFirstWait again.
  void on_success() { wait_ = std::chrono::milliseconds(0); }

 private:
  std::chrono::milliseconds wait_{0};
  uint64_t unlogged_ = 0;
  std::optional<Clock::time_point> logged_at_;
};

}  // namespace comet::remoting
