// COMET_ASSERT(cond, message): an invariant that holds in every build type (TigerBeetle style).
// When it does not, continuing would spread corruption (a replica with a hole, a log cut below
// acknowledged data), so the process logs where and why and aborts. `message` is evaluated only
// on failure and may be anything convertible to std::string_view (a literal, a std::string).
// For local invariants only: input from a peer gets a typed error, never an assertion.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace comet::detail {

[[noreturn]] inline void assert_failed(const char* file, int line, const char* cond,
                                       std::string_view message) {
  std::fprintf(stderr, "%s:%d: assertion failed: %s: %.*s\n", file, line, cond,
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace comet::detail

#define COMET_ASSERT(cond, message)                                         \
  do {                                                                      \
    if (!(cond)) [[unlikely]] {                                             \
      ::comet::detail::assert_failed(__FILE__, __LINE__, #cond, (message)); \
    }                                                                       \
  } while (false)
