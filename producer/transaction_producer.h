// TransactionProducer: RocketMQ's TransactionMQProducer for comet. A transactional message is
// sent as a half message (TRAN_MSG=true, PGROUP=the group), which the broker keeps invisible
// until the transaction ends (broker/transaction_service.h):
//   1. send_in_transaction(msg, arg) sends the half message (a synchronous send, with the
//      producer's retries), then runs listener.execute_local_transaction(msg, arg) on the
//      calling thread, then tells the broker that stored the half message the outcome
//      (END_TRANSACTION): commit delivers the message, rollback drops it, unknown leaves it to a
//      check. A failed end is logged, not retried: the broker's check settles the transaction.
//   2. A half message left open longer than the broker's transactionTimeOut is checked: the
//      broker sends CHECK_TRANSACTION_STATE to a connected producer of the group (any of them:
//      the one that sent it may be gone), which runs listener.check_local_transaction(msg) on a
//      client callback thread, never an I/O thread, and answers with END_TRANSACTION.
// A transactional message cannot be delayed, a timer message or part of a batch: such a send is
// refused before it is sent (RocketMQ's client clears the delay; comet says so instead).
#pragma once

#include <any>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "consumer/message_ext.h"
#include "producer/producer.h"

namespace comet::client {

// RocketMQ's LocalTransactionState (UNKNOW is RocketMQ's spelling).
enum class LocalTransactionState { kCommitMessage, kRollbackMessage, kUnknow };
std::string_view local_transaction_state_name(LocalTransactionState state);

class TransactionListener {
 public:
  virtual ~TransactionListener() = default;
  // Runs the local transaction of the half message just stored; `arg` is send_in_transaction's.
  virtual LocalTransactionState execute_local_transaction(const ProducerMessage& msg,
                                                          const std::any& arg) = 0;
  // The broker asks what became of a transaction: `msg` is the half message as stored, its real
  // topic and queue restored, msg_id its transaction id (UNIQ_KEY).
  virtual LocalTransactionState check_local_transaction(const MessageExt& msg) = 0;
};

struct TransactionSendResult {
  SendResult send;             // where the half message was stored
  std::string transaction_id;  // the half message's UNIQ_KEY
  LocalTransactionState local_state = LocalTransactionState::kUnknow;
  // The broker's answer to the END_TRANSACTION that told it local_state: ready once it came, ok
  // on SUCCESS, else why not (logged, not retried: the broker's check settles the transaction).
  // send_in_transaction does not wait for it, as RocketMQ sends its END oneway: the next
  // transaction's half message goes out while this END is under way.
  std::shared_future<Status> end;
};

class TransactionProducer {
 public:
  TransactionProducer(std::string group, ClientConfig config,
                      std::shared_ptr<TransactionListener> listener);
  ~TransactionProducer();
  TransactionProducer(const TransactionProducer&) = delete;
  TransactionProducer& operator=(const TransactionProducer&) = delete;

  // Starts the producer and registers the group's check handler with the client. A second
  // producer of the same group in one client (client_id) is refused, kAlreadyExists, as for
  // Producer; kInvalidArgument without a listener.
  Status start();
  void shutdown();

  // kInvalidArgument for a delayed, timer or empty-topic message; the send's error when the half
  // message could not be stored (execute_local_transaction does not run then).
  Result<TransactionSendResult> send_in_transaction(const ProducerMessage& msg,
                                                    const std::any& arg = {});

  // The underlying producer (its settings: timeouts, retries).
  Producer& producer();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace comet::client
