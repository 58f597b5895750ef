// comet-admin haStatus, promoteSlave (master/slave groups), dledgerStatus and transferLeader
// (DLedger groups): the failover drills and what replication looks like.
#include "admin/handlers.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "admin/cluster_view.h"
#include "admin/table.h"

namespace comet::admin {
namespace {

std::string epochs_text(const protocol::HaStatusT& s) {
  std::string out;
  for (const auto& e : s.epochs) {
    if (!e) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(e->epoch) + "@" + std::to_string(e->start_offset);
  }
  return out.empty() ? "-" : out;
}

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

}  // namespace

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

}  // namespace comet::admin
