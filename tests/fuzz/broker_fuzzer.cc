// Every request handler of a real broker, in this process: each input that decodes as a frame
// is sent to a broker (store in a temporary directory) over loopback as a request, and must be
// answered. A crash, a sanitizer report or a request left unanswered (an abort here) is a
// finding; the broker then keeps serving the next input.
//
// Requests go out as requests (not oneway) and pulls do not long-poll, so that every one has
// an answer to wait for; the fields the handlers parse are left as the fuzzer made them.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "broker/broker_controller.h"
#include "common/logging.h"
#include "common/properties.h"
#include "remoting/remoting_client.h"

using namespace comet;
using namespace std::chrono_literals;

namespace {

struct Harness {
  std::string dir;
  std::unique_ptr<broker::BrokerController> broker;
  std::unique_ptr<remoting::RemotingClient> client;
  std::string addr;
};
Harness* harness = nullptr;

void stop() {
  if (!harness) return;
  harness->client.reset();
  if (harness->broker) harness->broker->shutdown();
  harness->broker.reset();
  std::error_code ec;
  std::filesystem::remove_all(harness->dir, ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  harness = new Harness;
  std::string tmpl = (std::filesystem::temp_directory_path() / "comet-fuzz-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  harness->dir = tmpl;
  set_log_level("error");
  auto props = Properties::parse(
      "listenPort=0\nhaListenPort=0\nbindAddress=127.0.0.1\nstorePathRootDir=" + harness->dir +
      "\nmappedFileSizeCommitLog=1048576\nmaxMessageSize=65536\nsuspendMaxTimeMillis=1\n"
      // The harness's one connection must never be cut or paused for long.
      "serverChannelMaxIdleTimeSeconds=0\nserverFrameReadTimeoutMs=0\n");
  if (!props.is_ok()) std::abort();
  auto config = broker::BrokerConfig::from_properties(*props);
  if (!config.is_ok()) {
    std::fprintf(stderr, "broker_fuzzer: %s\n", config.status().to_string().c_str());
    std::abort();
  }
  auto b = broker::BrokerController::create(*config);
  if (!b.is_ok() || !(*b)->start().is_ok()) std::abort();
  harness->broker = std::move(*b);
  harness->addr = harness->broker->address();
  harness->client = std::make_unique<remoting::RemotingClient>();
  std::atexit(stop);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto cmd =
      remoting::decode_frame(std::string_view(reinterpret_cast<const char*>(data), size), 1 << 20);
  if (!cmd.is_ok()) return -1;  // the frame decoder has its own fuzzer: not interesting here
  cmd->header.flags = 0;
  if (auto* pull =
          const_cast<protocol::PullMessageRequestT*>(cmd->ext<protocol::PullMessageRequestT>())) {
    pull->suspend_timeout_millis = 0;
  }
  const int32_t code = cmd->code();
  auto r = harness->client->invoke(harness->addr, std::move(cmd).value(), 10s);
  if (!r.is_ok()) {
    std::fprintf(stderr, "broker_fuzzer: request code %d got no answer: %s\n", code,
                 r.status().to_string().c_str());
    std::abort();
  }
  return 0;
}
