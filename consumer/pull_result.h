// PullResult: what one PULL_MESSAGE brought back, as RocketMQ's PullResult. next_begin_offset is
// where the next pull of the queue starts, whatever the status: past the messages found, past
// messages the tag filter skipped, or where the broker moved an illegal offset to.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "consumer/message_ext.h"

namespace comet::client {

enum class PullStatus {
  kFound,          // SUCCESS: msgs holds the messages (tag-filtered again on the client)
  kNoNewMsg,       // PULL_NOT_FOUND: nothing at or past the offset yet
  kNoMatchedMsg,   // PULL_RETRY_IMMEDIATELY: everything read was filtered out
  kOffsetIllegal,  // PULL_OFFSET_MOVED: the offset is outside [min_offset, max_offset]
};

std::string_view pull_status_name(PullStatus status);

struct PullResult {
  PullStatus status = PullStatus::kNoNewMsg;
  uint64_t next_begin_offset = 0;
  uint64_t min_offset = 0;
  uint64_t max_offset = 0;
  std::vector<MessageExt> msgs;
};

}  // namespace comet::client
