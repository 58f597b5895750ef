#include "broker/broker_config.h"

#include <charconv>
#include <limits>

namespace comet::broker {
namespace {

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

Status invalid(std::string_view key, const std::string& what) {
  return Status::invalid_argument(std::string(key) + ": " + what);
}

// Cluster and broker names: 1..127 characters of [A-Za-z0-9_.-].
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 127) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool has_space_or(std::string_view s, std::string_view extra) {
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || extra.find(c) != std::string_view::npos)
      return true;
  }
  return false;
}

}  // namespace

std::string_view broker_role_name(BrokerRole role) {
  switch (role) {
    case BrokerRole::kAsyncMaster:
      return "ASYNC_MASTER";
    case BrokerRole::kSyncMaster:
      return "SYNC_MASTER";
    case BrokerRole::kSlave:
      return "SLAVE";
  }
  return "UNKNOWN";
}

Result<BrokerRole> parse_broker_role(std::string_view text) {
  if (text == "ASYNC_MASTER") return BrokerRole::kAsyncMaster;
  if (text == "SYNC_MASTER") return BrokerRole::kSyncMaster;
  if (text == "SLAVE") return BrokerRole::kSlave;
  // Appended, not "'" + std::string(text): GCC 12 -O3 warns (-Wrestrict, a false positive)
  // about operator+(const char*, std::string&&).
  std::string why = "'";
  why.append(text).append("' is not one of ASYNC_MASTER, SYNC_MASTER, SLAVE");
  return invalid("brokerRole", why);
}

Status validate_host_port(std::string_view key, std::string_view addr) {
  auto bad = [&](const std::string& why) {
    return invalid(key, "entry '" + std::string(addr) + "' is not host:port (" + why + ")");
  };
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return bad("missing ':port'");
  std::string_view host = addr.substr(0, colon);
  std::string_view port = addr.substr(colon + 1);
  if (host.empty()) return bad("empty host");
  if (has_space_or(host, ";")) return bad("bad character in host");
  uint32_t n = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || n == 0 ||
      n > 65535) {
    return bad("port must be 1..65535");
  }
  return Status::ok();
}

Result<BrokerConfig> BrokerConfig::from_properties(const Properties& p) {
  BrokerConfig c;
  COMET_RETURN_IF_ERROR(parse_config_keys(keys(), p, c));
  c.dledger.bind_address = c.bind_address;
  c.dledger.max_frame_bytes = c.max_frame_bytes;
  COMET_RETURN_IF_ERROR(c.validate());
  return c;
}

namespace {

Status parse_role(const Properties& p, std::string_view name, BrokerConfig& c) {
  if (!p.contains(name)) return Status::ok();
  std::string role;
  COMET_RETURN_IF_ERROR(p.get_string(name, role));
  COMET_ASSIGN_OR_RETURN(c.broker_role, parse_broker_role(trim(role)));
  return Status::ok();
}

// The group is named after the broker unless dLegerGroup says otherwise (brokerName comes
// earlier in the table).
Status parse_dledger_group(const Properties& p, std::string_view name, BrokerConfig& c) {
  c.dledger.group = c.broker_name;
  return p.get_string(name, c.dledger.group);
}

std::string show_dledger_group(const BrokerConfig& c) {
  return c.dledger.group.empty() ? c.broker_name : c.dledger.group;
}

Status parse_dledger_peers(const Properties& p, std::string_view name, BrokerConfig& c) {
  if (!p.contains(name)) return Status::ok();
  std::string peers;
  COMET_RETURN_IF_ERROR(p.get_string(name, peers));
  COMET_ASSIGN_OR_RETURN(c.dledger.peers, dledger::DLedgerOptions::parse_peers(peers));
  return Status::ok();
}

std::string show_dledger_peers(const BrokerConfig& c) {
  std::string out;
  for (const dledger::DLedgerPeer& peer : c.dledger.peers)
    out += (out.empty() ? "" : ";") + peer.id + "-" + peer.address;
  return out;
}

Status parse_delay_level_key(const Properties& p, std::string_view name, BrokerConfig& c) {
  if (!p.contains(name)) return Status::ok();
  std::string text;
  COMET_RETURN_IF_ERROR(p.get_string(name, text));
  COMET_ASSIGN_OR_RETURN(c.message_delay_levels_ms, parse_delay_levels(text));
  return Status::ok();
}

std::string show_delay_levels(const BrokerConfig& c) {
  return format_delay_levels(c.message_delay_levels_ms);
}

// The broker's own keys, before the nested structs' (registerNameServerPeriod before its newer
// name heartbeatIntervalMs, so that the latter wins when both are set).
ConfigKeys<BrokerConfig> broker_keys() {
  using B = BrokerConfig;
  return {
      field_key<B>("brokerClusterName", &B::broker_cluster_name, "cluster this broker is in"),
      field_key<B>("brokerName", &B::broker_name, "name shared by a master and its slaves"),
      field_key<B>("brokerId", &B::broker_id, "0 for the master, > 0 for a slave"),
      field_key<B>("brokerIP1", &B::broker_ip1, "address advertised to clients"),
      field_key<B>("listenPort", &B::listen_port, "client port (0: any free port)"),
      field_key<B>("bindAddress", &B::bind_address, "address the ports bind"),
      field_key<B>("namesrvAddr", &B::namesrv_addr, "name servers, host:port;host:port"),
      {"brokerRole", "ASYNC_MASTER, SYNC_MASTER or SLAVE", parse_role,
       [](const B& c) { return std::string(broker_role_name(c.broker_role)); }},
      field_key<B>("haListenPort", &B::ha_listen_port,
                   "port slaves replicate from (0: any free port)"),
      field_key<B>("haMasterAddress", &B::ha_master_address,
                   "slave: master's host:haPort until the name servers name one"),
      field_key<B>("haMaxGapNotInSync", &B::ha_max_gap_not_in_sync,
                   "bytes a slave may lag and still count as in sync"),
      field_key<B>("haTransferBatchSize", &B::ha_transfer_batch_size, "bytes per replication push"),
      field_key<B>("haSendHeartbeatInterval", &B::ha_heartbeat_interval_ms,
                   "ms between replication heartbeats"),
      field_key<B>("haHousekeepingInterval", &B::ha_housekeeping_interval_ms,
                   "ms of silence after which a replication peer is cut"),
      {"messageDelayLevel", "delay of each DELAY level, level 1 first (s, m, h, d)",
       parse_delay_level_key, show_delay_levels},
      field_key<B>("timerMaxDelaySec", &B::timer_max_delay_sec,
                   "latest a timer message may be due, s after its send (1..31536000)"),
      field_key<B>("timerPrecisionMs", &B::timer_precision_ms,
                   "ms per timing-wheel tick of timer messages (10..60000)"),
      field_key<B>("transactionTimeOut", &B::transaction_timeout_ms,
                   "ms a half message waits before its first check (0..86400000)"),
      field_key<B>("transactionCheckInterval", &B::transaction_check_interval_ms,
                   "ms between checks of an open transaction (10..86400000)"),
      field_key<B>("transactionCheckMax", &B::transaction_check_max,
                   "checks after which an open transaction is discarded (>= 1)"),
      field_key<B>("rebalanceLockMaxLiveTime", &B::rebalance_lock_max_live_time_ms,
                   "ms an orderly consumer's queue lock lives after its last renewal "
                   "(1000..3600000)"),
      field_key<B>("slaveSyncIntervalMs", &B::slave_sync_interval_ms,
                   "slave: ms between copies of the master's topics and offsets"),
      field_key<B>("autoCreateTopicEnable", &B::auto_create_topic_enable,
                   "create a topic on its first send"),
      field_key<B>("autoCreateSubscriptionGroup", &B::auto_create_subscription_group,
                   "create a consumer group's config on its first heartbeat or pull; false "
                   "refuses a group without one"),
      field_key<B>("defaultTopicQueueNums", &B::default_topic_queue_nums,
                   "queues of an auto-created topic (1..1024)"),
      field_key<B>("brokerPermission", &B::broker_permission, "6 read/write, 4 read, 2 write"),
      field_key<B>("registerNameServerPeriod", &B::heartbeat_interval_ms,
                   "older name of heartbeatIntervalMs"),
      field_key<B>("heartbeatIntervalMs", &B::heartbeat_interval_ms,
                   "ms between registrations with the name servers"),
      field_key<B>("brokerExpiryMs", &B::broker_expiry_ms,
                   "ms of silence after which the name servers drop this broker"),
      field_key<B>("longPollingEnable", &B::long_polling_enable,
                   "hold a pull that finds nothing until a message arrives"),
      field_key<B>("suspendMaxTimeMillis", &B::suspend_max_time_millis,
                   "longest ms a pull is held"),
      field_key<B>("ioThreads", &B::io_threads, "network threads"),
      field_key<B>("sendQueueMaxBytes", &B::send_queue_max_bytes,
                   "bytes queued for sending per connection"),
      field_key<B>("maxFrameBytes", &B::max_frame_bytes, "largest request or response frame"),
  };
}

ConfigKeys<BrokerConfig> dledger_keys() {
  using B = BrokerConfig;
  return {
      field_key<B>("enableDLegerCommitLog", &B::enable_dleger_commit_log,
                   "replicate the CommitLog by Raft (brokerRole and HA keys do not apply)"),
      {"dLegerGroup", "Raft group name (defaults to brokerName)", parse_dledger_group,
       show_dledger_group},
      {"dLegerPeers", "every member, id-host:port;id-host:port", parse_dledger_peers,
       show_dledger_peers},
      field_key<B>(
          "dLegerSelfId", [](auto& c) -> auto& { return c.dledger.self_id; },
          "this member's id in dLegerPeers"),
      field_key<B>(
          "dLegerTickMs", [](auto& c) -> auto& { return c.dledger.tick_ms; },
          "ms per Raft clock tick"),
      field_key<B>(
          "dLegerHeartbeatIntervalMs",
          [](auto& c) -> auto& { return c.dledger.heartbeat_interval_ms; },
          "ms between a leader's heartbeats"),
      field_key<B>(
          "dLegerElectionTimeoutMs", [](auto& c) -> auto& { return c.dledger.election_timeout_ms; },
          "ms without a leader before a campaign (randomized up to twice)"),
      field_key<B>(
          "dLegerMaxInflight", [](auto& c) -> auto& { return c.dledger.max_inflight; },
          "append batches in flight per follower"),
      field_key<B>(
          "dLegerMaxBatchBytes", [](auto& c) -> auto& { return c.dledger.max_batch_bytes; },
          "bytes per append batch"),
  };
}

}  // namespace

const ConfigKeys<BrokerConfig>& BrokerConfig::keys() {
  static const ConfigKeys<BrokerConfig> k = [] {
    ConfigKeys<BrokerConfig> all = broker_keys();
    append_nested_keys(all, &BrokerConfig::server_limits, remoting::ServerLimits::keys());
    append_nested_keys(all, &BrokerConfig::security, remoting::SecurityConfig::keys());
    append_nested_keys(all, &BrokerConfig::store, commitlog::StoreConfig::keys());
    for (ConfigKey<BrokerConfig>& key : dledger_keys())
      all.push_back(std::move(key));
    return all;
  }();
  return k;
}

std::string BrokerConfig::keys_help() {
  return describe_config_keys(keys(), BrokerConfig{});
}

Status BrokerConfig::validate() const {
  if (!valid_name(broker_cluster_name)) {
    return invalid("brokerClusterName",
                   "'" + broker_cluster_name + "' must be 1..127 characters of [A-Za-z0-9_.-]");
  }
  if (!valid_name(broker_name)) {
    return invalid("brokerName",
                   "'" + broker_name + "' must be 1..127 characters of [A-Za-z0-9_.-]");
  }
  if (broker_id < 0) return invalid("brokerId", "must be >= 0, got " + std::to_string(broker_id));
  if (broker_role == BrokerRole::kSlave && broker_id == 0) {
    return invalid("brokerRole",
                   "SLAVE requires brokerId > 0 (brokerId 0 is reserved for the master)");
  }
  if (broker_role != BrokerRole::kSlave && broker_id != 0) {
    return invalid("brokerRole", std::string(broker_role_name(broker_role)) +
                                     " requires brokerId 0, got brokerId " +
                                     std::to_string(broker_id));
  }
  if (broker_ip1.empty() || has_space_or(broker_ip1, ":;")) {
    return invalid("brokerIP1", "'" + broker_ip1 + "' must be a host name or IPv4 address");
  }
  if (bind_address.empty() || has_space_or(bind_address, ";")) {
    return invalid("bindAddress", "'" + bind_address + "' must be an address to bind");
  }
  for (const std::string& addr : namesrv_addrs()) {
    COMET_RETURN_IF_ERROR(validate_host_port("namesrvAddr", addr));
  }
  if (!ha_master_address.empty()) {
    COMET_RETURN_IF_ERROR(validate_host_port("haMasterAddress", ha_master_address));
  }
  if (ha_transfer_batch_size < 4096 || ha_transfer_batch_size > (16u << 20) - 4096) {
    return invalid("haTransferBatchSize", "must be 4096..16773120 bytes (below maxFrameBytes)");
  }
  if (ha_heartbeat_interval_ms == 0 || ha_housekeeping_interval_ms <= ha_heartbeat_interval_ms) {
    return invalid("haHousekeepingInterval",
                   "must exceed haSendHeartbeatInterval (> 0), or a live peer would be cut");
  }
  if (timer_max_delay_sec < 1 || timer_max_delay_sec > 31'536'000) {
    return invalid("timerMaxDelaySec", "must be within 1..31536000 (a year), got " +
                                           std::to_string(timer_max_delay_sec));
  }
  if (timer_precision_ms < 10 || timer_precision_ms > 60'000) {
    return invalid("timerPrecisionMs",
                   "must be within 10..60000, got " + std::to_string(timer_precision_ms));
  }
  if (transaction_timeout_ms < 0 || transaction_timeout_ms > 86'400'000) {
    return invalid("transactionTimeOut", "must be within 0..86400000 (a day), got " +
                                             std::to_string(transaction_timeout_ms));
  }
  if (transaction_check_interval_ms < 10 || transaction_check_interval_ms > 86'400'000) {
    return invalid("transactionCheckInterval", "must be within 10..86400000, got " +
                                                   std::to_string(transaction_check_interval_ms));
  }
  if (transaction_check_max < 1) return invalid("transactionCheckMax", "must be >= 1");
  if (rebalance_lock_max_live_time_ms < 1000 || rebalance_lock_max_live_time_ms > 3600000) {
    return invalid("rebalanceLockMaxLiveTime", "must be within 1000..3600000, got " +
                                                   std::to_string(rebalance_lock_max_live_time_ms));
  }
  if (slave_sync_interval_ms == 0) return invalid("slaveSyncIntervalMs", "must be > 0");
  if (listen_port != 0 && listen_port == ha_listen_port) {
    return invalid("haListenPort", "must differ from listenPort " + std::to_string(listen_port));
  }
  if (default_topic_queue_nums < 1 || default_topic_queue_nums > kMaxQueueNums) {
    return invalid("defaultTopicQueueNums",
                   "must be within 1..1024, got " + std::to_string(default_topic_queue_nums));
  }
  if ((broker_permission & ~kPermReadWrite) != 0) {
    return invalid("brokerPermission", "must be a subset of 6 (4 read | 2 write), got " +
                                           std::to_string(broker_permission));
  }
  if (broker_expiry_ms == 0) return invalid("brokerExpiryMs", "must be > 0");
  if (heartbeat_interval_ms == 0 || heartbeat_interval_ms >= broker_expiry_ms) {
    return invalid("heartbeatIntervalMs", "must be > 0 and below brokerExpiryMs (" +
                                              std::to_string(broker_expiry_ms) + "), got " +
                                              std::to_string(heartbeat_interval_ms));
  }
  if (suspend_max_time_millis == 0 || suspend_max_time_millis > 3'600'000) {
    return invalid("suspendMaxTimeMillis",
                   "must be within 1..3600000, got " + std::to_string(suspend_max_time_millis));
  }
  if (io_threads == 0 || io_threads > 256) {
    return invalid("ioThreads", "must be within 1..256, got " + std::to_string(io_threads));
  }
  // A largest message plus its record header, topic, properties and the frame header must fit.
  uint64_t min_frame = uint64_t{store.max_message_size} + 64 * 1024;
  if (max_frame_bytes < min_frame) {
    return invalid("maxFrameBytes", "must be at least maxMessageSize + 65536 (" +
                                        std::to_string(min_frame) + "), got " +
                                        std::to_string(max_frame_bytes));
  }
  if (send_queue_max_bytes < max_frame_bytes) {
    return invalid("sendQueueMaxBytes", "must be at least maxFrameBytes (" +
                                            std::to_string(max_frame_bytes) + "), got " +
                                            std::to_string(send_queue_max_bytes));
  }
  if (enable_dleger_commit_log) {
    if (Status s = dledger.validate(); !s.is_ok()) {
      return Status::invalid_argument(s.message() + " (with enableDLegerCommitLog=true)");
    }
    if (dledger.max_batch_bytes + 64 * 1024 > max_frame_bytes) {
      return invalid("dLegerMaxBatchBytes", "must leave 64 KiB of maxFrameBytes for headers");
    }
  }
  COMET_RETURN_IF_ERROR(security.validate());
  return store.validate();
}

std::string BrokerConfig::broker_addr() const {
  return broker_ip1 + ":" + std::to_string(listen_port);
}

std::string BrokerConfig::ha_server_addr() const {
  return broker_ip1 + ":" + std::to_string(ha_listen_port);
}

std::vector<std::string> BrokerConfig::namesrv_addrs() const {
  std::vector<std::string> out;
  std::string_view rest = namesrv_addr;
  while (true) {
    size_t semi = rest.find(';');
    std::string_view entry = trim(rest.substr(0, semi));
    if (!entry.empty()) out.emplace_back(entry);
    if (semi == std::string_view::npos) break;
    rest = rest.substr(semi + 1);
  }
  return out;
}

}  // namespace comet::broker
