// Sends (10 SEND_MESSAGE with V1 keys, 310/320 with V2 keys), CONSUMER_SEND_MSG_BACK and
// END_TRANSACTION: RocketMQ headers → native requests whose body is CommitLog records.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/msg_id.h"
#include "remoting/rocketmq_message.h"
#include "remoting/rocketmq_translate.h"

namespace comet::remoting::rocketmq::translate {

namespace {

constexpr int32_t kSendV1 = 10;
constexpr size_t kMaxBatchMessages = 4096;
constexpr size_t kMaxRecordBody = 16 * 1024 * 1024;
constexpr std::string_view kRetryPrefix = "%RETRY%";

// A send header field by its V1 name or its V2 letter: V1 for code 10, V2 for 310/320, the
// other spelling as a fallback (clients disagree on which code carries which).
struct SendFields {
  const ExtFields& ext;
  bool v1;
  std::string_view get(std::string_view v1_key, std::string_view v2_key) const {
    const std::string* s = ext.find(v1 ? v1_key : v2_key);
    if (s == nullptr) s = ext.find(v1 ? v2_key : v1_key);
    return s == nullptr ? std::string_view() : std::string_view(*s);
  }
  int64_t get_int(std::string_view v1_key, std::string_view v2_key, int64_t fallback) const {
    std::string_view s = get(v1_key, v2_key);
    if (s.empty()) return fallback;
    int64_t v = 0;
    bool neg = s.front() == '-';
    size_t i = neg ? 1 : 0;
    if (i == s.size() || s.size() > 20) return fallback;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return fallback;
      v = v * 10 + (s[i] - '0');
    }
    return neg ? -v : v;
  }
  bool get_bool(std::string_view v1_key, std::string_view v2_key) const {
    return get(v1_key, v2_key) == "true";
  }
};

// Appends `m` as a sealed record with zero offsets (what comet's producer sends).
Status append_record(const Message& m, std::string& out, std::vector<uint32_t>& sizes) {
  if (Status s = record::validate(m, kMaxRecordBody); !s.is_ok()) return s;
  const size_t size = record::encoded_size(m);
  const size_t at = out.size();
  out.resize(at + size);
  record::encode(m, 0, 0, 0, HostAddress{}, reinterpret_cast<uint8_t*>(out.data() + at));
  sizes.push_back(static_cast<uint32_t>(size));
  return Status::ok();
}

// Properties of a single message, with the header's maxReconsumeTimes (`l`) where the DLQ rule
// reads it (broker/retry_rule.h) when the client sends a retry itself.
std::string single_properties(std::string_view props, std::string_view topic,
                              int64_t max_reconsume_times) {
  if (max_reconsume_times < 0 || topic.substr(0, kRetryPrefix.size()) != kRetryPrefix ||
      !find_property(props, kPropertyMaxReconsumeTimes).empty()) {
    return std::string(props);
  }
  return with_property(props, kPropertyMaxReconsumeTimes, std::to_string(max_reconsume_times));
}

}  // namespace

ToNativeResult send_to_native(const Command& req, const Context& ctx, PendingAnswer& pending) {
  const SendFields f{req.ext, req.code == kSendV1};
  protocol::SendMessageRequestT ext;
  ext.producer_group = std::string(f.get("producerGroup", "a"));
  ext.topic = std::string(f.get("topic", "b"));
  ext.queue_id = static_cast<int32_t>(f.get_int("queueId", "e", -1));
  ext.batch = f.get_bool("batch", "m");
  if (ext.topic.empty()) return Refusal{13, "send header without a topic"};

  Message m;
  m.topic = ext.topic;
  m.queue_id = static_cast<uint32_t>(std::max<int32_t>(ext.queue_id, 0));
  m.flags = static_cast<uint32_t>(f.get_int("flag", "h", 0));
  m.sys_flag = static_cast<uint32_t>(f.get_int("sysFlag", "f", 0));
  m.born_timestamp_ms = f.get_int("bornTimestamp", "g", 0);
  m.born_host = ctx.peer;
  m.reconsume_times =
      static_cast<uint32_t>(std::max<int64_t>(f.get_int("reconsumeTimes", "j", 0), 0));

  RemotingCommand native = native_request(req, protocol::RequestCode::SEND_MESSAGE);
  std::string& records = native.body.owned;
  if (ext.batch) {
    auto entries = decode_batch(req.body, kMaxBatchMessages);
    if (!entries.is_ok()) return refuse(entries.status(), 13);
    if (entries->empty()) return Refusal{13, "an empty batch"};
    records.reserve(req.body.size() + entries->size() * (record::kMinRecordSize + m.topic.size()));
    for (const BatchEntry& e : *entries) {
      Message one = m;
      one.flags = static_cast<uint32_t>(e.flag);
      one.body = e.body;
      one.properties = e.properties;
      if (Status s = append_record(one, records, pending.record_sizes); !s.is_ok()) {
        return refuse(s, 13);
      }
    }
  } else {
    const std::string props = single_properties(f.get("properties", "i"), ext.topic,
                                                f.get_int("maxReconsumeTimes", "l", -1));
    m.body = req.body;
    m.properties = props;
    if (Status s = append_record(m, records, pending.record_sizes); !s.is_ok()) {
      return refuse(s, 13);
    }
  }
  native.set_ext(std::move(ext));
  return native;
}

void send_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending, Command& out) {
  const auto* r = native.ext<protocol::SendMessageResponseT>();
  if (r == nullptr) return;
  std::string ids = r->msg_id;
  if (pending.record_sizes.size() > 1) {
    // A batch's records are contiguous: each id from the first's offset plus the sizes before.
    if (auto first = parse_msg_id(r->msg_id); first.is_ok()) {
      uint64_t offset = first->physical_offset;
      ids.clear();
      for (size_t i = 0; i < pending.record_sizes.size(); ++i) {
        if (i > 0) ids += ',';
        ids += make_msg_id(first->store_host, offset);
        offset += pending.record_sizes[i];
      }
    }
  }
  out.ext.set("msgId", std::move(ids));
  out.ext.set("queueId", std::to_string(r->queue_id));
  out.ext.set("queueOffset", std::to_string(r->queue_offset));
  out.ext.set("MSG_REGION", "DefaultRegion");
  out.ext.set("TRACE_ON", "true");
  if (!r->transaction_id.empty()) out.ext.set("transactionId", r->transaction_id);
}

ToNativeResult send_back_to_native(const Command& req, const Context&, PendingAnswer&) {
  protocol::ConsumerSendMsgBackRequestT ext;
  auto offset = req.ext.get_int("offset");
  if (!offset.is_ok()) return refuse(offset.status());
  ext.offset = *offset;
  ext.group = std::string(req.ext.get("group"));
  ext.delay_level = static_cast<int32_t>(req.ext.get_int_or("delayLevel", 0));
  ext.origin_msg_id = std::string(req.ext.get("originMsgId"));
  ext.origin_topic = std::string(req.ext.get("originTopic"));
  ext.max_reconsume_times = static_cast<int32_t>(req.ext.get_int_or("maxReconsumeTimes", -1));
  RemotingCommand native = native_request(req, protocol::RequestCode::CONSUMER_SEND_MSG_BACK);
  native.set_ext(std::move(ext));
  return native;
}

ToNativeResult end_transaction_to_native(const Command& req, const Context&, PendingAnswer&) {
  protocol::EndTransactionRequestT ext;
  ext.producer_group = std::string(req.ext.get("producerGroup"));
  ext.tran_state_table_offset = req.ext.get_int_or("tranStateTableOffset", 0);
  ext.commit_log_offset = req.ext.get_int_or("commitLogOffset", 0);
  ext.commit_or_rollback =
      static_cast<protocol::TransactionOutcome>(req.ext.get_int_or("commitOrRollback", 0));
  ext.from_transaction_check = req.ext.get_bool_or("fromTransactionCheck", false);
  ext.msg_id = std::string(req.ext.get("msgId"));
  ext.transaction_id = std::string(req.ext.get("transactionId"));
  RemotingCommand native = native_request(req, protocol::RequestCode::END_TRANSACTION);
  native.set_ext(std::move(ext));
  return native;
}

}  // namespace comet::remoting::rocketmq::translate
