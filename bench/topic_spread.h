// The topics a comet-bench workload spreads its messages over (`--topics N
// --queues-per-topic Q`): one topic, as every run had before, or <prefix>-0 .. <prefix>-(N-1).
// Creating them goes through the admin client library with many requests in flight, not one
// comet-admin process per topic: 10,000 topics are created in the time the broker takes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace comet::bench {

class TopicSet {
 public:
  // One topic (implicit: a run of one topic passes its name).
  TopicSet(std::string topic) : names_{std::move(topic)} {}  // NOLINT(google-explicit-constructor)
  // `count` topics named <prefix>-0 .. <prefix>-(count-1); one topic is <prefix> itself.
  static TopicSet spread(const std::string& prefix, int count);

  size_t size() const { return names_.size(); }
  const std::string& operator[](size_t i) const { return names_[i]; }
  const std::vector<std::string>& names() const { return names_; }
  // The topic of a workload's message `index` (over all producers): round robin, so that with the
  // producers' round robin over each topic's queues every queue gets its share.
  const std::string& of_message(uint64_t index) const { return names_[index % names_.size()]; }

 private:
  explicit TopicSet(std::vector<std::string> names) : names_(std::move(names)) {}
  std::vector<std::string> names_;
};

// Creates (or updates) every topic of `topics` with `queues` read and write queues on each of
// `masters`, `inflight` requests at a time. Each creation may take the broker's registration
// with the name servers (it answers once they know the topic), hence the generous `timeout`.
Status create_topics(const std::string& namesrv, const std::vector<std::string>& masters,
                     const TopicSet& topics, int queues, int inflight = 64,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace comet::bench
