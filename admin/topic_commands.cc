// comet-admin updateTopic, deleteTopic, topicList and topicStatus.
#include "admin/handlers.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "admin/cluster_view.h"
#include "admin/table.h"
#include "common/record_codec.h"

namespace comet::admin {
namespace {

constexpr int64_t kMaxQueueNums = 1024;

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

}  // namespace

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

}  // namespace comet::admin
