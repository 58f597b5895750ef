// The client-side unique id of a message (RocketMQ's UNIQ_KEY, MessageClientIDSetter): the
// producer gives one to every message that has none, and clients show it as the message id.
//
// 32 upper-case hex digits, as RocketMQ's: a 10-byte prefix fixed for the process (IPv4 of the
// host, the low 16 bits of the pid, 4 random bytes standing for RocketMQ's class-loader hash),
// then the milliseconds since the start of the current month (4 bytes) and a counter (2 bytes)
// shared by every thread. Ids of one process differ while fewer than 65,536 are made in one
// millisecond. Thread-safe; a new id costs an atomic add and a clock read (vDSO, no syscall).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace comet::client {

inline constexpr size_t kUniqueIdLength = 32;

std::string create_unique_id();

// The parts of a unique id, for tests and tools; `valid` is false when `id` is not 32 hex digits.
struct UniqueIdParts {
  bool valid = false;
  uint32_t ipv4 = 0;  // host byte order
  uint16_t pid = 0;
  uint32_t ms_of_month = 0;
  uint16_t counter = 0;
};
UniqueIdParts parse_unique_id(std::string_view id);

}  // namespace comet::client
