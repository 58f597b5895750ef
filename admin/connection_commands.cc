// comet-admin consumerConnection and producerConnection (mqadmin's names): who is connected to a
// group, as the brokers know it from heartbeats. Every master is asked and the members are
// merged by client id: a consumer heartbeats to every broker of its topics, a producer to the
// masters of the topics it sends to.
#include "admin/handlers.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "admin/cluster_view.h"
#include "admin/table.h"

namespace comet::admin {
namespace {

using Members = std::map<std::string, protocol::ClientConnectionT>;  // by client id

void merge_members(Members& into, std::vector<std::unique_ptr<protocol::ClientConnectionT>>& from) {
  for (auto& m : from) {
    if (m) into.try_emplace(m->client_id, std::move(*m));
  }
}

void members_json(JsonWriter& j, const Members& members) {
  j.key("connections").begin_array();
  for (const auto& [id, m] : members) {
    j.begin_object()
        .field("clientId", id)
        .field("clientAddr", m.client_addr)
        .field("language", m.language)
        .field("version", m.version)
        .field("lastHeartbeatMillis", m.last_heartbeat_ms)
        .end_object();
  }
  j.end_array();
}

void members_table(Context& c, const Members& members) {
  Table t({"#", "#ClientId", "#ClientAddr", "#Language", "#Version"});
  int i = 0;
  for (const auto& [id, m] : members) {
    t.add_row({std::to_string(++i), id, m.client_addr, m.language, std::to_string(m.version)});
  }
  t.print(c.out);
}

// A broker with no member online answers CONSUMER_NOT_ONLINE (kNotFound): not a failure here.
bool not_online(const Status& s) {
  return s.code() == Code::kNotFound;
}

}  // namespace

int consumer_connection(Context& c) {
  const std::string group = c.args.get("groupName");
  auto brokers = masters(c, "");
  if (!brokers.is_ok()) return c.fail("the cluster", brokers.status());
  Members members;
  std::optional<protocol::ConsumerConnectionT> group_info;  // from the first broker that knows it
  for (const auto& b : *brokers) {
    auto conn = c.client.consumer_connection(b.addr, group);
    if (!conn.is_ok()) {
      if (!not_online(conn.status())) {
        c.report("group " + group + " on broker " + b.broker_name + " (" + b.addr + ")",
                 conn.status());
      }
      continue;
    }
    merge_members(members, conn->connections);
    if (!group_info) group_info = std::move(*conn);
  }
  if (members.empty()) {
    if (c.failed) return c.done();
    return c.fail("group " + group, "no consumer of the group is online (CONSUMER_NOT_ONLINE)");
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("group", group);
    members_json(j, members);
    j.key("subscriptions").begin_array();
    for (const auto& s : group_info->subscriptions) {
      if (!s) continue;
      j.begin_object().field("topic", s->topic).field("subExpression", s->expression).end_object();
    }
    j.end_array()
        .field("consumeType", group_info->consume_type)
        .field("messageModel", group_info->message_model)
        .field("consumeFromWhere", group_info->consume_from_where)
        .end_object();
    return c.done();
  }
  members_table(c, members);
  c.out << "\nBelow is subscription:\n";
  Table subs({"#", "#Topic", "#SubExpression"});
  int i = 0;
  for (const auto& s : group_info->subscriptions) {
    if (s) subs.add_row({std::to_string(++i), s->topic, s->expression});
  }
  subs.print(c.out);
  c.out << "\nConsumeType: " << group_info->consume_type << '\n';
  c.out << "MessageModel: " << group_info->message_model << '\n';
  c.out << "ConsumeFromWhere: " << group_info->consume_from_where << '\n';
  return c.done();
}

int producer_connection(Context& c) {
  const std::string group = c.args.get("producerGroup");
  const std::string topic = c.args.get("topic");
  auto route = c.client.route(topic);
  if (!route.is_ok()) return c.fail(topic_what(topic), route.status());
  Members members;
  for (const auto& bd : route->broker_datas) {
    if (!bd) continue;
    const std::string addr = master_addr(*bd);
    if (addr.empty()) continue;
    auto conn = c.client.producer_connection(addr, group);
    if (!conn.is_ok()) {
      if (!not_online(conn.status())) {
        c.report("producer group " + group + " on broker " + bd->broker_name + " (" + addr + ")",
                 conn.status());
      }
      continue;
    }
    merge_members(members, conn->connections);
  }
  if (members.empty()) {
    if (c.failed) return c.done();
    return c.fail("producer group " + group,
                  "no producer of the group is online on the masters of " + topic_what(topic));
  }
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object().field("group", group).field("topic", topic);
    members_json(j, members);
    j.end_object();
    return c.done();
  }
  members_table(c, members);
  return c.done();
}

}  // namespace comet::admin
