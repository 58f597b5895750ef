// NamesrvController: the name server process minus main(): a RemotingServer answering
// REGISTER_BROKER, BROKER_HEARTBEAT, UNREGISTER_BROKER, GET_ROUTEINFO_BY_TOPIC and
// GET_BROKER_CLUSTER_INFO from a RouteInfoManager, and a steady_timer on the server's io_context
// that expires silent brokers every scanNotActiveBrokerInterval. start() once; stop() (idempotent,
// also run by the destructor) joins the I/O threads, so it must not be called from a request
// handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <asio.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "namesrv/namesrv_config.h"
#include "namesrv/route_info_manager.h"
#include "remoting/acl_gate.h"
#include "remoting/remoting_server.h"

namespace comet::namesrv {

class NamesrvController {
 public:
  using ExpiryListener = std::function<void(const std::vector<std::string>& removed_addrs)>;

  // `clock` stamps heartbeats and drives expiry; it must outlive the controller.
  explicit NamesrvController(NamesrvConfig config, const Clock& clock = SystemClock::instance());
  ~NamesrvController();
  NamesrvController(const NamesrvController&) = delete;
  NamesrvController& operator=(const NamesrvController&) = delete;

  // Called on an I/O thread after each scan that removed brokers. Set before start().
  void set_expiry_listener(ExpiryListener listener) { expiry_listener_ = std::move(listener); }

  Status start();
  void stop();

  // The bound port (useful with listenPort=0), valid after start().
  uint16_t port() const { return server_ ? server_->port() : 0; }
  const NamesrvConfig& config() const { return config_; }
  RouteInfoManager& route_info() { return routes_; }

 private:
  void register_handlers();
  void schedule_scan();
  void scan();

  const NamesrvConfig config_;
  const Clock& clock_;
  RouteInfoManager routes_;
  ExpiryListener expiry_listener_;
  // Access control (aclEnable): every request passes it; null without.
  std::shared_ptr<remoting::AclGate> acl_gate_;
  std::unique_ptr<remoting::RemotingServer> server_;
  // Declared after server_: destroyed before the io_context it waits on.
  std::unique_ptr<asio::steady_timer> scan_timer_;
  std::atomic<bool> stopping_{false};
  std::mutex lifecycle_mu_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace comet::namesrv
