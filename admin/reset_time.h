// The time argument of resetOffsetByTime (-s), as mqadmin reads it: "now", milliseconds since the
// epoch, or yyyy-MM-dd#HH:mm:ss:SSS in local time (UtilAll.YYYY_MM_DD_HH_MM_SS_SSS).
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace comet::admin {

// What the broker takes for "now": each queue's max offset (RocketMQ's Broker2Client, -1).
inline constexpr int64_t kResetToNow = -1;

// kResetToNow for "now", else ms since the epoch; kInvalidArgument naming the text otherwise.
Result<int64_t> parse_reset_time(std::string_view text);

}  // namespace comet::admin
