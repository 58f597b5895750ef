// A configuration struct's keys as one table: for each key its properties name, a one-line
// description, how a value is read into the struct and how the struct's value is shown. Parsing,
// `--help` (names with the defaults of a default-constructed struct) and the unknown-key warning
// all read the same table, so a key cannot be parsed without being listed, nor listed with a
// default that is not the real one.
#pragma once

#include <algorithm>
#include <concepts>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/properties.h"
#include "common/status.h"

namespace comet {

template <typename Config>
struct ConfigKey {
  std::string_view name;
  std::string_view description;
  // Reads the key's value from the properties into the config; absent, it leaves the config as
  // it is. An error names the key.
  std::function<Status(const Properties&, std::string_view name, Config&)> parse;
  // The config's value for the key, as it would be written in a properties file.
  std::function<std::string(const Config&)> show;
};

template <typename Config>
using ConfigKeys = std::vector<ConfigKey<Config>>;

// The values an integer key accepts, inclusive.
template <typename T>
struct KeyRange {
  T lo = std::numeric_limits<T>::min();
  T hi = std::numeric_limits<T>::max();
};

namespace config_detail {

template <std::integral T>
Status read_integer(const Properties& p, std::string_view name, KeyRange<T> range, T& out) {
  if constexpr (std::is_unsigned_v<T>) {
    uint64_t v = out;
    COMET_RETURN_IF_ERROR(p.get_uint_in(name, range.lo, range.hi, v));
    out = static_cast<T>(v);
  } else {
    int64_t v = out;
    COMET_RETURN_IF_ERROR(p.get_int(name, v));
    if (v < range.lo || v > range.hi) {
      return Status::invalid_argument(std::string(name) + ": must be within " +
                                      std::to_string(range.lo) + ".." + std::to_string(range.hi) +
                                      ", got " + std::to_string(v));
    }
    out = static_cast<T>(v);
  }
  return Status::ok();
}

}  // namespace config_detail

// A key stored in one field, read with the properties getter of the field's type: integers
// within `range` (their type's range by default), booleans as true/false/1/0, strings as they
// are. `field` is a member pointer or a generic lambda returning a reference to the field (for a
// field of a nested struct).
template <typename Config, typename Field,
          typename T = std::remove_cvref_t<std::invoke_result_t<Field, Config&>>>
ConfigKey<Config> field_key(std::string_view name, Field field, std::string_view description,
                            KeyRange<T> range = {}) {
  ConfigKey<Config> key{name, description, nullptr, nullptr};
  key.parse = [field, range](const Properties& p, std::string_view n, Config& c) -> Status {
    T& value = std::invoke(field, c);
    (void)range;  // read by integers only
    if constexpr (std::is_same_v<T, bool>) {
      return p.get_bool(n, value);
    } else if constexpr (std::is_same_v<T, std::string>) {
      return p.get_string(n, value);
    } else {
      return config_detail::read_integer(p, n, range, value);
    }
  };
  key.show = [field](const Config& c) -> std::string {
    const T& value = std::invoke(field, c);
    if constexpr (std::is_same_v<T, bool>) {
      return value ? "true" : "false";
    } else if constexpr (std::is_same_v<T, std::string>) {
      return value;
    } else {
      return std::to_string(value);
    }
  };
  return key;
}

// Adds the keys of a nested struct (`Outer::*member`) to `out`, reading and showing that member.
template <typename Outer, typename Inner>
void append_nested_keys(ConfigKeys<Outer>& out, Inner Outer::*member,
                        const ConfigKeys<Inner>& keys) {
  for (const ConfigKey<Inner>& k : keys) {
    out.push_back({k.name, k.description,
                   [member, parse = k.parse](const Properties& p, std::string_view n, Outer& c) {
                     return parse(p, n, c.*member);
                   },
                   [member, show = k.show](const Outer& c) { return show(c.*member); }});
  }
}

// Reads every key of the table from `p` into `config`, in table order; stops at the first error.
template <typename Config>
Status parse_config_keys(const ConfigKeys<Config>& keys, const Properties& p, Config& config) {
  for (const ConfigKey<Config>& k : keys)
    COMET_RETURN_IF_ERROR(k.parse(p, k.name, config));
  return Status::ok();
}

// One line per key, "  name=default   description", the defaults read from `defaults`. The
// descriptions line up after the usual assignment; a longer one (a list of values) pushes only
// its own description to the right.
template <typename Config>
std::string describe_config_keys(const ConfigKeys<Config>& keys, const Config& defaults) {
  constexpr size_t kMaxAlign = 44;
  std::vector<std::string> assignments;
  size_t width = 0;
  for (const ConfigKey<Config>& k : keys) {
    assignments.push_back(std::string(k.name) + "=" + k.show(defaults));
    if (assignments.back().size() <= kMaxAlign) width = std::max(width, assignments.back().size());
  }
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t pad = assignments[i].size() < width ? width - assignments[i].size() : 0;
    out += "  " + assignments[i] + std::string(pad + 3, ' ');
    out.append(keys[i].description).append("\n");
  }
  return out;
}

// The keys of `p` that the table does not name (each deserves a warning: a typo sets nothing).
template <typename Config>
std::vector<std::string> unknown_config_keys(const ConfigKeys<Config>& keys, const Properties& p) {
  std::vector<std::string> unknown;
  for (const auto& entry : p.values()) {
    // Not a structured binding: clang 14 (scripts/fuzz.sh) cannot capture one in a lambda.
    const std::string& name = entry.first;
    auto named = [&](const ConfigKey<Config>& k) { return k.name == name; };
    if (std::none_of(keys.begin(), keys.end(), named)) unknown.push_back(name);
  }
  return unknown;
}

}  // namespace comet
