#include "bench/bench_producer.h"

#include "bench/bench_security.h"
#include "bench/rocketmq_producer.h"

namespace comet::bench {

std::optional<Protocol> parse_protocol(std::string_view name) {
  if (name == "native") return Protocol::kNative;
  if (name == "rocketmq") return Protocol::kRocketmq;
  return std::nullopt;
}

std::string_view protocol_name(Protocol p) {
  return p == Protocol::kNative ? "native" : "rocketmq";
}

namespace {

class NativeProducer final : public BenchProducer {
 public:
  NativeProducer(const std::string& group, client::ClientConfig cfg) : producer_(group, cfg) {}

  Status start(std::chrono::milliseconds send_timeout) {
    COMET_RETURN_IF_ERROR(producer_.start());
    producer_.set_send_msg_timeout(send_timeout);
    return Status::ok();
  }
  void send_async(client::ProducerMessage m, SendCallback cb) override {
    producer_.send_async(std::move(m), std::move(cb));
  }
  void send_batch_async(std::vector<client::ProducerMessage> batch, SendCallback cb) override {
    producer_.send_async(std::move(batch), std::move(cb));
  }
  Result<client::SendResult> first_send(client::ProducerMessage m) override {
    const auto usual_timeout = producer_.send_msg_timeout();
    const int usual_retries = producer_.retry_times_when_send_failed();
    producer_.set_send_msg_timeout(std::chrono::seconds(30));
    producer_.set_retry_times_when_send_failed(10);
    auto r = producer_.send(m);
    producer_.set_send_msg_timeout(usual_timeout);
    producer_.set_retry_times_when_send_failed(usual_retries);
    return r;
  }
  Status load_route(const std::string& topic) override {
    return producer_.fetch_publish_queues(topic).status();
  }
  void shutdown() override { producer_.shutdown(); }

 private:
  client::Producer producer_;
};

}  // namespace

Result<std::unique_ptr<BenchProducer>> start_producer(Protocol protocol, const std::string& namesrv,
                                                      const std::string& group,
                                                      const std::string& client_id,
                                                      std::chrono::milliseconds send_timeout) {
  if (protocol == Protocol::kRocketmq) {
    if (bench_security().secured()) {
      return Status::invalid_argument(
          "--protocol rocketmq sends unsigned plain RocketMQ frames: not with ACL or TLS");
    }
    auto p = std::make_unique<RocketmqProducer>(namesrv, group);
    p->set_send_timeout(send_timeout);
    COMET_RETURN_IF_ERROR(p->start());
    return std::unique_ptr<BenchProducer>(std::move(p));
  }
  client::ClientConfig cfg = bench_client_config(namesrv);
  cfg.client_id = client_id;
  auto p = std::make_unique<NativeProducer>(group, cfg);
  COMET_RETURN_IF_ERROR(p->start(send_timeout));
  return std::unique_ptr<BenchProducer>(std::move(p));
}

}  // namespace comet::bench
