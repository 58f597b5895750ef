#include "broker/data_version.h"

#include "common/little_endian.h"

namespace comet::broker {
namespace {

constexpr size_t kCounterBytes = 8;
constexpr size_t kVersionBytes = 16;

}  // namespace

protocol::DataVersionT DataVersion::to_protocol() const {
  protocol::DataVersionT v;
  v.timestamp_ms = timestamp_ms;
  v.counter = counter;
  return v;
}

std::string DataVersion::to_string() const {
  return std::to_string(counter) + "@" + std::to_string(timestamp_ms);
}

std::string encode_data_version(const DataVersion& v) {
  std::string out;
  out.reserve(kVersionBytes);
  put_u64(out, static_cast<uint64_t>(v.counter));
  put_u64(out, static_cast<uint64_t>(v.timestamp_ms));
  return out;
}

std::optional<DataVersion> decode_data_version(std::string_view bytes) {
  if (bytes.size() != kCounterBytes && bytes.size() != kVersionBytes) return std::nullopt;
  DataVersion v;
  v.counter = static_cast<int64_t>(get_u64(bytes.data()));
  if (bytes.size() == kVersionBytes) {
    v.timestamp_ms = static_cast<int64_t>(get_u64(bytes.data() + kCounterBytes));
  }
  return v;
}

}  // namespace comet::broker
