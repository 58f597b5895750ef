#include "broker/transaction_messages.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "broker/system_topics.h"
#include "broker/timer_messages.h"
#include "common/msg_id.h"
#include "common/whole_number.h"

namespace comet::broker {
namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

Status op_corruption(const RecordView& op, std::string_view what) {
  return Status::corruption("op record at offset " + std::to_string(op.physical_offset) + ": " +
                            std::string(what));
}

std::optional<TransactionEnd> transaction_end_of(std::string_view name) {
  for (TransactionEnd end :
       {TransactionEnd::kCommit, TransactionEnd::kRollback, TransactionEnd::kDiscard}) {
    if (name == transaction_end_name(end)) return end;
  }
  return std::nullopt;
}

}  // namespace

Status to_half_topic(Message& m, bool batch, std::string& storage) {
  if (batch) {
    return Status::invalid_argument("a batch cannot carry transactional messages (TRAN_MSG)");
  }
  if (find_property(m.properties, kPropertyProducerGroup).empty()) {
    return Status::invalid_argument(
        "a transactional message (TRAN_MSG) names no producer group (PGROUP)");
  }
  if (const std::string_view level = find_property(m.properties, kPropertyDelayLevel);
      !level.empty() && level != "0") {
    return Status::invalid_argument("a transactional message (TRAN_MSG) cannot be delayed (DELAY)");
  }
  if (has_timer_properties(m.properties)) {
    return Status::invalid_argument(
        "a transactional message (TRAN_MSG) cannot be a timer message (TIMER_DELIVER_MS, "
        "TIMER_DELAY_SEC, TIMER_DELAY_MS)");
  }
  storage = without_properties(
      m.properties, {kPropertyTransactionPreparedQueueOffset, kPropertyTransactionCheckTimes});
  storage = with_property(storage, kPropertyRealTopic, m.topic);
  storage = with_property(storage, kPropertyRealQueueId, std::to_string(m.queue_id));
  m.properties = storage;
  m.topic = kTransHalfTopic;
  m.queue_id = 0;
  m.sys_flag = (m.sys_flag & ~kSysFlagTransactionMask) | kSysFlagTransactionPrepared;
  return Status::ok();
}

bool is_transactional(std::string_view properties) {
  return equals_ignoring_case(find_property(properties, kPropertyTransactionPrepared), "true");
}

uint64_t origin_of(const RecordView& half) {
  const auto origin = parse_whole_number<uint64_t>(
      find_property(half.properties, kPropertyTransactionPreparedQueueOffset));
  return origin ? *origin : half.queue_offset;
}

uint32_t check_times_of(std::string_view properties) {
  return parse_whole_number<uint32_t>(find_property(properties, kPropertyTransactionCheckTimes))
      .value_or(0);
}

std::optional<int64_t> check_immunity_ms_of(std::string_view properties) {
  const auto seconds =
      parse_whole_number<int64_t>(find_property(properties, kPropertyCheckImmunityTimeInSeconds));
  if (!seconds || *seconds < 0 || *seconds > std::numeric_limits<int64_t>::max() / 1000) {
    return std::nullopt;
  }
  return *seconds * 1000;
}

std::string make_transaction_id(HostAddress store_host, int64_t start_ms, uint32_t sequence) {
  std::string id(32, '0');
  put_hex(id, 0, store_host.ipv4, 8);
  put_hex(id, 8, store_host.port, 4);
  put_hex(id, 12, static_cast<uint64_t>(start_ms), 12);  // 48 bits of ms: until the year 10889
  put_hex(id, 24, sequence, 8);
  return id;
}

std::string_view transaction_end_name(TransactionEnd end) {
  switch (end) {
    case TransactionEnd::kCommit:
      return "commit";
    case TransactionEnd::kRollback:
      return "rollback";
    case TransactionEnd::kDiscard:
      return "discard";
  }
  return "rollback";
}

Message op_message(const OpRecord& op, std::string& storage) {
  const std::string body = std::to_string(op.origin);
  storage = body;
  storage += encode_properties(
      {{std::string(kPropertyTags), std::string(kTransactionOpTag)},
       {std::string(kPropertyTransactionOutcome), std::string(transaction_end_name(op.end))},
       {std::string(kPropertyTransactionHalfPhysicalOffset),
        std::to_string(op.half_physical_offset)}});
  Message m;
  m.topic = kTransOpTopic;
  m.queue_id = 0;
  m.body = std::string_view(storage).substr(0, body.size());
  m.properties = std::string_view(storage).substr(body.size());
  return m;
}

Result<OpRecord> parse_op(const RecordView& op) {
  if (op.topic != kTransOpTopic) {
    return op_corruption(
        op, "topic '" + std::string(op.topic) + "' is not " + std::string(kTransOpTopic));
  }
  if (const std::string_view tag = find_property(op.properties, kPropertyTags);
      tag != kTransactionOpTag) {
    return op_corruption(op, "tag '" + std::string(tag) + "' is not 'd'");
  }
  const auto origin = parse_whole_number<uint64_t>(op.body);
  if (!origin) return op_corruption(op, "body is not a queue offset");
  const std::string_view outcome = find_property(op.properties, kPropertyTransactionOutcome);
  const auto end = transaction_end_of(outcome);
  if (!end) return op_corruption(op, "TRAN_OUTCOME '" + std::string(outcome) + "' is not known");
  const auto half_offset = parse_whole_number<uint64_t>(
      find_property(op.properties, kPropertyTransactionHalfPhysicalOffset));
  if (!half_offset) return op_corruption(op, "TRAN_HALF_PHYSICAL_OFFSET is not an offset");
  return OpRecord{*origin, *end, *half_offset};
}

uint32_t real_queue_id_of(std::string_view properties) {
  return parse_whole_number<uint32_t>(find_property(properties, kPropertyRealQueueId)).value_or(0);
}

Message committed_message_of(const RecordView& half, uint64_t origin, bool to_check_max,
                             std::string& storage) {
  Message m = record::message_of(half);
  if (to_check_max) {
    m.topic = kTransCheckMaxTimeTopic;
    m.queue_id = 0;
    storage = without_properties(half.properties,
                                 {kPropertyTransactionPrepared, kPropertyTransactionCheckTimes});
  } else {
    m.topic = find_property(half.properties, kPropertyRealTopic);
    m.queue_id = real_queue_id_of(half.properties);
    storage = without_properties(
        half.properties, {kPropertyRealTopic, kPropertyRealQueueId, kPropertyTransactionPrepared,
                          kPropertyTransactionCheckTimes});
  }
  storage = with_property(storage, kPropertyTransactionPreparedQueueOffset, std::to_string(origin));
  m.properties = storage;
  m.sys_flag = (half.sys_flag & ~kSysFlagTransactionMask) | kSysFlagTransactionCommit;
  return m;
}

Message check_copy_of(const RecordView& half, uint64_t origin, std::string& storage) {
  Message m = record::message_of(half);
  m.topic = kTransHalfTopic;
  m.queue_id = 0;
  const uint32_t checks = check_times_of(half.properties);
  const uint32_t next = checks == std::numeric_limits<uint32_t>::max() ? checks : checks + 1;
  storage = with_property(half.properties, kPropertyTransactionCheckTimes, std::to_string(next));
  storage = with_property(storage, kPropertyTransactionPreparedQueueOffset, std::to_string(origin));
  m.properties = storage;
  return m;
}

}  // namespace comet::broker
