// The RocketMQ 4.x codecs (remoting/rocketmq_*.h) on hostile input. The first byte picks the
// decoder, the rest is its input. Whatever decodes is encoded again and must decode to the same
// value (the writers write what the readers read), and no input may crash, hang or allocate
// past what it justifies.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "remoting/rocketmq_codec.h"
#include "remoting/rocketmq_json.h"
#include "remoting/rocketmq_message.h"

using namespace comet::remoting::rocketmq;

namespace {

constexpr uint32_t kMaxFrame = 1 << 20;
constexpr size_t kMaxBatch = 256;
constexpr size_t kMaxInflate = 1 << 20;

[[noreturn]] void fail(const char* what) {
  __builtin_printf("rocketmq_fuzzer: %s\n", what);
  std::abort();
}

template <typename T>
void same(const comet::Result<T>& again, const T& first, const char* what) {
  if (!again.is_ok()) {
    __builtin_printf("%s\n", again.status().to_string().c_str());
    fail(what);
  }
  if (!(*again == first)) fail(what);
}

void json_header(std::string_view in) {
  auto cmd = decode_json_header(in);
  if (!cmd.is_ok()) return;
  same(decode_json_header(encode_header(*cmd)), *cmd, "a re-encoded JSON header differs");
}

void binary_header(std::string_view in) {
  auto cmd = decode_binary_header(in);
  if (!cmd.is_ok()) return;
  same(decode_binary_header(encode_header(*cmd)), *cmd, "a re-encoded binary header differs");
}

void frame(std::string_view in) {
  auto cmd = decode_frame(in, kMaxFrame);
  if (!cmd.is_ok()) return;
  const std::string once = encode_frame(*cmd);
  same(decode_frame(once, UINT32_MAX), *cmd, "a re-encoded frame differs");
  if (encode_frame(*decode_frame(once, UINT32_MAX)) != once) fail("frames are not a fixed point");
}

void batch(std::string_view in) {
  auto entries = decode_batch(in, kMaxBatch);
  if (!entries.is_ok()) return;
  const std::string again = encode_batch(*entries);
  same(decode_batch(again, kMaxBatch), *entries, "a re-encoded batch differs");
}

void store_messages(std::string_view in) {
  auto msgs = decode_store_messages(in);
  if (!msgs.is_ok()) return;
  std::string again;
  for (const auto& m : *msgs) {
    again += encode_store_message(m);
    if ((m.sys_flag & kSysFlagCompressed) != 0) (void)inflate_body(m.body, kMaxInflate);
  }
  same(decode_store_messages(again), *msgs, "re-encoded store messages differ");
}

void heartbeat(std::string_view in) {
  auto h = parse_heartbeat(in);
  if (!h.is_ok()) return;
  same(parse_heartbeat(encode_heartbeat(*h)), *h, "a re-encoded heartbeat differs");
}

void lock_bodies(std::string_view in) {
  if (auto b = parse_lock_batch(in); b.is_ok())
    same(parse_lock_batch(encode_lock_batch(*b)), *b, "a re-encoded lock request differs");
  if (auto ok = parse_lock_ok(in); ok.is_ok())
    same(parse_lock_ok(encode_lock_ok(*ok)), *ok, "a re-encoded lock answer differs");
  if (auto ids = parse_consumer_id_list(in); ids.is_ok())
    same(parse_consumer_id_list(encode_consumer_id_list(*ids)), *ids,
         "a re-encoded consumer id list differs");
}

void route(std::string_view in) {
  auto r = parse_route(in);
  if (!r.is_ok()) return;
  same(parse_route(encode_route(*r, true)), *r, "a re-encoded route differs");
  same(parse_route(encode_route(*r, false)), *r, "a re-encoded legacy route differs");
}

void zlib_body(std::string_view in) {
  auto plain = inflate_body(in, kMaxInflate);
  if (!plain.is_ok()) return;
  same(inflate_body(deflate_body(*plain), kMaxInflate), *plain, "deflate/inflate differ");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 9) {
    case 0:
      json_header(in);
      break;
    case 1:
      binary_header(in);
      break;
    case 2:
      frame(in);
      break;
    case 3:
      batch(in);
      break;
    case 4:
      store_messages(in);
      break;
    case 5:
      heartbeat(in);
      break;
    case 6:
      lock_bodies(in);
      break;
    case 7:
      route(in);
      break;
    default:
      zlib_body(in);
      break;
  }
  return 0;
}
