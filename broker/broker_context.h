// What the broker's request processors share: configuration, the store, metadata, client groups,
// the long-polling service and the replication seam. Owned by BrokerController; processors hold a
// reference.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <asio.hpp>

#include "broker/broker_config.h"
#include "broker/broker_stats.h"
#include "broker/client_manager.h"
#include "broker/consumer_offset_manager.h"
#include "broker/pull_request_hold_service.h"
#include "broker/subscription_group_manager.h"
#include "broker/topic_config_manager.h"
#include "commitlog/message_store.h"
#include "remoting/connection.h"
#include "remoting/link_security.h"

namespace comet::broker {

using ConnectionPtr = std::shared_ptr<remoting::Connection>;
using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;

class Replication;

struct BrokerContext {
  BrokerConfig config;
  asio::io_context* io = nullptr;  // the remoting server's I/O context
  commitlog::MessageStore* store = nullptr;
  TopicConfigManager* topics = nullptr;
  ConsumerOffsetManager* offsets = nullptr;
  SubscriptionGroupManager* groups = nullptr;
  ClientManager* clients = nullptr;
  PullRequestHoldService* holds = nullptr;
  Replication* replication = nullptr;  // master/slave or DLedger: broker/replication.h
  BrokerStats* stats = nullptr;        // rates over the last minute; null in some unit tests
  // TLS and the cluster credential for the broker's servers and outgoing links
  // (docs/security.md); null in unit tests, which then run plain and unsigned.
  const remoting::LinkSecurity* links = nullptr;
  // The same for the HA and Raft servers, whose gate admits only requests signed with the
  // cluster credential when aclEnable (no gate otherwise); null in unit tests.
  const remoting::LinkSecurity* cluster_links = nullptr;
  HostAddress store_host;
  std::atomic<bool> shutting_down{false};
  // Re-registers with the name servers (after a topic was auto-created).
  std::function<void()> topics_changed;
};

// Sends `code` with `remark` in answer to `req` (nothing for a oneway request).
inline void reply(const ConnectionPtr& conn, const RemotingCommand& req, ResponseCode code,
                  std::string remark = {}) {
  if (req.is_oneway()) return;
  conn->send(RemotingCommand::response_to(req, code, std::move(remark)));
}

// The response code for a store or metadata error.
inline ResponseCode response_code_for(const Status& s) {
  switch (s.code()) {
    case Code::kOk:
      return ResponseCode::SUCCESS;
    case Code::kMessageTooLarge:
      return ResponseCode::MESSAGE_TOO_LARGE;
    case Code::kInvalidArgument:
      return ResponseCode::MESSAGE_ILLEGAL;
    case Code::kTimeout:
      return ResponseCode::FLUSH_DISK_TIMEOUT;
    case Code::kUnavailable:
    case Code::kShutdown:
    case Code::kNoSpace:  // disk full: another broker may take it
      return ResponseCode::SERVICE_NOT_AVAILABLE;
    case Code::kNotFound:
      return ResponseCode::TOPIC_NOT_EXIST;
    default:
      return ResponseCode::SYSTEM_ERROR;
  }
}

}  // namespace comet::broker
