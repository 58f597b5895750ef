// What every processor that stores messages for a client shares (SEND_MESSAGE,
// CONSUMER_SEND_MSG_BACK): the append through the replication seam, the deadline it may wait
// for, and the answer RocketMQ gives for each outcome.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker_context.h"
#include "broker/replication.h"
#include "broker/send_deadlines.h"

namespace comet::broker {

// OK when this broker takes client writes now; else kUnavailable saying why: it is shutting
// down, not the master (or leader) confirmed for its epoch, or its brokerPermission has no write.
Status check_accepts_writes(const BrokerContext& ctx);

// Appends `msgs` (whose views `held` keeps valid) as one batch through ctx.replication and
// answers `req` once the append is done: SUCCESS with a SendMessageResponse naming `queue_id`
// and the stored position, or the mapped failure (SLAVE_NOT_AVAILABLE, FLUSH_SLAVE_TIMEOUT,
// SERVICE_NOT_AVAILABLE, ...). A send that waits for a flush, a slave or a quorum is timed out
// by `deadlines` after syncFlushTimeout. A half message's answer carries its `transaction_id`.
void append_and_answer(BrokerContext& ctx, SendDeadlines& deadlines, const ConnectionPtr& conn,
                       RemotingCommand req, uint32_t queue_id, std::vector<Message> msgs,
                       std::shared_ptr<const void> held, std::string transaction_id = {});

// The same for an append that answers a request other than a send (END_TRANSACTION): the same
// codes, remarks and deadline, no SendMessageResponse. `then` sees the outcome first, on the
// thread that completes the append.
void append_and_reply(BrokerContext& ctx, SendDeadlines& deadlines, const ConnectionPtr& conn,
                      RemotingCommand req, std::vector<Message> msgs,
                      std::shared_ptr<const void> held,
                      std::function<void(const AppendOutcome&)> then);

}  // namespace comet::broker
