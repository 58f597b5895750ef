// A RemotingServer speaking both protocols on one port: a RocketMQ connection's requests reach
// the native handler translated, its answers (sent from another thread while the connection's
// reader goes on) come back in the request's encoding and matched by opaque, and a native client
// on the same port is served meanwhile. Run under ThreadSanitizer too (scripts/test.sh --tsan).

#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "integration/wire_socket.h"
#include "remoting/remoting_client.h"
#include "remoting/remoting_server.h"
#include "remoting/rocketmq_codec.h"

namespace comet::remoting {
namespace {

using namespace std::chrono_literals;
namespace rmq = rocketmq;

// Answers GET_MAX_OFFSET with queue_id * 10 from its own thread, as the store's threads answer
// sends and long polls: the connection's send() runs beside its reader.
class OffsetAnswerer {
 public:
  OffsetAnswerer() : thread_([this] { run(); }) {}
  ~OffsetAnswerer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void take(const std::shared_ptr<Connection>& conn, RemotingCommand req) {
    {
      std::lock_guard lock(mu_);
      work_.emplace_back(conn, std::move(req));
    }
    cv_.notify_all();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !work_.empty(); });
      if (work_.empty()) return;
      auto [conn, req] = std::move(work_.front());
      work_.pop_front();
      lock.unlock();
      auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
      protocol::QueueOffsetResponseT ext;
      const auto* q = req.ext<protocol::QueueOffsetRequestT>();
      ext.offset = q ? int64_t{q->queue_id} * 10 : -1;
      resp.set_ext(std::move(ext));
      conn->send(std::move(resp));
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::shared_ptr<Connection>, RemotingCommand>> work_;
  bool stop_ = false;
  std::thread thread_;
};

using comet::testing::WireSocket;

rmq::Command max_offset_request(int32_t opaque, int32_t queue_id, rmq::SerializeType type) {
  rmq::Command cmd;
  cmd.code = 30;  // GET_MAX_OFFSET
  cmd.opaque = opaque;
  cmd.version = 121;
  cmd.serialize_type = type;
  cmd.ext.set("topic", "T");
  cmd.ext.set("queueId", std::to_string(queue_id));
  return cmd;
}

class RocketmqConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions opts;
    opts.bind_address = "127.0.0.1";
    opts.io_threads = 2;
    server_ = std::make_unique<RemotingServer>(opts);
    server_->register_handler(RequestCode::GET_MAX_OFFSET,
                              [this](const std::shared_ptr<Connection>& c, RemotingCommand req) {
                                answerer_.take(c, std::move(req));
                              });
    ASSERT_TRUE(server_->start().is_ok());
  }
  void TearDown() override { server_->stop(); }

  OffsetAnswerer answerer_;
  std::unique_ptr<RemotingServer> server_;
};

TEST_F(RocketmqConnectionTest, PipelinedRequestsAreAnsweredInTheirEncodingWhileNativeIsServed) {
  constexpr int kRequests = 400;
  WireSocket peer;
  ASSERT_TRUE(peer.connect("127.0.0.1:" + std::to_string(server_->port())).is_ok());
  // A native client on the same port at the same time.
  std::thread native([&] {
    RemotingClient client;
    const std::string addr = "127.0.0.1:" + std::to_string(server_->port());
    for (int i = 0; i < 50; ++i) {
      auto req = RemotingCommand::request(RequestCode::GET_MAX_OFFSET);
      protocol::QueueOffsetRequestT q;
      q.queue_id = i;
      req.set_ext(std::move(q));
      auto r = client.invoke(addr, std::move(req), 5s);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      const auto* ext = r->ext<protocol::QueueOffsetResponseT>();
      ASSERT_NE(ext, nullptr);
      EXPECT_EQ(ext->offset, int64_t{i} * 10);
    }
  });
  for (int i = 0; i < kRequests; ++i) {
    const auto type = i % 3 == 0 ? rmq::SerializeType::kRocketmq : rmq::SerializeType::kJson;
    ASSERT_TRUE(peer.write_all(rmq::encode_frame(max_offset_request(1000 + i, i, type))).is_ok());
  }
  std::map<int32_t, rmq::Command> answers;
  for (int i = 0; i < kRequests; ++i) {
    auto r = peer.read_rocketmq();
    ASSERT_TRUE(r.is_ok()) << "answer " << i << ": " << r.status().to_string();
    answers.emplace(r->opaque, std::move(r).value());
  }
  native.join();
  ASSERT_EQ(answers.size(), static_cast<size_t>(kRequests)) << "every opaque answered once";
  for (int i = 0; i < kRequests; ++i) {
    const rmq::Command& a = answers.at(1000 + i);
    EXPECT_TRUE(a.is_response());
    EXPECT_EQ(a.code, 0);
    EXPECT_EQ(a.serialize_type,
              i % 3 == 0 ? rmq::SerializeType::kRocketmq : rmq::SerializeType::kJson);
    EXPECT_EQ(a.ext.get("offset"), std::to_string(i * 10)) << "opaque " << 1000 + i;
  }
}

TEST_F(RocketmqConnectionTest, AnUnservedCodeIsAnsweredAndTheConnectionGoesOn) {
  WireSocket peer;
  ASSERT_TRUE(peer.connect("127.0.0.1:" + std::to_string(server_->port())).is_ok());
  rmq::Command ha;  // comet's own HA handshake code: never reachable through RocketMQ
  ha.code = 600;
  ha.opaque = 1;
  ASSERT_TRUE(peer.write_all(rmq::encode_frame(ha)).is_ok());
  auto r = peer.read_rocketmq();
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->code, 3);  // REQUEST_CODE_NOT_SUPPORTED
  EXPECT_EQ(r->opaque, 1);
  EXPECT_EQ(r->remark.value_or(""), " request type 600 not supported");
  ASSERT_TRUE(peer.write_all(rmq::encode_frame(max_offset_request(2, 7, rmq::SerializeType::kJson)))
                  .is_ok());
  auto again = peer.read_rocketmq();
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again->ext.get("offset"), "70");
}

}  // namespace
}  // namespace comet::remoting
