#include "common/record_codec.h"

#include <algorithm>
#include <cstring>

#include "common/crc32c.h"

namespace comet {
namespace {

inline void put32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}
inline void put64(uint8_t* p, uint64_t v) {
  std::memcpy(p, &v, 8);
}
inline void put16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}
inline uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint16_t get16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline void put_host(uint8_t* p, HostAddress h) {
  put32(p, h.ipv4);
  put32(p + 4, h.port);
}
inline HostAddress get_host(const uint8_t* p) {
  return {get32(p), get32(p + 4)};
}

// CRC over [0, 8) and [12, size): everything but the CRC field.
inline uint32_t record_crc(const uint8_t* p, size_t size) {
  uint32_t c = crc32c::value(p, record::kOffCrc);
  return crc32c::extend(c, p + record::kOffCrc + 4, size - record::kOffCrc - 4);
}

}  // namespace

namespace record {

namespace {

bool valid_name(std::string_view name, size_t max_length) {
  if (name.empty() || name.size() > max_length) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '%' || c == '|';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool valid_topic_name(std::string_view topic) {
  return valid_name(topic, kMaxTopicLength);
}

bool valid_group_name(std::string_view group) {
  return valid_name(group, kMaxGroupLength);
}

Status validate(const Message& m, size_t max_body_bytes) {
  if (!valid_topic_name(m.topic)) {
    return Status::invalid_argument("illegal topic name (1-127 chars of [A-Za-z0-9_%|-])");
  }
  if (m.body.empty()) return Status::invalid_argument("message body is empty");
  if (m.body.size() > max_body_bytes) {
    return Status::message_too_large("message body of " + std::to_string(m.body.size()) +
                                     " bytes exceeds maxMessageSize " +
                                     std::to_string(max_body_bytes));
  }
  if (m.properties.size() > kMaxPropertiesLength) {
    return Status::message_too_large("message properties exceed 32767 bytes");
  }
  return Status::ok();
}

void encode(const Message& m, uint64_t queue_offset, uint64_t physical_offset,
            int64_t store_timestamp_ms, HostAddress store_host, uint8_t* dst) {
  const size_t size = encoded_size(m);
  put32(dst + kOffTotalSize, static_cast<uint32_t>(size));
  put32(dst + kOffMagic, kMessageMagic);
  put32(dst + kOffQueueId, m.queue_id);
  put32(dst + kOffFlags, m.flags);
  put64(dst + kOffQueueOffset, queue_offset);
  put64(dst + kOffPhysicalOffset, physical_offset);
  put32(dst + kOffSysFlag, m.sys_flag);
  put64(dst + kOffBornTimestamp, static_cast<uint64_t>(m.born_timestamp_ms));
  put_host(dst + kOffBornHost, m.born_host);
  put64(dst + kOffStoreTimestamp, static_cast<uint64_t>(store_timestamp_ms));
  put_host(dst + kOffStoreHost, store_host);
  put32(dst + kOffReconsumeTimes, m.reconsume_times);
  put32(dst + kOffBodyLen, static_cast<uint32_t>(m.body.size()));
  uint8_t* p = dst + kHeaderSize;
  std::memcpy(p, m.body.data(), m.body.size());
  p += m.body.size();
  put16(p, static_cast<uint16_t>(m.topic.size()));
  std::memcpy(p + 2, m.topic.data(), m.topic.size());
  p += 2 + m.topic.size();
  put16(p, static_cast<uint16_t>(m.properties.size()));
  if (!m.properties.empty()) std::memcpy(p + 2, m.properties.data(), m.properties.size());
  put32(dst + kOffCrc, crc32c::mask(record_crc(dst, size)));
}

void encode_blank(uint8_t* dst, uint32_t size) {
  put32(dst + kOffTotalSize, size);
  put32(dst + kOffMagic, kBlankMagic);
  put32(dst + kOffCrc, crc32c::mask(crc32c::value(dst, kOffCrc)));
}

Decoded decode(const uint8_t* p, size_t avail, bool verify_crc) {
  Decoded d;
  if (avail < 4) {
    d.outcome = Outcome::kTruncated;
    d.reason = "fewer than 4 bytes left";
    return d;
  }
  const uint32_t size = get32(p + kOffTotalSize);
  if (size == 0) {
    d.outcome = Outcome::kEnd;
    return d;
  }
  if (avail < kBlankSize) {
    d.outcome = Outcome::kTruncated;
    d.reason = "header cut short";
    return d;
  }
  const uint32_t magic = get32(p + kOffMagic);
  if (magic == kBlankMagic) {
    if (size < kBlankSize) {
      d.outcome = Outcome::kCorrupt;
      d.reason = "blank shorter than its header";
      return d;
    }
    if (crc32c::unmask(get32(p + kOffCrc)) != crc32c::value(p, kOffCrc)) {
      d.outcome = Outcome::kCorrupt;
      d.reason = "blank checksum mismatch";
      return d;
    }
    if (size > avail) {
      // A windowed read cut the blank: like a cut record, read on from here with more bytes.
      d.outcome = Outcome::kTruncated;
      d.reason = "blank extends past the readable bytes";
      return d;
    }
    d.outcome = Outcome::kBlank;
    d.size = size;
    return d;
  }
  if (magic != kMessageMagic) {
    d.outcome = Outcome::kCorrupt;
    d.reason = "bad magic";
    return d;
  }
  if (size < kMinRecordSize) {
    d.outcome = Outcome::kCorrupt;
    d.reason = "record shorter than its fixed fields";
    return d;
  }
  if (size > avail) {
    d.outcome = Outcome::kTruncated;
    d.reason = "record extends past the readable bytes";
    return d;
  }
  const uint32_t body_len = get32(p + kOffBodyLen);
  if (body_len > size - kMinRecordSize) {
    d.outcome = Outcome::kCorrupt;
    d.reason = "body length exceeds record";
    return d;
  }
  const uint8_t* q = p + kHeaderSize + body_len;
  const uint16_t topic_len = get16(q);
  if (kMinRecordSize + body_len + topic_len > size) {
    d.outcome = Outcome::kCorrupt;
    d.reason = "topic length exceeds record";
    return d;
  }
  const uint8_t* r = q + 2 + topic_len;
  const uint16_t props_len = get16(r);
  if (kMinRecordSize + body_len + topic_len + props_len != size) {
    d.outcome = Outcome::kCorrupt;
    d.reason = "field lengths do not add up to the record size";
    return d;
  }
  if (verify_crc && crc32c::unmask(get32(p + kOffCrc)) != record_crc(p, size)) {
    d.outcome = Outcome::kCorrupt;
    d.reason = "record checksum mismatch";
    return d;
  }
  RecordView& v = d.record;
  v.total_size = size;
  v.queue_id = get32(p + kOffQueueId);
  v.flags = get32(p + kOffFlags);
  v.queue_offset = get64(p + kOffQueueOffset);
  v.physical_offset = get64(p + kOffPhysicalOffset);
  v.sys_flag = get32(p + kOffSysFlag);
  v.born_timestamp_ms = static_cast<int64_t>(get64(p + kOffBornTimestamp));
  v.born_host = get_host(p + kOffBornHost);
  v.store_timestamp_ms = static_cast<int64_t>(get64(p + kOffStoreTimestamp));
  v.store_host = get_host(p + kOffStoreHost);
  v.reconsume_times = get32(p + kOffReconsumeTimes);
  v.body = {reinterpret_cast<const char*>(p + kHeaderSize), body_len};
  v.topic = {reinterpret_cast<const char*>(q + 2), topic_len};
  v.properties = {reinterpret_cast<const char*>(r + 2), props_len};
  d.outcome = Outcome::kRecord;
  d.size = size;
  return d;
}

uint64_t peek_physical_offset(const uint8_t* p) {
  return get64(p + kOffPhysicalOffset);
}
int64_t peek_store_timestamp(const uint8_t* p) {
  return static_cast<int64_t>(get64(p + kOffStoreTimestamp));
}

}  // namespace record

std::string encode_properties(const std::vector<std::pair<std::string, std::string>>& props) {
  std::string out;
  for (const auto& [k, v] : props) {
    out += k;
    out += '\x01';
    out += v;
    out += '\x02';
  }
  return out;
}

std::string_view find_property(std::string_view encoded, std::string_view key) {
  // Entry by entry, as without_properties reads them: an entry without its \x01 is skipped, never
  // read as the start of the next one's key.
  size_t pos = 0;
  while (pos < encoded.size()) {
    size_t end = encoded.find('\x02', pos);
    if (end == std::string_view::npos) end = encoded.size();
    const std::string_view entry = encoded.substr(pos, end - pos);
    const size_t sep = entry.find('\x01');
    if (sep != std::string_view::npos && entry.substr(0, sep) == key) return entry.substr(sep + 1);
    pos = end + 1;
  }
  return {};
}

Message record::message_of(const RecordView& r) {
  Message m;
  m.topic = r.topic;
  m.queue_id = r.queue_id;
  m.flags = r.flags;
  m.sys_flag = r.sys_flag;
  m.born_timestamp_ms = r.born_timestamp_ms;
  m.born_host = r.born_host;
  m.reconsume_times = r.reconsume_times;
  m.body = r.body;
  m.properties = r.properties;
  return m;
}

std::string without_properties(std::string_view encoded,
                               std::initializer_list<std::string_view> keys) {
  std::string out;
  size_t pos = 0;
  while (pos < encoded.size()) {
    size_t end = encoded.find('\x02', pos);
    if (end == std::string_view::npos) end = encoded.size();
    const std::string_view entry = encoded.substr(pos, end - pos);
    const std::string_view key = entry.substr(0, entry.find('\x01'));
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      out += entry;
      out += '\x02';
    }
    pos = end + 1;
  }
  return out;
}

std::string with_property(std::string_view encoded, std::string_view key, std::string_view value) {
  std::string out = without_properties(encoded, {key});
  out += key;
  out += '\x01';
  out += value;
  out += '\x02';
  return out;
}

std::vector<std::string_view> split_tag_expression(std::string_view expression) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && v.front() == ' ')
      v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ')
      v.remove_suffix(1);
    return v;
  };
  std::vector<std::string_view> out;
  expression = trim(expression);
  if (expression.empty() || expression == "*") return out;
  while (!expression.empty()) {
    size_t bar = expression.find("||");
    std::string_view tag = trim(expression.substr(0, bar));
    if (!tag.empty()) out.push_back(tag);
    if (bar == std::string_view::npos) break;
    expression.remove_prefix(bar + 2);
  }
  return out;
}

uint64_t tag_hash(std::string_view tag) {
  if (tag.empty()) return 0;
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : tag) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h == 0 ? 1 : h;
}

}  // namespace comet
