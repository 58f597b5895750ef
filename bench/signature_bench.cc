// Micro-benchmarks of signed requests (docs/security.md) on the send hot path: a client signing
// a 1 KiB send, a server decoding it (which hashes the frame), and the access-control gate
// admitting it (HMAC check, replay guard, permissions). Not part of CI:
//   build/bench/comet-signature-bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "remoting/acl_gate.h"
#include "remoting/plain_acl.h"
#include "remoting/request_signature.h"

namespace comet::remoting {
namespace {

RemotingCommand send_request(size_t body_bytes) {
  RemotingCommand cmd = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  protocol::SendMessageRequestT ext;
  ext.producer_group = "bench-producer";
  ext.topic = "BenchTopic";
  ext.queue_id = 3;
  cmd.set_ext(std::move(ext));
  cmd.header.opaque = 12345;
  cmd.body.owned.assign(body_bytes, 'x');
  return cmd;
}

void BM_EncodeUnsigned(benchmark::State& state) {
  RemotingCommand cmd = send_request(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    std::string head = encode_frame_head(cmd, cmd.body.size());
    benchmark::DoNotOptimize(head);
  }
}
BENCHMARK(BM_EncodeUnsigned)->Arg(1024);

void BM_EncodeSigned(benchmark::State& state) {
  RequestSigner signer({"bench", "bench-secret-key"});
  RemotingCommand cmd = send_request(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    std::string head = signer.encode_signed_head(cmd);
    benchmark::DoNotOptimize(head);
  }
}
BENCHMARK(BM_EncodeSigned)->Arg(1024);

void BM_DecodeUnsigned(benchmark::State& state) {
  const std::string frame = encode_frame(send_request(static_cast<size_t>(state.range(0))));
  for (auto _ : state) {
    auto cmd = decode_frame(frame, kDefaultMaxFrameBytes);
    benchmark::DoNotOptimize(cmd);
  }
}
BENCHMARK(BM_DecodeUnsigned)->Arg(1024);

std::string signed_frame(RequestSigner& signer, size_t body_bytes) {
  RemotingCommand cmd = send_request(body_bytes);
  std::string frame = signer.encode_signed_head(cmd);
  return frame + cmd.body.to_string();
}

void BM_DecodeSigned(benchmark::State& state) {
  RequestSigner signer({"bench", "bench-secret-key"});
  const std::string frame = signed_frame(signer, static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto cmd = decode_frame(frame, kDefaultMaxFrameBytes);
    benchmark::DoNotOptimize(cmd);
  }
}
BENCHMARK(BM_DecodeSigned)->Arg(1024);

void BM_SignatureCheck(benchmark::State& state) {
  RequestSigner signer({"bench", "bench-secret-key"});
  auto cmd = decode_frame(signed_frame(signer, 1024), kDefaultMaxFrameBytes);
  for (auto _ : state) {
    bool ok = comet_signature_matches(*cmd->auth, "bench-secret-key");
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_SignatureCheck);

// The gate of a broker with one account, admitting a signed, permitted send (the HMAC check,
// the replay guard, the permission lookup): what every request costs the broker with aclEnable.
void BM_GateAdmitSignedSend(benchmark::State& state) {
  auto accounts = parse_plain_acl(
      "accounts:\n  - accessKey: bench\n    secretKey: bench-secret-key\n"
      "    defaultTopicPerm: PUB|SUB\n",
      "bench.yml");
  AclGateOptions options;
  options.cluster = Credentials{"cluster", "cluster-secret"};
  auto gate =
      AclGate::with_config(std::move(accounts).value(), options, [](const RemotingCommand& cmd) {
        return RequiredAccess::any_account().topic(cmd.ext<protocol::SendMessageRequestT>()->topic,
                                                   perm::kPub);
      }).value();
  RequestSigner signer({"bench", "bench-secret-key"});
  // Fresh nonces for every admission: the replay guard refuses a frame seen before.
  std::vector<RemotingCommand> cmds;
  constexpr size_t kFrames = 1 << 16;
  cmds.reserve(kFrames);
  for (size_t i = 0; i < kFrames; ++i) {
    cmds.push_back(decode_frame(signed_frame(signer, 1024), kDefaultMaxFrameBytes).value());
  }
  size_t next = 0;
  for (auto _ : state) {
    if (next == kFrames) {
      state.PauseTiming();
      for (auto& cmd : cmds)
        cmd = decode_frame(signed_frame(signer, 1024), kDefaultMaxFrameBytes).value();
      next = 0;
      state.ResumeTiming();
    }
    Status s = gate->admit_from("127.0.0.1:5000", cmds[next++], unix_millis_now());
    if (!s.is_ok()) state.SkipWithError(s.message().c_str());
  }
}
BENCHMARK(BM_GateAdmitSignedSend);

}  // namespace
}  // namespace comet::remoting

BENCHMARK_MAIN();
