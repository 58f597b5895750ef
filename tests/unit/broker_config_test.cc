#include "broker/broker_config.h"

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace comet::broker {
namespace {

using commitlog::FlushDiskType;

Result<BrokerConfig> parse(const std::string& text) {
  auto p = Properties::parse(text);
  if (!p.is_ok()) return p.status();
  return BrokerConfig::from_properties(*p);
}

TEST(BrokerConfig, DefaultsMatchRocketMq) {
  auto c = BrokerConfig::from_properties(Properties{});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->broker_cluster_name, "DefaultCluster");
  EXPECT_EQ(c->broker_name, "broker-a");
  EXPECT_EQ(c->broker_id, 0);
  EXPECT_EQ(c->broker_ip1, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 10911);
  EXPECT_EQ(c->bind_address, "0.0.0.0");
  EXPECT_EQ(c->namesrv_addr, "");
  EXPECT_EQ(c->broker_role, BrokerRole::kAsyncMaster);
  EXPECT_EQ(c->ha_listen_port, 10912);
  EXPECT_EQ(c->ha_master_address, "");
  EXPECT_EQ(c->ha_max_gap_not_in_sync, 256ull << 20);
  EXPECT_EQ(c->ha_transfer_batch_size, 256u * 1024);
  EXPECT_EQ(c->ha_heartbeat_interval_ms, 1000u);
  EXPECT_EQ(c->ha_housekeeping_interval_ms, 5000u);
  EXPECT_EQ(c->slave_sync_interval_ms, 3000u);
  EXPECT_EQ(c->transaction_timeout_ms, 6000);
  EXPECT_EQ(c->transaction_check_interval_ms, 30000);
  EXPECT_EQ(c->transaction_check_max, 15u);
  EXPECT_EQ(c->rebalance_lock_max_live_time_ms, 60000);
  EXPECT_TRUE(c->auto_create_topic_enable);
  EXPECT_TRUE(c->auto_create_subscription_group);
  EXPECT_EQ(c->default_topic_queue_nums, 8u);
  EXPECT_EQ(c->broker_permission, 6u);
  EXPECT_EQ(c->heartbeat_interval_ms, 1000u);
  EXPECT_EQ(c->broker_expiry_ms, 3000u);
  EXPECT_TRUE(c->long_polling_enable);
  EXPECT_EQ(c->suspend_max_time_millis, 15000u);
  EXPECT_EQ(c->io_threads, 2u);
  EXPECT_EQ(c->send_queue_max_bytes, 67108864u);
  EXPECT_EQ(c->max_frame_bytes, 16777216u);
  EXPECT_EQ(c->server_limits.max_connections, 4096u);
  EXPECT_EQ(c->server_limits.max_connections_per_ip, 1024u);
  EXPECT_EQ(c->server_limits.max_inflight_requests, 4096u);
  EXPECT_EQ(c->server_limits.frame_read_timeout_ms, 30000u);
  EXPECT_EQ(c->server_limits.channel_max_idle_seconds, 120u);
  EXPECT_TRUE(c->is_master());
  EXPECT_EQ(c->broker_addr(), "127.0.0.1:10911");
  EXPECT_EQ(c->ha_server_addr(), "127.0.0.1:10912");
  EXPECT_TRUE(c->namesrv_addrs().empty());
  EXPECT_EQ(c->store.store_path_root_dir, commitlog::StoreConfig{}.store_path_root_dir);
  EXPECT_EQ(c->store.flush_disk_type, FlushDiskType::kAsyncFlush);
  EXPECT_TRUE(BrokerConfig{}.validate().is_ok());
}

TEST(BrokerConfig, ParsesEveryKey) {
  auto c = parse(
      "brokerClusterName=ClusterX\n"
      "brokerName=broker-b\n"
      "brokerId=2\n"
      "brokerIP1=10.0.0.7\n"
      "listenPort=20911\n"
      "bindAddress=10.0.0.7\n"
      "namesrvAddr=10.0.0.1:9876;10.0.0.2:9876\n"
      "brokerRole=SLAVE\n"
      "haListenPort=20912\n"
      "haMasterAddress=10.0.0.9:20912\n"
      "haMaxGapNotInSync=1048576\n"
      "haTransferBatchSize=65536\n"
      "haSendHeartbeatInterval=200\n"
      "haHousekeepingInterval=2000\n"
      "slaveSyncIntervalMs=500\n"
      "autoCreateTopicEnable=false\n"
      "autoCreateSubscriptionGroup=false\n"
      "defaultTopicQueueNums=16\n"
      "brokerPermission=4\n"
      "heartbeatIntervalMs=500\n"
      "brokerExpiryMs=5000\n"
      "longPollingEnable=false\n"
      "suspendMaxTimeMillis=30000\n"
      "ioThreads=4\n"
      "sendQueueMaxBytes=33554432\n"
      "maxFrameBytes=8388608\n"
      "serverMaxConnections=100\n"
      "serverMaxConnectionsPerIp=10\n"
      "serverMaxInflightRequests=0\n"
      "serverFrameReadTimeoutMs=5000\n"
      "serverChannelMaxIdleTimeSeconds=60\n");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->server_limits.max_connections, 100u);
  EXPECT_EQ(c->server_limits.max_connections_per_ip, 10u);
  EXPECT_EQ(c->server_limits.max_inflight_requests, 0u);
  EXPECT_EQ(c->server_limits.frame_read_timeout_ms, 5000u);
  EXPECT_EQ(c->server_limits.channel_max_idle_seconds, 60u);
  EXPECT_EQ(c->broker_cluster_name, "ClusterX");
  EXPECT_EQ(c->broker_name, "broker-b");
  EXPECT_EQ(c->broker_id, 2);
  EXPECT_EQ(c->broker_ip1, "10.0.0.7");
  EXPECT_EQ(c->listen_port, 20911);
  EXPECT_EQ(c->bind_address, "10.0.0.7");
  EXPECT_EQ(c->namesrv_addr, "10.0.0.1:9876;10.0.0.2:9876");
  EXPECT_EQ(c->broker_role, BrokerRole::kSlave);
  EXPECT_FALSE(c->is_master());
  EXPECT_EQ(c->ha_listen_port, 20912);
  EXPECT_EQ(c->ha_master_address, "10.0.0.9:20912");
  EXPECT_EQ(c->ha_max_gap_not_in_sync, 1048576u);
  EXPECT_EQ(c->ha_transfer_batch_size, 65536u);
  EXPECT_EQ(c->ha_heartbeat_interval_ms, 200u);
  EXPECT_EQ(c->ha_housekeeping_interval_ms, 2000u);
  EXPECT_EQ(c->slave_sync_interval_ms, 500u);
  EXPECT_FALSE(c->auto_create_topic_enable);
  EXPECT_FALSE(c->auto_create_subscription_group);
  EXPECT_EQ(c->default_topic_queue_nums, 16u);
  EXPECT_EQ(c->broker_permission, 4u);
  EXPECT_EQ(c->heartbeat_interval_ms, 500u);
  EXPECT_EQ(c->broker_expiry_ms, 5000u);
  EXPECT_FALSE(c->long_polling_enable);
  EXPECT_EQ(c->suspend_max_time_millis, 30000u);
  EXPECT_EQ(c->io_threads, 4u);
  EXPECT_EQ(c->send_queue_max_bytes, 33554432u);
  EXPECT_EQ(c->max_frame_bytes, 8388608u);
  EXPECT_EQ(c->broker_addr(), "10.0.0.7:20911");
  EXPECT_EQ(c->ha_server_addr(), "10.0.0.7:20912");
}

TEST(BrokerConfig, StoreKeysComeFromTheSameProperties) {
  auto c = parse(
      "storePathRootDir=/data/comet\nflushDiskType=SYNC_FLUSH\nmappedFileSizeCommitLog=65536\n"
      "maxMessageSize=8192\nbrokerName=broker-z\n");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->store.store_path_root_dir, "/data/comet");
  EXPECT_EQ(c->store.flush_disk_type, FlushDiskType::kSyncFlush);
  EXPECT_EQ(c->store.mapped_file_size_commit_log, 65536u);
  EXPECT_EQ(c->store.max_message_size, 8192u);
  EXPECT_EQ(c->broker_name, "broker-z");

  auto bad = parse("flushDiskType=SOMETIMES\n");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("flushDiskType"), std::string::npos);
}

TEST(BrokerConfig, UnknownKeysAreLeftToOtherModules) {
  auto c = parse("rocketmqHome=/opt/rocketmq\nsomeFutureKey=42\n");
  EXPECT_TRUE(c.is_ok()) << c.status().to_string();
}

TEST(BrokerConfig, UnknownKeysAreNamedForTheWarning) {
  auto p = Properties::parse("brokerName=b\nlistenPrt=1\nstorePathRootDir=/d\ndLegerPeer=x\n");
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(unknown_config_keys(BrokerConfig::keys(), *p),
            (std::vector<std::string>{"dLegerPeer", "listenPrt"}));
}

// Every key the broker reads, with a legal value other than its default, written out here and
// not taken from the table: a key added to the table without a line here fails the tests below,
// and so does a key here that the table (parser and --help alike) does not have.
const std::map<std::string, std::string>& sample_values() {
  static const std::map<std::string, std::string> samples = {
      {"brokerClusterName", "ClusterX"},
      {"brokerName", "broker-b"},
      {"brokerId", "2"},
      {"brokerIP1", "10.0.0.7"},
      {"listenPort", "20911"},
      {"bindAddress", "10.0.0.7"},
      {"namesrvAddr", "10.0.0.1:9876;10.0.0.2:9876"},
      {"brokerRole", "SLAVE"},
      {"haListenPort", "20912"},
      {"haMasterAddress", "10.0.0.9:20912"},
      {"haMaxGapNotInSync", "1048576"},
      {"haTransferBatchSize", "65536"},
      {"haSendHeartbeatInterval", "200"},
      {"haHousekeepingInterval", "2000"},
      {"messageDelayLevel", "1s 2m 3h 1d"},
      {"timerMaxDelaySec", "86400"},
      {"timerPrecisionMs", "100"},
      {"transactionTimeOut", "3000"},
      {"transactionCheckInterval", "500"},
      {"transactionCheckMax", "3"},
      {"rebalanceLockMaxLiveTime", "3000"},
      {"slaveSyncIntervalMs", "500"},
      {"autoCreateTopicEnable", "false"},
      {"autoCreateSubscriptionGroup", "false"},
      {"defaultTopicQueueNums", "16"},
      {"brokerPermission", "4"},
      {"registerNameServerPeriod", "700"},
      {"heartbeatIntervalMs", "500"},
      {"brokerExpiryMs", "5000"},
      {"longPollingEnable", "false"},
      {"suspendMaxTimeMillis", "30000"},
      {"ioThreads", "4"},
      {"sendQueueMaxBytes", "33554432"},
      {"maxFrameBytes", "8388608"},
      {"serverMaxConnections", "100"},
      {"serverMaxConnectionsPerIp", "10"},
      {"serverMaxInflightRequests", "0"},
      {"serverFrameReadTimeoutMs", "5000"},
      {"serverChannelMaxIdleTimeSeconds", "60"},
      {"aclEnable", "true"},
      {"aclFile", "/etc/comet/plain_acl.yml"},
      {"aclSignatureWindowMs", "60000"},
      {"aclReloadIntervalMs", "500"},
      {"clusterCredentialFile", "/etc/comet/cluster.yml"},
      {"tls.server.mode", "enforcing"},
      {"tls.server.certPath", "/etc/comet/server.pem"},
      {"tls.server.keyPath", "/etc/comet/server.key"},
      {"tls.server.trustCertPath", "/etc/comet/ca.pem"},
      {"tls.server.need.client.auth", "require"},
      {"tls.enable", "true"},
      {"tls.client.trustCertPath", "/etc/comet/ca.pem"},
      {"tls.client.certPath", "/etc/comet/client.pem"},
      {"tls.client.keyPath", "/etc/comet/client.key"},
      {"tls.client.verifyHostname", "false"},
      {"storePathRootDir", "/data/comet"},
      {"mappedFileSizeCommitLog", "65536"},
      {"mappedFileSizeConsumeQueue", "6000"},
      {"flushDiskType", "SYNC_FLUSH"},
      {"flushIntervalCommitLog", "100"},
      {"flushCommitLogLeastPages", "8"},
      {"flushIntervalConsumeQueue", "2000"},
      {"maxMappedConsumeQueueFiles", "512"},
      {"syncFlushTimeout", "1000"},
      {"groupCommitGatherMicros", "50"},
      {"fileReservedTime", "24"},
      {"cleanResourceInterval", "5000"},
      {"deleteCommitLogFilesBatchMax", "3"},
      {"diskMaxUsedSpaceRatio", "60"},
      {"diskSpaceCleanForciblyRatio", "90"},
      {"diskSpaceWarningLevelRatio", "95"},
      {"cleanFileForciblyEnable", "false"},
      {"maxMessageSize", "8192"},
      {"warmMapedFileEnable", "false"},
      {"messageIndexEnable", "false"},
      {"maxHashSlotNum", "1000"},
      {"maxIndexNum", "4000"},
      {"enableDLegerCommitLog", "true"},
      {"dLegerGroup", "group-x"},
      {"dLegerPeers", "n0-127.0.0.1:40911;n1-127.0.0.1:40912"},
      {"dLegerSelfId", "n1"},
      {"dLegerTickMs", "20"},
      {"dLegerHeartbeatIntervalMs", "60"},
      {"dLegerElectionTimeoutMs", "800"},
      {"dLegerMaxInflight", "16"},
      {"dLegerMaxBatchBytes", "65536"},
  };
  return samples;
}

TEST(BrokerConfig, TheKeyTableHasEveryKeyOnce) {
  std::map<std::string, std::string> in_table;
  for (const ConfigKey<BrokerConfig>& k : BrokerConfig::keys()) {
    EXPECT_TRUE(in_table.emplace(k.name, "").second) << k.name << " is in the table twice";
    EXPECT_TRUE(sample_values().contains(std::string(k.name))) << k.name << " has no sample";
    EXPECT_FALSE(k.description.empty()) << k.name;
  }
  for (const auto& [name, _] : sample_values())
    EXPECT_TRUE(in_table.contains(name)) << name << " is not parsed";
}

TEST(BrokerConfig, EveryKeyIsParsedIntoTheFieldHelpShows) {
  const BrokerConfig defaults;
  for (const ConfigKey<BrokerConfig>& k : BrokerConfig::keys()) {
    const std::string& value = sample_values().at(std::string(k.name));
    Properties p;
    p.set(std::string(k.name), value);
    BrokerConfig c;
    ASSERT_TRUE(parse_config_keys(BrokerConfig::keys(), p, c).is_ok()) << k.name;
    EXPECT_EQ(k.show(c), value) << k.name;
    EXPECT_NE(k.show(defaults), value) << k.name << ": the sample should differ from the default";
  }
}

TEST(BrokerConfig, HelpListsEveryKeyWithItsDefault) {
  const std::string help = BrokerConfig::keys_help();
  const BrokerConfig defaults;
  for (const ConfigKey<BrokerConfig>& k : BrokerConfig::keys()) {
    const std::string line = "  " + std::string(k.name) + "=" + k.show(defaults) + " ";
    EXPECT_NE(help.find(line), std::string::npos) << line;
  }
  // The defaults as DefaultsMatchRocketMq and the README state them, spelled out.
  for (const char* expected :
       {"  listenPort=10911 ", "  brokerRole=ASYNC_MASTER ",
        "  namesrvAddr= ", "  storePathRootDir=/tmp/comet/store ", "  flushDiskType=ASYNC_FLUSH ",
        "  mappedFileSizeCommitLog=1073741824 ", "  serverMaxConnections=4096 ",
        "  serverChannelMaxIdleTimeSeconds=120 ", "  dLegerGroup=broker-a ",
        "  dLegerElectionTimeoutMs=600 ", "  autoCreateTopicEnable=true ",
        "  timerMaxDelaySec=259200 ", "  timerPrecisionMs=1000 ", "  transactionTimeOut=6000 ",
        "  transactionCheckInterval=30000 ", "  transactionCheckMax=15 ",
        "  rebalanceLockMaxLiveTime=60000 "}) {
    EXPECT_NE(help.find(expected), std::string::npos) << expected;
  }
  EXPECT_NE(help.find("ASYNC_MASTER, SYNC_MASTER or SLAVE"), std::string::npos);
}

TEST(BrokerConfig, DLedgerKeysAndDefaults) {
  auto c = parse(
      "brokerName=dl-a\nenableDLegerCommitLog=true\n"
      "dLegerPeers=n0-127.0.0.1:40911;n1-127.0.0.1:40912;n2-127.0.0.1:40913\n"
      "dLegerSelfId=n2\ndLegerElectionTimeoutMs=800\n");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_TRUE(c->enable_dleger_commit_log);
  EXPECT_EQ(c->dledger.group, "dl-a");  // dLegerGroup defaults to brokerName
  ASSERT_EQ(c->dledger.peers.size(), 3u);
  EXPECT_EQ(c->dledger.peers[2].address, "127.0.0.1:40913");
  EXPECT_EQ(c->dledger.self_index(), 2);
  EXPECT_EQ(c->dledger.election_timeout_ms, 800u);
  EXPECT_EQ(c->dledger.heartbeat_interval_ms, 100u);
  EXPECT_EQ(c->dledger.tick_ms, 50u);
  auto off = parse("");
  ASSERT_TRUE(off.is_ok());
  EXPECT_FALSE(off->enable_dleger_commit_log);
}

TEST(BrokerConfig, LoadsFromAFile) {
  testing::TempDir dir;
  std::string path = dir.path() + "/broker.properties";
  std::ofstream(path) << "# broker-a master\nbrokerName = broker-q\nlistenPort = 30911\n"
                         "namesrvAddr = 127.0.0.1:9876\nstorePathRootDir = "
                      << dir.path() << "/store\n";
  auto p = Properties::load_file(path);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  auto c = BrokerConfig::from_properties(*p);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->broker_name, "broker-q");
  EXPECT_EQ(c->listen_port, 30911);
  EXPECT_EQ(c->namesrv_addrs(), std::vector<std::string>{"127.0.0.1:9876"});
  EXPECT_EQ(c->store.store_path_root_dir, dir.path() + "/store");
}

struct BadValue {
  std::string text;
  std::string key;         // the error must name it
  std::string fragment{};  // and contain this, when set
};

TEST(BrokerConfig, BadValuesAreRejectedNamingTheKey) {
  const std::vector<BadValue> cases = {
      {"brokerClusterName=my cluster", "brokerClusterName", "[A-Za-z0-9_.-]"},
      {"brokerClusterName=", "brokerClusterName"},
      {"brokerName=", "brokerName"},
      {"brokerName=a;b", "brokerName"},
      {"brokerName=" + std::string(128, 'b'), "brokerName"},
      {"brokerId=-1", "brokerId", ">= 0"},
      {"timerMaxDelaySec=0", "timerMaxDelaySec", "1..31536000"},
      {"timerMaxDelaySec=99999999999", "timerMaxDelaySec", "1..31536000"},
      {"timerPrecisionMs=5", "timerPrecisionMs", "10..60000"},
      {"timerPrecisionMs=soon", "timerPrecisionMs", "not an integer"},
      {"transactionTimeOut=-1", "transactionTimeOut", "0..86400000"},
      {"transactionTimeOut=86400001", "transactionTimeOut", "0..86400000"},
      {"transactionCheckInterval=9", "transactionCheckInterval", "10..86400000"},
      {"transactionCheckMax=0", "transactionCheckMax", ">= 1"},
      {"rebalanceLockMaxLiveTime=999", "rebalanceLockMaxLiveTime", "1000..3600000"},
      {"rebalanceLockMaxLiveTime=3600001", "rebalanceLockMaxLiveTime", "1000..3600000"},
      {"brokerId=one", "brokerId", "not an integer"},
      {"brokerIP1=", "brokerIP1"},
      {"brokerIP1=10.0.0.1:10911", "brokerIP1"},
      {"brokerIP1=10.0.0.1 ", "brokerIP1"},  // trimmed by Properties: accepted below
      {"listenPort=65536", "listenPort", "0..65535"},
      {"listenPort=-1", "listenPort", "negative"},
      {"listenPort=http", "listenPort", "not an integer"},
      {"bindAddress=", "bindAddress"},
      {"namesrvAddr=localhost", "namesrvAddr", "missing ':port'"},
      {"namesrvAddr=localhost:0", "namesrvAddr", "1..65535"},
      {"namesrvAddr=localhost:65536", "namesrvAddr", "1..65535"},
      {"namesrvAddr=localhost:98x", "namesrvAddr", "1..65535"},
      {"namesrvAddr=:9876", "namesrvAddr", "empty host"},
      {"namesrvAddr=a:9876;b", "namesrvAddr", "'b'"},
      {"brokerRole=MASTER", "brokerRole", "ASYNC_MASTER, SYNC_MASTER, SLAVE"},
      {"brokerRole=async_master", "brokerRole"},
      {"haListenPort=70000", "haListenPort", "0..65535"},
      {"haListenPort=10911", "haListenPort", "differ from listenPort"},
      {"haMasterAddress=nohost", "haMasterAddress", "missing ':port'"},
      {"haTransferBatchSize=100", "haTransferBatchSize", "4096.."},
      {"haHousekeepingInterval=1000", "haHousekeepingInterval", "exceed haSendHeartbeatInterval"},
      {"haSendHeartbeatInterval=0", "haHousekeepingInterval", "> 0"},
      {"haMaxGapNotInSync=-5", "haMaxGapNotInSync", "negative"},
      {"slaveSyncIntervalMs=0", "slaveSyncIntervalMs", "> 0"},
      {"autoCreateTopicEnable=yes", "autoCreateTopicEnable", "true/false"},
      {"defaultTopicQueueNums=0", "defaultTopicQueueNums", "1..1024"},
      {"defaultTopicQueueNums=1025", "defaultTopicQueueNums", "1..1024"},
      {"defaultTopicQueueNums=-3", "defaultTopicQueueNums"},
      {"brokerPermission=1", "brokerPermission", "subset of 6"},
      {"brokerPermission=8", "brokerPermission", "subset of 6"},
      {"brokerPermission=7", "brokerPermission", "subset of 6"},
      {"heartbeatIntervalMs=0", "heartbeatIntervalMs"},
      {"heartbeatIntervalMs=3000", "heartbeatIntervalMs", "below brokerExpiryMs (3000)"},
      {"registerNameServerPeriod=30000", "heartbeatIntervalMs", "below brokerExpiryMs"},
      {"registerNameServerPeriod=abc", "registerNameServerPeriod", "not an integer"},
      {"brokerExpiryMs=0", "brokerExpiryMs"},
      {"brokerExpiryMs=5000000000", "brokerExpiryMs", "0..4294967295"},
      {"longPollingEnable=on", "longPollingEnable", "true/false"},
      {"suspendMaxTimeMillis=0", "suspendMaxTimeMillis", "1..3600000"},
      {"suspendMaxTimeMillis=3600001", "suspendMaxTimeMillis", "1..3600000"},
      {"ioThreads=0", "ioThreads", "1..256"},
      {"ioThreads=257", "ioThreads", "1..256"},
      {"sendQueueMaxBytes=1048576", "sendQueueMaxBytes", "at least maxFrameBytes"},
      {"sendQueueMaxBytes=-1", "sendQueueMaxBytes", "negative"},
      {"maxFrameBytes=65536", "maxFrameBytes", "maxMessageSize + 65536"},
      {"maxFrameBytes=5000000000", "maxFrameBytes", "0..4294967295"},
      {"serverMaxConnections=-1", "serverMaxConnections", "negative"},
      {"serverMaxConnectionsPerIp=many", "serverMaxConnectionsPerIp", "not an integer"},
      {"serverMaxInflightRequests=5000000000", "serverMaxInflightRequests", "0..4294967295"},
      {"serverFrameReadTimeoutMs=86400001", "serverFrameReadTimeoutMs", "0..86400000"},
      {"serverChannelMaxIdleTimeSeconds=-120", "serverChannelMaxIdleTimeSeconds", "negative"},
      {"enableDLegerCommitLog=maybe", "enableDLegerCommitLog", "true/false"},
      {"enableDLegerCommitLog=true", "dLegerPeers", "empty"},
      {"dLegerPeers=n0-127.0.0.1", "dLegerPeers", "<id>-<host>:<port>"},
      {"enableDLegerCommitLog=true\ndLegerPeers=n0-127.0.0.1:40911\ndLegerSelfId=n3",
       "dLegerSelfId", "not one of dLegerPeers"},
      {"enableDLegerCommitLog=true\ndLegerPeers=n0-h:1\ndLegerSelfId=n0\n"
       "dLegerElectionTimeoutMs=100",
       "dLegerElectionTimeoutMs"},
      {"dLegerTickMs=x", "dLegerTickMs", "not an integer"},
  };
  for (const BadValue& bad : cases) {
    SCOPED_TRACE(bad.text);
    auto c = parse(bad.text + "\n");
    if (bad.text == "brokerIP1=10.0.0.1 ") {
      ASSERT_TRUE(c.is_ok()) << c.status().to_string();
      EXPECT_EQ(c->broker_ip1, "10.0.0.1");
      continue;
    }
    ASSERT_FALSE(c.is_ok());
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    const std::string& msg = c.status().message();
    EXPECT_EQ(msg.rfind(bad.key, 0), 0u) << msg;
    if (!bad.fragment.empty()) {
      EXPECT_NE(msg.find(bad.fragment), std::string::npos) << msg;
    }
  }
}

TEST(BrokerConfig, EveryRoleParsesAndPrints) {
  for (BrokerRole role : {BrokerRole::kAsyncMaster, BrokerRole::kSyncMaster, BrokerRole::kSlave}) {
    auto parsed = parse_broker_role(broker_role_name(role));
    ASSERT_TRUE(parsed.is_ok());
    EXPECT_EQ(*parsed, role);
  }
  auto sync = parse("brokerRole=SYNC_MASTER\n");
  ASSERT_TRUE(sync.is_ok()) << sync.status().to_string();
  EXPECT_EQ(sync->broker_role, BrokerRole::kSyncMaster);
  EXPECT_TRUE(sync->is_master());
}

TEST(BrokerConfig, RoleAndBrokerIdMustAgree) {
  auto slave_as_zero = parse("brokerRole=SLAVE\n");
  ASSERT_FALSE(slave_as_zero.is_ok());
  EXPECT_NE(slave_as_zero.status().message().find("SLAVE requires brokerId > 0"), std::string::npos)
      << slave_as_zero.status().message();

  auto slave = parse("brokerRole=SLAVE\nbrokerId=1\n");
  ASSERT_TRUE(slave.is_ok()) << slave.status().to_string();
  EXPECT_EQ(slave->broker_id, 1);

  for (std::string role : {"ASYNC_MASTER", "SYNC_MASTER"}) {
    auto master_as_two = parse("brokerRole=" + role + "\nbrokerId=2\n");
    ASSERT_FALSE(master_as_two.is_ok()) << role;
    EXPECT_NE(master_as_two.status().message().find(role + " requires brokerId 0, got brokerId 2"),
              std::string::npos)
        << master_as_two.status().message();
  }
  auto default_role_with_id = parse("brokerId=1\n");
  EXPECT_FALSE(default_role_with_id.is_ok());
}

TEST(BrokerConfig, NamesrvAddrSplitsTrimsAndDropsEmptyEntries) {
  auto c = parse("namesrvAddr= 10.0.0.1:9876 ; ns2.example.com:9877;;127.0.0.1:9878;\n");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->namesrv_addrs(),
            (std::vector<std::string>{"10.0.0.1:9876", "ns2.example.com:9877", "127.0.0.1:9878"}));

  auto single = parse("namesrvAddr=localhost:9876\n");
  ASSERT_TRUE(single.is_ok());
  EXPECT_EQ(single->namesrv_addrs(), std::vector<std::string>{"localhost:9876"});

  EXPECT_TRUE(validate_host_port("k", "h:1").is_ok());
  EXPECT_TRUE(validate_host_port("k", "h:65535").is_ok());
  EXPECT_FALSE(validate_host_port("k", "h:").is_ok());
  EXPECT_FALSE(validate_host_port("k", "h:+1").is_ok());
  EXPECT_FALSE(validate_host_port("k", "h x:1").is_ok());
}

TEST(BrokerConfig, HeartbeatIntervalAcceptsRocketMqAliasAndOwnKeyWins) {
  auto alias = parse("registerNameServerPeriod=700\n");
  ASSERT_TRUE(alias.is_ok()) << alias.status().to_string();
  EXPECT_EQ(alias->heartbeat_interval_ms, 700u);

  for (std::string text : {"registerNameServerPeriod=700\nheartbeatIntervalMs=300\n",
                           "heartbeatIntervalMs=300\nregisterNameServerPeriod=700\n"}) {
    auto both = parse(text);
    ASSERT_TRUE(both.is_ok()) << both.status().to_string();
    EXPECT_EQ(both->heartbeat_interval_ms, 300u);
  }
}

TEST(BrokerConfig, AnyFreePortIsAllowedForBothListeners) {
  auto c = parse("listenPort=0\nhaListenPort=0\n");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->listen_port, 0);
  EXPECT_EQ(c->ha_listen_port, 0);
}

TEST(BrokerConfig, FrameLimitFollowsMaxMessageSize) {
  // A smaller maxMessageSize allows a smaller frame; a larger one needs a larger frame.
  auto small = parse("maxMessageSize=4096\nmaxFrameBytes=69632\nsendQueueMaxBytes=69632\n");
  EXPECT_TRUE(small.is_ok()) << small.status().to_string();
  auto large = parse("maxMessageSize=16777216\n");
  ASSERT_FALSE(large.is_ok());
  EXPECT_EQ(large.status().message().rfind("maxFrameBytes", 0), 0u);
}

TEST(BrokerConfig, ValidateChecksProgrammaticConfigs) {
  BrokerConfig c;
  c.broker_role = BrokerRole::kSlave;
  EXPECT_EQ(c.validate().code(), Code::kInvalidArgument);
  c.broker_id = 3;
  EXPECT_TRUE(c.validate().is_ok());
  c.store.store_path_root_dir.clear();
  EXPECT_NE(c.validate().message().find("storePathRootDir"), std::string::npos);
}

}  // namespace
}  // namespace comet::broker
