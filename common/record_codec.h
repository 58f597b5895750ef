// The CommitLog record format (docs/format.md), shared by the store, replication and clients:
// a pull response carries records in exactly this format, so a client decodes what the store
// wrote without re-encoding. Little-endian, fixed-width header; the CRC32C (masked) covers the
// whole record except the CRC field itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace comet {

struct HostAddress {
  uint32_t ipv4 = 0;  // host byte order
  uint32_t port = 0;
  bool operator==(const HostAddress&) const = default;
};

// What a producer hands the store; the store assigns offsets and the store timestamp.
struct Message {
  std::string_view topic;
  uint32_t queue_id = 0;
  uint32_t flags = 0;
  uint32_t sys_flag = 0;
  int64_t born_timestamp_ms = 0;
  HostAddress born_host;
  uint32_t reconsume_times = 0;
  std::string_view body;
  std::string_view properties;  // encoded with encode_properties()
};

// A decoded record; the views point into the buffer it was decoded from.
struct RecordView {
  uint32_t total_size = 0;
  uint32_t queue_id = 0;
  uint32_t flags = 0;
  uint64_t queue_offset = 0;
  uint64_t physical_offset = 0;
  uint32_t sys_flag = 0;
  int64_t born_timestamp_ms = 0;
  HostAddress born_host;
  int64_t store_timestamp_ms = 0;
  HostAddress store_host;
  uint32_t reconsume_times = 0;
  std::string_view body;
  std::string_view topic;
  std::string_view properties;
};

namespace record {

// The message a decoded record holds, to append again (a broker rewriting or re-delivering it);
// its views point where the record's do.
Message message_of(const RecordView& r);

constexpr uint32_t kMessageMagic = 0x434d4731;  // "1GMC" little-endian: a message record
constexpr uint32_t kBlankMagic = 0x434d4230;    // end-of-segment filler
constexpr size_t kHeaderSize = 80;              // fixed fields up to and including bodyLen
constexpr size_t kMinRecordSize = kHeaderSize + 2 + 2;
constexpr size_t kBlankSize = 12;  // totalSize | magic | crc: always reserved at a segment end
constexpr size_t kMaxTopicLength = 127;
constexpr size_t kMaxPropertiesLength = 32767;

// Field offsets inside a record.
constexpr size_t kOffTotalSize = 0;
constexpr size_t kOffMagic = 4;
constexpr size_t kOffCrc = 8;
constexpr size_t kOffQueueId = 12;
constexpr size_t kOffFlags = 16;
constexpr size_t kOffQueueOffset = 20;
constexpr size_t kOffPhysicalOffset = 28;
constexpr size_t kOffSysFlag = 36;
constexpr size_t kOffBornTimestamp = 40;
constexpr size_t kOffBornHost = 48;
constexpr size_t kOffStoreTimestamp = 56;
constexpr size_t kOffStoreHost = 64;
constexpr size_t kOffReconsumeTimes = 72;
constexpr size_t kOffBodyLen = 76;

inline size_t encoded_size(const Message& m) {
  return kMinRecordSize + m.body.size() + m.topic.size() + m.properties.size();
}

// Checks names and lengths; `max_body_bytes` is the configured maxMessageSize.
Status validate(const Message& m, size_t max_body_bytes);
bool valid_topic_name(std::string_view topic);
// Producer and consumer group names: 1-255 characters of the same set (as RocketMQ).
constexpr size_t kMaxGroupLength = 255;
// One message key (of KEYS, or a UNIQ_KEY) the broker's index takes and a query may name; longer
// keys are stored with the message but not indexed.
constexpr size_t kMaxKeyLength = 512;
bool valid_group_name(std::string_view group);

// Writes the record for `m` at `dst` (encoded_size(m) bytes) and seals it with its CRC.
void encode(const Message& m, uint64_t queue_offset, uint64_t physical_offset,
            int64_t store_timestamp_ms, HostAddress store_host, uint8_t* dst);
// Writes an end-of-segment filler covering `size` (>= kBlankSize) bytes at `dst`.
void encode_blank(uint8_t* dst, uint32_t size);

enum class Outcome {
  kRecord,     // a valid message record
  kBlank,      // a valid end-of-segment filler: continue at the next segment
  kEnd,        // zeroes (preallocated, never written): the log ends here
  kTruncated,  // the record or blank claims more bytes than are available: a torn tail, or a
               // read window that ends inside it
  kCorrupt,    // bad magic, inconsistent lengths or CRC mismatch
};

struct Decoded {
  Outcome outcome = Outcome::kEnd;
  uint32_t size = 0;  // bytes the record or blank occupies (kRecord, kBlank)
  RecordView record;  // kRecord only
  const char* reason = "";
};

// Decodes the record at `p` given `avail` readable bytes. With `verify_crc` false only the
// structure is checked (lengths and magic), for readers that trust the store.
Decoded decode(const uint8_t* p, size_t avail, bool verify_crc = true);

// Reads the `physical_offset` field without decoding the rest.
uint64_t peek_physical_offset(const uint8_t* p);
int64_t peek_store_timestamp(const uint8_t* p);

}  // namespace record

// Message properties: "key\x01value\x02key\x01value\x02" as RocketMQ encodes them.
std::string encode_properties(const std::vector<std::pair<std::string, std::string>>& props);
// The value of `key`, or an empty view when absent.
std::string_view find_property(std::string_view encoded, std::string_view key);
// `encoded` without the properties named in `keys` (all else as it was, in order).
std::string without_properties(std::string_view encoded,
                               std::initializer_list<std::string_view> keys);
// `encoded` with key=value added at the end (any earlier value of `key` removed).
std::string with_property(std::string_view encoded, std::string_view key, std::string_view value);
constexpr std::string_view kPropertyTags = "TAGS";
constexpr std::string_view kPropertyKeys = "KEYS";
// RocketMQ's delay level of a message (1..n; the broker's messageDelayLevel names each delay).
constexpr std::string_view kPropertyDelayLevel = "DELAY";
// Where a delayed, timer or retried message goes when due (RocketMQ's MessageConst names).
constexpr std::string_view kPropertyRealTopic = "REAL_TOPIC";
constexpr std::string_view kPropertyRealQueueId = "REAL_QID";
// Timer messages (RocketMQ 5): an absolute delivery time in ms since the epoch, or a delay in
// seconds from the send; the broker turns either into TIMER_OUT_MS, the due time it keeps.
constexpr std::string_view kPropertyTimerDeliverMs = "TIMER_DELIVER_MS";
constexpr std::string_view kPropertyTimerDelaySec = "TIMER_DELAY_SEC";
// A delay in milliseconds from the send (RocketMQ 5's setDelayTimeMs).
constexpr std::string_view kPropertyTimerDelayMs = "TIMER_DELAY_MS";
constexpr std::string_view kPropertyTimerOutMs = "TIMER_OUT_MS";
// Retries: the topic a retried message was first consumed from, the id it had there, how often
// it was consumed, and after how many times it goes to the dead-letter queue.
constexpr std::string_view kPropertyRetryTopic = "RETRY_TOPIC";
constexpr std::string_view kPropertyOriginMessageId = "ORIGIN_MESSAGE_ID";
constexpr std::string_view kPropertyReconsumeTime = "RECONSUME_TIME";
constexpr std::string_view kPropertyMaxReconsumeTimes = "MAX_RECONSUME_TIMES";
// The client-side unique id of a message (RocketMQ's UNIQ_KEY), shown as its message id.
constexpr std::string_view kPropertyUniqKey = "UNIQ_KEY";
// Transactions (broker/transaction_service.h). TRAN_MSG=true and PGROUP on a send make it a half
// message of that producer group. TRAN_PREPARED_QUEUE_OFFSET: on a half message's copy (a check)
// and on the committed message, the queue offset of the first half message, the transaction's
// key. TRANSACTION_CHECK_TIMES: checks so far. CHECK_IMMUNITY_TIME_IN_SECONDS: the first check
// waits this long instead of transactionTimeOut.
constexpr std::string_view kPropertyTransactionPrepared = "TRAN_MSG";
constexpr std::string_view kPropertyProducerGroup = "PGROUP";
constexpr std::string_view kPropertyTransactionPreparedQueueOffset = "TRAN_PREPARED_QUEUE_OFFSET";
constexpr std::string_view kPropertyTransactionCheckTimes = "TRANSACTION_CHECK_TIMES";
constexpr std::string_view kPropertyCheckImmunityTimeInSeconds = "CHECK_IMMUNITY_TIME_IN_SECONDS";
// RocketMQ's MessageSysFlag transaction bits (sys_flag & 0xC).
constexpr uint32_t kSysFlagTransactionPrepared = 0x4;
constexpr uint32_t kSysFlagTransactionCommit = 0x8;
constexpr uint32_t kSysFlagTransactionRollback = 0xC;
constexpr uint32_t kSysFlagTransactionMask = 0xC;
// The tags of a subscription expression: "TagA || TagB" → {TagA, TagB}; "*" or "" → {} (all).
std::vector<std::string_view> split_tag_expression(std::string_view expression);
// 64-bit FNV-1a of a tag; 0 means "no tag" in a ConsumeQueue unit.
uint64_t tag_hash(std::string_view tag);

}  // namespace comet
