// Which peer addresses a whitelist entry of plain_acl.yml names (globalWhiteRemoteAddresses, an
// account's whiteRemoteAddress), in RocketMQ's forms (its RemoteAddressStrategyFactory):
//   (empty)                      nothing
//   *  *.*.*.*  *:*:*:*:*:*:*:*  every address
//   192.168.0.1  ::1             one address (IPv6 in any notation)
//   192.168.0.{1,2,3}            the listed last parts (IPv6: 1050::{a,b} lists the last group)
//   192.168.0.1,10.0.0.2         any of the listed addresses
//   192.168.0.1-10  192.168.*.*  a range or `*` at one part, `*` for every part after it
//   1050:0:0:0:5:600:300c:*      the same for IPv6 groups (hex), written without `::`
// I/O-free; a bad pattern is an error naming it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace comet::remoting {

// An address as 8 groups of 16 bits: IPv4 addresses (and IPv4-mapped IPv6 ones) use the last
// four groups, one octet each, with `v4` set.
struct PeerAddress {
  bool v4 = false;
  std::array<uint16_t, 8> groups{};
  bool operator==(const PeerAddress&) const = default;
};

// "127.0.0.1", "::1", "::ffff:10.0.0.1" (read as IPv4); nullopt when not an address.
std::optional<PeerAddress> parse_peer_address(std::string_view text);
// The host of "host:port" (as Connection::remote_address() gives it: "::1:5000" is "::1").
std::string_view host_of(std::string_view remote_address);

class RemoteAddressPattern {
 public:
  // Never matches (an account without whiteRemoteAddress).
  RemoteAddressPattern() = default;
  static Result<RemoteAddressPattern> parse(std::string_view text);

  bool matches(const PeerAddress& peer) const;
  bool matches_any() const { return any_; }
  bool empty() const { return !any_ && alternatives_.empty(); }
  const std::string& text() const { return text_; }

 private:
  // Every part (4 for IPv4, 8 for IPv6) within [lo, hi].
  struct Ranges {
    bool v4 = false;
    std::array<uint16_t, 8> lo{};
    std::array<uint16_t, 8> hi{};
  };
  static Result<Ranges> parse_ranges(std::string_view text, std::string_view whole);

  std::string text_;
  bool any_ = false;
  std::vector<Ranges> alternatives_;
};

}  // namespace comet::remoting
