// Numbers written as text in message properties (DELAY, REAL_QID, RECONSUME_TIME, TIMER_*):
// read whole or not at all.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace comet {

// The decimal number that is all of `text` (a sign only where T is signed; no spaces, nothing
// after it, in T's range), or nullopt.
template <typename T>
std::optional<T> parse_whole_number(std::string_view text) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace comet
