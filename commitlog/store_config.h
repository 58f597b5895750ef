// Store configuration, named after RocketMQ's MessageStoreConfig keys.
#pragma once

#include <cstdint>
#include <string>

#include "common/config_table.h"
#include "common/properties.h"
#include "common/status.h"

namespace comet::commitlog {

enum class FlushDiskType { kAsyncFlush, kSyncFlush };

struct StoreConfig {
  std::string store_path_root_dir = "/tmp/comet/store";        // storePathRootDir
  uint64_t mapped_file_size_commit_log = 1ull << 30;           // mappedFileSizeCommitLog
  uint64_t mapped_file_size_consume_queue = 300000 * 20;       // mappedFileSizeConsumeQueue
  FlushDiskType flush_disk_type = FlushDiskType::kAsyncFlush;  // flushDiskType
  uint32_t flush_interval_commit_log_ms = 500;                 // flushIntervalCommitLog
  uint32_t flush_commit_log_least_pages = 4;                   // flushCommitLogLeastPages
  uint32_t flush_consume_queue_interval_ms = 1000;             // flushIntervalConsumeQueue
  // ConsumeQueue files mapped for readers at once (commitlog/mapping_cache.h): bounds the
  // broker's mappings whatever the number of queues (vm.max_map_count is 65,530 by default).
  uint32_t max_mapped_consume_queue_files = 8192;  // maxMappedConsumeQueueFiles
  uint32_t sync_flush_timeout_ms = 5000;           // syncFlushTimeout
  uint32_t group_commit_gather_us = 200;           // groupCommitGatherMicros (SYNC_FLUSH)
  uint32_t file_reserved_time_hours = 72;          // fileReservedTime
  uint32_t clean_resource_interval_ms = 10000;     // cleanResourceInterval
  uint32_t delete_files_batch_max = 10;            // deleteCommitLogFilesBatchMax
  // Above diskMaxUsedSpaceRatio retention runs every pass (expired segments only, as in
  // RocketMQ); above diskSpaceCleanForciblyRatio, with cleanFileForciblyEnable, the oldest
  // segments go even when they are not yet expired; above diskSpaceWarningLevelRatio the store
  // refuses writes (commitlog/store_health.h) until the disk is below it again. In that order:
  // validate() requires max used < clean forcibly < warning level.
  uint32_t disk_max_used_space_ratio = 75;        // diskMaxUsedSpaceRatio (percent)
  uint32_t disk_space_clean_forcibly_ratio = 85;  // diskSpaceCleanForciblyRatio (percent)
  uint32_t disk_space_warning_level_ratio = 90;   // diskSpaceWarningLevelRatio (percent)
  bool clean_file_forcibly_enable = true;         // cleanFileForciblyEnable
  uint32_t max_message_size = 4 * 1024 * 1024;    // maxMessageSize (body bytes)
  bool warm_mapped_file_enable = true;            // warmMapedFileEnable
  bool check_crc_on_read = false;                 // checkCRCOnRecover applies always
  // The message index (commitlog/index_service.h): one file holds maxIndexNum entries over
  // maxHashSlotNum slots, 40 + 4 * slots + 20 * entries bytes (420 MB, sparse, by default).
  bool message_index_enable = true;      // messageIndexEnable
  uint32_t max_hash_slot_num = 5000000;  // maxHashSlotNum
  uint32_t max_index_num = 20000000;     // maxIndexNum

  std::string commit_log_dir() const { return store_path_root_dir + "/commitlog"; }
  std::string consume_queue_dir() const { return store_path_root_dir + "/consumequeue"; }
  std::string index_dir() const { return store_path_root_dir + "/index"; }

  // Reads the keys above from `props`; keys it does not know are left to other modules.
  static Result<StoreConfig> from_properties(const Properties& props);
  Status validate() const;
  // Each key once: name, description and field (read by parsing and by the broker's --help).
  static const ConfigKeys<StoreConfig>& keys();
};

}  // namespace comet::commitlog
