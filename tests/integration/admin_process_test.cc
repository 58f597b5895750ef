// comet-admin against a real name server and broker: the binary is run as a child process and its
// stdout, stderr and exit code are checked; a few cases call admin::run() in process.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>

#include "admin/admin_client.h"
#include "admin/command.h"
#include "admin/commands.h"
#include "admin/table.h"
#include "common/group_topics.h"
#include "consumer/message_ext.h"
#include "integration/cluster.h"
#include "producer/producer.h"
#include "producer/transaction_producer.h"

namespace comet::testing {
namespace {

// A small strict JSON checker: true when `s` is one JSON value (with surrounding whitespace).
class JsonChecker {
 public:
  explicit JsonChecker(std::string_view s) : s_(s) {}
  bool valid() {
    ws();
    if (!value()) return false;
    ws();
    return i_ == s_.size();
  }

 private:
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_])))
      ++i_;
  }
  bool lit(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool string() {
    if (!lit("\"")) return false;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        if (i_ >= s_.size()) return false;
        char e = s_[i_++];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k) {
            if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_++])))
              return false;
          }
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      }
    }
    return false;
  }
  bool digits() {
    size_t start = i_;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
      ++i_;
    return i_ > start;
  }
  bool number() {  // -?digits(.digits)? : rates print with two decimals
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (!digits()) return false;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      return digits();
    }
    return true;
  }
  bool value() {
    ws();
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') return container('}', true);
    if (c == '[') return container(']', false);
    if (c == '"') return string();
    if (c == 't') return lit("true");
    if (c == 'f') return lit("false");
    if (c == 'n') return lit("null");
    return number();
  }
  bool container(char close, bool object) {
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == close) {
      ++i_;
      return true;
    }
    while (true) {
      ws();
      if (object) {
        if (!string()) return false;
        ws();
        if (!lit(":")) return false;
      }
      if (!value()) return false;
      ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      return lit(std::string_view(&close, 1));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

bool is_json(std::string_view s) {
  return JsonChecker(s).valid();
}

// Whitespace-separated cells of every line.
std::vector<std::vector<std::string>> rows_of(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream cells(line);
    std::vector<std::string> row;
    std::string cell;
    while (cells >> cell)
      row.push_back(cell);
    rows.push_back(std::move(row));
  }
  return rows;
}

// The first row whose leading cells are `prefix`.
std::optional<std::vector<std::string>> find_row(const std::string& text,
                                                 const std::vector<std::string>& prefix) {
  for (auto& row : rows_of(text)) {
    if (row.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), row.begin())) {
      return row;
    }
  }
  return std::nullopt;
}

// The integer after `"key": ` in JSON text.
int64_t json_int(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\": ");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no " << key << " in " << json;
    return -1;
  }
  return std::stoll(json.substr(at + key.size() + 4));
}

class AdminProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
    auto broker = cluster_->start_broker("broker-a");
    ASSERT_TRUE(broker.is_ok()) << broker.status().to_string();
    broker_ = *broker;
  }

  RunResult admin(std::vector<std::string> args) {
    args.insert(args.begin(), COMET_ADMIN_BIN);
    args.push_back("-n");
    args.push_back(cluster_->namesrv_addr());
    return run_process(args);
  }

  Result<RemotingCommand> call(const std::string& addr, RemotingCommand req) {
    return cluster_->client().invoke(addr, std::move(req), 10s);
  }

  void create_topic(const std::string& topic, int queues) {
    auto r = admin({"updateTopic", "-c", "DefaultCluster", "-t", topic, "-r",
                    std::to_string(queues), "-w", std::to_string(queues)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Long-polls until queue offsets 0 .. n - 1 of the queue are readable (the ConsumeQueue is
  // filled in the background after the send is acknowledged). One offset at a time: a pull past
  // the queue's end by more than one is answered PULL_OFFSET_MOVED at once, not held.
  void wait_dispatched(const std::string& topic, int32_t queue, int64_t n) {
    for (int64_t offset = 0; offset < n; ++offset) {
      auto r = call(broker_, pull_request(topic, queue, offset, 1, 5000));
      ASSERT_TRUE(r.is_ok());
      ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << offset << ": " << r->remark();
    }
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string broker_;
};

TEST_F(AdminProcessTest, ClusterListShowsTheBroker) {
  auto r = admin({"clusterList"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("#Cluster Name"), std::string::npos) << r.out;
  auto row = find_row(r.out, {"DefaultCluster", "broker-a", "0", broker_});
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ(row->back(), "ago") << r.out;  // live info: "<n> ms ago"

  auto j = admin({"clusterList", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_TRUE(is_json(j.out)) << j.out;
  EXPECT_EQ(j.out.front(), '{');
  EXPECT_NE(j.out.find("\"brokers\""), std::string::npos);
  EXPECT_NE(j.out.find("\"addr\": \"" + broker_ + "\""), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"live\": true"), std::string::npos) << j.out;
  EXPECT_GE(json_int(j.out, "maxOffset"), 0);

  // The name server address from the environment when -n is absent.
  auto env = run_process({COMET_ADMIN_BIN, "clusterList"},
                         {"COMET_NAMESRV_ADDR=" + cluster_->namesrv_addr()});
  ASSERT_EQ(env.exit_code, 0) << env.err;
  EXPECT_NE(env.out.find(broker_), std::string::npos);
}

TEST_F(AdminProcessTest, UpdateTopicOnTheClusterShowsInRouteAndList) {
  auto r = admin({"updateTopic", "-c", "DefaultCluster", "-t", "AdminTopic", "-r", "4", "-w", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(find_row(r.out, {"broker-a", broker_, "OK"})) << r.out;
  EXPECT_NE(r.out.find("TopicConfig [topicName=AdminTopic, readQueueNums=4, writeQueueNums=4"),
            std::string::npos)
      << r.out;

  auto route = admin({"topicRoute", "-t", "AdminTopic"});
  ASSERT_EQ(route.exit_code, 0) << route.err;
  EXPECT_TRUE(find_row(route.out, {"broker-a", "4", "4", "RW"})) << route.out;
  EXPECT_TRUE(find_row(route.out, {"DefaultCluster", "broker-a", "0", broker_})) << route.out;
  auto route_json = admin({"topicRoute", "-t", "AdminTopic", "--json"});
  ASSERT_EQ(route_json.exit_code, 0) << route_json.err;
  EXPECT_TRUE(is_json(route_json.out)) << route_json.out;
  EXPECT_EQ(json_int(route_json.out, "writeQueueNums"), 4);
  EXPECT_NE(route_json.out.find("\"0\": \"" + broker_ + "\""), std::string::npos);

  // Updating through -b changes the queue counts; the list shows the new numbers.
  auto by_addr = admin({"updateTopic", "-b", broker_, "-t", "AdminTopic", "-r", "2", "-w", "3"});
  ASSERT_EQ(by_addr.exit_code, 0) << by_addr.err;
  auto list = admin({"topicList"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(find_row(list.out, {"AdminTopic", "DefaultCluster", "broker-a", "2", "3", "RW"}))
      << list.out;
  auto list_json = admin({"topicList", "--json", "-c", "DefaultCluster"});
  ASSERT_EQ(list_json.exit_code, 0) << list_json.err;
  EXPECT_TRUE(is_json(list_json.out)) << list_json.out;
  EXPECT_NE(list_json.out.find("\"topic\": \"AdminTopic\""), std::string::npos);

  // deleteTopic takes it out of the broker (config and ConsumeQueues) and, once the broker
  // re-registered, the route.
  for (int i = 0; i < 3; ++i) {
    auto sent =
        admin({"sendMessage", "-t", "AdminTopic", "-p", "doomed", "-b", "broker-a", "-i", "1"});
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
  }
  auto del = admin({"deleteTopic", "-c", "DefaultCluster", "-t", "AdminTopic"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_TRUE(find_row(del.out, {"broker-a", broker_, "OK"})) << del.out;
  auto gone = admin({"topicRoute", "-t", "AdminTopic"});
  EXPECT_EQ(gone.exit_code, 1);
  auto again = admin({"deleteTopic", "-c", "DefaultCluster", "-t", "AdminTopic"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("TOPIC_NOT_EXIST"), std::string::npos) << again.err;

  // Created again, the topic is empty: the old messages are not served under the new topic.
  create_topic("AdminTopic", 2);
  auto status = admin({"topicStatus", "-t", "AdminTopic", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out.find("\"maxOffset\": 3"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("\"maxOffset\": 0"), std::string::npos) << status.out;
}

TEST_F(AdminProcessTest, SendMessageThenConsumeMessageShowsTheBody) {
  create_topic("Chat", 2);
  std::vector<std::string> bodies = {"hello comet", "second message", std::string(300, 'x')};
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto s = admin({"sendMessage", "-t", "Chat", "-p", bodies[i], "-k", "key-" + std::to_string(i),
                    "-c", i == 1 ? "TagB" : "TagA", "-b", "broker-a", "-i", "1"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto row = find_row(s.out, {"broker-a", "1", std::to_string(i)});
    ASSERT_TRUE(row.has_value()) << s.out;
    EXPECT_EQ(row->at(3).size(), 32u);
    EXPECT_EQ(row->at(4), "SEND_OK");
  }
  auto c = admin({"consumeMessage", "-t", "Chat", "-b", "broker-a", "-i", "1", "-c", "3",
                  "--wait-ms", "5000"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto first = find_row(c.out, {"broker-a", "1", "0", "TagA", "key-0"});
  ASSERT_TRUE(first.has_value()) << c.out;
  EXPECT_NE(c.out.find("hello comet"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("second message"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find(std::string(200, 'x') + "..."), std::string::npos) << c.out;
  EXPECT_EQ(c.out.find(std::string(201, 'x')), std::string::npos);
  EXPECT_NE(c.out.find("Consumed 3 message(s)"), std::string::npos) << c.out;

  // JSON carries the whole body; a tag filter leaves out the others.
  auto filtered = admin({"consumeMessage", "-t", "Chat", "-i", "1", "-s", "TagB", "--json"});
  ASSERT_EQ(filtered.exit_code, 0) << filtered.err;
  EXPECT_TRUE(is_json(filtered.out)) << filtered.out;
  EXPECT_EQ(json_int(filtered.out, "count"), 1) << filtered.out;
  EXPECT_NE(filtered.out.find("\"body\": \"second message\""), std::string::npos);
  EXPECT_NE(filtered.out.find("\"keys\": \"key-1\""), std::string::npos);

  // -o starts later, -c bounds the total.
  auto later = admin({"consumeMessage", "-t", "Chat", "-i", "1", "-o", "1", "-c", "1", "--json"});
  ASSERT_EQ(later.exit_code, 0) << later.err;
  EXPECT_EQ(json_int(later.out, "count"), 1);
  EXPECT_EQ(json_int(later.out, "queueOffset"), 1);

  auto status = admin({"topicStatus", "-t", "Chat"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(find_row(status.out, {"broker-a", "1", "0", "3"})) << status.out;
  auto status_json = admin({"topicStatus", "-t", "Chat", "--json"});
  ASSERT_EQ(status_json.exit_code, 0);
  EXPECT_TRUE(is_json(status_json.out)) << status_json.out;
  EXPECT_NE(status_json.out.find("\"maxOffset\": 3"), std::string::npos) << status_json.out;

  // The broker picks the queue when -i is absent.
  auto picked = admin({"sendMessage", "-t", "Chat", "-p", "anywhere", "--json"});
  ASSERT_EQ(picked.exit_code, 0) << picked.err;
  EXPECT_TRUE(is_json(picked.out)) << picked.out;
  EXPECT_NE(picked.out.find("\"sendStatus\": \"SEND_OK\""), std::string::npos);
}

TEST_F(AdminProcessTest, ConsumerProgressShowsLagAgainstTheCommittedOffset) {
  create_topic("Progress", 2);
  for (int i = 0; i < 5; ++i) {
    auto s = admin({"sendMessage", "-t", "Progress", "-p", "m" + std::to_string(i), "-i", "0"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
  }
  wait_dispatched("Progress", 0, 5);
  auto commit = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET);
  protocol::ConsumerOffsetRequestT c;
  c.consumer_group = "g1";
  c.topic = "Progress";
  c.queue_id = 0;
  c.commit_offset = 2;
  commit.set_ext(c);
  auto committed = call(broker_, std::move(commit));
  ASSERT_TRUE(committed.is_ok());
  ASSERT_EQ(committed->response_code(), ResponseCode::SUCCESS) << committed->remark();

  auto hb = RemotingCommand::request(RequestCode::HEART_BEAT);
  protocol::HeartbeatRequestT h;
  h.client_id = "127.0.0.1@admin-test";
  auto cd = std::make_unique<protocol::ConsumerDataT>();
  cd->group_name = "g1";
  cd->message_model = "CLUSTERING";
  h.consumers.push_back(std::move(cd));
  hb.set_ext(std::move(h));
  ASSERT_EQ(call(broker_, std::move(hb))->response_code(), ResponseCode::SUCCESS);

  auto p = admin({"consumerProgress", "-g", "g1", "-t", "Progress"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_TRUE(find_row(p.out, {"Progress", "broker-a", "0", "5", "2", "3"})) << p.out;
  EXPECT_TRUE(find_row(p.out, {"Progress", "broker-a", "1", "0", "-", "0"})) << p.out;
  EXPECT_NE(p.out.find("Consume TPS: 0.00, Diff Total: 3"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("127.0.0.1@admin-test"), std::string::npos) << p.out;

  auto j = admin({"consumerProgress", "-g", "g1", "-t", "Progress", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_TRUE(is_json(j.out)) << j.out;
  EXPECT_EQ(json_int(j.out, "diffTotal"), 3);
  EXPECT_NE(j.out.find("\"consumerOffset\": null"), std::string::npos) << j.out;

  // Without -t: every topic the group committed offsets for.
  auto every = admin({"consumerProgress", "-g", "g1"});
  ASSERT_EQ(every.exit_code, 0) << every.err;
  EXPECT_TRUE(find_row(every.out, {"Progress", "broker-a", "0", "5", "2", "3"})) << every.out;
  EXPECT_NE(every.out.find("Consume TPS: 0.00, Diff Total: 3"), std::string::npos) << every.out;
  EXPECT_NE(every.out.find("DLQ depth (%DLQ%g1, not yet resent): 0"), std::string::npos)
      << every.out;

  // The tool's own commit path: nothing left behind on queue 0.
  auto u = admin({"updateConsumerOffset", "-g", "g1", "-t", "Progress", "-b", "broker-a", "-i", "0",
                  "-o", "5"});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  auto after = admin({"consumerProgress", "-g", "g1", "-t", "Progress"});
  EXPECT_NE(after.out.find("Diff Total: 0"), std::string::npos) << after.out;
}

// --- retries and dead letters ---------------------------------------------------------------

// A dead letter as the broker writes one (%DLQ%<group>, one queue): the original body and
// properties, plus where it failed and how often it was consumed. Sent here by a producer, as
// any client may send to that topic.
client::ProducerMessage dead_letter(const std::string& group, int i, const std::string& from) {
  client::ProducerMessage m;
  m.topic = dlq_topic(group);
  m.body = "dead-" + std::to_string(i);
  m.tags = "TagD";
  m.keys = "key-" + std::to_string(i);
  m.properties = {{"color", "blue-" + std::to_string(i)},
                  {"ORIGIN_MESSAGE_ID", "origin-" + std::to_string(i)},
                  {"RECONSUME_TIME", "16"},
                  {"MAX_RECONSUME_TIMES", "16"},
                  {"REAL_TOPIC", retry_topic(group)},
                  {"REAL_QID", "0"}};
  if (!from.empty()) m.properties.emplace("RETRY_TOPIC", from);
  return m;
}

TEST_F(AdminProcessTest, DeadLettersShowInProgressAndAreResentOnce) {
  const std::string group = "g-dlq";
  const std::string dlq = dlq_topic(group);
  create_topic("Orders", 1);
  // Nothing dead-lettered yet: no DLQ, depth 0, nothing to resend; not an error.
  auto none = admin({"consumerProgress", "-g", group});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_NE(none.out.find("DLQ depth (" + dlq + ", not yet resent): 0"), std::string::npos)
      << none.out;
  auto nothing = admin({"resendDlq", "-g", group});
  ASSERT_EQ(nothing.exit_code, 0) << nothing.err;
  EXPECT_NE(nothing.out.find("Resent 0 message(s)"), std::string::npos) << nothing.out;

  create_topic(dlq, 1);
  client::ClientConfig cfg;
  cfg.namesrv_addr = cluster_->namesrv_addr();
  cfg.client_id = "dlq-writer@admin-test";
  client::Producer producer("dlq-writer", cfg);
  ASSERT_TRUE(producer.start().is_ok());
  // Three dead letters of Orders, and one without RETRY_TOPIC (resendDlq reports and skips it).
  for (int i = 0; i < 4; ++i) {
    auto sent = producer.send(dead_letter(group, i, i == 2 ? "" : "Orders"));
    ASSERT_TRUE(sent.is_ok()) << sent.status().to_string();
  }
  producer.shutdown();
  wait_dispatched(dlq, 0, 4);

  auto depth = admin({"consumerProgress", "-g", group});
  ASSERT_EQ(depth.exit_code, 0) << depth.err;
  EXPECT_TRUE(find_row(depth.out, {dlq, "broker-a", "0", "4", "-", "4"})) << depth.out;
  EXPECT_NE(depth.out.find("DLQ depth (" + dlq + ", not yet resent): 4"), std::string::npos)
      << depth.out;
  EXPECT_NE(depth.out.find("Diff Total: 0"), std::string::npos) << depth.out;  // DLQ not in it
  auto depth_json = admin({"consumerProgress", "-g", group, "--json"});
  ASSERT_EQ(depth_json.exit_code, 0) << depth_json.err;
  EXPECT_TRUE(is_json(depth_json.out)) << depth_json.out;
  EXPECT_EQ(json_int(depth_json.out, "dlqDepth"), 4);
  EXPECT_EQ(json_int(depth_json.out, "retryDepth"), 0);

  // Reading the DLQ shows where each message failed and its bookkeeping.
  auto read = admin({"consumeMessage", "-t", dlq, "-c", "4"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  auto first = find_row(read.out, {"broker-a", "0", "0", "TagD", "key-0"});
  ASSERT_TRUE(first.has_value()) << read.out;
  EXPECT_NE(std::find(first->begin(), first->end(), "Orders"), first->end()) << read.out;
  EXPECT_NE(std::find(first->begin(), first->end(), "origin-0"), first->end()) << read.out;
  auto read_json = admin({"consumeMessage", "-t", dlq, "-c", "1", "--json"});
  ASSERT_EQ(read_json.exit_code, 0) << read_json.err;
  EXPECT_TRUE(is_json(read_json.out)) << read_json.out;
  EXPECT_NE(read_json.out.find("\"RETRY_TOPIC\": \"Orders\""), std::string::npos) << read_json.out;
  EXPECT_NE(read_json.out.find("\"RECONSUME_TIME\": \"16\""), std::string::npos) << read_json.out;
  const size_t id_at = read_json.out.find("\"msgId\": \"");
  ASSERT_NE(id_at, std::string::npos);
  const std::string first_id = read_json.out.substr(id_at + 10, 32);

  // One by id: Orders gets it as a new message, its retry bookkeeping gone.
  auto one = admin({"resendDlq", "-g", group, "-i", first_id});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_TRUE(find_row(one.out, {"broker-a", "0", "0", first_id, "Orders"})) << one.out;
  EXPECT_NE(one.out.find("Resent 1 message(s)"), std::string::npos) << one.out;
  auto orders = admin({"consumeMessage", "-t", "Orders", "-c", "1", "--wait-ms", "5000", "--json"});
  ASSERT_EQ(orders.exit_code, 0) << orders.err;
  EXPECT_EQ(json_int(orders.out, "count"), 1) << orders.out;
  for (const char* kept : {"\"body\": \"dead-0\"", "\"tags\": \"TagD\"", "\"keys\": \"key-0\"",
                           "\"color\": \"blue-0\"", "\"ORIGIN_MESSAGE_ID\": \"origin-0\""}) {
    EXPECT_NE(orders.out.find(kept), std::string::npos) << kept << " in " << orders.out;
  }
  for (const char* gone :
       {"RETRY_TOPIC", "RECONSUME_TIME", "MAX_RECONSUME_TIMES", "REAL_TOPIC", "REAL_QID"}) {
    EXPECT_EQ(orders.out.find(gone), std::string::npos) << gone << " in " << orders.out;
  }

  // The rest, once: the message resent by id was the one at the resend position, so it is not
  // sent again; the one without RETRY_TOPIC is reported and passed.
  auto rest = admin({"resendDlq", "-g", group});
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_NE(rest.out.find("Resent 2 message(s) from " + dlq + "; skipped 1 without RETRY_TOPIC"),
            std::string::npos)
      << rest.out;
  EXPECT_TRUE(find_row(rest.out, {"broker-a", "0", "1"})) << rest.out;
  EXPECT_TRUE(find_row(rest.out, {"broker-a", "0", "3"})) << rest.out;
  EXPECT_NE(rest.err.find("has no RETRY_TOPIC property: skipped"), std::string::npos) << rest.err;
  auto again = admin({"resendDlq", "-g", group, "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(is_json(again.out)) << again.out;
  EXPECT_EQ(json_int(again.out, "resent"), 0) << again.out;

  auto all = admin({"consumeMessage", "-t", "Orders", "-c", "3", "--wait-ms", "5000", "--json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(json_int(all.out, "count"), 3) << all.out;
  for (const char* body : {"dead-0", "dead-1", "dead-3"})
    EXPECT_NE(all.out.find(body), std::string::npos) << body << " in " << all.out;
  auto after = admin({"consumerProgress", "-g", group});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_TRUE(find_row(after.out, {dlq, "broker-a", "0", "4", "4", "0"})) << after.out;
  EXPECT_NE(after.out.find("DLQ depth (" + dlq + ", not yet resent): 0"), std::string::npos)
      << after.out;

  auto unknown = admin({"resendDlq", "-g", group, "-i", "NOSUCHID"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no message with msgId NOSUCHID"), std::string::npos) << unknown.err;
}

// A dead letter the broker wrote itself (CONSUMER_SEND_MSG_BACK asking for the DLQ at once, as
// a consumer does when a message is spent): the DLQ's route is registered, consumeMessage shows
// its bookkeeping, and resendDlq sends it back to the topic it failed on.
TEST_F(AdminProcessTest, ABrokerWrittenDeadLetterIsShownAndResent) {
  const std::string group = "g-real";
  const std::string dlq = dlq_topic(group);
  create_topic("Payments", 1);
  auto sent =
      admin({"sendMessage", "-t", "Payments", "-p", "pay-1", "-k", "K1", "-c", "TagP", "--json"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  const size_t id_at = sent.out.find("\"msgId\": \"");
  ASSERT_NE(id_at, std::string::npos) << sent.out;
  const std::string msg_id = sent.out.substr(id_at + 10, 32);
  wait_dispatched("Payments", 0, 1);

  auto back = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK);
  protocol::ConsumerSendMsgBackRequestT b;
  b.offset = json_int(sent.out, "physicalOffset");
  b.group = group;
  b.delay_level = -1;  // straight to the DLQ
  b.origin_msg_id = msg_id;
  b.origin_topic = "Payments";
  b.max_reconsume_times = 16;
  back.set_ext(std::move(b));
  auto answered = call(broker_, std::move(back));
  ASSERT_TRUE(answered.is_ok());
  ASSERT_EQ(answered->response_code(), ResponseCode::SUCCESS) << answered->remark();
  wait_dispatched(dlq, 0, 1);
  // The broker registers the DLQ it created with the name server on its own, asynchronously.
  // Any registration after that carries it, and updateTopic answers once its registration is
  // done: creating another topic is the point after which the DLQ must have a route.
  create_topic("AfterTheDlq", 1);

  auto depth = admin({"consumerProgress", "-g", group, "--json"});
  ASSERT_EQ(depth.exit_code, 0) << depth.err;
  EXPECT_EQ(json_int(depth.out, "dlqDepth"), 1) << depth.out;
  auto read = admin({"consumeMessage", "-t", dlq, "--json"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(json_int(read.out, "count"), 1) << read.out;
  EXPECT_NE(read.out.find("\"RETRY_TOPIC\": \"Payments\""), std::string::npos) << read.out;
  EXPECT_NE(read.out.find("\"ORIGIN_MESSAGE_ID\": \"" + msg_id + "\""), std::string::npos)
      << read.out;
  EXPECT_EQ(json_int(read.out, "reconsumeTimes"), 1) << read.out;

  auto resent = admin({"resendDlq", "-g", group});
  ASSERT_EQ(resent.exit_code, 0) << resent.err;
  EXPECT_NE(resent.out.find("Resent 1 message(s)"), std::string::npos) << resent.out;
  auto payments = admin(
      {"consumeMessage", "-t", "Payments", "-o", "1", "--wait-ms", "5000", "-c", "1", "--json"});
  ASSERT_EQ(payments.exit_code, 0) << payments.err;
  EXPECT_EQ(json_int(payments.out, "count"), 1) << payments.out;
  EXPECT_NE(payments.out.find("\"body\": \"pay-1\""), std::string::npos) << payments.out;
  EXPECT_NE(payments.out.find("\"keys\": \"K1\""), std::string::npos) << payments.out;
  EXPECT_NE(payments.out.find("\"ORIGIN_MESSAGE_ID\": \"" + msg_id + "\""), std::string::npos)
      << payments.out;
  EXPECT_EQ(payments.out.find("RETRY_TOPIC"), std::string::npos) << payments.out;
  EXPECT_EQ(json_int(payments.out, "reconsumeTimes"), 0) << payments.out;
}

TEST_F(AdminProcessTest, BrokerStatusShowsTheCommitLogMaxOffset) {
  create_topic("Status", 1);
  ASSERT_EQ(admin({"sendMessage", "-t", "Status", "-p", "one"}).exit_code, 0);
  auto r = admin({"brokerStatus", "-b", broker_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto row = find_row(r.out, {"commitLogMaxOffset", ":"});
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_GT(std::stoll(row->at(2)), 0);
  EXPECT_TRUE(find_row(r.out, {"brokerName", ":", "broker-a"})) << r.out;

  auto j = admin({"brokerStatus", "-b", broker_, "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_TRUE(is_json(j.out)) << j.out;
  EXPECT_NE(j.out.find("\"commitLogMaxOffset\""), std::string::npos);

  auto by_cluster = admin({"brokerStatus", "-c", "DefaultCluster"});
  ASSERT_EQ(by_cluster.exit_code, 0) << by_cluster.err;
  EXPECT_TRUE(find_row(by_cluster.out, {broker_, "brokerRole"})) << by_cluster.out;
}

TEST_F(AdminProcessTest, ErrorsNameWhatFailedAndSetTheExitCode) {
  auto missing = admin({"topicRoute", "-t", "Foo"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(missing.out.empty()) << missing.out;
  EXPECT_NE(missing.err.find("topicRoute: topic Foo: TOPIC_NOT_EXIST: No topic route info"),
            std::string::npos)
      << missing.err;
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;

  auto unknown = admin({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos);
  EXPECT_NE(unknown.err.find("usage: comet-admin"), std::string::npos);

  auto bad_option = admin({"clusterList", "-z"});
  EXPECT_EQ(bad_option.exit_code, 2);
  EXPECT_NE(bad_option.err.find("unknown option '-z'"), std::string::npos) << bad_option.err;

  auto no_topic = admin({"topicRoute"});
  EXPECT_EQ(no_topic.exit_code, 2);
  EXPECT_NE(no_topic.err.find("missing required option -t"), std::string::npos) << no_topic.err;
  EXPECT_NE(no_topic.err.find("usage: comet-admin topicRoute"), std::string::npos);

  auto not_int = admin({"updateTopic", "-t", "T", "-c", "DefaultCluster", "-r", "many"});
  EXPECT_EQ(not_int.exit_code, 2);
  auto bad_name = admin({"updateTopic", "-t", "bad topic!", "-c", "DefaultCluster"});
  EXPECT_EQ(bad_name.exit_code, 2);
  EXPECT_NE(bad_name.err.find("illegal topic name"), std::string::npos) << bad_name.err;
  auto both = admin({"updateTopic", "-t", "T", "-c", "DefaultCluster", "-b", broker_});
  EXPECT_EQ(both.exit_code, 2);

  auto no_cluster = admin({"updateTopic", "-t", "T", "-c", "NoSuchCluster"});
  EXPECT_EQ(no_cluster.exit_code, 1);
  EXPECT_NE(no_cluster.err.find("cluster NoSuchCluster"), std::string::npos) << no_cluster.err;
  EXPECT_NE(no_cluster.err.find("DefaultCluster"), std::string::npos) << no_cluster.err;

  create_topic("Narrow", 2);
  auto no_queue = admin({"sendMessage", "-t", "Narrow", "-p", "x", "-b", "broker-a", "-i", "7"});
  EXPECT_EQ(no_queue.exit_code, 1);
  EXPECT_NE(no_queue.err.find("queue 7 out of range: broker broker-a has 2 write queues"),
            std::string::npos)
      << no_queue.err;
  auto no_broker = admin({"sendMessage", "-t", "Narrow", "-p", "x", "-b", "broker-z"});
  EXPECT_EQ(no_broker.exit_code, 1);
  EXPECT_NE(no_broker.err.find("broker broker-z is not in the route (brokers: broker-a)"),
            std::string::npos)
      << no_broker.err;

  auto no_route = admin({"sendMessage", "-t", "Nowhere", "-p", "x"});
  EXPECT_EQ(no_route.exit_code, 1);
  EXPECT_NE(no_route.err.find("sendMessage: topic Nowhere: TOPIC_NOT_EXIST"), std::string::npos)
      << no_route.err;

  // A name server that is not there: the transport failure, within the timeout.
  asio::io_context io;
  asio::ip::tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string dead = "127.0.0.1:" + std::to_string(closed.local_endpoint().port());
  closed.close();
  auto down = run_process({COMET_ADMIN_BIN, "clusterList", "-n", dead, "--timeout-ms", "2000"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("clusterList: cluster info: name server " + dead), std::string::npos)
      << down.err;

  auto help = run_process({COMET_ADMIN_BIN, "help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("consumerProgress"), std::string::npos);
  auto no_args = run_process({COMET_ADMIN_BIN});
  EXPECT_EQ(no_args.exit_code, 2);
}

// A record whose bytes rot in the CommitLog after it was stored: consumeMessage verifies every
// CRC and reports it.
TEST_F(AdminProcessTest, ConsumeMessageReportsACorruptRecord) {
  create_topic("Rot", 1);
  auto sent = admin({"sendMessage", "-t", "Rot", "-p", "pristine body", "--json"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  const int64_t physical = json_int(sent.out, "physicalOffset");
  auto ok = admin({"consumeMessage", "-t", "Rot", "--wait-ms", "5000", "-c", "1"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_NE(ok.out.find("pristine body"), std::string::npos) << ok.out;

  // The broker maps the segment shared: a write to the file is what its next read sees.
  const std::string segment = dir_.path() + "/broker-a/commitlog/00000000000000000000";
  int fd = ::open(segment.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << segment << ": " << std::strerror(errno);
  char byte = 'p' ^ 0x20;  // the body's first byte, 'p', becomes 'P'
  ASSERT_EQ(::pwrite(fd, &byte, 1, physical + static_cast<int64_t>(record::kHeaderSize)), 1);
  ::close(fd);

  auto bad = admin({"consumeMessage", "-t", "Rot", "--json"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("corrupt record"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("checksum mismatch"), std::string::npos) << bad.err;
  EXPECT_TRUE(is_json(bad.out)) << bad.out;
  EXPECT_EQ(json_int(bad.out, "count"), 0);
  EXPECT_NE(bad.out.find("\"corruptRecords\": ["), std::string::npos);
}

// A rotten record among good ones: the records before and after it are shown, and it is named
// with its offset.
TEST_F(AdminProcessTest, ConsumeMessageShowsTheGoodRecordsAroundACorruptOne) {
  create_topic("Rot3", 1);
  std::vector<int64_t> physical;
  for (const char* body : {"first body", "second body", "third body"}) {
    auto sent = admin({"sendMessage", "-t", "Rot3", "-p", body, "-i", "0", "--json"});
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
    physical.push_back(json_int(sent.out, "physicalOffset"));
  }
  auto ok = admin({"consumeMessage", "-t", "Rot3", "--wait-ms", "5000", "-c", "3", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_EQ(json_int(ok.out, "count"), 3) << ok.out;

  const std::string segment = dir_.path() + "/broker-a/commitlog/00000000000000000000";
  int fd = ::open(segment.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << segment << ": " << std::strerror(errno);
  char byte = 's' ^ 0x20;  // "second body" becomes "Second body"
  ASSERT_EQ(::pwrite(fd, &byte, 1, physical[1] + static_cast<int64_t>(record::kHeaderSize)), 1);
  ::close(fd);

  auto bad = admin({"consumeMessage", "-t", "Rot3", "--json"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(is_json(bad.out)) << bad.out;
  EXPECT_EQ(json_int(bad.out, "count"), 2) << bad.out;
  EXPECT_NE(bad.out.find("\"body\": \"first body\""), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("\"body\": \"third body\""), std::string::npos) << bad.out;
  EXPECT_EQ(json_int(bad.out, "goodRecordsBefore"), 1) << bad.out;
  EXPECT_NE(bad.err.find("corrupt record at offset 1"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("checksum mismatch"), std::string::npos) << bad.err;
}

// --- in process ----------------------------------------------------------------------------

TEST_F(AdminProcessTest, RunInProcessWritesToTheGivenStreams) {
  std::ostringstream out, err;
  int rc = admin::run({"clusterList"}, out, err, cluster_->namesrv_addr());
  EXPECT_EQ(rc, admin::kExitOk) << err.str();
  EXPECT_NE(out.str().find(broker_), std::string::npos);
  EXPECT_TRUE(err.str().empty());

  std::ostringstream out2, err2;
  EXPECT_EQ(admin::run({"topicStatus", "-t", "Missing"}, out2, err2, cluster_->namesrv_addr()),
            admin::kExitFailure);
  EXPECT_NE(err2.str().find("topicStatus: topic Missing: TOPIC_NOT_EXIST"), std::string::npos)
      << err2.str();

  std::ostringstream out3, err3;
  EXPECT_EQ(admin::run({"topicRoute", "--topic=Missing", "--timeout-ms", "x"}, out3, err3),
            admin::kExitUsage);
}

TEST(AdminOutputTest, JsonWriterNestsAndEscapes) {
  std::ostringstream o;
  admin::JsonWriter j(o);
  j.begin_object()
      .field("s", "a\"b\\c\n\x01")
      .field("n", int64_t{-5})
      .field("b", true)
      .key("arr")
      .begin_array()
      .value(1)
      .begin_object()
      .end_object()
      .null()
      .end_array()
      .key("bin")
      .value(std::string_view("\xff\xc3\xa9", 3))
      .end_object();
  EXPECT_TRUE(is_json(o.str())) << o.str();
  EXPECT_NE(o.str().find(R"("s": "a\"b\\c\n\u0001")"), std::string::npos) << o.str();
  EXPECT_NE(o.str().find("\"bin\": \"\\u00ff\xc3\xa9\""), std::string::npos) << o.str();
  EXPECT_NE(o.str().find("\"n\": -5"), std::string::npos);
}

TEST(AdminOutputTest, TableAlignsColumnsAndBodiesArePrintable) {
  admin::Table t({"#A", "#Bee"});
  t.add_row({"long-cell", "x"});
  t.add_row({"é", "y"});
  std::ostringstream o;
  t.print(o);
  EXPECT_EQ(o.str(), "#A         #Bee\nlong-cell  x\né          y\n");
  EXPECT_EQ(admin::printable("a\nb\xff", 10), "a.b.");
  EXPECT_EQ(admin::printable("abcdef", 3), "abc...");
}

// consumeMessage reads with the client library, whose decoding checks every CRC and names the
// record that fails.
TEST(AdminOutputTest, DecodeStopsAtABadChecksum) {
  std::string body = encode_records("T", {"one", "two", "three"}, "TagA");
  auto good = client::decode_messages(body, "b");
  ASSERT_TRUE(good.is_ok()) << good.status().message();
  ASSERT_EQ(good->size(), 3u);
  EXPECT_EQ(good->at(1).body, "two");
  EXPECT_EQ(good->at(1).tags, "TagA");
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  const size_t first_size = record::decode(p, body.size(), true).size;
  body[first_size + record::kHeaderSize] ^= 0x01;
  auto bad = client::decode_messages(body, "b");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), Code::kCorruption);
  EXPECT_NE(bad.status().message().find("record 1 at byte " + std::to_string(first_size)),
            std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("record checksum mismatch"), std::string::npos);
}

// A transaction whose local state stays unknown: it is left open for the broker to check.
class UnknownListener : public client::TransactionListener {
 public:
  client::LocalTransactionState execute_local_transaction(const client::ProducerMessage&,
                                                          const std::any&) override {
    return client::LocalTransactionState::kUnknow;
  }
  client::LocalTransactionState check_local_transaction(const client::MessageExt&) override {
    return client::LocalTransactionState::kUnknow;
  }
};

// transactionList: open transactions are listed oldest first with their group, id, topic, queue and
// half offset; -g picks a group, -l limits what is shown but not the total; --json says the same.
TEST_F(AdminProcessTest, TransactionListShowsOpenTransactionsOldestFirst) {
  create_topic("TxnTopic", 1);
  client::TransactionProducer producer("TxnListGroup", cluster_->client_config("txn-list"),
                                       std::make_shared<UnknownListener>());
  ASSERT_TRUE(producer.start().is_ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    client::ProducerMessage m;
    m.topic = "TxnTopic";
    m.body = "open " + std::to_string(i);
    auto r = producer.send_in_transaction(m);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_TRUE(r->end.get().is_ok())
        << r->end.get().to_string();  // UNKNOWN: answered, nothing ended
    ids.push_back(r->transaction_id);
  }
  producer.shutdown();

  auto all = admin({"transactionList"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("#Transaction Id"), std::string::npos) << all.out;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto row = find_row(all.out, {"broker-a", "TxnListGroup", ids[i], "TxnTopic", "0"});
    ASSERT_TRUE(row.has_value()) << ids[i] << "\n" << all.out;
    EXPECT_TRUE(std::all_of(row->back().begin(), row->back().end(), ::isdigit)) << all.out;
  }
  EXPECT_LT(all.out.find(ids[0]), all.out.find(ids[1])) << all.out;
  EXPECT_LT(all.out.find(ids[1]), all.out.find(ids[2])) << all.out;
  EXPECT_NE(all.out.find("broker-a: 3 open transaction(s)\n"), std::string::npos) << all.out;

  auto limited = admin({"transactionList", "-b", broker_, "-g", "TxnListGroup", "-l", "2"});
  ASSERT_EQ(limited.exit_code, 0) << limited.err;
  EXPECT_NE(limited.out.find(ids[1]), std::string::npos) << limited.out;
  EXPECT_EQ(limited.out.find(ids[2]), std::string::npos) << limited.out;
  EXPECT_NE(limited.out.find(": 3 open transaction(s), the oldest 2 shown"), std::string::npos)
      << limited.out;

  auto other = admin({"transactionList", "-c", "DefaultCluster", "-g", "NoSuchGroup"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(other.out.find("TxnListGroup"), std::string::npos) << other.out;
  EXPECT_NE(other.out.find("broker-a: 0 open transaction(s)"), std::string::npos) << other.out;

  auto json = admin({"transactionList", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_TRUE(is_json(json.out)) << json.out;
  EXPECT_EQ(json_int(json.out, "total"), 3);
  EXPECT_NE(json.out.find("\"transactionId\": \"" + ids[0] + "\""), std::string::npos) << json.out;

  auto bad = admin({"transactionList", "-l", "0"});
  EXPECT_EQ(bad.exit_code, admin::kExitUsage);
  EXPECT_NE(bad.err.find("limit must be within 1..100000"), std::string::npos) << bad.err;
}

// Every command's --help (and -h) prints its usage with each of its options, on stdout, and
// exits 0, without a cluster to talk to.
TEST(AdminUsageTest, EveryCommandsHelpNamesItsOptions) {
  for (const auto& spec : admin::commands()) {
    for (const char* flag : {"--help", "-h"}) {
      auto r = run_process({COMET_ADMIN_BIN, std::string(spec.name), flag});
      EXPECT_EQ(r.exit_code, 0) << spec.name << " " << flag << ": " << r.err;
      EXPECT_TRUE(r.err.empty()) << r.err;
      EXPECT_NE(r.out.find("usage: comet-admin " + std::string(spec.name)), std::string::npos)
          << r.out;
      EXPECT_NE(r.out.find(std::string(spec.summary)), std::string::npos) << r.out;
      for (const auto& opt : spec.options) {
        EXPECT_NE(r.out.find("--" + std::string(opt.name)), std::string::npos)
            << spec.name << " does not name --" << opt.name << ":\n"
            << r.out;
        if (opt.letter) {
          EXPECT_NE(r.out.find(std::string("-") + opt.letter + ", --"), std::string::npos)
              << spec.name << " does not name -" << opt.letter << ":\n"
              << r.out;
        }
      }
      EXPECT_NE(r.out.find("--namesrvAddr"), std::string::npos) << r.out;
    }
  }
}

TEST(AdminUsageTest, HelpListsEveryCommandWithItsSummary) {
  for (const char* form : {"--help", "-h", "help"}) {
    auto r = run_process({COMET_ADMIN_BIN, form});
    EXPECT_EQ(r.exit_code, 0) << form;
    for (const auto& spec : admin::commands()) {
      EXPECT_NE(r.out.find(std::string(spec.name)), std::string::npos) << spec.name;
      EXPECT_NE(r.out.find(std::string(spec.summary)), std::string::npos) << spec.summary;
    }
  }
  auto one = run_process({COMET_ADMIN_BIN, "help", "haStatus"});
  EXPECT_EQ(one.exit_code, 0);
  EXPECT_NE(one.out.find("usage: comet-admin haStatus -b <brokerName>"), std::string::npos)
      << one.out;
}

TEST(AdminUsageTest, ABadOptionOrCommandIsNamedAndExitsNonZero) {
  auto unknown = run_process({COMET_ADMIN_BIN, "topicStatus", "-t", "T", "--frob"});
  EXPECT_EQ(unknown.exit_code, admin::kExitUsage);
  EXPECT_TRUE(unknown.out.empty()) << unknown.out;
  EXPECT_NE(unknown.err.find("comet-admin topicStatus: unknown option '--frob'"), std::string::npos)
      << unknown.err;
  EXPECT_NE(unknown.err.find("usage: comet-admin topicStatus"), std::string::npos);

  auto not_int = run_process({COMET_ADMIN_BIN, "consumeMessage", "-t", "T", "-c", "lots"});
  EXPECT_EQ(not_int.exit_code, admin::kExitUsage);
  EXPECT_NE(not_int.err.find("bad or incomplete option '-c' (given 'lots')"), std::string::npos)
      << not_int.err;
  auto no_value = run_process({COMET_ADMIN_BIN, "topicRoute", "-t"});
  EXPECT_EQ(no_value.exit_code, admin::kExitUsage);
  EXPECT_NE(no_value.err.find("bad or incomplete option '-t': needs a value <topic>"),
            std::string::npos)
      << no_value.err;
  auto flag_value = run_process({COMET_ADMIN_BIN, "clusterList", "--json=yes"});
  EXPECT_EQ(flag_value.exit_code, admin::kExitUsage);
  EXPECT_NE(flag_value.err.find("option --json takes no value"), std::string::npos);
  auto stray = run_process({COMET_ADMIN_BIN, "clusterList", "extra"});
  EXPECT_EQ(stray.exit_code, admin::kExitUsage);
  EXPECT_NE(stray.err.find("unexpected argument 'extra'"), std::string::npos);

  auto no_command = run_process({COMET_ADMIN_BIN, "nosuch", "--help"});
  EXPECT_EQ(no_command.exit_code, admin::kExitUsage);
  EXPECT_NE(no_command.err.find("unknown command 'nosuch'"), std::string::npos);
  auto help_of_nothing = run_process({COMET_ADMIN_BIN, "help", "nosuch"});
  EXPECT_EQ(help_of_nothing.exit_code, admin::kExitUsage);
}

}  // namespace
}  // namespace comet::testing
