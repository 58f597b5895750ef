// Output for comet-admin: Table prints left-aligned columns padded to their widest cell (widths
// in UTF-8 code points), two spaces apart, like mqadmin; JsonWriter streams pretty-printed JSON,
// placing commas and indentation itself. Strings are escaped as JSON requires; bytes that are
// not valid UTF-8 are written as \u00XX (their Latin-1 reading) so the output always parses.
#pragma once

#include <concepts>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace comet::admin {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // Missing cells print empty; extra cells are dropped.
  void add_row(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// `key: value` lines with the keys padded to the widest (mqadmin's brokerStatus layout).
void print_key_values(std::ostream& out,
                      const std::vector<std::pair<std::string, std::string>>& entries);

size_t display_width(std::string_view s);
std::string json_quote(std::string_view s);
// Control characters and invalid UTF-8 become '.'; longer than `max_chars` code points is cut
// there and ends in "...".
std::string printable(std::string_view s, size_t max_chars);

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view v);
  JsonWriter& value(const std::string& v) { return value(std::string_view(v)); }
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(bool v);
  template <std::integral T>
  JsonWriter& value(T v) {
    before_value();
    out_ << +v;
    return after_value();
  }
  // Rates and averages: two decimals, as the tables show them.
  template <std::floating_point T>
  JsonWriter& value(T v) {
    before_value();
    out_ << fmt::format("{:.2f}", v);
    return after_value();
  }
  JsonWriter& null();

  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

 private:
  struct Frame {
    bool object;
    size_t count;
  };
  void before_value();
  JsonWriter& after_value();
  void newline_indent();

  std::ostream& out_;
  std::vector<Frame> stack_;
  bool after_key_ = false;
};

}  // namespace comet::admin
