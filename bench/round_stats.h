// Small statistics the comet-bench modes that alternate rounds share (delay, transaction,
// compare): the median of the rounds, their range and list for the tables and JSON, and
// microseconds as milliseconds.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace comet::bench {

inline double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// "lo–hi" of the rounds, rounded; "—" when there were none.
inline std::string range_of(const std::vector<double>& v) {
  if (v.empty()) return "—";
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return fmt::format("{:.0f}–{:.0f}", *lo, *hi);
}

// "[a,b,c]" of the rounds, rounded: a JSON array.
inline std::string numbers_json(const std::vector<double>& v) {
  std::string out;
  for (double x : v)
    out += fmt::format("{}{:.0f}", out.empty() ? "" : ",", x);
  return "[" + out + "]";
}

inline double ms_of(uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

}  // namespace comet::bench
