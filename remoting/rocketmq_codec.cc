#include "remoting/rocketmq_codec.h"

// Not RAPIDJSON_SSE2: RapidJSON 1.1's SIMD string scans (reader and writer) take only bytes up to
// 0x19 for control characters, so 0x1A-0x1F would be read from and written into JSON strings
// unescaped (rocketmq_fuzzer found it); the scalar paths check the whole range. Every file
// including RapidJSON must agree on the macro anyway: its templates are shared (ODR).
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <cstring>
#include <limits>

#include "common/whole_number.h"
#include "remoting/rocketmq_bytes.h"

namespace comet::remoting::rocketmq {

using detail::BeReader;
using detail::get_be;
using detail::put_be;

// ---- ExtFields and Command ----

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

Result<int64_t> ExtFields::get_int(std::string_view key) const {
  const std::string* v = find(key);
  if (v == nullptr)
    return Status::invalid_argument("extField '" + std::string(key) + "' is missing");
  auto n = parse_whole_number<int64_t>(*v);
  if (!n) return Status::invalid_argument("extField '" + std::string(key) + "' is not an integer");
  return *n;
}

int64_t ExtFields::get_int_or(std::string_view key, int64_t fallback) const {
  const std::string* v = find(key);
  if (v == nullptr) return fallback;
  return parse_whole_number<int64_t>(*v).value_or(fallback);
}

bool ExtFields::get_bool_or(std::string_view key, bool fallback) const {
  const std::string* v = find(key);
  if (v == nullptr) return fallback;
  if (*v == "true") return true;
  if (*v == "false") return false;
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

// ---- Languages (LanguageCode.java: the binary header carries the ordinal) ----

namespace {
constexpr std::array<std::string_view, 13> kLanguages = {
    "JAVA",  "CPP",  "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY",
    "OTHER", "HTTP", "GO",     "PHP",    "OMS",    "RUST"};
constexpr uint8_t kLanguageOther = 7;
}  // namespace

std::string_view language_name(uint8_t ordinal) {
  return ordinal < kLanguages.size() ? kLanguages[ordinal] : kLanguages[kLanguageOther];
}

uint8_t language_ordinal(std::string_view name) {
  for (size_t i = 0; i < kLanguages.size(); ++i) {
    if (kLanguages[i] == name) return static_cast<uint8_t>(i);
  }
  return kLanguageOther;
}

// ---- The JSON header: one SAX pass, no DOM ----

namespace {

enum class HeaderField { kCode, kFlag, kOpaque, kVersion, kLanguage, kRemark, kExtFields, kOther };

HeaderField header_field(std::string_view key) {
  if (key == "code") return HeaderField::kCode;
  if (key == "flag") return HeaderField::kFlag;
  if (key == "opaque") return HeaderField::kOpaque;
  if (key == "version") return HeaderField::kVersion;
  if (key == "language") return HeaderField::kLanguage;
  if (key == "remark") return HeaderField::kRemark;
  if (key == "extFields") return HeaderField::kExtFields;
  return HeaderField::kOther;
}

// Builds a Command from the reader's events. Depth 1 is the header object, depth 2 inside
// extFields is a key/value map; anything nested elsewhere (unknown fields) is skipped, bounded
// by kMaxJsonDepth.
class JsonHeaderHandler
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, JsonHeaderHandler> {
 public:
  explicit JsonHeaderHandler(Command& cmd) : cmd_(cmd) {}

  bool Null() {
    if (depth_ == 1 && field_ == HeaderField::kRemark) cmd_.remark.reset();
    if (in_ext_value()) {  // a null value: the key is absent, as in Java's map
      auto& items = cmd_.ext.items;
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(ext_index_));
    }
    return check_root_scalar();
  }
  bool Bool(bool b) { return scalar(b ? "true" : "false"); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return scalar({s, n}); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return scalar({s, n}); }

  bool StartObject() {
    if (depth_ == 1 && field_ == HeaderField::kExtFields) {
      in_ext_ = true;
    } else if (!container_allowed()) {
      return false;
    }
    return push();
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    std::string_view key(s, n);
    if (depth_ == 1) {
      field_ = header_field(key);
    } else if (depth_ == 2 && in_ext_) {
      return ext_key(key);
    }
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    if (depth_ == 2 && in_ext_) in_ext_ = false;
    --depth_;
    return true;
  }
  bool StartArray() {
    if (depth_ == 0) return fail(Status::corruption("JSON header is not an object"));
    if (depth_ == 1 && field_ == HeaderField::kExtFields)
      return fail(Status::invalid_argument("extFields is not an object"));
    if (!container_allowed()) return false;
    return push();
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return true;
  }

  bool saw_code() const { return saw_code_; }
  const Status& error() const { return error_; }

 private:
  bool in_ext_value() const { return in_ext_ && depth_ == 2; }
  // An object may start as the root; an object or array as the value of an unknown field or
  // inside one; not as a known field's or an extField's value.
  bool container_allowed() {
    if (depth_ == 0) return true;
    if (in_ext_value()) return fail_ext_value();
    if (depth_ == 1 && field_ != HeaderField::kOther)
      return fail(Status::invalid_argument("header field '" + field_name() + "' is not a scalar"));
    return true;
  }
  std::string field_name() const {
    switch (field_) {
      case HeaderField::kCode:
        return "code";
      case HeaderField::kFlag:
        return "flag";
      case HeaderField::kOpaque:
        return "opaque";
      case HeaderField::kVersion:
        return "version";
      case HeaderField::kLanguage:
        return "language";
      case HeaderField::kRemark:
        return "remark";
      case HeaderField::kExtFields:
        return "extFields";
      case HeaderField::kOther:
        break;
    }
    return "?";
  }
  bool push() {
    if (++depth_ > static_cast<int>(kMaxJsonDepth))
      return fail(
          Status::corruption("JSON header nested deeper than " + std::to_string(kMaxJsonDepth)));
    return true;
  }
  bool check_root_scalar() {
    if (depth_ == 0) return fail(Status::corruption("JSON header is not an object"));
    return true;
  }
  bool fail(Status s) {
    error_ = std::move(s);
    return false;
  }
  bool fail_ext_value() {
    return fail(Status::invalid_argument("extField '" + cmd_.ext.items[ext_index_].first +
                                         "' is not a string, number "
                                         "or boolean"));
  }

  bool scalar(std::string_view text) {
    if (!check_root_scalar()) return false;
    if (in_ext_value()) return ext_value(text);
    if (depth_ != 1) return true;
    switch (field_) {
      case HeaderField::kCode:
        saw_code_ = true;
        return int_field("code", text, cmd_.code);
      case HeaderField::kFlag:
        return int_field("flag", text, cmd_.flag);
      case HeaderField::kOpaque:
        return int_field("opaque", text, cmd_.opaque);
      case HeaderField::kVersion:
        return int_field("version", text, cmd_.version);
      case HeaderField::kLanguage:
        cmd_.language.assign(text);
        return true;
      case HeaderField::kRemark:
        cmd_.remark.emplace(text);
        return true;
      case HeaderField::kExtFields:
        return fail(Status::invalid_argument("extFields is not an object"));
      case HeaderField::kOther:
        return true;
    }
    return true;
  }
  bool int_field(const char* name, std::string_view text, int32_t& out) {
    auto v = parse_whole_number<int32_t>(text);
    if (!v)
      return fail(Status::invalid_argument(std::string("header field '") + name +
                                           "' is not an int32: " + std::string(text)));
    out = *v;
    return true;
  }
  // The key goes into the map at once (its value assigned next), so the reader's transient copy
  // is copied once.
  bool ext_key(std::string_view key) {
    auto& items = cmd_.ext.items;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string& k = items[i].first;
      // Most keys are one letter (a..n): size and first byte settle nearly every comparison.
      if (k.size() == key.size() && (key.empty() || (k[0] == key[0] && k == key))) {
        ext_index_ = i;
        return true;
      }
    }
    if (items.size() >= kMaxExtFields)
      return fail(
          Status::invalid_argument("more than " + std::to_string(kMaxExtFields) + " extFields"));
    if (items.empty()) items.reserve(16);
    items.emplace_back(std::string(key), std::string());
    ext_index_ = items.size() - 1;
    return true;
  }
  bool ext_value(std::string_view text) {
    cmd_.ext.items[ext_index_].second.assign(text);
    return true;
  }

  Command& cmd_;
  int depth_ = 0;
  HeaderField field_ = HeaderField::kOther;
  bool in_ext_ = false;
  bool saw_code_ = false;
  size_t ext_index_ = 0;  // the extField whose value comes next
  Status error_;
};

// In situ: the header is copied once into a per-thread buffer and unescaped there, so strings
// reach the handler without another copy.
constexpr unsigned kHeaderParseFlags = rapidjson::kParseInsituFlag |
                                       rapidjson::kParseIterativeFlag |
                                       rapidjson::kParseNumbersAsStringsFlag;

}  // namespace

Result<Command> decode_json_header(std::string_view header) {
  // The reader stops at a NUL; raw NULs are never valid JSON, so refuse them outright.
  if (std::memchr(header.data(), '\0', header.size()) != nullptr)
    return Status::corruption("JSON header holds a NUL byte");
  Command cmd;
  cmd.version = 0;  // Java's default when a header has none
  cmd.serialize_type = SerializeType::kJson;
  JsonHeaderHandler handler(cmd);
  // One buffer and reader per thread, kept between headers (the reader's stack holds its state).
  thread_local std::string buffer;
  thread_local rapidjson::Reader reader;
  // NUL-terminated where the in-situ stream ends, and padded (harmless without the SIMD scans,
  // which load whole aligned 16-byte blocks past the NUL: kept should they come back).
  buffer.assign(header);
  buffer.append(16, '\0');
  rapidjson::InsituStringStream stream(buffer.data());
  rapidjson::ParseResult ok = reader.Parse<kHeaderParseFlags>(stream, handler);
  if (!handler.error().is_ok()) return handler.error();
  if (!ok) {
    return Status::corruption(std::string("bad JSON header at byte ") +
                              std::to_string(ok.Offset()) + ": " +
                              rapidjson::GetParseError_En(ok.Code()));
  }
  if (!handler.saw_code()) return Status::invalid_argument("JSON header has no code");
  return cmd;
}

// ---- The ROCKETMQ binary header ----

namespace {
// code(2) language(1) version(2) opaque(4) flag(4) remarkLen(4) extLen(4)
constexpr size_t kBinaryHeaderFixed = 21;

Status decode_binary_ext(std::string_view map, ExtFields& ext) {
  BeReader in(map);
  while (in.left() > 0) {
    auto key_len = in.read<int16_t>();
    std::string_view key = in.bytes(key_len);
    auto value_len = in.read<int32_t>();
    std::string_view value = in.bytes(value_len);
    if (!in.ok()) return Status::corruption("binary header extFields entry runs past its map");
    if (ext.items.size() >= kMaxExtFields && ext.find(key) == nullptr)
      return Status::invalid_argument("more than " + std::to_string(kMaxExtFields) + " extFields");
    ext.set(std::string(key), std::string(value));
  }
  return Status::ok();
}
}  // namespace

Result<Command> decode_binary_header(std::string_view header) {
  if (header.size() < kBinaryHeaderFixed)
    return Status::corruption("binary header of " + std::to_string(header.size()) +
                              " bytes is shorter than its fixed fields");
  BeReader in(header);
  Command cmd;
  cmd.serialize_type = SerializeType::kRocketmq;
  cmd.code = in.read<int16_t>();
  cmd.language = std::string(language_name(in.read<uint8_t>()));
  cmd.version = in.read<int16_t>();
  cmd.opaque = in.read<int32_t>();
  cmd.flag = in.read<int32_t>();
  auto remark_len = in.read<int32_t>();
  std::string_view remark = in.bytes(remark_len);
  if (!in.ok()) return Status::corruption("binary header remark length runs past the header");
  if (!remark.empty()) cmd.remark.emplace(remark);
  auto ext_len = in.read<int32_t>();
  std::string_view ext = in.bytes(ext_len);
  if (!in.ok()) return Status::corruption("binary header extFields length runs past the header");
  COMET_RETURN_IF_ERROR(decode_binary_ext(ext, cmd.ext));
  return cmd;
}

// ---- Frames ----

Result<FramePrefix> decode_prefix(const uint8_t* p, uint32_t max_frame_bytes) {
  FramePrefix prefix;
  prefix.length = get_be<uint32_t>(p);
  if (prefix.length > max_frame_bytes)
    return Status::message_too_large("frame of " + std::to_string(prefix.length) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(max_frame_bytes));
  if (prefix.length < 4)
    return Status::corruption("frame length " + std::to_string(prefix.length) + " is below 4");
  uint8_t type = p[4];
  if (type > static_cast<uint8_t>(SerializeType::kRocketmq))
    return Status::corruption("unknown serialize type " + std::to_string(type));
  prefix.type = static_cast<SerializeType>(type);
  prefix.header_length = get_be<uint32_t>(p + 4) & 0xFFFFFF;
  if (prefix.header_length > prefix.rest())
    return Status::corruption("header length " + std::to_string(prefix.header_length) +
                              " exceeds the frame's " + std::to_string(prefix.rest()) + " bytes");
  return prefix;
}

Result<Command> decode_frame_rest(const FramePrefix& prefix, const uint8_t* p) {
  std::string_view header(reinterpret_cast<const char*>(p), prefix.header_length);
  Result<Command> cmd = prefix.type == SerializeType::kJson ? decode_json_header(header)
                                                            : decode_binary_header(header);
  if (!cmd.is_ok()) return cmd;
  cmd->body.assign(reinterpret_cast<const char*>(p) + prefix.header_length,
                   prefix.rest() - prefix.header_length);
  return cmd;
}

Result<Command> decode_frame(std::string_view frame, uint32_t max_frame_bytes) {
  if (frame.size() < kPrefixSize)
    return Status::corruption("frame of " + std::to_string(frame.size()) +
                              " bytes is shorter than its prefix");
  const auto* p = reinterpret_cast<const uint8_t*>(frame.data());
  COMET_ASSIGN_OR_RETURN(FramePrefix prefix, decode_prefix(p, max_frame_bytes));
  if (frame.size() - kPrefixSize != prefix.rest())
    return Status::corruption("frame length " + std::to_string(prefix.length) + " but " +
                              std::to_string(frame.size() - 4) + " bytes follow it");
  return decode_frame_rest(prefix, p + kPrefixSize);
}

// ---- Encoding ----

namespace {

void append_json_header(const Command& cmd, std::string& out) {
  // One buffer per thread: the send path encodes a header per answer without allocating.
  thread_local rapidjson::StringBuffer buffer;
  buffer.Clear();
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&w](std::string_view s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  // Fields in the order Java's fastjson writes them (alphabetical).
  w.StartObject();
  w.Key("code");
  w.Int(cmd.code);
  w.Key("extFields");
  w.StartObject();
  for (const auto& [k, v] : cmd.ext.items) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    str(v);
  }
  w.EndObject();
  w.Key("flag");
  w.Int(cmd.flag);
  w.Key("language");
  str(cmd.language);
  w.Key("opaque");
  w.Int(cmd.opaque);
  if (cmd.remark) {
    w.Key("remark");
    str(*cmd.remark);
  }
  w.Key("version");
  w.Int(cmd.version);
  w.EndObject();
  out.append(buffer.GetString(), buffer.GetSize());
}

void append_binary_header(const Command& cmd, std::string& out) {
  put_be<int16_t>(out, static_cast<int16_t>(cmd.code));
  out.push_back(static_cast<char>(language_ordinal(cmd.language)));
  put_be<int16_t>(out, static_cast<int16_t>(cmd.version));
  put_be<int32_t>(out, cmd.opaque);
  put_be<int32_t>(out, cmd.flag);
  const std::string remark = cmd.remark.value_or(std::string());
  put_be<int32_t>(out, static_cast<int32_t>(remark.size()));
  out.append(remark);
  size_t map_size = 0;
  for (const auto& [k, v] : cmd.ext.items)
    map_size += 2 + k.size() + 4 + v.size();
  put_be<int32_t>(out, static_cast<int32_t>(map_size));
  for (const auto& [k, v] : cmd.ext.items) {
    put_be<int16_t>(out, static_cast<int16_t>(k.size()));
    out.append(k);
    put_be<int32_t>(out, static_cast<int32_t>(v.size()));
    out.append(v);
  }
}

void append_header(const Command& cmd, std::string& out) {
  if (cmd.serialize_type == SerializeType::kJson) {
    append_json_header(cmd, out);
  } else {
    append_binary_header(cmd, out);
  }
}

}  // namespace

std::string encode_header(const Command& cmd) {
  std::string out;
  out.reserve(256);
  append_header(cmd, out);
  return out;
}

std::string encode_frame_head(const Command& cmd, size_t body_size) {
  std::string out;
  out.reserve(kPrefixSize + 256);
  out.resize(kPrefixSize);
  append_header(cmd, out);
  const size_t header_size = out.size() - kPrefixSize;
  std::string prefix;
  put_be<uint32_t>(prefix, static_cast<uint32_t>(4 + header_size + body_size));
  put_be<uint32_t>(prefix, (static_cast<uint32_t>(cmd.serialize_type) << 24) |
                               static_cast<uint32_t>(header_size & 0xFFFFFF));
  out.replace(0, kPrefixSize, prefix);
  return out;
}

std::string encode_frame(const Command& cmd) {
  std::string out = encode_frame_head(cmd, cmd.body.size());
  out.append(cmd.body);
  return out;
}

}  // namespace comet::remoting::rocketmq
