// RemotingCommand: one request or response as the code sees it (a typed FlatBuffers header plus a
// body), and the I/O-free frame codec that turns it into bytes and back. Every decode checks
// length bounds and runs the FlatBuffers verifier before touching the header.
//
// Frame: u32 totalLength | u32 headerLength | Header (FlatBuffers) | body, little-endian;
// totalLength counts every byte after itself.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "remoting/request_auth.h"
#include "remoting_generated.h"

namespace comet::remoting {

namespace protocol = ::comet::protocol;
using protocol::RequestCode;
using protocol::ResponseCode;

constexpr uint32_t kFlagResponse = 1;
constexpr uint32_t kFlagOneway = 2;
constexpr size_t kFramePrefixSize = 8;
constexpr uint32_t kDefaultMaxFrameBytes = 16 * 1024 * 1024;

// Bytes sent after the header: owned, or views into memory kept alive by `keepalive` (a pull
// response sends records straight from the mapped CommitLog).
struct Body {
  std::string owned;
  std::vector<std::pair<const uint8_t*, size_t>> views;
  std::shared_ptr<const void> keepalive;

  size_t size() const;
  bool empty() const { return size() == 0; }
  // Contiguous copy (views are joined); for small bodies and tests.
  std::string to_string() const;
};

struct RemotingCommand {
  protocol::HeaderT header;
  Body body;
  // Set by a server's reader on a request that carries a signature (either protocol); read by
  // access control (remoting/request_gate.h). Null on everything else.
  std::shared_ptr<const RequestAuth> auth;

  bool is_response() const { return (header.flags & kFlagResponse) != 0; }
  bool is_oneway() const { return (header.flags & kFlagOneway) != 0; }
  int32_t code() const { return header.code; }
  uint32_t opaque() const { return header.opaque; }
  ResponseCode response_code() const { return static_cast<ResponseCode>(header.code); }
  const std::string& remark() const { return header.remark; }

  // The typed header extension, or null when absent or of another type.
  template <typename T>
  const T* ext() const {
    return header.ext.type == protocol::ExtTraits<typename T::TableType>::enum_value
               ? reinterpret_cast<const T*>(header.ext.value)
               : nullptr;
  }
  template <typename T>
  void set_ext(T value) {
    header.ext.Set(std::move(value));
  }

  static RemotingCommand request(RequestCode code);
  // A response to `req` (same opaque).
  static RemotingCommand response_to(const RemotingCommand& req, ResponseCode code,
                                     std::string remark = {});
};

// Encodes the header and the frame prefix; the body is written after it as is.
std::string encode_frame_head(const RemotingCommand& cmd, size_t body_size);
// Whole frame in one buffer (tests, small messages).
std::string encode_frame(const RemotingCommand& cmd);

struct FramePrefix {
  uint32_t total_length = 0;  // bytes after the totalLength field
  uint32_t header_length = 0;
  size_t rest() const { return total_length - 4; }  // header + body bytes still to read
};

// Checks the 8-byte prefix against `max_frame_bytes`.
Result<FramePrefix> decode_prefix(const uint8_t* p, uint32_t max_frame_bytes);
// Decodes header + body (`prefix.rest()` bytes at `p`, which may have any alignment),
// verifying the header.
Result<RemotingCommand> decode_frame_rest(const FramePrefix& prefix, const uint8_t* p);
// Convenience: a whole frame.
Result<RemotingCommand> decode_frame(std::string_view frame, uint32_t max_frame_bytes);

std::string_view request_code_name(int32_t code);
std::string_view response_code_name(int32_t code);

}  // namespace comet::remoting
