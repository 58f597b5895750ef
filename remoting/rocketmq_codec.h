// The RocketMQ 4.x remoting frame and its two header encodings (JSON and the ROCKETMQ binary
// form), I/O-free. A frame is `int32 length | int32 (serializeType << 24 | headerLength) |
// header | body`, big-endian (/work/shared/rocketmq-remoting.md §1, docs/format.md). Every
// decoder checks lengths against the bytes it was given and returns a typed Status; none
// allocates more than its input justifies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace comet::remoting::rocketmq {

enum class SerializeType : uint8_t { kJson = 0, kRocketmq = 1 };
constexpr int32_t kFlagResponse = 1;     // RocketMQ's flag bit 0
constexpr int32_t kFlagOneway = 2;       // bit 1
constexpr int32_t kAnswerVersion = 407;  // the version we write (Java 4.9.7's ordinal)
constexpr size_t kPrefixSize = 8;
// A hostile header cannot make us keep more extFields than this.
constexpr size_t kMaxExtFields = 1024;
// JSON nesting deeper than this (an unknown field's value) is refused.
constexpr size_t kMaxJsonDepth = 32;

// extFields in the order read (or set): a small vector, looked up linearly.
struct ExtFields {
  std::vector<std::pair<std::string, std::string>> items;

  const std::string* find(std::string_view key) const;  // nullptr when absent
  std::string_view get(std::string_view key) const;     // "" when absent
  void set(std::string key, std::string value);         // replaces an existing key
  // Typed readers: kInvalidArgument "extField 'queueId' is missing" / "... is not an integer".
  Result<int64_t> get_int(std::string_view key) const;
  int64_t get_int_or(std::string_view key, int64_t fallback) const;  // absent or bad: fallback
  bool get_bool_or(std::string_view key, bool fallback) const;       // "true"/"false"
  bool operator==(const ExtFields&) const = default;
};

struct Command {
  int32_t code = 0;
  std::string language = "JAVA";
  int32_t version = kAnswerVersion;
  int32_t opaque = 0;
  int32_t flag = 0;
  std::optional<std::string> remark;
  ExtFields ext;
  std::string body;
  SerializeType serialize_type = SerializeType::kJson;

  bool is_response() const { return (flag & kFlagResponse) != 0; }
  bool is_oneway() const { return (flag & kFlagOneway) != 0; }
  // A response to `req`: same opaque and serialize type, flag 1, language JAVA, version 407.
  static Command response_to(const Command& req, int32_t code, std::string remark = {});
  bool operator==(const Command&) const = default;
};

struct FramePrefix {
  uint32_t length = 0;  // bytes after the length field
  SerializeType type = SerializeType::kJson;
  uint32_t header_length = 0;
  size_t rest() const { return length - 4; }
};

// The first kPrefixSize bytes at `p`: refuses a length past `max_frame_bytes`, below 4, a header
// longer than the frame, or an unknown serialize type.
Result<FramePrefix> decode_prefix(const uint8_t* p, uint32_t max_frame_bytes);
// The prefix.rest() bytes after the prefix: header, then body.
Result<Command> decode_frame_rest(const FramePrefix& prefix, const uint8_t* p);
// A whole frame, prefix included; bytes past the frame's length are refused.
Result<Command> decode_frame(std::string_view frame, uint32_t max_frame_bytes);
Result<Command> decode_json_header(std::string_view header);  // no body
Result<Command> decode_binary_header(std::string_view header);

// RocketMQ's language names by the binary header's ordinal (LanguageCode.java), and back
// (OTHER for a name not in the list).
std::string_view language_name(uint8_t ordinal);
uint8_t language_ordinal(std::string_view name);

std::string encode_header(const Command& cmd);                        // in cmd.serialize_type
std::string encode_frame_head(const Command& cmd, size_t body_size);  // prefix + header
std::string encode_frame(const Command& cmd);                         // + cmd.body

}  // namespace comet::remoting::rocketmq
