#include "bench/failure_plan.h"

namespace comet::bench {
namespace {

// SplitMix64's finalizer: every input bit moves every output bit.
uint64_t scramble(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

FailurePlan::FailurePlan(uint64_t seed, uint32_t producers, uint64_t per_producer)
    : seed_(seed),
      producers_(producers),
      per_producer_(per_producer),
      failed_once_(producers * per_producer) {}

Fate FailurePlan::fate(uint32_t producer, uint64_t seq) const {
  if (producer >= producers_ || seq >= per_producer_) return Fate::kConsume;
  const uint64_t bucket = scramble(scramble(seed_ ^ producer) ^ seq) % 10000;
  if (bucket < kFailAlwaysPer10k) return Fate::kFailAlways;
  if (bucket < kFailAlwaysPer10k + kFailOncePer10k) return Fate::kFailOnce;
  return Fate::kConsume;
}

bool FailurePlan::fail_delivery(uint32_t producer, uint64_t seq) {
  bool fail = false;
  switch (fate(producer, seq)) {
    case Fate::kConsume:
      break;
    case Fate::kFailAlways:
      fail = true;
      break;
    case Fate::kFailOnce:
      fail = failed_once_[producer * per_producer_ + seq].exchange(1) == 0;
      break;
  }
  if (fail) ++failed_deliveries_;
  return fail;
}

}  // namespace comet::bench
