#include "commitlog/store_config.h"

namespace comet::commitlog {
namespace {

// Slots or entries per index file at most: 2^28 entries make a 5 GiB (sparse) file.
constexpr uint32_t kMaxIndexFileCount = 1u << 28;

Status parse_flush_disk_type(const Properties& p, std::string_view name, StoreConfig& c) {
  std::string flush;
  COMET_RETURN_IF_ERROR(p.get_string(name, flush));
  if (flush == "SYNC_FLUSH") {
    c.flush_disk_type = FlushDiskType::kSyncFlush;
  } else if (flush == "ASYNC_FLUSH") {
    c.flush_disk_type = FlushDiskType::kAsyncFlush;
  } else if (!flush.empty()) {
    return Status::invalid_argument(std::string(name) + ": '" + flush +
                                    "' is neither ASYNC_FLUSH nor SYNC_FLUSH");
  }
  return Status::ok();
}

std::string show_flush_disk_type(const StoreConfig& c) {
  return c.flush_disk_type == FlushDiskType::kSyncFlush ? "SYNC_FLUSH" : "ASYNC_FLUSH";
}

}  // namespace

Result<StoreConfig> StoreConfig::from_properties(const Properties& p) {
  StoreConfig c;
  COMET_RETURN_IF_ERROR(parse_config_keys(keys(), p, c));
  COMET_RETURN_IF_ERROR(c.validate());
  return c;
}

const ConfigKeys<StoreConfig>& StoreConfig::keys() {
  using S = StoreConfig;
  static const ConfigKeys<S> k = {
      field_key<S>("storePathRootDir", &S::store_path_root_dir,
                   "directory of the CommitLog, ConsumeQueues, checkpoint and metadata"),
      field_key<S>("mappedFileSizeCommitLog", &S::mapped_file_size_commit_log,
                   "bytes per CommitLog segment (a multiple of 4096)"),
      field_key<S>("mappedFileSizeConsumeQueue", &S::mapped_file_size_consume_queue,
                   "bytes per ConsumeQueue segment (a multiple of 20)"),
      {"flushDiskType", "ASYNC_FLUSH (sync on an interval) or SYNC_FLUSH (group commit)",
       parse_flush_disk_type, show_flush_disk_type},
      field_key<S>("flushIntervalCommitLog", &S::flush_interval_commit_log_ms,
                   "ASYNC_FLUSH: ms between flushes"),
      field_key<S>("flushCommitLogLeastPages", &S::flush_commit_log_least_pages,
                   "ASYNC_FLUSH: dirty pages a flush waits for (all every 10 s)"),
      field_key<S>("flushIntervalConsumeQueue", &S::flush_consume_queue_interval_ms,
                   "ms between ConsumeQueue flushes"),
      field_key<S>("maxMappedConsumeQueueFiles", &S::max_mapped_consume_queue_files,
                   "ConsumeQueue files mapped for readers at once, least recently used out"),
      field_key<S>("syncFlushTimeout", &S::sync_flush_timeout_ms,
                   "SYNC_FLUSH: ms a send waits for its flush"),
      field_key<S>("groupCommitGatherMicros", &S::group_commit_gather_us,
                   "SYNC_FLUSH: us a flush waits to gather the previous group's size"),
      field_key<S>("fileReservedTime", &S::file_reserved_time_hours,
                   "hours a CommitLog segment is kept"),
      field_key<S>("cleanResourceInterval", &S::clean_resource_interval_ms,
                   "ms between retention passes"),
      field_key<S>("deleteCommitLogFilesBatchMax", &S::delete_files_batch_max,
                   "segments one retention pass deletes at most"),
      field_key<S>("diskMaxUsedSpaceRatio", &S::disk_max_used_space_ratio,
                   "disk use (%) above which retention runs every pass"),
      field_key<S>("diskSpaceCleanForciblyRatio", &S::disk_space_clean_forcibly_ratio,
                   "disk use (%) above which the oldest segments go even if not expired"),
      field_key<S>("diskSpaceWarningLevelRatio", &S::disk_space_warning_level_ratio,
                   "disk use (%) above which sends are refused (SERVICE_NOT_AVAILABLE)"),
      field_key<S>("cleanFileForciblyEnable", &S::clean_file_forcibly_enable,
                   "allow the forced deletion above diskSpaceCleanForciblyRatio"),
      field_key<S>("maxMessageSize", &S::max_message_size, "largest message body in bytes"),
      field_key<S>("warmMapedFileEnable", &S::warm_mapped_file_enable,
                   "pre-fault segments ahead of the writer"),
      field_key<S>("messageIndexEnable", &S::message_index_enable,
                   "index messages by KEYS and UNIQ_KEY (queryMsgByKey, queryMsgById)"),
      field_key<S>("maxHashSlotNum", &S::max_hash_slot_num, "hash slots per index file"),
      field_key<S>("maxIndexNum", &S::max_index_num, "entries per index file"),
  };
  return k;
}

Status StoreConfig::validate() const {
  if (store_path_root_dir.empty()) return Status::invalid_argument("storePathRootDir is empty");
  if (mapped_file_size_commit_log < 4096 || mapped_file_size_commit_log % 4096 != 0) {
    return Status::invalid_argument("mappedFileSizeCommitLog must be a multiple of 4096, >= 4096");
  }
  if (mapped_file_size_consume_queue < 20 * 16 || mapped_file_size_consume_queue % 20 != 0) {
    return Status::invalid_argument("mappedFileSizeConsumeQueue must be a multiple of 20, >= 320");
  }
  if (max_mapped_consume_queue_files < 16) {
    return Status::invalid_argument("maxMappedConsumeQueueFiles must be >= 16");
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
  if (disk_space_warning_level_ratio < 10 || disk_space_warning_level_ratio > 99) {
    return Status::invalid_argument("diskSpaceWarningLevelRatio must be within 10..99");
  }
  // Each threshold acts before the next: retention, then forcible cleaning, which makes room
  // before the store refuses writes at the warning level.
  if (!(disk_max_used_space_ratio < disk_space_clean_forcibly_ratio &&
        disk_space_clean_forcibly_ratio < disk_space_warning_level_ratio)) {
    return Status::invalid_argument(
        "disk ratios must rise: diskMaxUsedSpaceRatio (" +
        std::to_string(disk_max_used_space_ratio) + ") < diskSpaceCleanForciblyRatio (" +
        std::to_string(disk_space_clean_forcibly_ratio) + ") < diskSpaceWarningLevelRatio (" +
        std::to_string(disk_space_warning_level_ratio) + ")");
  }
  if (group_commit_gather_us > 100000) {
    return Status::invalid_argument("groupCommitGatherMicros must be at most 100000");
  }
  if (flush_interval_commit_log_ms == 0 || flush_consume_queue_interval_ms == 0 ||
      clean_resource_interval_ms == 0) {
    return Status::invalid_argument("flush and clean intervals must be > 0 ms");
  }
  if (max_hash_slot_num == 0 || max_hash_slot_num > kMaxIndexFileCount) {
    return Status::invalid_argument("maxHashSlotNum must be within 1.." +
                                    std::to_string(kMaxIndexFileCount));
  }
  if (max_index_num < 2 || max_index_num > kMaxIndexFileCount) {
    return Status::invalid_argument("maxIndexNum must be within 2.." +
                                    std::to_string(kMaxIndexFileCount));
  }
  return Status::ok();
}

}  // namespace comet::commitlog
