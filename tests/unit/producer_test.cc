// Producer tests against a fake name server and fake brokers (RemotingServers with handlers) on
// loopback, in this process.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <asio.hpp>

#include "common/record_codec.h"
#include "fake_server_util.h"
#include "producer/latency_fault_tolerance.h"
#include "producer/mq_client.h"
#include "producer/producer.h"
#include "producer/topic_route.h"
#include "remoting/remoting_server.h"

namespace comet::client {
namespace {

using namespace std::chrono_literals;
using remoting::Connection;
using remoting::RemotingCommand;
using remoting::RemotingServer;
using remoting::RequestCode;
using remoting::ResponseCode;
using remoting::ServerOptions;

constexpr auto kWait = 15s;
const std::string kTopic = "TopicTest";

// A port nothing listens on: bound, then released.
std::string dead_address() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = a.local_endpoint().port();
  a.close();
  return "127.0.0.1:" + std::to_string(port);
}

using comet::testing::Signal;
std::unique_ptr<RemotingServer> make_server() {
  return comet::testing::make_loopback_server();
}

struct ReceivedRecord {
  std::string topic;
  std::string body;
  std::string properties;
  uint32_t queue_id = 0;
  uint32_t flags = 0;
  int64_t born_timestamp_ms = 0;
  uint32_t reconsume_times = 0;
};

struct ReceivedSend {
  std::string group;
  std::string topic;
  int32_t queue_id = 0;
  bool batch = false;
  bool oneway = false;
  bool records_valid = true;  // every record decoded with a valid CRC, nothing left over
  std::vector<ReceivedRecord> records;
  std::string msg_id;  // what the broker answered
};

class FakeBroker {
 public:
  FakeBroker(std::string name, Signal& signal)
      : name_(std::move(name)), signal_(signal), server_(make_server()) {
    server_->register_handler(RequestCode::SEND_MESSAGE,
                              [this](const std::shared_ptr<Connection>& c, RemotingCommand req) {
                                on_send(c, std::move(req));
                              });
    server_->register_handler(RequestCode::HEART_BEAT,
                              [this](const std::shared_ptr<Connection>&, RemotingCommand req) {
                                if (auto* hb = req.ext<protocol::HeartbeatRequestT>()) {
                                  std::lock_guard lock(mu_);
                                  heartbeats_.push_back(*hb);
                                }
                                signal_.notify();
                              });
    server_->register_handler(RequestCode::UNREGISTER_CLIENT,
                              [this](const std::shared_ptr<Connection>&, RemotingCommand req) {
                                if (auto* u = req.ext<protocol::UnregisterClientRequestT>()) {
                                  std::lock_guard lock(mu_);
                                  unregistered_.push_back(u->producer_group);
                                }
                                signal_.notify();
                              });
    EXPECT_TRUE(server_->start().is_ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  ~FakeBroker() { server_->stop(); }

  const std::string& name() const { return name_; }
  const std::string& addr() const { return addr_; }
  void stop() { server_->stop(); }

  // Answers `code` from now on; a non-error code comes with where the message was stored
  // unless `stored` is false (a refusal before storing).
  void answer(ResponseCode code, std::string remark = {}, bool stored = true) {
    std::lock_guard lock(mu_);
    answer_ = code;
    remark_ = std::move(remark);
    stored_ = stored;
  }
  void hang() {
    std::lock_guard lock(mu_);
    hang_ = true;
  }

  std::vector<ReceivedSend> sends() const {
    std::lock_guard lock(mu_);
    return sends_;
  }
  size_t send_count() const {
    std::lock_guard lock(mu_);
    return sends_.size();
  }
  std::vector<protocol::HeartbeatRequestT> heartbeats() const {
    std::lock_guard lock(mu_);
    return heartbeats_;
  }
  std::vector<std::string> unregistered() const {
    std::lock_guard lock(mu_);
    return unregistered_;
  }
  size_t heartbeat_count() const {
    std::lock_guard lock(mu_);
    return heartbeats_.size();
  }
  bool wait_heartbeats(size_t n) {
    return signal_.wait([&] { return heartbeat_count() >= n; });
  }
  bool wait_unregistered(size_t n) {
    return signal_.wait([&] { return unregistered().size() >= n; });
  }

 private:
  void on_send(const std::shared_ptr<Connection>& conn, RemotingCommand req) {
    ReceivedSend got;
    got.oneway = req.is_oneway();
    if (auto* ext = req.ext<protocol::SendMessageRequestT>()) {
      got.group = ext->producer_group;
      got.topic = ext->topic;
      got.queue_id = ext->queue_id;
      got.batch = ext->batch;
    } else {
      got.records_valid = false;
    }
    const std::string body = req.body.to_string();
    const auto* p = reinterpret_cast<const uint8_t*>(body.data());
    size_t pos = 0;
    while (pos < body.size()) {
      auto d = record::decode(p + pos, body.size() - pos, /*verify_crc=*/true);
      if (d.outcome != record::Outcome::kRecord) {
        got.records_valid = false;
        break;
      }
      got.records.push_back({std::string(d.record.topic), std::string(d.record.body),
                             std::string(d.record.properties), d.record.queue_id, d.record.flags,
                             d.record.born_timestamp_ms, d.record.reconsume_times});
      pos += d.size;
    }
    if (got.records.empty()) got.records_valid = false;

    std::unique_lock lock(mu_);
    const ResponseCode code = answer_;
    auto resp = RemotingCommand::response_to(req, code, remark_);
    if (stored_ &&
        (code == ResponseCode::SUCCESS || code == ResponseCode::FLUSH_DISK_TIMEOUT ||
         code == ResponseCode::FLUSH_SLAVE_TIMEOUT || code == ResponseCode::SLAVE_NOT_AVAILABLE)) {
      protocol::SendMessageResponseT ext;
      uint64_t& next = next_offset_[got.queue_id];
      ext.msg_id = name_ + "-" + std::to_string(physical_);
      ext.queue_id = got.queue_id;
      ext.queue_offset = static_cast<int64_t>(next);
      ext.physical_offset = static_cast<int64_t>(physical_);
      ext.count = static_cast<int32_t>(got.records.size());
      next += got.records.size();
      physical_ += body.size();
      got.msg_id = ext.msg_id;
      resp.set_ext(std::move(ext));
    }
    const bool hang = hang_;
    sends_.push_back(std::move(got));
    lock.unlock();
    signal_.notify();
    if (!hang && !req.is_oneway()) conn->send(std::move(resp));
  }

  const std::string name_;
  Signal& signal_;
  std::unique_ptr<RemotingServer> server_;
  std::string addr_;
  mutable std::mutex mu_;
  ResponseCode answer_ = ResponseCode::SUCCESS;
  bool stored_ = true;
  std::string remark_;
  bool hang_ = false;
  std::map<int32_t, uint64_t> next_offset_;
  uint64_t physical_ = 0;
  std::vector<ReceivedSend> sends_;
  std::vector<protocol::HeartbeatRequestT> heartbeats_;
  std::vector<std::string> unregistered_;
};

class FakeNameServer {
 public:
  FakeNameServer() : server_(make_server()) {
    server_->register_handler(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        [this](const std::shared_ptr<Connection>& c, RemotingCommand req) {
          std::unique_lock lock(mu_);
          ++requests_;
          const auto* ext = req.ext<protocol::GetRouteInfoRequestT>();
          auto it = ext ? routes_.find(ext->topic) : routes_.end();
          RemotingCommand resp;
          if (it == routes_.end()) {
            resp = RemotingCommand::response_to(
                req, ResponseCode::TOPIC_NOT_EXIST,
                "No topic route info in name server for the topic: " + (ext ? ext->topic : ""));
          } else {
            resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
            resp.set_ext(protocol::TopicRouteDataT(it->second));
          }
          cv_.notify_all();
          lock.unlock();
          c->send(std::move(resp));
        });
    EXPECT_TRUE(server_->start().is_ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  ~FakeNameServer() { server_->stop(); }

  const std::string& addr() const { return addr_; }

  void set_route(const std::string& topic, const std::vector<const FakeBroker*>& brokers,
                 int queues = 4, int perm = kPermRead | kPermWrite) {
    protocol::TopicRouteDataT route;
    for (const FakeBroker* b : brokers) {
      auto q = std::make_unique<protocol::QueueDataT>();
      q->broker_name = b->name();
      q->read_queue_nums = queues;
      q->write_queue_nums = queues;
      q->perm = perm;
      route.queue_datas.push_back(std::move(q));
      auto bd = std::make_unique<protocol::BrokerDataT>();
      bd->cluster = "DefaultCluster";
      bd->broker_name = b->name();
      auto master = std::make_unique<protocol::BrokerAddrT>();
      master->broker_id = 0;
      master->addr = b->addr();
      bd->broker_addrs.push_back(std::move(master));
      route.broker_datas.push_back(std::move(bd));
    }
    std::lock_guard lock(mu_);
    routes_[topic] = std::move(route);
  }

  int requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  bool wait_requests(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return requests_ >= n; });
  }

 private:
  std::unique_ptr<RemotingServer> server_;
  std::string addr_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, protocol::TopicRouteDataT> routes_;
  int requests_ = 0;
};

ProducerMessage message(std::string body, std::string topic = kTopic) {
  ProducerMessage m;
  m.topic = std::move(topic);
  m.body = std::move(body);
  return m;
}

// Collects async results; every wait is bounded.
class Callbacks {
 public:
  Producer::SendCallback callback() {
    return [this](Result<SendResult> r) {
      std::lock_guard lock(mu_);
      if (std::this_thread::get_id() == caller_) ++on_caller_thread_;
      results_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  bool wait(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return results_.size() >= n; });
  }
  std::vector<Result<SendResult>> results() {
    std::lock_guard lock(mu_);
    return results_;
  }
  int on_caller_thread() {
    std::lock_guard lock(mu_);
    return on_caller_thread_;
  }

 private:
  const std::thread::id caller_ = std::this_thread::get_id();
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Result<SendResult>> results_;
  int on_caller_thread_ = 0;
};

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = std::make_unique<FakeBroker>("broker-a", signal_);
    b_ = std::make_unique<FakeBroker>("broker-b", signal_);
    ns_ = std::make_unique<FakeNameServer>();
    ns_->set_route(kTopic, {a_.get(), b_.get()});
    config_.namesrv_addr = ns_->addr();
  }

  std::unique_ptr<Producer> start_producer(const std::string& group = "PG") {
    auto p = std::make_unique<Producer>(group, config_);
    Status s = p->start();
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    return p;
  }

  size_t total_sends() const { return a_->send_count() + b_->send_count(); }

  Signal signal_;
  std::unique_ptr<FakeBroker> a_;
  std::unique_ptr<FakeBroker> b_;
  std::unique_ptr<FakeNameServer> ns_;
  ClientConfig config_;
};

// ---- pieces without sockets -------------------------------------------------------------------

TEST(LatencyFaultTolerance, MapsLatencyToNotAvailableDuration) {
  LatencyFaultTolerance ft;
  EXPECT_EQ(ft.not_available_duration(0ms), 0ms);
  EXPECT_EQ(ft.not_available_duration(100ms), 0ms);
  EXPECT_EQ(ft.not_available_duration(549ms), 0ms);
  EXPECT_EQ(ft.not_available_duration(550ms), 30000ms);
  EXPECT_EQ(ft.not_available_duration(1500ms), 60000ms);
  EXPECT_EQ(ft.not_available_duration(2000ms), 120000ms);
  EXPECT_EQ(ft.not_available_duration(3000ms), 180000ms);
  EXPECT_EQ(ft.not_available_duration(15000ms), 600000ms);
  EXPECT_EQ(ft.not_available_duration(LatencyFaultTolerance::kIsolationLatency), 600000ms);
}

TEST(LatencyFaultTolerance, IsolationExpiresAndSuccessClears) {
  LatencyFaultTolerance ft;
  const auto t0 = LatencyFaultTolerance::Clock::now();
  EXPECT_TRUE(ft.is_available("b", t0));
  ft.update("b", 5ms, /*isolation=*/true, t0);
  EXPECT_FALSE(ft.is_available("b", t0));
  EXPECT_FALSE(ft.is_available("b", t0 + 599s));
  EXPECT_TRUE(ft.is_available("b", t0 + 600s));
  EXPECT_TRUE(ft.is_available("other", t0));

  ft.update("b", 700ms, /*isolation=*/false, t0);
  EXPECT_FALSE(ft.is_available("b", t0 + 29s));
  EXPECT_TRUE(ft.is_available("b", t0 + 30s));
  ft.update("b", 10ms, /*isolation=*/false, t0);
  EXPECT_TRUE(ft.is_available("b", t0));
}

TEST(TopicRoute, WritableQueuesNeedWritePermAndAMaster) {
  protocol::TopicRouteDataT data;
  auto add = [&](const std::string& name, int queues, int perm, bool master) {
    auto q = std::make_unique<protocol::QueueDataT>();
    q->broker_name = name;
    q->read_queue_nums = queues;
    q->write_queue_nums = queues;
    q->perm = perm;
    data.queue_datas.push_back(std::move(q));
    auto b = std::make_unique<protocol::BrokerDataT>();
    b->broker_name = name;
    auto addr = std::make_unique<protocol::BrokerAddrT>();
    addr->broker_id = master ? 0 : 1;
    addr->addr = name + ":1";
    b->broker_addrs.push_back(std::move(addr));
    data.broker_datas.push_back(std::move(b));
  };
  add("c", 2, kPermRead | kPermWrite, true);
  add("a", 3, kPermRead | kPermWrite, true);
  add("ro", 2, kPermRead, true);
  add("slave-only", 2, kPermRead | kPermWrite, false);
  TopicRoute route = TopicRoute::from_protocol(data);
  auto w = route.writable_queues("T");
  ASSERT_EQ(w.size(), 5u);
  EXPECT_EQ(w[0], (MessageQueue{"T", "a", 0}));
  EXPECT_EQ(w[2], (MessageQueue{"T", "a", 2}));
  EXPECT_EQ(w[3], (MessageQueue{"T", "c", 0}));
  EXPECT_EQ(route.readable_queues("T").size(), 9u);
  EXPECT_EQ(route.master_addr("a"), "a:1");
  EXPECT_FALSE(route.master_addr("slave-only").has_value());
  EXPECT_EQ(TopicRoute::from_protocol(data), route);
}

TEST(MQClientConfig, SplitsNameServerList) {
  EXPECT_EQ(split_namesrv_addr("a:1;b:2"), (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(split_namesrv_addr(" a:1 ; ;b:2;"), (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_TRUE(split_namesrv_addr("").empty());
  EXPECT_NE(ClientConfig{}.client_id, ClientConfig{}.client_id);
}

// One mapping of response codes for every client and comet-admin, with RocketMQ's meaning of the
// pull outcomes: PULL_NOT_FOUND is "no new message yet" (the offset is the queue's end), and
// PULL_OFFSET_MOVED "the offset is outside the queue, correct it".
TEST(ResponseStatus, CodesMapToWhatTheCallerCanDo) {
  EXPECT_EQ(status_code_of(ResponseCode::SUCCESS), Code::kOk);
  EXPECT_EQ(status_code_of(ResponseCode::PULL_NOT_FOUND), Code::kNotFound);
  EXPECT_EQ(status_code_of(ResponseCode::PULL_OFFSET_MOVED), Code::kOutOfRange);
  EXPECT_EQ(status_code_of(ResponseCode::TOPIC_NOT_EXIST), Code::kNotFound);
  EXPECT_EQ(status_code_of(ResponseCode::QUERY_NOT_FOUND), Code::kNotFound);
  EXPECT_EQ(status_code_of(ResponseCode::SYSTEM_BUSY), Code::kUnavailable);
  EXPECT_EQ(status_code_of(ResponseCode::SLAVE_NOT_AVAILABLE), Code::kUnavailable);
  EXPECT_EQ(status_code_of(ResponseCode::FLUSH_DISK_TIMEOUT), Code::kTimeout);
  EXPECT_EQ(status_code_of(ResponseCode::MESSAGE_TOO_LARGE), Code::kMessageTooLarge);
  EXPECT_EQ(status_code_of(ResponseCode::BAD_REQUEST), Code::kInvalidArgument);
  EXPECT_EQ(status_code_of(ResponseCode::SYSTEM_ERROR), Code::kIOError);
  EXPECT_EQ(status_code_of(ResponseCode::NO_PERMISSION), Code::kPermissionDenied);
  EXPECT_EQ(status_code_of(ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST), Code::kNotFound);
  EXPECT_EQ(status_code_of(ResponseCode::CONSUMER_NOT_ONLINE), Code::kNotFound);

  const auto pull = RemotingCommand::request(RequestCode::PULL_MESSAGE);
  auto moved =
      RemotingCommand::response_to(pull, ResponseCode::PULL_OFFSET_MOVED, "offset 9 > max 3");
  Status s = response_status(moved, "pull of T");
  EXPECT_EQ(s.code(), Code::kOutOfRange);
  EXPECT_EQ(s.message(), "pull of T: PULL_OFFSET_MOVED (" +
                             std::to_string(static_cast<int>(ResponseCode::PULL_OFFSET_MOVED)) +
                             "): offset 9 > max 3");
  EXPECT_TRUE(
      response_status(RemotingCommand::response_to(pull, ResponseCode::SUCCESS), "x").is_ok());
}

// ---- lifecycle --------------------------------------------------------------------------------

TEST_F(ProducerTest, SendBeforeStartAndAfterShutdownFails) {
  Producer p("PG", config_);
  EXPECT_EQ(p.send(message("x")).status().code(), Code::kUnavailable);
  ASSERT_TRUE(p.start().is_ok());
  EXPECT_FALSE(p.start().is_ok());
  EXPECT_TRUE(p.send(message("x")).is_ok());
  p.shutdown();
  auto r = p.send(message("x"));
  EXPECT_EQ(r.status().code(), Code::kShutdown);
}

TEST_F(ProducerTest, StartNeedsANameServerAndALegalGroup) {
  unsetenv("NAMESRV_ADDR");
  Producer no_ns("PG", ClientConfig{});
  EXPECT_EQ(no_ns.start().code(), Code::kInvalidArgument);
  Producer bad_group("bad group!", config_);
  EXPECT_EQ(bad_group.start().code(), Code::kInvalidArgument);
}

TEST_F(ProducerTest, ProducersOfOneConfigShareTheClientAndItsHeartbeats) {
  config_.heartbeat_interval = 50ms;
  auto p1 = start_producer("PG1");
  auto p2 = start_producer("PG2");
  EXPECT_EQ(p1->client(), p2->client());
  Producer dup("PG1", config_);
  EXPECT_EQ(dup.start().code(), Code::kAlreadyExists);
  ASSERT_TRUE(p1->send(message("x")).is_ok());
  ASSERT_TRUE(signal_.wait([&] {
    for (const auto& hb : a_->heartbeats()) {
      std::set<std::string> groups(hb.producer_groups.begin(), hb.producer_groups.end());
      if (groups.count("PG1") && groups.count("PG2")) return true;
    }
    return false;
  }));
  p1->shutdown();
  EXPECT_TRUE(p2->send(message("still running")).is_ok());
  ASSERT_TRUE(a_->wait_unregistered(1));
  EXPECT_EQ(a_->unregistered().front(), "PG1");
}

// ---- routes -----------------------------------------------------------------------------------

TEST_F(ProducerTest, RouteIsLookedUpOnceAndCached) {
  auto p = start_producer();
  for (int i = 0; i < 10; ++i) {
    auto r = p->send(message("m" + std::to_string(i)));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }
  EXPECT_EQ(ns_->requests(), 1);
  auto route = p->client()->cached_route(kTopic);
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->broker_datas.size(), 2u);
  EXPECT_EQ(p->client()->find_broker_addr("broker-a"), a_->addr());
  EXPECT_EQ(p->client()->find_broker_addr("broker-b"), b_->addr());
  auto queues = p->fetch_publish_queues(kTopic);
  ASSERT_TRUE(queues.is_ok());
  EXPECT_EQ(queues->size(), 8u);
}

TEST_F(ProducerTest, RoutesAreRefreshedOnTheIntervalAndChangesApply) {
  config_.poll_name_server_interval = 50ms;
  auto p = start_producer();
  ASSERT_TRUE(p->send(message("x")).is_ok());
  ASSERT_TRUE(ns_->wait_requests(3));

  ns_->set_route(kTopic, {b_.get()});
  const int seen = ns_->requests();
  ASSERT_TRUE(ns_->wait_requests(seen + 2));
  const size_t a_before = a_->send_count();
  for (int i = 0; i < 8; ++i)
    ASSERT_TRUE(p->send(message("after")).is_ok());
  EXPECT_EQ(a_->send_count(), a_before);
  auto queues = p->fetch_publish_queues(kTopic);
  ASSERT_TRUE(queues.is_ok());
  EXPECT_EQ(queues->size(), 4u);
}

TEST_F(ProducerTest, DeadFirstNameServerIsSkipped) {
  config_.namesrv_addr = dead_address() + ";" + ns_->addr();
  auto p = start_producer();
  auto r = p->send(message("x"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(ns_->requests(), 1);
}

TEST_F(ProducerTest, NoNameServerAnsweringIsAnError) {
  config_.namesrv_addr = dead_address() + ";" + dead_address();
  auto p = start_producer();
  auto r = p->send(message("x"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("no name server answered"), std::string::npos)
      << r.status().message();
}

TEST_F(ProducerTest, TopicNotExistOnTheNameServerSurfaces) {
  auto p = start_producer();
  auto r = p->send(message("x", "NoSuchTopic"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("TOPIC_NOT_EXIST"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(total_sends(), 0u);
}

TEST_F(ProducerTest, TopicNotExistOnABrokerRefreshesTheRouteOnceAndIsNotRetried) {
  a_->answer(ResponseCode::TOPIC_NOT_EXIST, "topic[TopicTest] not exist");
  b_->answer(ResponseCode::TOPIC_NOT_EXIST, "topic[TopicTest] not exist");
  auto p = start_producer();
  auto r = p->send(message("x"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("TOPIC_NOT_EXIST"), std::string::npos);
  EXPECT_NE(r.status().message().find("not exist"), std::string::npos);
  EXPECT_EQ(total_sends(), 1u);
  EXPECT_GE(ns_->requests(), 2);
}

// ---- sending ----------------------------------------------------------------------------------

TEST_F(ProducerTest, RoundRobinAcrossTwoBrokersAndFourQueues) {
  auto p = start_producer();
  std::map<std::pair<std::string, uint32_t>, int> per_queue;
  for (int i = 0; i < 16; ++i) {
    auto r = p->send(message("m" + std::to_string(i)));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ++per_queue[{r->broker_name, r->queue_id}];
  }
  ASSERT_EQ(per_queue.size(), 8u);
  for (const auto& [queue, n] : per_queue)
    EXPECT_EQ(n, 2) << queue.first << "#" << queue.second;
  EXPECT_EQ(a_->send_count(), 8u);
  EXPECT_EQ(b_->send_count(), 8u);
}

TEST_F(ProducerTest, BrokerDecodesIntactRecordsWithValidCrc) {
  auto p = start_producer("OrderGroup");
  ProducerMessage m = message(std::string("bin\0ary\xff body", 13));
  m.tags = "TagA";
  m.keys = "k1 k2";
  m.properties = {{"color", "red"}, {"TAGS", "ignored"}};
  m.flags = 7;
  const auto before = std::chrono::system_clock::now();
  auto r = p->send(m);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->status, SendStatus::kSendOk);

  FakeBroker& broker = r->broker_name == "broker-a" ? *a_ : *b_;
  auto sends = broker.sends();
  ASSERT_EQ(sends.size(), 1u);
  const ReceivedSend& s = sends[0];
  EXPECT_TRUE(s.records_valid);
  EXPECT_FALSE(s.batch);
  EXPECT_FALSE(s.oneway);
  EXPECT_EQ(s.group, "OrderGroup");
  EXPECT_EQ(s.topic, kTopic);
  EXPECT_EQ(static_cast<uint32_t>(s.queue_id), r->queue_id);
  ASSERT_EQ(s.records.size(), 1u);
  const ReceivedRecord& rec = s.records[0];
  EXPECT_EQ(rec.topic, kTopic);
  EXPECT_EQ(rec.body, m.body);
  EXPECT_EQ(rec.queue_id, r->queue_id);
  EXPECT_EQ(rec.flags, 7u);
  EXPECT_EQ(find_property(rec.properties, kPropertyTags), "TagA");
  EXPECT_EQ(find_property(rec.properties, kPropertyKeys), "k1 k2");
  EXPECT_EQ(find_property(rec.properties, "color"), "red");
  const int64_t before_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
  EXPECT_GE(rec.born_timestamp_ms, before_ms - 1000);
  EXPECT_LE(rec.born_timestamp_ms, before_ms + 60000);
  // msg_id is the UNIQ_KEY the producer gave the message; offset_msg_id is the broker's id.
  EXPECT_EQ(r->msg_id, find_property(rec.properties, kPropertyUniqKey));
  EXPECT_EQ(r->msg_id.size(), 32u);
  EXPECT_EQ(r->offset_msg_id, s.msg_id);
  EXPECT_EQ(r->queue_offset, 0u);
  EXPECT_EQ(r->count, 1u);
}

// A message that carries a UNIQ_KEY keeps it (a retried or resent one); every send path gives
// one to a message without: each message of a batch its own (joined with ',' in msg_id), ordered,
// to a chosen queue, async and oneway.
TEST_F(ProducerTest, EverySendPathGivesAUniqueKeyAndKeepsAGivenOne) {
  auto p = start_producer();
  ProducerMessage given = message("given");
  given.properties[std::string(kPropertyUniqKey)] = "0A0B0C0D0E0F00112233445566778899";
  auto kept = p->send(given);
  ASSERT_TRUE(kept.is_ok()) << kept.status().to_string();
  EXPECT_EQ(kept->msg_id, "0A0B0C0D0E0F00112233445566778899");

  std::vector<ProducerMessage> batch = {message("b0"), message("b1"), message("b2")};
  auto b = p->send(batch);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  ASSERT_EQ(b->msg_id.size(), 3 * 32u + 2);
  EXPECT_EQ(b->msg_id[32], ',');
  EXPECT_EQ(b->msg_id[65], ',');
  auto ordered = p->send_ordered(message("o"), "key");
  ASSERT_TRUE(ordered.is_ok());
  auto queues = p->fetch_publish_queues(kTopic);
  ASSERT_TRUE(queues.is_ok() && !queues->empty());
  auto chosen = p->send(message("q"), queues->front());
  ASSERT_TRUE(chosen.is_ok());
  Callbacks cbs;
  p->send_async(message("async"), cbs.callback());
  ASSERT_TRUE(cbs.wait(1));
  ASSERT_TRUE(cbs.results()[0].is_ok());
  ASSERT_TRUE(p->send_oneway(message("oneway")).is_ok());
  ASSERT_TRUE(signal_.wait([&] { return total_sends() >= 6; }));

  const std::map<std::string, std::string> expected = {
      {"given", "0A0B0C0D0E0F00112233445566778899"},
      {"b1", b->msg_id.substr(33, 32)},
      {"o", ordered->msg_id},
      {"q", chosen->msg_id},
      {"async", cbs.results()[0]->msg_id}};
  std::set<std::string> ids;
  for (FakeBroker* broker : {a_.get(), b_.get()}) {
    for (const auto& s : broker->sends()) {
      for (const auto& rec : s.records) {
        const std::string id(find_property(rec.properties, kPropertyUniqKey));
        EXPECT_EQ(id.size(), 32u) << rec.body;
        EXPECT_TRUE(ids.insert(id).second) << "duplicate " << id;
        const auto want = expected.find(rec.body);
        if (want != expected.end()) {
          EXPECT_EQ(id, want->second) << rec.body;
        }
      }
    }
  }
  EXPECT_EQ(ids.size(), 8u);
}

TEST_F(ProducerTest, IllegalMessagesAreRejectedClientSide) {
  auto p = start_producer();
  EXPECT_EQ(p->send(message("x", "bad topic!")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(p->send(message("")).status().code(), Code::kInvalidArgument);
  ProducerMessage sep = message("x");
  sep.properties["k"] = std::string("a\x01") + "b";
  EXPECT_EQ(p->send(sep).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(total_sends(), 0u);
}

TEST_F(ProducerTest, ADelayLevelTravelsAsTheDelayPropertyAndBadOnesStayHere) {
  auto p = start_producer();
  ProducerMessage m = message("later");
  m.delay_level = 3;
  m.properties = {{"DELAY", "7"}};  // the field wins over a hand-set property
  auto r = p->send(m);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  FakeBroker& broker = r->broker_name == "broker-a" ? *a_ : *b_;
  auto sends = broker.sends();
  ASSERT_EQ(sends.size(), 1u);
  ASSERT_EQ(sends[0].records.size(), 1u);
  EXPECT_EQ(find_property(sends[0].records[0].properties, kPropertyDelayLevel), "3");

  ProducerMessage negative = message("x");
  negative.delay_level = -1;
  auto refused = p->send(negative);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("negative"), std::string::npos);
  std::vector<ProducerMessage> batch = {message("a"), message("b")};
  batch[1].delay_level = 2;
  auto batch_refused = p->send(batch);
  EXPECT_EQ(batch_refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(batch_refused.status().message().find("batch"), std::string::npos);
  EXPECT_EQ(total_sends(), 1u);
}

// A consumer sending a failed message to its group's retry topic itself (RocketMQ's
// sendMessageBack fallback): the record carries RECONSUME_TIME as its reconsume times, and
// before the retry topic has a route only queue 0 is used (a broker creates it with one queue).
TEST_F(ProducerTest, ARetryTopicSendCarriesItsReconsumeTimesAndUsesQueueZeroWithoutARoute) {
  ns_->set_route("TBW102", {a_.get(), b_.get()});
  auto p = start_producer();
  std::set<uint32_t> retry_queues, plain_queues;
  for (int i = 0; i < 8; ++i) {
    ProducerMessage m = message("again", "%RETRY%SomeGroup");
    m.properties = {{"RECONSUME_TIME", "5"}, {"RETRY_TOPIC", kTopic}};
    auto r = p->send(m);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    retry_queues.insert(r->queue_id);
    ProducerMessage plain = message("new", "FreshTopic");
    plain.properties = {{"RECONSUME_TIME", "5"}};
    auto q = p->send(plain);
    ASSERT_TRUE(q.is_ok()) << q.status().to_string();
    plain_queues.insert(q->queue_id);
  }
  EXPECT_EQ(retry_queues, std::set<uint32_t>{0});
  EXPECT_EQ(plain_queues.size(), 4u);  // the auto-create topic's 4 queues
  size_t retries = 0;
  for (const FakeBroker* b : {a_.get(), b_.get()}) {
    for (const auto& send : b->sends()) {
      ASSERT_EQ(send.records.size(), 1u);
      const auto& rec = send.records[0];
      // Only a retry topic's record takes RECONSUME_TIME as its reconsume times.
      EXPECT_EQ(rec.reconsume_times, rec.topic == "%RETRY%SomeGroup" ? 5u : 0u) << rec.topic;
      if (rec.topic == "%RETRY%SomeGroup") ++retries;
    }
  }
  EXPECT_EQ(retries, 8u);
}

TEST_F(ProducerTest, ATimerTravelsAsItsTimerPropertyAndBadOnesStayHere) {
  auto p = start_producer();
  ProducerMessage m = message("at");
  m.deliver_time_ms = 1'900'000'000'000;
  m.properties = {{"TIMER_DELIVER_MS", "5"}};  // the field wins over a hand-set property
  auto r = p->send(m);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ProducerMessage in = message("in");
  in.delay_time_sec = 30;
  ASSERT_TRUE(p->send(in).is_ok());
  ProducerMessage in_ms = message("in-ms");
  in_ms.delay_time_ms = 1500;
  ASSERT_TRUE(p->send(in_ms).is_ok());
  std::map<std::string, std::string> props_of;  // body -> properties, whichever broker
  for (FakeBroker* broker : {a_.get(), b_.get()}) {
    for (const auto& send : broker->sends()) {
      for (const auto& rec : send.records)
        props_of[rec.body] = rec.properties;
    }
  }
  EXPECT_EQ(find_property(props_of["at"], kPropertyTimerDeliverMs), "1900000000000");
  EXPECT_EQ(find_property(props_of["in"], kPropertyTimerDelaySec), "30");
  EXPECT_EQ(find_property(props_of["in-ms"], kPropertyTimerDelayMs), "1500");

  auto refused = [&](ProducerMessage bad, const std::string& why) {
    auto result = p->send(bad);
    EXPECT_EQ(result.status().code(), Code::kInvalidArgument) << why;
    EXPECT_NE(result.status().message().find(why), std::string::npos) << result.status().message();
  };
  ProducerMessage negative = message("x");
  negative.delay_time_sec = -1;
  refused(negative, "negative");
  ProducerMessage both = message("x");
  both.delay_time_sec = 1;
  both.deliver_time_ms = 1;
  refused(both, "one of");
  ProducerMessage with_level = message("x");
  with_level.delay_time_ms = 10;
  with_level.delay_level = 2;
  refused(with_level, "not both");
  std::vector<ProducerMessage> batch = {message("a"), message("b")};
  batch[0].deliver_time_ms = 1;
  auto batch_refused = p->send(batch);
  EXPECT_EQ(batch_refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(batch_refused.status().message().find("batch"), std::string::npos);
  EXPECT_EQ(total_sends(), 3u);
}

TEST_F(ProducerTest, MaxMessageSizeIsCheckedClientSide) {
  auto p = start_producer();
  p->set_max_message_size(1024);
  auto r = p->send(message(std::string(2000, 'x')));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kMessageTooLarge);
  EXPECT_NE(r.status().message().find("max_message_size"), std::string::npos);
  EXPECT_TRUE(p->send(message(std::string(1024, 'x'))).is_ok());
  EXPECT_EQ(total_sends(), 1u);
}

TEST_F(ProducerTest, BatchIsOneRequestWithSeveralRecordsOnOneQueue) {
  auto p = start_producer();
  std::vector<ProducerMessage> batch;
  for (int i = 0; i < 5; ++i) {
    batch.push_back(message("batch-" + std::to_string(i)));
    batch.back().keys = "key" + std::to_string(i);
  }
  auto r = p->send(batch);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->count, 5u);
  ASSERT_EQ(total_sends(), 1u);
  const ReceivedSend s = (a_->send_count() == 1 ? a_->sends() : b_->sends()).front();
  EXPECT_TRUE(s.batch);
  EXPECT_TRUE(s.records_valid);
  ASSERT_EQ(s.records.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(s.records[i].body, "batch-" + std::to_string(i));
    EXPECT_EQ(s.records[i].topic, kTopic);
    EXPECT_EQ(s.records[i].queue_id, static_cast<uint32_t>(s.queue_id));
    EXPECT_EQ(find_property(s.records[i].properties, kPropertyKeys), "key" + std::to_string(i));
  }

  std::vector<ProducerMessage> mixed = {message("a"), message("b", "OtherTopic")};
  EXPECT_EQ(p->send(mixed).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(p->send(std::vector<ProducerMessage>{}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(total_sends(), 1u);
}

TEST_F(ProducerTest, AsyncCallbacksAllArriveOffTheCallerThread) {
  auto p = start_producer();
  constexpr size_t kSends = 200;
  Callbacks cbs;
  for (size_t i = 0; i < kSends; ++i)
    p->send_async(message("async-" + std::to_string(i)), cbs.callback());
  ASSERT_TRUE(cbs.wait(kSends));
  for (const auto& r : cbs.results())
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(cbs.on_caller_thread(), 0);
  EXPECT_EQ(total_sends(), kSends);

  Callbacks errors;
  p->send_async(message("x", "NoSuchTopic"), errors.callback());
  ASSERT_TRUE(errors.wait(1));
  EXPECT_EQ(errors.results()[0].status().code(), Code::kNotFound);
}

TEST_F(ProducerTest, OnewayArrives) {
  auto p = start_producer();
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(p->send_oneway(message("oneway-" + std::to_string(i))).is_ok());
  ASSERT_TRUE(signal_.wait([&] { return total_sends() >= 10; }));
  for (FakeBroker* broker : {a_.get(), b_.get()}) {
    for (const auto& s : broker->sends()) {
      EXPECT_TRUE(s.oneway);
      EXPECT_TRUE(s.records_valid);
    }
  }
}

TEST_F(ProducerTest, OrderedSendMapsAKeyToOneQueueAndSpreadsKeys) {
  auto p = start_producer();
  std::map<std::string, std::set<std::pair<std::string, uint32_t>>> queues_of_key;
  std::set<std::pair<std::string, uint32_t>> used;
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < 32; ++k) {
      const std::string key = "order-" + std::to_string(k);
      auto r = p->send_ordered(message(key + "/" + std::to_string(round)), key);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      queues_of_key[key].insert({r->broker_name, r->queue_id});
      used.insert({r->broker_name, r->queue_id});
    }
  }
  for (const auto& [key, queues] : queues_of_key)
    EXPECT_EQ(queues.size(), 1u) << key;
  EXPECT_GE(used.size(), 5u);

  // The same key maps to the same queue in another producer (another client) too.
  ClientConfig other = config_;
  other.client_id = default_client_id();
  Producer p2("PG2", other);
  ASSERT_TRUE(p2.start().is_ok());
  for (int k = 0; k < 32; ++k) {
    const std::string key = "order-" + std::to_string(k);
    auto r = p2.send_ordered(message("again"), key);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(queues_of_key[key].count({r->broker_name, r->queue_id}), 1u) << key;
  }
}

TEST_F(ProducerTest, SendToAChosenQueueGoesToThatQueueOnly) {
  auto p = start_producer();
  auto queues = p->fetch_publish_queues(kTopic);
  ASSERT_TRUE(queues.is_ok()) << queues.status().to_string();
  for (const MessageQueue& mq : *queues) {
    auto r = p->send(message("to " + mq.to_string()), mq);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->broker_name, mq.broker_name);
    EXPECT_EQ(r->queue_id, mq.queue_id);
  }
  EXPECT_EQ(total_sends(), queues->size());

  auto other_topic = p->send(message("x", "Other"), queues->front());
  EXPECT_EQ(other_topic.status().code(), Code::kInvalidArgument);
  auto no_broker = p->send(message("x"), MessageQueue{kTopic, "broker-z", 0});
  EXPECT_EQ(no_broker.status().code(), Code::kUnavailable) << no_broker.status().to_string();
  EXPECT_EQ(total_sends(), queues->size());
}

// A request of the caller's own (comet-admin's) goes to the name servers in turn until one
// answers; when none does, the last failure names its name server.
TEST_F(ProducerTest, InvokeNamesrvSkipsADeadNameServer) {
  config_.namesrv_addr = dead_address() + ";" + ns_->addr();
  MQClient client(config_);
  auto request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
  protocol::GetRouteInfoRequestT ext;
  ext.topic = kTopic;
  request.set_ext(std::move(ext));
  auto answered = client.invoke_namesrv(request, 2s);
  ASSERT_TRUE(answered.is_ok()) << answered.status().to_string();
  EXPECT_EQ(answered->response_code(), ResponseCode::SUCCESS);
  EXPECT_NE(answered->ext<protocol::TopicRouteDataT>(), nullptr);
  EXPECT_EQ(ns_->requests(), 1);

  const std::string dead = dead_address();
  config_.namesrv_addr = dead;
  MQClient nobody(config_);
  auto failed = nobody.invoke_namesrv(request, 2s);
  ASSERT_FALSE(failed.is_ok());
  EXPECT_EQ(failed.status().message().rfind("name server " + dead + ": ", 0), 0u)
      << failed.status().message();
}

// ---- failures and retries ---------------------------------------------------------------------

TEST_F(ProducerTest, BusyBrokerIsRetriedElsewhereAndThenAvoided) {
  a_->answer(ResponseCode::SYSTEM_BUSY, "[PC_SYNCHRONIZED]broker busy");
  auto p = start_producer();
  for (int i = 0; i < 12; ++i) {
    auto r = p->send(message("m" + std::to_string(i)));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->broker_name, "broker-b");
  }
  EXPECT_EQ(a_->send_count(), 1u);
  EXPECT_EQ(b_->send_count(), 12u);
  EXPECT_FALSE(p->broker_available("broker-a"));
  EXPECT_TRUE(p->broker_available("broker-b"));
}

TEST_F(ProducerTest, StoppedBrokerIsRetriedElsewhereAndThenAvoided) {
  a_->stop();
  auto p = start_producer();
  for (int i = 0; i < 12; ++i) {
    auto r = p->send(message("m" + std::to_string(i)));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->broker_name, "broker-b");
  }
  EXPECT_EQ(b_->send_count(), 12u);
  EXPECT_FALSE(p->broker_available("broker-a"));
}

TEST_F(ProducerTest, WithoutFaultToleranceOnlyTheRetryAvoidsTheFailedBroker) {
  a_->answer(ResponseCode::SYSTEM_BUSY);
  auto p = std::make_unique<Producer>("PG", config_);
  p->set_send_latency_fault_enable(false);
  ASSERT_TRUE(p->start().is_ok());
  for (int i = 0; i < 8; ++i)
    ASSERT_TRUE(p->send(message("m")).is_ok());
  EXPECT_EQ(b_->send_count(), 8u);
  EXPECT_GE(a_->send_count(), 2u);
  EXPECT_TRUE(p->broker_available("broker-a"));
}

TEST_F(ProducerTest, RetriesAreBoundedAndTheLastErrorIsReported) {
  a_->answer(ResponseCode::SYSTEM_BUSY, "too busy");
  b_->answer(ResponseCode::SYSTEM_ERROR, "disk on fire");
  auto p = start_producer();
  auto r = p->send(message("x"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(total_sends(), 3u);
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("3 attempt"), std::string::npos) << msg;
  EXPECT_TRUE(msg.find("SYSTEM_BUSY") != std::string::npos ||
              msg.find("SYSTEM_ERROR") != std::string::npos)
      << msg;

  p->set_retry_times_when_send_failed(0);
  EXPECT_FALSE(p->send(message("x")).is_ok());
  EXPECT_EQ(total_sends(), 4u);
}

TEST_F(ProducerTest, MessageTooLargeFromTheBrokerIsNotRetried) {
  a_->answer(ResponseCode::MESSAGE_TOO_LARGE, "body exceeds 1024");
  b_->answer(ResponseCode::MESSAGE_TOO_LARGE, "body exceeds 1024");
  auto p = start_producer();
  auto r = p->send(message("x"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kMessageTooLarge);
  EXPECT_NE(r.status().message().find("MESSAGE_TOO_LARGE"), std::string::npos);
  EXPECT_NE(r.status().message().find("body exceeds 1024"), std::string::npos);
  EXPECT_EQ(total_sends(), 1u);
}

TEST_F(ProducerTest, StoredButNotReplicatedIsAResultNotARetry) {
  a_->answer(ResponseCode::FLUSH_SLAVE_TIMEOUT);
  b_->answer(ResponseCode::FLUSH_SLAVE_TIMEOUT);
  auto p = start_producer();
  auto r = p->send(message("x"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->status, SendStatus::kFlushSlaveTimeout);
  EXPECT_FALSE(r->msg_id.empty());
  EXPECT_EQ(total_sends(), 1u);
}

TEST_F(ProducerTest, SlaveNotAvailableBeforeStoringIsRetriedElsewhere) {
  // A SYNC_MASTER with no slave in sync refuses before storing: no SendMessageResponse.
  a_->answer(ResponseCode::SLAVE_NOT_AVAILABLE, "no slave in sync", /*stored=*/false);
  auto p = start_producer();
  for (int i = 0; i < 4; ++i) {
    auto r = p->send(message("m" + std::to_string(i)));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->broker_name, "broker-b");
    EXPECT_EQ(r->status, SendStatus::kSendOk);
  }
  b_->answer(ResponseCode::SLAVE_NOT_AVAILABLE, "no slave in sync", /*stored=*/false);
  auto r = p->send(message("x"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().to_string();
  EXPECT_NE(r.status().message().find("no slave in sync"), std::string::npos);
}

TEST_F(ProducerTest, SendWaitsForTheRouteToShowAWritableQueue) {
  // A failover under way: the topic's broker has no writable queue (as when its master is gone).
  ns_->set_route(kTopic, {a_.get()}, 4, kPermRead);
  auto p = start_producer();  // routes polled every 30 s: only the waiting send asks again
  p->set_send_msg_timeout(20s);
  const int before = ns_->requests();
  auto sent = std::async(std::launch::async, [&] { return p->send(message("waits")); });
  // The send asks the name server again while it waits; then the route shows a master.
  ASSERT_TRUE(ns_->wait_requests(before + 3));
  ns_->set_route(kTopic, {b_.get()});
  auto r = sent.get();
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->broker_name, "broker-b");
  EXPECT_EQ(a_->send_count(), 0u);
}

TEST_F(ProducerTest, ARetryWaitsForTheRouteToNameAnotherMaster) {
  // The only broker of the topic refuses (its master is gone, or no longer leads): the retry
  // is not spent on it again at once but waits for the route to name another.
  a_->answer(ResponseCode::SERVICE_NOT_AVAILABLE, "not the leader");
  ns_->set_route(kTopic, {a_.get()});
  auto p = start_producer();
  p->set_send_msg_timeout(20s);
  const int before = ns_->requests();
  auto sent = std::async(std::launch::async, [&] { return p->send(message("moves")); });
  ASSERT_TRUE(ns_->wait_requests(before + 3));
  ns_->set_route(kTopic, {b_.get()});
  auto r = sent.get();
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->broker_name, "broker-b");
  EXPECT_EQ(a_->send_count(), 1u);
}

TEST_F(ProducerTest, AnAsyncRetryWaitsForTheRouteToNameAnotherMaster) {
  // As the sync form, without holding a thread: many sends wait at once for the route.
  a_->answer(ResponseCode::SERVICE_NOT_AVAILABLE, "not the leader");
  ns_->set_route(kTopic, {a_.get()});
  auto p = start_producer();
  p->set_send_msg_timeout(20s);
  constexpr size_t kSends = 20;
  Callbacks cbs;
  const int before = ns_->requests();
  for (size_t i = 0; i < kSends; ++i)
    p->send_async(message("moves"), cbs.callback());
  ASSERT_TRUE(ns_->wait_requests(before + 3));  // rechecks of the route while they wait
  EXPECT_EQ(cbs.results().size(), 0u);
  ns_->set_route(kTopic, {b_.get()});
  ASSERT_TRUE(cbs.wait(kSends));
  for (const auto& r : cbs.results()) {
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->broker_name, "broker-b");
  }
  EXPECT_EQ(a_->send_count(), kSends);  // one attempt each, then the wait
  EXPECT_EQ(b_->send_count(), kSends);
}

TEST_F(ProducerTest, AsyncSendWithoutAWritableQueueGivesUpAtSendMsgTimeout) {
  ns_->set_route(kTopic, {a_.get()}, 4, kPermRead);
  auto p = start_producer();
  p->set_send_msg_timeout(300ms);
  Callbacks cbs;
  const auto begin = std::chrono::steady_clock::now();
  p->send_async(message("gives up"), cbs.callback());
  ASSERT_TRUE(cbs.wait(1));
  const auto took = std::chrono::steady_clock::now() - begin;
  auto results = cbs.results();
  ASSERT_FALSE(results[0].is_ok());
  EXPECT_EQ(results[0].status().code(), Code::kUnavailable) << results[0].status().to_string();
  EXPECT_GE(took, 250ms);  // it waited for the route to change
  EXPECT_LT(took, 10s);
  EXPECT_EQ(total_sends(), 0u);
}

TEST_F(ProducerTest, ShutdownEndsAsyncSendsWaitingForARoute) {
  ns_->set_route(kTopic, {a_.get()}, 4, kPermRead);
  auto p = start_producer();
  p->set_send_msg_timeout(60s);
  Callbacks cbs;
  for (int i = 0; i < 3; ++i)
    p->send_async(message("x"), cbs.callback());
  const auto begin = std::chrono::steady_clock::now();
  p->shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 10s);
  auto results = cbs.results();
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results)
    EXPECT_FALSE(r.is_ok());
}

TEST_F(ProducerTest, SendWithoutAWritableQueueGivesUpAtSendMsgTimeout) {
  ns_->set_route(kTopic, {a_.get()}, 4, kPermRead);
  auto p = start_producer();
  p->set_send_msg_timeout(300ms);
  const auto begin = std::chrono::steady_clock::now();
  auto refused = p->send(message("gives up"));
  const auto took = std::chrono::steady_clock::now() - begin;
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable) << refused.status().to_string();
  EXPECT_GE(took, 250ms);  // it waited for the route to change
  EXPECT_LT(took, 10s);
  EXPECT_EQ(total_sends(), 0u);
}

// Every send on a route without a writable queue waits for the route to change, not only the
// first: the second once found the route's (empty) queue list cached and failed at once, so a
// producer fed thousands of instant failures until its next periodic route refresh, 30 s later
// (found by comet-bench chaos: a master paused past its expiry).
TEST_F(ProducerTest, EverySendOnAMasterlessRouteWaitsForItToChange) {
  ns_->set_route(kTopic, {a_.get()}, 4, kPermRead);
  auto p = start_producer();
  p->set_send_msg_timeout(300ms);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const auto begin = std::chrono::steady_clock::now();
    auto sync = p->send(message("sync"));
    EXPECT_FALSE(sync.is_ok());
    EXPECT_GE(std::chrono::steady_clock::now() - begin, 250ms) << sync.status().to_string();
    Callbacks cbs;
    const auto async_begin = std::chrono::steady_clock::now();
    p->send_async(message("async"), cbs.callback());
    ASSERT_TRUE(cbs.wait(1));
    EXPECT_FALSE(cbs.results()[0].is_ok());
    EXPECT_GE(std::chrono::steady_clock::now() - async_begin, 250ms)
        << cbs.results()[0].status().to_string();
  }
  // Once the route names a writable master again, sends go through.
  ns_->set_route(kTopic, {a_.get()}, 4);
  p->set_send_msg_timeout(5s);
  auto ok = p->send(message("after"));
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(total_sends(), 1u);
}

TEST_F(ProducerTest, HangingBrokersTimeOutWithinSendMsgTimeout) {
  a_->hang();
  b_->hang();
  auto p = start_producer();
  p->set_send_msg_timeout(300ms);
  const auto begin = std::chrono::steady_clock::now();
  auto r = p->send(message("x"));
  const auto took = std::chrono::steady_clock::now() - begin;
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kTimeout);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);
}

TEST_F(ProducerTest, AsyncRetriesOnAnotherBroker) {
  a_->answer(ResponseCode::SERVICE_NOT_AVAILABLE, "slave");
  auto p = start_producer();
  constexpr size_t kSends = 50;
  Callbacks cbs;
  for (size_t i = 0; i < kSends; ++i)
    p->send_async(message("async"), cbs.callback());
  ASSERT_TRUE(cbs.wait(kSends));
  for (const auto& r : cbs.results()) {
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->broker_name, "broker-b");
  }
  EXPECT_EQ(b_->send_count(), kSends);
  EXPECT_GE(a_->send_count(), 1u);
}

TEST_F(ProducerTest, ShutdownWaitsForAsyncCallbacks) {
  a_->hang();
  b_->hang();
  auto p = start_producer();
  p->set_send_msg_timeout(200ms);
  Callbacks cbs;
  for (int i = 0; i < 5; ++i)
    p->send_async(message("x"), cbs.callback());
  p->shutdown();
  auto results = cbs.results();
  ASSERT_EQ(results.size(), 5u);
  for (const auto& r : results)
    EXPECT_FALSE(r.is_ok());
}

// ---- heartbeats -------------------------------------------------------------------------------

TEST_F(ProducerTest, HeartbeatsReachEveryMasterBroker) {
  config_.heartbeat_interval = 50ms;
  auto p = start_producer("HeartbeatGroup");
  ASSERT_TRUE(p->send(message("x")).is_ok());
  for (FakeBroker* broker : {a_.get(), b_.get()}) {
    ASSERT_TRUE(broker->wait_heartbeats(3)) << broker->name();
    const auto hb = broker->heartbeats().back();
    EXPECT_EQ(hb.client_id, config_.client_id);
    ASSERT_EQ(hb.producer_groups.size(), 1u);
    EXPECT_EQ(hb.producer_groups[0], "HeartbeatGroup");
  }
}

TEST_F(ProducerTest, ANewBrokerGetsAHeartbeatAtOnce) {
  auto p = start_producer("HeartbeatGroup");  // heartbeat_interval: 30 s
  ASSERT_TRUE(p->send(message("x")).is_ok());
  ASSERT_TRUE(a_->wait_heartbeats(1));
  ASSERT_TRUE(b_->wait_heartbeats(1));
}

TEST_F(ProducerTest, TheSharedClientCarriesConsumerGroupsInHeartbeats) {
  auto client = MQClient::get_or_create(config_);
  ASSERT_TRUE(client->start().is_ok());
  ASSERT_TRUE(client->find_route(kTopic).is_ok());
  ASSERT_TRUE(client->register_consumer("CG", [] {
    protocol::ConsumerDataT data;
    data.group_name = "CG";
    data.message_model = "CLUSTERING";
    return data;
  }));
  EXPECT_FALSE(client->register_consumer("CG", [] { return protocol::ConsumerDataT{}; }));
  ASSERT_TRUE(signal_.wait([&] {
    for (FakeBroker* broker : {a_.get(), b_.get()}) {
      bool found = false;
      for (const auto& hb : broker->heartbeats()) {
        found = found || (hb.consumers.size() == 1 && hb.consumers[0]->group_name == "CG");
      }
      if (!found) return false;
    }
    return true;
  }));
  client->shutdown();
  EXPECT_FALSE(client->running());
}

}  // namespace
}  // namespace comet::client
