#include "admin/admin_client.h"

namespace comet::admin {

using remoting::RemotingCommand;
using remoting::RequestCode;

namespace {

// The typed answer of a SUCCESS response, or a Status naming what is missing.
template <typename T>
Result<T> ext_of(RemotingCommand& resp, std::string_view what) {
  const T* ext = resp.ext<T>();
  if (ext == nullptr) {
    return Status::corruption("malformed answer: " + std::string(what) +
                              " response lacks its header");
  }
  return std::move(*const_cast<T*>(ext));
}

}  // namespace

Status status_from_response(const RemotingCommand& resp) {
  std::string msg(remoting::response_code_name(resp.code()));
  if (msg == "UNKNOWN") msg = "response code " + std::to_string(resp.code());
  if (!resp.remark().empty()) msg += ": " + resp.remark();
  return Status(client::status_code_of(resp.response_code()), std::move(msg));
}

namespace {

client::ClientConfig admin_client_config(const std::string& namesrv_addrs,
                                         std::chrono::milliseconds timeout) {
  client::ClientConfig config;
  config.namesrv_addr = namesrv_addrs;
  config.request_timeout = timeout;
  config.callback_threads = 1;  // the tool runs no callbacks of its own
  return config;
}

}  // namespace

AdminClient::AdminClient(const std::string& namesrv_addrs, std::chrono::milliseconds timeout)
    : config_(admin_client_config(namesrv_addrs, timeout)),
      timeout_(timeout),
      client_(client::MQClient::get_or_create(config_)) {}

AdminClient::~AdminClient() = default;

Result<RemotingCommand> AdminClient::call(const std::string& addr, RemotingCommand req,
                                          std::chrono::milliseconds timeout) {
  return client_->remoting().invoke(addr, std::move(req), timeout);
}

Result<RemotingCommand> AdminClient::call_namesrv(const RemotingCommand& req) {
  return client_->invoke_namesrv(req, timeout_);
}

Result<protocol::ClusterInfoT> AdminClient::cluster_info() {
  COMET_ASSIGN_OR_RETURN(
      auto resp, call_namesrv(RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return ext_of<protocol::ClusterInfoT>(resp, "GET_BROKER_CLUSTER_INFO");
}

Result<protocol::TopicRouteDataT> AdminClient::route(const std::string& topic) {
  auto req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
  protocol::GetRouteInfoRequestT ext;
  ext.topic = topic;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call_namesrv(req));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return ext_of<protocol::TopicRouteDataT>(resp, "GET_ROUTEINFO_BY_TOPIC");
}

Status AdminClient::update_topic(const std::string& broker_addr,
                                 const protocol::TopicConfigT& config) {
  auto req = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC);
  protocol::UpdateTopicRequestT ext;
  ext.config = std::make_unique<protocol::TopicConfigT>(config);
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return Status::ok();
}

Status AdminClient::delete_topic(const std::string& broker_addr, const std::string& topic) {
  auto req = RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_BROKER);
  protocol::DeleteTopicRequestT ext;
  ext.topic = topic;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return Status::ok();
}

Result<std::vector<protocol::TopicConfigT>> AdminClient::topic_configs(
    const std::string& broker_addr) {
  COMET_ASSIGN_OR_RETURN(
      auto resp, call(broker_addr, RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  COMET_ASSIGN_OR_RETURN(auto list,
                         ext_of<protocol::TopicConfigListT>(resp, "GET_ALL_TOPIC_CONFIG"));
  std::vector<protocol::TopicConfigT> out;
  for (auto& c : list.configs) {
    if (c) out.push_back(std::move(*c));
  }
  return out;
}

Status AdminClient::update_subscription_group(const std::string& broker_addr,
                                              const protocol::SubscriptionGroupConfigT& config) {
  auto req = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP);
  req.set_ext(protocol::SubscriptionGroupConfigT(config));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return Status::ok();
}

Result<std::vector<protocol::SubscriptionGroupConfigT>> AdminClient::subscription_groups(
    const std::string& broker_addr) {
  COMET_ASSIGN_OR_RETURN(
      auto resp,
      call(broker_addr, RemotingCommand::request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  COMET_ASSIGN_OR_RETURN(auto list, ext_of<protocol::SubscriptionGroupListT>(
                                        resp, "GET_ALL_SUBSCRIPTIONGROUP_CONFIG"));
  std::vector<protocol::SubscriptionGroupConfigT> out;
  for (auto& g : list.groups) {
    if (g) out.push_back(std::move(*g));
  }
  return out;
}

Result<int64_t> AdminClient::queue_offset(const std::string& broker_addr, const std::string& topic,
                                          int32_t queue_id, bool max) {
  auto req =
      RemotingCommand::request(max ? RequestCode::GET_MAX_OFFSET : RequestCode::GET_MIN_OFFSET);
  protocol::QueueOffsetRequestT ext;
  ext.topic = topic;
  ext.queue_id = queue_id;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  COMET_ASSIGN_OR_RETURN(auto r, ext_of<protocol::QueueOffsetResponseT>(
                                     resp, max ? "GET_MAX_OFFSET" : "GET_MIN_OFFSET"));
  return r.offset;
}

Result<int64_t> AdminClient::min_offset(const std::string& broker_addr, const std::string& topic,
                                        int32_t queue_id) {
  return queue_offset(broker_addr, topic, queue_id, false);
}

Result<int64_t> AdminClient::max_offset(const std::string& broker_addr, const std::string& topic,
                                        int32_t queue_id) {
  return queue_offset(broker_addr, topic, queue_id, true);
}

Result<std::optional<int64_t>> AdminClient::consumer_offset(const std::string& broker_addr,
                                                            const std::string& group,
                                                            const std::string& topic,
                                                            int32_t queue_id) {
  auto req = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET);
  protocol::ConsumerOffsetRequestT ext;
  ext.consumer_group = group;
  ext.topic = topic;
  ext.queue_id = queue_id;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() == ResponseCode::QUERY_NOT_FOUND) return std::optional<int64_t>{};
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  COMET_ASSIGN_OR_RETURN(auto r,
                         ext_of<protocol::ConsumerOffsetResponseT>(resp, "QUERY_CONSUMER_OFFSET"));
  return std::optional<int64_t>(r.offset);
}

Status AdminClient::update_consumer_offset(const std::string& broker_addr, const std::string& group,
                                           const std::string& topic, int32_t queue_id,
                                           int64_t offset) {
  auto req = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET);
  protocol::ConsumerOffsetRequestT ext;
  ext.consumer_group = group;
  ext.topic = topic;
  ext.queue_id = queue_id;
  ext.commit_offset = offset;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return Status::ok();
}

Result<std::vector<protocol::ConsumerOffsetEntryT>> AdminClient::all_consumer_offsets(
    const std::string& broker_addr) {
  COMET_ASSIGN_OR_RETURN(
      auto resp, call(broker_addr, RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  COMET_ASSIGN_OR_RETURN(auto list,
                         ext_of<protocol::ConsumerOffsetListT>(resp, "GET_ALL_CONSUMER_OFFSET"));
  std::vector<protocol::ConsumerOffsetEntryT> out;
  for (auto& e : list.entries) {
    if (e) out.push_back(std::move(*e));
  }
  return out;
}

Result<std::vector<std::string>> AdminClient::consumer_list(const std::string& broker_addr,
                                                            const std::string& group) {
  auto req = RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP);
  protocol::ConsumerListRequestT ext;
  ext.consumer_group = group;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  COMET_ASSIGN_OR_RETURN(
      auto r, ext_of<protocol::ConsumerListResponseT>(resp, "GET_CONSUMER_LIST_BY_GROUP"));
  return std::move(r.client_ids);
}

Status AdminClient::delete_subscription_group(const std::string& broker_addr,
                                              const std::string& group, bool clean_offset) {
  auto req = RemotingCommand::request(RequestCode::DELETE_SUBSCRIPTIONGROUP);
  protocol::DeleteSubscriptionGroupRequestT ext;
  ext.group_name = group;
  ext.clean_offset = clean_offset;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return Status::ok();
}

Result<protocol::ConsumerConnectionT> AdminClient::consumer_connection(
    const std::string& broker_addr, const std::string& group) {
  auto req = RemotingCommand::request(RequestCode::GET_CONSUMER_CONNECTION_LIST);
  protocol::ConsumerConnectionRequestT ext;
  ext.consumer_group = group;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return ext_of<protocol::ConsumerConnectionT>(resp, "GET_CONSUMER_CONNECTION_LIST");
}

Result<protocol::ProducerConnectionT> AdminClient::producer_connection(
    const std::string& broker_addr, const std::string& group) {
  auto req = RemotingCommand::request(RequestCode::GET_PRODUCER_CONNECTION_LIST);
  protocol::ProducerConnectionRequestT ext;
  ext.producer_group = group;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return ext_of<protocol::ProducerConnectionT>(resp, "GET_PRODUCER_CONNECTION_LIST");
}

Result<protocol::ConsumeStatsT> AdminClient::consume_stats(const std::string& broker_addr,
                                                           const std::string& group,
                                                           const std::string& topic) {
  auto req = RemotingCommand::request(RequestCode::GET_CONSUME_STATS);
  protocol::ConsumeStatsRequestT ext;
  ext.consumer_group = group;
  ext.topic = topic;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return ext_of<protocol::ConsumeStatsT>(resp, "GET_CONSUME_STATS");
}

Result<std::vector<std::pair<std::string, std::string>>> AdminClient::runtime_info(
    const std::string& broker_addr) {
  COMET_ASSIGN_OR_RETURN(
      auto resp, call(broker_addr, RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  COMET_ASSIGN_OR_RETURN(auto info,
                         ext_of<protocol::RuntimeInfoT>(resp, "GET_BROKER_RUNTIME_INFO"));
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& kv : info.entries) {
    if (kv) out.emplace_back(std::move(kv->key), std::move(kv->value));
  }
  return out;
}

Result<protocol::HaStatusT> AdminClient::ha_status(const std::string& broker_addr) {
  COMET_ASSIGN_OR_RETURN(auto resp,
                         call(broker_addr, RemotingCommand::request(RequestCode::GET_HA_STATUS)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return ext_of<protocol::HaStatusT>(resp, "GET_HA_STATUS");
}

Result<protocol::OpenTransactionListT> AdminClient::open_transactions(
    const std::string& broker_addr, const std::string& producer_group, int32_t limit) {
  auto req = RemotingCommand::request(RequestCode::GET_OPEN_TRANSACTIONS);
  protocol::OpenTransactionsRequestT ext;
  ext.producer_group = producer_group;
  ext.limit = limit;
  req.set_ext(std::move(ext));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return ext_of<protocol::OpenTransactionListT>(resp, "GET_OPEN_TRANSACTIONS");
}

Result<std::string> AdminClient::promote_slave(const std::string& broker_addr, int64_t min_epoch,
                                               const std::string& role) {
  auto req = RemotingCommand::request(RequestCode::PROMOTE_SLAVE);
  protocol::PromoteSlaveRequestT p;
  p.epoch = min_epoch;
  p.role = role;
  req.set_ext(std::move(p));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return resp.remark();
}

Result<protocol::DLedgerStatusT> AdminClient::dledger_status(const std::string& broker_addr) {
  COMET_ASSIGN_OR_RETURN(
      auto resp, call(broker_addr, RemotingCommand::request(RequestCode::GET_DLEDGER_STATUS)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return ext_of<protocol::DLedgerStatusT>(resp, "GET_DLEDGER_STATUS");
}

Result<std::string> AdminClient::transfer_leader(const std::string& broker_addr,
                                                 const std::string& target_id) {
  auto req = RemotingCommand::request(RequestCode::DLEDGER_TRANSFER_LEADER);
  protocol::TransferLeaderRequestT t;
  t.target_id = target_id;
  req.set_ext(std::move(t));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return resp.remark();
}

}  // namespace comet::admin
