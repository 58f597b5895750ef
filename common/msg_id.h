// The id of a stored message, as RocketMQ's offset message id: the store host's IPv4 and port and
// the record's CommitLog offset, as 32 upper-case hex digits ("%08X%08X%016X"). The broker answers
// a send with it and clients name a pulled message by it, so both use this one function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/record_codec.h"
#include "common/status.h"

namespace comet {

std::string make_msg_id(HostAddress store_host, uint64_t physical_offset);

inline constexpr size_t kMsgIdLength = 32;

struct MsgIdParts {
  HostAddress store_host;
  uint64_t physical_offset = 0;
};
// What an offsetMsgId names. kInvalidArgument naming what is wrong: its length, or the first
// character that is not a hex digit and where it is. (Upper and lower case both read, as
// RocketMQ's decodeMessageId.)
Result<MsgIdParts> parse_msg_id(std::string_view id);

// "a.b.c.d:port", as brokers' addresses are written.
std::string host_address_string(HostAddress host);

// Writes the low `digits` hex digits of `v`, upper case, into out[at, at + digits): the ids above
// and the broker's transaction ids are fixed-width fields of hex.
void put_hex(std::string& out, size_t at, uint64_t v, int digits);

}  // namespace comet
