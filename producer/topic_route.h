// A topic's route as the name server reports it (queue data per broker, broker addresses), in a
// canonical order so two answers compare equal when nothing changed, and the queues derived from
// it: writable queues for producers, readable queues for consumers. A queue belongs to a broker
// that has a master (broker id 0); others cannot take writes.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "remoting/remoting_command.h"

namespace comet::client {

constexpr int kPermRead = 4;
constexpr int kPermWrite = 2;
constexpr int64_t kMasterId = 0;

struct MessageQueue {
  std::string topic;
  std::string broker_name;
  uint32_t queue_id = 0;

  auto operator<=>(const MessageQueue&) const = default;
  bool operator==(const MessageQueue&) const = default;
  std::string to_string() const;
};

struct QueueData {
  std::string broker_name;
  int read_queue_nums = 0;
  int write_queue_nums = 0;
  int perm = 0;
  bool operator==(const QueueData&) const = default;
};

struct BrokerData {
  std::string cluster;
  std::string broker_name;
  std::map<int64_t, std::string> addrs;  // broker id → "host:port"
  bool operator==(const BrokerData&) const = default;

  std::optional<std::string> master_addr() const;
};

struct TopicRoute {
  std::vector<QueueData> queue_datas;    // sorted by broker name
  std::vector<BrokerData> broker_datas;  // sorted by broker name
  bool operator==(const TopicRoute&) const = default;

  static TopicRoute from_protocol(const protocol::TopicRouteDataT& data);

  const BrokerData* find_broker(const std::string& broker_name) const;
  std::optional<std::string> master_addr(const std::string& broker_name) const;
  // Queue ids 0..write_queue_nums-1 of each writable broker with a master, by broker name.
  std::vector<MessageQueue> writable_queues(const std::string& topic) const;
  // Queue ids 0..read_queue_nums-1 of each readable broker, by broker name.
  std::vector<MessageQueue> readable_queues(const std::string& topic) const;
};

}  // namespace comet::client
