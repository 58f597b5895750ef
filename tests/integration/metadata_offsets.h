// Consumer offsets (and topic configs) as the replicas of a broker group see them: committed on
// the master, read from a replica's copy of the metadata records (broker/metadata_record.h) and
// queried back.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "integration/cluster.h"

namespace comet::testing {

inline constexpr const char* kMetadataTopicName = "COMET_SYS_METADATA";

// "<group>/<topic>/<queue>" -> offset.
using OffsetMap = std::map<std::string, int64_t>;

inline std::string offset_key(const std::string& group, const std::string& topic, int queue) {
  return group + "/" + topic + "/" + std::to_string(queue);
}

// The metadata records in a pull response.
inline std::vector<protocol::MetadataRecordT> metadata_records_of(const RemotingCommand& resp) {
  std::vector<protocol::MetadataRecordT> out;
  for (const std::string& body : bodies_of(resp)) {
    flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    EXPECT_TRUE(verifier.VerifyBuffer<protocol::MetadataRecord>(nullptr));
    if (!verifier.VerifyBuffer<protocol::MetadataRecord>(nullptr)) break;
    flatbuffers::GetRoot<protocol::MetadataRecord>(body.data())->UnPackTo(&out.emplace_back());
  }
  return out;
}

// The offsets carried by the metadata records in a pull response.
inline void collect_metadata_offsets(const RemotingCommand& resp, OffsetMap& out) {
  for (const auto& r : metadata_records_of(resp))
    for (const auto& e : r.offsets)
      out[offset_key(e->consumer_group, e->topic, e->queue_id)] = e->offset;
}

// Long-polls broker `addr`'s copy of the metadata topic from its start, handing each pull
// response to `take` until it returns true (or `timeout` passes); true when it did.
inline bool follow_metadata(remoting::RemotingClient& client, const std::string& addr,
                            const std::function<bool(const RemotingCommand&)>& take,
                            std::chrono::milliseconds timeout) {
  int64_t next = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = client.invoke(addr, pull_request(kMetadataTopicName, 0, next, 32, 1000), 5s);
    if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) continue;
    if (take(*r)) return true;
    const auto* ext = r->ext<protocol::PullMessageResponseT>();
    if (ext != nullptr) next = ext->next_begin_offset;
  }
  return false;
}

// Long-polls broker `addr`'s copy of the metadata topic until its records carry every offset
// of `want` (or `timeout` passes); returns the offsets they carried.
inline OffsetMap await_replicated_offsets(remoting::RemotingClient& client, const std::string& addr,
                                          const OffsetMap& want,
                                          std::chrono::milliseconds timeout) {
  OffsetMap seen;
  auto carries_all = [&] {
    for (const auto& [k, v] : want)
      if (!seen.count(k) || seen[k] != v) return false;
    return true;
  };
  if (carries_all()) return seen;
  follow_metadata(
      client, addr,
      [&](const RemotingCommand& resp) {
        collect_metadata_offsets(resp, seen);
        return carries_all();
      },
      timeout);
  return seen;
}

// Long-polls broker `addr`'s copy of the metadata topic until a record carries the config of
// `topic`; true when one did within `timeout`.
inline bool await_replicated_topic(remoting::RemotingClient& client, const std::string& addr,
                                   const std::string& topic, std::chrono::milliseconds timeout) {
  return follow_metadata(
      client, addr,
      [&](const RemotingCommand& resp) {
        for (const auto& r : metadata_records_of(resp))
          for (const auto& t : r.topics)
            if (t && t->topic_name == topic) return true;
        return false;
      },
      timeout);
}

// The offsets broker `addr` answers for queues 0..queues-1 of `group` on `topic` (-1: none).
inline OffsetMap query_offsets(remoting::RemotingClient& client, const std::string& addr,
                               const std::string& group, const std::string& topic, int queues) {
  OffsetMap out;
  for (int q = 0; q < queues; ++q) {
    auto r = client.invoke(addr, query_offset_request(group, topic, q), 5s);
    const auto* ext = r.is_ok() ? r->ext<protocol::ConsumerOffsetResponseT>() : nullptr;
    out[offset_key(group, topic, q)] = ext ? ext->offset : -1;
  }
  return out;
}

}  // namespace comet::testing
