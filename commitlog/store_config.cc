#include "commitlog/store_config.h"

namespace comet::commitlog {
namespace {

Status get_u32(const Properties& p, std::string_view key, uint32_t& out) {
  uint64_t v = out;
  COMET_RETURN_IF_ERROR(p.get_uint(key, v));
  if (v > UINT32_MAX) return Status::invalid_argument(std::string(key) + ": value too large");
  out = static_cast<uint32_t>(v);
  return Status::ok();
}

}  // namespace

Result<StoreConfig> StoreConfig::from_properties(const Properties& p) {
  StoreConfig c;
  COMET_RETURN_IF_ERROR(p.get_string("storePathRootDir", c.store_path_root_dir));
  COMET_RETURN_IF_ERROR(p.get_uint("mappedFileSizeCommitLog", c.mapped_file_size_commit_log));
  COMET_RETURN_IF_ERROR(p.get_uint("mappedFileSizeConsumeQueue", c.mapped_file_size_consume_queue));
  std::string flush;
  COMET_RETURN_IF_ERROR(p.get_string("flushDiskType", flush));
  if (flush == "SYNC_FLUSH") {
    c.flush_disk_type = FlushDiskType::kSyncFlush;
  } else if (flush == "ASYNC_FLUSH" || flush.empty()) {
    c.flush_disk_type = FlushDiskType::kAsyncFlush;
  } else {
    return Status::invalid_argument("flushDiskType: '" + flush +
                                    "' is neither ASYNC_FLUSH nor SYNC_FLUSH");
  }
  COMET_RETURN_IF_ERROR(get_u32(p, "flushIntervalCommitLog", c.flush_interval_commit_log_ms));
  COMET_RETURN_IF_ERROR(get_u32(p, "flushCommitLogLeastPages", c.flush_commit_log_least_pages));
  COMET_RETURN_IF_ERROR(get_u32(p, "flushIntervalConsumeQueue", c.flush_consume_queue_interval_ms));
  COMET_RETURN_IF_ERROR(get_u32(p, "syncFlushTimeout", c.sync_flush_timeout_ms));
  COMET_RETURN_IF_ERROR(get_u32(p, "groupCommitGatherMicros", c.group_commit_gather_us));
  COMET_RETURN_IF_ERROR(get_u32(p, "fileReservedTime", c.file_reserved_time_hours));
  COMET_RETURN_IF_ERROR(get_u32(p, "cleanResourceInterval", c.clean_resource_interval_ms));
  COMET_RETURN_IF_ERROR(get_u32(p, "deleteCommitLogFilesBatchMax", c.delete_files_batch_max));
  COMET_RETURN_IF_ERROR(get_u32(p, "diskMaxUsedSpaceRatio", c.disk_max_used_space_ratio));
  COMET_RETURN_IF_ERROR(
      get_u32(p, "diskSpaceCleanForciblyRatio", c.disk_space_clean_forcibly_ratio));
  COMET_RETURN_IF_ERROR(p.get_bool("cleanFileForciblyEnable", c.clean_file_forcibly_enable));
  COMET_RETURN_IF_ERROR(get_u32(p, "maxMessageSize", c.max_message_size));
  COMET_RETURN_IF_ERROR(p.get_bool("warmMapedFileEnable", c.warm_mapped_file_enable));
  COMET_RETURN_IF_ERROR(c.validate());
  return c;
}

Status StoreConfig::validate() const {
  if (store_path_root_dir.empty()) return Status::invalid_argument("storePathRootDir is empty");
  if (mapped_file_size_commit_log < 4096 || mapped_file_size_commit_log % 4096 != 0) {
    return Status::invalid_argument("mappedFileSizeCommitLog must be a multiple of 4096, >= 4096");
  }
  if (mapped_file_size_consume_queue < 20 * 16 || mapped_file_size_consume_queue % 20 != 0) {
    return Status::invalid_argument("mappedFileSizeConsumeQueue must be a multiple of 20, >= 320");
  }
  if (max_message_size == 0 || max_message_size + 1024 > mapped_file_size_commit_log) {
    return Status::invalid_argument(
        "maxMessageSize must be > 0 and at least 1 KiB below mappedFileSizeCommitLog");
  }
  if (disk_max_used_space_ratio < 10 || disk_max_used_space_ratio > 95) {
    return Status::invalid_argument("diskMaxUsedSpaceRatio must be within 10..95");
  }
  if (disk_space_clean_forcibly_ratio < 10 || disk_space_clean_forcibly_ratio > 99) {
    return Status::invalid_argument("diskSpaceCleanForciblyRatio must be within 10..99");
  }
  if (group_commit_gather_us > 100000) {
    return Status::invalid_argument("groupCommitGatherMicros must be at most 100000");
  }
  if (flush_interval_commit_log_ms == 0 || flush_consume_queue_interval_ms == 0 ||
      clean_resource_interval_ms == 0) {
    return Status::invalid_argument("flush and clean intervals must be > 0 ms");
  }
  return Status::ok();
}

}  // namespace comet::commitlog
