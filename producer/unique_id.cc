#include "producer/unique_id.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>

#include "common/clock.h"
#include "common/msg_id.h"

namespace comet::client {
namespace {

// The first non-loopback IPv4 address of the host, else 127.0.0.1 (as RocketMQ's
// UtilAll.getIP falls back); read once per process.
uint32_t host_ipv4() {
  uint32_t found = INADDR_LOOPBACK;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return found;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    const uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
    if ((ip >> 24) == 127) continue;
    found = ip;
    break;
  }
  ::freeifaddrs(list);
  return found;
}

std::string make_prefix() {
  std::string prefix(20, '0');
  put_hex(prefix, 0, host_ipv4(), 8);
  put_hex(prefix, 8, static_cast<uint32_t>(::getpid()) & 0xFFFF, 4);
  put_hex(prefix, 12, std::random_device{}(), 8);
  return prefix;
}

// Start of the month of `ms` and of the next one, in local time as RocketMQ's setStartTime.
std::pair<int64_t, int64_t> month_bounds(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm t{};
  ::localtime_r(&secs, &t);
  t.tm_mday = 1;
  t.tm_hour = t.tm_min = t.tm_sec = 0;
  t.tm_isdst = -1;
  const int64_t start = static_cast<int64_t>(std::mktime(&t)) * 1000;
  t.tm_mon += 1;
  t.tm_isdst = -1;
  const int64_t next = static_cast<int64_t>(std::mktime(&t)) * 1000;
  return {start, next};
}

// The month the time field counts from; moved on (under a lock, once a month) when a clock read
// passes its end.
class MonthClock {
 public:
  uint32_t ms_of_month() {
    const int64_t now = now_ms();
    int64_t start = start_ms_.load(std::memory_order_acquire);
    if (now >= next_ms_.load(std::memory_order_acquire) || now < start) {
      std::lock_guard lock(mu_);
      auto [s, n] = month_bounds(now);
      start_ms_.store(s, std::memory_order_release);
      next_ms_.store(n, std::memory_order_release);
      start = s;
    }
    return static_cast<uint32_t>(now - start);
  }

 private:
  std::mutex mu_;
  std::atomic<int64_t> start_ms_{0};
  std::atomic<int64_t> next_ms_{0};
};

uint8_t hex_value(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c >= 'A' && c <= 'F') return static_cast<uint8_t>(c - 'A' + 10);
  if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
  return 0xFF;
}

std::optional<uint64_t> hex_field(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    const uint8_t d = hex_value(c);
    if (d == 0xFF) return std::nullopt;
    v = (v << 4) | d;
  }
  return v;
}

}  // namespace

std::string create_unique_id() {
  static const std::string prefix = make_prefix();
  static MonthClock clock;
  static std::atomic<uint16_t> counter{static_cast<uint16_t>(std::random_device{}())};
  std::string id(kUniqueIdLength, '0');
  id.replace(0, prefix.size(), prefix);
  put_hex(id, 20, clock.ms_of_month(), 8);
  put_hex(id, 28, counter.fetch_add(1, std::memory_order_relaxed), 4);
  return id;
}

UniqueIdParts parse_unique_id(std::string_view id) {
  UniqueIdParts p;
  if (id.size() != kUniqueIdLength) return p;
  const auto ip = hex_field(id.substr(0, 8));
  const auto pid = hex_field(id.substr(8, 4));
  const auto rnd = hex_field(id.substr(12, 8));
  const auto ms = hex_field(id.substr(20, 8));
  const auto counter = hex_field(id.substr(28, 4));
  if (!ip || !pid || !rnd || !ms || !counter) return p;
  p.valid = true;
  p.ipv4 = static_cast<uint32_t>(*ip);
  p.pid = static_cast<uint16_t>(*pid);
  p.ms_of_month = static_cast<uint32_t>(*ms);
  p.counter = static_cast<uint16_t>(*counter);
  return p;
}

}  // namespace comet::client
