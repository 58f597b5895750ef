// The producer comet-bench's workloads send through, whatever the protocol: comet's native
// client (producer/producer.h) or a RocketMQ 4.x protocol producer (bench/rocketmq_producer.h),
// so `produce`, `compare` and the other runs keep one workload loop (bench/workload.h) and the
// protocol is an option (`--protocol native|rocketmq`).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "producer/producer.h"

namespace comet::bench {

enum class Protocol { kNative, kRocketmq };
std::optional<Protocol> parse_protocol(std::string_view name);  // "native" / "rocketmq"
std::string_view protocol_name(Protocol p);

class BenchProducer {
 public:
  using SendCallback = std::function<void(Result<client::SendResult>)>;
  virtual ~BenchProducer() = default;

  // `cb` runs once, on a client I/O thread.
  virtual void send_async(client::ProducerMessage m, SendCallback cb) = 0;
  // B messages in one request (`--batch`); kUnsupported where the protocol producer has none.
  virtual void send_batch_async(std::vector<client::ProducerMessage> batch, SendCallback cb) = 0;
  // One send that may take up to 30 s and is retried: a cluster just started may still be
  // electing a leader or pre-faulting its first segment.
  virtual Result<client::SendResult> first_send(client::ProducerMessage m) = 0;
  // Fetches and keeps the route of `topic` (sends nothing): a run over many topics loads them
  // all before its clock starts.
  virtual Status load_route(const std::string& topic) = 0;
  virtual void shutdown() = 0;
};

// A started producer of group `group` for the cluster `namesrv` serves.
Result<std::unique_ptr<BenchProducer>> start_producer(Protocol protocol, const std::string& namesrv,
                                                      const std::string& group,
                                                      const std::string& client_id,
                                                      std::chrono::milliseconds send_timeout);

}  // namespace comet::bench
