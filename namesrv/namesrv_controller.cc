#include "namesrv/namesrv_controller.h"

#include "namesrv/request_access.h"
#include "remoting/link_security.h"

#include "common/logging.h"

namespace comet::namesrv {

using remoting::Connection;
using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;

namespace {

void reply(const std::shared_ptr<Connection>& conn, const RemotingCommand& req,
           RemotingCommand resp) {
  if (!req.is_oneway()) conn->send(std::move(resp));
}

void bad_request(const std::shared_ptr<Connection>& conn, const RemotingCommand& req,
                 std::string remark) {
  reply(conn, req, RemotingCommand::response_to(req, ResponseCode::BAD_REQUEST, std::move(remark)));
}

RemotingCommand registration_answer(const RemotingCommand& req, RegisterResult r) {
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  protocol::RegisterBrokerResponseT body;
  body.master_addr = std::move(r.master_addr);
  body.ha_server_addr = std::move(r.ha_server_addr);
  body.master_epoch = r.master_epoch;
  body.fenced = r.fenced;
  body.assigned_broker_id = r.assigned_broker_id;
  body.full_registration_needed = r.full_registration_needed;
  resp.set_ext(std::move(body));
  return resp;
}

template <typename Request>
void log_fenced(const Request& req, const RegisterResult& r) {
  if (!r.fenced) return;
  logger("namesrv")->warn("fenced {}/{} at {}: it claims master with epoch {}, the group is at {}",
                          req.cluster_name, req.broker_name, req.broker_addr, req.epoch,
                          r.master_epoch);
}

}  // namespace

NamesrvController::NamesrvController(NamesrvConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock), routes_(config_.broker_expiry_ms) {}

NamesrvController::~NamesrvController() {
  stop();
}

void NamesrvController::register_handlers() {
  auto log = logger("namesrv");

  server_->register_handler(
      RequestCode::REGISTER_BROKER,
      [this, log](const std::shared_ptr<Connection>& conn, RemotingCommand req) {
        const auto* ext = req.ext<protocol::RegisterBrokerRequestT>();
        if (!ext) return bad_request(conn, req, "REGISTER_BROKER without RegisterBrokerRequest");
        auto r = routes_.register_broker(*ext, clock_.now_ms());
        if (!r.is_ok()) {
          log->warn("rejected registration from {}: {}", conn->remote_address(),
                    r.status().message());
          return bad_request(conn, req, r.status().message());
        }
        if (!r->replaced_addr.empty()) {
          log->info("broker {}/{} id {} moved from {} to {}", ext->cluster_name, ext->broker_name,
                    ext->broker_id, r->replaced_addr, ext->broker_addr);
        } else if (r->first_registration) {
          log->info("broker registered: {}/{} id {} at {} (epoch {}, {} topics)", ext->cluster_name,
                    ext->broker_name, ext->broker_id, ext->broker_addr, ext->epoch,
                    ext->topic_configs.size());
        }
        log_fenced(*ext, *r);
        reply(conn, req, registration_answer(req, std::move(r).value()));
      });

  // Between changes of its table a broker sends only this: no topics to parse or apply.
  server_->register_handler(
      RequestCode::BROKER_HEARTBEAT,
      [this, log](const std::shared_ptr<Connection>& conn, RemotingCommand req) {
        const auto* ext = req.ext<protocol::BrokerHeartbeatRequestT>();
        if (!ext) return bad_request(conn, req, "BROKER_HEARTBEAT without BrokerHeartbeatRequest");
        auto r = routes_.broker_heartbeat(*ext, clock_.now_ms());
        if (!r.is_ok()) {
          log->warn("rejected heartbeat from {}: {}", conn->remote_address(), r.status().message());
          return bad_request(conn, req, r.status().message());
        }
        if (r->full_registration_needed) {
          log->info("broker {}/{} id {} at {}: its topic table is not held here, asked for it",
                    ext->cluster_name, ext->broker_name, ext->broker_id, ext->broker_addr);
        }
        log_fenced(*ext, *r);
        reply(conn, req, registration_answer(req, std::move(r).value()));
      });

  server_->register_handler(
      RequestCode::UNREGISTER_BROKER,
      [this, log](const std::shared_ptr<Connection>& conn, RemotingCommand req) {
        const auto* ext = req.ext<protocol::UnregisterBrokerRequestT>();
        if (!ext) {
          return bad_request(conn, req, "UNREGISTER_BROKER without UnregisterBrokerRequest");
        }
        if (routes_.unregister_broker(*ext)) {
          log->info("broker unregistered: {}/{} id {} at {}", ext->cluster_name, ext->broker_name,
                    ext->broker_id, ext->broker_addr);
        }
        reply(conn, req, RemotingCommand::response_to(req, ResponseCode::SUCCESS));
      });

  server_->register_handler(
      RequestCode::GET_ROUTEINFO_BY_TOPIC,
      [this](const std::shared_ptr<Connection>& conn, RemotingCommand req) {
        const auto* ext = req.ext<protocol::GetRouteInfoRequestT>();
        if (!ext) {
          return bad_request(conn, req, "GET_ROUTEINFO_BY_TOPIC without GetRouteInfoRequest");
        }
        auto route = routes_.route(ext->topic);
        if (!route) {
          return reply(conn, req,
                       RemotingCommand::response_to(
                           req, ResponseCode::TOPIC_NOT_EXIST,
                           "No topic route info in name server for the topic: " + ext->topic));
        }
        auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
        resp.set_ext(std::move(*route));
        reply(conn, req, std::move(resp));
      });

  server_->register_handler(RequestCode::GET_BROKER_CLUSTER_INFO,
                            [this](const std::shared_ptr<Connection>& conn, RemotingCommand req) {
                              auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
                              resp.set_ext(routes_.cluster_info());
                              reply(conn, req, std::move(resp));
                            });
}

Status NamesrvController::start() {
  std::lock_guard lock(lifecycle_mu_);
  if (started_ || stopped_) return Status(Code::kAlreadyExists, "name server was already started");
  COMET_ASSIGN_OR_RETURN(remoting::LinkSecurity security,
                         remoting::LinkSecurity::from_config(config_.security));
  if (config_.security.acl_enable) {
    // Brokers register with the cluster credential; readers need an account.
    COMET_ASSIGN_OR_RETURN(
        acl_gate_,
        remoting::AclGate::from_config(config_.security, "name server", &namesrv_required_access));
    security.gate = acl_gate_;
  }
  remoting::ServerOptions opts;
  opts.bind_address = config_.bind_address;
  opts.port = config_.listen_port;
  opts.io_threads = config_.io_threads;
  config_.server_limits.apply(opts);
  security.apply_to_server(opts);
  server_ = std::make_unique<remoting::RemotingServer>(opts);
  scan_timer_ = std::make_unique<asio::steady_timer>(asio::make_strand(server_->io_context()));
  register_handlers();
  COMET_RETURN_IF_ERROR(server_->start());
  started_ = true;
  if (acl_gate_) acl_gate_->start(server_->io_context().get_executor());
  asio::post(scan_timer_->get_executor(), [this] { schedule_scan(); });
  logger("namesrv")->info("name server listening on {}:{} (brokerExpiryMs={}, scan every {} ms)",
                          config_.bind_address, server_->port(), config_.broker_expiry_ms,
                          config_.scan_not_active_broker_interval_ms);
  return Status::ok();
}

void NamesrvController::schedule_scan() {
  if (stopping_.load(std::memory_order_acquire)) return;
  scan_timer_->expires_after(std::chrono::milliseconds(config_.scan_not_active_broker_interval_ms));
  scan_timer_->async_wait([this](std::error_code ec) {
    if (ec || stopping_.load(std::memory_order_acquire)) return;
    scan();
    schedule_scan();
  });
}

void NamesrvController::scan() {
  auto removed = routes_.scan_expired(clock_.now_ms());
  if (removed.empty()) return;
  auto log = logger("namesrv");
  for (const auto& addr : removed)
    log->warn("broker {} expired: no heartbeat for over its timeout", addr);
  if (expiry_listener_) expiry_listener_(removed);
}

void NamesrvController::stop() {
  std::lock_guard lock(lifecycle_mu_);
  if (!started_ || stopped_) {
    stopped_ = true;
    return;
  }
  stopped_ = true;
  stopping_.store(true, std::memory_order_release);
  // The timer lives on a strand of the server's io_context: cancel it there, then stop the
  // server, which joins the I/O threads.
  asio::post(scan_timer_->get_executor(), [this] { scan_timer_->cancel(); });
  if (acl_gate_) acl_gate_->stop();
  server_->stop();
  logger("namesrv")->info("name server stopped");
}

}  // namespace comet::namesrv
