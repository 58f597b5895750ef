#include "common/properties.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace comet {
namespace {

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<Properties> Properties::parse(std::string_view text) {
  Properties p;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    size_t eq = line.find_first_of("=:");
    if (eq == std::string_view::npos) {
      return Status::invalid_argument("line " + std::to_string(line_no) +
                                      ": expected key=value, got '" + std::string(line) + "'");
    }
    std::string_view key = trim(line.substr(0, eq));
    if (key.empty()) {
      return Status::invalid_argument("line " + std::to_string(line_no) + ": empty key");
    }
    p.set(std::string(key), std::string(trim(line.substr(eq + 1))));
  }
  return p;
}

Result<Properties> Properties::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot open config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str());
}

Status Properties::get_string(std::string_view key, std::string& out) const {
  auto it = values_.find(key);
  if (it != values_.end()) out = it->second;
  return Status::ok();
}

Status Properties::get_int(std::string_view key, int64_t& out) const {
  auto it = values_.find(key);
  if (it == values_.end()) return Status::ok();
  const std::string& v = it->second;
  int64_t parsed = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
  if (ec != std::errc() || ptr != v.data() + v.size()) {
    return Status::invalid_argument(std::string(key) + ": '" + v + "' is not an integer");
  }
  out = parsed;
  return Status::ok();
}

Status Properties::get_uint(std::string_view key, uint64_t& out) const {
  int64_t v = 0;
  bool present = contains(key);
  COMET_RETURN_IF_ERROR(get_int(key, v));
  if (!present) return Status::ok();
  if (v < 0) {
    return Status::invalid_argument(std::string(key) + ": must not be negative, got " +
                                    std::to_string(v));
  }
  out = static_cast<uint64_t>(v);
  return Status::ok();
}

Status Properties::get_uint_in(std::string_view key, uint64_t lo, uint64_t hi,
                               uint64_t& out) const {
  uint64_t v = out;
  COMET_RETURN_IF_ERROR(get_uint(key, v));
  if (v < lo || v > hi) {
    return Status::invalid_argument(std::string(key) + ": must be within " + std::to_string(lo) +
                                    ".." + std::to_string(hi) + ", got " + std::to_string(v));
  }
  out = v;
  return Status::ok();
}

Status Properties::get_bool(std::string_view key, bool& out) const {
  auto it = values_.find(key);
  if (it == values_.end()) return Status::ok();
  const std::string& v = it->second;
  if (v == "true" || v == "1") {
    out = true;
  } else if (v == "false" || v == "0") {
    out = false;
  } else {
    return Status::invalid_argument(std::string(key) + ": '" + v + "' is not true/false");
  }
  return Status::ok();
}

}  // namespace comet
