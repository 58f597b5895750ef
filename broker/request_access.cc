#include "broker/request_access.h"

#include <string_view>

#include "common/group_topics.h"

namespace comet::broker {

namespace {

using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::RequiredAccess;
namespace perm = remoting::perm;
namespace protocol = remoting::protocol;

// A send to %RETRY%<group> is a consumer returning a message it failed (the client's fallback
// when CONSUMER_SEND_MSG_BACK fails): SUB on the group, as RocketMQ 5 asks (4.9 asked PUB).
RequiredAccess needs_of_send_message(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::SendMessageRequestT>()) {
    const bool retry = std::string_view(e->topic).starts_with(kRetryTopicPrefix);
    r.topic(e->topic, retry ? perm::kSub : perm::kPub);
  }
  return r;
}

RequiredAccess needs_of_pull_message(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::PullMessageRequestT>()) {
    r.group(e->consumer_group, perm::kSub).topic(e->topic, perm::kSub);
  }
  return r;
}

RequiredAccess needs_of_consumer_offset(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::ConsumerOffsetRequestT>()) {
    r.group(e->consumer_group, perm::kSub).topic(e->topic, perm::kSub);
  }
  return r;
}

RequiredAccess needs_of_consumer_list(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::ConsumerListRequestT>()) {
    r.group(e->consumer_group, perm::kSub);
  }
  return r;
}

// RocketMQ asks PUB on the original topic; comet asks SUB (a consumer returns what it read).
RequiredAccess needs_of_send_back(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::ConsumerSendMsgBackRequestT>()) {
    r.group(e->group, perm::kSub).topic(e->origin_topic, perm::kSub);
  }
  return r;
}

RequiredAccess needs_of_lock_batch(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::LockBatchRequestT>()) {
    r.group(e->consumer_group, perm::kSub);
    for (const auto& q : e->queues) {
      if (q) r.topic(q->topic, perm::kSub);
    }
  }
  return r;
}

RequiredAccess needs_of_heartbeat(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::HeartbeatRequestT>()) {
    for (const auto& consumer : e->consumers) {
      if (!consumer) continue;
      r.group(consumer->group_name, perm::kSub);
      for (const auto& s : consumer->subscriptions) {
        if (s) r.topic(s->topic, perm::kSub);
      }
    }
  }
  return r;
}

RequiredAccess needs_of_unregister_client(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::UnregisterClientRequestT>()) {
    r.group(e->consumer_group, perm::kSub);
  }
  return r;
}

RequiredAccess needs_of_query_message(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::QueryMessageRequestT>()) r.topic(e->topic, perm::kSub);
  return r;
}

RequiredAccess needs_of_queue_offset(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::QueueOffsetRequestT>()) r.topic(e->topic, perm::kSub);
  return r;
}

RequiredAccess needs_of_search_offset(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::SearchOffsetRequestT>()) r.topic(e->topic, perm::kSub);
  return r;
}

RequiredAccess needs_of_consume_stats(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::ConsumeStatsRequestT>()) {
    r.group(e->consumer_group, perm::kSub).topic(e->topic, perm::kSub);
  }
  return r;
}

RequiredAccess needs_of_consumer_connections(const RemotingCommand& cmd) {
  RequiredAccess r = RequiredAccess::any_account();
  if (const auto* e = cmd.ext<protocol::ConsumerConnectionRequestT>()) {
    r.group(e->consumer_group, perm::kSub);
  }
  return r;
}

}  // namespace

const std::vector<RequestCode>& broker_admin_only_codes() {
  static const std::vector<RequestCode> codes = {
      RequestCode::UPDATE_AND_CREATE_TOPIC,      RequestCode::DELETE_TOPIC_IN_BROKER,
      RequestCode::GET_ALL_TOPIC_CONFIG,         RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
      RequestCode::DELETE_SUBSCRIPTIONGROUP,     RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
      RequestCode::GET_ALL_CONSUMER_OFFSET,      RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
      RequestCode::GET_PRODUCER_CONNECTION_LIST, RequestCode::VIEW_MESSAGE_BY_ID,
      RequestCode::GET_OPEN_TRANSACTIONS,        RequestCode::PROMOTE_SLAVE,
      RequestCode::DLEDGER_TRANSFER_LEADER,
  };
  return codes;
}

RequiredAccess broker_required_access(const RemotingCommand& cmd) {
  switch (static_cast<RequestCode>(cmd.code())) {
    case RequestCode::SEND_MESSAGE:
      return needs_of_send_message(cmd);
    case RequestCode::PULL_MESSAGE:
      return needs_of_pull_message(cmd);
    case RequestCode::QUERY_CONSUMER_OFFSET:
    case RequestCode::UPDATE_CONSUMER_OFFSET:
      return needs_of_consumer_offset(cmd);
    case RequestCode::GET_CONSUMER_LIST_BY_GROUP:
      return needs_of_consumer_list(cmd);
    case RequestCode::CONSUMER_SEND_MSG_BACK:
      return needs_of_send_back(cmd);
    case RequestCode::LOCK_BATCH_MQ:
    case RequestCode::UNLOCK_BATCH_MQ:
      return needs_of_lock_batch(cmd);
    case RequestCode::HEART_BEAT:
      return needs_of_heartbeat(cmd);
    case RequestCode::UNREGISTER_CLIENT:
      return needs_of_unregister_client(cmd);
    // The request names no topic (only the half message's offset and ids): any account that
    // signs may end a transaction it can name. Checking PUB on the half message's topic needs
    // the transaction service to read it first.
    case RequestCode::END_TRANSACTION:
      return RequiredAccess::any_account();
    case RequestCode::QUERY_MESSAGE:
      return needs_of_query_message(cmd);
    case RequestCode::GET_MAX_OFFSET:
    case RequestCode::GET_MIN_OFFSET:
      return needs_of_queue_offset(cmd);
    case RequestCode::SEARCH_OFFSET_BY_TIMESTAMP:
    case RequestCode::GET_EARLIEST_MSG_STORETIME:
      return needs_of_search_offset(cmd);
    case RequestCode::GET_CONSUME_STATS:
      return needs_of_consume_stats(cmd);
    case RequestCode::GET_CONSUMER_CONNECTION_LIST:
      return needs_of_consumer_connections(cmd);
    // Read-only status: any valid account.
    case RequestCode::GET_BROKER_RUNTIME_INFO:
    case RequestCode::GET_HA_STATUS:
    case RequestCode::GET_DLEDGER_STATUS:
      return RequiredAccess::any_account();
    default:
      // broker_admin_only_codes(), and every code the broker does not list.
      return RequiredAccess::admin();
  }
}

}  // namespace comet::broker
