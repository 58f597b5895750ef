// What a broker decodes for timer messages: timer log entries read back from disk (any 32 bytes
// at any position) and the TIMER_* / REAL_* properties a producer sends and the delivery reads.
// Every input gives an entry that encodes back to the same bytes, or none; a rewrite that is
// refused with kInvalidArgument, or one whose due time is within the limit; a delivery that is
// kCorruption, or a message without the scheduling properties.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "broker/system_topics.h"
#include "broker/timer_log.h"
#include "broker/timer_messages.h"

using namespace comet;
using namespace comet::broker;

namespace {

[[noreturn]] void fail(const char* what) {
  __builtin_printf("timer_fuzzer: %s\n", what);
  std::abort();
}

constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kMaxDelaySec = 259200;

void check_entries(const uint8_t* data, size_t size) {
  for (size_t at = 0; at + kTimerEntrySize <= size; at += kTimerEntrySize) {
    const auto pos = static_cast<int64_t>(at);
    auto e = decode_timer_entry(data + at, pos);
    if (!e) continue;
    if (e->due_ms < 0 || e->prev < -1 || e->prev >= pos) fail("an entry breaks its invariants");
    uint8_t again[kTimerEntrySize];
    encode_timer_entry(*e, again);
    if (std::memcmp(again, data + at, kTimerEntrySize) != 0) fail("an entry does not round-trip");
  }
}

void check_send(std::string_view properties) {
  Message m;
  m.topic = "Orders";
  m.queue_id = 1;
  m.properties = properties;
  std::string storage;
  auto r = to_timer_topic(m, kNow, kMaxDelaySec, 18, storage);
  if (!r.is_ok()) {
    if (r.status().code() != Code::kInvalidArgument) fail("a refusal that is not kInvalidArgument");
    return;
  }
  if (*r != TimerSend::kScheduled) return;
  const auto due = timer_out_ms(m.properties);
  if (m.topic != kTimerTopic || !due || *due <= kNow || *due > kNow + kMaxDelaySec * 1000) {
    fail("a scheduled message without its due time in range");
  }
}

void check_delivery(std::string_view properties) {
  RecordView r;
  r.topic = kTimerTopic;
  r.properties = properties;
  std::string storage;
  auto m = real_timer_message(r, storage);
  if (!m.is_ok()) {
    if (m.status().code() != Code::kCorruption) fail("a delivery error that is not kCorruption");
    return;
  }
  if (has_timer_properties(m->properties) || timer_out_ms(m->properties) ||
      !find_property(m->properties, kPropertyRealTopic).empty()) {
    fail("a delivered message keeps scheduling properties");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_entries(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_send(text);
  check_delivery(text);
  return 0;
}
