#include "dledger/raft_codec.h"

namespace comet::dledger {

namespace protocol = ::comet::protocol;

remoting::RemotingCommand encode_raft_message(const std::string& group, Message m) {
  protocol::RaftMessageT h;
  h.group = group;
  h.from = m.from;
  h.to = m.to;
  remoting::Body body;
  std::visit(
      [&](auto& p) {
        using T = std::decay_t<decltype(p)>;
        h.term = p.term;
        if constexpr (std::is_same_v<T, VoteRequest>) {
          h.kind = protocol::RaftKind::VOTE;
          h.flag_a = p.pre_vote;
          h.flag_b = p.transfer;
          h.index_a = p.last_index;
          h.index_b = p.last_term;
        } else if constexpr (std::is_same_v<T, VoteResponse>) {
          h.kind = protocol::RaftKind::VOTE_RESPONSE;
          h.flag_a = p.granted;
          h.flag_b = p.pre_vote;
        } else if constexpr (std::is_same_v<T, AppendRequest>) {
          h.kind = protocol::RaftKind::APPEND;
          h.flag_a = p.heartbeat;
          h.index_a = p.prev_index;
          h.index_b = p.prev_term;
          h.index_c = p.commit;
          // The body is the entries' data in place: the frame is written from it.
          auto held = std::make_shared<const std::vector<Entry>>(std::move(p.entries));
          for (const Entry& e : *held) {
            h.entries.emplace_back(e.term, e.index, static_cast<uint32_t>(e.data.size()));
            if (!e.data.empty()) {
              body.views.emplace_back(reinterpret_cast<const uint8_t*>(e.data.data()),
                                      e.data.size());
            }
          }
          body.keepalive = std::move(held);
        } else if constexpr (std::is_same_v<T, AppendResponse>) {
          h.kind = protocol::RaftKind::APPEND_RESPONSE;
          h.flag_a = p.success;
          h.flag_b = p.heartbeat;
          h.index_a = p.match_index;
          h.index_b = p.rejected;
          h.index_c = p.hint;
        } else {
          h.kind = protocol::RaftKind::TIMEOUT_NOW;
        }
      },
      m.payload);
  auto cmd = remoting::RemotingCommand::request(protocol::RequestCode::DLEDGER_RAFT);
  cmd.header.flags |= remoting::kFlagOneway;
  cmd.set_ext(std::move(h));
  cmd.body = std::move(body);
  return cmd;
}

Result<Message> decode_raft_message(const std::string& group, int members,
                                    const remoting::RemotingCommand& cmd) {
  const auto* h = cmd.ext<protocol::RaftMessageT>();
  if (h == nullptr) return Status::invalid_argument("DLEDGER_RAFT lacks its RaftMessage header");
  if (h->group != group) {
    return Status::invalid_argument("message for group '" + h->group + "', this is '" + group +
                                    "'");
  }
  if (h->from < 0 || h->from >= members || h->to < 0 || h->to >= members) {
    return Status::invalid_argument("member ids " + std::to_string(h->from) + " -> " +
                                    std::to_string(h->to) + " outside the group of " +
                                    std::to_string(members));
  }
  Message m;
  m.from = h->from;
  m.to = h->to;
  // A received body is owned; join views only for a command built in this process.
  std::string joined;
  std::string_view body = cmd.body.owned;
  if (!cmd.body.views.empty()) {
    joined = cmd.body.to_string();
    body = joined;
  }
  switch (h->kind) {
    case protocol::RaftKind::VOTE:
      m.payload = VoteRequest{h->term, h->index_a, h->index_b, h->flag_a, h->flag_b};
      break;
    case protocol::RaftKind::VOTE_RESPONSE:
      m.payload = VoteResponse{h->term, h->flag_a, h->flag_b};
      break;
    case protocol::RaftKind::APPEND: {
      AppendRequest r;
      r.term = h->term;
      r.prev_index = h->index_a;
      r.prev_term = h->index_b;
      r.commit = h->index_c;
      r.heartbeat = h->flag_a;
      size_t pos = 0;
      int64_t expected = r.prev_index + 1;
      for (const auto& e : h->entries) {
        if (e.size() > body.size() - pos) {
          return Status::invalid_argument("entry sizes exceed the body of " +
                                          std::to_string(body.size()) + " bytes");
        }
        if (e.index() != expected) {
          return Status::invalid_argument("entry index " + std::to_string(e.index()) + " where " +
                                          std::to_string(expected) + " belongs");
        }
        ++expected;
        r.entries.push_back(Entry{e.term(), e.index(), std::string(body.substr(pos, e.size()))});
        pos += e.size();
      }
      if (pos != body.size()) {
        return Status::invalid_argument(std::to_string(body.size() - pos) +
                                        " body bytes belong to no entry");
      }
      m.payload = std::move(r);
      break;
    }
    case protocol::RaftKind::APPEND_RESPONSE:
      m.payload = AppendResponse{h->term, h->flag_a, h->index_a, h->index_b, h->index_c, h->flag_b};
      break;
    case protocol::RaftKind::TIMEOUT_NOW:
      m.payload = TimeoutNow{h->term};
      break;
    default:
      return Status::invalid_argument("unknown Raft message kind " +
                                      std::to_string(static_cast<int>(h->kind)));
  }
  return m;
}

}  // namespace comet::dledger
