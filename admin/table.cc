#include "admin/table.h"

#include <algorithm>
#include <cstdio>

namespace comet::admin {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when it is not one.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

size_t display_width(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t len = utf8_sequence(s, i);
    i += len == 0 ? 1 : len;
    ++n;
  }
  return n;
}

std::string printable(std::string_view s, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size();) {
    if (chars == max_chars) {
      out += "...";
      break;
    }
    const size_t len = utf8_sequence(s, i);
    const auto c = static_cast<unsigned char>(s[i]);
    if (len == 0 || (len == 1 && (c < 0x20 || c == 0x7F))) {
      out += '.';
      i += 1;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
    ++chars;
  }
  return out;
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  char buf[8];
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = utf8_sequence(s, i);
    if (len > 1) {
      out.append(s.substr(i, len));
      i += len;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7F) {
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = display_width(headers_[c]);
    for (const auto& row : rows_)
      widths[c] = std::max(widths[c], display_width(row[c]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      text += cells[c];
      if (c + 1 < cells.size()) text.append(widths[c] - display_width(cells[c]) + 2, ' ');
    }
    out << text << '\n';
  };
  line(headers_);
  for (const auto& row : rows_)
    line(row);
}

void print_key_values(std::ostream& out,
                      const std::vector<std::pair<std::string, std::string>>& entries) {
  size_t width = 0;
  for (const auto& [k, _] : entries)
    width = std::max(width, display_width(k));
  for (const auto& [k, v] : entries) {
    out << k << std::string(width - display_width(k), ' ') << " : " << v << '\n';
  }
}

void JsonWriter::newline_indent() {
  out_ << '\n' << std::string(stack_.size() * 2, ' ');
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  if (stack_.back().count++ > 0) out_ << ',';
  newline_indent();
}

JsonWriter& JsonWriter::after_value() {
  if (stack_.empty()) out_ << '\n';
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  if (stack_.back().count++ > 0) out_ << ',';
  newline_indent();
  out_ << json_quote(k) << ": ";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ << '{';
  stack_.push_back({true, 0});
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ << '[';
  stack_.push_back({false, 0});
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  const bool any = stack_.back().count > 0;
  stack_.pop_back();
  if (any) newline_indent();
  out_ << '}';
  return after_value();
}

JsonWriter& JsonWriter::end_array() {
  const bool any = stack_.back().count > 0;
  stack_.pop_back();
  if (any) newline_indent();
  out_ << ']';
  return after_value();
}

JsonWriter& JsonWriter::value(std::string_view v) {
  before_value();
  out_ << json_quote(v);
  return after_value();
}

JsonWriter& JsonWriter::value(bool v) {
  before_value();
  out_ << (v ? "true" : "false");
  return after_value();
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ << "null";
  return after_value();
}

}  // namespace comet::admin
