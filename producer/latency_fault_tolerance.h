// Broker isolation after slow or failed sends (RocketMQ's MQFaultStrategy with its
// LatencyFaultTolerance): a send to a broker that took `latency` makes the broker unavailable for
// not_available_duration(latency), looked up in a table of latency thresholds; a failed send
// counts as kIsolationLatency. Queue selection skips unavailable brokers while others remain.
// Thread-safe; times are injectable for tests.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace comet::client {

class LatencyFaultTolerance {
 public:
  using Clock = std::chrono::steady_clock;
  using Millis = std::chrono::milliseconds;

  static constexpr Millis kIsolationLatency{30000};

  // RocketMQ's table: latency {50,100,550,1000,2000,3000,15000} ms →
  // unavailable for {0,0,30000,60000,120000,180000,600000} ms.
  LatencyFaultTolerance();
  // `latency_max` ascending, one duration per threshold.
  LatencyFaultTolerance(std::vector<Millis> latency_max, std::vector<Millis> not_available);

  // The duration of the largest threshold `latency` reaches; zero below the first.
  Millis not_available_duration(Millis latency) const;

  // Records the outcome of a send to `broker`: `isolation` for a failure.
  void update(const std::string& broker, Millis latency, bool isolation,
              Clock::time_point now = Clock::now());
  bool is_available(const std::string& broker, Clock::time_point now = Clock::now()) const;
  void remove(const std::string& broker);

 private:
  struct Item {
    Millis latency{0};
    Clock::time_point available_at;
  };

  const std::vector<Millis> latency_max_;
  const std::vector<Millis> not_available_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Item> items_;
};

}  // namespace comet::client
