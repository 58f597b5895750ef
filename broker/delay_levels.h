// Delay levels (RocketMQ's messageDelayLevel): "1s 5s 10s 30s 1m ..." names the delay of level 1,
// 2, ... A message whose DELAY property is level n > 0 waits in queue n-1 of SCHEDULE_TOPIC_XXXX
// until its delay has passed since it was stored (broker/schedule_message_service.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/record_codec.h"
#include "common/status.h"

namespace comet::broker {

// RocketMQ's default: 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h.
inline std::vector<int64_t> default_delay_levels_ms() {
  constexpr int64_t s = 1000, m = 60 * s, h = 60 * m;
  return {1 * s, 5 * s, 10 * s, 30 * s, 1 * m,  2 * m,  3 * m,  4 * m, 5 * m,
          6 * m, 7 * m, 8 * m,  9 * m,  10 * m, 20 * m, 30 * m, 1 * h, 2 * h};
}

// The delays in milliseconds, level 1 first. kInvalidArgument names the bad entry: each is a
// positive whole number followed by s, m, h or d, separated by spaces; 1 to 64 levels.
Result<std::vector<int64_t>> parse_delay_levels(std::string_view text);
std::string format_delay_levels(const std::vector<int64_t>& delays_ms);

// The level a DELAY property asks for, as RocketMQ reads it: absent, not a number or <= 0 is no
// delay (0); above the highest level is the highest level.
uint32_t delay_level_of(std::string_view property, size_t levels);

}  // namespace comet::broker
