#include "bench/rocketmq_producer.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <asio.hpp>

#include "bench/workload.h"
#include "common/record_codec.h"
#include "remoting/rocketmq_codec.h"
#include "remoting/rocketmq_json.h"

namespace comet::bench {

namespace rmq = remoting::rocketmq;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr int32_t kGetRouteInfoByTopic = 105;
constexpr int32_t kSendMessageV2 = 310;
constexpr int32_t kTopicNotExist = 17;
constexpr std::string_view kDefaultTopic = "TBW102";
constexpr uint32_t kMaxFrameBytes = 16 * 1024 * 1024;
constexpr auto kSweepInterval = 100ms;
constexpr size_t kReadChunk = 256 * 1024;

using CommandCallback = std::function<void(Result<rmq::Command>)>;

// One pipelined connection: frames written in batches (one writev for all queued), answers read
// in chunks and matched to their requests by opaque. Touched only on the I/O thread.
class RmqConnection : public std::enable_shared_from_this<RmqConnection> {
 public:
  RmqConnection(asio::io_context& io, std::string address)
      : io_(io), socket_(io), address_(std::move(address)) {}

  void connect() {
    const auto colon = address_.rfind(':');
    if (colon == std::string::npos) return fail_all(Status::invalid_argument("bad address"));
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(io_);
    auto self = shared_from_this();
    resolver->async_resolve(
        address_.substr(0, colon), address_.substr(colon + 1),
        [self, resolver](const asio::error_code& ec, asio::ip::tcp::resolver::results_type r) {
          if (ec) return self->fail_all(Status::unavailable("resolve: " + ec.message()));
          asio::async_connect(self->socket_, r,
                              [self](const asio::error_code& ec2, const asio::ip::tcp::endpoint&) {
                                if (ec2)
                                  return self->fail_all(Status::unavailable(
                                      "connect " + self->address_ + ": " + ec2.message()));
                                asio::ip::tcp::no_delay nd(true);
                                asio::error_code ignored;
                                self->socket_.set_option(nd, ignored);
                                self->connected_ = true;
                                self->read();
                                self->flush();
                              });
        });
  }

  void request(int32_t opaque, std::string frame, Clock::time_point deadline, CommandCallback cb) {
    if (failed_) return cb(Status::unavailable("connection to " + address_ + " failed"));
    pending_.emplace(opaque, Pending{std::move(cb), deadline});
    queued_.push_back(std::move(frame));
    if (connected_ && !writing_) flush();
  }

  void expire(Clock::time_point now) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline <= now) {
        CommandCallback cb = std::move(it->second.cb);
        it = pending_.erase(it);
        cb(Status::timeout("no answer from " + address_ + " in time"));
      } else {
        ++it;
      }
    }
  }

  bool failed() const { return failed_; }

  void close() {
    asio::error_code ignored;
    socket_.close(ignored);
    fail_all(Status::unavailable("producer shut down"));
  }

 private:
  struct Pending {
    CommandCallback cb;
    Clock::time_point deadline;
  };

  void flush() {
    if (queued_.empty() || failed_) return;
    writing_ = true;
    in_write_.swap(queued_);
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(in_write_.size());
    for (const auto& f : in_write_)
      buffers.emplace_back(asio::buffer(f));
    auto self = shared_from_this();
    asio::async_write(socket_, buffers, [self](const asio::error_code& ec, size_t) {
      self->writing_ = false;
      self->in_write_.clear();
      if (ec) return self->fail_all(Status::unavailable("write: " + ec.message()));
      self->flush();
    });
  }

  void read() {
    if (buffer_.size() - have_ < kReadChunk) buffer_.resize(have_ + kReadChunk);
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buffer_.data() + have_, buffer_.size() - have_),
                            [self](const asio::error_code& ec, size_t n) {
                              if (ec)
                                return self->fail_all(Status::unavailable(
                                    "read from " + self->address_ + ": " + ec.message()));
                              self->have_ += n;
                              if (Status s = self->parse(); !s.is_ok()) return self->fail_all(s);
                              self->read();
                            });
  }

  // Dispatches every whole frame read so far and keeps the partial one at the front.
  Status parse() {
    size_t at = 0;
    const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data());
    while (have_ - at >= rmq::kPrefixSize) {
      auto prefix = rmq::decode_prefix(p + at, kMaxFrameBytes);
      if (!prefix.is_ok()) return prefix.status();
      if (have_ - at < rmq::kPrefixSize + prefix->rest()) break;
      auto cmd = rmq::decode_frame_rest(*prefix, p + at + rmq::kPrefixSize);
      at += rmq::kPrefixSize + prefix->rest();
      if (!cmd.is_ok()) return cmd.status();
      if (!cmd->is_response()) continue;  // a broker's notice (e.g. 40): nothing to do
      auto it = pending_.find(cmd->opaque);
      if (it == pending_.end()) continue;  // answered after its timeout
      CommandCallback cb = std::move(it->second.cb);
      pending_.erase(it);
      cb(std::move(cmd));
    }
    if (at > 0) {
      std::memmove(buffer_.data(), buffer_.data() + at, have_ - at);
      have_ -= at;
    }
    return Status::ok();
  }

  void fail_all(const Status& s) {
    failed_ = true;
    connected_ = false;
    queued_.clear();
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [opaque, p] : pending)
      p.cb(s);
  }

  asio::io_context& io_;
  asio::ip::tcp::socket socket_;
  const std::string address_;
  bool connected_ = false, writing_ = false, failed_ = false;
  std::vector<std::string> queued_, in_write_;
  std::unordered_map<int32_t, Pending> pending_;
  std::vector<char> buffer_;
  size_t have_ = 0;
};

struct WritableQueue {
  std::string broker_name, address;
  int32_t queue_id = 0;
};

// A topic's writable queues and its own round robin over them, as a RocketMQ producer keeps per
// topic: one counter for every topic would put a workload that alternates topics on a few queues.
struct Route {
  std::vector<WritableQueue> queues;
  mutable std::atomic<uint64_t> next{0};
};

// A UNIQ_KEY as RocketMQ clients make one: a per-process prefix and a counter, 32 hex digits.
std::string uniq_key(uint64_t seq) {
  static const std::string prefix =
      fmt::format("7F000001{:08X}", static_cast<uint32_t>(::getpid()));
  return fmt::format("{}{:016X}", prefix, seq);
}

}  // namespace

class RocketmqProducer::Impl {
 public:
  Impl(std::string namesrv, std::string group)
      : namesrv_(std::move(namesrv)),
        group_(std::move(group)),
        work_(io_.get_executor()),
        sweep_(io_) {}

  Status start(const std::string& first_topic) {
    thread_ = std::thread([this] { io_.run(); });
    schedule_sweep();
    if (!first_topic.empty()) return route(first_topic).status();
    return Status::ok();
  }

  void shutdown() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      // The sweep may already be queued to run: the flag keeps it from arming itself again,
      // which would keep run() from returning.
      stopping_ = true;
      sweep_.cancel();
      for (auto& [addr, c] : conns_)
        c->close();
      conns_.clear();
    });
    work_.reset();
    thread_.join();
  }

  // The writable queues of `topic`, from the name server on first use.
  Result<std::shared_ptr<const Route>> route(const std::string& topic) {
    {
      std::lock_guard lock(mu_);
      auto it = routes_.find(topic);
      if (it != routes_.end()) return it->second;
    }
    auto r = fetch_route(topic);
    bool via_default = false;
    if (!r.is_ok() && r.status().code() == Code::kNotFound) {
      r = fetch_route(std::string(kDefaultTopic));
      via_default = true;
    }
    if (!r.is_ok()) return r.status();
    auto route = std::make_shared<Route>();
    auto* queues = &route->queues;
    for (const auto& q : r->queues) {
      if ((q.perm & 2) == 0) continue;
      std::string address;
      for (const auto& b : r->brokers) {
        if (b.broker_name != q.broker_name) continue;
        for (const auto& [id, addr] : b.addrs) {
          if (id == 0) address = addr;
        }
      }
      if (address.empty()) continue;
      const int32_t n = via_default ? std::min(4, q.write_queue_nums) : q.write_queue_nums;
      for (int32_t i = 0; i < n; ++i)
        queues->push_back({q.broker_name, address, i});
    }
    if (queues->empty()) return Status::not_found("no writable queue for " + topic);
    std::lock_guard lock(mu_);
    routes_[topic] = route;
    return std::shared_ptr<const Route>(route);
  }

  void forget_route(const std::string& topic) {
    std::lock_guard lock(mu_);
    routes_.erase(topic);
  }

  void send(const client::ProducerMessage& m, std::chrono::milliseconds timeout, SendCallback cb) {
    auto route = this->route(m.topic);
    if (!route.is_ok()) return cb(route.status());
    const uint64_t seq = next_.fetch_add(1, std::memory_order_relaxed);
    const auto& queues = (*route)->queues;
    const WritableQueue& q =
        queues[(*route)->next.fetch_add(1, std::memory_order_relaxed) % queues.size()];
    rmq::Command cmd;
    cmd.code = kSendMessageV2;
    cmd.opaque = static_cast<int32_t>(seq);
    set_send_header(m, q, seq, cmd.ext);
    std::string frame = rmq::encode_frame_head(cmd, m.body.size());
    frame.append(m.body);
    auto done = [cb = std::move(cb), q](Result<rmq::Command> r) {
      if (!r.is_ok()) return cb(r.status());
      cb(send_result(*r, q));
    };
    request(q.address, cmd.opaque, std::move(frame), timeout, std::move(done));
  }

 private:
  Result<rmq::RouteJson> fetch_route(const std::string& topic) {
    rmq::Command cmd;
    cmd.code = kGetRouteInfoByTopic;
    cmd.opaque = static_cast<int32_t>(next_.fetch_add(1));
    cmd.ext.set("topic", topic);
    std::promise<Result<rmq::Command>> answer;
    auto future = answer.get_future();
    request(first_namesrv(), cmd.opaque, rmq::encode_frame(cmd), 5s,
            [&answer](Result<rmq::Command> r) { answer.set_value(std::move(r)); });
    auto r = future.get();  // the sweep answers within 5 s + its interval
    if (!r.is_ok()) return r.status();
    if (r->code == kTopicNotExist) return Status::not_found("no route for " + topic);
    if (r->code != 0)
      return Status::unavailable(
          fmt::format("route of {}: code {} {}", topic, r->code, r->remark.value_or("")));
    return rmq::parse_route(r->body);
  }

  std::string first_namesrv() const { return namesrv_.substr(0, namesrv_.find(';')); }

  void request(const std::string& address, int32_t opaque, std::string frame,
               std::chrono::milliseconds timeout, CommandCallback cb) {
    asio::post(io_, [this, address, opaque, frame = std::move(frame),
                     deadline = Clock::now() + timeout, cb = std::move(cb)]() mutable {
      auto& conn = conns_[address];
      if (!conn || conn->failed()) {
        conn = std::make_shared<RmqConnection>(io_, address);
        conn->connect();
      }
      conn->request(opaque, std::move(frame), deadline, std::move(cb));
    });
  }

  // SendMessageRequestHeaderV2's one-letter fields, as Java's producer fills them.
  // `c` (defaultTopic) is always TBW102: a broker creates a topic it does not know from it.
  void set_send_header(const client::ProducerMessage& m, const WritableQueue& q, uint64_t seq,
                       rmq::ExtFields& ext) const {
    std::vector<std::pair<std::string, std::string>> props;
    if (!m.tags.empty()) props.emplace_back(std::string(kPropertyTags), m.tags);
    if (!m.keys.empty()) props.emplace_back(std::string(kPropertyKeys), m.keys);
    props.emplace_back(std::string(kPropertyUniqKey), uniq_key(seq));
    props.emplace_back("WAIT", "true");
    if (m.delay_level > 0)
      props.emplace_back(std::string(kPropertyDelayLevel), std::to_string(m.delay_level));
    for (const auto& [k, v] : m.properties)
      props.emplace_back(k, v);
    auto& items = ext.items;
    items.reserve(14);
    items.emplace_back("a", group_);
    items.emplace_back("b", m.topic);
    items.emplace_back("c", std::string(kDefaultTopic));
    items.emplace_back("d", "4");
    items.emplace_back("e", std::to_string(q.queue_id));
    items.emplace_back("f", "0");
    items.emplace_back("g", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count()));
    items.emplace_back("h", std::to_string(m.flags));
    items.emplace_back("i", encode_properties(props));
    items.emplace_back("j", "0");
    items.emplace_back("k", "false");
    items.emplace_back("m", "false");
    items.emplace_back("n", q.broker_name);
  }

  static Result<client::SendResult> send_result(const rmq::Command& answer,
                                                const WritableQueue& q) {
    client::SendResult r;
    switch (answer.code) {
      case 0:
        r.status = client::SendStatus::kSendOk;
        break;
      case 10:
        r.status = client::SendStatus::kFlushDiskTimeout;
        break;
      case 11:
        r.status = client::SendStatus::kSlaveNotAvailable;
        break;
      case 12:
        r.status = client::SendStatus::kFlushSlaveTimeout;
        break;
      default:
        return Status::unavailable(
            fmt::format("send refused: code {} {}", answer.code, answer.remark.value_or("")));
    }
    r.broker_name = q.broker_name;
    r.queue_id = static_cast<uint32_t>(answer.ext.get_int_or("queueId", q.queue_id));
    r.queue_offset = static_cast<uint64_t>(answer.ext.get_int_or("queueOffset", 0));
    r.offset_msg_id = std::string(answer.ext.get("msgId"));
    r.msg_id = r.offset_msg_id;
    return r;
  }

  void schedule_sweep() {
    sweep_.expires_after(kSweepInterval);
    sweep_.async_wait([this](const asio::error_code& ec) {
      if (ec || stopping_) return;
      const auto now = Clock::now();
      for (auto& [addr, c] : conns_)
        c->expire(now);
      schedule_sweep();
    });
  }

  const std::string namesrv_, group_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer sweep_;
  std::thread thread_;
  std::map<std::string, std::shared_ptr<RmqConnection>> conns_;  // I/O thread only
  bool stopping_ = false;                                        // I/O thread only
  std::atomic<uint64_t> next_{1};
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Route>> routes_;
};

RocketmqProducer::RocketmqProducer(std::string namesrv, std::string group)
    : impl_(std::make_unique<Impl>(std::move(namesrv), std::move(group))) {}

RocketmqProducer::~RocketmqProducer() {
  shutdown();
}

Status RocketmqProducer::start() {
  return impl_->start({});
}

void RocketmqProducer::shutdown() {
  impl_->shutdown();
}

void RocketmqProducer::send_async(client::ProducerMessage m, SendCallback cb) {
  impl_->send(m, send_timeout_, std::move(cb));
}

void RocketmqProducer::send_batch_async(std::vector<client::ProducerMessage>, SendCallback cb) {
  cb(Status::unsupported("--protocol rocketmq sends one message per request (no --batch)"));
}

Status RocketmqProducer::load_route(const std::string& topic) {
  return impl_->route(topic).status();
}

Result<client::SendResult> RocketmqProducer::first_send(client::ProducerMessage m) {
  // Up to 10 tries of up to 30 s each; a failed try drops the cached route and connection.
  Status last;
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::promise<Result<client::SendResult>> answer;
    auto future = answer.get_future();
    impl_->send(m, std::chrono::seconds(30),
                [&answer](Result<client::SendResult> r) { answer.set_value(std::move(r)); });
    auto r = future.get();
    if (r.is_ok()) return r;
    last = r.status();
    impl_->forget_route(m.topic);
    wait_out(std::chrono::milliseconds(500));
  }
  return last;
}

}  // namespace comet::bench
