// An unmodified RocketMQ 4.x client, npm's ali-ons (pinned in tests/rocketmq_client), against real
// comet-namesrv and comet-broker processes: the node scripts of tests/rocketmq_client each play one
// scenario and print one JSON line of what the client saw, and each test checks that line against
// what comet's own clients read from the broker. Scenarios: tags filtering with every field as
// sent; a failed message back through %RETRY%<group>; a delayed message; compressed bodies; both
// directions between ali-ons and comet's client with their message ids agreeing; and a SYNC_MASTER
// failover and a DLedger leader change that ali-ons follows through the name server's route.
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/child_process.h"
#include "common/group_topics.h"
#include "consumer/pull_consumer.h"
#include "consumer/push_consumer.h"
#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "producer/producer.h"
#include "remoting/request_signature.h"

namespace comet::testing {
namespace {

using client::ConsumeFromWhere;
using client::ConsumeStatus;
using client::MessageExt;
using client::MessageQueue;
using client::Producer;
using client::ProducerMessage;
using client::PullConsumer;
using client::PullStatus;
using client::PushConsumer;
using Clock = std::chrono::steady_clock;

// ---- base64 and JSON, as the scripts exchange messages -------------------------------------

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kBase64Alphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kBase64Alphabet[n & 63] : '=';
  }
  return out;
}

std::string unbase64(std::string_view in) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char ch : in) {
    size_t v = kBase64Alphabet.find(ch);
    if (v == std::string_view::npos) continue;  // '=' padding
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

// A JSON string literal (the parameters hold names, base64 and digits; escaped all the same).
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(ch));
      continue;
    }
    out += ch;
  }
  return out + "\"";
}

// A message for produce.js, and what the tests expect of it everywhere it arrives.
struct TestMessage {
  std::string tags;
  std::vector<std::string> keys;
  std::string body;
  std::map<std::string, std::string> properties;
  int delay_level = 0;

  std::string keys_joined() const {
    std::string out;
    for (const auto& k : keys)
      out += (out.empty() ? "" : " ") + k;
    return out;
  }
  std::string to_json() const {
    std::string keys_json;
    for (const auto& k : keys)
      keys_json += (keys_json.empty() ? "" : ",") + json_string(k);
    std::string props;
    for (const auto& [k, v] : properties)
      props += (props.empty() ? "" : ",") + json_string(k) + ":" + json_string(v);
    return fmt::format(R"({{"tags":{},"keys":[{}],"body":{},"properties":{{{}}},"delayLevel":{}}})",
                       json_string(tags), keys_json, json_string(base64(body)), props, delay_level);
  }
};

// One delivery or send result as a script printed it.
struct Seen {
  std::string topic, tags, keys, body, msg_id, uniq_key, broker_name;
  std::map<std::string, std::string> properties;
  int64_t queue_id = -1, queue_offset = -1, sys_flag = 0, reconsume_times = 0;
  int64_t received_at = 0, sent_at = 0, born_timestamp = 0, store_timestamp = 0;
};

std::string str(const rapidjson::Value& v, const char* key) {
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}
// A number, or a string of digits (ali-ons hands response header fields over as the strings the
// broker wrote); -1 when absent.
int64_t num(const rapidjson::Value& v, const char* key) {
  auto it = v.FindMember(key);
  if (it == v.MemberEnd()) return -1;
  if (it->value.IsNumber()) return it->value.GetInt64();
  if (it->value.IsString()) return std::strtoll(it->value.GetString(), nullptr, 10);
  return -1;
}

Seen seen_of(const rapidjson::Value& v) {
  Seen s;
  s.topic = str(v, "topic");
  s.tags = str(v, "tags");
  s.keys = str(v, "keys");
  s.body = unbase64(str(v, "body"));
  s.msg_id = str(v, "msgId");
  s.uniq_key = str(v, "uniqKey");
  s.broker_name = str(v, "brokerName");
  if (auto it = v.FindMember("properties"); it != v.MemberEnd() && it->value.IsObject()) {
    for (const auto& m : it->value.GetObject()) {
      if (m.value.IsString()) s.properties[m.name.GetString()] = m.value.GetString();
    }
  }
  s.queue_id = num(v, "queueId");
  s.queue_offset = num(v, "queueOffset");
  s.sys_flag = num(v, "sysFlag");
  s.reconsume_times = num(v, "reconsumeTimes");
  s.received_at = num(v, "receivedAt");
  s.sent_at = num(v, "sentAt");
  s.born_timestamp = num(v, "bornTimestamp");
  s.store_timestamp = num(v, "storeTimestamp");
  return s;
}

// ---- the node scripts ---------------------------------------------------------------------

// The node that runs the scripts: $COMET_NODE (an absolute path: to try another Node.js version)
// or the one CMake found.
std::string node_binary() {
  const char* env = std::getenv("COMET_NODE");
  return env != nullptr && *env != '\0' ? env : COMET_NODE_BIN;
}

// One scenario script run with node: its parameters in argv, its JSON lines read from stdout,
// its stderr (ali-ons's own log) in a file whose tail a failing test prints.
class NodeScript {
 public:
  static std::unique_ptr<NodeScript> start(const std::string& script, const std::string& params,
                                           const std::string& log_path) {
    auto proc = ChildProcess::spawn(
        {node_binary(), std::string(COMET_ROCKETMQ_CLIENT_DIR) + "/" + script, params}, log_path);
    EXPECT_TRUE(proc.is_ok()) << proc.status().to_string();
    if (!proc.is_ok()) return nullptr;
    return std::unique_ptr<NodeScript>(new NodeScript(std::move(*proc)));
  }

  // The next stdout line holding `marker`, parsed; a null document (and a test failure naming
  // the script's log) when it does not come within `timeout`.
  rapidjson::Document await_line(std::string_view marker, std::chrono::milliseconds timeout) {
    rapidjson::Document doc;
    auto line = proc_->wait_for_line(marker, timeout);
    if (!line.is_ok()) {
      ADD_FAILURE() << line.status().to_string() << "\n" << log_tail();
      return doc;
    }
    doc.Parse(line->c_str());
    if (doc.HasParseError() || !doc.IsObject()) {
      ADD_FAILURE() << "not a JSON object: " << *line;
      doc.SetNull();
    }
    return doc;
  }

  // Waits for the script to exit; true when it exited 0.
  bool finished_ok(std::chrono::milliseconds timeout) {
    if (!proc_->wait_exit(timeout)) {
      ADD_FAILURE() << "script still running after " << timeout.count() << " ms\n" << log_tail();
      return false;
    }
    int status = proc_->stop();
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    EXPECT_TRUE(ok) << "exit status " << status << "\n" << log_tail();
    return ok;
  }

  std::string log_tail(size_t max_bytes = 4000) const {
    std::ifstream in(proc_->log_path());
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (all.size() > max_bytes) all = all.substr(all.size() - max_bytes);
    return "---- " + proc_->log_path() + ":\n" + all;
  }

 private:
  explicit NodeScript(std::unique_ptr<ChildProcess> proc) : proc_(std::move(proc)) {}
  std::unique_ptr<ChildProcess> proc_;
};

std::vector<Seen> seen_list(const rapidjson::Document& doc, const char* key) {
  std::vector<Seen> out;
  if (!doc.IsObject()) return out;
  auto it = doc.FindMember(key);
  if (it == doc.MemberEnd() || !it->value.IsArray()) {
    ADD_FAILURE() << "no array '" << key << "' in the script's result";
    return out;
  }
  for (const auto& v : it->value.GetArray())
    out.push_back(seen_of(v));
  return out;
}

// Every delay level 1 s except level 2 (2 s): retries (level 3 and up) come back within a second
// and the delayed-message scenario waits 2 s.
std::string short_delay_levels() {
  std::string levels = "messageDelayLevel=1s 2s";
  for (int i = 2; i < 18; ++i)
    levels += " 1s";
  return levels;
}

class RocketmqClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  void start_broker() {
    auto broker = cluster_->start_broker("broker-a", {short_delay_levels()});
    ASSERT_TRUE(broker.is_ok()) << broker.status().to_string();
    broker_ = *broker;
  }

  void create_topic(const std::string& broker, const std::string& topic, int queues) {
    auto r = cluster_->client().invoke(broker, update_topic_request(topic, queues), 10s);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
    await_route(topic);
  }

  // Waits (up to 10 s) until the name server routes `topic`: the broker registers it with its
  // next heartbeat, and ali-ons, asked to send to a topic without a route, would fall back to
  // the default topic's.
  void await_route(const std::string& topic) {
    PullConsumer reader("comet-route-" + std::to_string(++scripts_),
                        cluster_->client_config("comet-route"));
    ASSERT_TRUE(reader.start().is_ok());
    const auto deadline = Clock::now() + 10s;
    bool routed = false;
    while (!routed && Clock::now() < deadline) {
      auto queues = reader.fetch_subscribe_message_queues(topic);
      routed = queues.is_ok() && !queues->empty();
      if (!routed) {
        std::unique_lock lock(wait_mu_);
        wait_cv_.wait_for(lock, 100ms);
      }
    }
    reader.shutdown();
    ASSERT_TRUE(routed) << "no route for " << topic;
  }

  std::unique_ptr<NodeScript> script(const std::string& name, const std::string& params_json) {
    return NodeScript::start(name, params_json,
                             dir_.path() + "/" + name + "-" + std::to_string(++scripts_) + ".log");
  }

  // produce.js: sends `msgs` to `topic` with ali-ons; what each send answered, in order.
  std::vector<Seen> ali_produce(const std::string& topic, const std::vector<TestMessage>& msgs) {
    std::string list;
    for (const auto& m : msgs)
      list += (list.empty() ? "" : ",") + m.to_json();
    auto s = script("produce.js",
                    fmt::format(R"({{"namesrv":{},"topic":{},"timeoutMs":30000,"messages":[{}]}})",
                                json_string(cluster_->namesrv_addr()), json_string(topic), list));
    if (!s) return {};
    auto doc = s->await_line("\"sent\"", 40s);
    s->finished_ok(10s);
    auto sent = seen_list(doc, "sent");
    EXPECT_EQ(sent.size(), msgs.size());
    return sent;
  }

  // consume.js, started: push-consumes `topic` in `group` with ali-ons once its "ready" line came.
  // `broadcast_instance` non-empty: a broadcasting consumer with that instance name.
  std::unique_ptr<NodeScript> ali_consumer(const std::string& group, const std::string& topic,
                                           const std::string& subscription, size_t expect,
                                           const std::vector<std::string>& fail_first = {},
                                           int quiet_ms = 1000,
                                           const std::string& broadcast_instance = "") {
    std::string fails;
    for (const auto& b : fail_first)
      fails += (fails.empty() ? "" : ",") + json_string(base64(b));
    auto s = script(
        "consume.js",
        fmt::format(R"({{"namesrv":{},"group":{},"topic":{},"subscription":{},)"
                    R"("expect":{},"failFirst":[{}],"quietMs":{},"timeoutMs":40000,)"
                    R"("broadcast":{},"instance":{}}})",
                    json_string(cluster_->namesrv_addr()), json_string(group), json_string(topic),
                    json_string(subscription), expect, fails, quiet_ms,
                    broadcast_instance.empty() ? "false" : "true",
                    json_string(broadcast_instance.empty() ? "DEFAULT" : broadcast_instance)));
    if (s) s->await_line("\"ready\"", 30s);
    return s;
  }

  // The deliveries a consume.js run printed (after its expected count and quiet time).
  std::vector<Seen> deliveries(NodeScript& s) {
    auto doc = s.await_line("\"messages\"", 50s);
    s.finished_ok(10s);
    return seen_list(doc, "messages");
  }

  // Every message of `topic` as comet's own client reads it from the broker(s) the name server
  // routes to, queue by queue; at least `expect` (waiting for them within 20 s).
  std::vector<MessageExt> comet_read_all(const std::string& topic, size_t expect) {
    PullConsumer reader("comet-reader-" + std::to_string(++scripts_),
                        cluster_->client_config("comet-reader"));
    EXPECT_TRUE(reader.start().is_ok());
    std::vector<MessageExt> out;
    const auto deadline = Clock::now() + 20s;
    for (int round = 0; out.size() < expect && Clock::now() < deadline; ++round) {
      if (round > 0) {
        // Not all there yet: the route comes with the broker's next registration, a message
        // with the store's dispatch. Read everything again a moment later.
        std::unique_lock lock(wait_mu_);
        wait_cv_.wait_for(lock, 200ms);
      }
      out.clear();
      auto queues = reader.fetch_subscribe_message_queues(topic);
      if (!queues.is_ok()) continue;
      for (const auto& mq : *queues)
        read_queue(reader, mq, out);
    }
    reader.shutdown();
    EXPECT_GE(out.size(), expect) << topic;
    return out;
  }

  static void read_queue(PullConsumer& reader, const MessageQueue& mq,
                         std::vector<MessageExt>& out) {
    uint64_t offset = 0;
    for (int round = 0; round < 10000; ++round) {
      auto r = reader.pull(mq, "*", offset, 32);
      if (!r.is_ok() || r->status != PullStatus::kFound) return;
      offset = r->next_begin_offset;
      for (auto& m : r->msgs)
        out.push_back(std::move(m));
    }
  }

  void ali_sends_through_failover(const std::string& topic, const std::function<void()>& fail_over,
                                  const char* what, bool same_log);

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string broker_;
  int scripts_ = 0;
  std::mutex wait_mu_;  // only to wait a bounded moment for a route, never notified
  std::condition_variable wait_cv_;
};

const MessageExt* by_body(const std::vector<MessageExt>& msgs, const std::string& body) {
  auto it = std::find_if(msgs.begin(), msgs.end(), [&](const auto& m) { return m.body == body; });
  return it == msgs.end() ? nullptr : &*it;
}
const Seen* by_body(const std::vector<Seen>& seen, const std::string& body) {
  auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.body == body; });
  return it == seen.end() ? nullptr : &*it;
}

// The user properties of `all` (RocketMQ's system properties left out).
std::map<std::string, std::string> user_properties(const std::map<std::string, std::string>& all) {
  static const std::set<std::string> kSystem = {"TAGS",
                                                "KEYS",
                                                "UNIQ_KEY",
                                                "WAIT",
                                                "DELAY",
                                                "RETRY_TOPIC",
                                                "REAL_TOPIC",
                                                "REAL_QID",
                                                "ORIGIN_MESSAGE_ID",
                                                "RECONSUME_TIME",
                                                "MAX_OFFSET",
                                                "MIN_OFFSET",
                                                "MAX_RECONSUME_TIMES",
                                                "CONSUME_START_TIME"};
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : all) {
    if (!kSystem.contains(k)) out[k] = v;
  }
  return out;
}

TEST_F(RocketmqClientTest, TagsAreFilteredAndEveryFieldArrivesAsSent) {
  ASSERT_NO_FATAL_FAILURE(start_broker());
  const std::string topic = "AliTags";
  ASSERT_NO_FATAL_FAILURE(create_topic(broker_, topic, 4));
  std::vector<TestMessage> msgs;
  for (int i = 0; i < 9; ++i) {
    TestMessage m;
    m.tags = i % 3 == 0 ? "TagA" : i % 3 == 1 ? "TagB" : "TagC";
    m.keys = {"key-" + std::to_string(i), "order-" + std::to_string(i % 2)};
    m.body = std::string("body-") + std::to_string(i) + std::string("\0\xff\x01\x02 end", 8);
    m.properties = {{"color", i % 2 ? "red" : "blue"}, {"seq", std::to_string(i)}};
    msgs.push_back(std::move(m));
  }
  auto sent = ali_produce(topic, msgs);
  ASSERT_EQ(sent.size(), msgs.size());

  auto consumer = ali_consumer("AliTagsGroup", topic, "TagA || TagB", 6, {}, 1500);
  ASSERT_TRUE(consumer);
  auto got = deliveries(*consumer);
  // The six TagA/TagB messages, once each (the quiet time shows no TagC and no second delivery).
  ASSERT_EQ(got.size(), 6u);
  auto stored = comet_read_all(topic, msgs.size());
  ASSERT_EQ(stored.size(), msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    const TestMessage& m = msgs[i];
    const Seen* delivered = by_body(got, m.body);
    EXPECT_EQ(delivered != nullptr, m.tags != "TagC") << i;
    if (delivered) {
      EXPECT_EQ(delivered->topic, topic);
      EXPECT_EQ(delivered->tags, m.tags);
      EXPECT_EQ(delivered->keys, m.keys_joined());
      EXPECT_EQ(user_properties(delivered->properties), m.properties);
      EXPECT_EQ(delivered->msg_id, sent[i].msg_id) << i;
      EXPECT_EQ(delivered->queue_id, sent[i].queue_id) << i;
      EXPECT_EQ(delivered->queue_offset, sent[i].queue_offset) << i;
      EXPECT_EQ(delivered->reconsume_times, 0) << i;
    }
    // What comet stored is the same message under the same id.
    const MessageExt* s = by_body(stored, m.body);
    ASSERT_NE(s, nullptr) << i;
    EXPECT_EQ(s->tags, m.tags);
    EXPECT_EQ(s->keys, m.keys_joined());
    EXPECT_EQ(user_properties(s->properties), m.properties);
    EXPECT_EQ(s->offset_msg_id, sent[i].msg_id) << i;
    EXPECT_EQ(static_cast<int64_t>(s->queue_id), sent[i].queue_id) << i;
    EXPECT_EQ(static_cast<int64_t>(s->queue_offset), sent[i].queue_offset) << i;
  }
  // ali-ons committed its progress (UPDATE_CONSUMER_OFFSET, and at its close): comet's client
  // reads the group's offset of each queue past the last message delivered there.
  std::map<int64_t, int64_t> delivered_end;
  for (const auto& d : got)
    delivered_end[d.queue_id] = std::max(delivered_end[d.queue_id], d.queue_offset + 1);
  PullConsumer group_reader("AliTagsGroup", cluster_->client_config("comet-offsets"));
  ASSERT_TRUE(group_reader.start().is_ok());
  for (const auto& [queue, end] : delivered_end) {
    auto committed = group_reader.fetch_consume_offset(
        MessageQueue{topic, "broker-a", static_cast<uint32_t>(queue)});
    ASSERT_TRUE(committed.is_ok()) << committed.status().to_string();
    ASSERT_TRUE(committed->has_value()) << "queue " << queue;
    EXPECT_GE(static_cast<int64_t>(**committed), end) << "queue " << queue;
  }
  group_reader.shutdown();
}

TEST_F(RocketmqClientTest, AFailedMessageComesBackThroughTheRetryTopic) {
  ASSERT_NO_FATAL_FAILURE(start_broker());
  const std::string topic = "AliRetry";
  const std::string group = "AliRetryGroup";
  ASSERT_NO_FATAL_FAILURE(create_topic(broker_, topic, 1));
  std::vector<TestMessage> msgs(3);
  for (int i = 0; i < 3; ++i) {
    msgs[i].tags = "TagR";
    msgs[i].body = "retry-" + std::to_string(i);
    msgs[i].properties = {{"attempt", "one"}};
  }
  const std::string failing = msgs[1].body;
  auto sent = ali_produce(topic, msgs);
  ASSERT_EQ(sent.size(), 3u);

  auto consumer = ali_consumer(group, topic, "*", 4, {failing}, 1500);
  ASSERT_TRUE(consumer);
  auto got = deliveries(*consumer);
  ASSERT_EQ(got.size(), 4u);
  std::vector<Seen> of_failing;
  for (const auto& s : got) {
    if (s.body == failing) of_failing.push_back(s);
  }
  ASSERT_EQ(of_failing.size(), 2u);
  EXPECT_EQ(of_failing[0].reconsume_times, 0);
  EXPECT_EQ(of_failing[0].msg_id, sent[1].msg_id);
  // The second delivery came from %RETRY%<group> (ali-ons puts the topic back from RETRY_TOPIC),
  // with reconsumeTimes 1, the original id, and the message's own fields.
  Seen again = of_failing[1];
  EXPECT_EQ(again.topic, topic);
  EXPECT_EQ(again.properties["RETRY_TOPIC"], topic);
  EXPECT_EQ(again.reconsume_times, 1);
  EXPECT_EQ(again.tags, "TagR");
  EXPECT_EQ(again.properties["attempt"], "one");
  EXPECT_EQ(again.properties["ORIGIN_MESSAGE_ID"], sent[1].msg_id);
  EXPECT_GE(again.received_at - of_failing[0].received_at, 900);  // level 3: 1 s here

  // comet's client finds it in the retry topic, reconsumeTimes 1.
  auto retried = comet_read_all(retry_topic(group), 1);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].body, failing);
  EXPECT_EQ(retried[0].reconsume_times, 1u);
  EXPECT_EQ(retried[0].properties["RETRY_TOPIC"], topic);
}

TEST_F(RocketmqClientTest, ADelayedMessageArrivesNoEarlierThanItsDelay) {
  ASSERT_NO_FATAL_FAILURE(start_broker());
  const std::string topic = "AliDelay";
  ASSERT_NO_FATAL_FAILURE(create_topic(broker_, topic, 2));
  std::vector<TestMessage> msgs(2);
  msgs[0].tags = "TagD";
  msgs[0].body = "delayed-2s";
  msgs[0].delay_level = 2;  // 2 s on this broker
  msgs[1].tags = "TagD";
  msgs[1].body = "at-once";
  auto consumer = ali_consumer("AliDelayGroup", topic, "*", 2, {}, 0);
  ASSERT_TRUE(consumer);
  auto sent = ali_produce(topic, msgs);
  ASSERT_EQ(sent.size(), 2u);
  auto got = deliveries(*consumer);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, "at-once");
  EXPECT_EQ(got[1].body, "delayed-2s");
  EXPECT_GE(got[1].received_at - sent[0].sent_at, 2000);
  EXPECT_LT(got[1].received_at - sent[0].sent_at, 8000);
  // The broker stored it in its topic once due (the broker's clock is the scripts' clock), under
  // the id ali-ons delivered it with; the one without a delay at once.
  auto stored = comet_read_all(topic, 2);
  const MessageExt* delayed = by_body(stored, "delayed-2s");
  ASSERT_NE(delayed, nullptr);
  EXPECT_GE(delayed->store_timestamp_ms - sent[0].sent_at, 2000);
  EXPECT_EQ(delayed->offset_msg_id, got[1].msg_id);
  const MessageExt* at_once = by_body(stored, "at-once");
  ASSERT_NE(at_once, nullptr);
  EXPECT_EQ(at_once->offset_msg_id, sent[1].msg_id);
}

TEST_F(RocketmqClientTest, CompressedBodiesRoundTripAndCometReadsThemInflated) {
  ASSERT_NO_FATAL_FAILURE(start_broker());
  const std::string topic = "AliCompressed";
  ASSERT_NO_FATAL_FAILURE(create_topic(broker_, topic, 1));
  std::vector<TestMessage> msgs(3);
  msgs[0].body.resize(64 * 1024);  // compressible text
  for (size_t i = 0; i < msgs[0].body.size(); ++i)
    msgs[0].body[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
  msgs[1].body.resize(5000);  // just past ali-ons's 4 KiB threshold, every byte value
  for (size_t i = 0; i < msgs[1].body.size(); ++i)
    msgs[1].body[i] = static_cast<char>((i * 31 + 7) & 0xff);
  msgs[2].body = "small: sent as is";
  for (auto& m : msgs)
    m.tags = "TagZ";
  auto sent = ali_produce(topic, msgs);
  ASSERT_EQ(sent.size(), 3u);

  auto consumer = ali_consumer("AliCompressedGroup", topic, "*", 3, {}, 0);
  ASSERT_TRUE(consumer);
  auto got = deliveries(*consumer);
  ASSERT_EQ(got.size(), 3u);
  auto stored = comet_read_all(topic, 3);
  ASSERT_EQ(stored.size(), 3u);
  for (size_t i = 0; i < msgs.size(); ++i) {
    const Seen* delivered = by_body(got, msgs[i].body);
    ASSERT_NE(delivered, nullptr) << i;
    // Stored compressed (sysFlag 0x1) for the two large ones, as ali-ons sent them.
    EXPECT_EQ(delivered->sys_flag & 1, i < 2 ? 1 : 0) << i;
    const MessageExt* s = by_body(stored, msgs[i].body);
    ASSERT_NE(s, nullptr) << "comet's consumer did not read body " << i << " as sent";
    EXPECT_EQ(s->sys_flag & client::kSysFlagCompressed, 0u) << i;
    EXPECT_EQ(s->offset_msg_id, sent[i].msg_id) << i;
  }
}

// ali-ons → comet's PushConsumer, and comet's Producer → ali-ons, fields and ids agreeing.
TEST_F(RocketmqClientTest, CrossProtocolBothWays) {
  ASSERT_NO_FATAL_FAILURE(start_broker());
  const std::string topic = "AliCross";
  ASSERT_NO_FATAL_FAILURE(create_topic(broker_, topic, 2));

  // comet's PushConsumer, subscribed first, collects what ali-ons sends.
  std::mutex mu;
  std::condition_variable arrived;
  std::vector<MessageExt> comet_got;
  PushConsumer comet_consumer("CometCrossGroup", cluster_->client_config("comet-cross"));
  ASSERT_TRUE(comet_consumer.subscribe(topic, "TagX").is_ok());
  comet_consumer.set_consume_from_where(ConsumeFromWhere::kFirstOffset);
  comet_consumer.set_rebalance_interval(300ms);
  comet_consumer.set_long_polling_suspend(1000ms);
  comet_consumer.register_message_listener([&](const std::vector<MessageExt>& batch) {
    std::lock_guard lock(mu);
    for (const auto& m : batch)
      comet_got.push_back(m);
    arrived.notify_all();
    return ConsumeStatus::kSuccess;
  });
  ASSERT_TRUE(comet_consumer.start().is_ok());

  std::vector<TestMessage> from_ali(4);
  for (int i = 0; i < 4; ++i) {
    from_ali[i].tags = "TagX";
    from_ali[i].keys = {"ali-" + std::to_string(i)};
    from_ali[i].body = "from ali-ons " + std::to_string(i);
    from_ali[i].properties = {{"origin", "ali-ons"}, {"n", std::to_string(i)}};
  }
  auto sent = ali_produce(topic, from_ali);
  ASSERT_EQ(sent.size(), 4u);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(arrived.wait_for(lock, 30s, [&] { return comet_got.size() >= 4; }))
        << comet_got.size();
  }
  comet_consumer.shutdown();
  for (size_t i = 0; i < from_ali.size(); ++i) {
    const MessageExt* m = by_body(comet_got, from_ali[i].body);
    ASSERT_NE(m, nullptr) << i;
    EXPECT_EQ(m->tags, "TagX");
    EXPECT_EQ(m->keys, from_ali[i].keys_joined());
    EXPECT_EQ(user_properties(m->properties), from_ali[i].properties);
    // ali-ons sets no UNIQ_KEY: its id is the broker's offsetMsgId, which comet's client derives.
    EXPECT_EQ(m->offset_msg_id, sent[i].msg_id) << i;
    EXPECT_EQ(m->msg_id, sent[i].msg_id) << i;
  }

  // comet's Producer → an ali-ons consumer.
  const std::string topic2 = "CometToAli";
  ASSERT_NO_FATAL_FAILURE(create_topic(broker_, topic2, 2));
  Producer producer("comet-cross-producer", cluster_->client_config("comet-cross-producer"));
  ASSERT_TRUE(producer.start().is_ok());
  std::vector<ProducerMessage> from_comet(4);
  std::vector<client::SendResult> results;
  for (int i = 0; i < 4; ++i) {
    from_comet[i].topic = topic2;
    from_comet[i].tags = i == 3 ? "TagOther" : "TagY";
    from_comet[i].keys = "comet-" + std::to_string(i);
    from_comet[i].body = std::string("from comet\0", 11) + std::to_string(i);
    from_comet[i].properties = {{"origin", "comet"}, {"n", std::to_string(i)}};
    auto r = producer.send(from_comet[i]);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    results.push_back(*r);
  }
  producer.shutdown();
  auto consumer = ali_consumer("AliCrossGroup", topic2, "TagY", 3, {}, 1000);
  ASSERT_TRUE(consumer);
  auto got = deliveries(*consumer);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const Seen* s = by_body(got, from_comet[i].body);
    ASSERT_NE(s, nullptr) << i;
    EXPECT_EQ(s->topic, topic2);
    EXPECT_EQ(s->tags, "TagY");
    EXPECT_EQ(s->keys, from_comet[i].keys);
    EXPECT_EQ(user_properties(s->properties), from_comet[i].properties);
    // ali-ons names a pulled message by store host + CommitLog offset (the offsetMsgId) and
    // carries comet's UNIQ_KEY as a property.
    EXPECT_EQ(s->msg_id, results[i].offset_msg_id) << i;
    EXPECT_EQ(s->uniq_key, results[i].msg_id) << i;
    EXPECT_EQ(s->queue_id, static_cast<int64_t>(results[i].queue_id)) << i;
    EXPECT_EQ(s->queue_offset, static_cast<int64_t>(results[i].queue_offset)) << i;
  }
}

// Broadcasting: two ali-ons consumers and a comet PushConsumer in one broadcasting group each
// get every message once.
TEST_F(RocketmqClientTest, BroadcastingDeliversEverythingToEveryMemberOfBothClients) {
  ASSERT_NO_FATAL_FAILURE(start_broker());
  const std::string topic = "AliBroadcast";
  const std::string group = "AliBroadcastGroup";
  ASSERT_NO_FATAL_FAILURE(create_topic(broker_, topic, 2));
  std::vector<TestMessage> msgs(6);
  for (int i = 0; i < 6; ++i) {
    msgs[i].tags = "TagB";
    msgs[i].body = "broadcast-" + std::to_string(i);
  }
  auto sent = ali_produce(topic, msgs);
  ASSERT_EQ(sent.size(), msgs.size());

  std::mutex mu;
  std::condition_variable arrived;
  std::vector<MessageExt> comet_got;
  PushConsumer comet_consumer(group, cluster_->client_config("comet-broadcast"));
  ASSERT_TRUE(comet_consumer.subscribe(topic, "*").is_ok());
  comet_consumer.set_message_model(client::MessageModel::kBroadcasting);
  comet_consumer.set_offset_store_dir(dir_.path() + "/comet-offsets");
  comet_consumer.set_consume_from_where(ConsumeFromWhere::kFirstOffset);
  comet_consumer.set_rebalance_interval(300ms);
  comet_consumer.register_message_listener([&](const std::vector<MessageExt>& batch) {
    std::lock_guard lock(mu);
    comet_got.insert(comet_got.end(), batch.begin(), batch.end());
    arrived.notify_all();
    return ConsumeStatus::kSuccess;
  });
  ASSERT_TRUE(comet_consumer.start().is_ok());
  auto a = ali_consumer(group, topic, "*", msgs.size(), {}, 1000, "a");
  auto b = ali_consumer(group, topic, "*", msgs.size(), {}, 1000, "b");
  ASSERT_TRUE(a && b);
  auto got_a = deliveries(*a);
  auto got_b = deliveries(*b);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(arrived.wait_for(lock, 20s, [&] { return comet_got.size() >= msgs.size(); }))
        << comet_got.size();
  }
  comet_consumer.shutdown();
  EXPECT_EQ(got_a.size(), msgs.size());
  EXPECT_EQ(got_b.size(), msgs.size());
  EXPECT_EQ(comet_got.size(), msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_NE(by_body(got_a, msgs[i].body), nullptr) << i;
    EXPECT_NE(by_body(got_b, msgs[i].body), nullptr) << i;
    const MessageExt* m = by_body(comet_got, msgs[i].body);
    ASSERT_NE(m, nullptr) << i;
    EXPECT_EQ(m->offset_msg_id, sent[i].msg_id) << i;
  }
}

// ali-ons sends without pause (failover_send.js) while `fail_over` kills the broker that takes
// the sends and makes another take them; ali-ons finds the new one through the name server's
// route (polled every 500 ms, an ali-ons option). Checks that every send ali-ons saw acked is
// readable afterwards, with the queue offset it was acked at (and, with `same_log`, the same
// CommitLog offset), and prints the time from the failure to the first ack by the new broker.
void RocketmqClientTest::ali_sends_through_failover(const std::string& topic,
                                                    const std::function<void()>& fail_over,
                                                    const char* what, bool same_log) {
  auto sender = script("failover_send.js",
                       fmt::format(R"({{"namesrv":{},"topic":{},"steadyAcks":200,)"
                                   R"("afterRecovery":100,"timeoutMs":90000}})",
                                   json_string(cluster_->namesrv_addr()), json_string(topic)));
  ASSERT_TRUE(sender);
  ASSERT_TRUE(sender->await_line("\"steady\"", 30s).IsObject());
  const auto failed_at = Clock::now();
  ASSERT_NO_FATAL_FAILURE(fail_over());
  ASSERT_TRUE(sender->await_line("\"recovered\"", 60s).IsObject());
  const auto recovery =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - failed_at);
  auto result = sender->await_line("\"acked\":[", 30s);
  sender->finished_ok(10s);
  auto acked = seen_list(result, "acked");
  ASSERT_GE(acked.size(), 300u);
  std::printf("ali-ons: first acked send %lld ms after %s (%zu acked, %lld failed sends)\n",
              static_cast<long long>(recovery.count()), what, acked.size(),
              static_cast<long long>(num(result, "failures")));
  EXPECT_LT(recovery, 30s);

  auto stored = comet_read_all(topic, acked.size());
  size_t missing = 0;
  for (const auto& a : acked) {
    const MessageExt* s = by_body(stored, a.body);
    if (!s) {
      if (++missing <= 5) ADD_FAILURE() << "acked but not readable afterwards: " << a.body;
      continue;
    }
    EXPECT_EQ(static_cast<int64_t>(s->queue_offset), a.queue_offset) << a.body;
    // The offsetMsgId is store host + CommitLog offset: the host differs for what the old
    // master acked, the offset not, as a slave holds its master's log byte for byte.
    if (same_log) {
      EXPECT_EQ(s->offset_msg_id.substr(16), a.msg_id.substr(16)) << a.body;
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acked messages";
}

// A SYNC_MASTER and its slave: the master is killed with kill -9 and the slave promoted to
// ASYNC_MASTER (as `comet-admin promoteSlave --role ASYNC_MASTER` does; a SYNC_MASTER without a
// slave would not answer SEND_OK).
TEST_F(RocketmqClientTest, SendsFollowAPromotedSlaveAndNoAckedMessageIsLost) {
  std::vector<std::string> ha = {"slaveSyncIntervalMs=200", "haSendHeartbeatInterval=200",
                                 "haHousekeepingInterval=2000", "syncFlushTimeout=2000"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), ha.begin(), ha.end());
    return extra;
  };
  auto master = cluster_->start_broker_as("m", "ha-a", with({"brokerRole=SYNC_MASTER"}));
  ASSERT_TRUE(master.is_ok()) << master.status().to_string();
  auto slave = cluster_->start_broker_as("s", "ha-a", with({"brokerRole=SLAVE", "brokerId=1"}));
  ASSERT_TRUE(slave.is_ok()) << slave.status().to_string();
  ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s, true).is_ok());
  ASSERT_TRUE(cluster_->broker("m")->wait_for_line("in sync from offset", 30s).is_ok());
  const std::string topic = "AliFailover";
  ASSERT_NO_FATAL_FAILURE(create_topic(*master, topic, 4));
  ali_sends_through_failover(
      topic,
      [&] {
        cluster_->broker("m")->kill9();
        auto promoted =
            cluster_->client().invoke(*slave, promote_slave_request(2, "ASYNC_MASTER"), 10s);
        ASSERT_TRUE(promoted.is_ok()) << promoted.status().to_string();
        ASSERT_EQ(promoted->response_code(), ResponseCode::SUCCESS) << promoted->remark();
      },
      "the master's kill -9", true);
}

// A DLedger group of 3: its leader is killed with kill -9, the others elect a new one, which
// registers as the group's master.
TEST_F(RocketmqClientTest, SendsFollowADLedgerLeaderChangeAndNoAckedMessageIsLost) {
  const std::string peers = dledger_peers(3);
  ASSERT_FALSE(peers.empty()) << "no free port";
  std::string addrs[3];
  for (int i = 0; i < 3; ++i) {
    auto settings = dledger_member_settings("dl-a", peers, i);
    auto addr = cluster_->start_broker_as(dledger_member_id(i), "dl-a", std::move(settings));
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    addrs[i] = *addr;
  }
  const int leader = next_leader_announced(cluster_->broker(dledger_member_id(0)));
  ASSERT_GE(leader, 0) << "no leader elected";
  const std::string topic = "AliDLedger";
  ASSERT_NO_FATAL_FAILURE(create_topic(addrs[leader], topic, 4));
  ali_sends_through_failover(
      topic, [&] { cluster_->broker(dledger_member_id(leader))->kill9(); },
      "the DLedger leader's kill -9", false);
}

// ---- ACL 1.0: ali-ons with an access key against an ACL-enabled cluster ----------------------

// ali-ons 3.12.0 signs every request it sends when given accessKey/secretKey (its Channel's
// beforeRequest: AccessKey, OnsChannel "ALIYUN" and Signature = Base64(HmacSHA1) of the header
// fields' values in key order plus the body), to the name server as well as to brokers; answers
// and the requests the server starts are not signed. comet's check must accept what it signs.
constexpr const char* kAliKey = "ali";
constexpr const char* kAliSecret = "ali-secret-123";
constexpr const char* kAclTopic = "AliAclTopic";
constexpr const char* kDenyTopic = "AliDenyTopic";

class RocketmqClientAclTest : public RocketmqClientTest {
 protected:
  void SetUp() override {
    const std::string dir = dir_.path();
    std::ofstream(dir + "/cluster.yml") << "accessKey: comet-cluster\nsecretKey: cluster-0123\n";
    std::ofstream(dir + "/plain_acl.yml")
        << "accounts:\n"
           "  - accessKey: ops\n    secretKey: ops-secret-123\n    admin: true\n"
           "    defaultTopicPerm: PUB|SUB\n    defaultGroupPerm: PUB|SUB\n"
        << "  - accessKey: " << kAliKey << "\n    secretKey: " << kAliSecret
        << "\n    defaultTopicPerm: DENY\n    defaultGroupPerm: SUB\n"
        << "    topicPerms: [" << kAclTopic << "=PUB|SUB, " << kDenyTopic << "=DENY]\n";
    acl_ = {"aclEnable=true", "aclFile=" + dir + "/plain_acl.yml",
            "clusterCredentialFile=" + dir + "/cluster.yml"};
    cluster_ = std::make_unique<LocalCluster>(dir);
    ASSERT_TRUE(cluster_->start_namesrv(acl_).is_ok());
    std::vector<std::string> settings = acl_;
    settings.push_back(short_delay_levels());
    auto broker = cluster_->start_broker("broker-a", settings);
    ASSERT_TRUE(broker.is_ok()) << broker.status().to_string();
    broker_ = *broker;
    remoting::ClientOptions options;
    options.connection.signer =
        std::make_shared<remoting::RequestSigner>(remoting::Credentials{"ops", "ops-secret-123"});
    admin_ = std::make_unique<remoting::RemotingClient>(options);
    for (const char* topic : {kAclTopic, kDenyTopic}) {
      auto r = admin_->invoke(broker_, update_topic_request(topic, 2), 10s);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << r->remark();
      ASSERT_TRUE(await_signed_route(topic)) << "no route for " << topic;
    }
  }

  // As await_route, with the admin account's signed requests (the name server refuses unsigned
  // ones with aclEnable).
  bool await_signed_route(const std::string& topic) {
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      auto get = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
      protocol::GetRouteInfoRequestT q;
      q.topic = topic;
      get.set_ext(std::move(q));
      auto r = admin_->invoke(cluster_->namesrv_addr(), std::move(get), 5s);
      if (r.is_ok() && r->response_code() == ResponseCode::SUCCESS) return true;
      std::unique_lock lock(wait_mu_);
      wait_cv_.wait_for(lock, 100ms);  // never notified: a bounded pause between two reads
    }
    return false;
  }

  std::string credentials_json(const std::string& secret) const {
    return fmt::format(R"("accessKey":{},"secretKey":{})", json_string(kAliKey),
                       json_string(secret));
  }

  // produce.js with expectRefusal: the error answers ali-ons got, as {requestCode, code}.
  std::vector<std::pair<int64_t, int64_t>> refused_sends(const std::string& topic,
                                                         const std::string& secret) {
    TestMessage m;
    m.body = "refused";
    auto s =
        script("produce.js",
               fmt::format(R"({{"namesrv":{},"topic":{},"timeoutMs":30000,"expectRefusal":true,)"
                           R"({},"messages":[{}]}})",
                           json_string(cluster_->namesrv_addr()), json_string(topic),
                           credentials_json(secret), m.to_json()));
    std::vector<std::pair<int64_t, int64_t>> out;
    if (!s) return out;
    auto doc = s->await_line("\"refused\"", 40s);
    s->finished_ok(10s);
    if (!doc.IsObject()) return out;
    const auto& answers = doc["refused"]["answers"];
    for (const auto& a : answers.GetArray())
      out.emplace_back(num(a, "requestCode"), num(a, "code"));
    return out;
  }

  std::vector<std::string> acl_;
  std::unique_ptr<remoting::RemotingClient> admin_;
};

bool has_answer(const std::vector<std::pair<int64_t, int64_t>>& answers, int64_t request_code,
                int64_t code) {
  return std::find(answers.begin(), answers.end(), std::make_pair(request_code, code)) !=
         answers.end();
}

constexpr int64_t kNoPermission = 16;

TEST_F(RocketmqClientAclTest, SignedAliOnsProducesAndConsumes) {
  std::vector<TestMessage> msgs(3);
  for (size_t i = 0; i < msgs.size(); ++i) {
    msgs[i].tags = "TagA";
    msgs[i].keys = {"acl-" + std::to_string(i)};
    msgs[i].body = "signed body " + std::to_string(i);
  }
  std::string list;
  for (const auto& m : msgs)
    list += (list.empty() ? "" : ",") + m.to_json();
  auto producer =
      script("produce.js",
             fmt::format(R"({{"namesrv":{},"topic":{},"timeoutMs":30000,{},"messages":[{}]}})",
                         json_string(cluster_->namesrv_addr()), json_string(kAclTopic),
                         credentials_json(kAliSecret), list));
  ASSERT_TRUE(producer);
  auto sent = seen_list(producer->await_line("\"sent\"", 40s), "sent");
  producer->finished_ok(10s);
  ASSERT_EQ(sent.size(), msgs.size());

  auto consumer =
      script("consume.js",
             fmt::format(R"({{"namesrv":{},"group":"ali-acl-group","topic":{},"subscription":"*",)"
                         R"("expect":{},"failFirst":[],"quietMs":500,"timeoutMs":40000,)"
                         R"("broadcast":false,"instance":"DEFAULT",{}}})",
                         json_string(cluster_->namesrv_addr()), json_string(kAclTopic), msgs.size(),
                         credentials_json(kAliSecret)));
  ASSERT_TRUE(consumer);
  consumer->await_line("\"ready\"", 30s);
  auto got = deliveries(*consumer);
  ASSERT_EQ(got.size(), msgs.size());
  for (const auto& m : msgs) {
    const Seen* s = by_body(got, m.body);
    ASSERT_NE(s, nullptr) << m.body;
    EXPECT_EQ(s->tags, "TagA");
    EXPECT_EQ(s->keys, m.keys_joined());
  }
}

TEST_F(RocketmqClientAclTest, WrongSecretIsRefusedAtTheNameServer) {
  // Its first request, the route, is refused: the producer never learns where to send.
  auto answers = refused_sends(kAclTopic, "not-the-secret");
  EXPECT_TRUE(has_answer(answers, 105, kNoPermission)) << "no NO_PERMISSION for the route";
}

TEST_F(RocketmqClientAclTest, DenyTopicSendIsRefusedByTheBroker) {
  auto answers = refused_sends(kDenyTopic, kAliSecret);
  EXPECT_TRUE(has_answer(answers, 310, kNoPermission)) << "no NO_PERMISSION for the send";
  EXPECT_FALSE(has_answer(answers, 105, kNoPermission)) << "the route itself was refused";
}

}  // namespace
}  // namespace comet::testing
