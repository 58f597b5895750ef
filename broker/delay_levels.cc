#include "broker/delay_levels.h"

#include <algorithm>
#include <charconv>

#include "common/whole_number.h"

namespace comet::broker {
namespace {

constexpr size_t kMaxLevels = 64;

Result<int64_t> unit_ms(char unit) {
  switch (unit) {
    case 's':
      return int64_t{1000};
    case 'm':
      return int64_t{60'000};
    case 'h':
      return int64_t{3'600'000};
    case 'd':
      return int64_t{86'400'000};
    default:
      return Status::invalid_argument(std::string("unknown unit '") + unit + "'");
  }
}

Result<int64_t> parse_delay(std::string_view entry) {
  auto bad = [&](const std::string& why) {
    return Status::invalid_argument("messageDelayLevel entry '" + std::string(entry) + "': " + why);
  };
  if (entry.size() < 2) return bad("expected a number and a unit (s, m, h, d)");
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(entry.data(), entry.data() + entry.size() - 1, n);
  if (ec != std::errc() || end != entry.data() + entry.size() - 1 || n <= 0) {
    return bad("expected a positive whole number before the unit");
  }
  auto unit = unit_ms(entry.back());
  if (!unit.is_ok()) return bad(unit.status().message());
  if (n > INT64_MAX / unit.value()) return bad("too long");
  return n * unit.value();
}

}  // namespace

Result<std::vector<int64_t>> parse_delay_levels(std::string_view text) {
  std::vector<int64_t> out;
  size_t at = 0;
  while (at < text.size()) {
    if (text[at] == ' ') {
      ++at;
      continue;
    }
    const size_t end = std::min(text.find(' ', at), text.size());
    COMET_ASSIGN_OR_RETURN(int64_t ms, parse_delay(text.substr(at, end - at)));
    out.push_back(ms);
    at = end;
  }
  if (out.empty() || out.size() > kMaxLevels) {
    return Status::invalid_argument("messageDelayLevel needs 1 to " + std::to_string(kMaxLevels) +
                                    " levels, got " + std::to_string(out.size()));
  }
  return out;
}

std::string format_delay_levels(const std::vector<int64_t>& delays_ms) {
  std::string out;
  for (int64_t ms : delays_ms) {
    if (!out.empty()) out += ' ';
    if (ms % 86'400'000 == 0) {
      out += std::to_string(ms / 86'400'000) + "d";
    } else if (ms % 3'600'000 == 0) {
      out += std::to_string(ms / 3'600'000) + "h";
    } else if (ms % 60'000 == 0) {
      out += std::to_string(ms / 60'000) + "m";
    } else {
      out += std::to_string(ms / 1000) + "s";
    }
  }
  return out;
}

uint32_t delay_level_of(std::string_view property, size_t levels) {
  const std::optional<int64_t> level = parse_whole_number<int64_t>(property);
  if (!level || *level <= 0) return 0;
  return static_cast<uint32_t>(std::min<int64_t>(*level, static_cast<int64_t>(levels)));
}

}  // namespace comet::broker
