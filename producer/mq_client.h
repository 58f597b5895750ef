// MQClient: the core that every comet client in a process shares per client_id (RocketMQ's
// MQClientInstance): the pooled RemotingClient, the topic route cache, heartbeats to the master
// brokers, and a pool of threads for user callbacks (so they never run on an I/O thread).
//
// A background thread refreshes the route of every cached topic each poll_name_server_interval,
// and at once for topics passed to request_route_refresh(); it sends heartbeats (to the masters;
// to every broker once a consumer is registered) each heartbeat_interval, and at once when a
// route brings a new master. start() and shutdown() are
// counted: the first start() starts the client, the last matching shutdown() stops it for good.
//
// find_route() and update_route() block on the name server: never call them on an I/O thread of
// remoting(). Everything else is non-blocking and thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio/thread_pool.hpp>

#include "common/status.h"
#include "consumer/message_ext.h"
#include "producer/client_config.h"
#include "producer/topic_route.h"
#include "remoting/client_link.h"
#include "remoting/remoting_client.h"

namespace comet::client {

// "SYSTEM_BUSY (2): <remark>" for a response.
std::string describe_response(const remoting::RemotingCommand& response);
// What a response code tells the caller, as a Status code (the one mapping of every client and
// of comet-admin): kOk for SUCCESS; kUnavailable: try elsewhere or later; kTimeout: stored but not
// yet flushed or replicated; kNotFound: no such topic, group or offset, and PULL_NOT_FOUND, no new
// message at the offset yet (it is the queue's end), and CONSUMER_NOT_ONLINE; kOutOfRange:
// PULL_OFFSET_MOVED, the offset is outside the queue's range and the consumer must correct it;
// kMessageTooLarge and kInvalidArgument: the request itself is wrong (retrying it cannot help);
// kPermissionDenied: NO_PERMISSION, refused by the broker's configuration (a disabled consumer
// group) or its access control (aclEnable: unsigned, unknown account, missing permission; the
// remark says which) until an operator changes it; kIOError: anything else.
Code status_code_of(remoting::ResponseCode code);

// What heartbeats say of this client, as consumerConnection and producerConnection show it
// (RocketMQ's LanguageCode and MQVersion).
inline constexpr std::string_view kClientLanguage = "CPP";
inline constexpr int32_t kClientVersion = 1;
// A non-success response as a Status: "<context>: SYSTEM_BUSY (2): <remark>", its code
// status_code_of() the response's.
Status response_status(const remoting::RemotingCommand& response, std::string_view context);
// Splits "host:port;host:port" (blanks and empty entries dropped).
std::vector<std::string> split_namesrv_addr(std::string_view list);

// A broker asks what became of a transaction (CHECK_TRANSACTION_STATE, RocketMQ's
// checkTransactionState): the request, the half message it carries, and the broker that asked,
// where the answer (END_TRANSACTION) goes.
struct TransactionCheck {
  std::string broker_addr;  // the address of the connection the check came on
  protocol::CheckTransactionStateRequestT request;
  MessageExt msg;  // real topic and queue restored; broker_name when a cached route names it
};

// A broker resets a consumer group's offsets (RESET_CONSUMER_CLIENT_OFFSET, from an admin's
// resetOffsetByTime): the new offsets of the broker's queues of `topic`.
struct OffsetReset {
  std::string broker_addr;  // the address of the connection the reset came on
  std::string broker_name;  // from the cached routes; empty when none names it
  std::string topic;
  std::map<uint32_t, uint64_t> offsets;  // by queue id
};

class MQClient {
 public:
  using ConsumerDataProvider = std::function<protocol::ConsumerDataT()>;
  // Answers the broker (once): SUCCESS only after the consumer took the offsets.
  using ResetAnswer = std::function<void(remoting::ResponseCode code, std::string remark)>;
  using OffsetResetHandler = std::function<void(OffsetReset reset, ResetAnswer answer)>;
  using TransactionCheckHandler = std::function<void(TransactionCheck)>;

  // The live instance for config.client_id, or a new one made from `config`.
  static std::shared_ptr<MQClient> get_or_create(const ClientConfig& config);

  explicit MQClient(ClientConfig config);
  ~MQClient();
  MQClient(const MQClient&) = delete;
  MQClient& operator=(const MQClient&) = delete;

  // Fails, naming the setting, when the config's credentials or TLS files are unusable (see
  // setup_status()).
  Status start();
  void shutdown();
  bool running() const;
  bool stopped() const;

  const ClientConfig& config() const { return config_; }
  const std::string& client_id() const { return config_.client_id; }
  remoting::RemotingClient& remoting() { return *remoting_; }
  // Whether the config's credentials and TLS settings could be used: if not, why (the client's
  // connections then carry neither, and start() refuses with this).
  const Status& setup_status() const { return setup_status_; }

  // Sends `request` to the name servers in turn, starting with the one that answered last, until
  // one answers (whatever its response code); the last transport failure, "name server <addr>:
  // <why>", when none does. Blocks: never call it on an I/O thread of remoting().
  Result<remoting::RemotingCommand> invoke_namesrv(const remoting::RemotingCommand& request,
                                                   std::chrono::milliseconds timeout);

  // The cached route, or one fetched from the name servers (kNotFound: TOPIC_NOT_EXIST).
  Result<std::shared_ptr<const TopicRoute>> find_route(const std::string& topic);
  // Fetches the route now; the cached pointer only changes when the route did. A topic the name
  // server does not know is dropped from the cache.
  Result<std::shared_ptr<const TopicRoute>> update_route(const std::string& topic);
  std::shared_ptr<const TopicRoute> cached_route(const std::string& topic) const;
  // Asks the background thread to refresh `topic` now (after a send error).
  void request_route_refresh(const std::string& topic);
  // Waits until the cached route of `topic` is no longer `seen` (a refresh changed it), the
  // deadline passes or the client stops; true when it changed.
  bool wait_route_change(const std::string& topic, const std::shared_ptr<const TopicRoute>& seen,
                         std::chrono::steady_clock::time_point deadline);
  // The asynchronous form: `fn(true)` once the cached route of `topic` is no longer `seen`,
  // `fn(false)` when `deadline` passes or the client stops; always on a callback thread (inline
  // only once the callback threads are gone). Until then the background thread asks the name
  // servers for the route every kRouteWatchRecheck.
  // `owner` tags the watch for cancel_route_watches().
  static constexpr std::chrono::milliseconds kRouteWatchRecheck{200};
  void watch_route_change(const void* owner, const std::string& topic,
                          std::shared_ptr<const TopicRoute> seen,
                          std::chrono::steady_clock::time_point deadline,
                          std::function<void(bool changed)> fn);
  // Answers every watch of `owner` false now (its owner shuts down).
  void cancel_route_watches(const void* owner);
  // The address of a broker of any cached route.
  std::optional<std::string> find_broker_addr(const std::string& broker_name,
                                              int64_t broker_id = kMasterId) const;
  std::vector<std::string> master_addrs() const;

  // Groups carried by heartbeats; false when the group is registered already. Unregistering
  // tells the brokers (UNREGISTER_CLIENT, oneway).
  bool register_producer(const std::string& group);
  void unregister_producer(const std::string& group);
  bool register_consumer(const std::string& group, ConsumerDataProvider provider);
  void unregister_consumer(const std::string& group);
  // `fn` runs, on an I/O thread (it must not block), when a broker tells this client that the
  // members of consumer group `group` changed (NOTIFY_CONSUMER_IDS_CHANGED); an empty `fn`
  // removes it, as unregister_consumer() does.
  void on_consumer_ids_changed(const std::string& group, std::function<void()> fn);
  // `fn` runs, on a callback thread (it may block, briefly: the lane waits), for each check of a
  // transaction of producer group `group` (the request's producer_group, else the message's
  // PGROUP). A check for a group without a handler, or whose body is not exactly one valid
  // record, is logged and dropped: the broker checks again later. False when `group` has a
  // handler already.
  bool register_transaction_check(const std::string& group, TransactionCheckHandler fn);
  // `fn` runs on a callback thread for each offset reset of consumer group `group` (it must
  // answer, and should hand long work to its own thread); a reset of a group without a handler
  // is answered CONSUMER_NOT_ONLINE. An empty `fn` removes it, as unregister_consumer() does.
  void on_offset_reset(const std::string& group, OffsetResetHandler fn);
  void unregister_transaction_check(const std::string& group);
  // Asks the background thread for a heartbeat round now.
  void request_heartbeat();
  void send_heartbeat_to_all_brokers();

  // Runs `fn` on a callback thread, after what this thread posted before; false (and `fn`
  // dropped) once the client is shut down.
  bool post(std::function<void()> fn);

 private:
  remoting::ClientOptions remoting_options();
  // The config's signer and TLS context; an error goes to setup_status_.
  remoting::ClientLink make_security();
  void on_server_request(const std::shared_ptr<remoting::Connection>& conn,
                         const remoting::RemotingCommand& cmd);
  void on_consumer_ids_notice(const remoting::RemotingCommand& cmd);
  void on_reset_offset(const std::shared_ptr<remoting::Connection>& conn,
                       const remoting::RemotingCommand& cmd);
  void on_check_transaction_state(const std::shared_ptr<remoting::Connection>& conn,
                                  const remoting::RemotingCommand& cmd);
  // On a callback thread: decodes the check and runs its group's handler.
  void run_transaction_check(const std::string& broker_addr,
                             const protocol::CheckTransactionStateRequestT& request,
                             const std::string& body);
  // The name of the broker at `addr` in the cached routes, empty when none names it.
  std::string broker_name_of(const std::string& addr) const;
  Result<TopicRoute> fetch_route(const std::string& topic);
  // With mu_ held: the broker table from all routes; true when a master address is new.
  bool rebuild_brokers_locked();
  void background_loop();
  void unregister_client(const std::string& producer_group, const std::string& consumer_group);
  // With mu_ held: removes the route watches `take` accepts and returns their callbacks.
  template <typename Pred>
  std::vector<std::function<void(bool)>> take_route_watches_locked(Pred take);
  // Runs each fn(changed) on a callback thread, or here once there are none.
  void fire_route_watches(std::vector<std::function<void(bool)>> fns, bool changed);

  const ClientConfig config_;
  const std::vector<std::string> namesrv_addrs_;
  Status setup_status_;  // written once, by make_security() in the constructor
  const remoting::ClientLink security_;
  std::unique_ptr<remoting::RemotingClient> remoting_;
  asio::thread_pool callbacks_;
  std::atomic<size_t> namesrv_index_{0};  // the name server that answered last

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable route_changed_;  // a cached route was replaced, or the client stops
  int users_ = 0;
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  bool heartbeat_wanted_ = false;
  std::unordered_map<std::string, std::shared_ptr<const TopicRoute>> routes_;
  std::map<std::string, std::map<int64_t, std::string>> brokers_;  // name → id → addr
  std::unordered_set<std::string> refresh_wanted_;
  struct RouteWatch {
    const void* owner;
    std::string topic;
    std::shared_ptr<const TopicRoute> seen;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> fn;
  };
  std::vector<RouteWatch> route_watches_;
  bool route_watch_added_ = false;
  std::set<std::string> producer_groups_;
  std::map<std::string, ConsumerDataProvider> consumers_;
  // Its own lock: taken on an I/O thread, which must never wait behind mu_'s holders.
  std::mutex ids_changed_mu_;
  std::map<std::string, std::function<void()>> ids_changed_;
  std::mutex resets_mu_;
  std::map<std::string, OffsetResetHandler> offset_resets_;
  std::mutex checks_mu_;
  std::map<std::string, TransactionCheckHandler> transaction_checks_;
  std::thread background_;

  // Callbacks are queued on lanes (one per callback thread, picked by the posting thread, so
  // what one I/O thread posts runs in order). A lane drains everything queued on it in one pool
  // task, and posts that task only when it is not already scheduled: under load, one wake-up
  // covers many callbacks instead of one each.
  struct Lane {
    std::vector<std::function<void()>> queued;  // guarded by post_mu_
    bool scheduled = false;                     // guarded by post_mu_
  };
  void drain(size_t lane);

  std::mutex post_mu_;
  bool callbacks_stopped_ = false;
  std::vector<Lane> lanes_;
};

}  // namespace comet::client
