// Consumer tests: the allocation strategy, record decoding and pull-status mapping as pure
// functions, then PullConsumer and PushConsumer against a fake name server and fake brokers
// (RemotingServers with handlers) on loopback, in this process.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <asio.hpp>

#include "common/child_process.h"
#include "common/record_codec.h"
#include "consumer/allocate_message_queue_averagely.h"
#include "consumer/consumer_api.h"
#include "consumer/message_ext.h"
#include "consumer/offset_store.h"
#include "consumer/pull_consumer.h"
#include "consumer/push_consumer.h"
#include "fake_server_util.h"
#include "producer/topic_route.h"
#include "remoting/remoting_server.h"
#include "remoting/rocketmq_message.h"

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
const std::string kGroup = "ConsumerGroupTest";

// --- pure functions --------------------------------------------------------------------------

std::vector<MessageQueue> queues(int n, const std::string& broker = "broker-a") {
  std::vector<MessageQueue> out;
  for (int i = 0; i < n; ++i)
    out.push_back({kTopic, broker, static_cast<uint32_t>(i)});
  return out;
}

std::vector<std::string> cids(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("cid-" + std::to_string(i));
  return out;
}

std::vector<uint32_t> ids(const std::vector<MessageQueue>& qs) {
  std::vector<uint32_t> out;
  for (const auto& q : qs)
    out.push_back(q.queue_id);
  return out;
}

TEST(AllocateMessageQueueAveragely, MatchesRocketMQForKnownSplits) {
  struct Case {
    int queues;
    int consumers;
    std::vector<std::vector<uint32_t>> expected;  // by consumer index
  };
  const std::vector<Case> cases = {
      {8, 1, {{0, 1, 2, 3, 4, 5, 6, 7}}},
      {8, 2, {{0, 1, 2, 3}, {4, 5, 6, 7}}},
      {8, 3, {{0, 1, 2}, {3, 4, 5}, {6, 7}}},
      {8, 5, {{0, 1}, {2, 3}, {4, 5}, {6}, {7}}},
      {4, 4, {{0}, {1}, {2}, {3}}},
      {3, 5, {{0}, {1}, {2}, {}, {}}},
      {1, 3, {{0}, {}, {}}},
      {0, 2, {{}, {}}},
      {10, 4, {{0, 1, 2}, {3, 4, 5}, {6, 7}, {8, 9}}},
  };
  for (const auto& c : cases) {
    for (int i = 0; i < c.consumers; ++i) {
      auto got = AllocateMessageQueueAveragely::allocate("cid-" + std::to_string(i),
                                                         queues(c.queues), cids(c.consumers));
      EXPECT_EQ(ids(got), c.expected[static_cast<size_t>(i)])
          << c.queues << " queues, " << c.consumers << " consumers, consumer " << i;
    }
  }
}

TEST(AllocateMessageQueueAveragely, EveryQueueGoesToExactlyOneConsumer) {
  for (int q = 0; q <= 17; ++q) {
    for (int c = 1; c <= 9; ++c) {
      // Inputs in another order than sorted: every member sorts the same way.
      auto all = queues(q, "broker-b");
      auto more = queues(q / 2, "broker-a");
      all.insert(all.end(), more.begin(), more.end());
      std::reverse(all.begin(), all.end());
      auto members = cids(c);
      std::reverse(members.begin(), members.end());
      std::map<MessageQueue, int> owners;
      size_t smallest = SIZE_MAX, largest = 0;
      for (const auto& cid : members) {
        auto mine = AllocateMessageQueueAveragely::allocate(cid, all, members);
        smallest = std::min(smallest, mine.size());
        largest = std::max(largest, mine.size());
        for (const auto& mq : mine)
          ++owners[mq];
      }
      ASSERT_EQ(owners.size(), all.size()) << q << "/" << c;
      for (const auto& [mq, n] : owners)
        ASSERT_EQ(n, 1) << mq.to_string();
      EXPECT_LE(largest - smallest, 1u) << q << "/" << c;
    }
  }
}

TEST(AllocateMessageQueueAveragely, UnknownConsumerGetsNothing) {
  EXPECT_TRUE(AllocateMessageQueueAveragely::allocate("stranger", queues(8), cids(2)).empty());
  EXPECT_TRUE(AllocateMessageQueueAveragely::allocate("cid-0", queues(8), {}).empty());
}

std::string encode_record(const std::string& topic, uint32_t queue_id, uint64_t queue_offset,
                          const std::string& body, const std::string& properties,
                          uint64_t physical_offset = 0, uint32_t reconsume_times = 0) {
  Message m;
  m.topic = topic;
  m.queue_id = queue_id;
  m.body = body;
  m.properties = properties;
  m.born_timestamp_ms = 1'700'000'000'000;
  m.born_host = {0x7f000001, 40000};
  m.reconsume_times = reconsume_times;
  std::string out(record::encoded_size(m), '\0');
  record::encode(m, queue_offset, physical_offset, 1'700'000'000'123, {0x0a000001, 10911},
                 reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

TEST(MessageExtDecoding, PropertiesTagsKeysAndIds) {
  const std::string props =
      encode_properties({{"TAGS", "TagA"}, {"KEYS", "order-1 order-2"}, {"color", "blue"}});
  const std::string body = encode_record(kTopic, 3, 41, "hello", props, 0x1234) +
                           encode_record(kTopic, 3, 42, "world", "", 0x1300);
  auto decoded = decode_messages(body, "broker-a");
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  ASSERT_EQ(decoded->size(), 2u);
  const MessageExt& m = (*decoded)[0];
  EXPECT_EQ(m.topic, kTopic);
  EXPECT_EQ(m.broker_name, "broker-a");
  EXPECT_EQ(m.queue_id, 3u);
  EXPECT_EQ(m.queue_offset, 41u);
  EXPECT_EQ(m.physical_offset, 0x1234u);
  EXPECT_EQ(m.body, "hello");
  EXPECT_EQ(m.tags, "TagA");
  EXPECT_EQ(m.keys, "order-1 order-2");
  EXPECT_EQ(m.properties.at("color"), "blue");
  EXPECT_EQ(m.properties.at("TAGS"), "TagA");
  EXPECT_EQ(m.born_timestamp_ms, 1'700'000'000'000);
  EXPECT_EQ(m.store_timestamp_ms, 1'700'000'000'123);
  EXPECT_EQ(m.msg_id, "0A00000100002A9F0000000000001234");
  EXPECT_EQ((*decoded)[1].body, "world");
  EXPECT_TRUE((*decoded)[1].tags.empty());
  EXPECT_TRUE((*decoded)[1].properties.empty());
}

TEST(MessageExtDecoding, UniqKeyIsTheMessageId) {
  auto decoded = decode_messages(
      encode_record(kTopic, 0, 0, "x", encode_properties({{"UNIQ_KEY", "ABC123"}}), 0x1234), "b");
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ((*decoded)[0].msg_id, "ABC123");
  // The broker's id stays readable: store host 10.0.0.1:10911, CommitLog offset 0x1234.
  EXPECT_EQ((*decoded)[0].offset_msg_id, "0A00000100002A9F0000000000001234");
}

// A RocketMQ producer's compressed body (sysFlag 0x1, zlib) reaches the listener inflated, its
// flag cleared; one that will not inflate is handed over as stored, flag kept, without failing
// the messages around it.
std::string encode_compressed_record(const std::string& body, uint64_t physical_offset) {
  Message m;
  m.topic = kTopic;
  m.body = body;
  m.sys_flag = kSysFlagCompressed | 0x8;  // and a bit that stays
  m.born_timestamp_ms = 1;
  std::string out(record::encoded_size(m), '\0');
  record::encode(m, 0, physical_offset, 2, {0x0a000001, 10911},
                 reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

TEST(MessageExtDecoding, CompressedBodiesAreInflated) {
  std::string plain(10000, '\0');
  for (size_t i = 0; i < plain.size(); ++i)
    plain[i] = static_cast<char>('a' + i % 7);
  const std::string deflated = remoting::rocketmq::deflate_body(plain);
  ASSERT_LT(deflated.size(), plain.size());
  auto decoded = decode_messages(encode_compressed_record(deflated, 100) +
                                     encode_compressed_record("not zlib at all", 200) +
                                     encode_record(kTopic, 0, 2, "plain", "", 300),
                                 "b");
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  ASSERT_EQ(decoded->size(), 3u);
  EXPECT_EQ((*decoded)[0].body, plain);
  EXPECT_EQ((*decoded)[0].sys_flag, 0x8u);
  EXPECT_EQ((*decoded)[1].body, "not zlib at all");
  EXPECT_EQ((*decoded)[1].sys_flag, kSysFlagCompressed | 0x8);
  EXPECT_EQ((*decoded)[2].body, "plain");
  EXPECT_EQ((*decoded)[2].sys_flag, 0u);
}

TEST(MessageExtDecoding, AnInflatedBodyIsBounded) {
  // 5 MiB of zeros deflate to a few KiB: past kMaxInflatedBodyBytes it stays compressed.
  const std::string bomb = remoting::rocketmq::deflate_body(std::string(5 << 20, '\0'));
  auto decoded = decode_messages(encode_compressed_record(bomb, 100), "b");
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ((*decoded)[0].body, bomb);
  EXPECT_EQ((*decoded)[0].sys_flag & kSysFlagCompressed, kSysFlagCompressed);
}

TEST(MessageExtDecoding, PropertyEncodingEdgeCases) {
  EXPECT_TRUE(decode_properties("").empty());
  auto p = decode_properties(std::string("a\x01") + "1\x02" + "broken\x02" + "b\x01\x02" + "c\x01" +
                             "3");
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(p["a"], "1");
  EXPECT_EQ(p["b"], "");
  EXPECT_EQ(p["c"], "3");
  EXPECT_FALSE(p.contains("broken"));
}

TEST(MessageExtDecoding, CrcFailureAndTornRecordsAreReported) {
  std::string good = encode_record(kTopic, 0, 0, "payload", "");
  std::string body = good + good;
  body[good.size() + record::kHeaderSize + 2] ^= 0x40;  // a body byte of the second record
  auto bad = decode_messages(body, "b");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), Code::kCorruption);
  EXPECT_NE(bad.status().message().find("record 1"), std::string::npos) << bad.status().message();

  auto torn = decode_messages(good.substr(0, good.size() - 3), "b");
  ASSERT_FALSE(torn.is_ok());
  EXPECT_EQ(torn.status().code(), Code::kCorruption);
  EXPECT_TRUE(decode_messages("", "b")->empty());
}

RemotingCommand pull_response(ResponseCode code, int64_t next, std::string body = {},
                              bool with_ext = true) {
  auto req = RemotingCommand::request(RequestCode::PULL_MESSAGE);
  auto resp = RemotingCommand::response_to(req, code, "remark");
  if (with_ext) {
    protocol::PullMessageResponseT ext;
    ext.next_begin_offset = next;
    ext.min_offset = 0;
    ext.max_offset = 100;
    resp.set_ext(std::move(ext));
  }
  resp.body.owned = std::move(body);
  return resp;
}

TEST(PullStatusMapping, EveryResponseCode) {
  const MessageQueue mq{kTopic, "broker-a", 1};
  const std::string records =
      encode_record(kTopic, 1, 5, "five", encode_properties({{"TAGS", "A"}})) +
      encode_record(kTopic, 1, 6, "six", encode_properties({{"TAGS", "B"}}));

  auto found = to_pull_result(pull_response(ResponseCode::SUCCESS, 7, records), mq, {});
  ASSERT_TRUE(found.is_ok()) << found.status().to_string();
  EXPECT_EQ(found->status, PullStatus::kFound);
  EXPECT_EQ(found->next_begin_offset, 7u);
  EXPECT_EQ(found->max_offset, 100u);
  ASSERT_EQ(found->msgs.size(), 2u);
  EXPECT_EQ(found->msgs[1].body, "six");

  // The broker filters by tag hash; the client filters again by the tag itself.
  auto filtered = to_pull_result(pull_response(ResponseCode::SUCCESS, 7, records), mq,
                                 parse_subscription_tags("B || C"));
  ASSERT_TRUE(filtered.is_ok());
  ASSERT_EQ(filtered->msgs.size(), 1u);
  EXPECT_EQ(filtered->msgs[0].body, "six");

  struct Case {
    ResponseCode code;
    PullStatus status;
  };
  for (const auto& c : {Case{ResponseCode::PULL_NOT_FOUND, PullStatus::kNoNewMsg},
                        Case{ResponseCode::PULL_RETRY_IMMEDIATELY, PullStatus::kNoMatchedMsg},
                        Case{ResponseCode::PULL_OFFSET_MOVED, PullStatus::kOffsetIllegal}}) {
    auto r = to_pull_result(pull_response(c.code, 42), mq, {});
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->status, c.status) << pull_status_name(c.status);
    EXPECT_EQ(r->next_begin_offset, 42u);
    EXPECT_TRUE(r->msgs.empty());
  }

  auto busy = to_pull_result(pull_response(ResponseCode::SYSTEM_BUSY, 0), mq, {});
  ASSERT_FALSE(busy.is_ok());
  EXPECT_EQ(busy.status().code(), Code::kUnavailable);
  auto missing = to_pull_result(pull_response(ResponseCode::PULL_NOT_FOUND, 0, {}, false), mq, {});
  EXPECT_EQ(missing.status().code(), Code::kCorruption);
  std::string corrupt = records;
  corrupt[20] ^= 1;
  auto bad = to_pull_result(pull_response(ResponseCode::SUCCESS, 7, corrupt), mq, {});
  EXPECT_EQ(bad.status().code(), Code::kCorruption);
  auto transport = to_pull_result(Status::timeout("no answer"), mq, {});
  EXPECT_EQ(transport.status().code(), Code::kTimeout);
}

TEST(SubscriptionExpression, ParsesTags) {
  EXPECT_TRUE(parse_subscription_tags("*").empty());
  EXPECT_TRUE(parse_subscription_tags(" ").empty());
  EXPECT_EQ(parse_subscription_tags("A || B ||C"), (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_TRUE(tags_match({}, "anything"));
  EXPECT_TRUE(tags_match({"A", "B"}, "B"));
  EXPECT_FALSE(tags_match({"A", "B"}, ""));
}

TEST(ReadTarget, MasterElseLowestSlave) {
  BrokerData b{"c", "broker-a", {{0, "m:1"}, {1, "s1:1"}, {2, "s2:1"}}};
  EXPECT_EQ(select_read_target(b), (ReadTarget{0, "m:1"}));
  b.addrs.erase(0);
  EXPECT_EQ(select_read_target(b), (ReadTarget{1, "s1:1"}));
  b.addrs = {{3, "s3:1"}, {2, "s2:1"}};
  EXPECT_EQ(select_read_target(b), (ReadTarget{2, "s2:1"}));
  b.addrs.clear();
  EXPECT_FALSE(select_read_target(b).has_value());
}

TEST(LocalFileOffsetStore, PersistsThroughATempFileAndLoads) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("comet-offsets-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto store = LocalFileOffsetStore::open(dir.string());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    EXPECT_FALSE((*store)->read({kTopic, "b", 0}).value().has_value());
    ASSERT_TRUE((*store)->commit({kTopic, "b", 0}, 17, false).is_ok());
    ASSERT_TRUE((*store)->commit({kTopic, "b", 1}, 4, false).is_ok());
    EXPECT_FALSE(std::filesystem::exists((*store)->path()));  // not flushed yet
    ASSERT_TRUE((*store)->flush().is_ok());
    ASSERT_TRUE((*store)->commit({kTopic, "b", 1}, 5, true).is_ok());
    EXPECT_FALSE(std::filesystem::exists((*store)->path() + ".tmp"));
  }
  auto reopened = LocalFileOffsetStore::open(dir.string());
  ASSERT_TRUE(reopened.is_ok());
  EXPECT_EQ((*reopened)->read({kTopic, "b", 0}).value(), std::optional<uint64_t>(17));
  EXPECT_EQ((*reopened)->read({kTopic, "b", 1}).value(), std::optional<uint64_t>(5));
  { std::ofstream(dir / LocalFileOffsetStore::kFileName) << "garbage line\n"; }
  EXPECT_EQ(LocalFileOffsetStore::open(dir.string()).status().code(), Code::kCorruption);
  std::filesystem::remove_all(dir);
}

// --- fakes ---------------------------------------------------------------------------------

using comet::testing::Signal;
std::unique_ptr<RemotingServer> make_server() {
  return comet::testing::make_loopback_server();
}

struct SeenPull {
  std::string group;
  uint32_t queue_id = 0;
  int64_t offset = 0;
  int64_t commit_offset = -1;
  int64_t suspend = 0;
};

// A message a fake broker was sent (SEND_MESSAGE), stored or not.
struct SentMessage {
  std::string producer_group;
  std::string topic;
  std::map<std::string, std::string> properties;
  std::string body;
};

// A broker holding the messages of one topic per queue in memory: answers pulls (holding long
// polls until a message arrives or the suspend time ends), offsets and group membership. Sends
// to its topic are stored, except a retried message at its MAX_RECONSUME_TIMES, which goes to
// dead_letters() as a broker puts it in the DLQ; send-backs are recorded and answered.
class FakeBroker {
 public:
  FakeBroker(std::string name, Signal& signal, std::string topic = kTopic)
      : name_(std::move(name)), topic_(std::move(topic)), signal_(signal), server_(make_server()) {
    auto handle = [this](RequestCode code, auto fn) {
      server_->register_handler(
          code, [this, fn](const std::shared_ptr<Connection>& c, RemotingCommand req) {
            (this->*fn)(c, std::move(req));
          });
    };
    handle(RequestCode::PULL_MESSAGE, &FakeBroker::on_pull);
    handle(RequestCode::QUERY_CONSUMER_OFFSET, &FakeBroker::on_query_offset);
    handle(RequestCode::UPDATE_CONSUMER_OFFSET, &FakeBroker::on_update_offset);
    handle(RequestCode::GET_MAX_OFFSET, &FakeBroker::on_queue_offset);
    handle(RequestCode::GET_MIN_OFFSET, &FakeBroker::on_queue_offset);
    handle(RequestCode::HEART_BEAT, &FakeBroker::on_heartbeat);
    handle(RequestCode::UNREGISTER_CLIENT, &FakeBroker::on_unregister);
    handle(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &FakeBroker::on_consumer_list);
    handle(RequestCode::CONSUMER_SEND_MSG_BACK, &FakeBroker::on_send_back);
    handle(RequestCode::SEND_MESSAGE, &FakeBroker::on_send);
    handle(RequestCode::LOCK_BATCH_MQ, &FakeBroker::on_lock_batch);
    handle(RequestCode::UNLOCK_BATCH_MQ, &FakeBroker::on_lock_batch);
    EXPECT_TRUE(server_->start().is_ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  ~FakeBroker() { server_->stop(); }

  const std::string& name() const { return name_; }
  const std::string& addr() const { return addr_; }

  // Bodies "q<queue>-<offset>".
  void add_messages(uint32_t queue, int count, const std::string& tags = "") {
    for (int i = 0; i < count; ++i) {
      add_message(queue, {}, tags.empty() ? "" : encode_properties({{"TAGS", tags}}));
    }
  }
  void add_message(uint32_t queue, std::string body, const std::string& properties,
                   uint32_t reconsume_times = 0) {
    std::vector<std::pair<std::shared_ptr<Connection>, RemotingCommand>> answers;
    {
      std::lock_guard lock(mu_);
      store_locked(queue, std::move(body), properties, reconsume_times);
      answer_held_locked(queue, answers);
    }
    for (auto& [c, r] : answers)
      c->send(std::move(r));
    signal_.notify();
  }
  void fail_send_backs(std::optional<ResponseCode> code) {
    std::lock_guard lock(mu_);
    send_back_failure_ = code;
  }
  void fail_sends(std::optional<ResponseCode> code) {
    std::lock_guard lock(mu_);
    send_failure_ = code;
  }
  // Every CONSUMER_SEND_MSG_BACK, answered or failed.
  std::vector<protocol::ConsumerSendMsgBackRequestT> send_backs() const {
    std::lock_guard lock(mu_);
    return send_backs_;
  }
  // Every SEND_MESSAGE, answered or failed.
  std::vector<SentMessage> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  std::vector<SentMessage> dead_letters() const {
    std::lock_guard lock(mu_);
    return dead_letters_;
  }
  void set_min_offset(uint32_t queue, uint64_t min) {
    std::lock_guard lock(mu_);
    min_offset_[queue] = min;
  }
  void fail_pulls(std::optional<ResponseCode> code) {
    std::lock_guard lock(mu_);
    pull_failure_ = code;
  }
  void set_consumer_ids(std::optional<std::vector<std::string>> ids) {
    std::lock_guard lock(mu_);
    consumer_ids_override_ = std::move(ids);
  }
  void set_committed(uint32_t queue, uint64_t offset) {
    std::lock_guard lock(mu_);
    committed_[queue] = offset;
  }
  std::optional<uint64_t> committed(uint32_t queue) const {
    std::lock_guard lock(mu_);
    auto it = committed_.find(queue);
    return it == committed_.end() ? std::nullopt : std::optional<uint64_t>(it->second);
  }
  // Every offset any request committed (UPDATE_CONSUMER_OFFSET or a pull's commit_offset).
  std::vector<uint64_t> commit_history(uint32_t queue) const {
    std::lock_guard lock(mu_);
    auto it = commit_history_.find(queue);
    return it == commit_history_.end() ? std::vector<uint64_t>{} : it->second;
  }
  std::vector<SeenPull> pulls() const {
    std::lock_guard lock(mu_);
    return pulls_;
  }
  size_t served() const {
    std::lock_guard lock(mu_);
    return served_;
  }
  std::vector<protocol::ConsumerDataT> heartbeat_data() const {
    std::lock_guard lock(mu_);
    return heartbeat_data_;
  }
  std::vector<std::string> members() const {
    std::lock_guard lock(mu_);
    return {members_.begin(), members_.end()};
  }
  std::vector<std::string> unregistered() const {
    std::lock_guard lock(mu_);
    return unregistered_;
  }
  size_t requests_seen() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Queue locks: every queue asked is granted but those refused here.
  void refuse_lock(uint32_t queue, bool refuse) {
    std::lock_guard lock(mu_);
    if (refuse) {
      lock_refused_.insert(queue);
    } else {
      lock_refused_.erase(queue);
    }
  }
  // The queue ids of each LOCK_BATCH_MQ and UNLOCK_BATCH_MQ, in order.
  std::vector<std::vector<uint32_t>> lock_requests() const {
    std::lock_guard lock(mu_);
    return lock_requests_;
  }
  std::vector<std::vector<uint32_t>> unlock_requests() const {
    std::lock_guard lock(mu_);
    return unlock_requests_;
  }

 private:
  struct Held {
    std::shared_ptr<Connection> conn;
    std::shared_ptr<RemotingCommand> req;
    std::shared_ptr<asio::steady_timer> timer;
  };

  void reply(const std::shared_ptr<Connection>& c, RemotingCommand resp) {
    c->send(std::move(resp));
    signal_.notify();
  }

  // With mu_ held: the answer to a pull from what the queue holds now.
  RemotingCommand answer_pull_locked(const RemotingCommand& req) {
    const auto* ext = req.ext<protocol::PullMessageRequestT>();
    const auto& q = queues_[static_cast<uint32_t>(ext->queue_id)];
    const uint64_t min = min_offset_[static_cast<uint32_t>(ext->queue_id)];
    const auto offset = static_cast<uint64_t>(ext->queue_offset);
    protocol::PullMessageResponseT r;
    r.min_offset = static_cast<int64_t>(min);
    r.max_offset = static_cast<int64_t>(q.size());
    ResponseCode code;
    std::string body;
    if (offset < min || offset > q.size()) {
      code = ResponseCode::PULL_OFFSET_MOVED;
      r.next_begin_offset = static_cast<int64_t>(offset < min ? min : q.size());
    } else if (offset == q.size()) {
      code = ResponseCode::PULL_NOT_FOUND;
      r.next_begin_offset = static_cast<int64_t>(offset);
    } else {
      code = ResponseCode::SUCCESS;
      uint64_t end =
          std::min<uint64_t>(q.size(), offset + static_cast<uint64_t>(ext->max_msg_nums));
      for (uint64_t i = offset; i < end; ++i)
        body += q[i];
      served_ += end - offset;
      r.next_begin_offset = static_cast<int64_t>(end);
    }
    auto resp = RemotingCommand::response_to(req, code);
    resp.set_ext(std::move(r));
    resp.body.owned = std::move(body);
    return resp;
  }

  void answer_held_locked(
      uint32_t queue, std::vector<std::pair<std::shared_ptr<Connection>, RemotingCommand>>& out) {
    auto& held = held_[queue];
    for (auto& h : held) {
      h->timer->cancel();
      out.emplace_back(h->conn, answer_pull_locked(*h->req));
    }
    held.clear();
  }

  void commit_locked(uint32_t queue, uint64_t offset) {
    commit_history_[queue].push_back(offset);
    auto& c = committed_[queue];
    c = std::max(c, offset);
  }

  void on_pull(const std::shared_ptr<Connection>& c, RemotingCommand req) {
    std::unique_lock lock(mu_);
    ++requests_;
    const auto* ext = req.ext<protocol::PullMessageRequestT>();
    pulls_.push_back({ext->consumer_group, static_cast<uint32_t>(ext->queue_id), ext->queue_offset,
                      ext->commit_offset, ext->suspend_timeout_millis});
    if (ext->commit_offset >= 0) {
      commit_locked(static_cast<uint32_t>(ext->queue_id),
                    static_cast<uint64_t>(ext->commit_offset));
    }
    if (pull_failure_) {
      auto resp = RemotingCommand::response_to(req, *pull_failure_, "injected");
      lock.unlock();
      return reply(c, std::move(resp));
    }
    const auto queue = static_cast<uint32_t>(ext->queue_id);
    const bool empty = static_cast<uint64_t>(ext->queue_offset) == queues_[queue].size();
    if (empty && ext->suspend_timeout_millis > 0) {
      auto held = std::make_shared<Held>();
      held->conn = c;
      held->req = std::make_shared<RemotingCommand>(std::move(req));
      held->timer = std::make_shared<asio::steady_timer>(
          server_->io_context(),
          std::chrono::milliseconds(
              held->req->ext<protocol::PullMessageRequestT>()->suspend_timeout_millis));
      held_[queue].push_back(held);
      held->timer->async_wait([this, held, queue](const std::error_code& ec) {
        if (ec) return;
        std::unique_lock l(mu_);
        auto& list = held_[queue];
        auto it = std::find(list.begin(), list.end(), held);
        if (it == list.end()) return;
        list.erase(it);
        auto resp = answer_pull_locked(*held->req);
        l.unlock();
        reply(held->conn, std::move(resp));
      });
      lock.unlock();
      signal_.notify();
      return;
    }
    auto resp = answer_pull_locked(req);
    lock.unlock();
    reply(c, std::move(resp));
  }

  void on_query_offset(const std::shared_ptr<Connection>& c, RemotingCommand req) {
    std::unique_lock lock(mu_);
    ++requests_;
    const auto* ext = req.ext<protocol::ConsumerOffsetRequestT>();
    auto it = committed_.find(static_cast<uint32_t>(ext->queue_id));
    RemotingCommand resp;
    if (it == committed_.end()) {
      resp = RemotingCommand::response_to(req, ResponseCode::QUERY_NOT_FOUND, "none");
    } else {
      resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
      protocol::ConsumerOffsetResponseT r;
      r.offset = static_cast<int64_t>(it->second);
      resp.set_ext(std::move(r));
    }
    lock.unlock();
    reply(c, std::move(resp));
  }

  void on_update_offset(const std::shared_ptr<Connection>& c, RemotingCommand req) {
    std::unique_lock lock(mu_);
    ++requests_;
    const auto* ext = req.ext<protocol::ConsumerOffsetRequestT>();
    commit_locked(static_cast<uint32_t>(ext->queue_id), static_cast<uint64_t>(ext->commit_offset));
    lock.unlock();
    reply(c, RemotingCommand::response_to(req, ResponseCode::SUCCESS));
  }

  void on_queue_offset(const std::shared_ptr<Connection>& c, RemotingCommand req) {
    std::unique_lock lock(mu_);
    ++requests_;
    const auto* ext = req.ext<protocol::QueueOffsetRequestT>();
    const auto queue = static_cast<uint32_t>(ext->queue_id);
    protocol::QueueOffsetResponseT r;
    r.offset = static_cast<int64_t>(req.code() == static_cast<int32_t>(RequestCode::GET_MAX_OFFSET)
                                        ? queues_[queue].size()
                                        : min_offset_[queue]);
    auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
    resp.set_ext(std::move(r));
    lock.unlock();
    reply(c, std::move(resp));
  }

  void on_heartbeat(const std::shared_ptr<Connection>& c, RemotingCommand req) {
    std::unique_lock lock(mu_);
    const auto* hb = req.ext<protocol::HeartbeatRequestT>();
    for (const auto& cd : hb->consumers) {
      if (!cd || cd->group_name.empty()) continue;
      heartbeat_data_.push_back(*cd);
      members_.insert(hb->client_id);
    }
    lock.unlock();
    if (!req.is_oneway()) return reply(c, RemotingCommand::response_to(req, ResponseCode::SUCCESS));
    signal_.notify();
  }

  void on_unregister(const std::shared_ptr<Connection>& c, RemotingCommand req) {
    std::unique_lock lock(mu_);
    const auto* u = req.ext<protocol::UnregisterClientRequestT>();
    if (!u->consumer_group.empty()) {
      members_.erase(u->client_id);
      unregistered_.push_back(u->client_id);
    }
    lock.unlock();
    if (!req.is_oneway()) return reply(c, RemotingCommand::response_to(req, ResponseCode::SUCCESS));
    signal_.notify();
  }

  void store_locked(uint32_t queue, std::string body, const std::string& properties,
                    uint32_t reconsume_times) {
    auto& q = queues_[queue];
    const uint64_t offset = q.size();
    if (body.empty()) body = "q" + std::to_string(queue) + "-" + std::to_string(offset);
    q.push_back(encode_record(topic_, queue, offset, body, properties, physical_, reconsume_times));
    physical_ += q.back().size();
  }

  void on_send_back(const std::shared_ptr<Connection>& c, RemotingCommand req) {
    std::unique_lock lock(mu_);
    ++requests_;
    if (const auto* ext = req.ext<protocol::ConsumerSendMsgBackRequestT>()) {
      send_backs_.push_back(*ext);
    }
    auto resp = send_back_failure_
                    ? RemotingCommand::response_to(req, *send_back_failure_, "injected")
                    : RemotingCommand::response_to(req, ResponseCode::SUCCESS);
    lock.unlock();
    reply(c, std::move(resp));
  }

  void on_send(const std::shared_ptr<Connection>& c, RemotingCommand req) {
    const std::string body = req.body.to_string();
    auto d = record::decode(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    std::unique_lock lock(mu_);
    ++requests_;
    const auto* ext = req.ext<protocol::SendMessageRequestT>();
    if (ext == nullptr || d.outcome != record::Outcome::kRecord) {
      lock.unlock();
      return reply(c, RemotingCommand::response_to(req, ResponseCode::MESSAGE_ILLEGAL, "bad"));
    }
    SentMessage m{ext->producer_group, std::string(d.record.topic),
                  decode_properties(d.record.properties), std::string(d.record.body)};
    sent_.push_back(m);
    if (send_failure_) {
      auto resp = RemotingCommand::response_to(req, *send_failure_, "injected");
      lock.unlock();
      return reply(c, std::move(resp));
    }
    const auto queue = static_cast<uint32_t>(std::max(ext->queue_id, 0));
    protocol::SendMessageResponseT r;
    r.msg_id = name_ + "-" + std::to_string(physical_);
    r.queue_id = static_cast<int32_t>(queue);
    r.physical_offset = static_cast<int64_t>(physical_);
    r.count = 1;
    const auto& props = m.properties;
    auto number = [&](std::string_view key) -> int64_t {
      auto it = props.find(std::string(key));
      return it == props.end() ? -1 : std::stoll(it->second);
    };
    std::vector<std::pair<std::shared_ptr<Connection>, RemotingCommand>> answers;
    const int64_t max = number(kPropertyMaxReconsumeTimes);
    if (max >= 0 && number(kPropertyReconsumeTime) >= max) {
      dead_letters_.push_back(std::move(m));
    } else {
      r.queue_offset = static_cast<int64_t>(queues_[queue].size());
      store_locked(queue, m.body, std::string(d.record.properties), d.record.reconsume_times);
      answer_held_locked(queue, answers);
    }
    auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
    resp.set_ext(std::move(r));
    lock.unlock();
    for (auto& [held_conn, held_resp] : answers)
      held_conn->send(std::move(held_resp));
    reply(c, std::move(resp));
  }

  void on_lock_batch(const std::shared_ptr<Connection>& c, RemotingCommand req) {
    std::unique_lock lock(mu_);
    ++requests_;
    const auto* ext = req.ext<protocol::LockBatchRequestT>();
    std::vector<uint32_t> ids;
    protocol::LockBatchResponseT r;
    for (size_t i = 0; ext != nullptr && i < ext->queues.size(); ++i) {
      const auto& q = *ext->queues[i];
      ids.push_back(static_cast<uint32_t>(q.queue_id));
      if (lock_refused_.contains(static_cast<uint32_t>(q.queue_id))) continue;
      r.locked.push_back(std::make_unique<protocol::MessageQueueT>(q));
    }
    const bool is_lock = req.code() == static_cast<int>(RequestCode::LOCK_BATCH_MQ);
    (is_lock ? lock_requests_ : unlock_requests_).push_back(std::move(ids));
    auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
    if (is_lock) resp.set_ext(std::move(r));
    lock.unlock();
    reply(c, std::move(resp));
  }

  void on_consumer_list(const std::shared_ptr<Connection>& c, RemotingCommand req) {
    std::unique_lock lock(mu_);
    ++requests_;
    protocol::ConsumerListResponseT r;
    if (consumer_ids_override_) {
      r.client_ids = *consumer_ids_override_;
    } else {
      r.client_ids.assign(members_.begin(), members_.end());
    }
    auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
    resp.set_ext(std::move(r));
    lock.unlock();
    reply(c, std::move(resp));
  }

  const std::string name_;
  const std::string topic_;
  Signal& signal_;
  std::unique_ptr<RemotingServer> server_;
  std::string addr_;
  mutable std::mutex mu_;
  std::map<uint32_t, std::vector<std::string>> queues_;
  std::map<uint32_t, uint64_t> min_offset_;
  std::map<uint32_t, std::vector<std::shared_ptr<Held>>> held_;
  std::map<uint32_t, uint64_t> committed_;
  std::map<uint32_t, std::vector<uint64_t>> commit_history_;
  std::vector<SeenPull> pulls_;
  std::optional<ResponseCode> pull_failure_;
  std::optional<ResponseCode> send_back_failure_;
  std::optional<ResponseCode> send_failure_;
  std::vector<protocol::ConsumerSendMsgBackRequestT> send_backs_;
  std::vector<SentMessage> sent_;
  std::vector<SentMessage> dead_letters_;
  std::optional<std::vector<std::string>> consumer_ids_override_;
  std::vector<protocol::ConsumerDataT> heartbeat_data_;
  std::set<std::string> members_;
  std::vector<std::string> unregistered_;
  std::set<uint32_t> lock_refused_;
  std::vector<std::vector<uint32_t>> lock_requests_;
  std::vector<std::vector<uint32_t>> unlock_requests_;
  uint64_t physical_ = 0;
  size_t served_ = 0;
  size_t requests_ = 0;
};

class FakeNameServer {
 public:
  FakeNameServer() : server_(make_server()) {
    server_->register_handler(RequestCode::GET_ROUTEINFO_BY_TOPIC,
                              [this](const std::shared_ptr<Connection>& c, RemotingCommand req) {
                                std::unique_lock lock(mu_);
                                const auto* ext = req.ext<protocol::GetRouteInfoRequestT>();
                                auto it = ext ? routes_.find(ext->topic) : routes_.end();
                                RemotingCommand resp;
                                if (it == routes_.end()) {
                                  resp = RemotingCommand::response_to(
                                      req, ResponseCode::TOPIC_NOT_EXIST, "no route");
                                } else {
                                  resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
                                  resp.set_ext(protocol::TopicRouteDataT(it->second));
                                }
                                lock.unlock();
                                c->send(std::move(resp));
                              });
    EXPECT_TRUE(server_->start().is_ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  ~FakeNameServer() { server_->stop(); }

  const std::string& addr() const { return addr_; }

  // One broker group: `addrs` maps broker id → address (no id 0: the master is gone).
  void set_route(const std::string& broker_name, const std::map<int64_t, std::string>& addrs,
                 int queues = 4, const std::string& topic = kTopic) {
    protocol::TopicRouteDataT route;
    auto q = std::make_unique<protocol::QueueDataT>();
    q->broker_name = broker_name;
    q->read_queue_nums = queues;
    q->write_queue_nums = queues;
    q->perm = kPermRead | kPermWrite;
    route.queue_datas.push_back(std::move(q));
    auto bd = std::make_unique<protocol::BrokerDataT>();
    bd->cluster = "DefaultCluster";
    bd->broker_name = broker_name;
    for (const auto& [id, addr] : addrs) {
      auto a = std::make_unique<protocol::BrokerAddrT>();
      a->broker_id = id;
      a->addr = addr;
      bd->broker_addrs.push_back(std::move(a));
    }
    route.broker_datas.push_back(std::move(bd));
    std::lock_guard lock(mu_);
    routes_[topic] = std::move(route);
  }

 private:
  std::unique_ptr<RemotingServer> server_;
  std::string addr_;
  std::mutex mu_;
  std::map<std::string, protocol::TopicRouteDataT> routes_;
};

// What a listener saw, in delivery order.
struct Delivery {
  uint32_t queue_id;
  uint64_t queue_offset;
  uint32_t reconsume_times;
  std::string body;
  std::string topic;
  std::string broker_name;
  std::string msg_id;
  uint64_t physical_offset = 0;
  std::string tags;
  std::chrono::steady_clock::time_point at;
};

class ConsumerTest : public ::testing::Test {
 protected:
  ConsumerTest() : broker_("broker-a", signal_) {
    namesrv_.set_route("broker-a", {{0, broker_.addr()}});
  }

  ClientConfig config(const std::string& client_id = "") {
    ClientConfig c;
    c.namesrv_addr = namesrv_.addr();
    c.client_id = client_id.empty() ? "consumer-test@" + std::to_string(++clients_) : client_id;
    c.heartbeat_interval = 500ms;
    c.poll_name_server_interval = 500ms;
    return c;
  }

  std::unique_ptr<PushConsumer> push_consumer(const std::string& client_id = "") {
    auto c = std::make_unique<PushConsumer>(kGroup, config(client_id));
    EXPECT_TRUE(c->subscribe(kTopic, "*").is_ok());
    c->set_consume_from_where(ConsumeFromWhere::kFirstOffset);
    c->set_rebalance_interval(100ms);
    c->set_persist_offset_interval(50ms);
    c->set_long_polling_suspend(200ms);
    c->set_reconsume_delay(50ms);
    return c;
  }

  // A listener recording every delivery; `decide` picks the answer.
  MessageListener recorder(std::function<ConsumeStatus(const MessageExt&)> decide = nullptr) {
    return [this, decide](const std::vector<MessageExt>& msgs) {
      ConsumeStatus status = ConsumeStatus::kSuccess;
      for (const auto& m : msgs) {
        if (decide && decide(m) == ConsumeStatus::kReconsumeLater)
          status = ConsumeStatus::kReconsumeLater;
      }
      {
        std::lock_guard lock(mu_);
        for (const auto& m : msgs)
          deliveries_.push_back(delivery_of(m));
      }
      signal_.notify();
      return status;
    };
  }
  static Delivery delivery_of(const MessageExt& m) {
    return {
        m.queue_id,    m.queue_offset, m.reconsume_times, m.body, m.topic,
        m.broker_name, m.msg_id,       m.physical_offset, m.tags, std::chrono::steady_clock::now()};
  }
  // An orderly listener recording every delivery; `decide` picks the answer.
  MessageListenerOrderly orderly_recorder(std::function<bool(const MessageExt&)> suspend) {
    return [this, suspend](const std::vector<MessageExt>& msgs) {
      bool failed = false;
      for (const auto& m : msgs)
        failed = failed || suspend(m);
      {
        std::lock_guard lock(mu_);
        for (const auto& m : msgs)
          deliveries_.push_back(delivery_of(m));
      }
      signal_.notify();
      return failed ? ConsumeOrderlyStatus::kSuspendCurrentQueueAMoment
                    : ConsumeOrderlyStatus::kSuccess;
    };
  }
  std::vector<Delivery> deliveries() {
    std::lock_guard lock(mu_);
    return deliveries_;
  }
  std::vector<Delivery> deliveries_of(uint32_t queue) {
    std::vector<Delivery> out;
    for (auto& d : deliveries())
      if (d.queue_id == queue) out.push_back(d);
    return out;
  }
  std::vector<uint64_t> offsets_of(uint32_t queue, const std::string& broker = "broker-a") {
    std::vector<uint64_t> out;
    for (auto& d : deliveries())
      if (d.queue_id == queue && d.broker_name == broker) out.push_back(d.queue_offset);
    return out;
  }
  bool wait_committed(uint32_t queue, uint64_t offset) {
    return signal_.wait([&] { return broker_.committed(queue) == offset; });
  }

  Signal signal_;
  FakeNameServer namesrv_;
  FakeBroker broker_;
  int clients_ = 0;
  std::mutex mu_;
  std::vector<Delivery> deliveries_;
};

// --- PullConsumer --------------------------------------------------------------------------

TEST_F(ConsumerTest, PullConsumerPullsAndMapsStatuses) {
  broker_.add_messages(1, 5, "TagA");
  PullConsumer consumer(kGroup, config());
  EXPECT_EQ(consumer.pull({kTopic, "broker-a", 1}, "*", 0, 32).status().code(), Code::kUnavailable);
  ASSERT_TRUE(consumer.start().is_ok());

  auto queues = consumer.fetch_subscribe_message_queues(kTopic);
  ASSERT_TRUE(queues.is_ok()) << queues.status().to_string();
  ASSERT_EQ(queues->size(), 4u);
  const MessageQueue mq = (*queues)[1];
  EXPECT_EQ(mq, (MessageQueue{kTopic, "broker-a", 1}));

  auto found = consumer.pull(mq, "*", 0, 3);
  ASSERT_TRUE(found.is_ok()) << found.status().to_string();
  EXPECT_EQ(found->status, PullStatus::kFound);
  ASSERT_EQ(found->msgs.size(), 3u);
  EXPECT_EQ(found->msgs[2].body, "q1-2");
  EXPECT_EQ(found->msgs[2].tags, "TagA");
  EXPECT_EQ(found->next_begin_offset, 3u);

  auto none = consumer.pull(mq, "*", 5, 32);
  ASSERT_TRUE(none.is_ok());
  EXPECT_EQ(none->status, PullStatus::kNoNewMsg);
  auto moved = consumer.pull(mq, "*", 50, 32);
  ASSERT_TRUE(moved.is_ok());
  EXPECT_EQ(moved->status, PullStatus::kOffsetIllegal);
  EXPECT_EQ(moved->next_begin_offset, 5u);
  auto filtered = consumer.pull(mq, "TagB", 0, 32);
  ASSERT_TRUE(filtered.is_ok());
  EXPECT_EQ(filtered->status, PullStatus::kFound);
  EXPECT_TRUE(filtered->msgs.empty());
  EXPECT_EQ(filtered->next_begin_offset, 5u);

  EXPECT_EQ(consumer.max_offset(mq).value(), 5u);
  EXPECT_EQ(consumer.min_offset(mq).value(), 0u);
  EXPECT_FALSE(consumer.fetch_consume_offset(mq).value().has_value());
  ASSERT_TRUE(consumer.update_consume_offset(mq, 3).is_ok());
  EXPECT_EQ(consumer.fetch_consume_offset(mq).value(), std::optional<uint64_t>(3));

  broker_.fail_pulls(ResponseCode::SYSTEM_BUSY);
  EXPECT_EQ(consumer.pull(mq, "*", 0, 1).status().code(), Code::kUnavailable);
  consumer.shutdown();
}

TEST_F(ConsumerTest, PullBlockIfNotFoundIsWokenByAMessage) {
  PullConsumer consumer(kGroup, config());
  ASSERT_TRUE(consumer.start().is_ok());
  const MessageQueue mq{kTopic, "broker-a", 2};
  std::thread sender([&] {
    // Once the pull is held, a message arrives.
    signal_.wait([&] { return !broker_.pulls().empty(); });
    broker_.add_messages(2, 1);
  });
  const auto begin = std::chrono::steady_clock::now();
  auto r = consumer.pull_block_if_not_found(mq, "*", 0, 32);
  sender.join();
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->status, PullStatus::kFound);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 10s);
  ASSERT_FALSE(broker_.pulls().empty());
  EXPECT_EQ(broker_.pulls()[0].suspend, 15000);
}

// comet-admin consumeMessage --wait-ms: the broker is asked to hold the pull no longer than that.
TEST_F(ConsumerTest, PullBlockIfNotFoundHoldsNoLongerThanTheBrokerSuspendMaxTime) {
  PullConsumer consumer(kGroup, config());
  consumer.set_broker_suspend_max_time(300ms);
  consumer.set_pull_timeout_when_suspend(5300ms);
  ASSERT_TRUE(consumer.start().is_ok());
  const MessageQueue mq{kTopic, "broker-a", 2};
  auto r = consumer.pull_block_if_not_found(mq, "*", 0, 32);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->status, PullStatus::kNoNewMsg);
  ASSERT_FALSE(broker_.pulls().empty());
  EXPECT_EQ(broker_.pulls()[0].suspend, 300);
}

TEST_F(ConsumerTest, ReadsAndCommitsGoToTheLowestSlaveWhenTheMasterIsGone) {
  FakeBroker slave1("broker-a", signal_);
  FakeBroker slave2("broker-a", signal_);
  slave1.add_messages(0, 4);
  slave2.add_messages(0, 4);
  // The master expired from the route: slaves 2 and 1 remain.
  namesrv_.set_route("broker-a", {{2, slave2.addr()}, {1, slave1.addr()}});
  PullConsumer consumer(kGroup, config());
  ASSERT_TRUE(consumer.start().is_ok());
  const MessageQueue mq{kTopic, "broker-a", 0};
  auto r = consumer.pull(mq, "*", 0, 32);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->msgs.size(), 4u);
  ASSERT_TRUE(consumer.update_consume_offset(mq, 4).is_ok());
  EXPECT_EQ(slave1.committed(0), std::optional<uint64_t>(4));
  EXPECT_EQ(slave1.pulls().size(), 1u);
  EXPECT_EQ(slave2.requests_seen(), 0u);
  EXPECT_EQ(broker_.requests_seen(), 0u);
}

TEST_F(ConsumerTest, AReadTheMasterDoesNotAnswerGoesToASlave) {
  // The master was killed a moment ago and the route still names it: its port refuses.
  const std::string dead = "127.0.0.1:" + std::to_string(free_loopback_port());
  FakeBroker slave("broker-a", signal_);
  slave.add_messages(0, 4);
  namesrv_.set_route("broker-a", {{0, dead}, {1, slave.addr()}});
  PullConsumer consumer(kGroup, config());
  ASSERT_TRUE(consumer.start().is_ok());
  const MessageQueue mq{kTopic, "broker-a", 0};
  auto max = consumer.max_offset(mq);
  ASSERT_TRUE(max.is_ok()) << max.status().to_string();
  EXPECT_EQ(*max, 4u);
  auto r = consumer.pull(mq, "*", 0, 32);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->msgs.size(), 4u);
  EXPECT_EQ(slave.pulls().size(), 1u);

  // With no replica answering, the error names both attempts.
  namesrv_.set_route("broker-a", {{0, dead}});
  PullConsumer alone(kGroup, config());
  ASSERT_TRUE(alone.start().is_ok());
  auto none = alone.max_offset(mq);
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find(dead), std::string::npos) << none.status().to_string();
}

// --- PushConsumer --------------------------------------------------------------------------

TEST_F(ConsumerTest, PushConsumerNeedsListenerAndSubscription) {
  PushConsumer bare(kGroup, config());
  EXPECT_EQ(bare.start().code(), Code::kInvalidArgument);
  EXPECT_EQ(bare.subscribe("bad topic!", "*").code(), Code::kInvalidArgument);
  ASSERT_TRUE(bare.subscribe(kTopic).is_ok());
  EXPECT_EQ(bare.start().code(), Code::kInvalidArgument);  // no listener
  PushConsumer bad_group("bad group", config());
  ASSERT_TRUE(bad_group.subscribe(kTopic).is_ok());
  bad_group.register_message_listener(recorder());
  EXPECT_EQ(bad_group.start().code(), Code::kInvalidArgument);
}

TEST_F(ConsumerTest, PushConsumerDeliversEveryQueueInOrderAndCommits) {
  for (uint32_t q = 0; q < 4; ++q)
    broker_.add_messages(q, 40);
  auto consumer = push_consumer();
  consumer->set_pull_batch_size(8);
  consumer->register_message_listener(recorder());
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(signal_.wait([&] { return deliveries().size() >= 160; }));
  // Long polling: messages sent later arrive too.
  broker_.add_messages(3, 5);
  ASSERT_TRUE(signal_.wait([&] { return deliveries().size() >= 165; }));
  for (uint32_t q = 0; q < 4; ++q) {
    auto got = deliveries_of(q);
    ASSERT_EQ(got.size(), q == 3 ? 45u : 40u);
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i].queue_offset, i) << "queue " << q;
    EXPECT_TRUE(wait_committed(q, got.size())) << q;
  }
  EXPECT_EQ(consumer->assigned_queues().size(), 4u);

  // Membership: heartbeats carry the group, its model and subscriptions, the group's retry topic
  // among them.
  auto hb = broker_.heartbeat_data();
  ASSERT_FALSE(hb.empty());
  EXPECT_EQ(hb.back().group_name, kGroup);
  EXPECT_EQ(hb.back().message_model, "CLUSTERING");
  std::map<std::string, std::string> subscriptions;
  for (const auto& sub : hb.back().subscriptions)
    subscriptions[sub->topic] = sub->expression;
  EXPECT_EQ(subscriptions,
            (std::map<std::string, std::string>{{kTopic, "*"}, {"%RETRY%" + kGroup, "*"}}));
  consumer->shutdown();
  // UNREGISTER_CLIENT arrived (the shared client's oneway one may arrive too).
  auto unregistered = broker_.unregistered();
  ASSERT_FALSE(unregistered.empty());
  for (const auto& id : unregistered)
    EXPECT_EQ(id, consumer->client_id());
  EXPECT_TRUE(broker_.members().empty());
}

TEST_F(ConsumerTest, OffsetIsCommittedOnlyPastSuccessfullyConsumedMessages) {
  broker_.add_messages(0, 10);
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open = false;
  auto consumer = push_consumer();
  auto record = recorder();
  consumer->register_message_listener([&](const std::vector<MessageExt>& msgs) {
    if (msgs.front().queue_id == 0 && msgs.front().queue_offset == 3) {
      signal_.notify();
      std::unique_lock lock(gate_mu);
      // Bounded: the test opens the gate well within this.
      gate_cv.wait_for(lock, kWait, [&] { return open; });
    }
    return record(msgs);
  });
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(wait_committed(0, 3));
  // While message 3 is in the listener, commits keep coming (with every long-polling pull of the
  // other queues and of this one while it fetches ahead) and none passes 3.
  const size_t pulls_before = broker_.pulls().size();
  ASSERT_TRUE(signal_.wait([&] { return broker_.pulls().size() >= pulls_before + 8; }));
  for (uint64_t c : broker_.commit_history(0))
    EXPECT_LE(c, 3u);
  EXPECT_EQ(deliveries_of(0).size(), 3u);
  {
    std::lock_guard lock(gate_mu);
    open = true;
  }
  gate_cv.notify_all();
  ASSERT_TRUE(wait_committed(0, 10));
  consumer->shutdown();
}

TEST_F(ConsumerTest, StartsAtTheCommittedOffsetElseAtConsumeFromWhere) {
  broker_.add_messages(0, 6);
  broker_.add_messages(1, 6);
  broker_.add_messages(2, 6);
  broker_.set_committed(0, 4);
  auto consumer = push_consumer();
  consumer->set_consume_from_where(ConsumeFromWhere::kLastOffset);
  consumer->register_message_listener(recorder());
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(signal_.wait([&] { return deliveries_of(0).size() >= 2; }));
  // Queues without an offset start at their end, and that start is committed at once.
  ASSERT_TRUE(wait_committed(1, 6));
  ASSERT_TRUE(wait_committed(2, 6));
  broker_.add_messages(1, 1);
  ASSERT_TRUE(signal_.wait([&] { return deliveries_of(1).size() >= 1; }));
  EXPECT_EQ(deliveries_of(0).front().queue_offset, 4u);
  EXPECT_EQ(deliveries_of(1).front().queue_offset, 6u);
  EXPECT_TRUE(deliveries_of(2).empty());
  consumer->shutdown();
}

TEST_F(ConsumerTest, IllegalOffsetContinuesWhereTheBrokerSays) {
  broker_.add_messages(0, 6);
  broker_.set_min_offset(0, 2);  // 0 and 1 are gone
  broker_.set_committed(0, 0);
  auto consumer = push_consumer();
  consumer->register_message_listener(recorder());
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(wait_committed(0, 6));
  std::vector<uint64_t> offsets;
  for (const auto& d : deliveries_of(0))
    offsets.push_back(d.queue_offset);
  EXPECT_EQ(offsets, (std::vector<uint64_t>{2, 3, 4, 5}));
  consumer->shutdown();
}

TEST_F(ConsumerTest, RebalanceTakesTheOwnShareOfTheListedMembers) {
  auto consumer = push_consumer("cid-b");
  consumer->register_message_listener(recorder());
  // Members a, b, c over 4 queues: a gets 0 and 1, b gets 2, c gets 3.
  broker_.set_consumer_ids(std::vector<std::string>{"cid-c", "cid-a", "cid-b"});
  ASSERT_TRUE(consumer->start().is_ok());
  auto assigned = [&] { return ids(consumer->assigned_queues()); };
  ASSERT_TRUE(signal_.wait([&] { return assigned() == std::vector<uint32_t>{2}; }));
  // c leaves: b now owns 2 and 3; the queue it keeps is not restarted.
  broker_.set_consumer_ids(std::vector<std::string>{"cid-a", "cid-b"});
  broker_.add_messages(3, 2);
  ASSERT_TRUE(signal_.wait([&] { return assigned() == std::vector<uint32_t>{2, 3}; }));
  ASSERT_TRUE(signal_.wait([&] { return deliveries_of(3).size() >= 2; }));
  // Four members over four queues: b owns queue 1 only and releases 2 and 3.
  broker_.set_consumer_ids(std::vector<std::string>{"cid-a", "cid-b", "cid-c", "cid-d"});
  ASSERT_TRUE(signal_.wait([&] { return assigned() == std::vector<uint32_t>{1}; }));
  // The released queue's offset was committed when it was dropped.
  EXPECT_EQ(broker_.committed(3), std::optional<uint64_t>(2));
  // Not listed (the heartbeat has not arrived): keep what we have.
  broker_.set_consumer_ids(std::vector<std::string>{"cid-x"});
  const size_t before = broker_.requests_seen();
  ASSERT_TRUE(signal_.wait([&] { return broker_.requests_seen() >= before + 5; }));
  EXPECT_EQ(assigned(), std::vector<uint32_t>{1});
  consumer->shutdown();
}

TEST_F(ConsumerTest, PullingPausesWhenTheQueueBufferIsFull) {
  broker_.add_messages(0, 100);
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open = false;
  auto consumer = push_consumer();
  consumer->set_pull_threshold_for_queue(10);
  consumer->set_pull_batch_size(4);
  auto record = recorder();
  consumer->register_message_listener([&](const std::vector<MessageExt>& msgs) {
    if (msgs.front().queue_offset == 0) {
      std::unique_lock lock(gate_mu);
      gate_cv.wait_for(lock, kWait, [&] { return open; });
    }
    return record(msgs);
  });
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(signal_.wait([&] { return broker_.served() >= 10; }));
  // Bounded wait for something that must not happen: more pulls past the threshold.
  EXPECT_FALSE(signal_.wait([&] { return broker_.served() > 12; }, 300ms));
  {
    std::lock_guard lock(gate_mu);
    open = true;
  }
  gate_cv.notify_all();
  ASSERT_TRUE(wait_committed(0, 100));
  EXPECT_EQ(deliveries_of(0).size(), 100u);
  consumer->shutdown();
}

TEST_F(ConsumerTest, PullErrorsAreRetriedAfterABackoff) {
  broker_.add_messages(0, 3);
  broker_.fail_pulls(ResponseCode::SYSTEM_ERROR);
  auto consumer = push_consumer();
  consumer->register_message_listener(recorder());
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(signal_.wait([&] { return broker_.pulls().size() >= 4; }));
  // 4 queues each failed once; the retries come after the backoff, not in a spin.
  const size_t failed = broker_.pulls().size();
  EXPECT_LE(failed, 8u);
  broker_.fail_pulls(std::nullopt);
  ASSERT_TRUE(wait_committed(0, 3));
  EXPECT_EQ(deliveries_of(0).size(), 3u);
  consumer->shutdown();
}

TEST_F(ConsumerTest, BroadcastingKeepsOffsetsInALocalFile) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("comet-broadcast-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  broker_.add_messages(0, 5);
  broker_.add_messages(1, 5);
  {
    auto consumer = push_consumer();
    consumer->set_message_model(MessageModel::kBroadcasting);
    consumer->set_offset_store_dir(dir.string());
    // Broadcasting ignores the group's members: every queue is ours.
    broker_.set_consumer_ids(std::vector<std::string>{"someone-else"});
    consumer->register_message_listener(recorder());
    ASSERT_TRUE(consumer->start().is_ok());
    ASSERT_TRUE(signal_.wait([&] { return deliveries().size() >= 10; }));
    ASSERT_TRUE(signal_.wait([&] { return consumer->assigned_queues().size() == 4u; }));
    consumer->shutdown();
    EXPECT_EQ(broker_.heartbeat_data().back().message_model, "BROADCASTING");
  }
  // Nothing committed to the broker: pulls carry no commit offset either.
  EXPECT_FALSE(broker_.committed(0).has_value());
  auto store = LocalFileOffsetStore::open(dir.string());
  ASSERT_TRUE(store.is_ok());
  EXPECT_EQ((*store)->read({kTopic, "broker-a", 0}).value(), std::optional<uint64_t>(5));
  EXPECT_EQ((*store)->read({kTopic, "broker-a", 1}).value(), std::optional<uint64_t>(5));

  // A restart resumes from the file: only the new message arrives.
  broker_.add_messages(1, 1);
  auto again = push_consumer();
  again->set_message_model(MessageModel::kBroadcasting);
  again->set_offset_store_dir(dir.string());
  again->register_message_listener(recorder());
  ASSERT_TRUE(again->start().is_ok());
  ASSERT_TRUE(signal_.wait([&] { return deliveries().size() >= 11; }));
  EXPECT_EQ(deliveries().back().queue_offset, 5u);
  EXPECT_EQ(deliveries().back().queue_id, 1u);
  again->shutdown();
  EXPECT_EQ(deliveries().size(), 11u);
  std::filesystem::remove_all(dir);
}

// --- PushConsumer: retries and dead letters ---------------------------------------------------

const std::string kRetryTopic = "%RETRY%" + kGroup;

// A broker holding the group's retry topic (one queue), routed by the name server.
class RetryTest : public ConsumerTest {
 protected:
  RetryTest() : retry_("broker-r", signal_, kRetryTopic) {
    namesrv_.set_route("broker-r", {{0, retry_.addr()}}, 1, kRetryTopic);
  }
  FakeBroker retry_;
};

TEST_F(RetryTest, AFailedMessageIsSentBackAndTheQueueMovesOn) {
  broker_.add_messages(0, 5);
  auto consumer = push_consumer();
  consumer->set_max_reconsume_times(5);
  consumer->register_message_listener(recorder([](const MessageExt& m) {
    return m.queue_offset == 2 ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
  }));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(wait_committed(0, 5));
  // Delivered once each: the broker keeps the failed one for a later retry.
  EXPECT_EQ(offsets_of(0), (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  const Delivery failed = deliveries_of(0)[2];
  auto backs = broker_.send_backs();
  ASSERT_EQ(backs.size(), 1u);
  EXPECT_EQ(backs[0].offset, static_cast<int64_t>(failed.physical_offset));
  EXPECT_NE(failed.physical_offset, 0u);
  EXPECT_EQ(backs[0].group, kGroup);
  EXPECT_EQ(backs[0].delay_level, 0);
  EXPECT_EQ(backs[0].origin_msg_id, failed.msg_id);
  EXPECT_EQ(backs[0].origin_topic, kTopic);
  EXPECT_EQ(backs[0].max_reconsume_times, 5);
  EXPECT_TRUE(retry_.sent().empty());
  EXPECT_EQ(consumer->sent_back_messages(), 1u);
  consumer->shutdown();
}

TEST_F(RetryTest, MaxReconsumeTimesMinusOneLeavesTheLimitToTheGroup) {
  broker_.add_messages(0, 1);
  auto consumer = push_consumer();
  consumer->register_message_listener(
      recorder([](const MessageExt&) { return ConsumeStatus::kReconsumeLater; }));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(wait_committed(0, 1));
  auto backs = broker_.send_backs();
  ASSERT_EQ(backs.size(), 1u);
  EXPECT_EQ(backs[0].max_reconsume_times, -1);
  consumer->shutdown();
}

TEST_F(RetryTest, AFailedSendBackFallsBackToASendToTheRetryTopic) {
  broker_.fail_send_backs(ResponseCode::SYSTEM_ERROR);
  broker_.add_message(0, "payload", encode_properties({{"TAGS", "TagA"}, {"color", "blue"}}));
  broker_.add_messages(0, 1);
  auto consumer = push_consumer();
  consumer->set_max_reconsume_times(4);
  // Fails the message where it was first stored; takes it from the retry topic.
  consumer->register_message_listener(recorder([](const MessageExt& m) {
    return m.broker_name == "broker-a" && m.queue_offset == 0 ? ConsumeStatus::kReconsumeLater
                                                              : ConsumeStatus::kSuccess;
  }));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(wait_committed(0, 2));
  ASSERT_TRUE(signal_.wait([&] { return retry_.committed(0) == std::optional<uint64_t>(1); }));
  EXPECT_EQ(broker_.send_backs().size(), 1u);
  const Delivery first = deliveries_of(0).front();
  auto sent = retry_.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].producer_group, "CLIENT_INNER_PRODUCER|" + kGroup);
  EXPECT_EQ(sent[0].topic, kRetryTopic);
  EXPECT_EQ(sent[0].body, "payload");
  // The stored message had no UNIQ_KEY (its msg_id is its offsetMsgId): the retry producer gives
  // the copy one, as every send does.
  auto props = sent[0].properties;
  EXPECT_EQ(props[std::string(kPropertyUniqKey)].size(), 32u);
  props.erase(std::string(kPropertyUniqKey));
  EXPECT_EQ(props, (std::map<std::string, std::string>{
                       {"TAGS", "TagA"},
                       {"color", "blue"},
                       {"RETRY_TOPIC", kTopic},
                       {"ORIGIN_MESSAGE_ID", first.msg_id},
                       {"RECONSUME_TIME", "1"},
                       {"MAX_RECONSUME_TIMES", "4"},
                       {"DELAY", "3"},
                   }));
  // The retried copy came back through the retry topic, under its original topic.
  auto again = offsets_of(0, "broker-r");
  ASSERT_EQ(again.size(), 1u);
  for (const auto& d : deliveries()) {
    if (d.broker_name != "broker-r") continue;
    EXPECT_EQ(d.topic, kTopic);
    EXPECT_EQ(d.body, "payload");
    EXPECT_EQ(d.tags, "TagA");
    // The producer wrote RECONSUME_TIME into the record, as RocketMQ's request header carries it.
    EXPECT_EQ(d.reconsume_times, 1u);
  }
  EXPECT_EQ(consumer->sent_back_messages(), 1u);
  consumer->shutdown();
}

TEST_F(RetryTest, WhenNoBrokerTakesItBackItIsRedeliveredHereWithoutAdvancingTheOffset) {
  broker_.fail_send_backs(ResponseCode::SYSTEM_ERROR);
  retry_.fail_sends(ResponseCode::MESSAGE_ILLEGAL);
  broker_.add_messages(0, 4);
  auto consumer = push_consumer();
  consumer->register_message_listener(recorder([](const MessageExt& m) {
    return m.queue_offset == 1 && m.reconsume_times < 2 ? ConsumeStatus::kReconsumeLater
                                                        : ConsumeStatus::kSuccess;
  }));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(wait_committed(0, 4));
  // The others did not wait for it; it came back twice, counting its reconsume times.
  EXPECT_EQ(offsets_of(0), (std::vector<uint64_t>{0, 1, 2, 3, 1, 1}));
  std::vector<uint32_t> times;
  for (const auto& d : deliveries_of(0))
    if (d.queue_offset == 1) times.push_back(d.reconsume_times);
  EXPECT_EQ(times, (std::vector<uint32_t>{0, 1, 2}));
  // While it was held here, no commit went past it.
  for (uint64_t c : broker_.commit_history(0))
    EXPECT_TRUE(c <= 1 || c == 4) << c;
  EXPECT_EQ(broker_.send_backs().size(), 2u);
  EXPECT_EQ(retry_.sent().size(), 2u);
  EXPECT_TRUE(retry_.dead_letters().empty());
  EXPECT_EQ(consumer->sent_back_messages(), 0u);
  consumer->shutdown();
}

TEST_F(RetryTest, ARetriedMessageIsShownUnderItsOriginalTopic) {
  retry_.add_message(
      0, "again",
      encode_properties(
          {{"TAGS", "TagA"}, {"RETRY_TOPIC", kTopic}, {"ORIGIN_MESSAGE_ID", "ORIGIN-1"}}),
      /*reconsume_times=*/3);
  auto consumer = push_consumer();
  std::atomic<int> calls{0};
  consumer->register_message_listener(recorder([&](const MessageExt&) {
    return ++calls == 1 ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
  }));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(signal_.wait([&] { return retry_.committed(0) == std::optional<uint64_t>(1); }));
  auto got = deliveries();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, kTopic);
  EXPECT_EQ(got[0].broker_name, "broker-r");
  EXPECT_EQ(got[0].reconsume_times, 3u);
  EXPECT_EQ(got[0].body, "again");
  // Failed again: sent back to the broker that holds it, named by its original topic.
  auto backs = retry_.send_backs();
  ASSERT_EQ(backs.size(), 1u);
  EXPECT_EQ(backs[0].origin_topic, kTopic);
  EXPECT_EQ(backs[0].offset, static_cast<int64_t>(got[0].physical_offset));
  EXPECT_TRUE(broker_.send_backs().empty());
  consumer->shutdown();
}

TEST_F(RetryTest, TheFallbackKeepsTheOriginMessageIdOfAnEarlierRetry) {
  broker_.fail_send_backs(ResponseCode::SYSTEM_ERROR);
  retry_.fail_send_backs(ResponseCode::SYSTEM_ERROR);
  retry_.add_message(0, "again",
                     encode_properties({{"RETRY_TOPIC", kTopic},
                                        {"ORIGIN_MESSAGE_ID", "ORIGIN-1"},
                                        {"RECONSUME_TIME", "2"},
                                        {"MAX_RECONSUME_TIMES", "16"}}),
                     /*reconsume_times=*/2);
  auto consumer = push_consumer();
  std::atomic<int> calls{0};
  consumer->register_message_listener(recorder([&](const MessageExt&) {
    return ++calls == 1 ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
  }));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(signal_.wait([&] { return retry_.committed(0) == std::optional<uint64_t>(2); }));
  auto sent = retry_.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].properties.at("ORIGIN_MESSAGE_ID"), "ORIGIN-1");
  EXPECT_EQ(sent[0].properties.at("RETRY_TOPIC"), kTopic);
  EXPECT_EQ(sent[0].properties.at("RECONSUME_TIME"), "3");
  EXPECT_EQ(sent[0].properties.at("DELAY"), "5");
  // -1: no MAX_RECONSUME_TIMES of its own, the broker uses the group's.
  EXPECT_FALSE(sent[0].properties.contains("MAX_RECONSUME_TIMES"));
  consumer->shutdown();
}

TEST_F(RetryTest, OrderlySuspendsTheQueueRetriesInOrderThenSendsToTheDlq) {
  broker_.add_messages(0, 4);
  auto consumer = push_consumer();
  consumer->set_max_reconsume_times(2);
  consumer->set_suspend_current_queue_time(100ms);
  consumer->register_message_listener_orderly(
      orderly_recorder([](const MessageExt& m) { return m.queue_offset == 1; }));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(wait_committed(0, 4));
  EXPECT_EQ(offsets_of(0), (std::vector<uint64_t>{0, 1, 1, 1, 2, 3}));
  auto got = deliveries_of(0);
  for (size_t i = 1; i <= 3; ++i) {
    EXPECT_EQ(got[i].reconsume_times, i - 1);
    // Each redelivery came after the queue's suspension.
    if (i > 1) {
      EXPECT_GE(got[i].at - got[i - 1].at, 100ms);
    }
  }
  auto dead = retry_.dead_letters();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].topic, kRetryTopic);
  EXPECT_EQ(dead[0].body, "q0-1");
  EXPECT_EQ(dead[0].properties.at("RECONSUME_TIME"), "2");
  EXPECT_EQ(dead[0].properties.at("MAX_RECONSUME_TIMES"), "2");
  EXPECT_EQ(dead[0].properties.at("RETRY_TOPIC"), kTopic);
  EXPECT_EQ(dead[0].properties.at("ORIGIN_MESSAGE_ID"), got[1].msg_id);
  // Orderly never asks the broker to send it back (that would let later messages pass it).
  EXPECT_TRUE(broker_.send_backs().empty());
  EXPECT_EQ(consumer->sent_back_messages(), 1u);
  consumer->shutdown();
}

TEST_F(RetryTest, OrderlyKeepsTheQueueSuspendedWhileTheDlqSendFails) {
  retry_.fail_sends(ResponseCode::MESSAGE_ILLEGAL);
  broker_.add_messages(0, 3);
  auto consumer = push_consumer();
  consumer->set_max_reconsume_times(0);
  consumer->set_suspend_current_queue_time(20ms);
  consumer->register_message_listener_orderly(
      orderly_recorder([](const MessageExt& m) { return m.queue_offset == 1; }));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(signal_.wait([&] { return retry_.sent().size() >= 3; }));
  ASSERT_TRUE(wait_committed(0, 1));
  for (uint64_t offset : offsets_of(0))
    EXPECT_LE(offset, 1u);
  retry_.fail_sends(std::nullopt);
  ASSERT_TRUE(wait_committed(0, 3));
  auto offsets = offsets_of(0);
  EXPECT_EQ(offsets.back(), 2u);
  EXPECT_EQ(std::count(offsets.begin(), offsets.end(), 2u), 1);
  for (uint64_t c : broker_.commit_history(0))
    EXPECT_TRUE(c <= 1 || c == 3) << c;
  EXPECT_EQ(retry_.dead_letters().size(), 1u);
  consumer->shutdown();
}

TEST_F(RetryTest, OrderlyRetriesWithoutLimitByDefault) {
  broker_.add_messages(0, 2);
  auto consumer = push_consumer();
  consumer->set_suspend_current_queue_time(1ms);
  std::atomic<int> calls{0};
  consumer->register_message_listener_orderly(
      orderly_recorder([&](const MessageExt& m) { return m.queue_offset == 0 && ++calls <= 40; }));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(wait_committed(0, 2));
  EXPECT_EQ(offsets_of(0).size(), 42u);
  EXPECT_EQ(deliveries_of(0)[40].reconsume_times, 40u);
  EXPECT_TRUE(retry_.sent().empty());
  consumer->shutdown();
}

const auto kNeverSuspend = [](const MessageExt&) { return false; };

TEST_F(ConsumerTest, OrderlyLocksItsQueuesBeforePullingAndUnlocksThemAtShutdown) {
  broker_.refuse_lock(1, true);  // another member holds queue 1
  broker_.add_messages(0, 3);
  broker_.add_messages(1, 3);
  auto consumer = push_consumer();
  consumer->register_message_listener_orderly(orderly_recorder(kNeverSuspend));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(wait_committed(0, 3));
  // One batch for the broker's four queues; queue 1, refused, was asked for again at every
  // rebalance and never pulled.
  ASSERT_TRUE(signal_.wait([&] { return broker_.lock_requests().size() >= 3; }));
  for (const auto& pull : broker_.pulls())
    EXPECT_NE(pull.queue_id, 1u);
  EXPECT_TRUE(deliveries_of(1).empty());
  const auto first = broker_.lock_requests().front();
  EXPECT_EQ(std::set<uint32_t>(first.begin(), first.end()), (std::set<uint32_t>{0, 1, 2, 3}));
  // Once the other member lets it go, the next rebalance takes it.
  broker_.refuse_lock(1, false);
  ASSERT_TRUE(wait_committed(1, 3));
  EXPECT_EQ(offsets_of(1), (std::vector<uint64_t>{0, 1, 2}));
  consumer->shutdown();
  const auto unlocks = broker_.unlock_requests();
  ASSERT_FALSE(unlocks.empty());
  EXPECT_EQ(std::set<uint32_t>(unlocks.back().begin(), unlocks.back().end()),
            (std::set<uint32_t>{0, 1, 2, 3}));
}

TEST_F(ConsumerTest, OrderlyStopsAQueueWhoseLockRenewalIsRefused) {
  broker_.add_messages(0, 2);
  auto consumer = push_consumer();
  consumer->set_lock_renew_interval(50ms);
  consumer->register_message_listener_orderly(orderly_recorder(kNeverSuspend));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(wait_committed(0, 2));
  const auto has_queue0 = [&] {
    for (const auto& mq : consumer->assigned_queues()) {
      if (mq.queue_id == 0) return true;
    }
    return false;
  };
  broker_.refuse_lock(0, true);  // its lock lapsed and another member took it
  ASSERT_TRUE(signal_.wait([&] { return !has_queue0(); }));
  broker_.add_messages(0, 2);
  // Each rebalance asks for it again, and is refused: nothing more is consumed.
  const size_t locks = broker_.lock_requests().size();
  ASSERT_TRUE(signal_.wait([&] { return broker_.lock_requests().size() >= locks + 3; }));
  EXPECT_FALSE(has_queue0());
  EXPECT_EQ(deliveries_of(0).size(), 2u);
  // Given back: taken again from the group's offset.
  broker_.refuse_lock(0, false);
  ASSERT_TRUE(wait_committed(0, 4));
  EXPECT_EQ(offsets_of(0), (std::vector<uint64_t>{0, 1, 2, 3}));
  consumer->shutdown();
}

TEST_F(ConsumerTest, BroadcastingDropsAFailedMessageAndCountsIt) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("comet-broadcast-drop-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  broker_.add_messages(0, 3);
  auto consumer = push_consumer();
  consumer->set_message_model(MessageModel::kBroadcasting);
  consumer->set_offset_store_dir(dir.string());
  consumer->register_message_listener(recorder([](const MessageExt& m) {
    return m.queue_offset == 1 ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
  }));
  ASSERT_TRUE(consumer->start().is_ok());
  ASSERT_TRUE(signal_.wait([&] { return consumer->dropped_broadcast_messages() == 1; }));
  ASSERT_TRUE(signal_.wait([&] { return deliveries_of(0).size() >= 3; }));
  consumer->shutdown();
  EXPECT_EQ(offsets_of(0), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_TRUE(broker_.send_backs().empty());
  // No retry topic for broadcasting.
  for (const auto& hb : broker_.heartbeat_data())
    for (const auto& sub : hb.subscriptions)
      EXPECT_EQ(sub->topic, kTopic);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace comet::client
