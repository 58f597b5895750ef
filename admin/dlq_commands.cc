// comet-admin resendDlq: sends the messages of a consumer group's dead-letter queue back to the
// topics they failed on, as new messages, with the client library: a PullConsumer of the group
// reads %DLQ%<group> and a Producer sends.
//
// The resend position of a DLQ queue is the group's own committed offset on it: a group never
// consumes its DLQ, so the offset is free for this, consumerProgress shows what lies past it as
// the DLQ's depth, and committing it after each successful send makes a second run resend
// nothing twice. A message resent by id (-i) leaves the position alone unless it is the message
// at the position.
#include <algorithm>
#include <optional>
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

// The retry bookkeeping a resent message sheds: it starts over as a new message of its topic.
// UNIQ_KEY goes too (the new message gets its own id); ORIGIN_MESSAGE_ID stays, naming the
// message it first was.
constexpr std::string_view kRetryBookkeeping[] = {
    kPropertyRetryTopic,     kPropertyReconsumeTime, kPropertyMaxReconsumeTimes,
    kPropertyDelayLevel,     kPropertyRealTopic,     kPropertyRealQueueId,
    kPropertyTimerDeliverMs, kPropertyTimerDelaySec, kPropertyTimerOutMs,
    kPropertyUniqKey,        kPropertyTags,          kPropertyKeys};

struct Resent {
  client::MessageExt dead;
  std::string topic;
  client::SendResult sent;
};

struct ResendTally {
  std::vector<Resent> resent;
  int64_t skipped = 0;  // without RETRY_TOPIC
};

// The message to send for DLQ message `dead`: its body, tags, keys and user properties, to the
// topic it failed on.
client::ProducerMessage resend_of(const client::MessageExt& dead, const std::string& topic) {
  client::ProducerMessage msg;
  msg.topic = topic;
  msg.body = dead.body;
  msg.tags = dead.tags;
  msg.keys = dead.keys;
  msg.flags = dead.flags;
  for (const auto& [k, v] : dead.properties) {
    if (std::find(std::begin(kRetryBookkeeping), std::end(kRetryBookkeeping), k) ==
        std::end(kRetryBookkeeping)) {
      msg.properties.emplace(k, v);
    }
  }
  if (!msg.properties.contains(std::string(kPropertyOriginMessageId))) {
    msg.properties.emplace(kPropertyOriginMessageId, dead.msg_id);
  }
  return msg;
}

std::string where_of(const client::MessageExt& m) {
  return topic_what(m.topic) + " broker " + m.broker_name + " queue " + std::to_string(m.queue_id) +
         " offset " + std::to_string(m.queue_offset);
}

// Resends `dead`; false when it could not be sent (reported). A message without RETRY_TOPIC is
// reported on stderr and skipped (true: there is nothing more to do with it).
bool resend_one(Context& c, client::Producer& producer, const client::MessageExt& dead,
                ResendTally& tally) {
  auto retry_topic = dead.properties.find(std::string(kPropertyRetryTopic));
  if (retry_topic == dead.properties.end() || retry_topic->second.empty()) {
    c.err << "resendDlq: warning: " << where_of(dead) << " (msgId " << dead.msg_id << ") has no "
          << kPropertyRetryTopic << " property: skipped\n";
    ++tally.skipped;
    return true;
  }
  auto sent = producer.send(resend_of(dead, retry_topic->second));
  if (!sent.is_ok()) {
    c.report(where_of(dead) + " (msgId " + dead.msg_id + ") to " + topic_what(retry_topic->second),
             sent.status());
    return false;
  }
  tally.resent.push_back({dead, retry_topic->second, *sent});
  return true;
}

struct QueueScan {
  uint64_t from = 0;
  uint64_t end = 0;  // the queue's max offset when the scan began
};

// Calls `each` for every message of `mq` in [scan.from, scan.end), in offset order, until it
// answers false. False when a pull failed (reported).
template <typename Each>
bool scan_queue(Context& c, client::PullConsumer& consumer, const client::MessageQueue& mq,
                QueueScan scan, Each&& each) {
  uint64_t offset = scan.from;
  // Every pull either advances or ends the scan; the bound only guards against a broker that
  // answers "found" with nothing.
  for (uint64_t pulls = 0; offset < scan.end && pulls <= scan.end - scan.from; ++pulls) {
    auto pulled = consumer.pull(mq, "*", offset, kPullBatch);
    if (!pulled.is_ok()) {
      c.report(topic_what(mq.topic) + " broker " + mq.broker_name + " queue " +
                   std::to_string(mq.queue_id) + " offset " + std::to_string(offset),
               pulled.status());
      return false;
    }
    if (pulled->status == client::PullStatus::kNoNewMsg) return true;
    for (const auto& m : pulled->msgs) {
      if (m.queue_offset >= scan.end) return true;
      if (!each(m)) return true;
    }
    if (pulled->next_begin_offset <= offset) return true;
    offset = pulled->next_begin_offset;
  }
  return true;
}

// Every message from the group's resend position to the queue's end, the position committed
// after each one.
void resend_queue(Context& c, client::PullConsumer& consumer, client::Producer& producer,
                  const client::MessageQueue& mq, ResendTally& tally) {
  const std::string where =
      topic_what(mq.topic) + " broker " + mq.broker_name + " queue " + std::to_string(mq.queue_id);
  auto committed = consumer.fetch_consume_offset(mq);
  auto min = consumer.min_offset(mq);
  auto max = consumer.max_offset(mq);
  if (!committed.is_ok()) return c.report(where, committed.status());
  if (!min.is_ok()) return c.report(where, min.status());
  if (!max.is_ok()) return c.report(where, max.status());
  const uint64_t from = std::max(committed->value_or(0), *min);
  scan_queue(c, consumer, mq, {from, *max}, [&](const client::MessageExt& dead) {
    if (!resend_one(c, producer, dead, tally)) return false;
    if (Status s = consumer.update_consume_offset(mq, dead.queue_offset + 1); !s.is_ok()) {
      c.report(where + ": committing the resend position " + std::to_string(dead.queue_offset + 1),
               s);
      return false;
    }
    return true;
  });
}

// The message of id `msg_id` anywhere in the DLQ; false when it was not resent. The resend
// position stays, except when the message is the one at it: then it moves past it, so that the
// next resendDlq does not send it a second time.
bool resend_by_id(Context& c, client::PullConsumer& consumer, client::Producer& producer,
                  const std::vector<client::MessageQueue>& queues, const std::string& msg_id,
                  ResendTally& tally) {
  for (const auto& mq : queues) {
    const std::string where = topic_what(mq.topic) + " broker " + mq.broker_name + " queue " +
                              std::to_string(mq.queue_id);
    auto committed = consumer.fetch_consume_offset(mq);
    auto min = consumer.min_offset(mq);
    auto max = consumer.max_offset(mq);
    if (!committed.is_ok() || !min.is_ok() || !max.is_ok()) {
      c.report(where, !committed.is_ok() ? committed.status()
                      : !min.is_ok()     ? min.status()
                                         : max.status());
      continue;
    }
    std::optional<client::MessageExt> hit;
    scan_queue(c, consumer, mq, {*min, *max}, [&](const client::MessageExt& m) {
      if (m.msg_id == msg_id) hit = m;
      return !hit;
    });
    if (!hit) continue;
    const int64_t skipped = tally.skipped;
    if (!resend_one(c, producer, *hit, tally)) return false;
    if (tally.skipped != skipped) {
      c.report("msgId " + msg_id, "has no " + std::string(kPropertyRetryTopic) + " to resend to");
      return false;
    }
    if (hit->queue_offset == std::max(committed->value_or(0), *min)) {
      if (Status s = consumer.update_consume_offset(mq, hit->queue_offset + 1); !s.is_ok()) {
        c.report(where + ": committing the resend position", s);
      }
    }
    return true;
  }
  c.report(topic_what(queues.empty() ? std::string() : queues.front().topic),
           "no message with msgId " + msg_id);
  return false;
}

void print_resent(Context& c, const std::string& dlq, const ResendTally& tally) {
  if (c.json) {
    JsonWriter j(c.out);
    j.begin_object()
        .field("dlqTopic", dlq)
        .field("resent", tally.resent.size())
        .field("skipped", tally.skipped)
        .key("messages")
        .begin_array();
    for (const auto& r : tally.resent) {
      j.begin_object()
          .field("brokerName", r.dead.broker_name)
          .field("queueId", r.dead.queue_id)
          .field("queueOffset", r.dead.queue_offset)
          .field("msgId", r.dead.msg_id)
          .field("topic", r.topic)
          .field("newMsgId", r.sent.msg_id)
          .field("newBrokerName", r.sent.broker_name)
          .field("newQueueId", r.sent.queue_id)
          .field("newQueueOffset", r.sent.queue_offset)
          .end_object();
    }
    j.end_array().end_object();
    return;
  }
  Table t({"#Broker Name", "#QID", "#Offset", "#MsgId", "#To Topic", "#New MsgId"});
  for (const auto& r : tally.resent) {
    t.add_row({r.dead.broker_name, std::to_string(r.dead.queue_id),
               std::to_string(r.dead.queue_offset), r.dead.msg_id, r.topic, r.sent.msg_id});
  }
  t.print(c.out);
  c.out << "\nResent " << tally.resent.size() << " message(s) from " << dlq;
  if (tally.skipped > 0) c.out << "; skipped " << tally.skipped << " without RETRY_TOPIC";
  c.out << '\n';
}

}  // namespace

int resend_dlq(Context& c) {
  const std::string group = c.args.get("groupName");
  const std::string msg_id = c.args.get("msgId");
  if (group.empty()) return c.usage_error("-g takes a consumer group");
  if (c.args.has("msgId") && msg_id.empty()) return c.usage_error("-i takes a message id");
  const std::string dlq = dlq_topic(group);
  ResendTally tally;
  auto route = c.client.route(dlq);
  if (!route.is_ok()) {
    // A group that never dead-lettered a message has no DLQ: nothing to resend.
    if (route.status().code() != Code::kNotFound || !msg_id.empty()) {
      return c.fail(topic_what(dlq), route.status());
    }
    print_resent(c, dlq, tally);
    return c.done();
  }
  client::PullConsumer consumer(group, c.client.client_config());
  consumer.set_consumer_pull_timeout(c.client.timeout());
  if (Status s = consumer.start(); !s.is_ok()) return c.fail("consumer", s);
  client::Producer producer(std::string(kToolGroup), c.client.client_config());
  producer.set_send_msg_timeout(c.client.timeout());
  if (Status s = producer.start(); !s.is_ok()) return c.fail("producer", s);
  auto queues = consumer.fetch_subscribe_message_queues(dlq);
  if (!queues.is_ok()) return c.fail(topic_what(dlq), queues.status());

  if (!msg_id.empty()) {
    resend_by_id(c, consumer, producer, *queues, msg_id, tally);
  } else {
    for (const auto& mq : *queues)
      resend_queue(c, consumer, producer, mq, tally);
  }
  print_resent(c, dlq, tally);
  return c.done();
}

}  // namespace comet::admin
