#include "admin/commands.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "admin/admin_client.h"
#include "admin/table.h"
#include "common/clock.h"
#include "common/record_codec.h"

namespace comet::admin {
namespace {

constexpr int32_t kPermRead = 4;
constexpr int32_t kPermWrite = 2;
constexpr int64_t kMaxQueueNums = 1024;
constexpr size_t kBodyDisplayChars = 200;
constexpr int32_t kPullBatch = 32;
constexpr std::string_view kToolGroup = "comet-admin";

enum class Kind { kString, kInt, kFlag };

struct OptionSpec {
  std::string_view name;  // the long name, also the key of its value
  char letter = '\0';     // '\0': long form only
  Kind kind = Kind::kString;
  std::string_view placeholder;
  std::string_view help;
  bool required = false;
};

class Args {
 public:
  bool has(std::string_view name) const { return values_.find(name) != values_.end(); }
  std::string get(std::string_view name, std::string_view fallback = {}) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::string(fallback) : it->second;
  }
  int64_t get_int(std::string_view name, int64_t fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    int64_t v = 0;
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    return v;
  }
  void set(std::string_view name, std::string value) {
    values_.insert_or_assign(std::string(name), std::move(value));
  }

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

struct Context;
using Handler = int (*)(Context&);

struct CommandSpec {
  std::string_view name;
  std::string_view summary;
  std::vector<OptionSpec> options;
  Handler handler;
};

const std::vector<OptionSpec>& common_options() {
  static const std::vector<OptionSpec> kCommon = {
      {"namesrvAddr", 'n', Kind::kString, "<addr>",
       "name server address(es), 'host:port;host:port' (default: $COMET_NAMESRV_ADDR or "
       "127.0.0.1:9876)"},
      {"json", '\0', Kind::kFlag, "", "print JSON instead of a table"},
      {"timeout-ms", '\0', Kind::kInt, "<ms>", "timeout of each request (default 5000)"},
      {"help", 'h', Kind::kFlag, "", "print this help"},
  };
  return kCommon;
}

struct Context {
  const CommandSpec& spec;
  const Args& args;
  AdminClient& client;
  std::ostream& out;
  std::ostream& err;
  bool json = false;
  bool failed = false;

  // Reports one failure; the command goes on with what it can still do.
  void report(std::string_view what, const Status& s) {
    err << spec.name << ": " << what << ": " << s.message() << '\n';
    failed = true;
  }
  void report(std::string_view what, std::string_view why) {
    err << spec.name << ": " << what << ": " << why << '\n';
    failed = true;
  }
  int fail(std::string_view what, const Status& s) {
    report(what, s);
    return kExitFailure;
  }
  int fail(std::string_view what, std::string_view why) {
    report(what, why);
    return kExitFailure;
  }
  int usage_error(std::string_view why) {
    err << "comet-admin " << spec.name << ": " << why << "\n\n" << command_usage(spec.name);
    return kExitUsage;
  }
  int done() const { return failed ? kExitFailure : kExitOk; }
};

// --- helpers -------------------------------------------------------------------------------

std::string format_time(int64_t ms) {
  if (ms <= 0) return "-";
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  localtime_r(&secs, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03d", static_cast<int>(ms % 1000));
  return buf;
}

std::string perm_name(int32_t perm) {
  std::string s;
  s += (perm & kPermRead) ? 'R' : '-';
  s += (perm & kPermWrite) ? 'W' : '-';
  return s;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string msg_id(HostAddress store_host, uint64_t physical_offset) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08X%08X%016llX", store_host.ipv4, store_host.port,
                static_cast<unsigned long long>(physical_offset));
  return buf;
}

std::string master_addr(const protocol::BrokerDataT& bd) {
  for (const auto& a : bd.broker_addrs) {
    if (a && a->broker_id == 0) return a->addr;
  }
  return {};
}

// The master, else the lowest-id slave: where reads go when the master is away.
std::string read_addr(const protocol::BrokerDataT& bd) {
  std::string m = master_addr(bd);
  if (!m.empty()) return m;
  const protocol::BrokerAddrT* best = nullptr;
  for (const auto& a : bd.broker_addrs) {
    if (a && (!best || a->broker_id < best->broker_id)) best = a.get();
  }
  return best ? best->addr : std::string();
}

const protocol::BrokerDataT* find_broker(const protocol::TopicRouteDataT& route,
                                         std::string_view name) {
  for (const auto& bd : route.broker_datas) {
    if (bd && bd->broker_name == name) return bd.get();
  }
  return nullptr;
}

// Queue datas sorted by broker name.
std::vector<const protocol::QueueDataT*> sorted_queue_datas(const protocol::TopicRouteDataT& r) {
  std::vector<const protocol::QueueDataT*> out;
  for (const auto& qd : r.queue_datas) {
    if (qd) out.push_back(qd.get());
  }
  std::sort(out.begin(), out.end(),
            [](const auto* a, const auto* b) { return a->broker_name < b->broker_name; });
  return out;
}

struct BrokerRef {
  std::string cluster;
  std::string broker_name;
  std::string addr;
};

std::vector<const protocol::BrokerDataT*> sorted_broker_datas(const protocol::ClusterInfoT& info) {
  std::vector<const protocol::BrokerDataT*> out;
  for (const auto& bd : info.broker_datas) {
    if (bd) out.push_back(bd.get());
  }
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return std::tie(a->cluster, a->broker_name) < std::tie(b->cluster, b->broker_name);
  });
  return out;
}

bool has_cluster(const protocol::ClusterInfoT& info, std::string_view cluster) {
  for (const auto& c : info.clusters) {
    if (c && c->cluster_name == cluster) return true;
  }
  for (const auto& bd : info.broker_datas) {
    if (bd && bd->cluster == cluster) return true;
  }
  return false;
}

std::string known_clusters(const protocol::ClusterInfoT& info) {
  std::set<std::string> names;
  for (const auto& bd : info.broker_datas) {
    if (bd) names.insert(bd->cluster);
  }
  if (names.empty()) return "no broker is registered";
  return "known: " + join({names.begin(), names.end()}, ", ");
}

// The cluster's broker groups (every cluster when `cluster` is empty). A group without a live
// master is reported and left out.
Result<std::vector<BrokerRef>> masters(Context& c, const std::string& cluster) {
  auto info = c.client.cluster_info();
  if (!info.is_ok()) return info.status();
  if (!cluster.empty() && !has_cluster(*info, cluster)) {
    return Status::not_found("cluster " + cluster + " is not in the name server (" +
                             known_clusters(*info) + ")");
  }
  std::vector<BrokerRef> out;
  for (const auto* bd : sorted_broker_datas(*info)) {
    if (!cluster.empty() && bd->cluster != cluster) continue;
    std::string addr = master_addr(*bd);
    if (addr.empty()) {
      c.report("broker " + bd->broker_name, "has no master registered; skipped");
      continue;
    }
    out.push_back({bd->cluster, bd->broker_name, std::move(addr)});
  }
  return out;
}

std::string topic_what(const std::string& topic) {
  return "topic " + topic;
}

// --- clusterList ---------------------------------------------------------------------------

int cluster_list(Context& c) {
  auto info = c.client.cluster_info();
  if (!info.is_ok()) return c.fail("cluster info", info.status());
  const std::string only = c.args.get("clusterName");
  if (!only.empty() && !has_cluster(*info, only)) {
    return c.fail("cluster " + only, "not in the name server (" + known_clusters(*info) + ")");
  }
  std::map<std::string, const protocol::BrokerLiveInfoT*> live;
  for (const auto& l : info->live) {
    if (l) live[l->broker_addr] = l.get();
  }
  const int64_t now = now_ms();

  struct Row {
    const protocol::BrokerDataT* bd;
    const protocol::BrokerAddrT* ba;
    const protocol::BrokerLiveInfoT* li;
  };
  std::vector<Row> rows;
  for (const auto* bd : sorted_broker_datas(*info)) {
    if (!only.empty() && bd->cluster != only) continue;
    std::vector<const protocol::BrokerAddrT*> addrs;
    for (const auto& a : bd->broker_addrs) {
      if (a) addrs.push_back(a.get());
    }
    std::sort(addrs.begin(), addrs.end(),
              [](const auto* a, const auto* b) { return a->broker_id < b->broker_id; });
    for (const auto* a : addrs) {
      auto it = live.find(a->addr);
      rows.push_back({bd, a, it == live.end() ? nullptr : it->second});
    }
  }

  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().key("brokers").begin_array();
    for (const auto& r : rows) {
      j.begin_object()
          .field("cluster", r.bd->cluster)
          .field("brokerName", r.bd->broker_name)
          .field("brokerId", r.ba->broker_id)
          .field("addr", r.ba->addr)
          .field("live", r.li != nullptr);
      if (r.li) {
        j.field("epoch", r.li->epoch)
            .field("maxOffset", r.li->max_offset)
            .field("lastUpdateMillis", r.li->last_update_millis)
            .field("lastUpdateAgeMs", now - r.li->last_update_millis);
      }
      j.end_object();
    }
    j.end_array().end_object();
    return c.done();
  }
  Table t(
      {"#Cluster Name", "#Broker Name", "#BID", "#Addr", "#Epoch", "#MaxOffset", "#Last Update"});
  for (const auto& r : rows) {
    t.add_row({r.bd->cluster, r.bd->broker_name, std::to_string(r.ba->broker_id), r.ba->addr,
               r.li ? std::to_string(r.li->epoch) : "-",
               r.li ? std::to_string(r.li->max_offset) : "-",
               r.li ? std::to_string(now - r.li->last_update_millis) + " ms ago" : "-"});
  }
  t.print(c.out);
  return c.done();
}

// --- topicRoute ----------------------------------------------------------------------------

int topic_route(Context& c) {
  const std::string topic = c.args.get("topic");
  auto route = c.client.route(topic);
  if (!route.is_ok()) return c.fail(topic_what(topic), route.status());
  auto qds = sorted_queue_datas(*route);
  std::vector<const protocol::BrokerDataT*> bds;
  for (const auto& bd : route->broker_datas) {
    if (bd) bds.push_back(bd.get());
  }
  std::sort(bds.begin(), bds.end(),
            [](const auto* a, const auto* b) { return a->broker_name < b->broker_name; });

  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("topic", topic).key("queueDatas").begin_array();
    for (const auto* qd : qds) {
      j.begin_object()
          .field("brokerName", qd->broker_name)
          .field("readQueueNums", qd->read_queue_nums)
          .field("writeQueueNums", qd->write_queue_nums)
          .field("perm", qd->perm)
          .end_object();
    }
    j.end_array().key("brokerDatas").begin_array();
    for (const auto* bd : bds) {
      j.begin_object()
          .field("cluster", bd->cluster)
          .field("brokerName", bd->broker_name)
          .key("brokerAddrs")
          .begin_object();
      for (const auto& a : bd->broker_addrs) {
        if (a) j.field(std::to_string(a->broker_id), a->addr);
      }
      j.end_object().end_object();
    }
    j.end_array().end_object();
    return c.done();
  }
  Table q({"#Broker Name", "#Read Queues", "#Write Queues", "#Perm"});
  for (const auto* qd : qds) {
    q.add_row({qd->broker_name, std::to_string(qd->read_queue_nums),
               std::to_string(qd->write_queue_nums),
               perm_name(qd->perm) + " (" + std::to_string(qd->perm) + ")"});
  }
  q.print(c.out);
  c.out << '\n';
  Table b({"#Cluster Name", "#Broker Name", "#BID", "#Addr"});
  for (const auto* bd : bds) {
    for (const auto& a : bd->broker_addrs) {
      if (a) b.add_row({bd->cluster, bd->broker_name, std::to_string(a->broker_id), a->addr});
    }
  }
  b.print(c.out);
  return c.done();
}

// --- updateTopic / deleteTopic -------------------------------------------------------------

struct BrokerOutcome {
  BrokerRef broker;
  std::string result;  // OK, NOT PRESENT, FAILED
  std::string error;
};

void print_outcomes(Context& c, const std::vector<BrokerOutcome>& outcomes,
                    const std::function<void(JsonWriter&)>& extra_json) {
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object();
    extra_json(j);
    j.key("results").begin_array();
    for (const auto& o : outcomes) {
      j.begin_object()
          .field("brokerName", o.broker.broker_name)
          .field("addr", o.broker.addr)
          .field("result", o.result);
      if (!o.error.empty()) j.field("error", o.error);
      j.end_object();
    }
    j.end_array().end_object();
    return;
  }
  Table t({"#Broker Name", "#Broker Addr", "#Result"});
  for (const auto& o : outcomes) {
    t.add_row({o.broker.broker_name.empty() ? "-" : o.broker.broker_name, o.broker.addr, o.result});
  }
  t.print(c.out);
}

int update_topic(Context& c) {
  const std::string topic = c.args.get("topic");
  if (!record::valid_topic_name(topic)) {
    return c.usage_error("illegal topic name '" + topic + "': 1-127 characters of [A-Za-z0-9_%|-]");
  }
  if (c.args.has("clusterName") == c.args.has("brokerAddr")) {
    return c.usage_error("give exactly one of -c <clusterName> and -b <brokerAddr>");
  }
  const int64_t read = c.args.get_int("readQueueNums", 8);
  const int64_t write = c.args.get_int("writeQueueNums", 8);
  const int64_t perm = c.args.get_int("perm", 6);
  if (read < 1 || read > kMaxQueueNums || write < 1 || write > kMaxQueueNums) {
    return c.usage_error("queue numbers must be within 1..1024");
  }
  if ((perm & ~int64_t{kPermRead | kPermWrite}) != 0) {
    return c.usage_error("perm must be 2 (write), 4 (read) or 6 (read and write), got " +
                         std::to_string(perm));
  }
  const std::string order = c.args.get("order", "false");
  if (order != "true" && order != "false") return c.usage_error("-o takes true or false");

  protocol::TopicConfigT config;
  config.topic_name = topic;
  config.read_queue_nums = static_cast<int32_t>(read);
  config.write_queue_nums = static_cast<int32_t>(write);
  config.perm = static_cast<int32_t>(perm);
  config.order = order == "true";

  std::vector<BrokerRef> targets;
  if (c.args.has("brokerAddr")) {
    targets.push_back({"", "", c.args.get("brokerAddr")});
  } else {
    const std::string cluster = c.args.get("clusterName");
    auto m = masters(c, cluster);
    if (!m.is_ok()) return c.fail("cluster " + cluster, m.status());
    if (m->empty()) return c.fail("cluster " + cluster, "has no master to create the topic on");
    targets = std::move(*m);
  }
  std::vector<BrokerOutcome> outcomes;
  for (const auto& b : targets) {
    Status s = c.client.update_topic(b.addr, config);
    if (!s.is_ok()) c.report(topic_what(topic) + " on broker " + b.addr, s);
    outcomes.push_back({b, s.is_ok() ? "OK" : "FAILED", s.message()});
  }
  print_outcomes(c, outcomes, [&](JsonWriter& j) {
    j.key("topicConfig")
        .begin_object()
        .field("topicName", config.topic_name)
        .field("readQueueNums", config.read_queue_nums)
        .field("writeQueueNums", config.write_queue_nums)
        .field("perm", config.perm)
        .field("order", config.order)
        .end_object();
  });
  if (!c.json) {
    c.out << "TopicConfig [topicName=" << topic << ", readQueueNums=" << read
          << ", writeQueueNums=" << write << ", perm=" << perm_name(config.perm)
          << ", order=" << order << "]\n";
  }
  return c.done();
}

int delete_topic(Context& c) {
  const std::string topic = c.args.get("topic");
  const std::string cluster = c.args.get("clusterName");
  auto targets = masters(c, cluster);
  if (!targets.is_ok()) return c.fail("cluster " + cluster, targets.status());
  if (targets->empty()) return c.fail("cluster " + cluster, "has no master to delete the topic on");
  std::vector<BrokerOutcome> outcomes;
  size_t absent = 0;
  for (const auto& b : *targets) {
    Status s = c.client.delete_topic(b.addr, topic);
    if (s.is_ok()) {
      outcomes.push_back({b, "OK", ""});
    } else if (s.code() == Code::kNotFound) {
      ++absent;
      outcomes.push_back({b, "NOT PRESENT", s.message()});
    } else {
      c.report(topic_what(topic) + " on broker " + b.addr, s);
      outcomes.push_back({b, "FAILED", s.message()});
    }
  }
  print_outcomes(c, outcomes, [&](JsonWriter& j) { j.field("topic", topic); });
  if (absent == targets->size()) {
    c.report(topic_what(topic), "TOPIC_NOT_EXIST: on no master of cluster " + cluster);
  }
  return c.done();
}

// --- topicList -----------------------------------------------------------------------------

int topic_list(Context& c) {
  const std::string cluster = c.args.get("clusterName");
  auto targets = masters(c, cluster);
  if (!targets.is_ok())
    return c.fail(cluster.empty() ? "cluster info" : "cluster " + cluster, targets.status());
  struct Entry {
    BrokerRef broker;
    protocol::TopicConfigT config;
  };
  std::map<std::string, std::vector<Entry>> topics;
  for (const auto& b : *targets) {
    auto configs = c.client.topic_configs(b.addr);
    if (!configs.is_ok()) {
      c.report("topics of broker " + b.broker_name + " (" + b.addr + ")", configs.status());
      continue;
    }
    for (auto& tc : *configs)
      topics[tc.topic_name].push_back({b, std::move(tc)});
  }

  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().key("topics").begin_array();
    for (const auto& [name, entries] : topics) {
      j.begin_object().field("topic", name).key("brokers").begin_array();
      for (const auto& e : entries) {
        j.begin_object()
            .field("cluster", e.broker.cluster)
            .field("brokerName", e.broker.broker_name)
            .field("addr", e.broker.addr)
            .field("readQueueNums", e.config.read_queue_nums)
            .field("writeQueueNums", e.config.write_queue_nums)
            .field("perm", e.config.perm)
            .field("order", e.config.order)
            .end_object();
      }
      j.end_array().end_object();
    }
    j.end_array().end_object();
    return c.done();
  }
  Table t({"#Topic", "#Cluster Name", "#Broker Name", "#Read Queues", "#Write Queues", "#Perm",
           "#Order"});
  for (const auto& [name, entries] : topics) {
    for (const auto& e : entries) {
      t.add_row({name, e.broker.cluster, e.broker.broker_name,
                 std::to_string(e.config.read_queue_nums),
                 std::to_string(e.config.write_queue_nums), perm_name(e.config.perm),
                 e.config.order ? "true" : "false"});
    }
  }
  t.print(c.out);
  return c.done();
}

// --- topicStatus / consumerProgress --------------------------------------------------------

struct RouteQueue {
  std::string broker_name;
  std::string addr;  // where reads and offset queries go
  int32_t queue_id;
};

// Every queue of the route (max of read and write queue numbers), broker by broker.
std::vector<RouteQueue> route_queues(Context& c, const protocol::TopicRouteDataT& route) {
  std::vector<RouteQueue> out;
  for (const auto* qd : sorted_queue_datas(route)) {
    const auto* bd = find_broker(route, qd->broker_name);
    const std::string addr = bd ? read_addr(*bd) : std::string();
    if (addr.empty()) {
      c.report("broker " + qd->broker_name, "has no address in the route; skipped");
      continue;
    }
    const int32_t n = std::max(qd->read_queue_nums, qd->write_queue_nums);
    for (int32_t q = 0; q < n; ++q)
      out.push_back({qd->broker_name, addr, q});
  }
  return out;
}

int topic_status(Context& c) {
  const std::string topic = c.args.get("topic");
  auto route = c.client.route(topic);
  if (!route.is_ok()) return c.fail(topic_what(topic), route.status());
  struct Row {
    RouteQueue q;
    int64_t min, max;
  };
  std::vector<Row> rows;
  std::set<std::string> broken;
  for (const auto& q : route_queues(c, *route)) {
    if (broken.contains(q.broker_name)) continue;
    auto min = c.client.min_offset(q.addr, topic, q.queue_id);
    auto max = min.is_ok() ? c.client.max_offset(q.addr, topic, q.queue_id) : min;
    if (!max.is_ok()) {
      c.report(topic_what(topic) + " on broker " + q.broker_name + " (" + q.addr + ")",
               max.status());
      broken.insert(q.broker_name);
      continue;
    }
    rows.push_back({q, *min, *max});
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("topic", topic).key("queues").begin_array();
    for (const auto& r : rows) {
      j.begin_object()
          .field("brokerName", r.q.broker_name)
          .field("queueId", r.q.queue_id)
          .field("minOffset", r.min)
          .field("maxOffset", r.max)
          .end_object();
    }
    j.end_array().end_object();
    return c.done();
  }
  Table t({"#Broker Name", "#QID", "#Min Offset", "#Max Offset"});
  for (const auto& r : rows) {
    t.add_row({r.q.broker_name, std::to_string(r.q.queue_id), std::to_string(r.min),
               std::to_string(r.max)});
  }
  t.print(c.out);
  return c.done();
}

int consumer_progress(Context& c) {
  const std::string group = c.args.get("groupName");
  const std::string topic = c.args.get("topic");
  auto route = c.client.route(topic);
  if (!route.is_ok()) return c.fail(topic_what(topic), route.status());
  struct Row {
    RouteQueue q;
    int64_t broker_offset;
    std::optional<int64_t> consumer_offset;
    int64_t diff;
  };
  std::vector<Row> rows;
  std::set<std::string> broken;
  int64_t diff_total = 0;
  const auto queues = route_queues(c, *route);
  for (const auto& q : queues) {
    if (broken.contains(q.broker_name)) continue;
    const std::string where = "group " + group + " " + topic_what(topic) + " on broker " +
                              q.broker_name + " (" + q.addr + ")";
    auto max = c.client.max_offset(q.addr, topic, q.queue_id);
    if (!max.is_ok()) {
      c.report(where, max.status());
      broken.insert(q.broker_name);
      continue;
    }
    auto committed = c.client.consumer_offset(q.addr, group, topic, q.queue_id);
    if (!committed.is_ok()) {
      c.report(where, committed.status());
      broken.insert(q.broker_name);
      continue;
    }
    const int64_t diff = std::max<int64_t>(0, *max - committed->value_or(0));
    diff_total += diff;
    rows.push_back({q, *max, *committed, diff});
  }
  std::vector<std::string> clients;
  if (!queues.empty()) {
    auto list = c.client.consumer_list(queues.front().addr, group);
    if (list.is_ok()) {
      clients = std::move(*list);
      std::sort(clients.begin(), clients.end());
    } else {
      c.report("clients of group " + group + " on broker " + queues.front().addr, list.status());
    }
  }

  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("group", group).field("topic", topic).key("queues").begin_array();
    for (const auto& r : rows) {
      j.begin_object()
          .field("brokerName", r.q.broker_name)
          .field("queueId", r.q.queue_id)
          .field("brokerOffset", r.broker_offset)
          .key("consumerOffset");
      if (r.consumer_offset) {
        j.value(*r.consumer_offset);
      } else {
        j.null();
      }
      j.field("diff", r.diff).end_object();
    }
    j.end_array().key("consumeTps").null().field("diffTotal", diff_total).key("clients");
    j.begin_array();
    for (const auto& id : clients)
      j.value(id);
    j.end_array().end_object();
    return c.done();
  }
  Table t({"#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff"});
  for (const auto& r : rows) {
    t.add_row(
        {topic, r.q.broker_name, std::to_string(r.q.queue_id), std::to_string(r.broker_offset),
         r.consumer_offset ? std::to_string(*r.consumer_offset) : "-", std::to_string(r.diff)});
  }
  t.print(c.out);
  c.out << "\nConsume TPS n/a, Diff Total: " << diff_total << '\n';
  c.out << "Online clients (" << clients.size() << "): " << (clients.empty() ? "none" : "")
        << join(clients, ", ") << '\n';
  return c.done();
}

// --- brokerStatus --------------------------------------------------------------------------

void runtime_json(JsonWriter& j, const std::vector<std::pair<std::string, std::string>>& kv) {
  j.begin_object();
  for (const auto& [k, v] : kv)
    j.field(k, v);
  j.end_object();
}

int broker_status(Context& c) {
  if (c.args.has("clusterName") == c.args.has("brokerAddr")) {
    return c.usage_error("give exactly one of -b <brokerAddr> and -c <clusterName>");
  }
  if (c.args.has("brokerAddr")) {
    const std::string addr = c.args.get("brokerAddr");
    auto info = c.client.runtime_info(addr);
    if (!info.is_ok()) return c.fail("broker " + addr, info.status());
    if (c.json) {
      JsonWriter j(c.out);
      j.begin_object().field("addr", addr).key("runtime");
      runtime_json(j, *info);
      j.end_object();
    } else {
      print_key_values(c.out, *info);
    }
    return c.done();
  }
  const std::string cluster = c.args.get("clusterName");
  auto info = c.client.cluster_info();
  if (!info.is_ok()) return c.fail("cluster info", info.status());
  if (!has_cluster(*info, cluster)) {
    return c.fail("cluster " + cluster, "not in the name server (" + known_clusters(*info) + ")");
  }
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> all;
  for (const auto* bd : sorted_broker_datas(*info)) {
    if (bd->cluster != cluster) continue;
    for (const auto& a : bd->broker_addrs) {
      if (!a) continue;
      auto r = c.client.runtime_info(a->addr);
      if (!r.is_ok()) {
        c.report("broker " + bd->broker_name + " (" + a->addr + ")", r.status());
        continue;
      }
      all.emplace_back(a->addr, std::move(*r));
    }
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("cluster", cluster).key("brokers").begin_array();
    for (const auto& [addr, kv] : all) {
      j.begin_object().field("addr", addr).key("runtime");
      runtime_json(j, kv);
      j.end_object();
    }
    j.end_array().end_object();
    return c.done();
  }
  Table t({"#Broker Addr", "#Key", "#Value"});
  for (const auto& [addr, kv] : all) {
    for (const auto& [k, v] : kv)
      t.add_row({addr, k, v});
  }
  t.print(c.out);
  return c.done();
}

// --- haStatus / promoteSlave ----------------------------------------------------------------

// Every address of broker group `name` in the name server's view, master first.
Result<std::vector<std::pair<int64_t, std::string>>> group_addrs(Context& c,
                                                                 const std::string& name) {
  COMET_ASSIGN_OR_RETURN(auto info, c.client.cluster_info());
  for (const auto* bd : sorted_broker_datas(info)) {
    if (bd->broker_name != name) continue;
    std::vector<std::pair<int64_t, std::string>> out;
    for (const auto& a : bd->broker_addrs)
      if (a) out.emplace_back(a->broker_id, a->addr);
    std::sort(out.begin(), out.end());
    return out;
  }
  return Status::not_found("broker group " + name + " is not in the name server");
}

std::string epochs_text(const protocol::HaStatusT& s) {
  std::string out;
  for (const auto& e : s.epochs) {
    if (!e) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(e->epoch) + "@" + std::to_string(e->start_offset);
  }
  return out.empty() ? "-" : out;
}

int ha_status(Context& c) {
  const std::string name = c.args.get("brokerName");
  auto addrs = group_addrs(c, name);
  if (!addrs.is_ok()) return c.fail("haStatus", addrs.status());
  std::vector<std::pair<std::string, protocol::HaStatusT>> all;
  for (const auto& [id, addr] : *addrs) {
    auto s = c.client.ha_status(addr);
    if (!s.is_ok()) {
      c.report("broker " + addr, s.status());
      continue;
    }
    all.emplace_back(addr, std::move(*s));
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("brokerName", name).key("brokers").begin_array();
    for (const auto& [addr, s] : all) {
      j.begin_object()
          .field("addr", addr)
          .field("role", s.role)
          .field("brokerId", s.broker_id)
          .field("epoch", s.epoch)
          .field("epochs", epochs_text(s))
          .field("maxOffset", s.max_offset)
          .field("writable", s.writable)
          .field("replicatedOffset", s.replicated_offset)
          .field("masterHaAddr", s.master_ha_addr)
          .field("connected", s.connected)
          .field("masterMaxOffset", s.master_max_offset)
          .key("slaves")
          .begin_array();
      for (const auto& sl : s.slaves) {
        if (!sl) continue;
        j.begin_object()
            .field("addr", sl->broker_addr)
            .field("brokerId", sl->broker_id)
            .field("ackedOffset", sl->acked_offset)
            .field("lagBytes", sl->lag_bytes)
            .field("inSync", sl->in_sync)
            .field("lastAckMsAgo", sl->last_ack_ms_ago)
            .end_object();
      }
      j.end_array().end_object();
    }
    j.end_array().end_object();
    return c.done();
  }
  Table t({"#Broker Addr", "#Role", "#BID", "#Epoch", "#Max Offset", "#Writable", "#Epochs"});
  for (const auto& [addr, s] : all) {
    t.add_row({addr, s.role, std::to_string(s.broker_id), std::to_string(s.epoch),
               std::to_string(s.max_offset), s.writable ? "yes" : "no", epochs_text(s)});
  }
  t.print(c.out);
  Table r({"#Master", "#Slave", "#BID", "#Acked Offset", "#Lag Bytes", "#In Sync", "#Last Ack"});
  for (const auto& [addr, s] : all) {
    for (const auto& sl : s.slaves) {
      if (!sl) continue;
      r.add_row({addr, sl->broker_addr, std::to_string(sl->broker_id),
                 std::to_string(sl->acked_offset), std::to_string(sl->lag_bytes),
                 sl->in_sync ? "yes" : "no", std::to_string(sl->last_ack_ms_ago) + " ms ago"});
    }
    if (!s.master_ha_addr.empty()) {
      r.add_row({s.master_ha_addr + " (HA)", addr, std::to_string(s.broker_id),
                 std::to_string(s.max_offset),
                 std::to_string(std::max<int64_t>(0, s.master_max_offset - s.max_offset)),
                 s.connected ? "streaming" : "disconnected", "-"});
    }
  }
  c.out << "\n";
  r.print(c.out);
  return c.done();
}

int promote_slave(Context& c) {
  const std::string name = c.args.get("brokerName");
  const int64_t id = c.args.get_int("brokerId", -1);
  if (id <= 0) return c.usage_error("-i <brokerId> must name a slave (brokerId > 0)");
  const std::string role = c.args.get("role");
  if (!role.empty() && role != "ASYNC_MASTER" && role != "SYNC_MASTER") {
    return c.usage_error("--role must be ASYNC_MASTER or SYNC_MASTER");
  }
  auto info = c.client.cluster_info();
  if (!info.is_ok()) return c.fail("cluster info", info.status());
  std::string target;
  int64_t max_epoch = 0;
  std::set<std::string> group;
  for (const auto* bd : sorted_broker_datas(*info)) {
    if (bd->broker_name != name) continue;
    for (const auto& a : bd->broker_addrs) {
      if (!a) continue;
      group.insert(a->addr);
      if (a->broker_id == id) target = a->addr;
    }
  }
  if (target.empty()) {
    return c.fail("promoteSlave", "broker " + name + " has no live slave with id " +
                                      std::to_string(id) + " in the name server");
  }
  for (const auto& l : info->live) {
    if (l && group.contains(l->broker_addr)) max_epoch = std::max(max_epoch, l->epoch);
  }
  auto r = c.client.promote_slave(target, max_epoch + 1, role);
  if (!r.is_ok()) return c.fail("promote " + target, r.status());
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("addr", target).field("result", *r).end_object();
  } else {
    c.out << target << ": " << *r << "\n";
  }
  return c.done();
}

// --- dledgerStatus / transferLeader --------------------------------------------------------

// The DLedger status of every member of group `name` the name server knows.
std::vector<std::pair<std::string, protocol::DLedgerStatusT>> dledger_statuses(
    Context& c, const std::string& name, Status* error) {
  std::vector<std::pair<std::string, protocol::DLedgerStatusT>> all;
  auto addrs = group_addrs(c, name);
  if (!addrs.is_ok()) {
    *error = addrs.status();
    return all;
  }
  for (const auto& [id, addr] : *addrs) {
    auto s = c.client.dledger_status(addr);
    if (!s.is_ok()) {
      c.report("broker " + addr, s.status());
      continue;
    }
    all.emplace_back(addr, std::move(*s));
  }
  return all;
}

int dledger_status(Context& c) {
  const std::string name = c.args.get("brokerName");
  Status error;
  auto all = dledger_statuses(c, name, &error);
  if (!error.is_ok()) return c.fail("dledgerStatus", error);
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("brokerName", name).key("members").begin_array();
    for (const auto& [addr, s] : all) {
      j.begin_object()
          .field("addr", addr)
          .field("group", s.group)
          .field("selfId", s.self_id)
          .field("role", s.role)
          .field("term", s.term)
          .field("leaderId", s.leader_id)
          .field("commitIndex", s.commit_index)
          .field("lastIndex", s.last_index)
          .field("appliedIndex", s.applied_index)
          .field("committedOffset", s.committed_offset)
          .field("maxOffset", s.max_offset)
          .end_object();
    }
    j.end_array().end_object();
    return c.done();
  }
  Table t({"#Broker Addr", "#Self", "#Role", "#Term", "#Leader", "#Commit Index", "#Last Index",
           "#Committed Offset", "#Max Offset"});
  for (const auto& [addr, s] : all) {
    t.add_row({addr, s.self_id, s.role, std::to_string(s.term),
               s.leader_id.empty() ? "-" : s.leader_id, std::to_string(s.commit_index),
               std::to_string(s.last_index), std::to_string(s.committed_offset),
               std::to_string(s.max_offset)});
  }
  t.print(c.out);
  // The leader's view of each member's replication.
  for (const auto& [addr, s] : all) {
    if (s.role != "LEADER") continue;
    Table m({"#Member", "#Address", "#Match Index", "#Behind"});
    for (const auto& mem : s.members) {
      if (!mem) continue;
      m.add_row({mem->self_id + (mem->is_self ? " (leader)" : ""), mem->address,
                 std::to_string(mem->match_index),
                 std::to_string(std::max<int64_t>(0, s.last_index - mem->match_index))});
    }
    c.out << "\n";
    m.print(c.out);
  }
  return c.done();
}

int transfer_leader(Context& c) {
  const std::string name = c.args.get("brokerName");
  const std::string target = c.args.get("targetId");
  Status error;
  auto all = dledger_statuses(c, name, &error);
  if (!error.is_ok()) return c.fail("transferLeader", error);
  std::string leader_addr;
  for (const auto& [addr, s] : all) {
    if (s.role == "LEADER") leader_addr = addr;
  }
  if (leader_addr.empty()) {
    return c.fail("transferLeader", "no member of " + name + " leads right now");
  }
  auto r = c.client.transfer_leader(leader_addr, target);
  if (!r.is_ok()) return c.fail("transfer from " + leader_addr, r.status());
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("from", leader_addr).field("result", *r).end_object();
  } else {
    c.out << leader_addr << ": " << *r << "\n";
  }
  return c.done();
}

// --- sendMessage ---------------------------------------------------------------------------

int send_message(Context& c) {
  const std::string topic = c.args.get("topic");
  if (!record::valid_topic_name(topic)) {
    return c.usage_error("illegal topic name '" + topic + "': 1-127 characters of [A-Za-z0-9_%|-]");
  }
  OutgoingMessage msg;
  msg.topic = topic;
  msg.body = c.args.get("body");
  msg.keys = c.args.get("keys");
  msg.tags = c.args.get("tags");
  if (msg.body.empty()) return c.usage_error("the message body (-p) is empty");
  const int64_t queue = c.args.get_int("qid", -1);
  if (c.args.has("qid") && queue < 0) return c.usage_error("-i takes a queue id >= 0");

  auto route = c.client.route(topic);
  if (!route.is_ok()) return c.fail(topic_what(topic), route.status());
  const protocol::QueueDataT* chosen = nullptr;
  const std::string want = c.args.get("brokerName");
  std::vector<std::string> names;
  for (const auto* qd : sorted_queue_datas(*route)) {
    names.push_back(qd->broker_name);
    if (chosen) continue;
    if (!want.empty()) {
      if (qd->broker_name == want) chosen = qd;
      continue;
    }
    const auto* bd = find_broker(*route, qd->broker_name);
    if ((qd->perm & kPermWrite) != 0 && bd && !master_addr(*bd).empty()) chosen = qd;
  }
  if (!chosen) {
    return c.fail(
        topic_what(topic),
        want.empty()
            ? "no broker of the route takes writes (brokers: " + join(names, ", ") + ")"
            : "broker " + want + " is not in the route (brokers: " + join(names, ", ") + ")");
  }
  const auto* bd = find_broker(*route, chosen->broker_name);
  const std::string addr = bd ? master_addr(*bd) : std::string();
  if (addr.empty()) {
    return c.fail(topic_what(topic), "broker " + chosen->broker_name + " has no master");
  }
  if (queue >= chosen->write_queue_nums) {
    return c.fail(topic_what(topic), "queue " + std::to_string(queue) + " out of range: broker " +
                                         chosen->broker_name + " has " +
                                         std::to_string(chosen->write_queue_nums) +
                                         " write queues");
  }
  auto sent = c.client.send(addr, msg, static_cast<int32_t>(queue));
  if (!sent.is_ok()) {
    return c.fail(topic_what(topic) + " on broker " + chosen->broker_name + " (" + addr + ")",
                  sent.status());
  }
  const auto& r = sent->response;
  if (sent->send_status != "SEND_OK") {
    c.report(topic_what(topic) + " on broker " + chosen->broker_name,
             "send status " + sent->send_status + ": stored on the master, not yet durable");
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object()
        .field("brokerName", chosen->broker_name)
        .field("addr", addr)
        .field("queueId", r.queue_id)
        .field("queueOffset", r.queue_offset)
        .field("physicalOffset", r.physical_offset)
        .field("msgId", r.msg_id)
        .field("sendStatus", sent->send_status)
        .end_object();
    return c.done();
  }
  Table t({"#Broker Name", "#QID", "#Queue Offset", "#MsgId", "#Send Result"});
  t.add_row({chosen->broker_name, std::to_string(r.queue_id), std::to_string(r.queue_offset),
             r.msg_id, sent->send_status});
  t.print(c.out);
  return c.done();
}

// --- consumeMessage ------------------------------------------------------------------------

std::set<std::string, std::less<>> parse_tags(std::string_view expr) {
  std::set<std::string, std::less<>> out;
  for (std::string_view tag : split_tag_expression(expr))
    out.emplace(tag);
  return out;
}

struct ConsumedRow {
  std::string broker_name;
  int32_t queue_id;
  uint64_t queue_offset;
  uint64_t physical_offset;
  std::string msg_id;
  std::string tags;
  std::string keys;
  int64_t born_ms;
  int64_t store_ms;
  uint32_t reconsume_times;
  std::string body;
};

struct CorruptRow {
  std::string broker_name;
  int32_t queue_id;
  int64_t pull_offset;
  size_t good_before;
  std::string reason;
};

int consume_message(Context& c) {
  const std::string topic = c.args.get("topic");
  const int64_t count = c.args.get_int("count", 32);
  if (count < 1) return c.usage_error("-c takes a count >= 1");
  const bool has_offset = c.args.has("offset");
  const int64_t start = c.args.get_int("offset", 0);
  if (start < 0) return c.usage_error("-o takes an offset >= 0");
  const int64_t wait_ms = c.args.get_int("wait-ms", 0);
  if (wait_ms < 0) return c.usage_error("--wait-ms takes a duration >= 0");
  const bool has_qid = c.args.has("qid");
  const int64_t qid = c.args.get_int("qid", 0);
  if (qid < 0) return c.usage_error("-i takes a queue id >= 0");
  const std::string want = c.args.get("brokerName");
  const std::string expression = c.args.get("subExpression", "*");
  const auto tags = parse_tags(expression);

  auto route = c.client.route(topic);
  if (!route.is_ok()) return c.fail(topic_what(topic), route.status());
  std::vector<RouteQueue> queues;
  std::vector<std::string> names;
  for (const auto* qd : sorted_queue_datas(*route)) {
    names.push_back(qd->broker_name);
    if (!want.empty() && qd->broker_name != want) continue;
    if (!(qd->perm & kPermRead)) continue;
    const auto* bd = find_broker(*route, qd->broker_name);
    const std::string addr = bd ? read_addr(*bd) : std::string();
    if (addr.empty()) continue;
    for (int32_t q = 0; q < qd->read_queue_nums; ++q) {
      if (!has_qid || q == qid) queues.push_back({qd->broker_name, addr, q});
    }
  }
  if (!want.empty() && std::find(names.begin(), names.end(), want) == names.end()) {
    return c.fail(topic_what(topic),
                  "broker " + want + " is not in the route (brokers: " + join(names, ", ") + ")");
  }
  if (queues.empty()) {
    return c.fail(topic_what(topic),
                  "no readable queue matches" +
                      (has_qid ? " queue id " + std::to_string(qid) : std::string()) +
                      (want.empty() ? std::string() : " on broker " + want));
  }

  std::vector<ConsumedRow> rows;
  std::vector<CorruptRow> corrupt;
  int64_t remaining = count;
  for (const auto& q : queues) {
    if (remaining == 0) break;
    const std::string where =
        topic_what(topic) + " broker " + q.broker_name + " queue " + std::to_string(q.queue_id);
    int64_t offset = start;
    if (!has_offset) {
      auto min = c.client.min_offset(q.addr, topic, q.queue_id);
      if (!min.is_ok()) {
        c.report(where, min.status());
        continue;
      }
      offset = *min;
    }
    while (remaining > 0) {
      protocol::PullMessageRequestT req;
      req.consumer_group = kToolGroup;
      req.topic = topic;
      req.queue_id = q.queue_id;
      req.queue_offset = offset;
      req.max_msg_nums = static_cast<int32_t>(std::min<int64_t>(remaining, kPullBatch));
      req.suspend_timeout_millis = wait_ms;
      req.commit_offset = -1;
      req.subscription = expression;
      auto pulled = c.client.pull(q.addr, req);
      if (!pulled.is_ok()) {
        c.report(where + " offset " + std::to_string(offset), pulled.status());
        break;
      }
      const int64_t next = pulled->response.next_begin_offset;
      if (pulled->code == ResponseCode::PULL_NOT_FOUND) break;
      if (pulled->code == ResponseCode::PULL_OFFSET_MOVED) {
        c.err << "consumeMessage: warning: " << where << ": offset " << offset << " is outside ["
              << pulled->response.min_offset << ", " << pulled->response.max_offset << "]"
              << (next > offset ? "; continuing at " + std::to_string(next) : std::string())
              << '\n';
        if (next <= offset) break;
        offset = next;
        continue;
      }
      if (pulled->code == ResponseCode::SUCCESS) {
        auto decoded = decode_records(pulled->body);
        for (const auto& m : decoded.messages) {
          if (remaining == 0) break;
          if (!tags.empty() && !tags.contains(m.tags)) continue;
          const auto& r = m.record;
          rows.push_back({q.broker_name, q.queue_id, r.queue_offset, r.physical_offset,
                          msg_id(r.store_host, r.physical_offset), std::string(m.tags),
                          std::string(m.keys), r.born_timestamp_ms, r.store_timestamp_ms,
                          r.reconsume_times, std::string(r.body)});
          --remaining;
        }
        if (decoded.corruption) {
          corrupt.push_back(
              {q.broker_name, q.queue_id, offset, decoded.messages.size(), *decoded.corruption});
          c.report(where, "corrupt record in the pull from offset " + std::to_string(offset) +
                              " (after " + std::to_string(decoded.messages.size()) +
                              " good record(s), byte " + std::to_string(decoded.corrupt_at) +
                              " of the response): " + *decoded.corruption);
        }
      }
      // SUCCESS or PULL_RETRY_IMMEDIATELY (everything in the window was filtered out).
      if (next <= offset) break;
      offset = next;
    }
  }

  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("topic", topic).field("count", rows.size()).key("messages");
    j.begin_array();
    for (const auto& r : rows) {
      j.begin_object()
          .field("brokerName", r.broker_name)
          .field("queueId", r.queue_id)
          .field("queueOffset", r.queue_offset)
          .field("physicalOffset", r.physical_offset)
          .field("msgId", r.msg_id)
          .field("tags", r.tags)
          .field("keys", r.keys)
          .field("bornTimestamp", r.born_ms)
          .field("storeTimestamp", r.store_ms)
          .field("reconsumeTimes", r.reconsume_times)
          .field("bodyLength", r.body.size())
          .field("body", r.body)
          .end_object();
    }
    j.end_array().key("corruptRecords").begin_array();
    for (const auto& x : corrupt) {
      j.begin_object()
          .field("brokerName", x.broker_name)
          .field("queueId", x.queue_id)
          .field("pullOffset", x.pull_offset)
          .field("goodRecordsBefore", x.good_before)
          .field("reason", x.reason)
          .end_object();
    }
    j.end_array().end_object();
    return c.done();
  }
  Table t(
      {"#Broker Name", "#QID", "#Offset", "#Tags", "#Keys", "#Born Time", "#Store Time", "#Body"});
  for (const auto& r : rows) {
    t.add_row({r.broker_name, std::to_string(r.queue_id), std::to_string(r.queue_offset),
               r.tags.empty() ? "-" : printable(r.tags, 64),
               r.keys.empty() ? "-" : printable(r.keys, 64), format_time(r.born_ms),
               format_time(r.store_ms), printable(r.body, kBodyDisplayChars)});
  }
  t.print(c.out);
  c.out << "\nConsumed " << rows.size() << " message(s) from " << queues.size() << " queue(s)";
  if (!corrupt.empty()) c.out << "; " << corrupt.size() << " corrupt record(s)";
  c.out << '\n';
  return c.done();
}

// --- updateConsumerOffset ------------------------------------------------------------------

int update_consumer_offset(Context& c) {
  const std::string group = c.args.get("groupName");
  const std::string topic = c.args.get("topic");
  const std::string broker = c.args.get("brokerName");
  const int64_t qid = c.args.get_int("qid", 0);
  const int64_t offset = c.args.get_int("offset", 0);
  if (qid < 0) return c.usage_error("-i takes a queue id >= 0");
  if (offset < 0) return c.usage_error("-o takes an offset >= 0");
  auto route = c.client.route(topic);
  if (!route.is_ok()) return c.fail(topic_what(topic), route.status());
  const auto* bd = find_broker(*route, broker);
  const std::string addr = bd ? master_addr(*bd) : std::string();
  if (addr.empty()) {
    return c.fail(topic_what(topic), "broker " + broker + " has no master in the route");
  }
  Status s = c.client.update_consumer_offset(addr, group, topic, static_cast<int32_t>(qid), offset);
  if (!s.is_ok()) return c.fail("group " + group + " " + topic_what(topic) + " on " + addr, s);
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object()
        .field("group", group)
        .field("topic", topic)
        .field("brokerName", broker)
        .field("queueId", qid)
        .field("offset", offset)
        .end_object();
    return c.done();
  }
  Table t({"#Group", "#Topic", "#Broker Name", "#QID", "#Offset"});
  t.add_row({group, topic, broker, std::to_string(qid), std::to_string(offset)});
  t.print(c.out);
  return c.done();
}

// --- the command table ---------------------------------------------------------------------

const std::vector<CommandSpec>& commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"clusterList",
       "list the brokers registered with the name server",
       {{"clusterName", 'c', Kind::kString, "<clusterName>", "only this cluster"}},
       cluster_list},
      {"topicRoute",
       "show the route of a topic: queue datas and broker datas",
       {{"topic", 't', Kind::kString, "<topic>", "topic name", true}},
       topic_route},
      {"updateTopic",
       "create or update a topic on one broker (-b) or on every master of a cluster (-c)",
       {{"topic", 't', Kind::kString, "<topic>", "topic name", true},
        {"clusterName", 'c', Kind::kString, "<clusterName>", "every master of this cluster"},
        {"brokerAddr", 'b', Kind::kString, "<host:port>", "this broker"},
        {"readQueueNums", 'r', Kind::kInt, "<n>", "read queues (default 8)"},
        {"writeQueueNums", 'w', Kind::kInt, "<n>", "write queues (default 8)"},
        {"perm", 'p', Kind::kInt, "<perm>", "2 write, 4 read, 6 both (default 6)"},
        {"order", 'o', Kind::kString, "<true|false>", "ordered topic (default false)"}},
       update_topic},
      {"deleteTopic",
       "delete a topic from every master of a cluster",
       {{"topic", 't', Kind::kString, "<topic>", "topic name", true},
        {"clusterName", 'c', Kind::kString, "<clusterName>", "cluster", true}},
       delete_topic},
      {"topicList",
       "list the topics of every master (of one cluster with -c)",
       {{"clusterName", 'c', Kind::kString, "<clusterName>", "only this cluster"}},
       topic_list},
      {"topicStatus",
       "min and max offset of every queue of a topic",
       {{"topic", 't', Kind::kString, "<topic>", "topic name", true}},
       topic_status},
      {"consumerProgress",
       "per-queue offsets and lag of a consumer group on a topic, and its online clients",
       {{"groupName", 'g', Kind::kString, "<group>", "consumer group", true},
        {"topic", 't', Kind::kString, "<topic>", "topic name", true}},
       consumer_progress},
      {"brokerStatus",
       "runtime information of one broker (-b) or of every broker of a cluster (-c)",
       {{"brokerAddr", 'b', Kind::kString, "<host:port>", "this broker"},
        {"clusterName", 'c', Kind::kString, "<clusterName>", "every broker of this cluster"}},
       broker_status},
      {"haStatus",
       "replication of a broker group: role, epoch and log end of each broker, each slave's acked "
       "offset and lag",
       {{"brokerName", 'b', Kind::kString, "<brokerName>", "broker group", true}},
       ha_status},
      {"dledgerStatus",
       "a DLedger group: each member's role, term, commit and last index, and the leader's view "
       "of every member",
       {{"brokerName", 'b', Kind::kString, "<brokerName>", "broker group", true}},
       dledger_status},
      {"transferLeader",
       "failover drill: the DLedger leader hands leadership to another member",
       {{"brokerName", 'b', Kind::kString, "<brokerName>", "broker group", true},
        {"targetId", 't', Kind::kString, "<selfId>", "the member to lead (n1, ...)", true}},
       transfer_leader},
      {"promoteSlave",
       "failover drill: make a slave the master of its group under a new epoch",
       {{"brokerName", 'b', Kind::kString, "<brokerName>", "broker group", true},
        {"brokerId", 'i', Kind::kInt, "<id>", "the slave's brokerId", true},
        {"role", '\0', Kind::kString, "<role>",
         "ASYNC_MASTER or SYNC_MASTER (default: what its master was)"}},
       promote_slave},
      {"sendMessage",
       "send one message",
       {{"topic", 't', Kind::kString, "<topic>", "topic name", true},
        {"body", 'p', Kind::kString, "<body>", "message body", true},
        {"keys", 'k', Kind::kString, "<keys>", "message keys"},
        {"tags", 'c', Kind::kString, "<tags>", "message tag"},
        {"brokerName", 'b', Kind::kString, "<brokerName>",
         "send to this broker (default: the first writable one of the route)"},
        {"qid", 'i', Kind::kInt, "<queueId>", "send to this queue (default: the broker picks)"}},
       send_message},
      {"consumeMessage",
       "read messages from a topic (every readable queue unless -b / -i)",
       {{"topic", 't', Kind::kString, "<topic>", "topic name", true},
        {"brokerName", 'b', Kind::kString, "<brokerName>", "only this broker"},
        {"qid", 'i', Kind::kInt, "<queueId>", "only this queue id"},
        {"offset", 'o', Kind::kInt, "<offset>", "start offset (default: each queue's min)"},
        {"count", 'c', Kind::kInt, "<n>", "messages to read in total (default 32)"},
        {"subExpression", 's', Kind::kString, "<expr>", "tag filter, 'TagA || TagB' (default *)"},
        {"wait-ms", '\0', Kind::kInt, "<ms>",
         "long-poll a queue that has no more messages for up to this long (default 0)"}},
       consume_message},
      {"updateConsumerOffset",
       "set a consumer group's committed offset of one queue",
       {{"groupName", 'g', Kind::kString, "<group>", "consumer group", true},
        {"topic", 't', Kind::kString, "<topic>", "topic name", true},
        {"brokerName", 'b', Kind::kString, "<brokerName>", "broker", true},
        {"qid", 'i', Kind::kInt, "<queueId>", "queue id", true},
        {"offset", 'o', Kind::kInt, "<offset>", "offset to commit", true}},
       update_consumer_offset},
  };
  return kCommands;
}

const CommandSpec* find_command(std::string_view name) {
  for (const auto& c : commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

void describe_options(std::ostream& o, const std::vector<OptionSpec>& options) {
  std::vector<std::pair<std::string, std::string>> lines;
  size_t width = 0;
  for (const auto& opt : options) {
    std::string left = "  ";
    left += opt.letter ? std::string("-") + opt.letter + ", " : std::string("    ");
    left += "--" + std::string(opt.name);
    if (!opt.placeholder.empty()) left += " " + std::string(opt.placeholder);
    width = std::max(width, left.size());
    lines.emplace_back(std::move(left),
                       std::string(opt.help) + (opt.required ? " (required)" : ""));
  }
  for (const auto& [l, r] : lines)
    o << l << std::string(width - l.size() + 2, ' ') << r << '\n';
}

const OptionSpec* find_option(const CommandSpec& spec, std::string_view name, char letter) {
  for (const auto* list : {&spec.options, &common_options()}) {
    for (const auto& o : *list) {
      if (letter ? o.letter == letter : o.name == name) return &o;
    }
  }
  return nullptr;
}

struct Parsed {
  Args args;
  std::string error;
};

Parsed parse_options(const CommandSpec& spec, const std::vector<std::string>& argv) {
  Parsed p;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& tok = argv[i];
    const OptionSpec* opt = nullptr;
    std::optional<std::string> inline_value;
    if (tok.size() > 2 && tok.starts_with("--")) {
      std::string name = tok.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
      opt = find_option(spec, name, '\0');
    } else if (tok.size() >= 2 && tok[0] == '-') {
      opt = find_option(spec, {}, tok[1]);
      if (opt && tok.size() > 2) inline_value = tok.substr(2);
    } else {
      p.error = "unexpected argument '" + tok + "'";
      return p;
    }
    if (!opt) {
      p.error = "unknown option '" + tok + "'";
      return p;
    }
    if (opt->kind == Kind::kFlag) {
      if (inline_value) {
        p.error = "option --" + std::string(opt->name) + " takes no value";
        return p;
      }
      p.args.set(opt->name, "true");
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < argv.size()) {
      value = argv[++i];
    } else {
      p.error = "option '" + tok + "' needs a value " + std::string(opt->placeholder);
      return p;
    }
    if (opt->kind == Kind::kInt) {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) {
        p.error = "option '" + tok + "' takes an integer, got '" + value + "'";
        return p;
      }
    }
    p.args.set(opt->name, std::move(value));
  }
  if (p.args.has("help")) return p;
  for (const auto& opt : spec.options) {
    if (opt.required && !p.args.has(opt.name)) {
      p.error = "missing required option " +
                (opt.letter ? std::string("-") + opt.letter + " " : std::string()) + "(--" +
                std::string(opt.name) + " " + std::string(opt.placeholder) + ")";
      return p;
    }
  }
  return p;
}

}  // namespace

std::string default_namesrv_addr() {
  const char* env = std::getenv("COMET_NAMESRV_ADDR");
  return env && *env ? std::string(env) : std::string(kDefaultNamesrvAddr);
}

std::string usage() {
  std::ostringstream o;
  o << "usage: comet-admin <command> [options]\n\ncommands:\n";
  size_t width = 4;
  for (const auto& c : commands())
    width = std::max(width, c.name.size());
  for (const auto& c : commands())
    o << "  " << c.name << std::string(width - c.name.size() + 2, ' ') << c.summary << '\n';
  o << "  help" << std::string(width - 4 + 2, ' ') << "this text, or 'help <command>'\n";
  o << "\ncommon options:\n";
  describe_options(o, common_options());
  return o.str();
}

std::string command_usage(std::string_view command) {
  const CommandSpec* spec = find_command(command);
  if (!spec) return {};
  std::ostringstream o;
  o << "usage: comet-admin " << spec->name;
  for (const auto& opt : spec->options) {
    // Built by appending: "--" + std::string(...) trips GCC 12's -Wrestrict false positive.
    std::string form = opt.letter ? std::string(1, '-') + opt.letter : std::string("--");
    if (!opt.letter) form.append(opt.name);
    form.append(" ").append(opt.placeholder);
    if (opt.required) {
      o << ' ' << form;
    } else {
      o << " [" << form << ']';
    }
  }
  o << " [-n <addr>] [--json] [--timeout-ms <ms>]\n" << spec->summary << "\n\noptions:\n";
  std::vector<OptionSpec> all = spec->options;
  all.insert(all.end(), common_options().begin(), common_options().end());
  describe_options(o, all);
  return o.str();
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const std::string& default_namesrv) {
  if (args.empty()) {
    err << usage();
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (name == "help" || name == "-h" || name == "--help") {
    if (args.size() < 2) {
      out << usage();
      return kExitOk;
    }
    if (!find_command(args[1])) {
      err << "comet-admin: unknown command '" << args[1] << "'\n\n" << usage();
      return kExitUsage;
    }
    out << command_usage(args[1]);
    return kExitOk;
  }
  const CommandSpec* spec = find_command(name);
  if (!spec) {
    err << "comet-admin: unknown command '" << name << "'\n\n" << usage();
    return kExitUsage;
  }
  Parsed parsed = parse_options(*spec, args);
  if (!parsed.error.empty()) {
    err << "comet-admin " << spec->name << ": " << parsed.error << "\n\n"
        << command_usage(spec->name);
    return kExitUsage;
  }
  if (parsed.args.has("help")) {
    out << command_usage(spec->name);
    return kExitOk;
  }
  const int64_t timeout_ms = parsed.args.get_int("timeout-ms", 5000);
  if (timeout_ms <= 0) {
    err << "comet-admin " << spec->name << ": --timeout-ms must be > 0\n\n"
        << command_usage(spec->name);
    return kExitUsage;
  }
  auto namesrv = split_namesrv_addrs(parsed.args.get("namesrvAddr", default_namesrv));
  if (namesrv.empty()) {
    err << "comet-admin " << spec->name << ": -n names no address\n\n" << command_usage(spec->name);
    return kExitUsage;
  }
  AdminClient client(std::move(namesrv), std::chrono::milliseconds(timeout_ms));
  Context ctx{*spec, parsed.args, client, out, err, parsed.args.has("json")};
  return spec->handler(ctx);
}

}  // namespace comet::admin
