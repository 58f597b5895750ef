#include "common/msg_id.h"

#include <fmt/format.h>

#include <cctype>

namespace comet {

void put_hex(std::string& out, size_t at, uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int i = digits - 1; i >= 0; --i, v >>= 4)
    out[at + static_cast<size_t>(i)] = kHex[v & 0xF];
}

std::string make_msg_id(HostAddress store_host, uint64_t physical_offset) {
  // Without printf's format parsing: the broker makes one for every message it stores.
  std::string id(32, '0');
  put_hex(id, 0, store_host.ipv4, 8);
  put_hex(id, 8, store_host.port, 8);
  put_hex(id, 16, physical_offset, 16);
  return id;
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

Result<MsgIdParts> parse_msg_id(std::string_view id) {
  if (id.size() != kMsgIdLength) {
    return Status::invalid_argument(
        fmt::format("message id '{}' has {} characters; an offsetMsgId has {} hex digits",
                    id.substr(0, 64), id.size(), kMsgIdLength));
  }
  uint64_t fields[2] = {0, 0};  // ip + port, then the offset
  for (size_t i = 0; i < id.size(); ++i) {
    const int d = hex_digit(id[i]);
    if (d < 0) {
      const auto c = static_cast<unsigned char>(id[i]);
      return Status::invalid_argument(fmt::format(
          "message id: character {} of {} ({}) is not a hex digit", i + 1, kMsgIdLength,
          std::isprint(c) ? fmt::format("'{}'", id[i]) : fmt::format("byte 0x{:02X}", c)));
    }
    uint64_t& f = fields[i < 16 ? 0 : 1];
    f = (f << 4) | static_cast<uint64_t>(d);
  }
  MsgIdParts parts;
  parts.store_host.ipv4 = static_cast<uint32_t>(fields[0] >> 32);
  parts.store_host.port = static_cast<uint32_t>(fields[0]);
  parts.physical_offset = fields[1];
  return parts;
}

std::string host_address_string(HostAddress host) {
  return fmt::format("{}.{}.{}.{}:{}", host.ipv4 >> 24, (host.ipv4 >> 16) & 0xFF,
                     (host.ipv4 >> 8) & 0xFF, host.ipv4 & 0xFF, host.port);
}

}  // namespace comet
