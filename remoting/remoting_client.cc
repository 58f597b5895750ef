#include "remoting/remoting_client.h"

#include <future>

namespace comet::remoting {

RemotingClient::RemotingClient(ClientOptions options)
    : options_(std::move(options)), work_(asio::make_work_guard(io_)) {
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
}

RemotingClient::~RemotingClient() {
  shutdown();
}

void RemotingClient::shutdown() {
  std::unordered_map<std::string, std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    conns.swap(conns_);
  }
  for (auto& [_, c] : conns)
    c->close();
  work_.reset();
  io_.stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

std::shared_ptr<Connection> RemotingClient::connection(const std::string& address) {
  std::lock_guard lock(mu_);
  if (stopped_) return nullptr;
  auto it = conns_.find(address);
  if (it != conns_.end() && it->second->is_open()) return it->second;
  auto conn = std::make_shared<Connection>(asio::ip::tcp::socket(asio::make_strand(io_)),
                                           options_.connection, options_.on_request, nullptr);
  conns_[address] = conn;
  conn->start_connect(address, options_.connect_timeout);
  return conn;
}

void RemotingClient::invoke_async(const std::string& address, RemotingCommand request,
                                  std::chrono::milliseconds timeout, ResponseCallback cb) {
  // A malformed address fails here, deterministically, not as a connect error racing the
  // request's registration on the connection.
  if (auto hp = split_host_port(address); !hp.is_ok()) {
    cb(hp.status());
    return;
  }
  auto conn = connection(address);
  if (!conn) {
    cb(Status::shutdown("client is shut down"));
    return;
  }
  conn->invoke(std::move(request), timeout, std::move(cb));
}

Result<RemotingCommand> RemotingClient::invoke(const std::string& address, RemotingCommand request,
                                               std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<RemotingCommand>>>();
  auto future = promise->get_future();
  invoke_async(address, std::move(request), timeout,
               [promise](Result<RemotingCommand> r) { promise->set_value(std::move(r)); });
  return future.get();
}

Status RemotingClient::invoke_oneway(const std::string& address, RemotingCommand request) {
  if (auto hp = split_host_port(address); !hp.is_ok()) return hp.status();
  auto conn = connection(address);
  if (!conn) return Status::shutdown("client is shut down");
  if (!conn->invoke_oneway(std::move(request))) {
    return Status::unavailable("connection to " + address + " is closed");
  }
  return Status::ok();
}

void RemotingClient::close(const std::string& address) {
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(mu_);
    auto it = conns_.find(address);
    if (it == conns_.end()) return;
    conn = std::move(it->second);
    conns_.erase(it);
  }
  conn->close();
}

}  // namespace comet::remoting
