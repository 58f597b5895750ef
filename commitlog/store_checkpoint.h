// The store checkpoint: how far the CommitLog was flushed and up to which CommitLog offset the
// ConsumeQueues were dispatched and flushed. Written atomically (temp file, fsync, rename);
// a missing or damaged checkpoint makes recovery start from the first segment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace comet::commitlog {

struct StoreCheckpoint {
  uint64_t physical_flushed = 0;  // CommitLog bytes known durable
  uint64_t logics_flushed = 0;    // CommitLog offset the flushed ConsumeQueues cover
  int64_t timestamp_ms = 0;

  static std::optional<StoreCheckpoint> read(const std::string& path);
  Status write(const std::string& path) const;
};

}  // namespace comet::commitlog
