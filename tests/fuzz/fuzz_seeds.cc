// Writes the fuzzers' seed corpora: fuzz_seeds <dir> makes <dir>/frame (one request of each
// kind the broker serves, and the name server's registrations, well formed), <dir>/broker (the same
// frames) and <dir>/record (CommitLog records, alone and back to back, a blank among them; message
// ids) and <dir>/metadata_record (metadata records: offsets, topics, group configs, all, none) and
// <dir>/timer (timer properties as a producer and the broker write them, timer log entries) and
// <dir>/transaction (op records as stored and as split text, the properties of transactional sends)
// and <dir>/index_file (index files: empty, with chains, full, with a torn put) and <dir>/rocketmq
// (RocketMQ headers, frames, batches, store messages and JSON bodies, each behind the byte that
// picks its decoder in rocketmq_fuzzer) and <dir>/acl (accounts files, address patterns,
// credentials files and signed frames, each behind the byte that picks its parser in acl_fuzzer)
// and <dir>/tls_detect (the first bytes of TLS, native and RocketMQ connections) and
// <dir>/fault_rule (comet-faultfs control lines).
// The fuzzers start
// from these instead of from nothing, so their mutations begin inside the formats.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "commitlog/index_file.h"
#include "common/msg_id.h"
#include "common/record_codec.h"
#include "fuzz/acl_seeds.h"
#include "remoting/remoting_command.h"
#include "remoting/rocketmq_codec.h"
#include "remoting/rocketmq_json.h"
#include "remoting/rocketmq_message.h"

using namespace comet;
using namespace comet::remoting;

namespace {

std::string record_with_properties(std::string_view topic, std::string_view body,
                                   std::string_view props, uint64_t queue_offset,
                                   uint64_t physical_offset) {
  Message m;
  m.topic = topic;
  m.body = body;
  m.properties = props;
  m.queue_id = 1;
  m.born_timestamp_ms = 1700000000000;
  m.born_host = {0x7f000001, 40000};
  std::string out(record::encoded_size(m), '\0');
  record::encode(m, queue_offset, physical_offset, 1700000000001, {0x7f000001, 10911},
                 reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

std::string record_of(std::string_view topic, std::string_view body, std::string_view tags,
                      uint64_t queue_offset, uint64_t physical_offset) {
  const std::string props = tags.empty() ? "" : encode_properties({{"TAGS", std::string(tags)}});
  return record_with_properties(topic, body, props, queue_offset, physical_offset);
}

template <typename Ext>
std::string frame(RequestCode code, Ext ext, std::string body = {}) {
  auto cmd = RemotingCommand::request(code);
  cmd.header.opaque = 7;
  cmd.set_ext(std::move(ext));
  cmd.body.owned = std::move(body);
  return encode_frame(cmd);
}

std::string bare(RequestCode code) {
  auto cmd = RemotingCommand::request(code);
  cmd.header.opaque = 7;
  return encode_frame(cmd);
}

// The transaction requests: a half message's send, its END_TRANSACTION (commit, rollback,
// unknown) and GET_OPEN_TRANSACTIONS.
void transaction_frames(std::vector<std::string>& out) {
  protocol::SendMessageRequestT s;
  s.producer_group = "pg";
  s.topic = "FuzzTopic";
  s.queue_id = 0;
  const std::string props =
      encode_properties({{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"UNIQ_KEY", "K1"}});
  out.push_back(frame(RequestCode::SEND_MESSAGE, s,
                      record_with_properties("FuzzTopic", "half", props, 0, 0)));
  for (auto outcome : {protocol::TransactionOutcome::COMMIT, protocol::TransactionOutcome::ROLLBACK,
                       protocol::TransactionOutcome::UNKNOWN}) {
    protocol::EndTransactionRequestT e;
    e.producer_group = "pg";
    e.tran_state_table_offset = 0;
    e.commit_log_offset = 0;
    e.commit_or_rollback = outcome;
    e.transaction_id = "K1";
    e.msg_id = "K1";
    out.push_back(frame(RequestCode::END_TRANSACTION, e));
  }
  protocol::OpenTransactionsRequestT o;
  o.producer_group = "pg";
  o.limit = 10;
  out.push_back(frame(RequestCode::GET_OPEN_TRANSACTIONS, o));
}

// Offsets by time: a time search, the earliest store time, and an admin reset of group cg (the
// heartbeat seed makes it online, so the broker asks its member: the harness connection, which
// answers REQUEST_CODE_NOT_SUPPORTED).
void offset_time_frames(std::vector<std::string>& out) {
  protocol::SearchOffsetRequestT search;
  search.topic = "FuzzTopic";
  search.timestamp = 1;
  out.push_back(frame(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, search));
  protocol::QueueOffsetRequestT earliest;
  earliest.topic = "FuzzTopic";
  out.push_back(frame(RequestCode::GET_EARLIEST_MSG_STORETIME, earliest));
  protocol::ResetOffsetRequestT reset;
  reset.consumer_group = "cg";
  reset.topic = "FuzzTopic";
  reset.timestamp = -1;
  out.push_back(frame(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, reset));
}

// The group admin requests: who is connected, a group's consume stats (of a topic, of all its
// topics), and its deletion (with and without its offsets).
void group_admin_frames(std::vector<std::string>& out) {
  protocol::ConsumerConnectionRequestT cc;
  cc.consumer_group = "cg";
  out.push_back(frame(RequestCode::GET_CONSUMER_CONNECTION_LIST, cc));
  protocol::ProducerConnectionRequestT pc;
  pc.producer_group = "pg";
  out.push_back(frame(RequestCode::GET_PRODUCER_CONNECTION_LIST, pc));
  for (const char* topic : {"FuzzTopic", ""}) {
    protocol::ConsumeStatsRequestT cs;
    cs.consumer_group = "cg";
    cs.topic = topic;
    out.push_back(frame(RequestCode::GET_CONSUME_STATS, cs));
  }
  for (bool clean : {false, true}) {
    protocol::DeleteSubscriptionGroupRequestT d;
    d.group_name = "cg";
    d.clean_offset = clean;
    out.push_back(frame(RequestCode::DELETE_SUBSCRIPTIONGROUP, d));
  }
}

// A message a consumer sends to its group's retry topic, consumed often enough for the DLQ.
// A broker's registration with its table and data version, and the small heartbeat between
// changes (the name server's side of the frame decoder).
void registration_frames(std::vector<std::string>& out) {
  protocol::RegisterBrokerRequestT r;
  r.cluster_name = "DefaultCluster";
  r.broker_name = "broker-a";
  r.broker_addr = "127.0.0.1:10911";
  r.data_version = std::make_unique<protocol::DataVersionT>();
  r.data_version->timestamp_ms = 1700000000000;
  r.data_version->counter = 3;
  auto tc = std::make_unique<protocol::TopicConfigT>();
  tc->topic_name = "FuzzTopic";
  tc->read_queue_nums = 4;
  tc->write_queue_nums = 4;
  tc->perm = 6;
  r.topic_configs.push_back(std::move(tc));
  out.push_back(frame(RequestCode::REGISTER_BROKER, std::move(r)));
  protocol::BrokerHeartbeatRequestT h;
  h.cluster_name = "DefaultCluster";
  h.broker_name = "broker-a";
  h.broker_addr = "127.0.0.1:10911";
  h.epoch = 2;
  h.data_version = std::make_unique<protocol::DataVersionT>();
  h.data_version->timestamp_ms = 1700000000000;
  h.data_version->counter = 3;
  out.push_back(frame(RequestCode::BROKER_HEARTBEAT, std::move(h)));
}

std::string send_to_retry_topic() {
  protocol::SendMessageRequestT s;
  s.producer_group = "pg";
  s.topic = "%RETRY%cg";
  s.queue_id = -1;
  const std::string props =
      encode_properties({{"RECONSUME_TIME", "16"}, {"MAX_RECONSUME_TIMES", "16"}});
  Message m;
  m.topic = s.topic;
  m.body = "spent";
  m.properties = props;
  std::string body(record::encoded_size(m), '\0');
  record::encode(m, 0, 0, 0, {}, reinterpret_cast<uint8_t*>(body.data()));
  return frame(RequestCode::SEND_MESSAGE, s, std::move(body));
}

std::vector<std::string> frames() {
  std::vector<std::string> out;
  {
    protocol::SendMessageRequestT s;
    s.producer_group = "pg";
    s.topic = "FuzzTopic";
    s.queue_id = 0;
    out.push_back(frame(RequestCode::SEND_MESSAGE, s, record_of("FuzzTopic", "hello", "A", 0, 0)));
    s.batch = true;
    s.queue_id = -1;
    out.push_back(
        frame(RequestCode::SEND_MESSAGE, s,
              record_of("FuzzTopic", "one", "A", 0, 0) + record_of("FuzzTopic", "two", "", 0, 0)));
  }
  {
    protocol::PullMessageRequestT p;
    p.consumer_group = "cg";
    p.topic = "FuzzTopic";
    p.queue_offset = 0;
    p.max_msg_nums = 32;
    p.commit_offset = -1;
    p.subscription = "A || B";
    out.push_back(frame(RequestCode::PULL_MESSAGE, p));
  }
  {
    protocol::QueryMessageRequestT q;
    q.topic = "FuzzTopic";
    q.key = "order-1";
    q.max_num = 32;
    q.end_timestamp = INT64_MAX;
    out.push_back(frame(RequestCode::QUERY_MESSAGE, q));
    q.unique_key = true;
    out.push_back(frame(RequestCode::QUERY_MESSAGE, q));
    protocol::ViewMessageRequestT v;
    v.offset = 0;
    out.push_back(frame(RequestCode::VIEW_MESSAGE_BY_ID, v));
  }
  {
    protocol::ConsumerOffsetRequestT o;
    o.consumer_group = "cg";
    o.topic = "FuzzTopic";
    o.commit_offset = 3;
    out.push_back(frame(RequestCode::QUERY_CONSUMER_OFFSET, o));
    out.push_back(frame(RequestCode::UPDATE_CONSUMER_OFFSET, o));
  }
  {
    protocol::UpdateTopicRequestT u;
    u.config = std::make_unique<protocol::TopicConfigT>();
    u.config->topic_name = "FuzzTopic2";
    u.config->read_queue_nums = 4;
    u.config->write_queue_nums = 4;
    u.config->perm = 6;
    out.push_back(frame(RequestCode::UPDATE_AND_CREATE_TOPIC, std::move(u)));
  }
  {
    protocol::QueueOffsetRequestT q;
    q.topic = "FuzzTopic";
    out.push_back(frame(RequestCode::GET_MAX_OFFSET, q));
    out.push_back(frame(RequestCode::GET_MIN_OFFSET, q));
  }
  {
    protocol::HeartbeatRequestT h;
    h.client_id = "client-1";
    h.producer_groups = {"pg"};
    auto c = std::make_unique<protocol::ConsumerDataT>();
    c->group_name = "cg";
    c->message_model = "CLUSTERING";
    auto sub = std::make_unique<protocol::SubscriptionT>();
    sub->topic = "FuzzTopic";
    sub->expression = "*";
    c->subscriptions.push_back(std::move(sub));
    h.consumers.push_back(std::move(c));
    out.push_back(frame(RequestCode::HEART_BEAT, std::move(h)));
  }
  {
    protocol::UnregisterClientRequestT u;
    u.client_id = "client-1";
    u.consumer_group = "cg";
    out.push_back(frame(RequestCode::UNREGISTER_CLIENT, u));
    protocol::ConsumerListRequestT l;
    l.consumer_group = "cg";
    out.push_back(frame(RequestCode::GET_CONSUMER_LIST_BY_GROUP, l));
  }
  {
    protocol::DeleteTopicRequestT d;
    d.topic = "FuzzTopic2";
    out.push_back(frame(RequestCode::DELETE_TOPIC_IN_BROKER, d));
    protocol::PromoteSlaveRequestT p;
    p.epoch = 2;
    p.role = "SYNC_MASTER";
    out.push_back(frame(RequestCode::PROMOTE_SLAVE, p));
    protocol::TransferLeaderRequestT t;
    t.target_id = "n1";
    out.push_back(frame(RequestCode::DLEDGER_TRANSFER_LEADER, t));
  }
  {
    protocol::ConsumerSendMsgBackRequestT b;
    b.offset = 0;
    b.group = "cg";
    out.push_back(frame(RequestCode::CONSUMER_SEND_MSG_BACK, b));
    protocol::SubscriptionGroupConfigT g;
    g.group_name = "cg";
    g.retry_max_times = 2;
    out.push_back(frame(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, g));
    out.push_back(send_to_retry_topic());
  }
  transaction_frames(out);
  offset_time_frames(out);
  group_admin_frames(out);
  registration_frames(out);
  for (RequestCode c : {RequestCode::GET_ALL_TOPIC_CONFIG, RequestCode::GET_BROKER_RUNTIME_INFO,
                        RequestCode::GET_ALL_CONSUMER_OFFSET, RequestCode::GET_HA_STATUS,
                        RequestCode::GET_DLEDGER_STATUS, RequestCode::GET_ROUTEINFO_BY_TOPIC,
                        RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG}) {
    out.push_back(bare(c));
  }
  return out;
}

std::vector<std::string> records() {
  std::vector<std::string> out;
  out.push_back(record_of("FuzzTopic", "hello", "TagA", 0, 0));
  out.push_back(record_of("T", "", "", 5, 4096));
  std::string run = record_of("FuzzTopic", "first", "A", 0, 0);
  run += record_of("FuzzTopic", std::string(300, 'b'), "B", 1, run.size());
  std::string blank(record::kBlankSize + 20, '\0');
  record::encode_blank(reinterpret_cast<uint8_t*>(blank.data()),
                       static_cast<uint32_t>(blank.size()));
  out.push_back(run + blank);
  out.push_back(run + std::string(64, '\0'));
  // Message ids (the record fuzzer reads its input's first 32 bytes as one too).
  out.push_back(make_msg_id({0x7f000001, 10911}, 4096));
  out.push_back("7f00000100002a9f00000000000010zz");
  return out;
}

bool write_all(const std::filesystem::path& dir, const std::vector<std::string>& seeds) {
  std::filesystem::create_directories(dir);
  for (size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream f(dir / ("seed-" + std::to_string(i)), std::ios::binary);
    f << seeds[i];
    if (!f) return false;
  }
  return true;
}

}  // namespace

// Metadata records (broker/metadata_record.h): offsets alone, topics alone, groups alone, all
// three, empty, and group deletions (with and without their offsets) among changes.
std::vector<std::string> metadata_records() {
  auto record = [](int offsets, int topics, int groups, int deleted = 0) {
    protocol::MetadataRecordT r;
    for (int i = 0; i < offsets; ++i) {
      auto e = std::make_unique<protocol::ConsumerOffsetEntryT>();
      e->consumer_group = "group-" + std::to_string(i);
      e->topic = "Orders";
      e->queue_id = i;
      e->offset = 1000 + i;
      r.offsets.push_back(std::move(e));
    }
    for (int i = 0; i < topics; ++i) {
      auto t = std::make_unique<protocol::TopicConfigT>();
      t->topic_name = "Topic" + std::to_string(i);
      t->read_queue_nums = t->write_queue_nums = 8;
      t->perm = 6;
      r.topics.push_back(std::move(t));
    }
    for (int i = 0; i < groups; ++i) {
      auto g = std::make_unique<protocol::SubscriptionGroupConfigT>();
      g->group_name = "group-" + std::to_string(i);
      g->retry_max_times = 3 + i;
      g->retry_queue_nums = 1;
      r.subscription_groups.push_back(std::move(g));
    }
    for (int i = 0; i < deleted; ++i) {
      r.deleted_groups.push_back("gone-" + std::to_string(i));
      r.deleted_group_configs.push_back("config-gone-" + std::to_string(i));
    }
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(protocol::MetadataRecord::Pack(fbb, &r));
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  };
  // An admin reset of a queue (offset_resets) and a commit after it.
  auto reset = [] {
    protocol::MetadataRecordT r;
    for (auto* list : {&r.offset_resets, &r.offsets}) {
      auto e = std::make_unique<protocol::ConsumerOffsetEntryT>();
      e->consumer_group = "group-0";
      e->topic = "Orders";
      e->offset = list == &r.offsets ? 12 : 10;
      list->push_back(std::move(e));
    }
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(protocol::MetadataRecord::Pack(fbb, &r));
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  };
  return {record(3, 0, 0), record(0, 2, 0),    record(0, 0, 2), record(2, 2, 2),
          record(0, 0, 0), record(1, 0, 1, 2), reset()};
}

// Timer messages (broker/timer_messages.h, broker/timer_log.h): properties of a send and of a
// stored timer record, and two timer log entries (the second linked to the first).
std::vector<std::string> timers() {
  std::vector<std::string> out = {
      encode_properties({{"TIMER_DELAY_SEC", "30"}}),
      encode_properties({{"TIMER_DELIVER_MS", "1700000005000"}, {"TAGS", "t"}}),
      encode_properties({{"TIMER_DELAY_MS", "1500"}, {"DELAY", "3"}}),
      encode_properties(
          {{"TIMER_OUT_MS", "1700000030000"}, {"REAL_TOPIC", "Orders"}, {"REAL_QID", "2"}})};
  std::string entries(64, '\0');
  auto entry = [&](size_t at, uint64_t offset, int64_t due, int64_t prev) {
    const uint32_t size = 120;
    const uint32_t magic = 0x31524d54;  // "TMR1"
    std::memcpy(&entries[at], &offset, 8);
    std::memcpy(&entries[at + 8], &size, 4);
    std::memcpy(&entries[at + 12], &magic, 4);
    std::memcpy(&entries[at + 16], &due, 8);
    std::memcpy(&entries[at + 24], &prev, 8);
  };
  entry(0, 4096, 1'700'000'030'000, -1);
  entry(32, 8192, 1'700'000'030'500, 0);
  out.push_back(entries);
  return out;
}

// Transactions (broker/transaction_messages.h): op records as the op topic holds them (commit,
// rollback, discard) and as text (a first byte saying how long the body is, the body, the
// properties), and the properties of transactional sends: plain, a second check's copy, refused.
std::vector<std::string> transactions() {
  std::vector<std::string> out;
  for (const char* outcome : {"commit", "rollback", "discard"}) {
    const std::string props = encode_properties(
        {{"TAGS", "d"}, {"TRAN_OUTCOME", outcome}, {"TRAN_HALF_PHYSICAL_OFFSET", "8192"}});
    out.push_back(record_with_properties("RMQ_SYS_TRANS_OP_HALF_TOPIC", "40", props, 3, 16384));
    out.push_back(std::string(1, '\x02') + "40" + props);
  }
  out.push_back(encode_properties({{"PGROUP", "pg"}, {"UNIQ_KEY", "K1"}, {"TAGS", "t"}}));
  out.push_back(encode_properties({{"PGROUP", "pg"},
                                   {"REAL_TOPIC", "Orders"},
                                   {"REAL_QID", "1"},
                                   {"TRANSACTION_CHECK_TIMES", "2"},
                                   {"TRAN_PREPARED_QUEUE_OFFSET", "40"},
                                   {"CHECK_IMMUNITY_TIME_IN_SECONDS", "60"}}));
  out.push_back(encode_properties({{"PGROUP", "pg"}, {"DELAY", "3"}}));
  out.push_back(encode_properties({{"PGROUP", "pg"}, {"TIMER_DELAY_SEC", "3"}}));
  return out;
}

// Index files (commitlog/index_file.h) as index_file_fuzzer reads them: two bytes choosing the
// slot and entry counts, then the file; a few operation bytes after some.
std::vector<std::string> index_files() {
  using commitlog::IndexFileView;
  auto file = [](uint8_t slots, uint8_t entries, int puts, bool torn) {
    std::string out(2 + IndexFileView::file_size(slots, entries), '\0');
    out[0] = static_cast<char>(slots - 1);
    out[1] = static_cast<char>(entries - 2);
    IndexFileView v({reinterpret_cast<uint8_t*>(out.data()) + 2, out.size() - 2}, slots, entries);
    v.init(100);
    for (int i = 0; i < puts; ++i)
      (void)v.put(static_cast<uint32_t>(i * 7 % 13), 100 + i * 50, 1700000000000 + i * 400);
    v.cover(100 + puts * 50);
    if (torn) out[2 + 36] = static_cast<char>(out[2 + 36] - 1);  // the last put never counted
    return out;
  };
  return {file(8, 16, 0, false), file(8, 16, 9, false), file(4, 10, 9, false), file(8, 16, 9, true),
          file(16, 64, 40, false) + std::string("\x00\x05\x10\x00\x01\x05\x02\x05\x20\x01")};
}

// RocketMQ 4.x inputs (remoting/rocketmq_*.h), each behind rocketmq_fuzzer's selector byte:
// 0 JSON header, 1 binary header, 2 frame, 3 batch, 4 store messages, 5 heartbeat, 6 lock and
// consumer list bodies, 7 route, 8 zlib body.
std::vector<std::string> rocketmq_inputs() {
  namespace rmq = comet::remoting::rocketmq;
  std::vector<std::string> out;
  auto add = [&out](char selector, std::string_view input) {
    out.push_back(std::string(1, selector) + std::string(input));
  };
  rmq::Command send;
  send.code = 310;
  send.opaque = 42;
  for (auto [k, v] : {std::pair{"a", "PG"},
                      {"b", "TopicTest"},
                      {"c", "TBW102"},
                      {"d", "4"},
                      {"e", "3"},
                      {"f", "0"},
                      {"g", "1700000000000"},
                      {"h", "0"},
                      {"i", "TAGS\x01TagA\x02"},
                      {"j", "0"},
                      {"k", "false"},
                      {"m", "false"}}) {
    send.ext.set(k, v);
  }
  send.body = "hello";
  add(0, rmq::encode_header(send));
  add(0,
      "{\"code\":34,\"language\":\"NODE\",\"opaque\":5,\"flag\":0,\"version\":121,"
      "\"remark\":null,\"extFields\":{\"queueId\":3,\"unitMode\":true}}\n");
  add(2, rmq::encode_frame(send));
  rmq::Command answer = rmq::Command::response_to(send, 0, "ok");
  answer.ext.set("msgId", "7F00000100002A9F0000000000001000");
  add(0, rmq::encode_header(answer));
  send.serialize_type = rmq::SerializeType::kRocketmq;
  add(1, rmq::encode_header(send));
  add(2, rmq::encode_frame(send));
  add(3, rmq::encode_batch({{0, "m1", "KEYS\x01k1\x02"}, {5, "msg-2", ""}}));
  std::string pull;
  for (const std::string& r :
       {record_of("FuzzTopic", "hello", "TagA", 0, 0),
        record_with_properties("FuzzTopic", rmq::deflate_body(std::string(200, 'z')),
                               encode_properties({{"KEYS", "k"}}), 1, 128)}) {
    auto d = record::decode(reinterpret_cast<const uint8_t*>(r.data()), r.size());
    if (d.outcome == record::Outcome::kRecord) rmq::append_store_format(d.record, pull);
  }
  add(4, pull);
  rmq::HeartbeatJson h;
  h.client_id = "10.0.0.9@12345";
  h.producer_groups = {"PG"};
  h.consumers.push_back({"CG",
                         "CONSUME_PASSIVELY",
                         "CLUSTERING",
                         "CONSUME_FROM_LAST_OFFSET",
                         false,
                         {{"T", "TagA || TagB", "TAG", {"TagA", "TagB"}, 1700000000000}}});
  add(5, rmq::encode_heartbeat(h));
  add(5, R"({"clientID":"c","consumerDataSet":[{"groupName":"CG","consumeType":1,)"
         R"("messageModel":1,"consumeFromWhere":4,"subscriptionDataSet":[{"topic":"T",)"
         R"("subString":"*","subVersion":"5"}]}]})");
  add(6, rmq::encode_lock_batch({"CG", "c@1", {{"T", "broker-a", 0}, {"T", "broker-a", 1}}}));
  add(6, rmq::encode_lock_ok({{"T", "broker-a", 1}}));
  add(6, rmq::encode_consumer_id_list({"10.0.0.9@12345", "10.0.0.8@1"}));
  rmq::RouteJson route;
  route.brokers.push_back({"DefaultCluster", "broker-a", {{0, "127.0.0.1:10911"}}});
  route.queues.push_back({"broker-a", 4, 4, 6, 0});
  add(7, rmq::encode_route(route, true));
  add(7, rmq::encode_route(route, false));
  add(8, rmq::deflate_body("hello hello hello hello"));
  return out;
}

// RocketMQ connections for rocketmq_session_fuzzer: requests of the served families back to
// back (JSON and binary headers), an unserved code, a oneway commit, and stored records after
// the last frame (what a pull answer's body is made from).
std::vector<std::string> rocketmq_session_inputs() {
  namespace rmq = comet::remoting::rocketmq;
  auto request = [](int32_t code, std::vector<std::pair<std::string, std::string>> ext,
                    std::string body = {}) {
    rmq::Command c;
    c.code = code;
    c.opaque = code;
    for (auto& [k, v] : ext)
      c.ext.set(k, v);
    c.body = std::move(body);
    return c;
  };
  rmq::Command send =
      request(310, {{"a", "PG"}, {"b", "T"}, {"e", "0"}, {"i", "TAGS\x01A\x02"}}, "hello");
  rmq::Command batch = request(320, {{"b", "T"}, {"m", "true"}},
                               rmq::encode_batch({{0, "m1", "KEYS\x01k1\x02"}, {5, "m2", ""}}));
  rmq::Command pull = request(11, {{"consumerGroup", "CG"},
                                   {"topic", "T"},
                                   {"queueId", "0"},
                                   {"queueOffset", "0"},
                                   {"sysFlag", "7"},
                                   {"subscription", "*"}});
  rmq::Command route = request(105, {{"topic", "TBW102"}});
  rmq::Command commit = request(
      15, {{"consumerGroup", "CG"}, {"topic", "T"}, {"queueId", "0"}, {"commitOffset", "3"}});
  commit.flag = rmq::kFlagOneway;
  rmq::HeartbeatJson h;
  h.client_id = "c@1";
  h.consumers.push_back({"CG",
                         "CONSUME_PASSIVELY",
                         "CLUSTERING",
                         "CONSUME_FROM_LAST_OFFSET",
                         false,
                         {{"T", "*", "TAG", {}, 1}}});
  rmq::Command hb = request(34, {}, rmq::encode_heartbeat(h));
  rmq::Command lock = request(41, {}, rmq::encode_lock_batch({"CG", "c@1", {{"T", "b", 0}}}));
  rmq::Command unknown = request(600, {});
  // ACL 1.0: a signed query (its _UNIQUE_KEY_QUERY left out of the content for old clients).
  rmq::Command signed_query = request(12, {{"topic", "T"},
                                           {"key", "k"},
                                           {"maxNum", "32"},
                                           {"beginTimestamp", "0"},
                                           {"endTimestamp", "9"},
                                           {"_UNIQUE_KEY_QUERY", "true"},
                                           {"AccessKey", "RocketMQ"},
                                           {"Signature", "euKl/bET6vCdBYK4HDcGn3nCmo8="}});
  std::string json;
  for (const rmq::Command* c :
       {&send, &batch, &pull, &route, &commit, &hb, &lock, &unknown, &signed_query})
    json += rmq::encode_frame(*c);
  std::string binary;
  for (rmq::Command* c : {&send, &pull, &route}) {
    c->serialize_type = rmq::SerializeType::kRocketmq;
    binary += rmq::encode_frame(*c);
  }
  return {json, binary, rmq::encode_frame(pull) + record_of("T", "stored", "A", 0, 0)};
}

// First bytes of connections for tls_detect_fuzzer: a ClientHello's record and handshake
// headers, a native frame whose little-endian length starts 0x16 0x03 (TLS's first bytes), a
// native frame as comet sends it, and a RocketMQ frame with a JSON header.
std::vector<std::string> tls_detect_inputs() {
  std::string hello("\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03", 11);
  hello.append(32, '\x5a');
  const std::string native_like_tls("\x16\x03\x00\x00\x10\x00\x00\x00\x0c\x00\x00\x00CMT1", 16);
  const std::string json = R"({"code":105,"extFields":{"topic":"T"},"flag":0,"opaque":1})";
  std::string rocketmq(8, '\0');
  const uint32_t total = static_cast<uint32_t>(4 + json.size());
  const uint32_t header = static_cast<uint32_t>(json.size());
  for (int i = 0; i < 4; ++i) {
    rocketmq[i] = static_cast<char>(total >> (24 - 8 * i));
    rocketmq[4 + i] = static_cast<char>(header >> (24 - 8 * i));
  }
  rocketmq += json;
  return {hello, native_like_tls, frames().front(), rocketmq};
}

// comet-faultfs control text: each kind of line, alone and together.
std::vector<std::string> fault_rule_inputs() {
  return {"clear\n",
          "fsync */commitlog/* delay=3000\n",
          "write /a.txt eio once\n",
          "read,write,flush */x* enospc\n",
          "any * errno=28 delay=10\n",
          "# comment\n\nopen,create,fallocate,truncate /d/* eio\nclear\n"};
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds <dir>\n");
    return 2;
  }
  const std::filesystem::path root = argv[1];
  const auto f = frames();
  if (!write_all(root / "frame", f) || !write_all(root / "broker", f) ||
      !write_all(root / "record", records()) ||
      !write_all(root / "metadata_record", metadata_records()) ||
      !write_all(root / "timer", timers()) || !write_all(root / "transaction", transactions()) ||
      !write_all(root / "index_file", index_files()) ||
      !write_all(root / "rocketmq", rocketmq_inputs()) ||
      !write_all(root / "rocketmq_session", rocketmq_session_inputs()) ||
      !write_all(root / "acl", fuzz::acl_fuzz_seeds()) ||
      !write_all(root / "tls_detect", tls_detect_inputs()) ||
      !write_all(root / "fault_rule", fault_rule_inputs())) {
    std::fprintf(stderr, "fuzz_seeds: cannot write under %s\n", argv[1]);
    return 1;
  }
  return 0;
}
