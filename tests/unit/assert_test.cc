// COMET_ASSERT: on a broken invariant the process aborts naming file, line, condition and message,
// in every build type; the message is built only then.
#include "common/assert.h"

#include <string>

#include <gtest/gtest.h>

namespace comet {
namespace {

TEST(AssertDeathTest, AFalseConditionAbortsWithFileLineConditionAndMessage) {
  const int offset = 7;
  EXPECT_DEATH(COMET_ASSERT(offset == 8, "append at " + std::to_string(offset)),
               "assert_test\\.cc:[0-9]+: assertion failed: offset == 8: append at 7");
}

TEST(AssertTest, TheMessageIsBuiltOnlyOnFailure) {
  int built = 0;
  auto message = [&] {
    ++built;
    return std::string("never");
  };
  for (int i = 0; i < 1000; ++i)
    COMET_ASSERT(i >= 0, message());
  EXPECT_EQ(built, 0);
}

TEST(AssertTest, ActiveEvenWithNdebug) {
#ifndef NDEBUG
  GTEST_SKIP() << "this build does not define NDEBUG";
#endif
  EXPECT_DEATH(COMET_ASSERT(false, "still checked"), "still checked");
}

}  // namespace
}  // namespace comet
