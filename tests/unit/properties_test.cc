#include "common/properties.h"

#include <gtest/gtest.h>

#include "commitlog/store_config.h"

namespace comet {
namespace {

using commitlog::FlushDiskType;
using commitlog::StoreConfig;

TEST(Properties, ParsesKeyValuesCommentsAndBlanks) {
  auto p = Properties::parse(
      "# a comment\n! another\n\nbrokerName = broker-a\r\nlistenPort=10911\nflag:true\n");
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  std::string name;
  int64_t port = 0;
  bool flag = false;
  EXPECT_TRUE(p->get_string("brokerName", name).is_ok());
  EXPECT_TRUE(p->get_int("listenPort", port).is_ok());
  EXPECT_TRUE(p->get_bool("flag", flag).is_ok());
  EXPECT_EQ(name, "broker-a");
  EXPECT_EQ(port, 10911);
  EXPECT_TRUE(flag);
}

TEST(Properties, RejectsLinesWithoutSeparatorNamingTheLine) {
  auto p = Properties::parse("a=1\njunk line\n");
  ASSERT_FALSE(p.is_ok());
  EXPECT_NE(p.status().message().find("line 2"), std::string::npos);
}

TEST(Properties, TypedGettersNameTheKeyOnBadValues) {
  auto p = Properties::parse("n=12x\nb=yes\nneg=-1\n");
  ASSERT_TRUE(p.is_ok());
  int64_t n = 5;
  Status s = p->get_int("n", n);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("n:"), std::string::npos);
  EXPECT_EQ(n, 5);  // untouched
  bool b = false;
  EXPECT_EQ(p->get_bool("b", b).code(), Code::kInvalidArgument);
  uint64_t u = 3;
  EXPECT_EQ(p->get_uint("neg", u).code(), Code::kInvalidArgument);
  EXPECT_TRUE(p->get_uint("absent", u).is_ok());
  EXPECT_EQ(u, 3u);
}

TEST(StoreConfig, DefaultsMatchRocketMq) {
  auto c = StoreConfig::from_properties(Properties{});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->mapped_file_size_commit_log, 1ull << 30);
  EXPECT_EQ(c->mapped_file_size_consume_queue, 300000u * 20);
  EXPECT_EQ(c->flush_disk_type, FlushDiskType::kAsyncFlush);
  EXPECT_EQ(c->flush_interval_commit_log_ms, 500u);
  EXPECT_EQ(c->flush_commit_log_least_pages, 4u);
  EXPECT_EQ(c->flush_consume_queue_interval_ms, 1000u);
  EXPECT_EQ(c->sync_flush_timeout_ms, 5000u);
  EXPECT_EQ(c->group_commit_gather_us, 200u);
  EXPECT_EQ(c->file_reserved_time_hours, 72u);
  EXPECT_EQ(c->clean_resource_interval_ms, 10000u);
  EXPECT_EQ(c->delete_files_batch_max, 10u);
  EXPECT_EQ(c->disk_max_used_space_ratio, 75u);
  EXPECT_EQ(c->disk_space_clean_forcibly_ratio, 85u);
  EXPECT_EQ(c->disk_space_warning_level_ratio, 90u);
  EXPECT_TRUE(c->clean_file_forcibly_enable);
  EXPECT_EQ(c->max_message_size, 4u * 1024 * 1024);
  EXPECT_TRUE(c->warm_mapped_file_enable);
}

TEST(StoreConfig, ReadsEveryKey) {
  auto p = Properties::parse(
      "storePathRootDir=/data/comet\nmappedFileSizeCommitLog=65536\n"
      "mappedFileSizeConsumeQueue=6000\nflushDiskType=SYNC_FLUSH\nflushIntervalCommitLog=100\n"
      "flushCommitLogLeastPages=0\nflushIntervalConsumeQueue=200\nsyncFlushTimeout=300\n"
      "groupCommitGatherMicros=50\n"
      "fileReservedTime=48\ncleanResourceInterval=400\ndeleteCommitLogFilesBatchMax=3\n"
      "diskMaxUsedSpaceRatio=80\nmaxMessageSize=1024\nwarmMapedFileEnable=false\n"
      "diskSpaceCleanForciblyRatio=90\ncleanFileForciblyEnable=false\n"
      "diskSpaceWarningLevelRatio=95\n");
  ASSERT_TRUE(p.is_ok());
  auto c = StoreConfig::from_properties(*p);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->store_path_root_dir, "/data/comet");
  EXPECT_EQ(c->commit_log_dir(), "/data/comet/commitlog");
  EXPECT_EQ(c->mapped_file_size_commit_log, 65536u);
  EXPECT_EQ(c->mapped_file_size_consume_queue, 6000u);
  EXPECT_EQ(c->flush_disk_type, FlushDiskType::kSyncFlush);
  EXPECT_EQ(c->flush_interval_commit_log_ms, 100u);
  EXPECT_EQ(c->flush_commit_log_least_pages, 0u);
  EXPECT_EQ(c->flush_consume_queue_interval_ms, 200u);
  EXPECT_EQ(c->sync_flush_timeout_ms, 300u);
  EXPECT_EQ(c->group_commit_gather_us, 50u);
  EXPECT_EQ(c->file_reserved_time_hours, 48u);
  EXPECT_EQ(c->clean_resource_interval_ms, 400u);
  EXPECT_EQ(c->delete_files_batch_max, 3u);
  EXPECT_EQ(c->disk_max_used_space_ratio, 80u);
  EXPECT_EQ(c->disk_space_clean_forcibly_ratio, 90u);
  EXPECT_EQ(c->disk_space_warning_level_ratio, 95u);
  EXPECT_FALSE(c->clean_file_forcibly_enable);
  EXPECT_EQ(c->max_message_size, 1024u);
  EXPECT_FALSE(c->warm_mapped_file_enable);
}

TEST(StoreConfig, RejectsBadValuesWithClearMessages) {
  struct Case {
    const char* text;
    const char* expect;
  };
  for (const Case& c : {Case{"flushDiskType=SOMETIMES", "flushDiskType"},
                        Case{"mappedFileSizeCommitLog=1000", "mappedFileSizeCommitLog"},
                        Case{"mappedFileSizeConsumeQueue=30", "mappedFileSizeConsumeQueue"},
                        Case{"maxMessageSize=0", "maxMessageSize"},
                        Case{"diskMaxUsedSpaceRatio=99", "diskMaxUsedSpaceRatio"},
                        Case{"diskSpaceCleanForciblyRatio=100", "diskSpaceCleanForciblyRatio"},
                        Case{"diskSpaceWarningLevelRatio=100", "diskSpaceWarningLevelRatio"},
                        // The thresholds act in order: retention, forcible cleaning, refusal.
                        Case{"diskSpaceCleanForciblyRatio=90", "must rise"},
                        Case{"diskMaxUsedSpaceRatio=85", "must rise"},
                        Case{"diskSpaceWarningLevelRatio=80", "must rise"},
                        Case{"cleanFileForciblyEnable=maybe", "cleanFileForciblyEnable"},
                        Case{"syncFlushTimeout=abc", "syncFlushTimeout"},
                        Case{"fileReservedTime=-3", "fileReservedTime"},
                        Case{"groupCommitGatherMicros=200000", "groupCommitGatherMicros"}}) {
    auto p = Properties::parse(c.text);
    ASSERT_TRUE(p.is_ok());
    auto cfg = StoreConfig::from_properties(*p);
    ASSERT_FALSE(cfg.is_ok()) << c.text;
    EXPECT_EQ(cfg.status().code(), Code::kInvalidArgument);
    EXPECT_NE(cfg.status().message().find(c.expect), std::string::npos) << cfg.status().message();
  }
}

}  // namespace
}  // namespace comet
