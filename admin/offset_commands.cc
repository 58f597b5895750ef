// comet-admin consumerProgress and updateConsumerOffset: a consumer group's committed offsets.
#include "admin/handlers.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <optional>
#include "admin/cluster_view.h"
#include "admin/table.h"

namespace comet::admin {

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

}  // namespace comet::admin
