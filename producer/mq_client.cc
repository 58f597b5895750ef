#include "producer/mq_client.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <random>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <asio/post.hpp>

#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::client {

using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;

namespace {

std::shared_ptr<spdlog::logger> client_log() {
  static auto l = logger("client");
  return l;
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::unordered_map<std::string, std::weak_ptr<MQClient>>& registry() {
  static std::unordered_map<std::string, std::weak_ptr<MQClient>> r;
  return r;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> namesrv_list(const std::string& configured) {
  if (!configured.empty()) return split_namesrv_addr(configured);
  const char* env = std::getenv("NAMESRV_ADDR");
  return env ? split_namesrv_addr(env) : std::vector<std::string>{};
}

}  // namespace

std::string default_client_id() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  std::random_device rd;
  return fmt::format("{}@{}@{:08x}", host, static_cast<long>(getpid()), rd());
}

std::vector<std::string> split_namesrv_addr(std::string_view list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(';', pos);
    if (end == std::string_view::npos) end = list.size();
    std::string addr = trim(list.substr(pos, end - pos));
    if (!addr.empty()) out.push_back(std::move(addr));
    pos = end + 1;
  }
  return out;
}

std::string describe_response(const RemotingCommand& response) {
  std::string s =
      fmt::format("{} ({})", remoting::response_code_name(response.code()), response.code());
  if (!response.remark().empty()) s += ": " + response.remark();
  return s;
}

Code status_code_of(ResponseCode code) {
  switch (code) {
    case ResponseCode::SUCCESS:
      return Code::kOk;
    case ResponseCode::TOPIC_NOT_EXIST:
    case ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST:
    case ResponseCode::CONSUMER_NOT_ONLINE:
    case ResponseCode::QUERY_NOT_FOUND:
    case ResponseCode::PULL_NOT_FOUND:
      return Code::kNotFound;
    case ResponseCode::PULL_OFFSET_MOVED:
      return Code::kOutOfRange;
    case ResponseCode::MESSAGE_TOO_LARGE:
      return Code::kMessageTooLarge;
    case ResponseCode::ILLEGAL_TOPIC_NAME:
    case ResponseCode::MESSAGE_ILLEGAL:
    case ResponseCode::BAD_REQUEST:
    case ResponseCode::REQUEST_CODE_NOT_SUPPORTED:
      return Code::kInvalidArgument;
    case ResponseCode::SYSTEM_BUSY:
    case ResponseCode::SERVICE_NOT_AVAILABLE:
    case ResponseCode::SLAVE_NOT_AVAILABLE:
      return Code::kUnavailable;
    case ResponseCode::FLUSH_DISK_TIMEOUT:
    case ResponseCode::FLUSH_SLAVE_TIMEOUT:
      return Code::kTimeout;
    case ResponseCode::NO_PERMISSION:
      return Code::kPermissionDenied;
    default:
      return Code::kIOError;
  }
}

Status response_status(const RemotingCommand& response, std::string_view context) {
  const Code code = status_code_of(response.response_code());
  if (code == Code::kOk) return Status::ok();
  return Status(code, fmt::format("{}: {}", context, describe_response(response)));
}

std::shared_ptr<MQClient> MQClient::get_or_create(const ClientConfig& config) {
  std::lock_guard lock(registry_mutex());
  auto& reg = registry();
  std::erase_if(reg, [](const auto& entry) { return entry.second.expired(); });
  if (auto it = reg.find(config.client_id); it != reg.end()) {
    if (auto existing = it->second.lock(); existing && !existing->stopped()) return existing;
  }
  auto created = std::make_shared<MQClient>(config);
  reg[config.client_id] = created;
  return created;
}

MQClient::MQClient(ClientConfig config)
    : config_(std::move(config)),
      namesrv_addrs_(namesrv_list(config_.namesrv_addr)),
      security_(make_security()),
      remoting_(std::make_unique<remoting::RemotingClient>(remoting_options())),
      callbacks_(static_cast<size_t>(std::max(1, config_.callback_threads))),
      lanes_(static_cast<size_t>(std::max(1, config_.callback_threads))) {}

remoting::ClientLink MQClient::make_security() {
  auto made = remoting::ClientLink::make(config_.credentials, config_.tls);
  if (made.is_ok()) return std::move(made).value();
  setup_status_ =
      Status(made.status().code(), "client " + config_.client_id + ": " + made.status().message());
  client_log()->error("{}", setup_status_.message());
  return remoting::ClientLink{};
}

remoting::ClientOptions MQClient::remoting_options() {
  remoting::ClientOptions o;
  security_.apply(o.connection);
  o.on_request = [this](const std::shared_ptr<remoting::Connection>& conn, RemotingCommand cmd) {
    on_server_request(conn, cmd);
  };
  return o;
}

void MQClient::on_server_request(const std::shared_ptr<remoting::Connection>& conn,
                                 const RemotingCommand& cmd) {
  switch (static_cast<RequestCode>(cmd.code())) {
    case RequestCode::NOTIFY_CONSUMER_IDS_CHANGED:
      return on_consumer_ids_notice(cmd);
    case RequestCode::CHECK_TRANSACTION_STATE:
      return on_check_transaction_state(conn, cmd);
    case RequestCode::RESET_CONSUMER_CLIENT_OFFSET:
      return on_reset_offset(conn, cmd);
    default:
      break;
  }
  // As a connection without a request handler answers: the server learns at once.
  if (!cmd.is_oneway()) {
    conn->send(RemotingCommand::response_to(cmd, ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                                            "a client serves no such request"));
  }
}

void MQClient::on_consumer_ids_notice(const RemotingCommand& cmd) {
  const auto* ext = cmd.ext<protocol::ConsumerListRequestT>();
  if (ext == nullptr) return;
  std::function<void()> fn;
  {
    std::lock_guard lock(ids_changed_mu_);
    auto it = ids_changed_.find(ext->consumer_group);
    if (it == ids_changed_.end()) return;
    fn = it->second;
  }
  fn();
}

// On the I/O thread: only hands the reset over; the consumer's handler answers.
void MQClient::on_reset_offset(const std::shared_ptr<remoting::Connection>& conn,
                               const RemotingCommand& cmd) {
  const auto* ext = cmd.ext<protocol::ResetOffsetRequestT>();
  auto answer = [conn, request = cmd](ResponseCode code, std::string remark) {
    if (!request.is_oneway()) {
      conn->send(RemotingCommand::response_to(request, code, std::move(remark)));
    }
  };
  if (ext == nullptr) {
    client_log()->warn("client {}: RESET_CONSUMER_CLIENT_OFFSET from {} without its header",
                       client_id(), conn->remote_address());
    return answer(ResponseCode::BAD_REQUEST, "RESET_CONSUMER_CLIENT_OFFSET lacks its header");
  }
  OffsetReset reset;
  reset.broker_addr = conn->remote_address();
  reset.topic = ext->topic;
  for (const auto& e : ext->offsets) {
    if (e && e->queue_id >= 0 && e->offset >= 0) {
      reset.offsets[static_cast<uint32_t>(e->queue_id)] = static_cast<uint64_t>(e->offset);
    }
  }
  const bool posted =
      post([this, group = ext->consumer_group, reset = std::move(reset), answer]() mutable {
        OffsetResetHandler fn;
        {
          std::lock_guard lock(resets_mu_);
          if (auto it = offset_resets_.find(group); it != offset_resets_.end()) fn = it->second;
        }
        if (!fn) {
          return answer(ResponseCode::CONSUMER_NOT_ONLINE,
                        "no push consumer of group " + group + " in client " + client_id());
        }
        reset.broker_name = broker_name_of(reset.broker_addr);
        fn(std::move(reset), std::move(answer));
      });
  if (!posted) answer(ResponseCode::SERVICE_NOT_AVAILABLE, "client " + client_id() + " stops");
}

void MQClient::on_offset_reset(const std::string& group, OffsetResetHandler fn) {
  std::lock_guard lock(resets_mu_);
  if (fn) {
    offset_resets_[group] = std::move(fn);
  } else {
    offset_resets_.erase(group);
  }
}

// On the I/O thread: only hands the check over. Decoding and the user's check run on a callback
// thread; the answer goes back to the address the connection was made to (the pooled connection).
void MQClient::on_check_transaction_state(const std::shared_ptr<remoting::Connection>& conn,
                                          const RemotingCommand& cmd) {
  const auto* ext = cmd.ext<protocol::CheckTransactionStateRequestT>();
  if (ext == nullptr) {
    client_log()->warn("client {}: CHECK_TRANSACTION_STATE from {} without its header, dropped",
                       client_id(), conn->remote_address());
    return;
  }
  const bool posted =
      post([this, addr = conn->remote_address(), request = *ext, body = cmd.body.to_string()] {
        run_transaction_check(addr, request, body);
      });
  if (!posted) {
    client_log()->debug("client {}: transaction check from {} dropped: shutting down", client_id(),
                        conn->remote_address());
  }
}

void MQClient::run_transaction_check(const std::string& broker_addr,
                                     const protocol::CheckTransactionStateRequestT& request,
                                     const std::string& body) {
  const std::string broker_name = broker_name_of(broker_addr);
  auto msgs = decode_messages(body, broker_name);
  if (!msgs.is_ok() || msgs->size() != 1) {
    client_log()->warn("client {}: transaction check {} of group '{}' from {} dropped: {}",
                       client_id(), request.transaction_id, request.producer_group, broker_addr,
                       msgs.is_ok() ? fmt::format("its body holds {} messages, not 1", msgs->size())
                                    : msgs.status().to_string());
    return;
  }
  MessageExt& msg = msgs->front();
  std::string group = request.producer_group;
  if (group.empty()) {
    auto it = msg.properties.find(std::string(kPropertyProducerGroup));
    if (it != msg.properties.end()) group = it->second;
  }
  TransactionCheckHandler fn;
  {
    std::lock_guard lock(checks_mu_);
    auto it = transaction_checks_.find(group);
    if (it != transaction_checks_.end()) fn = it->second;
  }
  if (!fn) {
    client_log()->warn(
        "client {}: transaction check {} from {} dropped: no transaction producer of group "
        "'{}' here",
        client_id(), request.transaction_id, broker_addr, group);
    return;
  }
  fn(TransactionCheck{broker_addr, request, std::move(msg)});
}

bool MQClient::register_transaction_check(const std::string& group, TransactionCheckHandler fn) {
  std::lock_guard lock(checks_mu_);
  return transaction_checks_.emplace(group, std::move(fn)).second;
}

void MQClient::unregister_transaction_check(const std::string& group) {
  std::lock_guard lock(checks_mu_);
  transaction_checks_.erase(group);
}

std::string MQClient::broker_name_of(const std::string& addr) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, ids] : brokers_) {
    for (const auto& [id, a] : ids) {
      if (a == addr) return name;
    }
  }
  return {};
}

void MQClient::on_consumer_ids_changed(const std::string& group, std::function<void()> fn) {
  std::lock_guard lock(ids_changed_mu_);
  if (fn) {
    ids_changed_[group] = std::move(fn);
  } else {
    ids_changed_.erase(group);
  }
}

MQClient::~MQClient() {
  {
    std::lock_guard lock(mu_);
    if (started_ && !stopping_) users_ = 1;
  }
  shutdown();
  remoting_->shutdown();
  {
    std::lock_guard lock(post_mu_);
    if (callbacks_stopped_) return;
    callbacks_stopped_ = true;
  }
  callbacks_.join();
}

Status MQClient::start() {
  std::lock_guard lock(mu_);
  if (stopping_) return Status::shutdown("client " + client_id() + " is shut down");
  COMET_RETURN_IF_ERROR(setup_status_);
  if (namesrv_addrs_.empty()) {
    return Status::invalid_argument("no name server address: set namesrv_addr or NAMESRV_ADDR");
  }
  ++users_;
  if (!started_) {
    started_ = true;
    background_ = std::thread([this] { background_loop(); });
    client_log()->info("client {} started, name servers {}, {}", client_id(),
                       fmt::join(namesrv_addrs_, ";"), security_.describe());
  }
  return Status::ok();
}

template <typename Pred>
std::vector<std::function<void(bool)>> MQClient::take_route_watches_locked(Pred take) {
  std::vector<std::function<void(bool)>> fns;
  std::erase_if(route_watches_, [&](RouteWatch& w) {
    if (!take(std::as_const(w))) return false;
    fns.push_back(std::move(w.fn));
    return true;
  });
  return fns;
}

void MQClient::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    if (--users_ > 0) return;
    stopping_ = true;
  }
  cv_.notify_all();
  route_changed_.notify_all();
  // Fails every request in flight at once, so the background thread and senders finish quickly.
  remoting_->shutdown();
  if (background_.joinable()) background_.join();
  std::vector<std::function<void(bool)>> watches;
  {
    std::lock_guard lock(mu_);
    watches = take_route_watches_locked([](const RouteWatch&) { return true; });
  }
  fire_route_watches(std::move(watches), false);
  {
    std::lock_guard lock(post_mu_);
    callbacks_stopped_ = true;
  }
  callbacks_.join();
  client_log()->info("client {} shut down", client_id());
}

bool MQClient::running() const {
  std::lock_guard lock(mu_);
  return started_ && !stopping_;
}

bool MQClient::stopped() const {
  return stopping_.load();
}

bool MQClient::post(std::function<void()> fn) {
  const size_t lane = std::hash<std::thread::id>{}(std::this_thread::get_id()) % lanes_.size();
  {
    std::lock_guard lock(post_mu_);
    if (callbacks_stopped_) return false;
    Lane& l = lanes_[lane];
    l.queued.push_back(std::move(fn));
    if (l.scheduled) return true;
    l.scheduled = true;
  }
  asio::post(callbacks_, [this, lane] { drain(lane); });
  return true;
}

void MQClient::drain(size_t lane) {
  std::vector<std::function<void()>> batch;
  // Bounded rounds, so one busy lane cannot keep a pool thread forever: past them the lane
  // re-posts itself behind the other work.
  for (int round = 0; round < 64; ++round) {
    {
      std::lock_guard lock(post_mu_);
      batch.clear();
      batch.swap(lanes_[lane].queued);
      if (batch.empty()) {
        lanes_[lane].scheduled = false;
        return;
      }
    }
    for (auto& fn : batch)
      fn();
  }
  asio::post(callbacks_, [this, lane] { drain(lane); });
}

Result<RemotingCommand> MQClient::invoke_namesrv(const RemotingCommand& request,
                                                 std::chrono::milliseconds timeout) {
  if (namesrv_addrs_.empty()) return Status::invalid_argument("no name server address");
  const size_t n = namesrv_addrs_.size();
  const size_t first = namesrv_index_.load();
  Status last;
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (first + i) % n;
    const std::string& addr = namesrv_addrs_[index];
    auto response = remoting_->invoke(addr, RemotingCommand(request), timeout);
    if (response.is_ok()) {
      namesrv_index_ = index;
      return response;
    }
    last = Status(response.status().code(),
                  "name server " + addr + ": " + response.status().message());
  }
  return last;
}

Result<TopicRoute> MQClient::fetch_route(const std::string& topic) {
  if (namesrv_addrs_.empty()) return Status::invalid_argument("no name server address");
  const size_t n = namesrv_addrs_.size();
  const size_t first = namesrv_index_.load();
  Status last;
  for (size_t i = 0; i < n && !stopping_; ++i) {
    const size_t index = (first + i) % n;
    const std::string& addr = namesrv_addrs_[index];
    auto request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
    protocol::GetRouteInfoRequestT ext;
    ext.topic = topic;
    request.set_ext(std::move(ext));
    auto response = remoting_->invoke(addr, std::move(request), config_.request_timeout);
    if (!response.is_ok()) {
      last = Status(response.status().code(),
                    "name server " + addr + ": " + response.status().message());
      client_log()->debug("route of {}: {}", topic, last.message());
      continue;
    }
    const std::string context = "route of topic " + topic + " from name server " + addr;
    if (response->response_code() == ResponseCode::SUCCESS) {
      const auto* data = response->ext<protocol::TopicRouteDataT>();
      if (!data) {
        last = Status::corruption(context + ": SUCCESS without TopicRouteData");
        continue;
      }
      namesrv_index_ = index;
      return TopicRoute::from_protocol(*data);
    }
    if (response->response_code() == ResponseCode::TOPIC_NOT_EXIST) {
      namesrv_index_ = index;
      return response_status(*response, context);
    }
    last = response_status(*response, context);
  }
  if (stopping_ && last.is_ok()) return Status::shutdown("client is shut down");
  return Status(last.code(),
                "no name server answered for topic " + topic + " (" + last.message() + ")");
}

Result<std::shared_ptr<const TopicRoute>> MQClient::find_route(const std::string& topic) {
  if (auto cached = cached_route(topic)) return cached;
  return update_route(topic);
}

Result<std::shared_ptr<const TopicRoute>> MQClient::update_route(const std::string& topic) {
  auto fetched = fetch_route(topic);
  bool new_master = false;
  bool changed = false;
  std::shared_ptr<const TopicRoute> route;
  std::vector<std::function<void(bool)>> watches;
  {
    std::lock_guard lock(mu_);
    if (!fetched.is_ok()) {
      if (fetched.status().code() == Code::kNotFound && routes_.erase(topic) > 0) {
        rebuild_brokers_locked();
      }
      return fetched.status();
    }
    auto& slot = routes_[topic];
    if (!slot || !(*slot == *fetched)) {
      if (slot) client_log()->info("route of topic {} changed", topic);
      slot = std::make_shared<const TopicRoute>(std::move(fetched).value());
      new_master = rebuild_brokers_locked();
      heartbeat_wanted_ = heartbeat_wanted_ || new_master;
      changed = true;
      watches = take_route_watches_locked(
          [&](const RouteWatch& w) { return w.topic == topic && w.seen != slot; });
    }
    route = slot;
  }
  if (new_master) cv_.notify_all();
  if (changed) route_changed_.notify_all();
  fire_route_watches(std::move(watches), true);
  return route;
}

void MQClient::watch_route_change(const void* owner, const std::string& topic,
                                  std::shared_ptr<const TopicRoute> seen,
                                  std::chrono::steady_clock::time_point deadline,
                                  std::function<void(bool changed)> fn) {
  std::optional<bool> now;  // set: answer at once
  {
    std::lock_guard lock(mu_);
    auto it = routes_.find(topic);
    if (stopping_) {
      now = false;
    } else if (it != routes_.end() && it->second != seen) {
      now = true;
    } else {
      // The first watch of a topic asks for the route at once; later ones wait for the recheck.
      if (std::none_of(route_watches_.begin(), route_watches_.end(),
                       [&](const RouteWatch& w) { return w.topic == topic; })) {
        refresh_wanted_.insert(topic);
      }
      route_watches_.push_back(RouteWatch{owner, topic, std::move(seen), deadline, std::move(fn)});
      route_watch_added_ = true;
    }
  }
  if (now) {
    std::vector<std::function<void(bool)>> fns;
    fns.push_back(std::move(fn));
    fire_route_watches(std::move(fns), *now);
    return;
  }
  cv_.notify_all();
}

void MQClient::cancel_route_watches(const void* owner) {
  std::vector<std::function<void(bool)>> fns;
  {
    std::lock_guard lock(mu_);
    fns = take_route_watches_locked([&](const RouteWatch& w) { return w.owner == owner; });
  }
  fire_route_watches(std::move(fns), false);
}

void MQClient::fire_route_watches(std::vector<std::function<void(bool)>> fns, bool changed) {
  for (auto& fn : fns) {
    auto call = [fn = std::move(fn), changed] { fn(changed); };
    if (!post(call)) call();
  }
}

bool MQClient::wait_route_change(const std::string& topic,
                                 const std::shared_ptr<const TopicRoute>& seen,
                                 std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return route_changed_.wait_until(lock, deadline, [&] {
    if (stopping_) return true;
    auto it = routes_.find(topic);
    return it != routes_.end() && it->second != seen;
  }) && !stopping_;
}

std::shared_ptr<const TopicRoute> MQClient::cached_route(const std::string& topic) const {
  std::lock_guard lock(mu_);
  auto it = routes_.find(topic);
  return it == routes_.end() ? nullptr : it->second;
}

void MQClient::request_route_refresh(const std::string& topic) {
  {
    std::lock_guard lock(mu_);
    refresh_wanted_.insert(topic);
  }
  cv_.notify_all();
}

bool MQClient::rebuild_brokers_locked() {
  std::map<std::string, std::map<int64_t, std::string>> brokers;
  for (const auto& [_, route] : routes_) {
    for (const auto& b : route->broker_datas) {
      auto& addrs = brokers[b.broker_name];
      for (const auto& [id, addr] : b.addrs)
        addrs[id] = addr;
    }
  }
  bool new_master = false;
  for (const auto& [name, addrs] : brokers) {
    auto master = addrs.find(kMasterId);
    if (master == addrs.end()) continue;
    auto old = brokers_.find(name);
    if (old == brokers_.end() || !old->second.contains(kMasterId) ||
        old->second.at(kMasterId) != master->second) {
      new_master = true;
    }
  }
  brokers_ = std::move(brokers);
  return new_master;
}

std::optional<std::string> MQClient::find_broker_addr(const std::string& broker_name,
                                                      int64_t broker_id) const {
  std::lock_guard lock(mu_);
  auto b = brokers_.find(broker_name);
  if (b == brokers_.end()) return std::nullopt;
  auto a = b->second.find(broker_id);
  if (a == b->second.end()) return std::nullopt;
  return a->second;
}

std::vector<std::string> MQClient::master_addrs() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [_, addrs] : brokers_) {
    if (auto it = addrs.find(kMasterId); it != addrs.end()) out.push_back(it->second);
  }
  return out;
}

bool MQClient::register_producer(const std::string& group) {
  {
    std::lock_guard lock(mu_);
    if (!producer_groups_.insert(group).second) return false;
    heartbeat_wanted_ = true;
  }
  cv_.notify_all();
  return true;
}

void MQClient::unregister_producer(const std::string& group) {
  {
    std::lock_guard lock(mu_);
    if (producer_groups_.erase(group) == 0) return;
  }
  unregister_client(group, {});
}

bool MQClient::register_consumer(const std::string& group, ConsumerDataProvider provider) {
  {
    std::lock_guard lock(mu_);
    if (!consumers_.emplace(group, std::move(provider)).second) return false;
    heartbeat_wanted_ = true;
  }
  cv_.notify_all();
  return true;
}

void MQClient::unregister_consumer(const std::string& group) {
  on_consumer_ids_changed(group, nullptr);
  on_offset_reset(group, nullptr);
  {
    std::lock_guard lock(mu_);
    if (consumers_.erase(group) == 0) return;
  }
  unregister_client({}, group);
}

void MQClient::unregister_client(const std::string& producer_group,
                                 const std::string& consumer_group) {
  for (const auto& addr : master_addrs()) {
    auto request = RemotingCommand::request(RequestCode::UNREGISTER_CLIENT);
    protocol::UnregisterClientRequestT ext;
    ext.client_id = client_id();
    ext.producer_group = producer_group;
    ext.consumer_group = consumer_group;
    request.set_ext(std::move(ext));
    (void)remoting_->invoke_oneway(addr, std::move(request));
  }
}

void MQClient::request_heartbeat() {
  {
    std::lock_guard lock(mu_);
    heartbeat_wanted_ = true;
  }
  cv_.notify_all();
}

void MQClient::send_heartbeat_to_all_brokers() {
  protocol::HeartbeatRequestT heartbeat;
  heartbeat.client_id = client_id();
  heartbeat.language = std::string(kClientLanguage);
  heartbeat.version = kClientVersion;
  std::vector<ConsumerDataProvider> providers;
  {
    std::lock_guard lock(mu_);
    heartbeat.producer_groups.assign(producer_groups_.begin(), producer_groups_.end());
    for (const auto& [_, provider] : consumers_)
      providers.push_back(provider);
  }
  for (const auto& provider : providers) {
    heartbeat.consumers.push_back(std::make_unique<protocol::ConsumerDataT>(provider()));
  }
  if (heartbeat.producer_groups.empty() && heartbeat.consumers.empty()) return;
  // Producers only talk to masters; consumers may pull from slaves, which must know them too.
  std::vector<std::string> addrs;
  if (heartbeat.consumers.empty()) {
    addrs = master_addrs();
  } else {
    std::lock_guard lock(mu_);
    for (const auto& [_, ids] : brokers_) {
      for (const auto& [id, addr] : ids)
        addrs.push_back(addr);
    }
  }
  for (const auto& addr : addrs) {
    auto request = RemotingCommand::request(RequestCode::HEART_BEAT);
    request.set_ext(protocol::HeartbeatRequestT(heartbeat));
    if (Status s = remoting_->invoke_oneway(addr, std::move(request)); !s.is_ok()) {
      client_log()->debug("heartbeat to {}: {}", addr, s.to_string());
    }
  }
}

void MQClient::background_loop() {
  using Clock = std::chrono::steady_clock;
  auto next_poll = Clock::now() + config_.poll_name_server_interval;
  auto next_heartbeat = Clock::now();
  auto next_watch_recheck = Clock::now() + kRouteWatchRecheck;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    // Route watches: the expired ones answer false; the rest have their topics asked for again
    // every kRouteWatchRecheck.
    std::vector<std::function<void(bool)>> expired =
        take_route_watches_locked([&](const RouteWatch& w) { return w.deadline <= now; });
    route_watch_added_ = false;
    if (!expired.empty()) {
      lock.unlock();
      fire_route_watches(std::move(expired), false);
      lock.lock();
    }
    if (!route_watches_.empty() && now >= next_watch_recheck) {
      for (const auto& w : route_watches_)
        refresh_wanted_.insert(w.topic);
      next_watch_recheck = now + kRouteWatchRecheck;
    }
    std::vector<std::string> topics(refresh_wanted_.begin(), refresh_wanted_.end());
    refresh_wanted_.clear();
    if (now >= next_poll) {
      topics.clear();
      for (const auto& [topic, _] : routes_)
        topics.push_back(topic);
      next_poll = now + config_.poll_name_server_interval;
    }
    bool heartbeat = false;
    if (now >= next_heartbeat || heartbeat_wanted_) {
      heartbeat = true;
      heartbeat_wanted_ = false;
      next_heartbeat = now + config_.heartbeat_interval;
    }
    if (!topics.empty() || heartbeat) {
      lock.unlock();
      for (const auto& topic : topics) {
        if (stopping_) break;
        if (auto r = update_route(topic); !r.is_ok() && !stopping_) {
          client_log()->warn("refreshing the route of {}: {}", topic, r.status().to_string());
        }
      }
      if (heartbeat && !stopping_) send_heartbeat_to_all_brokers();
      lock.lock();
      continue;
    }
    auto wake = std::min(next_poll, next_heartbeat);
    for (const auto& w : route_watches_)
      wake = std::min({wake, w.deadline, next_watch_recheck});
    cv_.wait_until(lock, wake, [&] {
      return stopping_ || !refresh_wanted_.empty() || heartbeat_wanted_ || route_watch_added_;
    });
  }
}

}  // namespace comet::client
