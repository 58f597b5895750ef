#include "remoting/rocketmq_session.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "common/logging.h"
#include "common/msg_id.h"
#include "remoting/connection.h"
#include "remoting/rocketmq_acl.h"
#include "remoting/rocketmq_message.h"
#include "remoting/rocketmq_translate.h"

namespace comet::remoting {

Protocol detect_protocol(const uint8_t* bytes, size_t n) {
  if (n < kProtocolDetectBytes) return Protocol::kUndecided;
  const char* id = protocol::HeaderIdentifier();
  return std::memcmp(bytes + 12, id, 4) == 0 ? Protocol::kNative : Protocol::kRocketmq;
}

std::string_view protocol_name(Protocol p) {
  switch (p) {
    case Protocol::kNative:
      return "native";
    case Protocol::kRocketmq:
      return "rocketmq";
    case Protocol::kUndecided:
      break;
  }
  return "undecided";
}

namespace rocketmq {

namespace {

using namespace translate;

// RocketMQ request codes with their own number in comet's RequestCode: served by code.
constexpr int32_t kSendMessageV2 = 310;
constexpr int32_t kSendBatchMessage = 320;

// The one table of the RocketMQ requests the session serves; anything else is answered
// REQUEST_CODE_NOT_SUPPORTED, so comet's internal codes (HA, DLedger, admin) are never reachable
// over the RocketMQ protocol by accident.
constexpr std::array kRoutes = {
    Route{10, send_to_native, send_to_rocketmq},
    Route{kSendMessageV2, send_to_native, send_to_rocketmq},
    Route{kSendBatchMessage, send_to_native, send_to_rocketmq},
    Route{11, pull_to_native, pull_to_rocketmq},
    Route{12, query_to_native, messages_to_rocketmq},
    Route{14, consumer_offset_to_native, offset_to_rocketmq},
    Route{15, consumer_offset_to_native, plain_answer},
    Route{17, update_topic_to_native, plain_answer},
    Route{29, search_offset_to_native, offset_to_rocketmq},
    Route{30, queue_offset_to_native, offset_to_rocketmq},
    Route{31, queue_offset_to_native, offset_to_rocketmq},
    Route{32, queue_offset_to_native, offset_to_rocketmq},
    Route{33, view_to_native, messages_to_rocketmq},
    Route{34, heartbeat_to_native, plain_answer},
    Route{35, unregister_to_native, plain_answer},
    Route{36, send_back_to_native, plain_answer},
    Route{37, end_transaction_to_native, plain_answer},
    Route{38, consumer_list_to_native, consumer_list_to_rocketmq},
    Route{41, lock_to_native, lock_to_rocketmq},
    Route{42, lock_to_native, plain_answer},
    Route{105, route_to_native, route_to_rocketmq},
    Route{106, cluster_to_native, cluster_to_rocketmq},
};

const Route* find_route(int32_t code) {
  for (const Route& r : kRoutes) {
    if (r.code == code) return &r;
  }
  return nullptr;
}

HostAddress parse_peer(const std::string& address) {
  HostAddress h;
  auto hp = split_host_port(address);
  if (!hp.is_ok()) return h;
  std::error_code ec;
  auto ip = asio::ip::make_address(hp->first, ec);
  if (ec) return h;
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  }
  if (ip.is_v4()) h.ipv4 = ip.to_v4().to_uint();
  h.port = hp->second;
  return h;
}

}  // namespace

int32_t to_rocketmq_response_code(int32_t native_code) {
  switch (static_cast<ResponseCode>(native_code)) {
    case ResponseCode::MESSAGE_TOO_LARGE:
    case ResponseCode::ILLEGAL_TOPIC_NAME:
      return static_cast<int32_t>(ResponseCode::MESSAGE_ILLEGAL);
    case ResponseCode::BAD_REQUEST:
      return static_cast<int32_t>(ResponseCode::SYSTEM_ERROR);
    default:
      return native_code;
  }
}

RocketmqSession::RocketmqSession(const std::string& peer_address)
    : peer_(parse_peer(peer_address)) {}

bool RocketmqSession::serves(int32_t code) {
  return find_route(code) != nullptr;
}

Inbound RocketmqSession::on_request(Command cmd) {
  Inbound in;
  const Route* route = find_route(cmd.code);
  if (route == nullptr) {
    if (!cmd.is_oneway()) {
      in.reply =
          Command::response_to(cmd, static_cast<int32_t>(ResponseCode::REQUEST_CODE_NOT_SUPPORTED),
                               " request type " + std::to_string(cmd.code) + " not supported");
    }
    return in;
  }
  PendingAnswer pending;
  pending.code = cmd.code;
  pending.serialize_type = cmd.serialize_type;
  pending.version = cmd.version;
  const Context ctx{peer_};
  ToNativeResult translated = route->to_native(cmd, ctx, pending);
  if (auto* refusal = std::get_if<Refusal>(&translated)) {
    logger("remoting")
        ->debug("refused RocketMQ request {} from {}: {}", cmd.code, host_address_string(peer_),
                refusal->remark);
    if (!cmd.is_oneway()) in.reply = Command::response_to(cmd, refusal->code, refusal->remark);
    return in;
  }
  RemotingCommand& native = std::get<RemotingCommand>(translated);
  native.header.opaque = static_cast<uint32_t>(cmd.opaque);
  native.header.flags = cmd.is_oneway() ? kFlagOneway : 0;
  // ACL 1.0: what the client signed, for the gate (only signed requests pay for the copy).
  native.auth = acl1_request_auth(cmd);
  if (!cmd.is_oneway()) {
    std::lock_guard lock(mu_);
    pending_[native.header.opaque] = std::move(pending);
  }
  in.request = std::move(native);
  return in;
}

Result<std::optional<Command>> RocketmqSession::on_outgoing(RemotingCommand native) {
  if (!native.is_response()) {
    auto req = server_request_to_rocketmq(native);
    if (!req.is_ok()) return req.status();
    req->opaque = static_cast<int32_t>(native.opaque());
    req->flag = native.is_oneway() ? kFlagOneway : 0;
    return std::optional<Command>(std::move(req).value());
  }
  PendingAnswer pending;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(native.opaque());
    if (it == pending_.end()) return std::optional<Command>();  // oneway or stray
    pending = std::move(it->second);
    pending_.erase(it);
  }
  Command out;
  out.code = to_rocketmq_response_code(native.code());
  out.opaque = static_cast<int32_t>(native.opaque());
  out.flag = kFlagResponse;
  out.serialize_type = pending.serialize_type;
  if (!native.remark().empty()) out.remark = native.remark();
  const Route* route = find_route(pending.code);
  if (route != nullptr) route->to_rocketmq(native, pending, out);
  return std::optional<Command>(std::move(out));
}

RemotingCommand RocketmqSession::on_response(const Command& cmd) {
  RemotingCommand native;
  native.header.code = cmd.code;
  native.header.opaque = static_cast<uint32_t>(cmd.opaque);
  native.header.flags = kFlagResponse;
  if (cmd.remark) native.header.remark = *cmd.remark;
  native.body.owned = cmd.body;
  return native;
}

}  // namespace rocketmq

namespace rocketmq::translate {

RemotingCommand native_request(const Command& req, protocol::RequestCode code) {
  RemotingCommand native = RemotingCommand::request(code);
  native.header.opaque = static_cast<uint32_t>(req.opaque);
  native.header.flags = req.is_oneway() ? kFlagOneway : 0;
  return native;
}

Refusal refuse(const Status& s, int32_t code) {
  return Refusal{code, s.message()};
}

void append_records_as_store_format(const Body& body, std::string& out) {
  const std::string joined = body.views.empty() ? std::string() : body.to_string();
  const std::string& bytes = body.views.empty() ? body.owned : joined;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto d = record::decode(p + pos, bytes.size() - pos, /*verify_crc=*/false);
    if (d.outcome != record::Outcome::kRecord || d.size == 0) break;  // the store wrote it
    append_store_format(d.record, out);
    pos += d.size;
  }
}

void plain_answer(const RemotingCommand&, const PendingAnswer&, Command&) {}

}  // namespace rocketmq::translate
}  // namespace comet::remoting
