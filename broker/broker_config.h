// Broker configuration, named after RocketMQ's BrokerConfig keys and read from the same
// `.properties` file as the store's MessageStoreConfig keys (parsed into `store`).
// from_properties() applies defaults, parses every key of keys() and validates the result; keys
// it does not know are ignored (comet-broker warns about them). Every validation error names the
// offending key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/delay_levels.h"
#include "commitlog/store_config.h"
#include "common/config_table.h"
#include "common/properties.h"
#include "common/status.h"
#include "dledger/dledger_options.h"
#include "remoting/security_config.h"
#include "remoting/server_limits.h"

namespace comet::broker {

enum class BrokerRole { kAsyncMaster, kSyncMaster, kSlave };

std::string_view broker_role_name(BrokerRole role);  // "ASYNC_MASTER", "SYNC_MASTER", "SLAVE"
Result<BrokerRole> parse_broker_role(std::string_view text);

// RocketMQ PermName bits; a topic or broker permission is a subset of kPermReadWrite.
constexpr uint32_t kPermWrite = 2;
constexpr uint32_t kPermRead = 4;
constexpr uint32_t kPermReadWrite = kPermRead | kPermWrite;
constexpr uint32_t kMaxQueueNums = 1024;

struct BrokerConfig {
  std::string broker_cluster_name = "DefaultCluster";  // brokerClusterName
  std::string broker_name = "broker-a";                // brokerName
  int64_t broker_id = 0;                               // brokerId: 0 master, > 0 slave
  std::string broker_ip1 = "127.0.0.1";                // brokerIP1: advertised address
  uint16_t listen_port = 10911;                        // listenPort: 0 = any free port
  std::string bind_address = "0.0.0.0";                // bindAddress
  std::string namesrv_addr;                            // namesrvAddr: "host:port;host:port"
  BrokerRole broker_role = BrokerRole::kAsyncMaster;   // brokerRole
  uint16_t ha_listen_port = 10912;                     // haListenPort: 0 = any free port
  // A slave follows the master the name servers name; haMasterAddress ("host:haPort") is used
  // until they name one (or without name servers).
  std::string ha_master_address;                   // haMasterAddress
  uint64_t ha_max_gap_not_in_sync = 256ull << 20;  // haMaxGapNotInSync (bytes)
  uint32_t ha_transfer_batch_size = 256 * 1024;    // haTransferBatchSize (bytes per push)
  uint32_t ha_heartbeat_interval_ms = 1000;        // haSendHeartbeatInterval
  uint32_t ha_housekeeping_interval_ms = 5000;     // haHousekeepingInterval: silent peer cut
  // messageDelayLevel: the delay of each level, level 1 first (broker/delay_levels.h).
  std::vector<int64_t> message_delay_levels_ms = default_delay_levels_ms();
  // Timer messages (broker/timer_message_service.h): the latest a timer may be due, in seconds
  // after its send, and the width of a timing-wheel tick.
  int64_t timer_max_delay_sec = 259200;  // timerMaxDelaySec: 3 days
  int64_t timer_precision_ms = 1000;     // timerPrecisionMs
  // Transactions (broker/transaction_service.h): a half message's age before its first check,
  // the time between checks, and the checks after which it is discarded.
  int64_t transaction_timeout_ms = 6000;          // transactionTimeOut
  int64_t transaction_check_interval_ms = 30000;  // transactionCheckInterval
  uint32_t transaction_check_max = 15;            // transactionCheckMax
  // Orderly consumption (broker/rebalance_lock_manager.h): a queue lock lapses this long after
  // its last renewal (RocketMQ's rocketmq.broker.rebalance.lockMaxLiveTime); members renew every
  // 20 s and stop consuming 30 s after their last renewal.
  int64_t rebalance_lock_max_live_time_ms = 60000;  // rebalanceLockMaxLiveTime: 1000..3600000
  uint32_t slave_sync_interval_ms = 3000;  // slaveSyncIntervalMs: topics and offsets with master
  bool auto_create_topic_enable = true;    // autoCreateTopicEnable
  // A consumer group's config is created on its first heartbeat or pull; false refuses a group
  // without one (SUBSCRIPTION_GROUP_NOT_EXIST) on pulls, heartbeats and offset commits.
  bool auto_create_subscription_group = true;   // autoCreateSubscriptionGroup
  uint32_t default_topic_queue_nums = 8;        // defaultTopicQueueNums: 1..1024
  uint32_t broker_permission = kPermReadWrite;  // brokerPermission
  uint32_t heartbeat_interval_ms = 1000;     // heartbeatIntervalMs (alias registerNameServerPeriod)
  uint32_t broker_expiry_ms = 3000;          // brokerExpiryMs: heartbeat timeout sent to namesrv
  bool long_polling_enable = true;           // longPollingEnable
  uint32_t suspend_max_time_millis = 15000;  // suspendMaxTimeMillis: cap on a pull's suspend
  uint32_t io_threads = 2;                   // ioThreads
  uint64_t send_queue_max_bytes = 64ull << 20;  // sendQueueMaxBytes (per connection)
  uint32_t max_frame_bytes = 16u << 20;         // maxFrameBytes
  // serverMaxConnections, serverMaxConnectionsPerIp, serverMaxInflightRequests,
  // serverFrameReadTimeoutMs, serverChannelMaxIdleTimeSeconds (remoting/server_limits.h)
  remoting::ServerLimits server_limits;
  commitlog::StoreConfig store;  // storePathRootDir, flushDiskType, ...
  // DLedger mode: the CommitLog is replicated by a Raft group; brokerRole, brokerId and the HA
  // keys do not apply (the leader registers as master, brokerId 0; member i as slave i + 1).
  bool enable_dleger_commit_log = false;  // enableDLegerCommitLog
  // dLegerGroup (default brokerName), dLegerPeers, dLegerSelfId, dLegerTickMs,
  // dLegerHeartbeatIntervalMs, dLegerElectionTimeoutMs, dLegerMaxInflight, dLegerMaxBatchBytes
  dledger::DLedgerOptions dledger;
  // aclEnable, aclFile, clusterCredentialFile, tls.* (remoting/security_config.h)
  remoting::SecurityConfig security;

  static Result<BrokerConfig> from_properties(const Properties& props);
  Status validate() const;
  // Every key from_properties() reads, the nested structs' included: parsing and --help both
  // read this table.
  static const ConfigKeys<BrokerConfig>& keys();
  // "  key=default   description" per key, the defaults those of BrokerConfig{}.
  static std::string keys_help();

  bool is_master() const { return broker_role != BrokerRole::kSlave; }
  // "brokerIP1:listenPort" and "brokerIP1:haListenPort". With a port of 0 the caller stores the
  // port it actually bound before advertising these.
  std::string broker_addr() const;
  std::string ha_server_addr() const;
  // namesrvAddr split on ';', entries trimmed, empty entries dropped.
  std::vector<std::string> namesrv_addrs() const;
};

// Checks one "host:port" entry (port 1..65535); the error names `key`.
Status validate_host_port(std::string_view key, std::string_view addr);

}  // namespace comet::broker
