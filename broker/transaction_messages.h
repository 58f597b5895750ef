// Transactional messages: what the send path, an end and a check do to a message, without I/O
// (RocketMQ's TransactionalMessageBridge and EndTransactionProcessor rewrites). The service that
// keeps transactions (broker/transaction_service.h) appends what these return.
//
// A send with TRAN_MSG=true and PGROUP is stored as a *half message* in queue 0 of
// RMQ_SYS_TRANS_HALF_TOPIC, its real topic and queue kept in REAL_TOPIC / REAL_QID
// (to_half_topic). The *origin* of a transaction, its key, is the half topic queue offset of its
// first half message; a check appends a copy of the half message carrying the origin in
// TRAN_PREPARED_QUEUE_OFFSET and the checks so far in TRANSACTION_CHECK_TIMES (check_copy_of).
// An end appends an *op record* (op_message): queue 0 of RMQ_SYS_TRANS_OP_HALF_TOPIC, TAGS=d,
// body the origin in decimal (RocketMQ's format), TRAN_OUTCOME and TRAN_HALF_PHYSICAL_OFFSET
// (comet's); a commit appends it together with the committed message (committed_message_of).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/record_codec.h"
#include "common/status.h"

namespace comet::broker {

// On an op record: how the transaction ended ("commit", "rollback" or "discard": checked
// transactionCheckMax times without an answer) and the physical offset of the half message (or
// copy) whose body the commit stored, for the repair of a commit torn by a failover.
constexpr std::string_view kPropertyTransactionOutcome = "TRAN_OUTCOME";
constexpr std::string_view kPropertyTransactionHalfPhysicalOffset = "TRAN_HALF_PHYSICAL_OFFSET";
// RocketMQ's TransactionalMessageUtil.REMOVE_TAG: the tag of every op record.
constexpr std::string_view kTransactionOpTag = "d";

// Rewrites a TRAN_MSG send for the half topic; its new properties go to `storage`, which must
// outlive the append. kInvalidArgument (the remark names what) without PGROUP, in a batch
// (`batch`), or with DELAY (a level other than 0) or timer properties. The properties the broker
// keeps a transaction by (TRAN_PREPARED_QUEUE_OFFSET, TRANSACTION_CHECK_TIMES) are the broker's:
// a client's are dropped. UNIQ_KEY, the transaction id, is the caller's to ensure beforehand.
Status to_half_topic(Message& m, bool batch, std::string& storage);

// TRAN_MSG=true (case-insensitive, as Java's Boolean.parseBoolean).
bool is_transactional(std::string_view properties);

// A half record's origin: its TRAN_PREPARED_QUEUE_OFFSET (a check's copy) if it holds a number,
// else its own queue offset (the first half message).
uint64_t origin_of(const RecordView& half);

// TRANSACTION_CHECK_TIMES, 0 when absent or not a number.
uint32_t check_times_of(std::string_view properties);
// REAL_QID of a half record: the queue its message goes to (0 when absent or damaged).
uint32_t real_queue_id_of(std::string_view properties);

// CHECK_IMMUNITY_TIME_IN_SECONDS * 1000; nullopt when absent, negative, not a number or too large
// (the first check then waits transactionTimeOut).
std::optional<int64_t> check_immunity_ms_of(std::string_view properties);

// A broker-made transaction id for a half message sent without UNIQ_KEY: 32 upper-case hex
// digits of the store host, the broker's start time and a per-start sequence, unique across
// restarts of the broker.
std::string make_transaction_id(HostAddress store_host, int64_t start_ms, uint32_t sequence);

enum class TransactionEnd { kCommit, kRollback, kDiscard };
std::string_view transaction_end_name(TransactionEnd end);  // TRAN_OUTCOME's value

struct OpRecord {
  uint64_t origin = 0;
  TransactionEnd end = TransactionEnd::kRollback;
  uint64_t half_physical_offset = 0;
  bool operator==(const OpRecord&) const = default;
};

// The op message for `op` (body and properties written to `storage`, which must outlive the
// append). Its born timestamp and host are left for the caller to set.
Message op_message(const OpRecord& op, std::string& storage);

// The op record `op` holds; kCorruption, naming the record's offset and what is wrong, for one
// not of the op topic, not tagged "d", or whose body, TRAN_OUTCOME or TRAN_HALF_PHYSICAL_OFFSET
// does not parse.
Result<OpRecord> parse_op(const RecordView& op);

// The half record (or copy) `half` as the committed message of transaction `origin`: its body,
// flags, born timestamp and host, in REAL_TOPIC / REAL_QID, without REAL_TOPIC, REAL_QID,
// TRAN_MSG and TRANSACTION_CHECK_TIMES, with TRAN_PREPARED_QUEUE_OFFSET=origin and the commit sys
// flag. With `to_check_max`, the same for queue 0 of TRANS_CHECK_MAX_TIME_TOPIC, REAL_TOPIC and
// REAL_QID kept (an operator sees where it was going). Its properties go to `storage`. The half
// topic takes no client writes, so REAL_TOPIC and REAL_QID are the broker's; a REAL_QID that is
// not a number (a damaged record) gives queue 0 and an empty REAL_TOPIC a topic the append
// refuses.
Message committed_message_of(const RecordView& half, uint64_t origin, bool to_check_max,
                             std::string& storage);

// The half record's copy for a check: the same message in the half topic with
// TRANSACTION_CHECK_TIMES = its check times + 1 and TRAN_PREPARED_QUEUE_OFFSET = `origin`
// (properties written to `storage`).
Message check_copy_of(const RecordView& half, uint64_t origin, std::string& storage);

}  // namespace comet::broker
