#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fstream>
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

// A header whose union names a type but holds no table passes the FlatBuffers verifier; it is
// refused, since nothing could use it (encoding it again crashed: found by frame_fuzzer).
TEST(FrameCodec, AnExtensionTypeWithoutItsTableIsRejected) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(protocol::CreateHeader(fbb, static_cast<int32_t>(RequestCode::QUERY_CONSUMER_OFFSET),
                                    7, 0, 0, protocol::Ext::ConsumerOffsetRequest, 0),
             protocol::HeaderIdentifier());
  const uint32_t header_len = fbb.GetSize();
  const uint32_t total = 4 + header_len;
  std::string frame(8, '\0');
  std::memcpy(frame.data(), &total, 4);
  std::memcpy(frame.data() + 4, &header_len, 4);
  frame.append(reinterpret_cast<const char*>(fbb.GetBufferPointer()), header_len);
  auto cmd = decode_frame(frame, 1 << 20);
  ASSERT_FALSE(cmd.is_ok());
  EXPECT_EQ(cmd.status().code(), Code::kCorruption);
  EXPECT_NE(cmd.status().message().find("ConsumerOffsetRequest"), std::string::npos)
      << cmd.status().message();
}

TEST(FrameCodec, AHeaderWithoutTheFileIdentifierIsRejected) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(protocol::CreateHeader(fbb, static_cast<int32_t>(RequestCode::HEART_BEAT), 7));
  const uint32_t header_len = fbb.GetSize();
  const uint32_t total = 4 + header_len;
  std::string frame(8, '\0');
  std::memcpy(frame.data(), &total, 4);
  std::memcpy(frame.data() + 4, &header_len, 4);
  frame.append(reinterpret_cast<const char*>(fbb.GetBufferPointer()), header_len);
  auto cmd = decode_frame(frame, 1 << 20);
  ASSERT_FALSE(cmd.is_ok());
  EXPECT_EQ(cmd.status().code(), Code::kCorruption);
  EXPECT_NE(cmd.status().message().find("CMT1"), std::string::npos) << cmd.status().message();
  // With it, the same header decodes.
  std::string good = encode_frame(RemotingCommand::request(RequestCode::HEART_BEAT));
  EXPECT_EQ(good.substr(12, 4), "CMT1");
  EXPECT_TRUE(decode_frame(good, 1 << 20).is_ok());
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

// ---- limits a server puts on its clients -------------------------------------------------

// A raw client socket from `source` (a loopback address) to the server on 127.0.0.1.
int connect_raw(uint16_t port, const char* source = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Waits up to `timeout` for the server to close `fd` (EOF or reset); bytes it sends are skipped.
bool closed_within(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
  }
}

// Sends a request on `fd` and waits up to 5 s for bytes of its answer.
bool answered(int fd) {
  const std::string frame = encode_frame(route_request("raw"));
  if (::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size())) {
    return false;
  }
  pollfd p{fd, POLLIN, 0};
  char buf[256];
  return ::poll(&p, 1, 5000) == 1 && ::recv(fd, buf, sizeof(buf), 0) > 0;
}

class RemotingLimitsTest : public ::testing::Test {
 protected:
  void start(ServerOptions opts) {
    opts.bind_address = "127.0.0.1";
    server_ = std::make_unique<RemotingServer>(opts);
    server_->register_handler(RequestCode::GET_ROUTEINFO_BY_TOPIC,
                              [](const std::shared_ptr<Connection>& c, RemotingCommand req) {
                                c->send(RemotingCommand::response_to(req, ResponseCode::SUCCESS));
                              });
    // Held until the test answers.
    server_->register_handler(RequestCode::GET_BROKER_CLUSTER_INFO,
                              [this](const std::shared_ptr<Connection>& c, RemotingCommand req) {
                                std::lock_guard lock(mu_);
                                held_.emplace_back(c, std::move(req));
                                cv_.notify_all();
                              });
    server_->set_close_handler([this](Connection*) {
      std::lock_guard lock(mu_);
      ++closed_;
      cv_.notify_all();
    });
    ASSERT_TRUE(server_->start().is_ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    for (int fd : fds_)
      ::close(fd);
    if (server_) server_->stop();
  }
  int raw(const char* source = "127.0.0.1") {
    int fd = connect_raw(server_->port(), source);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  // Answers the held requests, oldest first, up to `n` of them.
  void answer(size_t n) {
    std::vector<std::pair<std::shared_ptr<Connection>, RemotingCommand>> now;
    {
      std::lock_guard lock(mu_);
      for (; n > 0 && answered_ < held_.size(); --n, ++answered_)
        now.emplace_back(held_[answered_].first, std::move(held_[answered_].second));
    }
    for (auto& [c, req] : now)
      c->send(RemotingCommand::response_to(req, ResponseCode::SUCCESS));
  }

  std::unique_ptr<RemotingServer> server_;
  std::string addr_;
  std::vector<int> fds_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::shared_ptr<Connection>, RemotingCommand>> held_;
  size_t answered_ = 0;
  int closed_ = 0;
};

TEST_F(RemotingLimitsTest, ConnectionsPastTheLimitsAreClosedAndTheOthersServed) {
  ServerOptions opts;
  opts.max_connections = 4;
  opts.max_connections_per_ip = 2;
  start(opts);
  // Two from 127.0.0.1 (its limit), one from 127.0.0.2: every one served.
  int a = raw(), b = raw(), c = raw("127.0.0.2");
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_GE(c, 0);
  EXPECT_TRUE(answered(a));
  EXPECT_TRUE(answered(b));
  EXPECT_TRUE(answered(c));
  int over_ip = raw();  // a third from 127.0.0.1
  ASSERT_GE(over_ip, 0);
  EXPECT_TRUE(closed_within(over_ip, 5s));
  int d = raw("127.0.0.3");  // the fourth in all
  ASSERT_GE(d, 0);
  EXPECT_TRUE(answered(d));
  int over_all = raw("127.0.0.4");  // a fifth
  ASSERT_GE(over_all, 0);
  EXPECT_TRUE(closed_within(over_all, 5s));
  EXPECT_TRUE(answered(a)) << "an accepted connection was disturbed";
  EXPECT_EQ(server_->connection_count(), 4u);

  // A closed connection frees its place.
  ::close(a);
  fds_.erase(fds_.begin());
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, 5s, [&] { return closed_ == 1; }));
  }
  int again = raw();
  ASSERT_GE(again, 0);
  EXPECT_TRUE(answered(again));
}

TEST_F(RemotingLimitsTest, ASlowLorisFrameIsCutWhileOthersAreServed) {
  ServerOptions opts;
  opts.frame_read_timeout = 300ms;
  start(opts);
  const std::string frame = encode_frame(route_request(std::string(2000, 't')));
  // Half a frame, then nothing.
  int stalled = raw();
  ASSERT_GE(stalled, 0);
  ASSERT_EQ(::send(stalled, frame.data(), frame.size() / 2, MSG_NOSIGNAL),
            static_cast<ssize_t>(frame.size() / 2));
  // A frame trickled a byte at a time, every 20 ms: bytes keep coming, the frame never ends.
  int trickle = raw();
  ASSERT_GE(trickle, 0);
  const auto start_at = std::chrono::steady_clock::now();
  bool cut = false;
  for (size_t i = 0; i < frame.size() && !cut; ++i) {
    if (::send(trickle, frame.data() + i, 1, MSG_NOSIGNAL) != 1) break;
    cut = closed_within(trickle, 20ms);
  }
  const auto took = std::chrono::steady_clock::now() - start_at;
  EXPECT_TRUE(cut) << "the trickled frame was never cut";
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(closed_within(stalled, 5s));

  // Meanwhile a client that sends whole frames, pipelined, for longer than the timeout (its
  // reads end mid-frame all the time) is never cut.
  RemotingClient client;
  const auto until = std::chrono::steady_clock::now() + 800ms;
  int ok = 0;
  for (int round = 0; round < 10000 && std::chrono::steady_clock::now() < until; ++round) {
    std::vector<std::future<Result<RemotingCommand>>> replies;
    for (int i = 0; i < 64; ++i) {
      auto p = std::make_shared<std::promise<Result<RemotingCommand>>>();
      replies.push_back(p->get_future());
      client.invoke_async(addr_, route_request(std::string(700 + i, 'x')), 5s,
                          [p](Result<RemotingCommand> r) { p->set_value(std::move(r)); });
    }
    for (auto& f : replies)
      ok += f.get().is_ok() ? 1 : 0;
  }
  EXPECT_GT(ok, 0);
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(closed_, 2) << "only the two slow senders were cut";
  }
}

TEST_F(RemotingLimitsTest, ASilentConnectionIsClosedAfterTheIdleTimeout) {
  ServerOptions opts;
  opts.idle_timeout = 300ms;
  start(opts);
  int fd = raw();
  ASSERT_GE(fd, 0);
  const auto start_at = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_within(fd, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - start_at, 300ms);
}

TEST_F(RemotingLimitsTest, AtTheInflightLimitTheConnectionIsNotReadUntilAResponseGoesOut) {
  ServerOptions opts;
  opts.connection.max_inflight_requests = 4;
  opts.frame_read_timeout = 200ms;  // time spent paused by the limit must not count
  start(opts);
  RemotingClient client;
  std::mutex mu;
  std::condition_variable cv;
  int replies = 0;
  for (int i = 0; i < 10; ++i) {
    client.invoke_async(addr_, RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO), 10s,
                        [&](Result<RemotingCommand> r) {
                          EXPECT_TRUE(r.is_ok()) << r.status().to_string();
                          std::lock_guard lock(mu);
                          ++replies;
                          cv.notify_all();
                        });
  }
  auto held = [&](size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return held_.size() >= n; });
  };
  ASSERT_TRUE(held(4));
  // No fifth request is read while four wait, however long they wait.
  {
    std::unique_lock lock(mu_);
    EXPECT_FALSE(cv_.wait_for(lock, 500ms, [&] { return held_.size() > 4; }))
        << held_.size() << " requests read with 4 unanswered";
  }
  answer(1);
  ASSERT_TRUE(held(5));
  {
    std::unique_lock lock(mu_);
    EXPECT_EQ(held_.size(), 5u);
  }
  // Answering as they arrive drains the rest.
  for (size_t n = 6; n <= 10; ++n) {
    answer(10);
    ASSERT_TRUE(held(n));
  }
  answer(10);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return replies == 10; }));
  }
  std::lock_guard lock(mu_);
  EXPECT_EQ(closed_, 0);
}

// Peak resident memory of this process in KiB (VmHWM), after resetting it.
int64_t peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}
void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

TEST_F(RemotingLimitsTest, AnAnnouncedFrameLengthTakesNoMemoryUntilItsBytesArrive) {
  ServerOptions opts;
  opts.connection.max_frame_bytes = 64u << 20;
  opts.frame_read_timeout = 300ms;
  start(opts);
  reset_peak_rss();
  const int64_t before = peak_rss_kib();
  ASSERT_GT(before, 0);
  // Eight connections each announce a 60 MiB frame and send 8 bytes of it.
  std::string prefix(16, 'x');
  uint32_t total = 60u << 20, header = 4;
  std::memcpy(prefix.data(), &total, 4);
  std::memcpy(prefix.data() + 4, &header, 4);
  std::vector<int> fds;
  for (int i = 0; i < 8; ++i) {
    int fd = raw();
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::send(fd, prefix.data(), prefix.size(), MSG_NOSIGNAL), 16);
    fds.push_back(fd);
  }
  // Cut by the frame timeout: by then the server has read every prefix.
  for (int fd : fds)
    EXPECT_TRUE(closed_within(fd, 5s));
  const int64_t grew_mib = (peak_rss_kib() - before) / 1024;
  EXPECT_LT(grew_mib, 64) << "8 announced frames of 60 MiB took " << grew_mib << " MiB";
}

}  // namespace
}  // namespace comet::remoting
