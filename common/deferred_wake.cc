#include "common/deferred_wake.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace comet {
namespace {

struct Deferred {
  int depth = 0;
  std::vector<std::pair<WakeFn, void*>> wakes;
};

Deferred& deferred() {
  thread_local Deferred d;
  return d;
}

}  // namespace

bool defer_wake(WakeFn fn, void* arg) {
  Deferred& d = deferred();
  if (d.depth == 0) return false;
  const auto entry = std::make_pair(fn, arg);
  if (std::find(d.wakes.begin(), d.wakes.end(), entry) == d.wakes.end()) d.wakes.push_back(entry);
  return true;
}

DeferredWakeScope::DeferredWakeScope() {
  ++deferred().depth;
}

DeferredWakeScope::~DeferredWakeScope() {
  Deferred& d = deferred();
  if (--d.depth > 0) return;
  // A wake-up may defer more (it runs with no scope open, so it cannot): bounded by the list.
  std::vector<std::pair<WakeFn, void*>> wakes;
  wakes.swap(d.wakes);
  for (const auto& [fn, arg] : wakes)
    fn(arg);
}

}  // namespace comet
