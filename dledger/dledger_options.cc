#include "dledger/dledger_options.h"

#include <set>

namespace comet::dledger {

Result<std::vector<DLedgerPeer>> DLedgerOptions::parse_peers(std::string_view text) {
  std::vector<DLedgerPeer> peers;
  std::set<std::string> ids;
  while (!text.empty()) {
    const size_t semi = text.find(';');
    std::string_view item = text.substr(0, semi);
    text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item.empty()) continue;
    const size_t dash = item.find('-');
    const size_t colon = item.rfind(':');
    if (dash == 0 || dash == std::string_view::npos || colon == std::string_view::npos ||
        colon < dash || colon + 1 == item.size()) {
      return Status::invalid_argument("dLegerPeers: '" + std::string(item) +
                                      "' is not <id>-<host>:<port>");
    }
    const std::string port(item.substr(colon + 1));
    if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
        std::stoul(port) == 0 || std::stoul(port) > 65535) {
      return Status::invalid_argument("dLegerPeers: bad port in '" + std::string(item) + "'");
    }
    DLedgerPeer p{std::string(item.substr(0, dash)), std::string(item.substr(dash + 1))};
    if (!ids.insert(p.id).second) {
      return Status::invalid_argument("dLegerPeers: member id '" + p.id + "' appears twice");
    }
    peers.push_back(std::move(p));
  }
  if (peers.empty()) return Status::invalid_argument("dLegerPeers: empty");
  return peers;
}

int DLedgerOptions::self_index() const {
  for (size_t i = 0; i < peers.size(); ++i) {
    if (peers[i].id == self_id) return static_cast<int>(i);
  }
  return -1;
}

const DLedgerPeer* DLedgerOptions::find(std::string_view id) const {
  for (const auto& p : peers) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

Status DLedgerOptions::validate() const {
  if (group.empty()) return Status::invalid_argument("dLegerGroup: empty");
  if (peers.empty()) return Status::invalid_argument("dLegerPeers: empty");
  if (self_index() < 0) {
    return Status::invalid_argument("dLegerSelfId: '" + self_id + "' is not one of dLegerPeers");
  }
  if (tick_ms == 0 || heartbeat_interval_ms < tick_ms || election_timeout_ms < 2 * tick_ms ||
      heartbeat_interval_ms >= election_timeout_ms) {
    return Status::invalid_argument(
        "dLegerElectionTimeoutMs: DLedger timing needs 0 < dLegerTickMs <= "
        "dLegerHeartbeatIntervalMs < "
        "dLegerElectionTimeoutMs (and the timeout at least two ticks)");
  }
  if (max_inflight == 0 || max_batch_bytes == 0) {
    return Status::invalid_argument("dLegerMaxInflight, dLegerMaxBatchBytes: must be positive");
  }
  return Status::ok();
}

}  // namespace comet::dledger
