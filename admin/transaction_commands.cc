// comet-admin transactionList: the open transactions of the masters (GET_OPEN_TRANSACTIONS), the
// half messages that no END_TRANSACTION settled yet, with their age and how often the broker
// checked them (broker/transaction_service.h).
#include "admin/handlers.h"

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "admin/cluster_view.h"
#include "admin/table.h"

namespace comet::admin {
namespace {

constexpr int64_t kDefaultOpenTransactionLimit = 100;
constexpr int64_t kMaxOpenTransactionLimit = 100000;

struct BrokerTransactions {
  BrokerRef broker;
  protocol::OpenTransactionListT list;
};

// "12.3s", "4m05s", "2h13m": long enough to read at a glance.
std::string format_age(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  const int64_t s = ms / 1000;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::string broker_label(const BrokerRef& b) {
  return b.broker_name.empty() ? b.addr : b.broker_name;
}

Result<std::vector<BrokerRef>> transaction_targets(Context& c) {
  if (c.args.has("brokerAddr")) return std::vector<BrokerRef>{{"", "", c.args.get("brokerAddr")}};
  return masters(c, c.args.get("clusterName"));
}

void print_json(Context& c, const std::vector<BrokerTransactions>& found) {
  JsonWriter j(c.out);
  j.begin_object().key("brokers").begin_array();
  for (const auto& [b, list] : found) {
    j.begin_object()
        .field("cluster", b.cluster)
        .field("brokerName", b.broker_name)
        .field("addr", b.addr)
        .field("total", list.total)
        .key("transactions")
        .begin_array();
    for (const auto& t : list.entries) {
      if (!t) continue;
      j.begin_object()
          .field("producerGroup", t->producer_group)
          .field("transactionId", t->transaction_id)
          .field("topic", t->topic)
          .field("queueId", t->queue_id)
          .field("halfOffset", t->half_offset)
          .field("commitLogOffset", t->commit_log_offset)
          .field("ageMs", t->age_ms)
          .field("checkTimes", t->check_times)
          .end_object();
    }
    j.end_array().end_object();
  }
  j.end_array().end_object();
}

void print_table(Context& c, const std::vector<BrokerTransactions>& found) {
  Table t({"#Broker Name", "#Producer Group", "#Transaction Id", "#Topic", "#Queue", "#Half Offset",
           "#Age", "#Checks"});
  for (const auto& [b, list] : found) {
    for (const auto& e : list.entries) {
      if (!e) continue;
      t.add_row({broker_label(b), e->producer_group, e->transaction_id, e->topic,
                 std::to_string(e->queue_id), std::to_string(e->half_offset), format_age(e->age_ms),
                 std::to_string(e->check_times)});
    }
  }
  t.print(c.out);
  for (const auto& [b, list] : found) {
    c.out << fmt::format("{}: {} open transaction(s){}\n", broker_label(b), list.total,
                         static_cast<int64_t>(list.entries.size()) < list.total
                             ? fmt::format(", the oldest {} shown", list.entries.size())
                             : "");
  }
}

}  // namespace

int transaction_list(Context& c) {
  if (c.args.has("clusterName") && c.args.has("brokerAddr")) {
    return c.usage_error("give at most one of -c <clusterName> and -b <brokerAddr>");
  }
  const int64_t limit = c.args.get_int("limit", kDefaultOpenTransactionLimit);
  if (limit < 1 || limit > kMaxOpenTransactionLimit) {
    return c.usage_error(
        fmt::format("limit must be within 1..{}, got {}", kMaxOpenTransactionLimit, limit));
  }
  const std::string group = c.args.get("producerGroup");
  auto targets = transaction_targets(c);
  if (!targets.is_ok()) return c.fail("masters", targets.status());

  std::vector<BrokerTransactions> found;
  for (const auto& b : *targets) {
    auto list = c.client.open_transactions(b.addr, group, static_cast<int32_t>(limit));
    if (!list.is_ok()) {
      c.report("open transactions of broker " + broker_label(b) + " (" + b.addr + ")",
               list.status());
      continue;
    }
    found.push_back({b, std::move(*list)});
  }
  if (c.json) {
    print_json(c, found);
  } else {
    print_table(c, found);
  }
  return c.done();
}

}  // namespace comet::admin
