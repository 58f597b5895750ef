// What a broker decodes and rewrites for transactions (broker/transaction_messages.h): op records
// read back from the op topic (any body and properties, and any bytes as a record), and the half
// message a TRAN_MSG send with any properties becomes, with its check copies and its committed
// and check-max forms. Every op record parses to one that op_message writes back the same, or is
// kCorruption; every send is refused with kInvalidArgument, or stored as a half message whose
// copies keep its origin and count their checks and whose commit is the same message from the
// half or from any copy, in its real topic and queue without the transaction's properties.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "broker/system_topics.h"
#include "broker/transaction_messages.h"

using namespace comet;
using namespace comet::broker;

namespace {

[[noreturn]] void fail(const char* what) {
  __builtin_printf("transaction_fuzzer: %s\n", what);
  std::abort();
}

// `m` as the store keeps it (queue and physical offset given), decoded again; the bytes stay in
// `bytes`. False when the record would not be valid to append.
bool store(const Message& m, uint64_t queue_offset, uint64_t physical_offset,
           std::vector<uint8_t>& bytes, RecordView& out) {
  if (!record::validate(m, 1 << 20).is_ok()) return false;
  bytes.assign(record::encoded_size(m), 0);
  record::encode(m, queue_offset, physical_offset, 1'700'000'000'000, {0x7f000001, 10911},
                 bytes.data());
  const record::Decoded d = record::decode(bytes.data(), bytes.size());
  if (d.outcome != record::Outcome::kRecord) fail("a valid message does not decode");
  out = d.record;
  return true;
}

// An op record parses to one that is written back the same, or is kCorruption.
void check_op(const RecordView& r) {
  auto op = parse_op(r);
  if (!op.is_ok()) {
    if (op.status().code() != Code::kCorruption) fail("a bad op record that is not kCorruption");
    return;
  }
  std::string storage;
  std::vector<uint8_t> bytes;
  RecordView again;
  if (!store(op_message(*op, storage), 0, 0, bytes, again)) fail("an op message is not valid");
  auto back = parse_op(again);
  if (!back.is_ok() || !(*back == *op)) fail("an op record does not round-trip");
}

void check_committed(const Message& m, uint64_t origin, bool to_check_max) {
  if ((m.sys_flag & kSysFlagTransactionMask) != kSysFlagTransactionCommit) {
    fail("a committed message without the commit flag");
  }
  if (is_transactional(m.properties) ||
      !find_property(m.properties, kPropertyTransactionCheckTimes).empty()) {
    fail("a committed message keeps TRAN_MSG or its check count");
  }
  if (find_property(m.properties, kPropertyTransactionPreparedQueueOffset) !=
      std::to_string(origin)) {
    fail("a committed message without its origin");
  }
  if (to_check_max) {
    if (m.topic != kTransCheckMaxTimeTopic || m.queue_id != 0) fail("a check-max message astray");
  } else if (m.topic != "Orders" || m.queue_id != 1 ||
             !find_property(m.properties, kPropertyRealTopic).empty() ||
             !find_property(m.properties, kPropertyRealQueueId).empty()) {
    fail("a committed message not in its real topic and queue");
  }
}

// A send with `properties` (TRAN_MSG set): refused, or a half message whose checks and commit
// keep the transaction's key.
void check_half(std::string_view properties, uint32_t sys_flag) {
  const std::string with_tran(std::string(properties) + "TRAN_MSG\x01true\x02");
  Message m;
  m.topic = "Orders";
  m.queue_id = 1;
  m.sys_flag = sys_flag;
  m.body = "b";
  m.properties = with_tran;
  std::string half_props;
  const Status s = to_half_topic(m, false, half_props);
  if (!s.is_ok()) {
    if (s.code() != Code::kInvalidArgument) fail("a refused send that is not kInvalidArgument");
    return;
  }
  if (m.topic != kTransHalfTopic || m.queue_id != 0 ||
      (m.sys_flag & kSysFlagTransactionMask) != kSysFlagTransactionPrepared ||
      find_property(m.properties, kPropertyRealTopic) != "Orders" ||
      find_property(m.properties, kPropertyRealQueueId) != "1" ||
      find_property(m.properties, kPropertyProducerGroup).empty()) {
    fail("a half message without its real topic, queue, group or flag");
  }
  std::vector<uint8_t> half_bytes;
  RecordView half;
  if (!store(m, 40, 4096, half_bytes, half)) return;  // too long to store: the append refuses it
  if (origin_of(half) != 40) fail("a first half message is not its own origin");

  std::string copy_props;
  std::vector<uint8_t> copy_bytes;
  RecordView copy;
  const Message c = check_copy_of(half, origin_of(half), copy_props);
  if (!store(c, 57, 8192, copy_bytes, copy)) return;
  if (origin_of(copy) != 40 || check_times_of(copy.properties) != 1) {
    fail("a check copy loses the origin or miscounts");
  }

  std::string from_half_props, from_copy_props, max_props;
  const Message from_half = committed_message_of(half, 40, false, from_half_props);
  const Message from_copy = committed_message_of(copy, origin_of(copy), false, from_copy_props);
  check_committed(from_half, 40, false);
  check_committed(from_copy, 40, false);
  if (from_half.properties != from_copy.properties || from_half.body != from_copy.body) {
    fail("the commit of a copy differs from the commit of the half message");
  }
  check_committed(committed_message_of(copy, 40, true, max_props), 40, true);
}

uint64_t read_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Any bytes as a stored record (structure only: the CRC would stop nearly every mutation).
  const record::Decoded d = record::decode(data, size, /*verify_crc=*/false);
  if (d.outcome == record::Outcome::kRecord) {
    check_op(d.record);
    std::string storage;
    (void)committed_message_of(d.record, origin_of(d.record), false, storage);
    (void)check_copy_of(d.record, origin_of(d.record), storage);
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The text after its first byte, split where that byte says: an op record's body and
  // properties.
  if (size > 0) {
    const std::string_view rest = text.substr(1);
    RecordView op;
    op.topic = kTransOpTopic;
    op.body = rest.substr(0, data[0]);
    op.properties = rest.substr(op.body.size());
    check_op(op);
  }
  if (size >= 17) {
    const OpRecord made{read_u64(data), static_cast<TransactionEnd>(data[16] % 3),
                        read_u64(data + 8)};
    std::string storage;
    std::vector<uint8_t> bytes;
    RecordView again;
    if (!store(op_message(made, storage), 0, 0, bytes, again)) fail("an op message is not valid");
    auto back = parse_op(again);
    if (!back.is_ok() || !(*back == made)) fail("a made op record does not round-trip");
  }
  check_half(text, size == 0 ? 0 : data[size - 1]);
  return 0;
}
