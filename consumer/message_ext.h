// MessageExt: a consumed message as the store wrote it (RocketMQ's MessageExt), decoded from the
// CommitLog-format records a PULL_MESSAGE response carries (common/record_codec.h). Every
// record's CRC is checked; a bad or torn record fails the whole body with kCorruption. A body a
// RocketMQ producer compressed (sys_flag bit 0x1: zlib, as Java's Deflater; ali-ons does so from
// 4 KiB) is inflated, bounded by kMaxInflatedBodyBytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/record_codec.h"
#include "common/status.h"
#include "remoting/rocketmq_message.h"

namespace comet::client {

struct MessageExt {
  std::string topic;
  std::string broker_name;
  uint32_t queue_id = 0;
  uint64_t queue_offset = 0;
  uint64_t physical_offset = 0;
  std::string msg_id;  // the UNIQ_KEY property when present, else store host + physical offset
  std::string offset_msg_id;  // store host + physical offset (common/msg_id.h)
  std::string body;
  std::string tags;
  std::string keys;
  std::map<std::string, std::string> properties;  // every property, TAGS and KEYS included
  int64_t born_timestamp_ms = 0;
  int64_t store_timestamp_ms = 0;
  HostAddress born_host;   // the producer's address as the broker saw it (0 when not recorded)
  HostAddress store_host;  // the broker that first stored it
  uint32_t reconsume_times = 0;
  uint32_t flags = 0;
  // RocketMQ's sysFlag as stored, except that the compressed bit (kSysFlagCompressed) is cleared
  // once `body` is inflated: it stays set only for a body that would not inflate (corrupt, or
  // larger than kMaxInflatedBodyBytes), which is then handed over as stored, and logged.
  uint32_t sys_flag = 0;
};

using remoting::rocketmq::kSysFlagCompressed;
// The bound on an inflated body: the broker's default maxMessageSize (4 MiB), which bounds what a
// producer may send uncompressed too.
inline constexpr size_t kMaxInflatedBodyBytes = 4 * 1024 * 1024;

// "key\x01value\x02..." into a map; an entry without its \x01 separator is skipped.
std::map<std::string, std::string> decode_properties(std::string_view encoded);
MessageExt to_message_ext(const RecordView& record, std::string_view broker_name);
// Every record of `body`, in order.
Result<std::vector<MessageExt>> decode_messages(std::string_view body,
                                                std::string_view broker_name);

}  // namespace comet::client
