// What acl_fuzzer works with, shared with fuzz_seeds: the accounts it checks frames against, the
// clock it checks them at, and its seed inputs (the first byte picks the parser: 0 accounts
// file, 1 address pattern and peer, 2 credentials file, 3 a native frame through the gate).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "remoting/remoting_command.h"
#include "remoting/request_signature.h"

namespace comet::fuzz {

enum AclFuzzMode : uint8_t { kAclFile = 0, kAddress = 1, kCredentials = 2, kGateFrame = 3 };

constexpr int64_t kAclFuzzNowMs = 1'700'000'000'000;

inline const char* acl_fuzz_accounts() {
  return "globalWhiteRemoteAddresses: [10.9.*.*, '192.168.1.{1,2}']\n"
         "accounts:\n"
         "  - accessKey: app\n"
         "    secretKey: app-secret-1\n"
         "    whiteRemoteAddress: 127.0.0.2\n"
         "    defaultTopicPerm: SUB\n"
         "    defaultGroupPerm: DENY\n"
         "    topicPerms: [orders=PUB|SUB, locked=DENY]\n"
         "    groupPerms: [readers=SUB]\n"
         "  - accessKey: ops\n"
         "    secretKey: ops-secret-1\n"
         "    admin: true\n";
}

inline std::vector<std::string> acl_fuzz_seeds() {
  std::vector<std::string> out;
  auto with_mode = [&](AclFuzzMode mode, const std::string& payload) {
    out.push_back(std::string(1, static_cast<char>(mode)) + payload);
  };
  with_mode(kAclFile, acl_fuzz_accounts());
  with_mode(kAclFile, "accounts:\n  - accessKey: a\n    secretKey: short\n");
  with_mode(kAclFile, "accounts: []\nglobalWhiteRemoteAddresses: ['*']\n");
  for (const char* p : {"192.168.0.1-10\n192.168.0.5", "10.*.*.*\n10.1.2.3",
                        "1050::5:600:300c:{326b,326c}\n1050::5:600:300c:326c",
                        "1050:0:0:0:5:600:300c:*\n::ffff:10.0.0.1", "1.2.3.4,5.6.7.8\n5.6.7.8",
                        "*\n::1", "192.168.{1,2}\n192.168.1.1"}) {
    with_mode(kAddress, p);
  }
  with_mode(kCredentials, "accessKey: app\nsecretKey: app-secret-1\n");
  with_mode(kCredentials, "accessKey: [x]\n");
  // Frames as clients send them: signed sends and pulls, an admin request, unsigned.
  using namespace comet::remoting;
  RequestSigner app({"app", "app-secret-1"});
  RequestSigner ops({"ops", "ops-secret-1"});
  auto signed_frame = [](RequestSigner& s, RemotingCommand cmd, int64_t now) {
    return s.encode_signed_head(cmd, now) + cmd.body.to_string();
  };
  RemotingCommand send = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  protocol::SendMessageRequestT send_ext;
  send_ext.topic = "orders";
  send.set_ext(std::move(send_ext));
  send.body.owned = "body";
  RemotingCommand pull = RemotingCommand::request(RequestCode::PULL_MESSAGE);
  protocol::PullMessageRequestT pull_ext;
  pull_ext.consumer_group = "readers";
  pull_ext.topic = "%RETRY%readers";
  pull.set_ext(std::move(pull_ext));
  RemotingCommand heartbeat = RemotingCommand::request(RequestCode::HEART_BEAT);
  protocol::HeartbeatRequestT hb;
  hb.client_id = "c1";
  auto consumer = std::make_unique<protocol::ConsumerDataT>();
  consumer->group_name = "readers";
  auto sub = std::make_unique<protocol::SubscriptionT>();
  sub->topic = "orders";
  consumer->subscriptions.push_back(std::move(sub));
  hb.consumers.push_back(std::move(consumer));
  heartbeat.set_ext(std::move(hb));
  // Each frame behind the byte that picks its peer (0: outside every whitelist).
  const std::string outside(1, '\0');
  const std::string sent = outside + signed_frame(app, std::move(send), kAclFuzzNowMs);
  with_mode(kGateFrame, sent + sent);  // and replayed
  RemotingCommand ancient = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  ancient.body.owned = "body";  // signed at the earliest time an int64 holds
  with_mode(kGateFrame,
            outside + signed_frame(app, std::move(ancient), std::numeric_limits<int64_t>::min()));
  with_mode(kGateFrame, outside + signed_frame(app, std::move(pull), kAclFuzzNowMs - 1000));
  with_mode(kGateFrame, outside + signed_frame(app, std::move(heartbeat), kAclFuzzNowMs));
  with_mode(
      kGateFrame,
      outside + signed_frame(ops, RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_BROKER),
                             kAclFuzzNowMs));
  // The access key alone (a signed session's later requests): refused on no connection.
  RemotingCommand session_send = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  session_send.body.owned = "body";
  with_mode(kGateFrame, outside + app.encode_session_head(session_send) + "body");
  with_mode(kGateFrame, std::string(1, '\2') + encode_frame(RemotingCommand::request(
                                                   RequestCode::GET_BROKER_RUNTIME_INFO)));
  return out;
}

}  // namespace comet::fuzz
