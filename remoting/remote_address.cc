#include "remoting/remote_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace comet::remoting {

namespace {

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_on(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t begin = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(trim_spaces(s.substr(begin, i - begin)));
      begin = i + 1;
    }
  }
  return parts;
}

// One part of an address: decimal 0-255 (IPv4) or hex 0-ffff (IPv6), all digits.
std::optional<uint16_t> parse_part(std::string_view s, bool v4) {
  if (s.empty() || s.size() > (v4 ? 3u : 4u)) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, v4 ? 10 : 16);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  if (value > (v4 ? 255u : 0xffffu)) return std::nullopt;
  return static_cast<uint16_t>(value);
}

Status bad_pattern(std::string_view whole, std::string_view why) {
  return Status::invalid_argument("remote address pattern '" + std::string(whole) + "' " +
                                  std::string(why));
}

}  // namespace

std::optional<PeerAddress> parse_peer_address(std::string_view text) {
  text = trim_spaces(text);
  if (text.empty() || text.size() > 64) return std::nullopt;
  const std::string s(text);
  PeerAddress out;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    const auto* b = reinterpret_cast<const uint8_t*>(&v4.s_addr);
    out.v4 = true;
    for (int i = 0; i < 4; ++i)
      out.groups[4 + i] = b[i];
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
  const uint8_t* b = v6.s6_addr;
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMappedPrefix, kMappedPrefix + 12, b)) {
    out.v4 = true;
    for (int i = 0; i < 4; ++i)
      out.groups[4 + i] = b[12 + i];
    return out;
  }
  for (int i = 0; i < 8; ++i)
    out.groups[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
  return out;
}

std::string_view host_of(std::string_view remote_address) {
  const size_t colon = remote_address.rfind(':');
  if (colon == std::string_view::npos) return remote_address;
  std::string_view host = remote_address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

Result<RemoteAddressPattern::Ranges> RemoteAddressPattern::parse_ranges(std::string_view text,
                                                                        std::string_view whole) {
  Ranges r;
  const bool has_wildcard = text.find_first_of("*-") != std::string_view::npos;
  if (!has_wildcard) {
    const auto peer = parse_peer_address(text);
    if (!peer) return bad_pattern(whole, "names no IPv4 or IPv6 address");
    r.v4 = peer->v4;
    r.lo = peer->groups;
    r.hi = peer->groups;
    return r;
  }
  // A range form: exact parts, then one `*` or `a-b`, then only `*` (missing ones are `*`).
  r.v4 = text.find(':') == std::string_view::npos;
  const auto parts = split_on(text, r.v4 ? '.' : ':');
  const size_t count = r.v4 ? 4 : 8;
  if (r.v4 ? parts.size() != 4 : parts.size() > 8) {
    return bad_pattern(whole, r.v4 ? "needs four parts" : "has more than eight groups");
  }
  bool wild = false;
  for (size_t i = 0; i < count; ++i) {
    const size_t at = (r.v4 ? 4 : 0) + i;  // IPv4 parts are groups 4..7 (0..3 stay 0)
    const uint16_t max = r.v4 ? 255 : 0xffff;
    const std::string_view part = i < parts.size() ? parts[i] : "*";
    if (part == "*") {
      r.lo[at] = 0;
      r.hi[at] = max;
      wild = true;
      continue;
    }
    if (wild) return bad_pattern(whole, "has a fixed part after a wildcard one");
    const size_t dash = part.find('-');
    if (dash == std::string_view::npos) {
      const auto v = parse_part(part, r.v4);
      if (!v) return bad_pattern(whole, "has a bad part '" + std::string(part) + "'");
      r.lo[at] = r.hi[at] = *v;
      continue;
    }
    const auto lo = parse_part(part.substr(0, dash), r.v4);
    const auto hi = parse_part(part.substr(dash + 1), r.v4);
    if (!lo || !hi || *lo > *hi) {
      return bad_pattern(whole, "has a bad range '" + std::string(part) + "'");
    }
    r.lo[at] = *lo;
    r.hi[at] = *hi;
    wild = true;
  }
  return r;
}

Result<RemoteAddressPattern> RemoteAddressPattern::parse(std::string_view text) {
  RemoteAddressPattern p;
  const std::string_view t = trim_spaces(text);
  p.text_ = std::string(t);
  if (t.empty()) return p;
  if (t == "*" || t == "*.*.*.*" || t == "*:*:*:*:*:*:*:*") {
    p.any_ = true;
    return p;
  }
  if (t.back() == '}') {
    const size_t open = t.find('{');
    const std::string_view head = t.substr(0, open == std::string_view::npos ? 0 : open);
    const bool v4 = t.find(':') == std::string_view::npos;
    if (open == std::string_view::npos || head.empty() || head.back() != (v4 ? '.' : ':')) {
      return bad_pattern(t, "lists values ({...}) other than at its last part");
    }
    for (std::string_view value : split_on(t.substr(open + 1, t.size() - open - 2), ',')) {
      COMET_ASSIGN_OR_RETURN(Ranges r, parse_ranges(std::string(head) + std::string(value), t));
      p.alternatives_.push_back(r);
    }
    return p;
  }
  if (t.find(',') != std::string_view::npos) {
    for (std::string_view one : split_on(t, ',')) {
      if (one.find_first_of("*-") != std::string_view::npos) {
        return bad_pattern(t, "mixes a list with a range");
      }
      COMET_ASSIGN_OR_RETURN(Ranges r, parse_ranges(one, t));
      p.alternatives_.push_back(r);
    }
    return p;
  }
  COMET_ASSIGN_OR_RETURN(Ranges r, parse_ranges(t, t));
  p.alternatives_.push_back(r);
  return p;
}

bool RemoteAddressPattern::matches(const PeerAddress& peer) const {
  if (any_) return true;
  for (const Ranges& r : alternatives_) {
    if (r.v4 != peer.v4) continue;
    bool inside = true;
    for (size_t i = 0; i < 8 && inside; ++i) {
      inside = peer.groups[i] >= r.lo[i] && peer.groups[i] <= r.hi[i];
    }
    if (inside) return true;
  }
  return false;
}

}  // namespace comet::remoting
