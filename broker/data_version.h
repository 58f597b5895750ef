// DataVersion: the version of the broker's topic table (RocketMQ's DataVersion): the time of the
// last change and a counter bumped by every change. The name server stores the version of each
// broker's last full registration and answers a small heartbeat that carries the same version
// without asking for the table again. The timestamp keeps versions apart when a broker's store
// is wiped and its counter starts over at the same address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "remoting_generated.h"

namespace comet::broker {

struct DataVersion {
  int64_t timestamp_ms = 0;
  int64_t counter = 0;

  bool operator==(const DataVersion&) const = default;

  // The version after one more change made at `now_ms`.
  DataVersion next(int64_t now_ms) const { return DataVersion{now_ms, counter + 1}; }

  protocol::DataVersionT to_protocol() const;
  std::string to_string() const;  // "counter@timestamp_ms"
};

// Stored layout, little-endian: u64 counter | i64 timestamp_ms. The 8-byte form of earlier
// versions (the counter alone) decodes with timestamp 0. nullopt for any other size.
std::string encode_data_version(const DataVersion& v);
std::optional<DataVersion> decode_data_version(std::string_view bytes);

}  // namespace comet::broker
