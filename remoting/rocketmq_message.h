// RocketMQ 4.x message formats, I/O-free: the store format a pull answer's body carries (and
// VIEW/QUERY answers, CHECK_TRANSACTION_STATE's body), the SEND_BATCH body, and zlib bodies
// (/work/shared/rocketmq-remoting.md §3, docs/format.md). Big-endian throughout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/record_codec.h"
#include "common/status.h"

namespace comet::remoting::rocketmq {

constexpr uint32_t kStoreMagic = 0xDAA320A7;  // 4.x MessageMagicCode
constexpr uint32_t kSysFlagCompressed = 0x1;
// The store format's fixed bytes with IPv4 hosts, without body, topic and properties.
constexpr size_t kStoreFixedSize = 91;

// A message in RocketMQ's store format, decoded; views into the decoded buffer.
struct StoreMessage {
  int32_t queue_id = 0;
  int32_t flag = 0;
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
  int32_t sys_flag = 0;
  int64_t born_timestamp = 0;
  HostAddress born_host;
  int64_t store_timestamp = 0;
  HostAddress store_host;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
  std::string_view body, topic, properties;
  bool operator==(const StoreMessage&) const = default;
};

size_t store_format_size(const RecordView& r);  // 91 + body + topic + props
// Appends comet's record `r` (common/record_codec.h) in the store format, big-endian, bodyCRC =
// CRC32 (zlib's) & 0x7FFFFFFF, magic 0xDAA320A7, IPv4 hosts, body and sysFlag as stored.
void append_store_format(const RecordView& r, std::string& out);
Result<std::vector<StoreMessage>> decode_store_messages(std::string_view bytes);
std::string encode_store_message(const StoreMessage& m);  // tests, fuzz seeds, bench

// SEND_BATCH bodies: totalSize|magic|bodyCRC|flag|bodyLen|body|propsLen|props.
struct BatchEntry {
  int32_t flag = 0;
  std::string_view body;
  std::string_view properties;
  bool operator==(const BatchEntry&) const = default;
};
Result<std::vector<BatchEntry>> decode_batch(std::string_view body, size_t max_messages);
std::string encode_batch(const std::vector<BatchEntry>& entries);

// zlib (RocketMQ compresses with Deflater: zlib-wrapped deflate). Inflate is bounded:
// kMessageTooLarge past `max_bytes`.
Result<std::string> inflate_body(std::string_view compressed, size_t max_bytes);
std::string deflate_body(std::string_view plain);

}  // namespace comet::remoting::rocketmq
