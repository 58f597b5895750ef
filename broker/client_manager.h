// Consumer and producer groups as the broker knows them from client heartbeats: which clients
// are in a consumer group (what rebalancing divides queues among) and what they subscribe to,
// and where each producer of a group can be reached (the broker asks one of them for the state
// of a transaction, CHECK_TRANSACTION_STATE). A client drops out when its heartbeats stop for
// `client_expiry_ms`, it unregisters, or the connection its last heartbeat came on closes
// (RocketMQ's ClientHousekeepingService: a killed member's queues go to the others at once).
// Whenever a consumer group's members change, every member still connected is told so
// (NOTIFY_CONSUMER_IDS_CHANGED, as RocketMQ does) and rebalances at once rather than at its next
// periodic rebalance: until then a member that joined and one that has not yet given up its
// queues would both consume them.
//
// Costs, with a thousand clients in hundreds of groups: a heartbeat costs what that client's
// groups and subscriptions are (map lookups by group and client id), a membership change notifies
// that group's members only, and a closed connection costs the members heard on it, found through
// an index by connection rather than by walking every group. Only the expiry scan (every
// heartbeatIntervalMs) walks every member.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "remoting/connection.h"
#include "remoting/remoting_command.h"

namespace comet::broker {

class ClientManager {
 public:
  explicit ClientManager(int64_t client_expiry_ms = 120000) : expiry_ms_(client_expiry_ms) {}

  // `conn`: where the heartbeat came from, where the client hears of changes to its groups.
  // Returns true when a consumer group's membership changed.
  bool heartbeat(const protocol::HeartbeatRequestT& hb, int64_t now_ms,
                 const std::shared_ptr<remoting::Connection>& conn = nullptr);
  void unregister(const std::string& client_id, const std::string& consumer_group,
                  const std::string& producer_group);
  // Client ids of a consumer group, sorted (every member sorts the same way to rebalance).
  std::vector<std::string> consumers(const std::string& group) const;
  std::optional<protocol::ConsumerDataT> subscription(const std::string& group) const;
  // The expression group `group`'s last heartbeat subscribed `topic` with (without copying the
  // group's other subscriptions: RocketMQ's push consumers ask this on every pull).
  std::optional<std::string> subscription_expression(const std::string& group,
                                                     const std::string& topic) const;
  std::vector<std::string> consumer_groups() const;
  // The open connections of the members of consumer group `group` (an admin reset tells each of
  // them its new offsets).
  std::vector<std::shared_ptr<remoting::Connection>> consumer_connections(
      const std::string& group) const;
  // Client ids of a producer group, sorted.
  std::vector<std::string> producers(const std::string& group) const;
  // The connection of a producer of `group` that is open, taking the members in turn (RocketMQ's
  // getAvailableChannel: the check of a transaction goes to another producer of the group when
  // one is gone); null when none is connected.
  std::shared_ptr<remoting::Connection> producer_connection(const std::string& group);
  // Drops clients not heard from; returns how many.
  size_t scan_expired(int64_t now_ms);
  // Drops the clients whose last heartbeat came on `conn`, which has closed (a client that
  // heartbeats on another connection since then stays); returns how many consumers left.
  size_t connection_closed(const remoting::Connection* conn);

  // Who is connected, as consumerConnection and producerConnection show it: each member's client
  // id, the peer address of its connection, its language and version (from its last heartbeat),
  // sorted by client id; for a consumer group also what its last heartbeat said of the group.
  // nullopt / empty when no member is known.
  std::optional<protocol::ConsumerConnectionT> consumer_connection(const std::string& group) const;
  std::vector<protocol::ClientConnectionT> producer_connection_list(const std::string& group) const;

 private:
  struct Member {
    int64_t last_heartbeat_ms = 0;
    std::weak_ptr<remoting::Connection> conn;
    const remoting::Connection* conn_id = nullptr;  // what connection_closed compares
    std::string address;                            // the connection's peer, kept after it closes
    std::string language;
    int32_t version = 0;
  };
  static void update_member(Member& m, const protocol::HeartbeatRequestT& hb, int64_t now_ms,
                            const std::shared_ptr<remoting::Connection>& conn);
  static protocol::ClientConnectionT connection_of(const std::string& id, const Member& m);
  struct Group {
    protocol::ConsumerDataT data;
    std::map<std::string, Member> clients;  // by client id
  };
  struct ProducerGroup {
    std::map<std::string, Member> clients;  // by client id
    size_t next = 0;                        // where producer_connection's turn starts
  };
  struct Notice {
    std::string group;
    std::vector<std::shared_ptr<remoting::Connection>> members;
  };
  // The notice of a change to `g`: its members' live connections.
  static Notice notice_locked(const std::string& name, const Group& g);
  // Drops the members not heard from since `now_ms - expiry_ms_` from every group; the notices
  // of the consumer groups that changed go to `notices`. Returns how many consumers left. Under
  // mu_.
  size_t drop_expired_locked(int64_t now_ms, std::vector<Notice>& notices);
  // Erases the members of `group` not heard from since `now_ms - expiry_ms_`; returns how many.
  // Under mu_.
  size_t erase_expired_locked(bool producer, const std::string& group,
                              std::map<std::string, Member>& members, int64_t now_ms);
  static void send(const std::vector<Notice>& notices);
  // A membership, as the index by connection names it.
  struct MemberKey {
    bool producer = false;
    std::string group;
    std::string client_id;
    auto operator<=>(const MemberKey&) const = default;
  };
  // Keeps members_by_conn_ exact: `key` moves from connection `before` to `after` (either null).
  void reindex_locked(const MemberKey& key, const remoting::Connection* before,
                      const remoting::Connection* after);
  // Takes consumer `id` out of group `g`; returns true when it was a member. Under mu_.
  bool erase_consumer_locked(std::map<std::string, Group>::iterator g, const std::string& id);
  const int64_t expiry_ms_;
  mutable std::mutex mu_;
  std::map<std::string, Group> consumer_groups_;
  std::map<std::string, ProducerGroup> producer_groups_;
  // The members whose last heartbeat came on each connection (Member::conn_id), so that a closed
  // connection drops them without a walk over every group.
  std::unordered_map<const remoting::Connection*, std::set<MemberKey>> members_by_conn_;
};

}  // namespace comet::broker
