// A RocketMQ 4.x protocol producer for comet-bench (`--protocol rocketmq`): what a RocketMQ
// client sends, built on the codec (remoting/rocketmq_codec.h) and Asio, kept plain so that the
// benchmark measures the broker, not the client. It asks the name server for the topic's route
// (GET_ROUTEINFO_BY_TOPIC, 105; TBW102's with defaultTopic when the topic has none yet), keeps one
// pipelined connection per master, sends SEND_MESSAGE_V2 (310) round-robin over the writable
// queues and matches answers by opaque. No retries: a failed send is reported as such.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "bench/bench_producer.h"
#include "common/status.h"
#include "producer/producer.h"

namespace comet::bench {

class RocketmqProducer final : public BenchProducer {
 public:
  RocketmqProducer(std::string namesrv, std::string group);
  ~RocketmqProducer();
  RocketmqProducer(const RocketmqProducer&) = delete;
  RocketmqProducer& operator=(const RocketmqProducer&) = delete;

  Status start();
  void shutdown() override;
  void set_send_timeout(std::chrono::milliseconds t) { send_timeout_ = t; }

  // `cb` runs once, on the producer's I/O thread: the answer, or kTimeout / kUnavailable /
  // the broker's refusal (its code and remark).
  void send_async(client::ProducerMessage m, SendCallback cb) override;
  void send_batch_async(std::vector<client::ProducerMessage> batch, SendCallback cb) override;
  Result<client::SendResult> first_send(client::ProducerMessage m) override;
  Status load_route(const std::string& topic) override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::chrono::milliseconds send_timeout_{3000};
};

}  // namespace comet::bench
