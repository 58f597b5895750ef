#include "broker/request_access.h"

namespace comet::broker {

namespace {

using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::RequiredAccess;
namespace perm = remoting::perm;
namespace protocol = remoting::protocol;

RequiredAccess any() {
  return RequiredAccess::any_account();
}

RequiredAccess send_message(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::SendMessageRequestT>()) r.topic(e->topic, perm::kPub);
  return r;
}

RequiredAccess pull_message(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::PullMessageRequestT>()) {
    r.group(e->consumer_group, perm::kSub).topic(e->topic, perm::kSub);
  }
  return r;
}

RequiredAccess consumer_offset(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::ConsumerOffsetRequestT>()) {
    r.group(e->consumer_group, perm::kSub).topic(e->topic, perm::kSub);
  }
  return r;
}

RequiredAccess consumer_list(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::ConsumerListRequestT>()) {
    r.group(e->consumer_group, perm::kSub);
  }
  return r;
}

// RocketMQ asks PUB on the original topic; comet asks SUB (a consumer returns what it read).
RequiredAccess send_back(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::ConsumerSendMsgBackRequestT>()) {
    r.group(e->group, perm::kSub).topic(e->origin_topic, perm::kSub);
  }
  return r;
}

RequiredAccess lock_batch(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::LockBatchRequestT>()) {
    r.group(e->consumer_group, perm::kSub);
    for (const auto& q : e->queues) {
      if (q) r.topic(q->topic, perm::kSub);
    }
  }
  return r;
}

RequiredAccess heartbeat(const RemotingCommand& cmd) {
  RequiredAccess r = any();
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

RequiredAccess unregister_client(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::UnregisterClientRequestT>()) {
    r.group(e->consumer_group, perm::kSub);
  }
  return r;
}

RequiredAccess query_message(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::QueryMessageRequestT>()) r.topic(e->topic, perm::kSub);
  return r;
}

RequiredAccess queue_offset(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::QueueOffsetRequestT>()) r.topic(e->topic, perm::kSub);
  return r;
}

RequiredAccess search_offset(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::SearchOffsetRequestT>()) r.topic(e->topic, perm::kSub);
  return r;
}

RequiredAccess consume_stats(const RemotingCommand& cmd) {
  RequiredAccess r = any();
  if (const auto* e = cmd.ext<protocol::ConsumeStatsRequestT>()) {
    r.group(e->consumer_group, perm::kSub).topic(e->topic, perm::kSub);
  }
  return r;
}

RequiredAccess consumer_connections(const RemotingCommand& cmd) {
  RequiredAccess r = any();
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
      return send_message(cmd);
    case RequestCode::PULL_MESSAGE:
      return pull_message(cmd);
    case RequestCode::QUERY_CONSUMER_OFFSET:
    case RequestCode::UPDATE_CONSUMER_OFFSET:
      return consumer_offset(cmd);
    case RequestCode::GET_CONSUMER_LIST_BY_GROUP:
      return consumer_list(cmd);
    case RequestCode::CONSUMER_SEND_MSG_BACK:
      return send_back(cmd);
    case RequestCode::LOCK_BATCH_MQ:
    case RequestCode::UNLOCK_BATCH_MQ:
      return lock_batch(cmd);
    case RequestCode::HEART_BEAT:
      return heartbeat(cmd);
    case RequestCode::UNREGISTER_CLIENT:
      return unregister_client(cmd);
    // The request names no topic (only the half message's offset and ids): any account that
    // signs may end a transaction it can name. Checking PUB on the half message's topic needs
    // the transaction service to read it first.
    case RequestCode::END_TRANSACTION:
      return any();
    case RequestCode::QUERY_MESSAGE:
      return query_message(cmd);
    case RequestCode::GET_MAX_OFFSET:
    case RequestCode::GET_MIN_OFFSET:
      return queue_offset(cmd);
    case RequestCode::SEARCH_OFFSET_BY_TIMESTAMP:
    case RequestCode::GET_EARLIEST_MSG_STORETIME:
      return search_offset(cmd);
    case RequestCode::GET_CONSUME_STATS:
      return consume_stats(cmd);
    case RequestCode::GET_CONSUMER_CONNECTION_LIST:
      return consumer_connections(cmd);
    // Read-only status: any valid account.
    case RequestCode::GET_BROKER_RUNTIME_INFO:
    case RequestCode::GET_HA_STATUS:
    case RequestCode::GET_DLEDGER_STATUS:
      return any();
    default:
      // broker_admin_only_codes(), and every code the broker does not list.
      return RequiredAccess::admin();
  }
}

}  // namespace comet::broker
