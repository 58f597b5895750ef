// Wall-clock milliseconds behind an interface, so retention and timestamps can be tested.
#pragma once

#include <chrono>
#include <cstdint>

namespace comet {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static const SystemClock& instance() {
    static const SystemClock clock;
    return clock;
  }
};

// Wall-clock milliseconds since the epoch (timestamps, liveness checks).
inline int64_t now_ms() {
  return SystemClock::instance().now_ms();
}

}  // namespace comet
