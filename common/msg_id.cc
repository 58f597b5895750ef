#include "common/msg_id.h"

namespace comet {

std::string make_msg_id(HostAddress store_host, uint64_t physical_offset) {
  // Without printf's format parsing: the broker makes one for every message it stores.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id(32, '0');
  auto put = [&](size_t at, uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i, v >>= 4)
      id[at + static_cast<size_t>(i)] = kHex[v & 0xF];
  };
  put(0, store_host.ipv4, 8);
  put(8, store_host.port, 8);
  put(16, physical_offset, 16);
  return id;
}

}  // namespace comet
