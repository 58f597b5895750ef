// comet-admin's commands that find stored messages, with mqadmin's names: queryMsgById,
// queryMsgByKey, queryMsgByUniqueKey, queryMsgByOffset and viewMessage (a message's details and,
// for each consumer group with offsets on its topic, whether the group consumed it).
//
// A key is looked up in every broker group of the topic's route: at its master or, when the
// master does not answer, at its replicas in turn (each keeps its own index). An offsetMsgId is
// read where it says (its store host) when the name server knows that broker; when it does not,
// or that broker does not answer, every broker the name server knows is asked for the record at
// that offset, and only the record that carries exactly that id is taken (a replica's log holds
// the master's records at the same offsets).
#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "admin/cluster_view.h"
#include "admin/handlers.h"
#include "admin/table.h"
#include "common/msg_id.h"
#include "common/record_codec.h"
#include "consumer/pull_consumer.h"

namespace comet::admin {
namespace {

// mqadmin queryMsgByKey's default maxNum; the broker answers at most 64 a query as well.
constexpr int64_t kDefaultQueryMaxNum = 64;
constexpr size_t kQueryBodyPreviewChars = 200;

// A message found, with the address it was read from (a consumer group's offsets are read there).
struct FoundMessage {
  client::MessageExt msg;
  std::string addr;
};

// One broker group of a route: its addresses, master first.
struct ReplicaSet {
  std::string broker_name;
  std::vector<std::string> addrs;
};

std::vector<ReplicaSet> replica_sets(const protocol::TopicRouteDataT& route) {
  std::vector<ReplicaSet> out;
  for (const auto& bd : route.broker_datas) {
    if (!bd) continue;
    std::vector<std::pair<int64_t, std::string>> by_id;
    for (const auto& a : bd->broker_addrs) {
      if (a && !a->addr.empty()) by_id.emplace_back(a->broker_id, a->addr);
    }
    std::sort(by_id.begin(), by_id.end());
    ReplicaSet set{bd->broker_name, {}};
    for (auto& [id, addr] : by_id)
      set.addrs.push_back(std::move(addr));
    out.push_back(std::move(set));
  }
  std::sort(out.begin(), out.end(),
            [](const ReplicaSet& a, const ReplicaSet& b) { return a.broker_name < b.broker_name; });
  return out;
}

// Asks the group's replicas in turn until one answers; the error names the group and the last
// failure when none does.
template <typename Ask>
Result<std::pair<std::string, AdminClient::LookupAnswer>> ask_replicas(const ReplicaSet& set,
                                                                       Ask ask) {
  Status last = Status::unavailable("no address registered");
  for (const auto& addr : set.addrs) {
    auto answer = ask(addr);
    if (answer.is_ok()) return std::make_pair(addr, std::move(answer).value());
    last = answer.status();
  }
  return Status(last.code(),
                "broker " + set.broker_name + ": no replica answered (" + last.message() + ")");
}

bool newer_first(const FoundMessage& a, const FoundMessage& b) {
  if (a.msg.store_timestamp_ms != b.msg.store_timestamp_ms) {
    return a.msg.store_timestamp_ms > b.msg.store_timestamp_ms;
  }
  return a.msg.physical_offset > b.msg.physical_offset;
}

// QUERY_MESSAGE in every broker group of the topic, merged newest first and cut at max_num. A
// group's refusal (other than finding nothing) is reported; nothing found is an empty list.
Result<std::vector<FoundMessage>> query_topic(Context& c, const protocol::QueryMessageRequestT& q) {
  COMET_ASSIGN_OR_RETURN(auto route, c.client.route(q.topic));
  std::vector<FoundMessage> found;
  for (const ReplicaSet& set : replica_sets(route)) {
    auto answered = ask_replicas(set, [&](const std::string& addr) {
      return c.client.query_messages(addr, set.broker_name, q);
    });
    if (!answered.is_ok()) {
      c.report(topic_what(q.topic), answered.status());
      continue;
    }
    auto& [addr, answer] = *answered;
    if (answer.code == ResponseCode::QUERY_NOT_FOUND) continue;
    if (!answer.status.is_ok()) {
      c.report(topic_what(q.topic) + " broker " + set.broker_name + " (" + addr + ")",
               answer.status);
      continue;
    }
    for (auto& m : answer.messages)
      found.push_back({std::move(m), addr});
  }
  std::sort(found.begin(), found.end(), newer_first);
  if (found.size() > static_cast<size_t>(q.max_num)) found.resize(static_cast<size_t>(q.max_num));
  return found;
}

std::string upper(std::string s) {
  for (char& ch : s)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

// Broker name by address, from the name server's cluster view (empty when it cannot say).
std::map<std::string, std::string> broker_names_by_addr(Context& c) {
  std::map<std::string, std::string> out;
  auto info = c.client.cluster_info();
  if (!info.is_ok()) return out;
  for (const auto* bd : sorted_broker_datas(*info)) {
    for (const auto& a : bd->broker_addrs) {
      if (a) out.emplace(a->addr, bd->broker_name);
    }
  }
  return out;
}

// The record an offsetMsgId names: at its store host when that is a registered broker; else, or
// when it does not answer (a dead master), at whichever registered broker holds the record with
// exactly this id at that offset. Only the name server's brokers are asked, never an address
// read from the id alone.
Result<FoundMessage> view_by_offset_id(Context& c, const std::string& id, const MsgIdParts& parts) {
  const std::string want = upper(id);
  const std::string store_addr = host_address_string(parts.store_host);
  const auto names = broker_names_by_addr(c);
  const auto offset = static_cast<int64_t>(parts.physical_offset);
  Status direct_failure =
      Status::not_found("its store host " + store_addr + " is no registered broker");
  if (auto it = names.find(store_addr); it != names.end()) {
    auto direct = c.client.view_message(store_addr, it->second, offset);
    if (direct.is_ok()) {
      if (!direct->status.is_ok()) {
        return Status(direct->status.code(), "message " + id + " at " + store_addr +
                                                 " (its store host): " + direct->status.message());
      }
      if (direct->messages.size() == 1 && direct->messages[0].offset_msg_id == want) {
        return FoundMessage{std::move(direct->messages[0]), store_addr};
      }
      return Status::not_found("message " + id + ": the record at CommitLog offset " +
                               std::to_string(offset) + " of " + store_addr + " has another id");
    }
    direct_failure =
        Status(direct.status().code(), "its store host " + store_addr + " did not answer (" +
                                           direct.status().message() + ")");
  }
  for (const auto& [addr, name] : names) {
    if (addr == store_addr) continue;
    auto other = c.client.view_message(addr, name, offset);
    if (!other.is_ok() || !other->status.is_ok() || other->messages.size() != 1) continue;
    if (other->messages[0].offset_msg_id == want) {
      return FoundMessage{std::move(other->messages[0]), addr};
    }
  }
  return Status(direct_failure.code(), "message " + id + ": " + direct_failure.message() +
                                           ", and no other broker holds it at CommitLog offset " +
                                           std::to_string(offset));
}

// An id that may be an offsetMsgId: 32 hex digits whose port field is a port. (A UNIQ_KEY's
// "port" field holds the producer's pid and random bits, mostly above 65535.)
bool plausible_offset_id(const Result<MsgIdParts>& parts) {
  return parts.is_ok() && parts->store_host.ipv4 != 0 && parts->store_host.port > 0 &&
         parts->store_host.port <= 65535;
}

// queryMsgById's and viewMessage's lookup, as mqadmin's: the id as an offsetMsgId first; then,
// with a topic, as a unique key (the id clients show).
Result<std::vector<FoundMessage>> find_by_id(Context& c, const std::string& id,
                                             const std::string& topic) {
  const auto parts = parse_msg_id(id);
  Status why;
  if (plausible_offset_id(parts)) {
    auto viewed = view_by_offset_id(c, id, *parts);
    if (viewed.is_ok()) return std::vector<FoundMessage>{std::move(viewed).value()};
    why = viewed.status();
  }
  if (!topic.empty()) {
    protocol::QueryMessageRequestT q;
    q.topic = topic;
    q.key = id;
    q.unique_key = true;
    q.max_num = static_cast<int32_t>(kDefaultQueryMaxNum);
    q.end_timestamp = std::numeric_limits<int64_t>::max();
    COMET_ASSIGN_OR_RETURN(auto hits, query_topic(c, q));
    if (!hits.empty()) return hits;
    return Status::not_found("no message with offsetMsgId or unique key " + id + " in " +
                             topic_what(topic));
  }
  if (!parts.is_ok()) return parts.status();
  if (!plausible_offset_id(parts)) {
    return Status::invalid_argument("message id " + id + " is no offsetMsgId (its port field is " +
                                    std::to_string(parts->store_host.port) +
                                    "); a unique key needs -t <topic>");
  }
  // Not found as an offsetMsgId: it may still be a unique key.
  if (why.code() != Code::kNotFound) return why;
  return Status(why.code(), why.message() + "; a unique key needs -t <topic>");
}

// --- output ---------------------------------------------------------------------------------

std::string host_or_dash(HostAddress h) {
  return h.ipv4 == 0 && h.port == 0 ? "-" : host_address_string(h);
}

enum class TrackType { kConsumed, kNotConsumeYet };

struct Track {
  std::string group;
  TrackType type;
  std::optional<int64_t> committed;  // the group's committed offset of the message's queue
};

std::string_view track_name(TrackType t) {
  return t == TrackType::kConsumed ? "CONSUMED" : "NOT_CONSUME_YET";
}

// mqadmin's MessageTrack from the committed offsets (GET_ALL_CONSUMER_OFFSET) where the message
// was read: every group with offsets on its topic; consumed when its offset of the message's
// queue is past the message.
Result<std::vector<Track>> tracks_of(Context& c, const FoundMessage& f) {
  COMET_ASSIGN_OR_RETURN(auto offsets, c.client.all_consumer_offsets(f.addr));
  std::map<std::string, std::optional<int64_t>> by_group;
  for (const auto& e : offsets) {
    if (e.topic != f.msg.topic) continue;
    auto& committed = by_group[e.consumer_group];
    if (e.queue_id == static_cast<int32_t>(f.msg.queue_id)) committed = e.offset;
  }
  std::vector<Track> out;
  for (const auto& [group, committed] : by_group) {
    const bool consumed = committed && *committed > static_cast<int64_t>(f.msg.queue_offset);
    out.push_back({group, consumed ? TrackType::kConsumed : TrackType::kNotConsumeYet, committed});
  }
  return out;
}

std::string properties_text(const client::MessageExt& m) {
  std::string out;
  for (const auto& [k, v] : m.properties) {
    if (!out.empty()) out += ", ";
    out += k + "=" + v;
  }
  return out.empty() ? "-" : printable(out, 1024);
}

void print_detail_text(Context& c, const FoundMessage& f, const std::vector<Track>* tracks) {
  const client::MessageExt& m = f.msg;
  print_key_values(c.out, {{"Message ID", m.msg_id},
                           {"Offset Message ID", m.offset_msg_id},
                           {"Topic", m.topic},
                           {"Tags", m.tags.empty() ? "-" : printable(m.tags, 256)},
                           {"Keys", m.keys.empty() ? "-" : printable(m.keys, 256)},
                           {"Broker Name", m.broker_name.empty() ? "-" : m.broker_name},
                           {"Read From", f.addr},
                           {"Queue ID", std::to_string(m.queue_id)},
                           {"Queue Offset", std::to_string(m.queue_offset)},
                           {"CommitLog Offset", std::to_string(m.physical_offset)},
                           {"Reconsume Times", std::to_string(m.reconsume_times)},
                           {"Born Timestamp", format_time(m.born_timestamp_ms)},
                           {"Store Timestamp", format_time(m.store_timestamp_ms)},
                           {"Born Host", host_or_dash(m.born_host)},
                           {"Store Host", host_or_dash(m.store_host)},
                           {"Properties", properties_text(m)},
                           {"Body Length", std::to_string(m.body.size())},
                           {"Body", printable(m.body, kQueryBodyPreviewChars)}});
  if (tracks == nullptr) return;
  c.out << '\n';
  if (tracks->empty()) {
    c.out << "No consumer group has offsets on " << topic_what(m.topic) << '\n';
    return;
  }
  Table t({"#Consumer Group", "#Track Type", "#Committed Offset"});
  for (const auto& tr : *tracks) {
    t.add_row({tr.group, std::string(track_name(tr.type)),
               tr.committed ? std::to_string(*tr.committed) : "-"});
  }
  t.print(c.out);
}

void write_detail_json(JsonWriter& j, const FoundMessage& f, const std::vector<Track>* tracks) {
  const client::MessageExt& m = f.msg;
  j.begin_object()
      .field("msgId", m.msg_id)
      .field("offsetMsgId", m.offset_msg_id)
      .field("topic", m.topic)
      .field("tags", m.tags)
      .field("keys", m.keys)
      .field("brokerName", m.broker_name)
      .field("readFrom", f.addr)
      .field("queueId", m.queue_id)
      .field("queueOffset", m.queue_offset)
      .field("commitLogOffset", m.physical_offset)
      .field("reconsumeTimes", m.reconsume_times)
      .field("bornTimestamp", m.born_timestamp_ms)
      .field("storeTimestamp", m.store_timestamp_ms)
      .field("bornHost", host_or_dash(m.born_host))
      .field("storeHost", host_or_dash(m.store_host))
      .field("bodyLength", m.body.size())
      .field("body", m.body)
      .key("properties")
      .begin_object();
  for (const auto& [k, v] : m.properties)
    j.field(k, v);
  j.end_object();
  if (tracks != nullptr) {
    j.key("tracks").begin_array();
    for (const auto& tr : *tracks) {
      j.begin_object().field("consumerGroup", tr.group).field("trackType", track_name(tr.type));
      j.key("committedOffset");
      if (tr.committed) {
        j.value(*tr.committed);
      } else {
        j.null();
      }
      j.end_object();
    }
    j.end_array();
  }
  j.end_object();
}

// Details of each message found; with `with_tracks`, each group's consume state too.
void print_details(Context& c, const std::vector<FoundMessage>& found, bool with_tracks) {
  std::vector<std::optional<std::vector<Track>>> tracks(found.size());
  if (with_tracks) {
    for (size_t i = 0; i < found.size(); ++i) {
      auto t = tracks_of(c, found[i]);
      if (t.is_ok()) {
        tracks[i] = std::move(t).value();
      } else {
        c.report("consumer offsets at " + found[i].addr, t.status());
      }
    }
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("count", found.size()).key("messages").begin_array();
    for (size_t i = 0; i < found.size(); ++i)
      write_detail_json(j, found[i], tracks[i] ? &*tracks[i] : nullptr);
    j.end_array().end_object();
    return;
  }
  for (size_t i = 0; i < found.size(); ++i) {
    if (i > 0) c.out << '\n';
    print_detail_text(c, found[i], tracks[i] ? &*tracks[i] : nullptr);
  }
}

void print_key_hits(Context& c, const std::string& topic, const std::string& key,
                    const std::vector<FoundMessage>& found) {
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("topic", topic).field("key", key).field("count", found.size());
    j.key("messages").begin_array();
    for (const auto& f : found) {
      j.begin_object()
          .field("brokerName", f.msg.broker_name)
          .field("queueId", f.msg.queue_id)
          .field("queueOffset", f.msg.queue_offset)
          .field("msgId", f.msg.msg_id)
          .field("offsetMsgId", f.msg.offset_msg_id)
          .field("storeTimestamp", f.msg.store_timestamp_ms)
          .field("keys", f.msg.keys)
          .end_object();
    }
    j.end_array().end_object();
    return;
  }
  Table t({"#Broker Name", "#QID", "#Offset", "#Message ID", "#Offset Message ID", "#Store Time",
           "#Keys"});
  for (const auto& f : found) {
    t.add_row({f.msg.broker_name, std::to_string(f.msg.queue_id),
               std::to_string(f.msg.queue_offset), f.msg.msg_id, f.msg.offset_msg_id,
               format_time(f.msg.store_timestamp_ms), printable(f.msg.keys, 64)});
  }
  t.print(c.out);
}

// queryMsgById and viewMessage: the same lookup; viewMessage always shows the tracks.
int show_by_id(Context& c, bool with_tracks) {
  const std::string id = c.args.get("msgId");
  const std::string topic = c.args.get("topic");
  if (id.empty()) return c.usage_error("-i takes a message id");
  auto found = find_by_id(c, id, topic);
  if (!found.is_ok()) return c.fail("message " + id, found.status());
  print_details(c, *found, with_tracks);
  return c.done();
}

}  // namespace

int query_msg_by_id(Context& c) {
  return show_by_id(c, /*with_tracks=*/true);
}

int view_message(Context& c) {
  return show_by_id(c, /*with_tracks=*/true);
}

int query_msg_by_key(Context& c) {
  protocol::QueryMessageRequestT q;
  q.topic = c.args.get("topic");
  q.key = c.args.get("msgKey");
  const int64_t max_num = c.args.get_int("maxNum", kDefaultQueryMaxNum);
  if (max_num < 1 || max_num > std::numeric_limits<int32_t>::max()) {
    return c.usage_error("-c takes a count >= 1");
  }
  q.max_num = static_cast<int32_t>(max_num);
  q.begin_timestamp = c.args.get_int("beginTimestamp", 0);
  q.end_timestamp = c.args.get_int("endTimestamp", std::numeric_limits<int64_t>::max());
  if (q.begin_timestamp < 0 || q.end_timestamp < q.begin_timestamp) {
    return c.usage_error("-b and -e take ms since the epoch, begin <= end");
  }
  auto found = query_topic(c, q);
  if (!found.is_ok()) return c.fail(topic_what(q.topic), found.status());
  if (found->empty() && !c.failed) {
    return c.fail(topic_what(q.topic), "no message with key " + q.key);
  }
  print_key_hits(c, q.topic, q.key, *found);
  return c.done();
}

int query_msg_by_unique_key(Context& c) {
  protocol::QueryMessageRequestT q;
  q.topic = c.args.get("topic");
  q.key = c.args.get("msgId");
  q.unique_key = true;
  q.max_num = static_cast<int32_t>(kDefaultQueryMaxNum);
  q.end_timestamp = std::numeric_limits<int64_t>::max();
  auto found = query_topic(c, q);
  if (!found.is_ok()) return c.fail(topic_what(q.topic), found.status());
  if (found->empty() && !c.failed) {
    return c.fail(topic_what(q.topic), "no message with unique key " + q.key);
  }
  print_details(c, *found, /*with_tracks=*/false);
  return c.done();
}

int query_msg_by_offset(Context& c) {
  client::MessageQueue mq;
  mq.topic = c.args.get("topic");
  mq.broker_name = c.args.get("brokerName");
  const int64_t qid = c.args.get_int("queueId", -1);
  const int64_t offset = c.args.get_int("offset", -1);
  if (qid < 0) return c.usage_error("-i takes a queue id >= 0");
  if (offset < 0) return c.usage_error("-o takes an offset >= 0");
  mq.queue_id = static_cast<uint32_t>(qid);
  const std::string where = topic_what(mq.topic) + " broker " + mq.broker_name + " queue " +
                            std::to_string(qid) + " offset " + std::to_string(offset);
  auto route = c.client.route(mq.topic);
  if (!route.is_ok()) return c.fail(topic_what(mq.topic), route.status());
  const auto* bd = find_broker(*route, mq.broker_name);
  if (bd == nullptr) return c.fail(where, "the broker is not in the topic's route");
  client::PullConsumer consumer(std::string(kToolGroup), c.client.client_config());
  consumer.set_consumer_pull_timeout(c.client.timeout());
  if (Status s = consumer.start(); !s.is_ok()) return c.fail("consumer", s);
  auto pulled = consumer.pull(mq, "*", static_cast<uint64_t>(offset), 1);
  if (!pulled.is_ok()) return c.fail(where, pulled.status());
  if (pulled->status != client::PullStatus::kFound || pulled->msgs.empty()) {
    return c.fail(where, "no message there (the queue holds offsets [" +
                             std::to_string(pulled->min_offset) + ", " +
                             std::to_string(pulled->max_offset) + "))");
  }
  std::vector<FoundMessage> found = {{std::move(pulled->msgs.front()), read_addr(*bd)}};
  print_details(c, found, /*with_tracks=*/false);
  return c.done();
}

}  // namespace comet::admin
