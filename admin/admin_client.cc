#include "admin/admin_client.h"

#include <cstring>

#include "common/clock.h"

namespace comet::admin {

using remoting::RemotingCommand;
using remoting::RequestCode;

namespace {

Code code_for(ResponseCode rc) {
  switch (rc) {
    case ResponseCode::TOPIC_NOT_EXIST:
    case ResponseCode::QUERY_NOT_FOUND:
    case ResponseCode::PULL_NOT_FOUND:
    case ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST:
      return Code::kNotFound;
    case ResponseCode::BAD_REQUEST:
    case ResponseCode::ILLEGAL_TOPIC_NAME:
    case ResponseCode::MESSAGE_ILLEGAL:
    case ResponseCode::REQUEST_CODE_NOT_SUPPORTED:
      return Code::kInvalidArgument;
    case ResponseCode::MESSAGE_TOO_LARGE:
      return Code::kMessageTooLarge;
    case ResponseCode::SYSTEM_BUSY:
    case ResponseCode::SERVICE_NOT_AVAILABLE:
    case ResponseCode::SLAVE_NOT_AVAILABLE:
      return Code::kUnavailable;
    case ResponseCode::FLUSH_DISK_TIMEOUT:
    case ResponseCode::FLUSH_SLAVE_TIMEOUT:
      return Code::kTimeout;
    case ResponseCode::PULL_OFFSET_MOVED:
      return Code::kOutOfRange;
    default:
      return Code::kIOError;
  }
}

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

std::vector<std::string> split_namesrv_addrs(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    size_t semi = list.find(';');
    std::string_view part = list.substr(0, semi);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ')
      part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    if (semi == std::string_view::npos) break;
    list.remove_prefix(semi + 1);
  }
  return out;
}

Status status_from_response(const RemotingCommand& resp) {
  std::string msg(remoting::response_code_name(resp.code()));
  if (msg == "UNKNOWN") msg = "response code " + std::to_string(resp.code());
  if (!resp.remark().empty()) msg += ": " + resp.remark();
  return Status(code_for(resp.response_code()), std::move(msg));
}

AdminClient::AdminClient(std::vector<std::string> namesrv_addrs, std::chrono::milliseconds timeout)
    : namesrv_addrs_(std::move(namesrv_addrs)), timeout_(timeout) {}

Result<RemotingCommand> AdminClient::call(const std::string& addr, RemotingCommand req,
                                          std::chrono::milliseconds timeout) {
  return client_.invoke(addr, std::move(req), timeout);
}

Result<RemotingCommand> AdminClient::call_namesrv(const RemotingCommand& req) {
  if (namesrv_addrs_.empty()) return Status::invalid_argument("no name server address given");
  Status last;
  for (const auto& addr : namesrv_addrs_) {
    auto r = call(addr, RemotingCommand(req));
    if (r.is_ok()) return r;
    last = Status(r.status().code(), "name server " + addr + ": " + r.status().message());
  }
  return last;
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

Result<SendResult> AdminClient::send(const std::string& broker_addr, const OutgoingMessage& msg,
                                     int32_t queue_id) {
  std::vector<std::pair<std::string, std::string>> props;
  if (!msg.tags.empty()) props.emplace_back(kPropertyTags, msg.tags);
  if (!msg.keys.empty()) props.emplace_back(kPropertyKeys, msg.keys);
  const std::string properties = encode_properties(props);
  Message m;
  m.topic = msg.topic;
  m.body = msg.body;
  m.properties = properties;
  m.born_timestamp_ms = now_ms();
  COMET_RETURN_IF_ERROR(record::validate(m, remoting::kDefaultMaxFrameBytes));

  auto req = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  protocol::SendMessageRequestT ext;
  ext.producer_group = "comet-admin";
  ext.topic = msg.topic;
  ext.queue_id = queue_id;
  ext.batch = false;
  req.set_ext(std::move(ext));
  req.body.owned.resize(record::encoded_size(m));
  record::encode(m, 0, 0, 0, {}, reinterpret_cast<uint8_t*>(req.body.owned.data()));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));

  SendResult result;
  switch (resp.response_code()) {
    case ResponseCode::SUCCESS:
      result.send_status = "SEND_OK";
      break;
    case ResponseCode::FLUSH_DISK_TIMEOUT:
    case ResponseCode::FLUSH_SLAVE_TIMEOUT:
    case ResponseCode::SLAVE_NOT_AVAILABLE:
      // Stored by the master, not yet durable as configured: RocketMQ reports these as a
      // send status, not a failure.
      result.send_status = std::string(remoting::response_code_name(resp.code()));
      break;
    default:
      return status_from_response(resp);
  }
  if (const auto* r = resp.ext<protocol::SendMessageResponseT>()) result.response = *r;
  return result;
}

Result<PullResult> AdminClient::pull(const std::string& broker_addr,
                                     const protocol::PullMessageRequestT& req_ext) {
  auto req = RemotingCommand::request(RequestCode::PULL_MESSAGE);
  req.set_ext(req_ext);
  const auto timeout =
      timeout_ + std::chrono::milliseconds(std::max<int64_t>(0, req_ext.suspend_timeout_millis));
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req), timeout));
  PullResult result;
  result.code = resp.response_code();
  switch (result.code) {
    case ResponseCode::SUCCESS:
    case ResponseCode::PULL_NOT_FOUND:
    case ResponseCode::PULL_RETRY_IMMEDIATELY:
    case ResponseCode::PULL_OFFSET_MOVED:
      break;
    default:
      return status_from_response(resp);
  }
  COMET_ASSIGN_OR_RETURN(result.response,
                         ext_of<protocol::PullMessageResponseT>(resp, "PULL_MESSAGE"));
  result.body = std::move(resp.body.owned);
  return result;
}

DecodedRecords decode_records(std::string_view body) {
  DecodedRecords out;
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  for (size_t pos = 0; pos < body.size();) {
    auto d = record::decode(p + pos, body.size() - pos, /*verify_crc=*/true);
    if (d.outcome == record::Outcome::kBlank) {
      pos += d.size;
      continue;
    }
    if (d.outcome != record::Outcome::kRecord) {
      out.corruption = d.outcome == record::Outcome::kEnd ? "zero bytes where a record should be"
                                                          : std::string(d.reason);
      out.corrupt_at = pos;
      break;
    }
    DecodedMessage m;
    m.record = d.record;
    m.tags = find_property(d.record.properties, kPropertyTags);
    m.keys = find_property(d.record.properties, kPropertyKeys);
    out.messages.push_back(m);
    pos += d.size;
  }
  return out;
}

}  // namespace comet::admin
