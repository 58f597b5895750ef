// Finding messages with real processes: a name server, broker group "broker-a" (ASYNC_MASTER and
// its SLAVE) and broker group "broker-b" (a master), messages sent with keys through the real
// Producer, and comet-admin's queryMsgByKey, queryMsgByUniqueKey, queryMsgById, queryMsgByOffset
// and viewMessage run as child processes. The same lookups answer from the slave once the master
// is killed (-9), and after the slave is promoted. Bad input gets a typed error naming it. A
// DLedger group's followers answer QUERY_MESSAGE and VIEW_MESSAGE_BY_ID as its leader does.
#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "admin/admin_client.h"
#include "common/msg_id.h"
#include "integration/cluster.h"
#include "integration/dledger_group.h"
#include "integration/metadata_offsets.h"
#include "producer/producer.h"

namespace comet::testing {
namespace {

constexpr const char* kTopic = "QueryTopic";
constexpr int kQueues = 2;
constexpr int kMessages = 200;
constexpr int kShared = 50;  // messages 0..49 also carry the key "shared"

std::string body_of(int i) {
  return "query-body-" + std::to_string(i);
}
std::string key_of(int i) {
  return "k-" + std::to_string(i);
}

// Whitespace-separated cells of the first line whose leading cells are `prefix`.
std::optional<std::vector<std::string>> find_row(const std::string& text,
                                                 const std::vector<std::string>& prefix) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream cells(line);
    std::vector<std::string> row;
    for (std::string cell; cells >> cell;)
      row.push_back(cell);
    if (row.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), row.begin())) {
      return row;
    }
  }
  return std::nullopt;
}

// The value after `"key": ` in JSON text (a string's without its quotes), from `from` on.
std::string json_value(const std::string& json, const std::string& key, size_t from = 0) {
  const size_t at = json.find("\"" + key + "\": ", from);
  if (at == std::string::npos) return {};
  size_t begin = at + key.size() + 4;
  if (json[begin] == '"') {
    ++begin;
    return json.substr(begin, json.find('"', begin) - begin);
  }
  return json.substr(begin, json.find_first_of(",\n}", begin) - begin);
}

class QueryProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
    master_ = start("m", "broker-a", {"brokerRole=ASYNC_MASTER"});
    slave_ = start("s", "broker-a", {"brokerRole=SLAVE", "brokerId=1"});
    other_ = start("b", "broker-b", {});
    ASSERT_TRUE(cluster_->broker("s")->wait_for_line("streaming from master", 30s, true).is_ok());
    auto created = admin({"updateTopic", "-c", "DefaultCluster", "-t", kTopic, "-r",
                          std::to_string(kQueues), "-w", std::to_string(kQueues)});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    send_all();
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
  }

  std::string start(const std::string& key, const std::string& name,
                    std::vector<std::string> extra) {
    extra.push_back("slaveSyncIntervalMs=200");
    extra.push_back("haSendHeartbeatInterval=200");
    auto addr = cluster_->start_broker_as(key, name, std::move(extra));
    EXPECT_TRUE(addr.is_ok()) << addr.status().to_string();
    return addr.is_ok() ? *addr : "";
  }

  RunResult admin(std::vector<std::string> args) {
    args.insert(args.begin(), COMET_ADMIN_BIN);
    args.push_back("-n");
    args.push_back(cluster_->namesrv_addr());
    return run_process(args);
  }

  // kMessages messages through the real producer, each with its own key; the first kShared also
  // with "shared". Then waits until every queue's last message is readable at each replica (its
  // index is built with its ConsumeQueue entry).
  void send_all() {
    client::Producer producer("query-pg", cluster_->client_config("query-test"));
    ASSERT_TRUE(producer.start().is_ok());
    std::map<std::pair<std::string, uint32_t>, uint64_t> last;
    for (int i = 0; i < kMessages; ++i) {
      client::ProducerMessage m;
      m.topic = kTopic;
      m.body = body_of(i);
      m.tags = "TagQ";
      m.keys = i < kShared ? key_of(i) + " shared" : key_of(i);
      auto r = producer.send(m);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      sent_.push_back(*r);
      auto& end = last[{r->broker_name, r->queue_id}];
      end = std::max(end, r->queue_offset);
    }
    producer.shutdown();
    for (const auto& [where, offset] : last) {
      const bool on_a = where.first == "broker-a";
      for (const std::string& addr : on_a ? std::vector{master_, slave_} : std::vector{other_})
        wait_readable(addr, where.second, static_cast<int64_t>(offset));
    }
  }

  // Reads the queue at `addr` up to `last` in long-polled batches: a replica still catching up
  // answers as more arrives. (A pull past the end by more than one is refused at once, not held.)
  void wait_readable(const std::string& addr, uint32_t queue, int64_t last) {
    int64_t offset = 0;
    for (int rounds = 0; rounds < 1000 && offset <= last; ++rounds) {
      auto r = cluster_->client().invoke(
          addr, pull_request(kTopic, static_cast<int32_t>(queue), offset, 32, 10000), 15s);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << addr << ": " << r->remark();
      const auto* ext = r->ext<protocol::PullMessageResponseT>();
      ASSERT_NE(ext, nullptr);
      ASSERT_GT(ext->next_begin_offset, offset);
      offset = ext->next_begin_offset;
    }
    ASSERT_GT(offset, last) << addr << " queue " << queue;
  }

  // The index of the first message sent to broker-a.
  int first_on(const std::string& broker) const {
    for (int i = 0; i < kMessages; ++i)
      if (sent_[static_cast<size_t>(i)].broker_name == broker) return i;
    ADD_FAILURE() << "nothing sent to " << broker;
    return 0;
  }

  // Commits `offset` for `group` on the message's queue at broker-a's master and waits until the
  // slave holds it.
  void commit(const std::string& group, const client::SendResult& r, int64_t offset) {
    auto c = admin({"updateConsumerOffset", "-g", group, "-t", kTopic, "-b", r.broker_name, "-i",
                    std::to_string(r.queue_id), "-o", std::to_string(offset)});
    ASSERT_EQ(c.exit_code, 0) << c.err;
    committed_[offset_key(group, kTopic, static_cast<int>(r.queue_id))] = offset;
  }

  // Checks the unique key, offsetMsgId and viewMessage lookups of message `i`, read from `addr`.
  void expect_found_everywhere(int i, const std::string& addr) {
    const client::SendResult& r = sent_[static_cast<size_t>(i)];
    auto by_unique = admin({"queryMsgByUniqueKey", "-t", kTopic, "-i", r.msg_id, "--json"});
    ASSERT_EQ(by_unique.exit_code, 0) << by_unique.err;
    EXPECT_EQ(json_value(by_unique.out, "count"), "1") << by_unique.out;
    EXPECT_EQ(json_value(by_unique.out, "body"), body_of(i));
    EXPECT_EQ(json_value(by_unique.out, "readFrom"), addr);

    auto by_offset_id = admin({"queryMsgById", "-i", r.offset_msg_id, "--json"});
    ASSERT_EQ(by_offset_id.exit_code, 0) << by_offset_id.err;
    EXPECT_EQ(json_value(by_offset_id.out, "msgId"), r.msg_id) << by_offset_id.out;
    EXPECT_EQ(json_value(by_offset_id.out, "body"), body_of(i));
    EXPECT_EQ(json_value(by_offset_id.out, "readFrom"), addr);

    auto by_key = admin({"queryMsgByKey", "-t", kTopic, "-k", key_of(i)});
    ASSERT_EQ(by_key.exit_code, 0) << by_key.err;
    EXPECT_TRUE(find_row(by_key.out, {r.broker_name, std::to_string(r.queue_id),
                                      std::to_string(r.queue_offset), r.msg_id, r.offset_msg_id}))
        << by_key.out;
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string master_, slave_, other_;
  std::vector<client::SendResult> sent_;
  OffsetMap committed_;
};

TEST_F(QueryProcessTest, KeysUniqueKeysOffsetIdsAndOffsetsFindTheirMessage) {
  // Every key finds exactly its message (in process: 200 keys, both groups asked each time).
  admin::AdminClient client(cluster_->namesrv_addr(), std::chrono::milliseconds(5000));
  for (int i = 0; i < kMessages; ++i) {
    const client::SendResult& r = sent_[static_cast<size_t>(i)];
    size_t hits = 0;
    for (const auto& [name, addr] : {std::pair{"broker-a", master_}, {"broker-b", other_}}) {
      protocol::QueryMessageRequestT q;
      q.topic = kTopic;
      q.key = key_of(i);
      q.max_num = 64;
      auto answer = client.query_messages(addr, name, q);
      ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
      if (answer->code == ResponseCode::QUERY_NOT_FOUND) continue;
      ASSERT_TRUE(answer->status.is_ok()) << answer->status.to_string();
      for (const auto& m : answer->messages) {
        EXPECT_EQ(m.msg_id, r.msg_id) << key_of(i);
        EXPECT_EQ(m.body, body_of(i));
        ++hits;
      }
    }
    EXPECT_EQ(hits, 1u) << key_of(i);
  }

  expect_found_everywhere(first_on("broker-a"), master_);
  expect_found_everywhere(first_on("broker-b"), other_);

  // The shared key: all 50 from both groups, newest first; -c cuts the newest 20.
  auto shared = admin({"queryMsgByKey", "-t", kTopic, "-k", "shared", "--json"});
  ASSERT_EQ(shared.exit_code, 0) << shared.err;
  EXPECT_EQ(json_value(shared.out, "count"), std::to_string(kShared));
  int64_t previous = INT64_MAX;
  size_t at = 0;
  for (int n = 0; n < kShared; ++n) {
    at = shared.out.find("\"storeTimestamp\": ", at + 1);
    ASSERT_NE(at, std::string::npos);
    const int64_t t = std::stoll(json_value(shared.out, "storeTimestamp", at - 1));
    EXPECT_LE(t, previous) << "not newest first";
    previous = t;
  }
  auto capped = admin({"queryMsgByKey", "-t", kTopic, "-k", "shared", "-c", "20", "--json"});
  ASSERT_EQ(capped.exit_code, 0) << capped.err;
  EXPECT_EQ(json_value(capped.out, "count"), "20");
  EXPECT_NE(capped.out.find(sent_[kShared - 1].msg_id), std::string::npos) << "the newest";
  EXPECT_EQ(capped.out.find("\"" + sent_[0].msg_id + "\""), std::string::npos) << "the oldest";

  // A missing key finds none.
  auto missing = admin({"queryMsgByKey", "-t", kTopic, "-k", "no-such-key"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no message with key no-such-key"), std::string::npos) << missing.err;

  // The id clients show, looked up as a unique key with -t.
  const int i = first_on("broker-b");
  const client::SendResult& r = sent_[static_cast<size_t>(i)];
  auto by_uniq_id = admin({"queryMsgById", "-i", r.msg_id, "-t", kTopic, "--json"});
  ASSERT_EQ(by_uniq_id.exit_code, 0) << by_uniq_id.err;
  EXPECT_EQ(json_value(by_uniq_id.out, "offsetMsgId"), r.offset_msg_id);

  // By queue offset.
  auto by_offset = admin({"queryMsgByOffset", "-t", kTopic, "-b", r.broker_name, "-i",
                          std::to_string(r.queue_id), "-o", std::to_string(r.queue_offset)});
  ASSERT_EQ(by_offset.exit_code, 0) << by_offset.err;
  EXPECT_NE(by_offset.out.find(body_of(i)), std::string::npos) << by_offset.out;
  EXPECT_NE(by_offset.out.find(r.msg_id), std::string::npos) << by_offset.out;
  auto past_end = admin({"queryMsgByOffset", "-t", kTopic, "-b", r.broker_name, "-i",
                         std::to_string(r.queue_id), "-o", "100000"});
  EXPECT_EQ(past_end.exit_code, 1);
  EXPECT_NE(past_end.err.find("offset 100000: no message there"), std::string::npos)
      << past_end.err;
}

TEST_F(QueryProcessTest, ViewMessageShowsWhetherEachGroupConsumedIt) {
  const int i = first_on("broker-a");
  const client::SendResult& r = sent_[static_cast<size_t>(i)];
  commit("g-done", r, static_cast<int64_t>(r.queue_offset) + 1);
  commit("g-behind", r, static_cast<int64_t>(r.queue_offset));
  auto view = admin({"viewMessage", "-i", r.offset_msg_id});
  ASSERT_EQ(view.exit_code, 0) << view.err;
  EXPECT_TRUE(find_row(view.out, {"g-done", "CONSUMED", std::to_string(r.queue_offset + 1)}))
      << view.out;
  EXPECT_TRUE(find_row(view.out, {"g-behind", "NOT_CONSUME_YET", std::to_string(r.queue_offset)}))
      << view.out;
  EXPECT_NE(view.out.find("TAGS=TagQ"), std::string::npos) << view.out;
  EXPECT_NE(view.out.find(body_of(i)), std::string::npos) << view.out;
  auto view_json = admin({"viewMessage", "-i", r.msg_id, "-t", kTopic, "--json"});
  ASSERT_EQ(view_json.exit_code, 0) << view_json.err;
  EXPECT_NE(view_json.out.find("\"trackType\": \"CONSUMED\""), std::string::npos);
  EXPECT_NE(view_json.out.find("\"trackType\": \"NOT_CONSUME_YET\""), std::string::npos);
  EXPECT_EQ(json_value(view_json.out, "UNIQ_KEY"), r.msg_id);

  // The slave answers the same once the master is gone (-9), and after its promotion.
  EXPECT_EQ(await_replicated_offsets(cluster_->client(), slave_, committed_, 30s), committed_);
  cluster_->broker("m")->kill9();
  expect_found_everywhere(i, slave_);
  auto from_slave = admin({"viewMessage", "-i", r.offset_msg_id});
  ASSERT_EQ(from_slave.exit_code, 0) << from_slave.err;
  EXPECT_TRUE(find_row(from_slave.out, {"g-done", "CONSUMED"})) << from_slave.out;
  EXPECT_TRUE(find_row(from_slave.out, {"g-behind", "NOT_CONSUME_YET"})) << from_slave.out;
  auto shared = admin({"queryMsgByKey", "-t", kTopic, "-k", "shared", "--json"});
  ASSERT_EQ(shared.exit_code, 0) << shared.err;
  EXPECT_EQ(json_value(shared.out, "count"), std::to_string(kShared));

  auto promoted = admin({"promoteSlave", "-b", "broker-a", "-i", "1"});
  ASSERT_EQ(promoted.exit_code, 0) << promoted.err;
  expect_found_everywhere(i, slave_);
}

TEST_F(QueryProcessTest, BadInputGetsATypedErrorNamingIt) {
  auto short_id = admin({"queryMsgById", "-i", "ABC"});
  EXPECT_EQ(short_id.exit_code, 1);
  EXPECT_NE(short_id.err.find("has 3 characters; an offsetMsgId has 32 hex digits"),
            std::string::npos)
      << short_id.err;
  auto not_hex = admin({"viewMessage", "-i", std::string(31, '0') + "G"});
  EXPECT_EQ(not_hex.exit_code, 1);
  EXPECT_NE(not_hex.err.find("character 32 of 32 ('G') is not a hex digit"), std::string::npos)
      << not_hex.err;
  // A unique key is no offsetMsgId: without -t the tool says what it needs.
  auto uniq_alone = admin({"queryMsgById", "-i", sent_[0].msg_id});
  EXPECT_EQ(uniq_alone.exit_code, 1);
  EXPECT_NE(uniq_alone.err.find("a unique key needs -t <topic>"), std::string::npos)
      << uniq_alone.err;
  // An offsetMsgId past the end of its broker's log.
  auto a = parse_msg_id(sent_[static_cast<size_t>(first_on("broker-a"))].offset_msg_id);
  ASSERT_TRUE(a.is_ok());
  const std::string beyond = make_msg_id(a->store_host, uint64_t{1} << 40);
  auto past = admin({"queryMsgById", "-i", beyond});
  EXPECT_EQ(past.exit_code, 1);
  EXPECT_NE(past.err.find("QUERY_NOT_FOUND"), std::string::npos) << past.err;
  EXPECT_NE(past.err.find("CommitLog offset " + std::to_string(uint64_t{1} << 40)),
            std::string::npos)
      << past.err;

  auto long_key = admin({"queryMsgByKey", "-t", kTopic, "-k", std::string(600, 'x')});
  EXPECT_EQ(long_key.exit_code, 1);
  EXPECT_NE(long_key.err.find("BAD_REQUEST: key of 600 bytes is longer than the 512"),
            std::string::npos)
      << long_key.err;
  auto unknown = admin({"queryMsgByKey", "-t", "NoSuchTopic", "-k", "k-1"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("topic NoSuchTopic"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("TOPIC_NOT_EXIST"), std::string::npos) << unknown.err;

  // The broker's own answers, asked directly: an unknown topic and an empty key.
  protocol::QueryMessageRequestT q;
  q.topic = "NoSuchTopic";
  q.key = "k-1";
  auto req = RemotingCommand::request(RequestCode::QUERY_MESSAGE);
  req.set_ext(q);
  auto answer = cluster_->client().invoke(master_, std::move(req), 10s);
  ASSERT_TRUE(answer.is_ok());
  EXPECT_EQ(answer->response_code(), ResponseCode::TOPIC_NOT_EXIST);
  EXPECT_NE(answer->remark().find("topic NoSuchTopic does not exist on broker broker-a"),
            std::string::npos)
      << answer->remark();
  q.topic = kTopic;
  q.key = "";
  auto empty_req = RemotingCommand::request(RequestCode::QUERY_MESSAGE);
  empty_req.set_ext(q);
  auto empty = cluster_->client().invoke(master_, std::move(empty_req), 10s);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty->response_code(), ResponseCode::BAD_REQUEST);
  EXPECT_NE(empty->remark().find("key to query is empty"), std::string::npos);
  auto view_req = RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID);
  protocol::ViewMessageRequestT v;
  v.offset = -5;
  view_req.set_ext(v);
  auto negative = cluster_->client().invoke(master_, std::move(view_req), 10s);
  ASSERT_TRUE(negative.is_ok());
  EXPECT_EQ(negative->response_code(), ResponseCode::BAD_REQUEST);
  EXPECT_NE(negative->remark().find("CommitLog offset -5 is negative"), std::string::npos);

  // A broker that keeps no index says so.
  const std::string unindexed = start("c", "broker-c", {"messageIndexEnable=false"});
  auto topic = cluster_->client().invoke(unindexed, update_topic_request(kTopic, 1), 10s);
  ASSERT_TRUE(topic.is_ok() && topic->response_code() == ResponseCode::SUCCESS);
  auto off_req = RemotingCommand::request(RequestCode::QUERY_MESSAGE);
  q.key = "k-1";
  off_req.set_ext(q);
  auto off = cluster_->client().invoke(unindexed, std::move(off_req), 10s);
  ASSERT_TRUE(off.is_ok());
  EXPECT_EQ(off->response_code(), ResponseCode::SERVICE_NOT_AVAILABLE);
  EXPECT_NE(off->remark().find("broker broker-c: messageIndexEnable is off"), std::string::npos)
      << off->remark();
}

// Followers serve the lookups from their own log and index, once the entries are committed.
TEST(QueryDLedgerTest, FollowersAnswerLookupsAsTheLeaderDoes) {
  TempDir dir;
  LocalCluster cluster(dir.path());
  ASSERT_TRUE(cluster.start_namesrv().is_ok());
  const std::string peers = dledger_peers(3);
  ASSERT_FALSE(peers.empty()) << "no free port";
  std::vector<std::string> addrs;
  for (int i = 0; i < 3; ++i) {
    auto addr = cluster.start_broker_as(dledger_member_id(i), "dl-q",
                                        dledger_member_settings("dl-q", peers, i));
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    addrs.push_back(*addr);
  }
  const int leader = next_leader_announced(cluster.broker(dledger_member_id(0)));
  ASSERT_GE(leader, 0) << "no leader elected";
  const std::string& at = addrs[static_cast<size_t>(leader)];
  auto created = cluster.client().invoke(at, update_topic_request(kTopic, 1), 10s);
  ASSERT_TRUE(created.is_ok() && created->response_code() == ResponseCode::SUCCESS);

  auto send = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  protocol::SendMessageRequestT ext;
  ext.producer_group = "dl-pg";
  ext.topic = kTopic;
  ext.queue_id = 0;
  ext.batch = true;
  send.set_ext(std::move(ext));
  send.body.owned = encode_records_with_properties(kTopic, {"dl-0", "dl-1", "dl-2"},
                                                   encode_properties({{"KEYS", "dl-key"}}));
  auto sent = cluster.client().invoke(at, std::move(send), 10s);
  ASSERT_TRUE(sent.is_ok());
  ASSERT_EQ(sent->response_code(), ResponseCode::SUCCESS) << sent->remark();
  const int64_t physical = sent->ext<protocol::SendMessageResponseT>()->physical_offset;

  admin::AdminClient client(cluster.namesrv_addr(), std::chrono::milliseconds(5000));
  for (const std::string& addr : addrs) {
    // Readable there (the follower learned the commit): then indexed too.
    for (int64_t offset = 0; offset < 3; ++offset) {
      auto r = cluster.client().invoke(addr, pull_request(kTopic, 0, offset, 1, 10000), 15s);
      ASSERT_TRUE(r.is_ok() && r->response_code() == ResponseCode::SUCCESS) << addr;
    }
    protocol::QueryMessageRequestT q;
    q.topic = kTopic;
    q.key = "dl-key";
    q.max_num = 32;
    auto found = client.query_messages(addr, "dl-q", q);
    ASSERT_TRUE(found.is_ok()) << found.status().to_string();
    ASSERT_TRUE(found->status.is_ok()) << addr << ": " << found->status.to_string();
    ASSERT_EQ(found->messages.size(), 3u) << addr;
    EXPECT_EQ(found->messages[0].body, "dl-2") << "newest first";
    auto viewed = client.view_message(addr, "dl-q", physical);
    ASSERT_TRUE(viewed.is_ok() && viewed->status.is_ok()) << addr;
    ASSERT_EQ(viewed->messages.size(), 1u);
    EXPECT_EQ(viewed->messages[0].body, "dl-0");
  }
}

}  // namespace
}  // namespace comet::testing
