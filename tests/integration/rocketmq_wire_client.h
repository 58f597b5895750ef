// A small blocking RocketMQ 4.x client for process tests: one TCP connection to a comet name
// server or broker, frames built with the codec (remoting/rocketmq_codec.h) in JSON or ROCKETMQ
// binary headers. call() sends a request and reads until its response; requests the server
// starts meanwhile (NOTIFY_CONSUMER_IDS_CHANGED, CHECK_TRANSACTION_STATE) are kept for
// next_server_request(). The socket is wire_socket.h's.
#pragma once

#include <chrono>
#include <deque>
#include <string>

#include "integration/wire_socket.h"
#include "remoting/rocketmq_codec.h"

namespace comet::testing {

class RocketmqWireClient : public WireSocket {
 public:
  using Command = remoting::rocketmq::Command;
  using SerializeType = remoting::rocketmq::SerializeType;

  // Sends `req` (opaque assigned) and returns its response, reading for at most `timeout`.
  Result<Command> call(Command req, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    req.opaque = next_opaque_++;
    req.flag &= ~remoting::rocketmq::kFlagOneway;
    if (Status s = write_all(remoting::rocketmq::encode_frame(req)); !s.is_ok()) return s;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (int frames = 0; frames < 10000; ++frames) {
      auto cmd = read_rocketmq(deadline);
      if (!cmd.is_ok()) return cmd.status();
      if (cmd->is_response() && cmd->opaque == req.opaque) return cmd;
      if (!cmd->is_response()) server_requests_.push_back(std::move(cmd).value());
    }
    return Status::timeout("no response");
  }

  Status oneway(Command req) {
    req.opaque = next_opaque_++;
    req.flag |= remoting::rocketmq::kFlagOneway;
    return write_all(remoting::rocketmq::encode_frame(req));
  }

  // The next request the server started with `code`, waiting up to `timeout`.
  Result<Command> next_server_request(int32_t code, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (int frames = 0; frames < 10000; ++frames) {
      for (auto it = server_requests_.begin(); it != server_requests_.end(); ++it) {
        if (it->code == code) {
          Command c = std::move(*it);
          server_requests_.erase(it);
          return c;
        }
      }
      auto cmd = read_rocketmq(deadline);
      if (!cmd.is_ok()) return cmd.status();
      if (!cmd->is_response()) server_requests_.push_back(std::move(cmd).value());
    }
    return Status::timeout("no server request");
  }

 private:
  int32_t next_opaque_ = 1;
  std::deque<Command> server_requests_;
};

}  // namespace comet::testing
