// COMET_ASSERT(condition, message): an invariant checked in every build type, Release included.
// When a rule that keeps the store or the Raft log consistent is broken, carrying on would spread
// the damage (to disk, to replicas, to consumers); stopping at once keeps it where it started and
// names it. The message (anything a std::string_view is made from) is built only on failure, so a
// check costs one predictable branch.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace comet::detail {

[[noreturn, gnu::cold, gnu::noinline]] inline void assert_failed(const char* file, int line,
                                                                 const char* condition,
                                                                 std::string_view message) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s: %.*s\n", file, line, condition,
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace comet::detail

#define COMET_ASSERT(condition, message)                                         \
  do {                                                                           \
    if (__builtin_expect(!(condition), 0)) {                                     \
      ::comet::detail::assert_failed(__FILE__, __LINE__, #condition, (message)); \
    }                                                                            \
  } while (0)
