// comet-admin consumerProgress and updateConsumerOffset: a consumer group's committed offsets,
// its retry topic's and its dead-letter queue's depth.
#include "admin/handlers.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "admin/cluster_view.h"
#include "admin/table.h"
#include "common/group_topics.h"

namespace comet::admin {

namespace {

// One queue of consumerProgress: the broker's max offset, what the group committed and the lag.
struct ProgressRow {
  std::string topic;
  RouteQueue q;
  int64_t broker_offset;
  std::optional<int64_t> consumer_offset;
  int64_t diff;
};

// Appends the rows of `topic`'s queues. A topic the name server does not know is an error, unless
// `missing_ok` (the group's retry topic and DLQ exist only once a message went there).
void add_topic_rows(Context& c, const std::string& group, const std::string& topic, bool missing_ok,
                    std::vector<ProgressRow>& rows) {
  auto route = c.client.route(topic);
  if (!route.is_ok()) {
    if (missing_ok && route.status().code() == Code::kNotFound) return;
    c.report(topic_what(topic), route.status());
    return;
  }
  std::set<std::string> broken;
  for (const auto& q : route_queues(c, *route)) {
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
    rows.push_back({topic, q, *max, *committed, diff});
  }
}

// The topics `group` has committed offsets for on any master (RocketMQ's consumerProgress without
// -t: every topic the group consumes), its own retry topic and DLQ left out.
std::vector<std::string> consumed_topics(Context& c, const std::string& group) {
  std::set<std::string> topics;
  auto brokers = masters(c, "");
  if (!brokers.is_ok()) {
    c.report("the cluster", brokers.status());
    return {};
  }
  for (const auto& b : *brokers) {
    auto offsets = c.client.all_consumer_offsets(b.addr);
    if (!offsets.is_ok()) {
      c.report("offsets on broker " + b.broker_name + " (" + b.addr + ")", offsets.status());
      continue;
    }
    for (const auto& e : *offsets) {
      if (e.consumer_group != group || e.topic == retry_topic(group) ||
          e.topic == dlq_topic(group)) {
        continue;
      }
      topics.insert(e.topic);
    }
  }
  return {topics.begin(), topics.end()};
}

// The group's consume TPS: what it pulled per second over the last minute, summed over the
// brokers its queues are on (GET_CONSUME_STATS); nullopt when none answered.
std::optional<double> group_consume_tps(Context& c, const std::string& group,
                                        const std::vector<ProgressRow>& rows) {
  std::set<std::string> addrs;
  for (const auto& r : rows)
    addrs.insert(r.q.addr);
  std::optional<double> total;
  for (const auto& addr : addrs) {
    auto stats = c.client.consume_stats(addr, group, "");
    if (!stats.is_ok()) {
      if (stats.status().code() != Code::kNotFound) {
        c.report("consume stats of group " + group + " on broker " + addr, stats.status());
      }
      continue;
    }
    total = total.value_or(0) + stats->consume_tps;
  }
  return total;
}

int64_t depth_of(const std::vector<ProgressRow>& rows, const std::string& topic) {
  int64_t depth = 0;
  for (const auto& r : rows) {
    if (r.topic == topic) depth += r.diff;
  }
  return depth;
}

void print_progress_json(Context& c, const std::string& group,
                         const std::vector<std::string>& topics,
                         const std::vector<ProgressRow>& rows, std::optional<double> tps,
                         int64_t diff_total, int64_t retry_depth, int64_t dlq_depth,
                         const std::vector<std::string>& clients) {
  JsonWriter j(c.out);
  j.begin_object().field("group", group);
  if (c.args.has("topic")) j.field("topic", c.args.get("topic"));
  j.key("topics").begin_array();
  for (const auto& t : topics)
    j.value(t);
  j.end_array().key("queues").begin_array();
  for (const auto& r : rows) {
    j.begin_object()
        .field("topic", r.topic)
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
  j.end_array().key("consumeTps");
  if (tps) {
    j.value(*tps);
  } else {
    j.null();
  }
  j.field("diffTotal", diff_total);
  j.field("retryTopic", retry_topic(group)).field("retryDepth", retry_depth);
  j.field("dlqTopic", dlq_topic(group)).field("dlqDepth", dlq_depth).key("clients");
  j.begin_array();
  for (const auto& id : clients)
    j.value(id);
  j.end_array().end_object();
}

}  // namespace

// Per queue of each topic the group consumes (-t, or every topic it committed offsets for), then
// of its %RETRY% topic and its %DLQ%: broker offset, committed offset and diff. The DLQ's
// committed offset is resendDlq's position (the group never consumes its DLQ), so its diff is what
// was not yet resent.
int consumer_progress(Context& c) {
  const std::string group = c.args.get("groupName");
  std::vector<std::string> topics;
  if (c.args.has("topic")) {
    topics.push_back(c.args.get("topic"));
  } else {
    topics = consumed_topics(c, group);
  }
  std::vector<ProgressRow> rows;
  for (const auto& topic : topics)
    add_topic_rows(c, group, topic, /*missing_ok=*/false, rows);
  add_topic_rows(c, group, retry_topic(group), /*missing_ok=*/true, rows);
  add_topic_rows(c, group, dlq_topic(group), /*missing_ok=*/true, rows);
  const int64_t dlq_depth = depth_of(rows, dlq_topic(group));
  const int64_t retry_depth = depth_of(rows, retry_topic(group));
  int64_t diff_total = 0;  // what the group has still to consume: its topics and retries
  for (const auto& r : rows)
    diff_total += r.diff;
  diff_total -= dlq_depth;

  std::vector<std::string> clients;
  if (!rows.empty()) {
    auto list = c.client.consumer_list(rows.front().q.addr, group);
    if (list.is_ok()) {
      clients = std::move(*list);
      std::sort(clients.begin(), clients.end());
    } else {
      c.report("clients of group " + group + " on broker " + rows.front().q.addr, list.status());
    }
  }

  const std::optional<double> tps = group_consume_tps(c, group, rows);
  if (c.json) {
    print_progress_json(c, group, topics, rows, tps, diff_total, retry_depth, dlq_depth, clients);
    return c.done();
  }
  Table t({"#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff"});
  for (const auto& r : rows) {
    t.add_row(
        {r.topic, r.q.broker_name, std::to_string(r.q.queue_id), std::to_string(r.broker_offset),
         r.consumer_offset ? std::to_string(*r.consumer_offset) : "-", std::to_string(r.diff)});
  }
  t.print(c.out);
  c.out << "\nConsume TPS: " << (tps ? fmt::format("{:.2f}", *tps) : "n/a")
        << ", Diff Total: " << diff_total << '\n';
  c.out << "Retry depth (" << retry_topic(group) << "): " << retry_depth << '\n';
  c.out << "DLQ depth (" << dlq_topic(group) << ", not yet resent): " << dlq_depth << '\n';
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
