#include "remoting/rocketmq_json.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <cstring>

#include "common/whole_number.h"

namespace comet::remoting::rocketmq {

namespace {

using JsonValue = rapidjson::Value;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// ---- Reading: a parsed document and typed field access with errors that name the field ----

// Numbers are kept as their text (RocketMQ sends ids and timestamps past 2^53, and clients send
// numbers where Java sends strings and the other way round); the iterative parser keeps a
// hostile `[[[[...` off the stack.
constexpr unsigned kBodyParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;

Result<rapidjson::Document> parse_document(std::string_view json, std::string_view what) {
  if (std::memchr(json.data(), '\0', json.size()) != nullptr)
    return Status::corruption(std::string(what) + ": a NUL byte in JSON");
  rapidjson::Document doc;
  rapidjson::MemoryStream stream(json.data(), json.size());
  doc.ParseStream<kBodyParseFlags>(stream);
  if (doc.HasParseError())
    return Status::corruption(std::string(what) + ": bad JSON at byte " +
                              std::to_string(doc.GetErrorOffset()) + ": " +
                              rapidjson::GetParseError_En(doc.GetParseError()));
  if (!doc.IsObject()) return Status::corruption(std::string(what) + ": not a JSON object");
  return doc;
}

Status field_error(std::string_view field, std::string_view problem) {
  return Status::invalid_argument("JSON field '" + std::string(field) + "' " +
                                  std::string(problem));
}

const JsonValue* member(const JsonValue& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

// A string field (a number read as its text); absent or null: `fallback`.
Result<std::string> string_field(const JsonValue& obj, const char* name,
                                 std::string fallback = {}) {
  const JsonValue* v = member(obj, name);
  if (v == nullptr) return fallback;
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsBool()) return std::string(v->GetBool() ? "true" : "false");
  return field_error(name, "is not a string");
}

template <typename T>
Result<T> int_field(const JsonValue& obj, const char* name, T fallback) {
  const JsonValue* v = member(obj, name);
  if (v == nullptr) return fallback;
  if (!v->IsString()) return field_error(name, "is not an integer");
  auto n = parse_whole_number<T>(std::string_view(v->GetString(), v->GetStringLength()));
  if (!n) return field_error(name, "is not an integer in range");
  return *n;
}

Result<bool> bool_field(const JsonValue& obj, const char* name, bool fallback) {
  const JsonValue* v = member(obj, name);
  if (v == nullptr) return fallback;
  if (v->IsBool()) return v->GetBool();
  if (v->IsString()) {
    std::string_view s(v->GetString(), v->GetStringLength());
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return field_error(name, "is not a boolean");
}

// An array field; absent or null: an empty array (clients leave out empty sets).
Result<const JsonValue*> array_field(const JsonValue& obj, const char* name) {
  static const JsonValue kEmpty(rapidjson::kArrayType);
  const JsonValue* v = member(obj, name);
  if (v == nullptr) return &kEmpty;
  if (!v->IsArray()) return field_error(name, "is not an array");
  return v;
}

Status require_object(const JsonValue& v, const char* what) {
  if (!v.IsObject()) return field_error(what, "holds a non-object");
  return Status::ok();
}

Result<std::vector<std::string>> string_array(const JsonValue& obj, const char* name) {
  COMET_ASSIGN_OR_RETURN(const JsonValue* arr, array_field(obj, name));
  std::vector<std::string> out;
  out.reserve(arr->Size());
  for (const auto& v : arr->GetArray()) {
    if (!v.IsString()) return field_error(name, "holds a non-string");
    out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return out;
}

// An enum given by name or by ordinal (§3: clients send either); normalized to the name.
template <size_t N>
Result<std::string> enum_field(const JsonValue& obj, const char* name,
                               const std::array<std::string_view, N>& names,
                               std::string_view fallback) {
  COMET_ASSIGN_OR_RETURN(std::string text, string_field(obj, name, std::string(fallback)));
  if (auto ordinal = parse_whole_number<size_t>(text)) {
    if (*ordinal < N) return std::string(names[*ordinal]);
    return field_error(name, "has an unknown ordinal " + text);
  }
  for (auto n : names) {
    if (n == text) return text;
  }
  return field_error(name, "has an unknown value " + text);
}

// ---- Writing ----

void write_string(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string finish(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Java's ordinals, in declaration order (ConsumeType, MessageModel, ConsumeFromWhere).
constexpr std::array<std::string_view, 2> kConsumeTypes = {"CONSUME_ACTIVELY", "CONSUME_PASSIVELY"};
constexpr std::array<std::string_view, 2> kMessageModels = {"BROADCASTING", "CLUSTERING"};
constexpr std::array<std::string_view, 6> kConsumeFromWheres = {
    "CONSUME_FROM_LAST_OFFSET",  "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
    "CONSUME_FROM_MIN_OFFSET",   "CONSUME_FROM_MAX_OFFSET",
    "CONSUME_FROM_FIRST_OFFSET", "CONSUME_FROM_TIMESTAMP"};

}  // namespace

// ---- Heartbeats ----

namespace {

Result<SubscriptionJson> parse_subscription(const JsonValue& v) {
  COMET_RETURN_IF_ERROR(require_object(v, "subscriptionDataSet"));
  SubscriptionJson s;
  COMET_ASSIGN_OR_RETURN(s.topic, string_field(v, "topic"));
  COMET_ASSIGN_OR_RETURN(s.sub_string, string_field(v, "subString"));
  COMET_ASSIGN_OR_RETURN(s.expression_type, string_field(v, "expressionType", "TAG"));
  COMET_ASSIGN_OR_RETURN(s.tags, string_array(v, "tagsSet"));
  COMET_ASSIGN_OR_RETURN(s.sub_version, int_field<int64_t>(v, "subVersion", 0));
  return s;
}

Result<ConsumerJson> parse_consumer(const JsonValue& v) {
  COMET_RETURN_IF_ERROR(require_object(v, "consumerDataSet"));
  ConsumerJson c;
  COMET_ASSIGN_OR_RETURN(c.group_name, string_field(v, "groupName"));
  COMET_ASSIGN_OR_RETURN(c.consume_type,
                         enum_field(v, "consumeType", kConsumeTypes, "CONSUME_PASSIVELY"));
  COMET_ASSIGN_OR_RETURN(c.message_model,
                         enum_field(v, "messageModel", kMessageModels, "CLUSTERING"));
  COMET_ASSIGN_OR_RETURN(c.consume_from_where, enum_field(v, "consumeFromWhere", kConsumeFromWheres,
                                                          "CONSUME_FROM_LAST_OFFSET"));
  COMET_ASSIGN_OR_RETURN(c.unit_mode, bool_field(v, "unitMode", false));
  COMET_ASSIGN_OR_RETURN(const JsonValue* subs, array_field(v, "subscriptionDataSet"));
  for (const auto& s : subs->GetArray()) {
    COMET_ASSIGN_OR_RETURN(SubscriptionJson sub, parse_subscription(s));
    c.subscriptions.push_back(std::move(sub));
  }
  return c;
}

// Java's String.hashCode of an ASCII tag: the codeSet Java clients send next to tagsSet.
int32_t java_string_hash(std::string_view s) {
  uint32_t h = 0;
  for (unsigned char ch : s)
    h = 31 * h + ch;
  return static_cast<int32_t>(h);
}

void write_subscription(JsonWriter& w, const SubscriptionJson& s) {
  w.StartObject();
  w.Key("classFilterMode");
  w.Bool(false);
  w.Key("codeSet");
  w.StartArray();
  for (const auto& t : s.tags)
    w.Int(java_string_hash(t));
  w.EndArray();
  w.Key("expressionType");
  write_string(w, s.expression_type);
  w.Key("subString");
  write_string(w, s.sub_string);
  w.Key("subVersion");
  w.Int64(s.sub_version);
  w.Key("tagsSet");
  w.StartArray();
  for (const auto& t : s.tags)
    write_string(w, t);
  w.EndArray();
  w.Key("topic");
  write_string(w, s.topic);
  w.EndObject();
}

}  // namespace

Result<HeartbeatJson> parse_heartbeat(std::string_view json) {
  COMET_ASSIGN_OR_RETURN(rapidjson::Document doc, parse_document(json, "heartbeat"));
  HeartbeatJson h;
  COMET_ASSIGN_OR_RETURN(h.client_id, string_field(doc, "clientID"));
  COMET_ASSIGN_OR_RETURN(const JsonValue* producers, array_field(doc, "producerDataSet"));
  for (const auto& p : producers->GetArray()) {
    COMET_RETURN_IF_ERROR(require_object(p, "producerDataSet"));
    COMET_ASSIGN_OR_RETURN(std::string group, string_field(p, "groupName"));
    h.producer_groups.push_back(std::move(group));
  }
  COMET_ASSIGN_OR_RETURN(const JsonValue* consumers, array_field(doc, "consumerDataSet"));
  for (const auto& c : consumers->GetArray()) {
    COMET_ASSIGN_OR_RETURN(ConsumerJson consumer, parse_consumer(c));
    h.consumers.push_back(std::move(consumer));
  }
  return h;
}

std::string encode_heartbeat(const HeartbeatJson& h) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("clientID");
  write_string(w, h.client_id);
  w.Key("consumerDataSet");
  w.StartArray();
  for (const auto& c : h.consumers) {
    w.StartObject();
    w.Key("consumeFromWhere");
    write_string(w, c.consume_from_where);
    w.Key("consumeType");
    write_string(w, c.consume_type);
    w.Key("groupName");
    write_string(w, c.group_name);
    w.Key("messageModel");
    write_string(w, c.message_model);
    w.Key("subscriptionDataSet");
    w.StartArray();
    for (const auto& s : c.subscriptions)
      write_subscription(w, s);
    w.EndArray();
    w.Key("unitMode");
    w.Bool(c.unit_mode);
    w.EndObject();
  }
  w.EndArray();
  w.Key("producerDataSet");
  w.StartArray();
  for (const auto& g : h.producer_groups) {
    w.StartObject();
    w.Key("groupName");
    write_string(w, g);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return finish(buffer);
}

// ---- Queue locks ----

namespace {

Result<std::vector<MessageQueueRef>> parse_queue_set(const JsonValue& obj, const char* name) {
  COMET_ASSIGN_OR_RETURN(const JsonValue* arr, array_field(obj, name));
  std::vector<MessageQueueRef> out;
  out.reserve(arr->Size());
  for (const auto& v : arr->GetArray()) {
    COMET_RETURN_IF_ERROR(require_object(v, name));
    MessageQueueRef mq;
    COMET_ASSIGN_OR_RETURN(mq.topic, string_field(v, "topic"));
    COMET_ASSIGN_OR_RETURN(mq.broker_name, string_field(v, "brokerName"));
    COMET_ASSIGN_OR_RETURN(mq.queue_id, int_field<int32_t>(v, "queueId", 0));
    out.push_back(std::move(mq));
  }
  return out;
}

void write_queue_set(JsonWriter& w, const std::vector<MessageQueueRef>& mqs) {
  w.StartArray();
  for (const auto& mq : mqs) {
    w.StartObject();
    w.Key("brokerName");
    write_string(w, mq.broker_name);
    w.Key("queueId");
    w.Int(mq.queue_id);
    w.Key("topic");
    write_string(w, mq.topic);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

Result<LockBatchJson> parse_lock_batch(std::string_view json) {
  COMET_ASSIGN_OR_RETURN(rapidjson::Document doc, parse_document(json, "lock batch"));
  LockBatchJson b;
  COMET_ASSIGN_OR_RETURN(b.consumer_group, string_field(doc, "consumerGroup"));
  COMET_ASSIGN_OR_RETURN(b.client_id, string_field(doc, "clientId"));
  COMET_ASSIGN_OR_RETURN(b.mqs, parse_queue_set(doc, "mqSet"));
  COMET_ASSIGN_OR_RETURN(b.only_this_broker, bool_field(doc, "onlyThisBroker", false));
  return b;
}

std::string encode_lock_batch(const LockBatchJson& b) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("clientId");
  write_string(w, b.client_id);
  w.Key("consumerGroup");
  write_string(w, b.consumer_group);
  w.Key("mqSet");
  write_queue_set(w, b.mqs);
  w.Key("onlyThisBroker");
  w.Bool(b.only_this_broker);
  w.EndObject();
  return finish(buffer);
}

Result<std::vector<MessageQueueRef>> parse_lock_ok(std::string_view json) {
  COMET_ASSIGN_OR_RETURN(rapidjson::Document doc, parse_document(json, "lock answer"));
  return parse_queue_set(doc, "lockOKMQSet");
}

std::string encode_lock_ok(const std::vector<MessageQueueRef>& mqs) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("lockOKMQSet");
  write_queue_set(w, mqs);
  w.EndObject();
  return finish(buffer);
}

// ---- Routes and cluster info ----

namespace {

std::string json_string(std::string_view s) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  write_string(w, s);
  return finish(buffer);
}

// brokerAddrs: {"0":"host:port"}, or {0:"host:port"} as fastjson writes a map with integer
// keys for clients older than 401. The writer cannot write an unquoted key, so the object goes
// in raw, its strings escaped by the writer.
void write_broker_addrs(JsonWriter& w, const RouteBrokerJson& b, bool standard_json) {
  std::string raw = "{";
  for (size_t i = 0; i < b.addrs.size(); ++i) {
    if (i > 0) raw += ',';
    std::string id = std::to_string(b.addrs[i].first);
    raw += standard_json ? json_string(id) : id;
    raw += ':';
    raw += json_string(b.addrs[i].second);
  }
  raw += '}';
  w.RawValue(raw.data(), raw.size(), rapidjson::kObjectType);
}

void write_broker_data(JsonWriter& w, const RouteBrokerJson& b, bool standard_json) {
  w.StartObject();
  w.Key("brokerAddrs");
  write_broker_addrs(w, b, standard_json);
  w.Key("brokerName");
  write_string(w, b.broker_name);
  w.Key("cluster");
  write_string(w, b.cluster);
  w.EndObject();
}

// The non-standard form's bare integer keys quoted, so RapidJSON reads it: a run of digits (and
// a leading '-') right after '{' or ',' outside strings and followed by ':'.
std::string quote_bare_integer_keys(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 16);
  bool in_string = false;
  char last = '\0';  // the last non-space character outside strings
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < json.size()) {
        out += json[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if ((last == '{' || last == ',') && (c == '-' || (c >= '0' && c <= '9'))) {
      size_t end = i + 1;
      while (end < json.size() && json[end] >= '0' && json[end] <= '9')
        ++end;
      size_t colon = end;
      while (colon < json.size() && (json[colon] == ' ' || json[colon] == '\n' ||
                                     json[colon] == '\r' || json[colon] == '\t'))
        ++colon;
      if (colon < json.size() && json[colon] == ':') {
        out += '"';
        out.append(json.substr(i, end - i));
        out += '"';
        i = end - 1;
        last = '"';
        continue;
      }
    }
    out += c;
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') last = c;
  }
  return out;
}

Result<RouteBrokerJson> parse_broker_data(const JsonValue& v) {
  COMET_RETURN_IF_ERROR(require_object(v, "brokerDatas"));
  RouteBrokerJson b;
  COMET_ASSIGN_OR_RETURN(b.cluster, string_field(v, "cluster"));
  COMET_ASSIGN_OR_RETURN(b.broker_name, string_field(v, "brokerName"));
  const JsonValue* addrs = member(v, "brokerAddrs");
  if (addrs == nullptr) return b;
  if (!addrs->IsObject()) return field_error("brokerAddrs", "is not an object");
  for (const auto& m : addrs->GetObject()) {
    auto id =
        parse_whole_number<int64_t>(std::string_view(m.name.GetString(), m.name.GetStringLength()));
    if (!id) return field_error("brokerAddrs", "has a non-integer broker id");
    if (!m.value.IsString()) return field_error("brokerAddrs", "has a non-string address");
    b.addrs.emplace_back(*id, std::string(m.value.GetString(), m.value.GetStringLength()));
  }
  return b;
}

Result<RouteQueueJson> parse_queue_data(const JsonValue& v) {
  COMET_RETURN_IF_ERROR(require_object(v, "queueDatas"));
  RouteQueueJson q;
  COMET_ASSIGN_OR_RETURN(q.broker_name, string_field(v, "brokerName"));
  COMET_ASSIGN_OR_RETURN(q.read_queue_nums, int_field<int32_t>(v, "readQueueNums", 0));
  COMET_ASSIGN_OR_RETURN(q.write_queue_nums, int_field<int32_t>(v, "writeQueueNums", 0));
  COMET_ASSIGN_OR_RETURN(q.perm, int_field<int32_t>(v, "perm", 6));
  COMET_ASSIGN_OR_RETURN(q.topic_sys_flag, int_field<int32_t>(v, "topicSysFlag", 0));
  return q;
}

}  // namespace

std::string encode_route(const RouteJson& r, bool standard_json) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("brokerDatas");
  w.StartArray();
  for (const auto& b : r.brokers)
    write_broker_data(w, b, standard_json);
  w.EndArray();
  w.Key("filterServerTable");
  w.StartObject();
  w.EndObject();
  w.Key("queueDatas");
  w.StartArray();
  for (const auto& q : r.queues) {
    w.StartObject();
    w.Key("brokerName");
    write_string(w, q.broker_name);
    w.Key("perm");
    w.Int(q.perm);
    w.Key("readQueueNums");
    w.Int(q.read_queue_nums);
    w.Key("topicSysFlag");
    w.Int(q.topic_sys_flag);
    w.Key("writeQueueNums");
    w.Int(q.write_queue_nums);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return finish(buffer);
}

Result<RouteJson> parse_route(std::string_view json) {
  std::string standard = quote_bare_integer_keys(json);
  COMET_ASSIGN_OR_RETURN(rapidjson::Document doc, parse_document(standard, "route"));
  RouteJson r;
  COMET_ASSIGN_OR_RETURN(const JsonValue* brokers, array_field(doc, "brokerDatas"));
  for (const auto& b : brokers->GetArray()) {
    COMET_ASSIGN_OR_RETURN(RouteBrokerJson broker, parse_broker_data(b));
    r.brokers.push_back(std::move(broker));
  }
  COMET_ASSIGN_OR_RETURN(const JsonValue* queues, array_field(doc, "queueDatas"));
  for (const auto& q : queues->GetArray()) {
    COMET_ASSIGN_OR_RETURN(RouteQueueJson queue, parse_queue_data(q));
    r.queues.push_back(std::move(queue));
  }
  return r;
}

std::string encode_cluster_info(const ClusterJson& c, bool standard_json) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("brokerAddrTable");
  w.StartObject();
  for (const auto& b : c.brokers) {
    w.Key(b.broker_name.data(), static_cast<rapidjson::SizeType>(b.broker_name.size()));
    write_broker_data(w, b, standard_json);
  }
  w.EndObject();
  w.Key("clusterAddrTable");
  w.StartObject();
  for (const auto& [cluster, names] : c.clusters) {
    w.Key(cluster.data(), static_cast<rapidjson::SizeType>(cluster.size()));
    w.StartArray();
    for (const auto& n : names)
      write_string(w, n);
    w.EndArray();
  }
  w.EndObject();
  w.EndObject();
  return finish(buffer);
}

// ---- Consumer id lists ----

std::string encode_consumer_id_list(const std::vector<std::string>& ids) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("consumerIdList");
  w.StartArray();
  for (const auto& id : ids)
    write_string(w, id);
  w.EndArray();
  w.EndObject();
  return finish(buffer);
}

Result<std::vector<std::string>> parse_consumer_id_list(std::string_view json) {
  COMET_ASSIGN_OR_RETURN(rapidjson::Document doc, parse_document(json, "consumer id list"));
  return string_array(doc, "consumerIdList");
}

}  // namespace comet::remoting::rocketmq
