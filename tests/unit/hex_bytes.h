// Golden bytes for wire-format tests, written by hand as hex: spaces and newlines between digits
// are ignored, so a literal can hold one field per line with a comment next to it.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace comet::testing {

inline std::string from_hex(std::string_view hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == '|') continue;
    int d = digit(c);
    if (d < 0) throw std::invalid_argument("from_hex: not a hex digit");
    if (high < 0) {
      high = d;
    } else {
      out.push_back(static_cast<char>(high * 16 + d));
      high = -1;
    }
  }
  if (high >= 0) throw std::invalid_argument("from_hex: odd number of digits");
  return out;
}

}  // namespace comet::testing
