// The wire form of Raft messages between the members of a DLedger group: a oneway
// DLEDGER_RAFT frame whose header (RaftMessage) carries the message's fields and each entry's
// term, index and size, and whose body carries the entries' data back to back. The encoded
// command's body points into the entries moved out of `m` (no copy; it keeps them alive).
#pragma once

#include <string>

#include "dledger/raft_node.h"
#include "remoting/remoting_command.h"

namespace comet::dledger {

remoting::RemotingCommand encode_raft_message(const std::string& group, Message m);
// Checks the group, the kind, the member ids (in [0, members)) and that the entry sizes add up
// to the body.
Result<Message> decode_raft_message(const std::string& group, int members,
                                    const remoting::RemotingCommand& cmd);

}  // namespace comet::dledger
