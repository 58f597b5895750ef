// The metadata record decoder as a replica runs it on a record another broker wrote: any bytes
// must give either a typed error or changes that are all valid, and that encode and decode again
// to the same changes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "broker/metadata_record.h"

using namespace comet;
using namespace comet::broker;

namespace {

[[noreturn]] void fail(const char* what) {
  __builtin_printf("metadata_record_fuzzer: %s\n", what);
  std::abort();
}

bool same(const MetadataChanges& a, const MetadataChanges& b) {
  if (a.offsets.size() != b.offsets.size() || a.topics != b.topics || a.groups != b.groups) {
    return false;
  }
  for (size_t i = 0; i < a.offsets.size(); ++i) {
    const auto& x = a.offsets[i];
    const auto& y = b.offsets[i];
    if (x.group != y.group || x.topic != y.topic || x.queue_id != y.queue_id ||
        x.offset != y.offset) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto decoded =
      decode_metadata_record(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!decoded.is_ok()) {
    if (decoded.status().code() != Code::kCorruption) fail("an error that is not kCorruption");
    return 0;
  }
  for (const auto& t : decoded->topics) {
    if (!validate_topic_config(t).is_ok()) fail("an invalid topic config decoded");
  }
  for (const auto& g : decoded->groups) {
    if (!validate_subscription_group(g).is_ok()) fail("an invalid subscription group decoded");
  }
  auto again = decode_metadata_record(encode_metadata_record(decoded.value()));
  if (!again.is_ok() || !same(decoded.value(), again.value())) fail("re-encoding changed it");
  return 0;
}
