// RocketMQ-style `.properties` configuration: `key=value` lines, `#`/`!` comments, blank lines.
// Typed getters fail with a message naming the key when a value does not parse.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace comet {

class Properties {
 public:
  static Result<Properties> parse(std::string_view text);
  static Result<Properties> load_file(const std::string& path);

  void set(std::string key, std::string value) { values_[std::move(key)] = std::move(value); }
  bool contains(std::string_view key) const { return values_.find(key) != values_.end(); }
  const std::map<std::string, std::string, std::less<>>& values() const { return values_; }

  // Each getter leaves `out` untouched when the key is absent.
  Status get_string(std::string_view key, std::string& out) const;
  Status get_int(std::string_view key, int64_t& out) const;
  Status get_uint(std::string_view key, uint64_t& out) const;
  // get_uint, and the value must be within [lo, hi].
  Status get_uint_in(std::string_view key, uint64_t lo, uint64_t hi, uint64_t& out) const;
  Status get_bool(std::string_view key, bool& out) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace comet
