// One name server and one broker as real processes on loopback, driven over the wire protocol.
#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>

// After a standard header: see broker/send_deadlines.h.
#include <asio.hpp>

#include "integration/cluster.h"

namespace comet::testing {
namespace {

class BrokerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  }
  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req,
                               std::chrono::milliseconds timeout = 10s) {
    return cluster_->client().invoke(addr, std::move(req), timeout);
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(BrokerProcessTest, TopicRouteSendAndPullRoundTrip) {
  auto broker = cluster_->start_broker("broker-a");
  ASSERT_TRUE(broker.is_ok()) << broker.status().to_string();
  auto created = call(*broker, update_topic_request("Orders", 4));
  ASSERT_TRUE(created.is_ok());
  ASSERT_EQ(created->response_code(), ResponseCode::SUCCESS) << created->remark();

  // The admin call returns after the broker re-registered: the route is there at once.
  auto route_req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
  protocol::GetRouteInfoRequestT rr;
  rr.topic = "Orders";
  route_req.set_ext(std::move(rr));
  auto route = call(cluster_->namesrv_addr(), std::move(route_req));
  ASSERT_TRUE(route.is_ok());
  ASSERT_EQ(route->response_code(), ResponseCode::SUCCESS) << route->remark();
  const auto* rd = route->ext<protocol::TopicRouteDataT>();
  ASSERT_NE(rd, nullptr);
  ASSERT_EQ(rd->queue_datas.size(), 1u);
  EXPECT_EQ(rd->queue_datas[0]->write_queue_nums, 4);
  ASSERT_EQ(rd->broker_datas.size(), 1u);
  EXPECT_EQ(rd->broker_datas[0]->broker_addrs[0]->addr, *broker);

  std::vector<std::string> sent;
  for (int i = 0; i < 50; ++i)
    sent.push_back("order-" + std::to_string(i));
  auto first = call(*broker, send_request("Orders", 2, {sent[0]}));
  ASSERT_TRUE(first.is_ok());
  ASSERT_EQ(first->response_code(), ResponseCode::SUCCESS) << first->remark();
  const auto* sr = first->ext<protocol::SendMessageResponseT>();
  ASSERT_NE(sr, nullptr);
  EXPECT_EQ(sr->queue_id, 2);
  EXPECT_EQ(sr->queue_offset, 0);
  EXPECT_EQ(sr->msg_id.size(), 32u);
  auto batch = call(*broker, send_request("Orders", 2, {sent.begin() + 1, sent.end()}));
  ASSERT_TRUE(batch.is_ok());
  ASSERT_EQ(batch->response_code(), ResponseCode::SUCCESS) << batch->remark();
  EXPECT_EQ(batch->ext<protocol::SendMessageResponseT>()->queue_offset, 1);
  EXPECT_EQ(batch->ext<protocol::SendMessageResponseT>()->count, 49);

  std::vector<std::string> got;
  int64_t offset = 0;
  for (int round = 0; round < 10 && got.size() < sent.size(); ++round) {
    // Long-poll: the send was acknowledged, the index may be a moment behind.
    auto pulled = call(*broker, pull_request("Orders", 2, offset, 16, 5000));
    ASSERT_TRUE(pulled.is_ok());
    ASSERT_EQ(pulled->response_code(), ResponseCode::SUCCESS) << pulled->remark();
    for (auto& b : bodies_of(*pulled))
      got.push_back(std::move(b));
    offset = pulled->ext<protocol::PullMessageResponseT>()->next_begin_offset;
  }
  EXPECT_EQ(got, sent);
  auto empty = call(*broker, pull_request("Orders", 2, offset));
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty->response_code(), ResponseCode::PULL_NOT_FOUND);
  auto moved = call(*broker, pull_request("Orders", 2, offset + 100));
  EXPECT_EQ(moved->response_code(), ResponseCode::PULL_OFFSET_MOVED);
  EXPECT_EQ(moved->ext<protocol::PullMessageResponseT>()->next_begin_offset, offset);
}

TEST_F(BrokerProcessTest, LongPollingPullIsWokenByTheArrivingMessage) {
  auto broker = cluster_->start_broker("broker-a");
  ASSERT_TRUE(broker.is_ok());
  ASSERT_EQ(call(*broker, update_topic_request("Waits", 1))->response_code(),
            ResponseCode::SUCCESS);

  // Nothing arrives: the pull is held for its suspend time, then answered PULL_NOT_FOUND.
  auto start = std::chrono::steady_clock::now();
  auto idle = call(*broker, pull_request("Waits", 0, 0, 32, 400));
  auto idle_took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(idle.is_ok());
  EXPECT_EQ(idle->response_code(), ResponseCode::PULL_NOT_FOUND);
  EXPECT_GE(idle_took, 350ms);

  // A message sent while the pull is held wakes it long before its 20 s suspend time.
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<RemotingCommand>> held;
  start = std::chrono::steady_clock::now();
  cluster_->client().invoke_async(*broker, pull_request("Waits", 0, 0, 32, 20000), 30s,
                                  [&](Result<RemotingCommand> r) {
                                    std::lock_guard lock(mu);
                                    held = std::move(r);
                                    cv.notify_all();
                                  });
  auto sent = call(*broker, send_request("Waits", 0, {"wake up"}));
  ASSERT_EQ(sent->response_code(), ResponseCode::SUCCESS);
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return held.has_value(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_TRUE(held->is_ok());
  ASSERT_EQ((*held)->response_code(), ResponseCode::SUCCESS);
  EXPECT_EQ(bodies_of(**held), std::vector<std::string>{"wake up"});
}

TEST_F(BrokerProcessTest, TagFilteringAndOffsetsSurviveARestart) {
  auto broker = cluster_->start_broker("broker-a");
  ASSERT_TRUE(broker.is_ok());
  ASSERT_EQ(call(*broker, update_topic_request("Tagged", 1))->response_code(),
            ResponseCode::SUCCESS);
  ASSERT_EQ(call(*broker, send_request("Tagged", 0, {"a1", "a2"}, "A"))->response_code(),
            ResponseCode::SUCCESS);
  ASSERT_EQ(call(*broker, send_request("Tagged", 0, {"b1"}, "B"))->response_code(),
            ResponseCode::SUCCESS);
  // As a consumer does: follow next_begin_offset past filtered-out messages, long-polling.
  std::vector<std::string> only_b;
  int64_t next = 0;
  for (int round = 0; round < 10 && only_b.empty(); ++round) {
    auto r = call(*broker, pull_request("Tagged", 0, next, 32, 5000, "B || C"));
    ASSERT_TRUE(r.is_ok());
    ASSERT_TRUE(r->response_code() == ResponseCode::SUCCESS ||
                r->response_code() == ResponseCode::PULL_RETRY_IMMEDIATELY)
        << remoting::response_code_name(r->header.code);
    only_b = bodies_of(*r);
    next = r->ext<protocol::PullMessageResponseT>()->next_begin_offset;
  }
  EXPECT_EQ(only_b, std::vector<std::string>{"b1"});
  EXPECT_EQ(next, 3);

  auto commit = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET);
  protocol::ConsumerOffsetRequestT c;
  c.consumer_group = "g1";
  c.topic = "Tagged";
  c.queue_id = 0;
  c.commit_offset = 2;
  commit.set_ext(c);
  ASSERT_EQ(call(*broker, std::move(commit))->response_code(), ResponseCode::SUCCESS);

  // SIGTERM: a clean stop; the restarted broker has the topic, the messages and the offset.
  EXPECT_EQ(cluster_->broker("broker-a")->stop(), 0);
  auto again = cluster_->start_broker("broker-a");
  ASSERT_TRUE(again.is_ok());
  auto query = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET);
  protocol::ConsumerOffsetRequestT q;
  q.consumer_group = "g1";
  q.topic = "Tagged";
  q.queue_id = 0;
  query.set_ext(q);
  auto off = call(*again, std::move(query));
  ASSERT_EQ(off->response_code(), ResponseCode::SUCCESS) << off->remark();
  EXPECT_EQ(off->ext<protocol::ConsumerOffsetResponseT>()->offset, 2);
  auto all = call(*again, pull_request("Tagged", 0, 0));
  EXPECT_EQ(bodies_of(*all), (std::vector<std::string>{"a1", "a2", "b1"}));
}

TEST_F(BrokerProcessTest, BadRequestsGetTypedErrors) {
  auto broker =
      cluster_->start_broker("broker-a", {"autoCreateTopicEnable=false", "maxMessageSize=1024"});
  ASSERT_TRUE(broker.is_ok());
  ASSERT_EQ(call(*broker, update_topic_request("Real", 2))->response_code(), ResponseCode::SUCCESS);

  EXPECT_EQ(call(*broker, send_request("Nope", 0, {"x"}))->response_code(),
            ResponseCode::TOPIC_NOT_EXIST);
  auto illegal = send_request("Real", 0, {"x"});
  illegal.ext<protocol::SendMessageRequestT>();
  const_cast<protocol::SendMessageRequestT*>(illegal.ext<protocol::SendMessageRequestT>())->topic =
      "bad topic!";
  EXPECT_EQ(call(*broker, std::move(illegal))->response_code(), ResponseCode::ILLEGAL_TOPIC_NAME);
  EXPECT_EQ(call(*broker, send_request("Real", 0, {std::string(1025, 'x')}))->response_code(),
            ResponseCode::MESSAGE_TOO_LARGE);
  EXPECT_EQ(call(*broker, send_request("Real", 7, {"x"}))->response_code(),
            ResponseCode::MESSAGE_ILLEGAL);
  auto corrupt = send_request("Real", 0, {"payload"});
  corrupt.body.owned[corrupt.body.owned.size() / 2] ^= 0x40;  // CRC no longer matches
  auto cr = call(*broker, std::move(corrupt));
  EXPECT_EQ(cr->response_code(), ResponseCode::MESSAGE_ILLEGAL);
  EXPECT_NE(cr->remark().find("checksum"), std::string::npos) << cr->remark();
  auto no_header = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  EXPECT_EQ(call(*broker, std::move(no_header))->response_code(), ResponseCode::BAD_REQUEST);
  EXPECT_EQ(call(*broker, pull_request("Real", 9, 0))->response_code(), ResponseCode::BAD_REQUEST);
  EXPECT_EQ(call(*broker, pull_request("Nope", 0, 0))->response_code(),
            ResponseCode::TOPIC_NOT_EXIST);
  EXPECT_EQ(call(*broker, pull_request("Real", 0, -1))->response_code(), ResponseCode::BAD_REQUEST);
  // Nothing was stored by any of them.
  EXPECT_EQ(call(*broker, pull_request("Real", 0, 0))->response_code(),
            ResponseCode::PULL_NOT_FOUND);

  // Offsets past the end move the consumer back to it; a batch larger than 1024 is cut to it.
  std::vector<std::string> bodies(1500, "m");
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(call(*broker, send_request("Real", 1,
                                         std::vector<std::string>(bodies.begin() + i * 500,
                                                                  bodies.begin() + (i + 1) * 500)))
                  ->response_code(),
              ResponseCode::SUCCESS);
  // Indexed a moment after the acks: long polls from the start wait for that.
  int64_t indexed = 0;
  for (int i = 0; i < 100 && indexed < 1500; ++i) {
    auto r = call(*broker, pull_request("Real", 1, indexed, 1024, 5000));
    ASSERT_TRUE(r.is_ok());
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS);
    indexed = r->ext<protocol::PullMessageResponseT>()->next_begin_offset;
  }
  ASSERT_EQ(indexed, 1500);
  auto far = call(*broker, pull_request("Real", 1, int64_t{1} << 62));
  ASSERT_TRUE(far.is_ok());
  EXPECT_EQ(far->response_code(), ResponseCode::PULL_OFFSET_MOVED);
  EXPECT_EQ(far->ext<protocol::PullMessageResponseT>()->next_begin_offset, 1500);
  auto greedy = pull_request("Real", 1, 0, std::numeric_limits<int32_t>::max());
  const_cast<protocol::PullMessageRequestT*>(greedy.ext<protocol::PullMessageRequestT>())
      ->max_bytes = std::numeric_limits<int32_t>::max();
  auto all = call(*broker, std::move(greedy));
  ASSERT_TRUE(all.is_ok());
  EXPECT_EQ(all->response_code(), ResponseCode::SUCCESS);
  EXPECT_EQ(all->ext<protocol::PullMessageResponseT>()->next_begin_offset, 1024);
}

TEST_F(BrokerProcessTest, HostileBytesDoNotStopTheBroker) {
  auto broker = cluster_->start_broker("broker-a");
  ASSERT_TRUE(broker.is_ok());
  auto hp = remoting::split_host_port(*broker);
  ASSERT_TRUE(hp.is_ok());
  std::vector<std::string> attacks;
  std::string huge(8, '\0');
  uint32_t len = 1u << 30, hlen = 4;
  std::memcpy(huge.data(), &len, 4);
  std::memcpy(huge.data() + 4, &hlen, 4);
  attacks.push_back(huge);
  attacks.push_back(std::string(64, '\xff'));
  attacks.push_back("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string bad_fb(8 + 32, 'Z');
  uint32_t t = 36, h = 32;
  std::memcpy(bad_fb.data(), &t, 4);
  std::memcpy(bad_fb.data() + 4, &h, 4);
  attacks.push_back(bad_fb);
  for (const auto& bytes : attacks) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address(hp->first), hp->second});
    asio::write(s, asio::buffer(bytes));
    std::error_code ec;
    char buf[64];
    s.read_some(asio::buffer(buf), ec);  // the broker closes the connection
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  }
  EXPECT_TRUE(cluster_->broker("broker-a")->running());
  auto ok = call(*broker, send_request("AfterAttack", -1, {"still serving"}));
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok->response_code(), ResponseCode::SUCCESS) << ok->remark();
}

// A slow-loris sender and a client holding more connections than it may: each is cut off
// (clear warnings in the broker's log), and the broker goes on serving the others.
TEST_F(BrokerProcessTest, SlowAndGreedyClientsAreCutAndOthersServed) {
  auto broker = cluster_->start_broker(
      "broker-a", {"serverFrameReadTimeoutMs=500", "serverMaxConnectionsPerIp=3"});
  ASSERT_TRUE(broker.is_ok());
  auto ok = call(*broker, send_request("Limits", -1, {"first"}));  // connection 1 of 3
  ASSERT_TRUE(ok.is_ok());
  ASSERT_EQ(ok->response_code(), ResponseCode::SUCCESS) << ok->remark();
  auto hp = remoting::split_host_port(*broker);
  ASSERT_TRUE(hp.is_ok());
  asio::io_context io;
  auto open = [&] {
    auto s = std::make_unique<asio::ip::tcp::socket>(io);
    s->connect({asio::ip::make_address(hp->first), hp->second});
    return s;
  };
  // Waits up to 5 s for the broker to close the socket; false if it answers with data or not
  // at all.
  auto closed_by_broker = [](asio::ip::tcp::socket& s) {
    pollfd p{s.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return false;
    char buf[64];
    std::error_code ec;
    s.read_some(asio::buffer(buf), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  };
  // Connection 2: half a frame, then silence.
  auto loris = open();
  const std::string frame = remoting::encode_frame(send_request("Limits", -1, {"never ends"}));
  asio::write(*loris, asio::buffer(frame.data(), frame.size() / 2));
  auto third = open();   // connection 3
  auto fourth = open();  // one too many
  EXPECT_TRUE(closed_by_broker(*fourth)) << "a 4th connection from one address was accepted";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_by_broker(*loris));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 5s);
  // With the slow sender gone there is room again, and the broker serves.
  auto again = open();
  asio::write(*again, asio::buffer(remoting::encode_frame(send_request("Limits", -1, {"next"}))));
  char buf[16];
  std::error_code ec;
  pollfd p{again->native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "no answer on a new connection";
  EXPECT_GT(again->read_some(asio::buffer(buf), ec), 0u) << ec.message();
  auto still = call(*broker, send_request("Limits", -1, {"still"}));
  ASSERT_TRUE(still.is_ok());
  EXPECT_EQ(still->response_code(), ResponseCode::SUCCESS) << still->remark();
  EXPECT_TRUE(cluster_->broker("broker-a")->running());
}

// SYNC_FLUSH: a producer sends while the broker is SIGKILLed; after a restart every message
// that was acknowledged is there, in order, intact.
TEST_F(BrokerProcessTest, KillNineLosesNoAcknowledgedMessageUnderSyncFlush) {
  auto broker = cluster_->start_broker("broker-a", {"flushDiskType=SYNC_FLUSH"});
  ASSERT_TRUE(broker.is_ok());
  ASSERT_EQ(call(*broker, update_topic_request("Durable", 1))->response_code(),
            ResponseCode::SUCCESS);
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;
  std::thread producer([&] {
    for (int i = 0; i < 100000 && !stop; ++i) {
      auto r = cluster_->client().invoke(
          *broker, send_request("Durable", 0, {"durable-" + std::to_string(i)}), 5s);
      if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) break;
      EXPECT_EQ(r->ext<protocol::SendMessageResponseT>()->queue_offset, i);
      acked = i + 1;
      cv.notify_all();
    }
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return acked >= 300; }));
  }
  cluster_->broker("broker-a")->kill9();
  stop = true;
  producer.join();
  const int acknowledged = acked;

  auto again = cluster_->start_broker("broker-a", {"flushDiskType=SYNC_FLUSH"});
  ASSERT_TRUE(again.is_ok());
  std::vector<std::string> got;
  int64_t offset = 0;
  for (int round = 0; round < 1000 && got.size() < static_cast<size_t>(acknowledged); ++round) {
    auto pulled = call(*again, pull_request("Durable", 0, offset, 256, 5000));
    ASSERT_TRUE(pulled.is_ok());
    if (pulled->response_code() != ResponseCode::SUCCESS) break;
    for (auto& b : bodies_of(*pulled))
      got.push_back(std::move(b));
    offset = pulled->ext<protocol::PullMessageResponseT>()->next_begin_offset;
  }
  ASSERT_GE(got.size(), static_cast<size_t>(acknowledged));
  for (int i = 0; i < acknowledged; ++i)
    ASSERT_EQ(got[i], "durable-" + std::to_string(i));
}

}  // namespace
}  // namespace comet::testing
