// RocketMQ 4.x clients on comet's ports: the translation between a RocketMQ connection's frames
// and the native commands every processor takes (docs/architecture.md, "RocketMQ protocol").
//
// A server connection decides its protocol from its first frame (detect_protocol); a RocketMQ
// connection gets a RocketmqSession, which turns each RocketMQ request into the native
// RemotingCommand the existing handlers take and remembers, per opaque, what it needs to turn the
// native answer back (the request's code, serialize type, version, the sizes of the records it
// built). Requests the server starts (NOTIFY_CONSUMER_IDS_CHANGED, CHECK_TRANSACTION_STATE) are
// translated the same way. I/O-free: the connection feeds it and writes what it returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/record_codec.h"
#include "common/status.h"
#include "remoting/remoting_command.h"
#include "remoting/rocketmq_codec.h"

namespace comet::remoting {

enum class Protocol : uint8_t { kUndecided = 0, kNative = 1, kRocketmq = 2 };

// The bytes a native frame carries at 12..15: its FlatBuffers header's file identifier.
constexpr size_t kProtocolDetectBytes = 16;
// kNative when bytes 12..15 are the native header's identifier ("CMT1"), kRocketmq otherwise,
// kUndecided under kProtocolDetectBytes.
Protocol detect_protocol(const uint8_t* bytes, size_t n);
std::string_view protocol_name(Protocol p);

namespace rocketmq {

// What the session keeps of a request it translated until its answer passes.
struct PendingAnswer {
  int32_t code = 0;  // the RocketMQ request code
  SerializeType serialize_type = SerializeType::kJson;
  int32_t version = 0;
  bool standard_json = true;           // route and cluster answers: quoted brokerAddrs keys
  std::vector<uint32_t> record_sizes;  // sends: the records built, in order
  std::string subject;  // route answers: the topic asked for; consumer lists: the group
};

// A native request plus what its answer needs, or a RocketMQ answer to send straight back.
struct Inbound {
  std::optional<RemotingCommand> request;
  std::optional<Command> reply;
};

class RocketmqSession {
 public:
  // `peer_address` "ip:port" is the bornHost of what this connection sends.
  explicit RocketmqSession(const std::string& peer_address);

  // A RocketMQ request read from the connection.
  Inbound on_request(Command cmd);
  // A native frame about to be written: a response to a request on_request translated, or a
  // request the server starts. nullopt: nothing to write (a oneway request's answer, a stray).
  // kInvalidArgument when a server request has no RocketMQ form.
  Result<std::optional<Command>> on_outgoing(RemotingCommand native);
  // A RocketMQ response (to a request the server started) as the native response it awaits.
  RemotingCommand on_response(const Command& cmd);

  HostAddress peer() const { return peer_; }

  // Whether the session translates a RocketMQ request code.
  static bool serves(int32_t code);

 private:
  HostAddress peer_;
  mutable std::mutex mu_;
  std::unordered_map<uint32_t, PendingAnswer> pending_;  // guarded by mu_, by native opaque
};

// Response codes only comet has, as RocketMQ's nearest (the remark says the rest).
int32_t to_rocketmq_response_code(int32_t native_code);

}  // namespace rocketmq
}  // namespace comet::remoting
