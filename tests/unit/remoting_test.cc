#include <atomic>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <asio.hpp>

#include "remoting/remoting_client.h"
#include "remoting/remoting_server.h"

namespace comet::remoting {
namespace {

using namespace std::chrono_literals;

RemotingCommand route_request(const std::string& topic) {
  auto cmd = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
  protocol::GetRouteInfoRequestT ext;
  ext.topic = topic;
  cmd.set_ext(std::move(ext));
  return cmd;
}

// ---- frame codec, no sockets ----------------------------------------------------------------

TEST(FrameCodec, RoundTripsHeaderExtAndBody) {
  auto cmd = route_request("OrderTopic");
  cmd.header.opaque = 77;
  cmd.header.remark = "hello";
  cmd.body.owned = std::string("\0body\xff", 6);
  auto decoded = decode_frame(encode_frame(cmd), kDefaultMaxFrameBytes);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->code(), static_cast<int32_t>(RequestCode::GET_ROUTEINFO_BY_TOPIC));
  EXPECT_EQ(decoded->opaque(), 77u);
  EXPECT_EQ(decoded->remark(), "hello");
  ASSERT_NE(decoded->ext<protocol::GetRouteInfoRequestT>(), nullptr);
  EXPECT_EQ(decoded->ext<protocol::GetRouteInfoRequestT>()->topic, "OrderTopic");
  EXPECT_EQ(decoded->ext<protocol::SendMessageRequestT>(), nullptr);
  EXPECT_EQ(decoded->body.to_string(), cmd.body.owned);
}

TEST(FrameCodec, EveryTruncationIsRejected) {
  auto frame = encode_frame(route_request("T"));
  for (size_t n = 0; n < frame.size(); ++n) {
    EXPECT_FALSE(decode_frame(frame.substr(0, n), kDefaultMaxFrameBytes).is_ok()) << n;
  }
}

TEST(FrameCodec, OversizedAndInconsistentLengthsAreRejected) {
  uint8_t prefix[8];
  uint32_t total = 1000, header = 10;
  std::memcpy(prefix, &total, 4);
  std::memcpy(prefix + 4, &header, 4);
  EXPECT_EQ(decode_prefix(prefix, 999).status().code(), Code::kMessageTooLarge);
  EXPECT_TRUE(decode_prefix(prefix, 1000).is_ok());
  header = 997;  // more than totalLength - 4
  std::memcpy(prefix + 4, &header, 4);
  EXPECT_EQ(decode_prefix(prefix, 1000).status().code(), Code::kCorruption);
  header = 0;
  std::memcpy(prefix + 4, &header, 4);
  EXPECT_EQ(decode_prefix(prefix, 1000).status().code(), Code::kCorruption);
}

TEST(FrameCodec, RandomGarbageNeverDecodesAsAnything) {
  std::mt19937 rng(42);
  for (int i = 0; i < 5000; ++i) {
    std::string junk(9 + rng() % 200, '\0');
    for (char& c : junk)
      c = static_cast<char>(rng());
    uint32_t total = static_cast<uint32_t>(junk.size() - 4);
    uint32_t header = static_cast<uint32_t>(1 + rng() % (junk.size() - 8));
    std::memcpy(junk.data(), &total, 4);
    std::memcpy(junk.data() + 4, &header, 4);
    auto r = decode_frame(junk, kDefaultMaxFrameBytes);  // must not crash (ASan checks)
    if (r.is_ok()) {
      EXPECT_LE(r->body.size(), junk.size());
    }
  }
}

// ---- server and client on loopback ------------------------------------------------------

class RemotingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions opts;
    opts.bind_address = "127.0.0.1";
    opts.connection.max_frame_bytes = 1 << 20;
    server_ = std::make_unique<RemotingServer>(opts);
    // Echo: answers with the topic and the body, from the I/O thread.
    server_->register_handler(RequestCode::GET_ROUTEINFO_BY_TOPIC,
                              [](const std::shared_ptr<Connection>& c, RemotingCommand req) {
                                auto resp =
                                    RemotingCommand::response_to(req, ResponseCode::SUCCESS);
                                auto* ext = req.ext<protocol::GetRouteInfoRequestT>();
                                resp.header.remark = ext ? ext->topic : "";
                                resp.body = std::move(req.body);
                                c->send(std::move(resp));
                              });
    // Never answers: for timeouts.
    server_->register_handler(RequestCode::GET_BROKER_CLUSTER_INFO,
                              [](const std::shared_ptr<Connection>&, RemotingCommand) {});
    // Counts oneway requests.
    server_->register_handler(RequestCode::HEART_BEAT,
                              [this](const std::shared_ptr<Connection>&, RemotingCommand req) {
                                EXPECT_TRUE(req.is_oneway());
                                std::lock_guard lock(mu_);
                                ++oneway_;
                                cv_.notify_all();
                              });
    ASSERT_TRUE(server_->start().is_ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override { server_->stop(); }

  std::unique_ptr<RemotingServer> server_;
  std::string addr_;
  std::mutex mu_;
  std::condition_variable cv_;
  int oneway_ = 0;
};

TEST_F(RemotingTest, RequestResponse) {
  RemotingClient client;
  auto req = route_request("T1");
  req.body.owned = "payload";
  auto r = client.invoke(addr_, std::move(req), 5s);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->response_code(), ResponseCode::SUCCESS);
  EXPECT_EQ(r->remark(), "T1");
  EXPECT_EQ(r->body.to_string(), "payload");
}

TEST_F(RemotingTest, UnknownCodeIsAnsweredNotSupported) {
  RemotingClient client;
  auto req = RemotingCommand::request(RequestCode::PULL_MESSAGE);
  auto r = client.invoke(addr_, std::move(req), 5s);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->response_code(), ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
}

TEST_F(RemotingTest, TimeoutWhenNoResponseAndTheConnectionStaysUsable) {
  RemotingClient client;
  auto start = std::chrono::steady_clock::now();
  auto r =
      client.invoke(addr_, RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO), 100ms);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), Code::kTimeout);
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(client.invoke(addr_, route_request("after"), 5s).is_ok());
}

// One sweep timer per connection enforces the timeouts: a shorter timeout asked for after a
// longer one must still fire on time, and each request times out on its own.
TEST_F(RemotingTest, ShorterTimeoutAfterALongerOneFiresOnTime) {
  RemotingClient client;
  ASSERT_TRUE(client.invoke(addr_, route_request("connect"), 5s).is_ok());
  std::promise<Result<RemotingCommand>> slow, fast, faster;
  const auto start = std::chrono::steady_clock::now();
  client.invoke_async(addr_, RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO), 20s,
                      [&](Result<RemotingCommand> r) { slow.set_value(std::move(r)); });
  client.invoke_async(addr_, RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO), 400ms,
                      [&](Result<RemotingCommand> r) { fast.set_value(std::move(r)); });
  client.invoke_async(addr_, RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO), 150ms,
                      [&](Result<RemotingCommand> r) { faster.set_value(std::move(r)); });
  auto faster_future = faster.get_future();
  ASSERT_EQ(faster_future.wait_for(5s), std::future_status::ready);
  const auto faster_took = std::chrono::steady_clock::now() - start;
  auto fast_future = fast.get_future();
  ASSERT_EQ(fast_future.wait_for(5s), std::future_status::ready);
  const auto fast_took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(faster_future.get().status().code(), Code::kTimeout);
  EXPECT_EQ(fast_future.get().status().code(), Code::kTimeout);
  EXPECT_GE(faster_took, 150ms);
  EXPECT_LT(faster_took, 400ms + 2s);
  EXPECT_GE(fast_took, 400ms);
  EXPECT_LT(fast_took, 3s);
  // The long one is still waiting, and the connection still answers.
  auto slow_future = slow.get_future();
  EXPECT_EQ(slow_future.wait_for(0ms), std::future_status::timeout);
  EXPECT_TRUE(client.invoke(addr_, route_request("after"), 5s).is_ok());
  client.shutdown();  // fails the long one at once
  ASSERT_EQ(slow_future.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(slow_future.get().is_ok());
}

TEST_F(RemotingTest, ManyPipelinedRequestsOnOneConnectionAreMatched) {
  RemotingClient client;
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr int kRequests = 3000;  // sanitizers run ~10x slower: what matters is the matching
#else
  constexpr int kRequests = 20000;
#endif
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, mismatched = 0;
  for (int i = 0; i < kRequests; ++i) {
    auto req = route_request("t" + std::to_string(i));
    req.body.owned = std::to_string(i);
    client.invoke_async(addr_, std::move(req), 60s, [&, i](Result<RemotingCommand> r) {
      std::lock_guard lock(mu);
      if (!r.is_ok() || r->body.to_string() != std::to_string(i) ||
          r->remark() != "t" + std::to_string(i)) {
        ++mismatched;
      }
      ++done;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 90s, [&] { return done == kRequests; }));
  EXPECT_EQ(mismatched, 0);
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(RemotingTest, OnewayRequestsArriveWithoutResponses) {
  RemotingClient client;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        client.invoke_oneway(addr_, RemotingCommand::request(RequestCode::HEART_BEAT)).is_ok());
  }
  std::unique_lock lock(mu_);
  EXPECT_TRUE(cv_.wait_for(lock, 10s, [&] { return oneway_ == 10; }));
}

TEST_F(RemotingTest, ConnectionRefusedFailsFast) {
  RemotingClient client;
  // A port held bound but not listening: connections to it are refused, and no other test can
  // take it meanwhile.
  asio::io_context io;
  asio::ip::tcp::socket holder(io);
  holder.open(asio::ip::tcp::v4());
  holder.bind({asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = holder.local_endpoint().port();
  auto r = client.invoke("127.0.0.1:" + std::to_string(port), route_request("x"), 5s);
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(client.invoke("no-port", route_request("x"), 5s).status().code(),
            Code::kInvalidArgument);
}

TEST_F(RemotingTest, BodyViewsAreSentWithoutCopying) {
  ServerOptions opts;
  opts.bind_address = "127.0.0.1";
  RemotingServer server(opts);
  auto data = std::make_shared<std::string>("0123456789");
  server.register_handler(
      RequestCode::PULL_MESSAGE, [data](const std::shared_ptr<Connection>& c, RemotingCommand req) {
        auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
        resp.body.owned = "[";
        resp.body.views.emplace_back(reinterpret_cast<const uint8_t*>(data->data()) + 2, 3);
        resp.body.views.emplace_back(reinterpret_cast<const uint8_t*>(data->data()) + 7, 2);
        resp.body.keepalive = data;
        c->send(std::move(resp));
      });
  ASSERT_TRUE(server.start().is_ok());
  RemotingClient client;
  auto r = client.invoke("127.0.0.1:" + std::to_string(server.port()),
                         RemotingCommand::request(RequestCode::PULL_MESSAGE), 5s);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->body.to_string(), "[23478");
  server.stop();
}

// Sends raw bytes on a fresh socket; returns true when the server closed the connection.
bool server_closes_after(uint16_t port, const std::string& bytes) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(bytes));
  s.shutdown(asio::ip::tcp::socket::shutdown_send);
  char buf[256];
  std::error_code ec;
  size_t total = 0;
  for (int i = 0; i < 100 && !ec; ++i)
    total += s.read_some(asio::buffer(buf), ec);
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

TEST_F(RemotingTest, MalformedFramesCloseTheirConnectionOnly) {
  RemotingClient good;
  ASSERT_TRUE(good.invoke(addr_, route_request("before"), 5s).is_ok());

  std::string oversized(8, '\0');
  uint32_t huge = 64 << 20, hl = 10;
  std::memcpy(oversized.data(), &huge, 4);
  std::memcpy(oversized.data() + 4, &hl, 4);
  EXPECT_TRUE(server_closes_after(server_->port(), oversized));

  std::string bad_header(8 + 40, '\x5a');
  uint32_t total = 44, hlen = 40;
  std::memcpy(bad_header.data(), &total, 4);
  std::memcpy(bad_header.data() + 4, &hlen, 4);
  EXPECT_TRUE(server_closes_after(server_->port(), bad_header));

  std::string inconsistent(8, '\0');
  uint32_t t2 = 20, h2 = 50;
  std::memcpy(inconsistent.data(), &t2, 4);
  std::memcpy(inconsistent.data() + 4, &h2, 4);
  EXPECT_TRUE(server_closes_after(server_->port(), inconsistent));

  // Truncated frame then EOF.
  EXPECT_TRUE(
      server_closes_after(server_->port(), encode_frame(route_request("cut")).substr(0, 12)));

  // The established client is still served.
  auto r = good.invoke(addr_, route_request("after"), 5s);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->remark(), "after");
}

TEST_F(RemotingTest, ServerStopFailsPendingRequests) {
  RemotingClient client;
  std::mutex mu;
  std::condition_variable cv;
  Status got;
  bool done = false;
  client.invoke_async(addr_, RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO), 30s,
                      [&](Result<RemotingCommand> r) {
                        std::lock_guard lock(mu);
                        got = r.status();
                        done = true;
                        cv.notify_all();
                      });
  // Make sure the request is on the wire before stopping the server.
  ASSERT_TRUE(client.invoke(addr_, route_request("sync"), 5s).is_ok());
  server_->stop();
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return done; }));
  EXPECT_EQ(got.code(), Code::kUnavailable);
}

}  // namespace
}  // namespace comet::remoting
