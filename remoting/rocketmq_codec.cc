#include "remoting/rocketmq_codec.h"

namespace comet::remoting::rocketmq {
namespace {
Status codec_unimplemented() {
  return Status::unsupported("rocketmq codec: not implemented yet");
}
}  // namespace

const std::string* ExtFields::find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}
std::string_view ExtFields::get(std::string_view key) const {
  const std::string* v = find(key);
  return v ? std::string_view(*v) : std::string_view();
}
void ExtFields::set(std::string key, std::string value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}
Result<int64_t> ExtFields::get_int(std::string_view) const {
  return codec_unimplemented();
}
int64_t ExtFields::get_int_or(std::string_view, int64_t fallback) const {
  return fallback;
}
bool ExtFields::get_bool_or(std::string_view, bool fallback) const {
  return fallback;
}
Command Command::response_to(const Command& req, int32_t code, std::string remark) {
  Command c;
  c.code = code;
  c.opaque = req.opaque;
  c.flag = kFlagResponse;
  c.serialize_type = req.serialize_type;
  if (!remark.empty()) c.remark = std::move(remark);
  return c;
}
Result<FramePrefix> decode_prefix(const uint8_t*, uint32_t) {
  return codec_unimplemented();
}
Result<Command> decode_frame_rest(const FramePrefix&, const uint8_t*) {
  return codec_unimplemented();
}
Result<Command> decode_frame(std::string_view, uint32_t) {
  return codec_unimplemented();
}
Result<Command> decode_json_header(std::string_view) {
  return codec_unimplemented();
}
Result<Command> decode_binary_header(std::string_view) {
  return codec_unimplemented();
}
std::string_view language_name(uint8_t) {
  return "JAVA";
}
uint8_t language_ordinal(std::string_view) {
  return 0;
}
std::string encode_header(const Command&) {
  return {};
}
std::string encode_frame_head(const Command&, size_t) {
  return {};
}
std::string encode_frame(const Command&) {
  return {};
}

}  // namespace comet::remoting::rocketmq
