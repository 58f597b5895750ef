// The frame decoder as a connection's reader runs it: frames back to back in one buffer, each
// prefix checked, each header run through the FlatBuffers verifier and unpacked. A frame that
// decodes must re-encode to bytes that decode to the same command (encoding is a fixed point),
// and the code names must resolve for any code.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "remoting/remoting_command.h"

using namespace comet::remoting;

namespace {

[[noreturn]] void fail(const char* what) {
  __builtin_printf("frame_fuzzer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr uint32_t kMaxFrame = 1 << 20;
  size_t at = 0;
  while (size - at >= kFramePrefixSize) {
    auto prefix = decode_prefix(data + at, kMaxFrame);
    if (!prefix.is_ok()) break;
    const size_t frame_bytes = kFramePrefixSize + prefix->rest();
    if (size - at < frame_bytes) break;
    auto cmd = decode_frame_rest(*prefix, data + at + kFramePrefixSize);
    at += frame_bytes;
    if (!cmd.is_ok()) break;
    (void)request_code_name(cmd->code());
    (void)response_code_name(cmd->code());
    const std::string once = encode_frame(*cmd);
    auto back = decode_frame(once, UINT32_MAX);
    if (!back.is_ok()) fail("a re-encoded frame does not decode");
    if (back->body.to_string() != cmd->body.to_string()) fail("the body changed");
    if (encode_frame(*back) != once) fail("re-encoding is not a fixed point");
  }
  return 0;
}
