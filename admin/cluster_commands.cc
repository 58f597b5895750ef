// comet-admin clusterList, topicRoute and brokerStatus: what the name server and the brokers say
// about the cluster.
#include "admin/handlers.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "admin/cluster_view.h"
#include "admin/table.h"
#include "common/clock.h"

namespace comet::admin {
namespace {

void runtime_json(JsonWriter& j, const std::vector<std::pair<std::string, std::string>>& kv) {
  j.begin_object();
  for (const auto& [k, v] : kv)
    j.field(k, v);
  j.end_object();
}

}  // namespace

namespace {

// A broker's InTPS and OutTPS as clusterList shows them: its runtime info's putTps and
// getTransferedTps (messages stored and pulled per second over the last minute).
struct BrokerTps {
  bool known = false;
  double in = 0;
  double out = 0;
};

BrokerTps broker_tps(Context& c, const std::string& addr) {
  auto info = c.client.runtime_info(addr);
  if (!info.is_ok()) return {};
  BrokerTps tps;
  for (const auto& [k, v] : *info) {
    if (k == "putTps") {
      tps.in = std::strtod(v.c_str(), nullptr);
      tps.known = true;
    } else if (k == "getTransferedTps") {
      tps.out = std::strtod(v.c_str(), nullptr);
    }
  }
  return tps;
}

}  // namespace

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
    BrokerTps tps;
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
      const bool is_live = it != live.end();
      rows.push_back(
          {bd, a, is_live ? it->second : nullptr, is_live ? broker_tps(c, a->addr) : BrokerTps{}});
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
      if (r.tps.known) j.field("inTps", r.tps.in).field("outTps", r.tps.out);
      j.end_object();
    }
    j.end_array().end_object();
    return c.done();
  }
  Table t({"#Cluster Name", "#Broker Name", "#BID", "#Addr", "#Epoch", "#MaxOffset", "#InTPS",
           "#OutTPS", "#Last Update"});
  for (const auto& r : rows) {
    t.add_row({r.bd->cluster, r.bd->broker_name, std::to_string(r.ba->broker_id), r.ba->addr,
               r.li ? std::to_string(r.li->epoch) : "-",
               r.li ? std::to_string(r.li->max_offset) : "-",
               r.tps.known ? fmt::format("{:.2f}", r.tps.in) : "-",
               r.tps.known ? fmt::format("{:.2f}", r.tps.out) : "-",
               r.li ? std::to_string(now - r.li->last_update_millis) + " ms ago" : "-"});
  }
  t.print(c.out);
  return c.done();
}

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

}  // namespace comet::admin
