// A DLedger group of real comet-broker processes, for process tests: the members' peer list on
// free loopback ports, the settings that make a broker a member, and who leads.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "integration/process.h"
#include "unit/test_util.h"

namespace comet::testing {

// Member i of a group is "n<i>".
inline std::string dledger_member_id(int i) {
  return "n" + std::to_string(i);
}

// The dLegerPeers value of `members` members on free loopback ports; empty if none was free.
inline std::string dledger_peers(int members) {
  std::string peers;
  for (int i = 0; i < members; ++i) {
    const uint16_t port = free_loopback_port();
    if (port == 0) return {};
    peers += (i ? ";" : "") + dledger_member_id(i) + "-127.0.0.1:" + std::to_string(port);
  }
  return peers;
}

// The settings that make a broker member `i` of DLedger group `group`.
inline std::vector<std::string> dledger_member_settings(const std::string& group,
                                                        const std::string& peers, int i) {
  return {"enableDLegerCommitLog=true", "dLegerGroup=" + group, "dLegerPeers=" + peers,
          "dLegerSelfId=" + dledger_member_id(i)};
}

// A leadership a member announces on its stdout ("... is led by n<k> in term <t>"): member -1
// when none came in time.
struct Leadership {
  int member = -1;
  int64_t term = 0;
};
inline Leadership next_leadership_announced(
    ChildProcess* member, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto line = member->wait_for_line("is led by", timeout);
  if (!line.is_ok()) return {};
  const size_t at = line->find("is led by n");
  if (at == std::string::npos) return {};
  Leadership l;
  l.member = std::stoi(line->substr(at + 11));
  const size_t term_at = line->find(" in term ", at);
  if (term_at != std::string::npos) l.term = std::stoll(line->substr(term_at + 9));
  return l;
}

// The next leader `member` announces: k of n<k>, or -1.
inline int next_leader_announced(ChildProcess* member,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  return next_leadership_announced(member, timeout).member;
}

}  // namespace comet::testing
