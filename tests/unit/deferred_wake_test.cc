#include "common/deferred_wake.h"

#include <gtest/gtest.h>

namespace comet {
namespace {

void count(void* arg) {
  ++*static_cast<int*>(arg);
}

TEST(DeferredWake, WithoutAScopeTheCallerWakesAtOnce) {
  int n = 0;
  EXPECT_FALSE(defer_wake(&count, &n));
  EXPECT_EQ(n, 0);
}

TEST(DeferredWake, OneWakePerTargetWhenTheOutermostScopeCloses) {
  int a = 0, b = 0;
  {
    DeferredWakeScope outer;
    for (int i = 0; i < 100; ++i)
      EXPECT_TRUE(defer_wake(&count, &a));
    {
      DeferredWakeScope inner;
      EXPECT_TRUE(defer_wake(&count, &b));
    }
    EXPECT_EQ(a, 0);  // the inner scope runs nothing
    EXPECT_EQ(b, 0);
  }
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  EXPECT_FALSE(defer_wake(&count, &a));  // closed: nothing is deferred any more
}

}  // namespace
}  // namespace comet
