// The first-bytes test of a server in tls.server.mode permissive or enforcing
// (classify_first_bytes), as accept_tls runs it: on every prefix of the input, growing. It must
// decide within kTlsDetectBytes, never change its mind once decided, call TLS only what starts
// as a TLS handshake record, and never call a native frame TLS.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "remoting/rocketmq_session.h"
#include "remoting/tls_stream.h"

using namespace comet::remoting;

namespace {

[[noreturn]] void fail(const char* what) {
  __builtin_printf("tls_detect_fuzzer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FirstBytes decided = FirstBytes::kNeedMore;
  for (size_t n = 0; n <= size; ++n) {
    const FirstBytes kind = classify_first_bytes(data, n);
    if (decided != FirstBytes::kNeedMore && kind != decided) fail("changed its mind");
    if (kind == FirstBytes::kNeedMore && n >= kTlsDetectBytes) fail("undecided on enough bytes");
    if (kind == FirstBytes::kTls) {
      if (data[0] != 0x16 || data[1] != 0x03) fail("TLS without a handshake record header");
      if (detect_protocol(data, n) == Protocol::kNative) fail("a native frame taken for TLS");
    }
    decided = kind;
  }
  return 0;
}
