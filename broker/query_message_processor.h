// Finding stored messages (issue 21): QUERY_MESSAGE (messages of a topic by one of their KEYS, or
// by UNIQ_KEY, from the store's index) and VIEW_MESSAGE_BY_ID (the record at a CommitLog offset,
// what an offsetMsgId names). Both answer with the raw records as a pull does, straight from the
// mapped CommitLog, so the client decodes (and CRC-checks) them with the pull's decoder. Reads:
// masters, slaves and DLedger followers serve them alike, each from its own log and index, and
// only what consumers may read (below the replication's read bound).
#pragma once

#include "broker/broker_context.h"

namespace comet::broker {

class QueryMessageProcessor {
 public:
  explicit QueryMessageProcessor(BrokerContext& ctx) : ctx_(ctx) {}
  // QUERY_MESSAGE or VIEW_MESSAGE_BY_ID.
  void process(const ConnectionPtr& conn, RemotingCommand req);

 private:
  void query_message(const ConnectionPtr& conn, const RemotingCommand& req);
  void view_message(const ConnectionPtr& conn, const RemotingCommand& req);
  // A topic this broker has a config or (a replica that has not synced the config yet) a queue of.
  bool topic_known(const std::string& topic) const;

  BrokerContext& ctx_;
};

}  // namespace comet::broker
