#include "producer/latency_fault_tolerance.h"

#include <cassert>

namespace comet::client {

using namespace std::chrono_literals;

LatencyFaultTolerance::LatencyFaultTolerance()
    : LatencyFaultTolerance({50ms, 100ms, 550ms, 1000ms, 2000ms, 3000ms, 15000ms},
                            {0ms, 0ms, 30000ms, 60000ms, 120000ms, 180000ms, 600000ms}) {}

LatencyFaultTolerance::LatencyFaultTolerance(std::vector<Millis> latency_max,
                                             std::vector<Millis> not_available)
    : latency_max_(std::move(latency_max)), not_available_(std::move(not_available)) {
  assert(latency_max_.size() == not_available_.size());
}

LatencyFaultTolerance::Millis LatencyFaultTolerance::not_available_duration(Millis latency) const {
  for (size_t i = latency_max_.size(); i-- > 0;) {
    if (latency >= latency_max_[i]) return not_available_[i];
  }
  return Millis{0};
}

void LatencyFaultTolerance::update(const std::string& broker, Millis latency, bool isolation,
                                   Clock::time_point now) {
  const Millis effective = isolation ? kIsolationLatency : latency;
  const Millis duration = not_available_duration(effective);
  std::lock_guard lock(mu_);
  if (duration == Millis{0}) {
    items_.erase(broker);
    return;
  }
  items_[broker] = Item{effective, now + duration};
}

bool LatencyFaultTolerance::is_available(const std::string& broker, Clock::time_point now) const {
  std::lock_guard lock(mu_);
  auto it = items_.find(broker);
  return it == items_.end() || now >= it->second.available_at;
}

void LatencyFaultTolerance::remove(const std::string& broker) {
  std::lock_guard lock(mu_);
  items_.erase(broker);
}

}  // namespace comet::client
