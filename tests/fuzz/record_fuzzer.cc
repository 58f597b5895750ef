// The CommitLog record decoder as recovery and clients run it: records back to back, each
// decoded with its CRC checked. A record that decodes must lie within the input, and encoding
// its fields again must give exactly its bytes (so the CRC covers every field the decoder
// returns). Property and tag parsers run on what it returns. The input's first bytes are also read
// as an offsetMsgId (queryMsgById's and VIEW_MESSAGE_BY_ID's parser): one that parses must print
// back as itself, upper-cased.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/msg_id.h"
#include "common/record_codec.h"

using namespace comet;

namespace {

[[noreturn]] void fail(const char* what) {
  __builtin_printf("record_fuzzer: %s\n", what);
  std::abort();
}

bool within(std::string_view v, const uint8_t* begin, const uint8_t* end) {
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  return v.empty() || (p >= begin && p + v.size() <= end);
}

void check_msg_id(std::string_view id) {
  auto parts = parse_msg_id(id);
  if (!parts.is_ok()) {
    if (parts.status().message().empty()) fail("a refused message id without a reason");
    return;
  }
  std::string upper(id);
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (make_msg_id(parts->store_host, parts->physical_offset) != upper) {
    fail("a parsed message id does not print back as itself");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_msg_id(std::string_view(reinterpret_cast<const char*>(data), std::min<size_t>(size, 32)));
  size_t at = 0;
  for (int n = 0; n < 1000 && at < size; ++n) {
    const uint8_t* p = data + at;
    const size_t avail = size - at;
    const record::Decoded d = record::decode(p, avail);
    if (d.outcome == record::Outcome::kBlank) {
      if (d.size < record::kBlankSize || d.size > avail) fail("a blank's size is out of bounds");
      at += d.size;
      continue;
    }
    if (d.outcome != record::Outcome::kRecord) break;
    if (d.size < record::kMinRecordSize || d.size > avail) fail("a record's size is out of bounds");
    const RecordView& r = d.record;
    if (!within(r.body, p, p + d.size) || !within(r.topic, p, p + d.size) ||
        !within(r.properties, p, p + d.size)) {
      fail("a field view points outside its record");
    }
    const Message m = record::message_of(r);
    if (record::encoded_size(m) != d.size) fail("the fields do not account for the record size");
    std::string again(d.size, '\0');
    record::encode(m, r.queue_offset, r.physical_offset, r.store_timestamp_ms, r.store_host,
                   reinterpret_cast<uint8_t*>(again.data()));
    if (std::memcmp(again.data(), p, d.size) != 0) fail("re-encoding changed the record");
    (void)find_property(r.properties, kPropertyTags);
    for (std::string_view tag : split_tag_expression(find_property(r.properties, kPropertyTags)))
      (void)tag_hash(tag);
    at += d.size;
  }
  return 0;
}
