// The producer workload and read-back shared by comet-bench compare and comet-bench chaos:
// producers sending paced or flat out with a window of async sends each, every SEND_OK recorded
// for the checker (bench/verify.h); reading every queue back; topics and log excerpts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/ack_timeline.h"
#include "bench/bench_producer.h"
#include "bench/latency_histogram.h"
#include "bench/topic_spread.h"
#include "bench/verify.h"
#include "common/status.h"
#include "producer/producer.h"

namespace comet::bench {

struct SendOptions {
  int producers = 1;
  int inflight = 256;
  double rate = 0;  // msgs/s over all producers when paced; 0: as fast as possible
  std::chrono::milliseconds send_timeout{3000};
  int32_t delay_level = 0;  // > 0: every message waits that delay level (comet-bench delay)
  Protocol protocol = Protocol::kNative;  // what the producers speak (bench/bench_producer.h)
};

// Per queue (of each topic), the end of the acknowledged messages (last queue offset + 1): reading
// back must get at least that far, though a broker indexes a message a moment after it acknowledged
// it.
class AckedEnds {
 public:
  void record(const std::string& topic, const client::SendResult& r);
  uint64_t end(const client::MessageQueue& mq) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> ends_;
};

struct SendStats {
  std::unique_ptr<LatencyHistogram> hist = std::make_unique<LatencyHistogram>();
  AckedEnds acked_ends;
  std::atomic<uint64_t> acked{0}, unconfirmed{0}, failed{0}, completed{0};
  std::mutex mu;
  std::map<std::string, uint64_t> errors;  // first words of each error, counted
  double seconds = 0;
};

std::string client_id(const std::string& what);

// Waits out a stretch of a run's schedule (a fault's length, a sampling period): time itself is
// what is awaited, not another thread.
void wait_out(std::chrono::milliseconds d);

// Sends `per_producer` messages from each of o.producers producers, o.inflight async sends in
// flight each (`paced`: at o.rate in all); SEND_OK answers go to `verifier` (when given).
// Messages go round robin over `topics` (TopicSet::of_message); with more than one, every
// producer first loads the route of each (not timed), so that the run measures steady state.
// `at_half` runs on this thread once `at` sends are answered (0: half of them), while the rest go
// on. With `stop`, producers stop sending early once it is set (what is in flight completes).
Status run_sends(const SendOptions& o, const std::string& namesrv, const TopicSet& topics,
                 uint64_t per_producer, const BodyMaker& maker, Verifier* verifier,
                 SendStats& stats, AckTimeline* timeline, const std::string& label,
                 const std::function<void()>& at_half, bool paced,
                 const std::atomic<bool>* stop = nullptr, uint64_t at = 0);

// One synchronous send that may wait up to 30 s: a cluster just started may still be electing a
// leader or pre-faulting its first segment.
Status first_send(const std::string& namesrv, const std::string& topic);

// Reads every queue of each of `topics` from its first offset to its last, and on to the end of
// what was acknowledged there, and hands each body to the verifier (queues numbered across the
// topics). Bounded by `timeout`.
Status read_back(const std::string& namesrv, const TopicSet& topics, const AckedEnds& acked,
                 Verifier& verifier, std::chrono::milliseconds timeout);

Status create_topic(const std::string& namesrv, const std::vector<std::string>& masters,
                    const std::string& topic, int queues);

// The addresses of the masters (brokerId 0) of the cluster `namesrv` serves; an error when it has
// none.
Result<std::vector<std::string>> cluster_masters(const std::string& namesrv);

// What the cluster's logs in `dir` say that explains a failed run, on stderr: each log's last
// warnings and errors, and its role changes and starts and stops (CI keeps no files).
void print_log_excerpts(const std::string& dir, const std::string& label);

}  // namespace comet::bench
