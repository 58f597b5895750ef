#include "common/msg_id.h"

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

}  // namespace comet
