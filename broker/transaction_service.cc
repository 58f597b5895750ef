#include "broker/transaction_service.h"

#include <algorithm>
#include <deque>
#include <future>
#include <limits>
#include <string>

#include "broker/send_completion.h"
#include "broker/system_topics.h"
#include "broker/topic_creation.h"
#include "broker/transaction_messages.h"
#include "common/logging.h"
#include "common/msg_id.h"

namespace comet::broker {
namespace {

constexpr uint64_t kTxnReadBytes = 4u << 20;  // per queue per follow step
constexpr int kTxnFollowSteps = 64;           // steps per strand turn before yielding
constexpr int64_t kCatchUpRecheckMs = 1000;   // a catch-up with no arrival looks again
constexpr int32_t kMaxListed = 10000;
constexpr int64_t kScanCostFactor = 10;  // rounds apart by at least 10x a scan's time
constexpr uint64_t kMaxCheckBatchBytes = 1u << 20;
constexpr uint64_t kOpRecordBytes = 256;   // an op record, generously
constexpr size_t kMaxWaitingEnds = 10000;  // ENDs for halves not indexed yet

int64_t txn_now_ms() {
  return SystemClock::instance().now_ms();
}

}  // namespace

// A half record read from the CommitLog, its views valid while the ReadView lives.
struct TransactionService::Held {
  commitlog::ReadView view;
  RecordView record;
};

// Messages to append, with everything their views point into.
struct TransactionService::Batch {
  std::vector<std::shared_ptr<Held>> halves;
  std::deque<std::string> storage;  // a deque: its strings never move
  std::vector<Message> msgs;
  std::vector<uint64_t> origins;     // the transactions the batch marked in flight
  InFlight kind = InFlight::kCheck;  // how it marked them
  std::vector<std::string> groups;   // per message of a check batch: its producer group
  std::string& more() { return storage.emplace_back(); }
};

TransactionService::TransactionService(BrokerContext& ctx, Replication& replication)
    : ctx_(ctx),
      replication_(replication),
      timing_{ctx.config.transaction_timeout_ms, ctx.config.transaction_check_interval_ms},
      strand_(asio::make_strand(*ctx.io)),
      check_timer_(strand_),
      deadlines_(*ctx.io) {}

TransactionService::~TransactionService() {
  stop();
}

void TransactionService::start() {
  ctx_.store->add_arrival_listener([this](std::string_view topic, uint32_t, uint64_t) {
    if (stopped_.load(std::memory_order_relaxed)) return;
    // While catching up any arrival may be the one that indexes the old term's tail.
    if (topic != kTransHalfTopic && topic != kTransOpTopic && !catching_up_flag_.load()) return;
    if (follow_posted_.exchange(true)) return;
    asio::post(strand_, [this] {
      follow_posted_ = false;
      follow();
    });
  });
  wake();
}

void TransactionService::stop() {
  if (stopped_.exchange(true)) return;
  if (ctx_.io == nullptr || ctx_.io->stopped()) return;
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  asio::post(strand_, [this, done] {
    step_down();
    done->set_value();
  });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    logger("broker")->warn("transaction service: stop did not complete in time");
  }
}

void TransactionService::wake() {
  asio::post(strand_, [this] {
    if (stopped_) return;
    if (!replication_.is_master()) return step_down();
    if (!replication_.check_writable().is_ok()) return;  // woken again once writable
    // Leading again in a later epoch (term): another master may have written meanwhile.
    if (table_ && replication_.epoch() != leading_epoch_) step_down();
    if (!table_) rebuild();
  });
}

void TransactionService::on_becoming_master() {
  noted_log_end_ = ctx_.store->commit_log().max_offset() + 1;
  wake();
}

void TransactionService::step_down() {
  if (table_) logger("broker")->info("transaction state dropped: no longer master");
  table_.reset();
  ++term_;  // an append still in flight completes into nothing
  catching_up_ = false;
  catching_up_flag_ = false;
  repairing_ = false;
  repair_done_ = false;
  checking_ = false;
  check_at_ms_.reset();
  not_before_ms_ = 0;
  check_timer_.cancel();
  for (auto& [conn, req] : waiting_ends_) {
    reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE, "no longer the master");
  }
  waiting_ends_.clear();
}

// The table from the log: H as the last master committed it, the half queue from H, and the op
// queue from the first op written after the half at H (ops before it end origins below H).
void TransactionService::rebuild() {
  commitlog::MessageStore& store = *ctx_.store;
  const uint64_t half_min = store.min_queue_offset(kTransHalfTopic, 0);
  const uint64_t half_max = store.max_queue_offset(kTransHalfTopic, 0);
  // Never beyond this log's half queue: an H copied from a master whose log this one lacks the
  // end of (SlaveMetadataSync copies offsets outside the log) would hide the halves written here
  // at the offsets it passed over.
  const auto stored = ctx_.offsets->query(kTransGroup, kTransHalfTopic, 0);
  const uint64_t low = std::clamp(stored.value_or(0), half_min, std::max(half_min, half_max));
  if (stored && *stored > low) {
    logger("broker")->warn("transaction low water {} is beyond the half queue's end {}: reset",
                           *stored, low);
    (void)ctx_.offsets->reset(kTransGroup, kTransHalfTopic, 0, low);
  }
  catch_up_log_end_ = store.commit_log().max_offset();
  const uint64_t noted = noted_log_end_.exchange(0);
  repair_log_end_ = noted > 0 ? noted - 1 : catch_up_log_end_;
  table_ = std::make_unique<TransactionTable>(timing_, low);
  committed_low_ = low;
  leading_epoch_ = replication_.epoch();
  half_next_ = low;
  // The op queue's end first: an op indexed after it comes after the half at H looked at next.
  const uint64_t op_end = store.max_queue_offset(kTransOpTopic, 0);
  const auto at_low = store.get_messages(kTransHalfTopic, 0, low, 1, kTxnReadBytes);
  op_next_ =
      at_low.status == commitlog::GetStatus::kFound && !at_low.messages.empty()
          ? first_op_after(record::peek_physical_offset(at_low.messages.front().data), op_end)
          : op_end;
  catching_up_ = true;
  catching_up_flag_ = true;
  repair_done_ = false;
  logger("broker")->info(
      "transaction state rebuilding: half queue from {}, op queue from {}, log end {}", low,
      op_next_, catch_up_log_end_);
  follow();
  if (catching_up_) arm_check(txn_now_ms() + kCatchUpRecheckMs);
}

// Binary search over the op queue [min, end) for the first op whose physical offset is above
// `half_physical_offset` (the queue is in log order).
uint64_t TransactionService::first_op_after(uint64_t half_physical_offset, uint64_t end) const {
  uint64_t lo = ctx_.store->min_queue_offset(kTransOpTopic, 0);
  uint64_t hi = std::max(lo, end);
  for (int step = 0; lo < hi && step < 64; ++step) {
    const uint64_t mid = lo + (hi - lo) / 2;
    const auto got = ctx_.store->get_messages(kTransOpTopic, 0, mid, 1, kTxnReadBytes);
    const bool above =
        got.status == commitlog::GetStatus::kFound && !got.messages.empty() &&
        record::peek_physical_offset(got.messages.front().data) > half_physical_offset;
    if (above) {
      hi = mid;
    } else {
      lo = mid + 1;  // at or below it, or unreadable (retention took it: older still)
    }
  }
  return lo;
}

void TransactionService::follow() {
  if (!table_) return;
  bool more = true;
  for (int step = 0; more && step < kTxnFollowSteps; ++step)
    more = follow_step();
  if (more) {  // yield the strand to ENDs and checks, then go on
    if (!follow_posted_.exchange(true)) {
      asio::post(strand_, [this] {
        follow_posted_ = false;
        follow();
      });
    }
    return;
  }
  if (catching_up_ && !repairing_ && ctx_.store->dispatched().get() >= catch_up_log_end_) {
    finish_catching_up();
  }
  if (!waiting_ends_.empty() && !catching_up_) {
    auto waiting = std::move(waiting_ends_);
    waiting_ends_.clear();
    for (auto& [conn, req] : waiting)
      end(conn, std::move(req));
  }
}

namespace {

// Moves `cursor` past what a read cannot return (retention, records filtered out); true when the
// read should be retried from the new cursor.
bool skip_unreadable(const commitlog::GetResult& got, uint64_t& cursor) {
  if (got.status == commitlog::GetStatus::kOffsetTooSmall) {
    logger("broker")->warn("transaction queue offsets {}..{} were deleted by retention", cursor,
                           got.min_offset);
    cursor = got.min_offset;
    return true;
  }
  if (got.status == commitlog::GetStatus::kNoMatchedMessage) {
    cursor = got.next_begin_offset;
    return true;
  }
  return false;
}

std::vector<RecordView> decoded_records(const commitlog::GetResult& got) {
  std::vector<RecordView> out;
  if (got.status != commitlog::GetStatus::kFound) return out;
  out.reserve(got.messages.size());
  for (const commitlog::ReadView& v : got.messages) {
    auto d = record::decode(v.data, v.size, /*verify_crc=*/false);
    if (d.outcome == record::Outcome::kRecord) {
      out.push_back(d.record);
    } else {
      logger("broker")->error("transaction queue: unreadable record at {}: {}", v.offset, d.reason);
    }
  }
  return out;
}

bool has_more(const commitlog::GetResult& got) {
  return got.status == commitlog::GetStatus::kFound && got.next_begin_offset < got.max_offset;
}

}  // namespace

// Feeds what both queues hold from their cursors, in log order. The op queue is read first: a
// half written before an op read here is indexed before it, so the half read finds it.
bool TransactionService::follow_step() {
  commitlog::MessageStore& store = *ctx_.store;
  const auto ops = store.get_messages(kTransOpTopic, 0, op_next_, kReadBatch, kTxnReadBytes);
  const auto halves = store.get_messages(kTransHalfTopic, 0, half_next_, kReadBatch, kTxnReadBytes);
  if (skip_unreadable(ops, op_next_) || skip_unreadable(halves, half_next_)) return true;
  const std::vector<RecordView> o = decoded_records(ops);
  const std::vector<RecordView> h = decoded_records(halves);
  const bool more_ops = has_more(ops);
  const bool more_halves = has_more(halves);
  size_t i = 0;
  size_t j = 0;
  while (i < o.size() || j < h.size()) {
    bool take_op;
    if (i < o.size() && j < h.size()) {
      take_op = o[i].physical_offset < h[j].physical_offset;
    } else if (i < o.size()) {
      if (more_halves) break;  // a half before this op may be in the next read
      take_op = true;
    } else {
      if (more_ops) break;
      take_op = false;
    }
    if (take_op) {
      feed_op(o[i]);
      op_next_ = o[i++].queue_offset + 1;
    } else {
      feed_half(h[j]);
      half_next_ = h[j++].queue_offset + 1;
    }
  }
  // Records that did not decode are passed too.
  if (i == o.size() && ops.status == commitlog::GetStatus::kFound) {
    op_next_ = std::max(op_next_, ops.next_begin_offset);
  }
  if (j == h.size() && halves.status == commitlog::GetStatus::kFound) {
    half_next_ = std::max(half_next_, halves.next_begin_offset);
  }
  return more_ops || more_halves;
}

void TransactionService::feed_half(const RecordView& r) {
  HalfRecordInfo h;
  h.origin = origin_of(r);
  h.queue_offset = r.queue_offset;
  h.physical_offset = r.physical_offset;
  h.born_ms = r.born_timestamp_ms;
  h.stored_ms = r.store_timestamp_ms;
  h.check_times = check_times_of(r.properties);
  h.immunity_ms = check_immunity_ms_of(r.properties);
  h.producer_group = find_property(r.properties, kPropertyProducerGroup);
  table_->on_half(h);
  if (catching_up_) return;  // the first round after catching up arms the timer
  if (const auto e = table_->find(h.origin)) arm_check(e->due_ms);
}

void TransactionService::feed_op(const RecordView& r) {
  auto op = parse_op(r);
  if (!op.is_ok()) {
    logger("broker")->error("transaction op record skipped: {}", op.status().to_string());
    return;
  }
  table_->on_op(op->origin);
}

void TransactionService::finish_catching_up() {
  if (!repair_done_) {
    repair_torn_commit();
    if (repairing_) return;  // finishes when the repair is appended
  }
  catching_up_ = false;
  catching_up_flag_ = false;
  logger("broker")->info("transaction state rebuilt: {} open, low water {}", table_->size(),
                         table_->low_water());
  // Scripts and tests wait for this before they end transactions: until now END answers
  // SYSTEM_BUSY.
  announce("transactions ready: " + std::to_string(table_->size()) + " open");
  check_round();
}

// A failover may leave a promoted slave's log ending inside a commit: its op record is there, its
// message is not (HA copies bytes, not batches). The op's TRAN_HALF_PHYSICAL_OFFSET names the half
// whose message it committed: append it now, before anything else.
void TransactionService::repair_torn_commit() {
  repair_done_ = true;
  commitlog::MessageStore& store = *ctx_.store;
  const uint64_t op_end = store.max_queue_offset(kTransOpTopic, 0);
  if (op_end == 0 || op_end <= store.min_queue_offset(kTransOpTopic, 0)) return;
  const auto last = store.get_messages(kTransOpTopic, 0, op_end - 1, 1, kTxnReadBytes);
  const std::vector<RecordView> records = decoded_records(last);
  if (records.empty()) return;
  const RecordView& r = records.front();
  if (r.physical_offset + r.total_size != repair_log_end_) return;  // not the log's last record
  auto op = parse_op(r);
  if (!op.is_ok() || op->end == TransactionEnd::kRollback) return;
  auto half = read_half(op->half_physical_offset, replication_.read_bound());
  if (!half.is_ok()) {
    logger("broker")->error("torn commit of transaction {} not repaired: {}", op->origin,
                            half.status().to_string());
    return;
  }
  const bool discard = op->end == TransactionEnd::kDiscard;
  auto batch = std::make_shared<Batch>();
  batch->halves.push_back(*half);
  Message m = committed_message_of((*half)->record, op->origin, discard, batch->more());
  if (discard) {
    (void)ensure_topic(ctx_, kTransCheckMaxTimeTopic, 1);
  } else {
    ensure_delivery_topic(ctx_, m.topic, m.queue_id);
  }
  batch->msgs.push_back(m);
  repairing_ = true;
  repair_done_ = false;
  const uint64_t origin = op->origin;
  logger("broker")->warn(
      "repairing transaction {}: the log ends with its {} op but not its message", origin,
      transaction_end_name(op->end));
  std::vector<Message> msgs = batch->msgs;
  replication_.append(
      std::move(msgs), batch, [] {},
      [this, origin, term = term_](AppendOutcome out) {
        on_strand_in_term(term, [this, origin, out = std::move(out)] {
          repairing_ = false;
          if (out.status.is_ok() || !out.results.empty()) {  // stored: not to be appended twice
            repair_done_ = true;
            logger("broker")->info("transaction {} repaired", origin);
            follow();
          } else {
            logger("broker")->error("transaction {} repair failed ({}): retried", origin,
                                    out.status.to_string());
            arm_check(txn_now_ms() + kCatchUpRecheckMs);
          }
        });
      });
}

void TransactionService::on_strand_in_term(uint64_t term, std::function<void()> fn) {
  asio::post(strand_, [this, term, fn = std::move(fn)] {
    if (!stopped_ && term == term_ && table_) fn();
  });
}

Result<std::shared_ptr<TransactionService::Held>> TransactionService::read_half(
    uint64_t at, uint64_t bound) const {
  const std::string where =
      "no half message at offset " + std::to_string(at) + " on broker " + ctx_.config.broker_name;
  if (at >= bound) return Status::not_found(where);
  const uint32_t max_bytes = ctx_.config.store.max_message_size + (64u << 10);
  auto view = ctx_.store->commit_log().read(at, max_bytes);
  if (!view.is_ok()) return Status::not_found(where + " (" + view.status().message() + ")");
  const auto d = record::decode(view->data, view->size, /*verify_crc=*/true);
  if (d.outcome != record::Outcome::kRecord) {
    return Status::not_found(where + " (" + d.reason + ")");
  }
  if (d.record.topic != kTransHalfTopic) {
    return Status::not_found(where + " (a record of topic " + std::string(d.record.topic) + ")");
  }
  auto held = std::make_shared<Held>();
  held->record = d.record;  // views into the mapped segment the ReadView keeps
  held->view = std::move(view).value();
  return held;
}

void TransactionService::end_transaction(const ConnectionPtr& conn, RemotingCommand req) {
  if (req.ext<protocol::EndTransactionRequestT>() == nullptr) {
    return reply(conn, req, ResponseCode::BAD_REQUEST, "END_TRANSACTION lacks its header");
  }
  if (Status s = check_accepts_writes(ctx_); !s.is_ok()) {
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE, s.message());
  }
  asio::post(strand_, [this, conn, req = std::move(req)]() mutable { end(conn, std::move(req)); });
}

void TransactionService::end(const ConnectionPtr& conn, RemotingCommand req) {
  const protocol::EndTransactionRequestT& ext = *req.ext<protocol::EndTransactionRequestT>();
  auto log = logger("broker");
  if (!table_ || catching_up_) {
    return reply(conn, req, ResponseCode::SYSTEM_BUSY, "transaction state is catching up");
  }
  auto half = ext.commit_log_offset < 0
                  ? Result<std::shared_ptr<Held>>(Status::not_found("negative commit_log_offset"))
                  // Up to the log's end, not the read bound: a SYNC_MASTER answers a send once
                  // a slave has it, and its read bound may move a moment later. Nothing is
                  // decided before the table has read the half (below), which the bound orders.
                  : read_half(static_cast<uint64_t>(ext.commit_log_offset),
                              ctx_.store->commit_log().max_offset());
  if (!half.is_ok()) {
    log->warn("END_TRANSACTION from {} (group {}): {}", conn->remote_address(), ext.producer_group,
              half.status().message());
    return reply(conn, req, ResponseCode::SYSTEM_ERROR, half.status().message());
  }
  const RecordView& r = (*half)->record;
  std::string refusal;
  if (ext.tran_state_table_offset < 0 ||
      r.queue_offset != static_cast<uint64_t>(ext.tran_state_table_offset)) {
    refusal = "the half message at offset " + std::to_string(ext.commit_log_offset) +
              " has queue offset " + std::to_string(r.queue_offset) + ", not " +
              std::to_string(ext.tran_state_table_offset);
  } else if (find_property(r.properties, kPropertyProducerGroup) != ext.producer_group) {
    refusal = "the half message at offset " + std::to_string(ext.commit_log_offset) +
              " belongs to producer group '" +
              std::string(find_property(r.properties, kPropertyProducerGroup)) + "', not '" +
              ext.producer_group + "'";
  } else if (ext.commit_or_rollback != protocol::TransactionOutcome::UNKNOWN &&
             ext.commit_or_rollback != protocol::TransactionOutcome::COMMIT &&
             ext.commit_or_rollback != protocol::TransactionOutcome::ROLLBACK) {
    refusal = "commit_or_rollback " + std::to_string(static_cast<int>(ext.commit_or_rollback)) +
              " is not UNKNOWN (0), COMMIT (8) or ROLLBACK (12)";
  }
  if (!refusal.empty()) {
    log->warn("END_TRANSACTION from {} refused: {}", conn->remote_address(), refusal);
    return reply(conn, req, ResponseCode::TRANSACTION_FAILED, refusal);
  }
  if (r.queue_offset >= half_next_) follow();
  if (r.queue_offset >= half_next_) {
    // In the log but not indexed yet, so not in the table: decide once the table has it.
    if (waiting_ends_.size() >= kMaxWaitingEnds) {
      return reply(conn, req, ResponseCode::SYSTEM_BUSY, "transaction state is catching up");
    }
    waiting_ends_.emplace_back(conn, std::move(req));
    return;
  }
  const uint64_t origin = origin_of(r);
  if (!table_->is_open(origin)) {
    return reply(conn, req, ResponseCode::SUCCESS, "transaction already ended");
  }
  if (table_->in_flight(origin) == InFlight::kEnd) {
    return reply(conn, req, ResponseCode::SYSTEM_BUSY,
                 "transaction " + std::to_string(origin) + " is being ended");
  }
  if (ext.commit_or_rollback == protocol::TransactionOutcome::UNKNOWN) {
    return reply(conn, req, ResponseCode::SUCCESS);  // RocketMQ: wait for the check
  }
  const bool commit = ext.commit_or_rollback == protocol::TransactionOutcome::COMMIT;
  auto batch = std::make_shared<Batch>();
  batch->halves.push_back(*half);
  Message op = op_message(
      {origin, commit ? TransactionEnd::kCommit : TransactionEnd::kRollback, r.physical_offset},
      batch->more());
  op.born_timestamp_ms = txn_now_ms();
  op.born_host = ctx_.store_host;
  batch->msgs.push_back(op);  // the op first: a torn batch keeps it, and the repair adds the rest
  if (commit) {
    Message m = committed_message_of(r, origin, /*to_check_max=*/false, batch->more());
    ensure_delivery_topic(ctx_, m.topic, m.queue_id);
    batch->msgs.push_back(m);
  }
  table_->mark_in_flight(origin, InFlight::kEnd);  // over a check in flight: that is no decision
  std::vector<Message> msgs = batch->msgs;
  append_and_reply(ctx_, deadlines_, conn, std::move(req), std::move(msgs), batch,
                   [this, origin, term = term_](const AppendOutcome& out) {
                     settle_after_end(term, origin, out);
                   });
}

// Runs before the END's answer goes out, so an END the producer sends after that answer finds
// the transaction ended (the strand runs in order), not "being ended" until the op's arrival.
void TransactionService::settle_after_end(uint64_t term, uint64_t origin,
                                          const AppendOutcome& out) {
  on_strand_in_term(term, [this, origin, ok = out.status.is_ok(), stored = !out.results.empty()] {
    if (ok) {
      table_->on_op(origin);  // as safe as the mode makes it: the op's own arrival is ignored
    } else if (!stored) {
      table_->clear_in_flight(origin, InFlight::kEnd);  // nothing stored: it may be sent again
    }  // else stored, not known replicated: the op's arrival ends it, or a failover decides
  });
}

void TransactionService::open_transactions(const ConnectionPtr& conn, RemotingCommand req) {
  if (!replication_.is_master()) {
    const std::string master = replication_.master_address();
    return reply(conn, req, ResponseCode::SERVICE_NOT_AVAILABLE,
                 "open transactions are kept by the master" +
                     (master.empty() ? std::string(", not known now") : " " + master));
  }
  asio::post(strand_, [this, conn, req = std::move(req)]() mutable { list(conn, std::move(req)); });
}

void TransactionService::list(const ConnectionPtr& conn, RemotingCommand req) {
  if (!table_ || catching_up_) {
    return reply(conn, req, ResponseCode::SYSTEM_BUSY, "transaction state is catching up");
  }
  std::string group;
  int32_t limit = 1000;
  if (const auto* ext = req.ext<protocol::OpenTransactionsRequestT>()) {
    group = ext->producer_group;
    limit = ext->limit;
  }
  limit = std::clamp(limit, 0, kMaxListed);
  uint64_t total = 0;
  const std::vector<OpenEntry> open = table_->list(group, static_cast<size_t>(limit), total);
  protocol::OpenTransactionListT answer;
  answer.total = static_cast<int64_t>(total);
  const int64_t now = txn_now_ms();
  for (const OpenEntry& e : open) {
    auto t = std::make_unique<protocol::OpenTransactionT>();
    t->producer_group = std::string(e.producer_group);
    t->half_offset = static_cast<int64_t>(e.origin);
    t->commit_log_offset = static_cast<int64_t>(e.physical_offset);
    t->age_ms = std::max<int64_t>(0, now - e.born_ms);
    t->check_times = static_cast<int32_t>(e.check_times);
    if (auto half = read_half(e.physical_offset, replication_.read_bound()); half.is_ok()) {
      const std::string_view props = (*half)->record.properties;
      t->transaction_id = std::string(find_property(props, kPropertyUniqKey));
      t->topic = std::string(find_property(props, kPropertyRealTopic));
      t->queue_id = static_cast<int32_t>(real_queue_id_of(props));
    }
    answer.entries.push_back(std::move(t));
  }
  auto resp = RemotingCommand::response_to(req, ResponseCode::SUCCESS);
  resp.set_ext(std::move(answer));
  conn->send(std::move(resp));
}

// One round of checks: up to kCheckBatch due transactions, each marked in flight; those checked
// transactionCheckMax times are discarded, the others get a copy appended and then a check sent.
// The next round waits for both appends and for the pace (kMaxChecksPerSecond).
void TransactionService::check_round() {
  if (!table_ || catching_up_ || checking_) return;
  const int64_t now = txn_now_ms();
  const auto scan_began = std::chrono::steady_clock::now();
  const DueScan scan = table_->due(now, kCheckBatch, next_check_origin_);
  // A scan that finds few due walks the whole table (42 ms for a million open transactions,
  // docs/benchmarks.md): the next round waits ten times as long, so scans take at most a tenth
  // of the strand however often transactions fall due.
  const int64_t scan_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - scan_began)
                              .count();
  not_before_ms_ = now + kScanCostFactor * scan_ms;
  if (scan.due.empty()) {
    commit_low_water();
    arm_check(std::max(not_before_ms_,
                       std::min(now + timing_.check_interval_ms,
                                scan.next_due_ms.value_or(std::numeric_limits<int64_t>::max()))));
    return;
  }
  auto checks = std::make_shared<Batch>();
  auto discards = std::make_shared<Batch>();
  discards->kind = InFlight::kEnd;
  // A batch lands in one CommitLog segment: at most a quarter of one, and 1 MiB.
  const uint64_t max_bytes =
      std::min<uint64_t>(kMaxCheckBatchBytes, ctx_.config.store.mapped_file_size_commit_log / 4);
  uint64_t bytes[2] = {0, 0};
  size_t taken = 0;
  uint64_t last_taken = 0;
  for (const OpenEntry& e : scan.due) {
    auto half = read_half(e.physical_offset, replication_.read_bound());
    const bool discard = !half.is_ok() || e.check_times >= ctx_.config.transaction_check_max;
    Batch& b = discard ? *discards : *checks;
    const uint64_t size = kOpRecordBytes + (half.is_ok() ? (*half)->record.total_size : 0);
    if (!b.msgs.empty() && bytes[discard ? 1 : 0] + size > max_bytes) break;  // the rest next round
    if (!table_->mark_in_flight(e.origin, b.kind)) continue;
    bytes[discard ? 1 : 0] += size;
    ++taken;
    last_taken = e.origin;
    b.origins.push_back(e.origin);
    if (!half.is_ok()) {  // retention took it: nothing to check or commit any more
      logger("broker")->warn("transaction {} of producer group {} discarded: {}", e.origin,
                             e.producer_group, half.status().message());
    } else {
      b.halves.push_back(*half);
    }
    if (discard) {
      Message op = op_message({e.origin, TransactionEnd::kDiscard, e.physical_offset}, b.more());
      op.born_timestamp_ms = now;
      op.born_host = ctx_.store_host;
      b.msgs.push_back(op);
      if (!half.is_ok()) continue;
      const RecordView& r = (*half)->record;
      logger("broker")->warn(
          "transaction {} of producer group {} to topic {} unanswered after {} checks: moved to "
          "{}",
          find_property(r.properties, kPropertyUniqKey), e.producer_group,
          find_property(r.properties, kPropertyRealTopic), e.check_times, kTransCheckMaxTimeTopic);
      b.msgs.push_back(committed_message_of(r, e.origin, /*to_check_max=*/true, b.more()));
    } else {
      b.msgs.push_back(check_copy_of((*half)->record, e.origin, b.more()));
      b.groups.emplace_back(e.producer_group);
    }
  }
  // The next round goes on after the last one taken (wrapping), so a backlog larger than a
  // round is checked in turn, not its oldest part over and over.
  next_check_origin_ =
      taken < scan.due.size() || scan.due.size() == kCheckBatch ? last_taken + 1 : 0;
  if (!discards->msgs.empty()) (void)ensure_topic(ctx_, kTransCheckMaxTimeTopic, 1);
  not_before_ms_ = std::max(not_before_ms_, now + static_cast<int64_t>(taken) * 1000 /
                                                      static_cast<int64_t>(kMaxChecksPerSecond));
  checking_ = true;
  auto pending = std::make_shared<int>(0);
  for (const auto& b : {checks, discards}) {
    if (b->msgs.empty()) continue;
    ++*pending;
    std::vector<Message> msgs = b->msgs;
    replication_.append(
        std::move(msgs), b, [] {},
        [this, b, pending, term = term_](AppendOutcome out) {
          on_strand_in_term(term, [this, b, pending, out = std::move(out)] {
            checks_appended(b, out);
            if (--*pending > 0) return;
            checking_ = false;
            commit_low_water();
            arm_check(not_before_ms_);
          });
        });
  }
  if (*pending == 0) {
    checking_ = false;
    arm_check(not_before_ms_);
  }
}

void TransactionService::checks_appended(const std::shared_ptr<Batch>& b,
                                         const AppendOutcome& out) {
  if (out.results.size() != b->msgs.size()) {  // refused: due again at the next round
    logger("broker")->warn("transaction checks not appended: {}", out.status.to_string());
    for (uint64_t origin : b->origins)
      table_->clear_in_flight(origin, b->kind);
    return;
  }
  // The copies are in the log (their arrival clears the marks): ask the producers.
  for (size_t i = 0; i < b->groups.size(); ++i)
    send_check(*b, i, out.results[i]);
}

// CHECK_TRANSACTION_STATE to a connected producer of the group, oneway, the copy as a CommitLog
// record in its real topic and queue as the body. No producer connected: the check still counts
// (its copy is in the log), as RocketMQ counts it.
void TransactionService::send_check(const Batch& b, size_t i, const commitlog::AppendResult& r) {
  const Message& copy = b.msgs[i];
  const std::string& group = b.groups[i];
  const std::string_view id = find_property(copy.properties, kPropertyUniqKey);
  auto conn = ctx_.clients->producer_connection(group);
  if (!conn) {
    logger("broker")->debug("no producer of group {} connected to check transaction {}", group, id);
    return;
  }
  Message shown = copy;
  shown.topic = find_property(copy.properties, kPropertyRealTopic);
  shown.queue_id = real_queue_id_of(copy.properties);
  std::string body(record::encoded_size(shown), '\0');
  record::encode(shown, r.queue_offset, r.physical_offset, r.store_timestamp_ms, ctx_.store_host,
                 reinterpret_cast<uint8_t*>(body.data()));
  protocol::CheckTransactionStateRequestT q;
  q.producer_group = group;
  q.tran_state_table_offset = static_cast<int64_t>(r.queue_offset);
  q.commit_log_offset = static_cast<int64_t>(r.physical_offset);
  q.msg_id = std::string(id);
  q.transaction_id = std::string(id);
  q.offset_msg_id = make_msg_id(ctx_.store_host, r.physical_offset);
  auto cmd = RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE);
  cmd.set_ext(std::move(q));
  cmd.body.owned = std::move(body);
  conn->invoke_oneway(std::move(cmd));
}

void TransactionService::arm_check(int64_t at_ms) {
  if (check_at_ms_ && *check_at_ms_ <= at_ms) return;
  check_at_ms_ = at_ms;
  check_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, at_ms - txn_now_ms())));
  check_timer_.async_wait(asio::bind_executor(strand_, [this, term = term_](std::error_code ec) {
    if (ec || stopped_ || term != term_) return;
    check_at_ms_.reset();
    if (!table_) return;
    const int64_t now = txn_now_ms();
    if (catching_up_) {
      follow();
      if (catching_up_) arm_check(now + kCatchUpRecheckMs);
      return;
    }
    if (now < not_before_ms_) return arm_check(not_before_ms_);
    check_round();
  }));
}

// H, the lowest open origin, as the consumer offset of CID_SYS_RMQ_TRANS on the half queue: the
// metadata log carries it to the replicas, and a new master rebuilds from it.
void TransactionService::commit_low_water() {
  if (!table_) return;
  const uint64_t low = table_->low_water();
  if (low <= committed_low_) return;
  if (Status s = ctx_.offsets->commit(kTransGroup, kTransHalfTopic, 0, low); s.is_ok()) {
    committed_low_ = low;
  }
}

}  // namespace comet::broker
