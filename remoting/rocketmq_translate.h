// The per-family translations RocketmqSession dispatches to (remoting/rocketmq_session.h): each
// request code has a to_native (RocketMQ request → native request, noting what its answer needs)
// and a to_rocketmq (native answer → RocketMQ answer). Internal to comet_remoting.
#pragma once

#include <string>
#include <variant>

#include "common/record_codec.h"
#include "common/status.h"
#include "remoting/remoting_command.h"
#include "remoting/rocketmq_codec.h"
#include "remoting/rocketmq_session.h"

namespace comet::remoting::rocketmq::translate {

struct Context {
  HostAddress peer;  // the client's address: bornHost of what it sends
};

// A request the translation refuses (a missing field, a malformed body): answered with `code`.
struct Refusal {
  int32_t code = 1;  // SYSTEM_ERROR
  std::string remark;
};
using ToNativeResult = std::variant<RemotingCommand, Refusal>;

using ToNative = ToNativeResult (*)(const Command& req, const Context& ctx, PendingAnswer& pending);
using ToRocketmq = void (*)(const RemotingCommand& native, const PendingAnswer& pending,
                            Command& out);

struct Route {
  int32_t code;
  ToNative to_native;
  ToRocketmq to_rocketmq;
};

// A native request of `code` with the RocketMQ request's opaque and oneway flag.
RemotingCommand native_request(const Command& req, protocol::RequestCode code);
// Refusal from a status (its message is the remark).
Refusal refuse(const Status& s, int32_t code = 1);
// Appends the records of a native body (CommitLog format) to `out` in RocketMQ's store format.
void append_records_as_store_format(const Body& body, std::string& out);
// The answer of a request with nothing but a code and remark.
void plain_answer(const RemotingCommand& native, const PendingAnswer& pending, Command& out);

// Send family (rocketmq_translate_send.cc): 10, 310, 320, 36, 37.
ToNativeResult send_to_native(const Command& req, const Context& ctx, PendingAnswer& pending);
void send_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending, Command& out);
ToNativeResult send_back_to_native(const Command& req, const Context& ctx, PendingAnswer& pending);
ToNativeResult end_transaction_to_native(const Command& req, const Context& ctx,
                                         PendingAnswer& pending);

// Pull family (rocketmq_translate_pull.cc): 11, 33, 12.
ToNativeResult pull_to_native(const Command& req, const Context& ctx, PendingAnswer& pending);
void pull_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending, Command& out);
ToNativeResult view_to_native(const Command& req, const Context& ctx, PendingAnswer& pending);
ToNativeResult query_to_native(const Command& req, const Context& ctx, PendingAnswer& pending);
void messages_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending,
                          Command& out);

// Clients family (rocketmq_translate_clients.cc): 34, 35, 38, 41, 42; server requests 39, 40.
ToNativeResult heartbeat_to_native(const Command& req, const Context& ctx, PendingAnswer& pending);
ToNativeResult unregister_to_native(const Command& req, const Context& ctx, PendingAnswer& pending);
ToNativeResult consumer_list_to_native(const Command& req, const Context& ctx,
                                       PendingAnswer& pending);
void consumer_list_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending,
                               Command& out);
ToNativeResult lock_to_native(const Command& req, const Context& ctx, PendingAnswer& pending);
void lock_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending, Command& out);
// A request the server starts, as RocketMQ's; kInvalidArgument for codes without one.
Result<Command> server_request_to_rocketmq(const RemotingCommand& native);

// Admin family (rocketmq_translate_admin.cc): 105, 106 (name server); 14, 15, 29-32, 17.
ToNativeResult route_to_native(const Command& req, const Context& ctx, PendingAnswer& pending);
void route_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending, Command& out);
ToNativeResult cluster_to_native(const Command& req, const Context& ctx, PendingAnswer& pending);
void cluster_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending, Command& out);
ToNativeResult consumer_offset_to_native(const Command& req, const Context& ctx,
                                         PendingAnswer& pending);
ToNativeResult queue_offset_to_native(const Command& req, const Context& ctx,
                                      PendingAnswer& pending);
ToNativeResult search_offset_to_native(const Command& req, const Context& ctx,
                                       PendingAnswer& pending);
void offset_to_rocketmq(const RemotingCommand& native, const PendingAnswer& pending, Command& out);
ToNativeResult update_topic_to_native(const Command& req, const Context& ctx,
                                      PendingAnswer& pending);

}  // namespace comet::remoting::rocketmq::translate
