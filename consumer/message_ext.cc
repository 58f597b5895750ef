#include "consumer/message_ext.h"

#include <fmt/format.h>

#include "common/logging.h"
#include "common/msg_id.h"

namespace comet::client {

std::map<std::string, std::string> decode_properties(std::string_view encoded) {
  std::map<std::string, std::string> out;
  while (!encoded.empty()) {
    size_t end = encoded.find('\x02');
    std::string_view entry = encoded.substr(0, end);
    size_t sep = entry.find('\x01');
    if (sep != std::string_view::npos && sep > 0) {
      out.insert_or_assign(std::string(entry.substr(0, sep)), std::string(entry.substr(sep + 1)));
    }
    if (end == std::string_view::npos) break;
    encoded.remove_prefix(end + 1);
  }
  return out;
}

namespace {

// A compressed body inflated in place, its flag cleared; one that will not inflate is left as
// stored (with its flag) and logged, so that one bad message does not stall its queue.
void inflate_compressed_body(MessageExt& m) {
  if ((m.sys_flag & kSysFlagCompressed) == 0) return;
  auto plain = remoting::rocketmq::inflate_body(m.body, kMaxInflatedBodyBytes);
  if (!plain.is_ok()) {
    logger("consumer")
        ->warn(
            "message {} of {} queue {} offset {}: compressed body ({} bytes) not "
            "inflated, handed over as stored: {}",
            m.msg_id, m.topic, m.queue_id, m.queue_offset, m.body.size(),
            plain.status().to_string());
    return;
  }
  m.body = std::move(*plain);
  m.sys_flag &= ~kSysFlagCompressed;
}

}  // namespace

MessageExt to_message_ext(const RecordView& record, std::string_view broker_name) {
  MessageExt m;
  m.topic = std::string(record.topic);
  m.broker_name = std::string(broker_name);
  m.queue_id = record.queue_id;
  m.queue_offset = record.queue_offset;
  m.physical_offset = record.physical_offset;
  m.body = std::string(record.body);
  m.properties = decode_properties(record.properties);
  if (auto it = m.properties.find(std::string(kPropertyTags)); it != m.properties.end()) {
    m.tags = it->second;
  }
  if (auto it = m.properties.find(std::string(kPropertyKeys)); it != m.properties.end()) {
    m.keys = it->second;
  }
  m.offset_msg_id = make_msg_id(record.store_host, record.physical_offset);
  auto uniq = m.properties.find(std::string(kPropertyUniqKey));
  m.msg_id = uniq != m.properties.end() && !uniq->second.empty() ? uniq->second : m.offset_msg_id;
  m.born_timestamp_ms = record.born_timestamp_ms;
  m.store_timestamp_ms = record.store_timestamp_ms;
  m.born_host = record.born_host;
  m.store_host = record.store_host;
  m.reconsume_times = record.reconsume_times;
  m.flags = record.flags;
  m.sys_flag = record.sys_flag;
  inflate_compressed_body(m);
  return m;
}

Result<std::vector<MessageExt>> decode_messages(std::string_view body,
                                                std::string_view broker_name) {
  std::vector<MessageExt> out;
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  size_t pos = 0;
  while (pos < body.size()) {
    auto d = record::decode(p + pos, body.size() - pos, /*verify_crc=*/true);
    if (d.outcome != record::Outcome::kRecord) {
      return Status::corruption(fmt::format("record {} at byte {} of a {}-byte pull body: {}",
                                            out.size(), pos, body.size(), d.reason));
    }
    out.push_back(to_message_ext(d.record, broker_name));
    pos += d.size;
  }
  return out;
}

}  // namespace comet::client
