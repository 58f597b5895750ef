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

// A request carrying the typed header `ext`.
template <typename Ext>
RemotingCommand request_with(RequestCode code, Ext ext) {
  auto req = RemotingCommand::request(code);
  req.set_ext(std::move(ext));
  return req;
}

// What was sent, answered: the SUCCESS response, or the transport failure, or the Status of any
// other answer (status_from_response).
Result<RemotingCommand> success_of(Result<RemotingCommand> sent) {
  COMET_ASSIGN_OR_RETURN(auto resp, std::move(sent));
  if (resp.response_code() != ResponseCode::SUCCESS) return status_from_response(resp);
  return resp;
}

// The typed answer `T` of a SUCCESS response to `sent` (`what`: the request, in errors).
template <typename T>
Result<T> answer_of(Result<RemotingCommand> sent, std::string_view what) {
  COMET_ASSIGN_OR_RETURN(auto resp, success_of(std::move(sent)));
  return ext_of<T>(resp, what);
}

// ok for a SUCCESS response to `sent`, which carries nothing the caller wants.
Status status_of(Result<RemotingCommand> sent) {
  return success_of(std::move(sent)).status();
}

}  // namespace

Status status_from_response(const RemotingCommand& resp) {
  std::string msg(remoting::response_code_name(resp.code()));
  if (msg == "UNKNOWN") msg = "response code " + std::to_string(resp.code());
  if (!resp.remark().empty()) msg += ": " + resp.remark();
  return Status(client::status_code_of(resp.response_code()), std::move(msg));
}

namespace {

client::ClientConfig namesrv_only(const std::string& namesrv_addrs) {
  client::ClientConfig config;
  config.namesrv_addr = namesrv_addrs;
  return config;
}

client::ClientConfig admin_client_config(client::ClientConfig config,
                                         std::chrono::milliseconds timeout) {
  config.request_timeout = timeout;
  config.callback_threads = 1;  // the tool runs no callbacks of its own
  return config;
}

}  // namespace

AdminClient::AdminClient(const std::string& namesrv_addrs, std::chrono::milliseconds timeout)
    : AdminClient(namesrv_only(namesrv_addrs), timeout) {}

AdminClient::AdminClient(client::ClientConfig config, std::chrono::milliseconds timeout)
    : config_(admin_client_config(std::move(config), timeout)),
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
  return answer_of<protocol::ClusterInfoT>(
      call_namesrv(RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO)),
      "GET_BROKER_CLUSTER_INFO");
}

Result<protocol::ResetOffsetResultT> AdminClient::reset_offset_by_time(
    const std::string& broker_addr, const std::string& group, const std::string& topic,
    int64_t timestamp_ms, bool force) {
  constexpr std::chrono::milliseconds kBrokerWaitsForConsumers{3000};
  protocol::ResetOffsetRequestT ext;
  ext.consumer_group = group;
  ext.topic = topic;
  ext.timestamp = timestamp_ms;
  ext.force = force;
  return answer_of<protocol::ResetOffsetResultT>(
      call(broker_addr, request_with(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, std::move(ext)),
           timeout_ + kBrokerWaitsForConsumers),
      "INVOKE_BROKER_TO_RESET_OFFSET");
}

Result<protocol::TopicRouteDataT> AdminClient::route(const std::string& topic) {
  protocol::GetRouteInfoRequestT ext;
  ext.topic = topic;
  return answer_of<protocol::TopicRouteDataT>(
      call_namesrv(request_with(RequestCode::GET_ROUTEINFO_BY_TOPIC, std::move(ext))),
      "GET_ROUTEINFO_BY_TOPIC");
}

Status AdminClient::update_topic(const std::string& broker_addr,
                                 const protocol::TopicConfigT& config) {
  protocol::UpdateTopicRequestT ext;
  ext.config = std::make_unique<protocol::TopicConfigT>(config);
  return status_of(
      call(broker_addr, request_with(RequestCode::UPDATE_AND_CREATE_TOPIC, std::move(ext))));
}

void AdminClient::update_topic_async(const std::string& broker_addr,
                                     const protocol::TopicConfigT& config,
                                     std::function<void(Status)> done) {
  protocol::UpdateTopicRequestT ext;
  ext.config = std::make_unique<protocol::TopicConfigT>(config);
  client_->remoting().invoke_async(
      broker_addr, request_with(RequestCode::UPDATE_AND_CREATE_TOPIC, std::move(ext)), timeout_,
      [done = std::move(done)](Result<RemotingCommand> answered) {
        done(status_of(std::move(answered)));
      });
}

Status AdminClient::delete_topic(const std::string& broker_addr, const std::string& topic) {
  protocol::DeleteTopicRequestT ext;
  ext.topic = topic;
  return status_of(
      call(broker_addr, request_with(RequestCode::DELETE_TOPIC_IN_BROKER, std::move(ext))));
}

Result<std::vector<protocol::TopicConfigT>> AdminClient::topic_configs(
    const std::string& broker_addr) {
  COMET_ASSIGN_OR_RETURN(
      auto list, answer_of<protocol::TopicConfigListT>(
                     call(broker_addr, RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG)),
                     "GET_ALL_TOPIC_CONFIG"));
  std::vector<protocol::TopicConfigT> out;
  for (auto& c : list.configs) {
    if (c) out.push_back(std::move(*c));
  }
  return out;
}

Status AdminClient::update_subscription_group(const std::string& broker_addr,
                                              const protocol::SubscriptionGroupConfigT& config) {
  return status_of(call(broker_addr, request_with(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
                                                  protocol::SubscriptionGroupConfigT(config))));
}

Result<std::vector<protocol::SubscriptionGroupConfigT>> AdminClient::subscription_groups(
    const std::string& broker_addr) {
  COMET_ASSIGN_OR_RETURN(
      auto list, answer_of<protocol::SubscriptionGroupListT>(
                     call(broker_addr,
                          RemotingCommand::request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG)),
                     "GET_ALL_SUBSCRIPTIONGROUP_CONFIG"));
  std::vector<protocol::SubscriptionGroupConfigT> out;
  for (auto& g : list.groups) {
    if (g) out.push_back(std::move(*g));
  }
  return out;
}

Result<int64_t> AdminClient::queue_offset(const std::string& broker_addr, const std::string& topic,
                                          int32_t queue_id, bool max) {
  protocol::QueueOffsetRequestT ext;
  ext.topic = topic;
  ext.queue_id = queue_id;
  COMET_ASSIGN_OR_RETURN(
      auto r, answer_of<protocol::QueueOffsetResponseT>(
                  call(broker_addr,
                       request_with(max ? RequestCode::GET_MAX_OFFSET : RequestCode::GET_MIN_OFFSET,
                                    std::move(ext))),
                  max ? "GET_MAX_OFFSET" : "GET_MIN_OFFSET"));
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
  protocol::ConsumerOffsetRequestT ext;
  ext.consumer_group = group;
  ext.topic = topic;
  ext.queue_id = queue_id;
  COMET_ASSIGN_OR_RETURN(
      auto resp,
      call(broker_addr, request_with(RequestCode::QUERY_CONSUMER_OFFSET, std::move(ext))));
  if (resp.response_code() == ResponseCode::QUERY_NOT_FOUND) return std::optional<int64_t>{};
  COMET_ASSIGN_OR_RETURN(auto r, answer_of<protocol::ConsumerOffsetResponseT>(
                                     std::move(resp), "QUERY_CONSUMER_OFFSET"));
  return std::optional<int64_t>(r.offset);
}

Status AdminClient::update_consumer_offset(const std::string& broker_addr, const std::string& group,
                                           const std::string& topic, int32_t queue_id,
                                           int64_t offset) {
  protocol::ConsumerOffsetRequestT ext;
  ext.consumer_group = group;
  ext.topic = topic;
  ext.queue_id = queue_id;
  ext.commit_offset = offset;
  return status_of(
      call(broker_addr, request_with(RequestCode::UPDATE_CONSUMER_OFFSET, std::move(ext))));
}

Result<std::vector<protocol::ConsumerOffsetEntryT>> AdminClient::all_consumer_offsets(
    const std::string& broker_addr) {
  COMET_ASSIGN_OR_RETURN(
      auto list,
      answer_of<protocol::ConsumerOffsetListT>(
          call(broker_addr, RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET)),
          "GET_ALL_CONSUMER_OFFSET"));
  std::vector<protocol::ConsumerOffsetEntryT> out;
  for (auto& e : list.entries) {
    if (e) out.push_back(std::move(*e));
  }
  return out;
}

Result<std::vector<std::string>> AdminClient::consumer_list(const std::string& broker_addr,
                                                            const std::string& group) {
  protocol::ConsumerListRequestT ext;
  ext.consumer_group = group;
  COMET_ASSIGN_OR_RETURN(
      auto r,
      answer_of<protocol::ConsumerListResponseT>(
          call(broker_addr, request_with(RequestCode::GET_CONSUMER_LIST_BY_GROUP, std::move(ext))),
          "GET_CONSUMER_LIST_BY_GROUP"));
  return std::move(r.client_ids);
}

Status AdminClient::delete_subscription_group(const std::string& broker_addr,
                                              const std::string& group, bool clean_offset) {
  protocol::DeleteSubscriptionGroupRequestT ext;
  ext.group_name = group;
  ext.clean_offset = clean_offset;
  return status_of(
      call(broker_addr, request_with(RequestCode::DELETE_SUBSCRIPTIONGROUP, std::move(ext))));
}

Result<protocol::ConsumerConnectionT> AdminClient::consumer_connection(
    const std::string& broker_addr, const std::string& group) {
  protocol::ConsumerConnectionRequestT ext;
  ext.consumer_group = group;
  return answer_of<protocol::ConsumerConnectionT>(
      call(broker_addr, request_with(RequestCode::GET_CONSUMER_CONNECTION_LIST, std::move(ext))),
      "GET_CONSUMER_CONNECTION_LIST");
}

Result<protocol::ProducerConnectionT> AdminClient::producer_connection(
    const std::string& broker_addr, const std::string& group) {
  protocol::ProducerConnectionRequestT ext;
  ext.producer_group = group;
  return answer_of<protocol::ProducerConnectionT>(
      call(broker_addr, request_with(RequestCode::GET_PRODUCER_CONNECTION_LIST, std::move(ext))),
      "GET_PRODUCER_CONNECTION_LIST");
}

Result<protocol::ConsumeStatsT> AdminClient::consume_stats(const std::string& broker_addr,
                                                           const std::string& group,
                                                           const std::string& topic) {
  protocol::ConsumeStatsRequestT ext;
  ext.consumer_group = group;
  ext.topic = topic;
  return answer_of<protocol::ConsumeStatsT>(
      call(broker_addr, request_with(RequestCode::GET_CONSUME_STATS, std::move(ext))),
      "GET_CONSUME_STATS");
}

Result<std::vector<std::pair<std::string, std::string>>> AdminClient::runtime_info(
    const std::string& broker_addr) {
  COMET_ASSIGN_OR_RETURN(
      auto info,
      answer_of<protocol::RuntimeInfoT>(
          call(broker_addr, RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO)),
          "GET_BROKER_RUNTIME_INFO"));
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& kv : info.entries) {
    if (kv) out.emplace_back(std::move(kv->key), std::move(kv->value));
  }
  return out;
}

Result<protocol::HaStatusT> AdminClient::ha_status(const std::string& broker_addr) {
  return answer_of<protocol::HaStatusT>(
      call(broker_addr, RemotingCommand::request(RequestCode::GET_HA_STATUS)), "GET_HA_STATUS");
}

Result<protocol::OpenTransactionListT> AdminClient::open_transactions(
    const std::string& broker_addr, const std::string& producer_group, int32_t limit) {
  protocol::OpenTransactionsRequestT ext;
  ext.producer_group = producer_group;
  ext.limit = limit;
  return answer_of<protocol::OpenTransactionListT>(
      call(broker_addr, request_with(RequestCode::GET_OPEN_TRANSACTIONS, std::move(ext))),
      "GET_OPEN_TRANSACTIONS");
}

Result<std::string> AdminClient::promote_slave(const std::string& broker_addr, int64_t min_epoch,
                                               const std::string& role) {
  protocol::PromoteSlaveRequestT p;
  p.epoch = min_epoch;
  p.role = role;
  COMET_ASSIGN_OR_RETURN(
      auto resp,
      success_of(call(broker_addr, request_with(RequestCode::PROMOTE_SLAVE, std::move(p)))));
  return resp.remark();
}

Result<protocol::DLedgerStatusT> AdminClient::dledger_status(const std::string& broker_addr) {
  return answer_of<protocol::DLedgerStatusT>(
      call(broker_addr, RemotingCommand::request(RequestCode::GET_DLEDGER_STATUS)),
      "GET_DLEDGER_STATUS");
}

Result<std::string> AdminClient::transfer_leader(const std::string& broker_addr,
                                                 const std::string& target_id) {
  protocol::TransferLeaderRequestT t;
  t.target_id = target_id;
  COMET_ASSIGN_OR_RETURN(
      auto resp, success_of(call(broker_addr, request_with(RequestCode::DLEDGER_TRANSFER_LEADER,
                                                           std::move(t)))));
  return resp.remark();
}

}  // namespace comet::admin
