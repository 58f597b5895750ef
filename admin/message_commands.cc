// comet-admin sendMessage and consumeMessage, made with the client library: a Producer sends and
// a PullConsumer reads (route choice, read replicas, pull outcomes and message decoding are the
// client's), on the AdminClient's MQClient.
#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "admin/cluster_view.h"
#include "admin/handlers.h"
#include "admin/table.h"
#include "common/group_topics.h"
#include "common/record_codec.h"
#include "consumer/pull_consumer.h"
#include "producer/producer.h"

namespace comet::admin {
namespace {

constexpr size_t kBodyDisplayChars = 200;

std::vector<std::string> route_broker_names(const protocol::TopicRouteDataT& route) {
  std::vector<std::string> names;
  for (const auto* qd : sorted_queue_datas(route))
    names.push_back(qd->broker_name);
  return names;
}

Status broker_not_in_route(const std::string& broker, const protocol::TopicRouteDataT& route) {
  return Status::not_found("broker " + broker + " is not in the route (brokers: " +
                           join(route_broker_names(route), ", ") + ")");
}

// --- sendMessage ---------------------------------------------------------------------------

// Why no writable queue matches -b / -i.
std::string no_such_queue(const std::vector<client::MessageQueue>& writable,
                          const std::string& broker, std::optional<int64_t> qid) {
  if (broker.empty()) return "no broker has a writable queue " + std::to_string(*qid);
  const auto of_broker = std::count_if(writable.begin(), writable.end(),
                                       [&](const auto& mq) { return mq.broker_name == broker; });
  if (of_broker == 0) return "broker " + broker + " takes no writes (no master, or not writable)";
  return "queue " + std::to_string(*qid) + " out of range: broker " + broker + " has " +
         std::to_string(of_broker) + " write queues";
}

// The queue -b and -i name (any writable queue of broker -b when -i is absent); nullopt when
// neither is given and the producer picks.
Result<std::optional<client::MessageQueue>> requested_queue(client::Producer& producer,
                                                            const protocol::TopicRouteDataT& route,
                                                            const std::string& topic,
                                                            const std::string& broker,
                                                            std::optional<int64_t> qid) {
  if (broker.empty() && !qid) return std::optional<client::MessageQueue>();
  if (!broker.empty() && find_broker(route, broker) == nullptr) {
    return broker_not_in_route(broker, route);
  }
  COMET_ASSIGN_OR_RETURN(auto writable, producer.fetch_publish_queues(topic));
  std::vector<client::MessageQueue> candidates;
  for (const auto& mq : writable) {
    if (!broker.empty() && mq.broker_name != broker) continue;
    if (qid && mq.queue_id != static_cast<uint64_t>(*qid)) continue;
    candidates.push_back(mq);
  }
  if (candidates.empty()) return Status::out_of_range(no_such_queue(writable, broker, qid));
  std::mt19937 pick(std::random_device{}());
  return std::optional(candidates[pick() % candidates.size()]);
}

void print_sent(Context& c, const client::SendResult& r, const std::string& addr) {
  const std::string status(client::send_status_name(r.status));
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object()
        .field("brokerName", r.broker_name)
        .field("addr", addr)
        .field("queueId", r.queue_id)
        .field("queueOffset", r.queue_offset)
        .field("physicalOffset", r.physical_offset)
        .field("msgId", r.msg_id)
        .field("offsetMsgId", r.offset_msg_id)
        .field("sendStatus", status)
        .end_object();
    return;
  }
  Table t({"#Broker Name", "#QID", "#Queue Offset", "#MsgId", "#Send Result", "#OffsetMsgId"});
  t.add_row({r.broker_name, std::to_string(r.queue_id), std::to_string(r.queue_offset), r.msg_id,
             status, r.offset_msg_id});
  t.print(c.out);
}

// --- consumeMessage ------------------------------------------------------------------------

struct CorruptPull {
  std::string broker_name;
  uint32_t queue_id;
  uint64_t pull_offset;      // where the pull that met it began
  uint64_t good_before = 0;  // records read from pull_offset before it
  std::string reason;
};

// Where a queue's read stands. A pull whose body holds a corrupt record fails whole (the client
// checks every CRC); the read then narrows down, one record a pull, so that the records before the
// bad one are still shown and the bad one is named.
struct QueueRead {
  uint64_t offset = 0;
  int narrowing = 0;  // single-record pulls left; 0: whole batches
  uint64_t narrowed_from = 0;
  uint64_t good_since = 0;
};

// Handles a failed pull; false when the queue's read ends.
bool on_pull_failure(Context& c, const client::MessageQueue& mq, const std::string& where,
                     int batch, const Status& s, QueueRead& q, std::vector<CorruptPull>& corrupt) {
  if (s.code() != Code::kCorruption) {
    c.report(where + " offset " + std::to_string(q.offset), s);
    return false;
  }
  if (batch > 1) {
    q.narrowing = batch;
    q.narrowed_from = q.offset;
    q.good_since = 0;
    return true;
  }
  const uint64_t from = q.narrowing > 0 ? q.narrowed_from : q.offset;
  corrupt.push_back({mq.broker_name, mq.queue_id, from, q.good_since, s.message()});
  c.report(where, "corrupt record at offset " + std::to_string(q.offset) +
                      " in the pull from offset " + std::to_string(from) + " (after " +
                      std::to_string(q.good_since) + " good record(s)): " + s.message());
  q.narrowing = 0;
  q.good_since = 0;
  ++q.offset;  // the next record
  return true;
}

// Reads queue `mq` from `offset` into `rows`, at most `remaining` messages; what goes wrong is
// reported, a corrupt record also recorded in `corrupt`.
void read_queue(Context& c, client::PullConsumer& consumer, const client::MessageQueue& mq,
                const std::string& expression, uint64_t offset, bool long_poll, int64_t& remaining,
                std::vector<client::MessageExt>& rows, std::vector<CorruptPull>& corrupt) {
  const std::string where =
      topic_what(mq.topic) + " broker " + mq.broker_name + " queue " + std::to_string(mq.queue_id);
  QueueRead q{.offset = offset};
  while (remaining > 0) {
    const int batch =
        q.narrowing > 0 ? 1 : static_cast<int>(std::min<int64_t>(remaining, kPullBatch));
    auto pulled = long_poll ? consumer.pull_block_if_not_found(mq, expression, q.offset, batch)
                            : consumer.pull(mq, expression, q.offset, batch);
    if (!pulled.is_ok()) {
      if (!on_pull_failure(c, mq, where, batch, pulled.status(), q, corrupt)) return;
      continue;
    }
    if (q.narrowing > 0) --q.narrowing;
    const uint64_t next = pulled->next_begin_offset;
    switch (pulled->status) {
      case client::PullStatus::kNoNewMsg:
        return;
      case client::PullStatus::kOffsetIllegal:
        c.err << "consumeMessage: warning: " << where << ": offset " << q.offset << " is outside ["
              << pulled->min_offset << ", " << pulled->max_offset << "]"
              << (next > q.offset ? "; continuing at " + std::to_string(next) : std::string())
              << '\n';
        break;
      case client::PullStatus::kFound:
        q.good_since += pulled->msgs.size();
        for (auto& m : pulled->msgs) {
          if (remaining == 0) break;
          rows.push_back(std::move(m));
          --remaining;
        }
        break;
      case client::PullStatus::kNoMatchedMsg:  // everything in the window was filtered out
        break;
    }
    if (next <= q.offset) return;
    q.offset = next;
  }
}

std::string property_or_dash(const client::MessageExt& m, std::string_view key) {
  auto it = m.properties.find(std::string(key));
  return it == m.properties.end() || it->second.empty() ? "-" : printable(it->second, 64);
}

void print_consumed(Context& c, const std::string& topic,
                    const std::vector<client::MessageExt>& rows,
                    const std::vector<CorruptPull>& corrupt, size_t queue_count) {
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
          .field("bornTimestamp", r.born_timestamp_ms)
          .field("storeTimestamp", r.store_timestamp_ms)
          .field("reconsumeTimes", r.reconsume_times)
          .field("bodyLength", r.body.size())
          .field("body", r.body)
          .key("properties")
          .begin_object();
      for (const auto& [k, v] : r.properties)
        j.field(k, v);
      j.end_object().end_object();
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
    return;
  }
  // A retry topic's or a DLQ's message also shows where it came from and how often it was
  // consumed, and its id (what resendDlq -i takes).
  const bool retried = is_retry_topic(topic) || is_dlq_topic(topic);
  std::vector<std::string> header = {"#Broker Name", "#QID",       "#Offset",    "#Tags",
                                     "#Keys",        "#Born Time", "#Store Time"};
  if (retried) {
    header.insert(header.end(), {"#MsgId", "#Retry Topic", "#Reconsume Times", "#Origin MsgId"});
  }
  header.push_back("#Body");
  Table t(header);
  for (const auto& r : rows) {
    std::vector<std::string> row = {r.broker_name,
                                    std::to_string(r.queue_id),
                                    std::to_string(r.queue_offset),
                                    r.tags.empty() ? "-" : printable(r.tags, 64),
                                    r.keys.empty() ? "-" : printable(r.keys, 64),
                                    format_time(r.born_timestamp_ms),
                                    format_time(r.store_timestamp_ms)};
    if (retried) {
      row.insert(row.end(), {r.msg_id, property_or_dash(r, kPropertyRetryTopic),
                             std::to_string(r.reconsume_times),
                             property_or_dash(r, kPropertyOriginMessageId)});
    }
    row.push_back(printable(r.body, kBodyDisplayChars));
    t.add_row(row);
  }
  t.print(c.out);
  c.out << "\nConsumed " << rows.size() << " message(s) from " << queue_count << " queue(s)";
  if (!corrupt.empty()) c.out << "; " << corrupt.size() << " corrupt record(s)";
  c.out << '\n';
}

}  // namespace

int send_message(Context& c) {
  const std::string topic = c.args.get("topic");
  if (!record::valid_topic_name(topic)) {
    return c.usage_error("illegal topic name '" + topic + "': 1-127 characters of [A-Za-z0-9_%|-]");
  }
  client::ProducerMessage msg;
  msg.topic = topic;
  msg.body = c.args.get("body");
  msg.tags = c.args.get("tags");
  msg.keys = c.args.get("keys");
  if (msg.body.empty()) return c.usage_error("the message body (-p) is empty");
  std::optional<int64_t> qid;
  if (c.args.has("qid")) qid = c.args.get_int("qid", -1);
  if (qid && *qid < 0) return c.usage_error("-i takes a queue id >= 0");

  // The name server's own answer first: its failure is the tool's to word, and -b is checked
  // against it.
  auto route = c.client.route(topic);
  if (!route.is_ok()) return c.fail(topic_what(topic), route.status());
  client::Producer producer(std::string(kToolGroup), c.client.client_config());
  producer.set_send_msg_timeout(c.client.timeout());
  if (Status s = producer.start(); !s.is_ok()) return c.fail("producer", s);
  auto mq = requested_queue(producer, *route, topic, c.args.get("brokerName"), qid);
  if (!mq.is_ok()) return c.fail(topic_what(topic), mq.status());
  auto sent = *mq ? producer.send(msg, **mq) : producer.send(msg);
  if (!sent.is_ok()) return c.fail(topic_what(topic), sent.status());
  if (sent->status != client::SendStatus::kSendOk) {
    c.report(topic_what(topic) + " on broker " + sent->broker_name,
             "send status " + std::string(client::send_status_name(sent->status)) +
                 ": stored on the master, not yet durable");
  }
  const auto addr = producer.client()->find_broker_addr(sent->broker_name);
  print_sent(c, *sent, addr.value_or(""));
  return c.done();
}

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

  auto route = c.client.route(topic);
  if (!route.is_ok()) return c.fail(topic_what(topic), route.status());
  if (!want.empty() && find_broker(*route, want) == nullptr) {
    return c.fail(topic_what(topic), broker_not_in_route(want, *route));
  }
  client::PullConsumer consumer(std::string(kToolGroup), c.client.client_config());
  const std::chrono::milliseconds wait(wait_ms);
  consumer.set_consumer_pull_timeout(c.client.timeout());
  consumer.set_broker_suspend_max_time(wait);
  // The broker holds a pull up to `wait`; the answer then has the tool's timeout to come back.
  consumer.set_pull_timeout_when_suspend(wait + c.client.timeout());
  if (Status s = consumer.start(); !s.is_ok()) return c.fail("consumer", s);
  auto readable = consumer.fetch_subscribe_message_queues(topic);
  if (!readable.is_ok()) return c.fail(topic_what(topic), readable.status());
  std::vector<client::MessageQueue> queues;
  for (auto& mq : *readable) {
    if (!want.empty() && mq.broker_name != want) continue;
    if (has_qid && mq.queue_id != static_cast<uint64_t>(qid)) continue;
    queues.push_back(std::move(mq));
  }
  if (queues.empty()) {
    return c.fail(topic_what(topic),
                  "no readable queue matches" +
                      (has_qid ? " queue id " + std::to_string(qid) : std::string()) +
                      (want.empty() ? std::string() : " on broker " + want));
  }

  std::vector<client::MessageExt> rows;
  std::vector<CorruptPull> corrupt;
  int64_t remaining = count;
  for (const auto& mq : queues) {
    if (remaining == 0) break;
    uint64_t offset = static_cast<uint64_t>(start);
    if (!has_offset) {
      auto min = consumer.min_offset(mq);
      if (!min.is_ok()) {
        c.report(topic_what(topic) + " broker " + mq.broker_name + " queue " +
                     std::to_string(mq.queue_id),
                 min.status());
        continue;
      }
      offset = *min;
    }
    read_queue(c, consumer, mq, expression, offset, wait_ms > 0, remaining, rows, corrupt);
  }
  print_consumed(c, topic, rows, corrupt, queues.size());
  return c.done();
}

}  // namespace comet::admin
