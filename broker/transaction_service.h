// TransactionService: the master's side of transactional messages (RocketMQ's
// TransactionalMessageService, EndTransactionProcessor and TransactionalMessageCheckService).
//
// SendMessageProcessor stores a TRAN_MSG send as a half message (broker/transaction_messages.h).
// Only the master (the Raft leader) keeps transactions, on a strand:
//   - At `writable` (and whenever a role change wakes it) it rebuilds its TransactionTable from
//     the log: H, the low water the last master committed as the consumer offset of group
//     CID_SYS_RMQ_TRANS on the half queue, then the half queue from H and the op queue from the
//     first op written after the half at H, fed in log order; then it follows both queues as the
//     store indexes them. Until it has read both to their ends and the store has indexed the log
//     as far as it reached at `writable` (a DLedger leader commits the old term's tail later), it
//     is catching up: END_TRANSACTION gets SYSTEM_BUSY and no check runs. It first repairs a
//     commit a failover tore (a promoted slave whose log ends with a commit's op record but not
//     its message: HA copies bytes, not batches) by appending the message.
//   - END_TRANSACTION: commit appends [op, committed message] as one batch (op first), rollback
//     [op]; an END for a transaction that ended already is answered SUCCESS and appends nothing,
//     so an end is applied once however often it is sent.
//   - Checks: every transactionCheckInterval, and when the earliest open transaction falls due,
//     the due ones (transactionTimeOut or CHECK_IMMUNITY_TIME_IN_SECONDS after their send, then
//     transactionCheckInterval after their last check) get a copy appended (the count travels
//     in the log) and then a CHECK_TRANSACTION_STATE sent to a connected producer of the group;
//     after transactionCheckMax checks one is discarded to TRANS_CHECK_MAX_TIME_TOPIC. Checks
//     are paced (kMaxChecksPerSecond, kCheckBatch per append) so a backlog never floods the log
//     or the producers. After each round H is committed.
// On losing mastership the table is dropped; an append still in flight completes into nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <asio.hpp>

#include "broker/broker_context.h"
#include "broker/replication.h"
#include "broker/send_deadlines.h"
#include "broker/transaction_table.h"

namespace comet::broker {

class TransactionService {
 public:
  static constexpr size_t kCheckBatch = 256;             // transactions checked per append
  static constexpr uint32_t kMaxChecksPerSecond = 2000;  // a check storm's pace
  static constexpr uint32_t kReadBatch = 256;            // records read per queue per step

  TransactionService(BrokerContext& ctx, Replication& replication);
  ~TransactionService();

  void start();
  void stop();
  // The role may have changed (writable, any role change): a master rebuilds its table, anything
  // else drops it.
  void wake();
  // The becoming_master hook, before this broker writes: the log's end now is where a torn commit
  // would end (what the old master's stream left), whatever the broker appends before the
  // rebuild runs. Then wake().
  void on_becoming_master();

  // END_TRANSACTION (slaves are refused by check_accepts_writes) and GET_OPEN_TRANSACTIONS.
  void end_transaction(const ConnectionPtr& conn, RemotingCommand req);
  void open_transactions(const ConnectionPtr& conn, RemotingCommand req);

 private:
  struct Held;
  struct Batch;

  // All on the strand.
  void step_down();
  void rebuild();
  uint64_t first_op_after(uint64_t half_physical_offset, uint64_t end) const;
  void follow();
  bool follow_step();
  void feed_half(const RecordView& r);
  void feed_op(const RecordView& r);
  void finish_catching_up();
  void repair_torn_commit();
  void end(const ConnectionPtr& conn, RemotingCommand req);
  void list(const ConnectionPtr& conn, RemotingCommand req);
  void check_round();
  void checks_appended(const std::shared_ptr<Batch>& batch, const AppendOutcome& out);
  void send_check(const Batch& batch, size_t i, const commitlog::AppendResult& r);
  void arm_check(int64_t at_ms);
  void commit_low_water();
  // The half message at `physical_offset`, which must lie below `bound` (the read bound, or the
  // log's end for an END: see end()).
  Result<std::shared_ptr<Held>> read_half(uint64_t physical_offset, uint64_t bound) const;
  // Runs `fn` on the strand if this broker still leads in `term` (an append's completion).
  void on_strand_in_term(uint64_t term, std::function<void()> fn);
  // What an END's append outcome does to its transaction (before the END is answered).
  void settle_after_end(uint64_t term, uint64_t origin, const AppendOutcome& out);

  BrokerContext& ctx_;
  Replication& replication_;
  const TransactionTiming timing_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer check_timer_;
  SendDeadlines deadlines_;  // of END_TRANSACTION appends that wait for a flush or a replica
  std::atomic<bool> stopped_{false};
  std::atomic<bool> follow_posted_{false};
  std::atomic<bool> catching_up_flag_{false};  // read by the arrival listener

  // Strand state; the table exists only while this broker leads.
  std::unique_ptr<TransactionTable> table_;
  int64_t leading_epoch_ = 0;
  uint64_t term_ = 0;  // bumped by step_down(): completions of older appends are ignored
  bool catching_up_ = false;
  bool repairing_ = false;                  // a torn commit's message is being appended
  bool repair_done_ = false;                // the log's end was looked at for a torn commit
  uint64_t catch_up_log_end_ = 0;           // the CommitLog end when this mastership began
  uint64_t repair_log_end_ = 0;             // where a torn commit's op would end
  std::atomic<uint64_t> noted_log_end_{0};  // by on_becoming_master, + 1 (0: none)
  uint64_t half_next_ = 0;                  // next half queue offset to feed
  uint64_t op_next_ = 0;                    // next op queue offset to feed
  bool checking_ = false;                   // a check batch is being appended
  std::optional<int64_t> check_at_ms_;      // when the check timer fires
  int64_t not_before_ms_ = 0;               // the pace: no round before this
  uint64_t next_check_origin_ = 0;          // where the next round's scan starts
  uint64_t committed_low_ = 0;
  // ENDs naming a half in the log that the table has not read yet (the store indexes it soon).
  std::vector<std::pair<ConnectionPtr, RemotingCommand>> waiting_ends_;
};

}  // namespace comet::broker
