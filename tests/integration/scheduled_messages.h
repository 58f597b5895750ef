// What the delayed- and timer-message process tests share: the wall clock the broker stamps store
// times with, a send carrying one property, and the records a pull delivered.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "integration/cluster.h"

namespace comet::testing {

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A SEND_MESSAGE of one message to `queue` of `topic` whose one property is key=value.
inline RemotingCommand send_with_property(const std::string& topic, int32_t queue,
                                          const std::string& body, const std::string& key,
                                          const std::string& value) {
  auto req = send_request(topic, queue, {body});
  req.body.owned = encode_records_with_properties(topic, {body}, encode_properties({{key, value}}));
  return req;
}

struct Delivered {
  std::string body;
  std::string properties;
  int64_t store_ms = 0;  // when the broker appended it to its real topic
};

// The records of a PULL_MESSAGE response, up to the first that does not decode.
inline std::vector<Delivered> records_of(const RemotingCommand& resp) {
  std::vector<Delivered> out;
  const std::string body = resp.body.to_string();
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  for (size_t pos = 0; pos < body.size();) {
    auto d = record::decode(p + pos, body.size() - pos, true);
    if (d.outcome != record::Outcome::kRecord) break;
    out.push_back({std::string(d.record.body), std::string(d.record.properties),
                   d.record.store_timestamp_ms});
    pos += d.size;
  }
  return out;
}

}  // namespace comet::testing
