// A RocketMQ connection's session as the reader drives it: frames back to back, each decoded and
// handed to RocketmqSession::on_request; each native request it makes is answered (SUCCESS, the
// answer table of its code, the rest of the input as the body, CommitLog records or garbage) and
// the answer turned back. Checks: an unserved code is answered 3 and forwarded nowhere, a
// non-oneway request is answered exactly once with its opaque, every answer encodes to a frame
// that decodes, and a request gets an ACL 1.0 auth exactly when it carries an AccessKey.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "remoting/rocketmq_codec.h"
#include "remoting/rocketmq_session.h"

using namespace comet::remoting;
namespace rmq = comet::remoting::rocketmq;

namespace {

[[noreturn]] void fail(const char* what) {
  __builtin_printf("rocketmq_session_fuzzer: %s\n", what);
  std::abort();
}

// A SUCCESS answer to `req` with the ext table its code is answered with.
RemotingCommand answer_to(const RemotingCommand& req, std::string_view body) {
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  switch (static_cast<RequestCode>(req.code())) {
    case RequestCode::SEND_MESSAGE: {
      protocol::SendMessageResponseT r;
      r.msg_id = body.size() % 2 == 0 ? "7F00000100002A9F0000000000001000" : "bad id";
      resp.set_ext(std::move(r));
      break;
    }
    case RequestCode::PULL_MESSAGE:
      resp.set_ext(protocol::PullMessageResponseT{});
      break;
    case RequestCode::GET_ROUTEINFO_BY_TOPIC:
      resp.set_ext(protocol::TopicRouteDataT{});
      break;
    case RequestCode::GET_BROKER_CLUSTER_INFO:
      resp.set_ext(protocol::ClusterInfoT{});
      break;
    default:
      break;
  }
  resp.body.owned = std::string(body);
  return resp;
}

void check_answer(const comet::Result<std::optional<rmq::Command>>& out, int32_t opaque) {
  if (!out.is_ok() || !out->has_value()) fail("a request was not answered");
  const rmq::Command& c = **out;
  if (c.opaque != opaque || !c.is_response()) fail("an answer lost its opaque or flag");
  if (!rmq::decode_frame(rmq::encode_frame(c), UINT32_MAX).is_ok()) {
    fail("an answer does not decode");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)detect_protocol(data, size);
  rmq::RocketmqSession session("127.0.0.1:4000");
  constexpr uint32_t kMaxFrame = 1 << 20;
  size_t at = 0;
  for (int frames = 0; frames < 64 && size - at >= rmq::kPrefixSize; ++frames) {
    auto prefix = rmq::decode_prefix(data + at, kMaxFrame);
    if (!prefix.is_ok()) break;
    const size_t frame_bytes = rmq::kPrefixSize + prefix->rest();
    if (size - at < frame_bytes) break;
    auto cmd = rmq::decode_frame_rest(*prefix, data + at + rmq::kPrefixSize);
    at += frame_bytes;
    if (!cmd.is_ok()) break;
    if (cmd->is_response()) {
      (void)session.on_response(*cmd);
      continue;
    }
    const bool oneway = cmd->is_oneway();
    const int32_t opaque = cmd->opaque;
    const bool served = rmq::RocketmqSession::serves(cmd->code);
    const bool signed_frame = cmd->ext.find("AccessKey") != nullptr;
    rmq::Inbound in = session.on_request(std::move(cmd).value());
    if (in.request && in.reply) fail("both forwarded and answered");
    if (!served && (in.request || (!oneway && (!in.reply || in.reply->code != 3)))) {
      fail("an unserved code was not answered 3");
    }
    if (oneway && in.reply) fail("a oneway request was answered");
    if (in.reply) check_answer(std::optional<rmq::Command>(*in.reply), opaque);
    if (!in.request) continue;
    // ACL 1.0: the signature's claim rides on exactly the requests that carry an access key.
    if ((in.request->auth != nullptr) != signed_frame) fail("auth set for the wrong frames");
    const std::string_view rest(reinterpret_cast<const char*>(data + at), size - at);
    auto out = session.on_outgoing(answer_to(*in.request, rest));
    if (oneway) {
      if (!out.is_ok() || out->has_value()) fail("a oneway request's answer was written");
    } else {
      check_answer(out, opaque);
    }
  }
  return 0;
}
