// Micro-benchmarks of the master's open-transaction table (broker/transaction_table.h) with
// 1,000,000 open transactions: a check scan (due()) that finds none due and so walks the whole
// table, one that stops at a batch of 256 due ones, the low water H, and the table's memory per
// open transaction (RSS, anonymous pages, before and after filling it; reported as counters).
//
//   build/bench/comet-transaction-bench
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "broker/transaction_table.h"

namespace comet::bench {
namespace {

using broker::HalfRecordInfo;
using broker::TransactionTable;
using broker::TransactionTiming;

constexpr uint64_t kOpen = 1'000'000;
constexpr int64_t kBornMs = 1'000'000;
constexpr TransactionTiming kTiming{6000, 30000};

// RssAnon of this process in bytes (the heap; file-backed pages excluded), 0 when unknown.
uint64_t rss_anon_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("RssAnon:", 0) == 0) return std::stoull(line.substr(8)) * 1024;
  }
  return 0;
}

// A table with kOpen open transactions of 4 producer groups, stored 1 ms apart.
std::unique_ptr<TransactionTable> filled_table() {
  auto t = std::make_unique<TransactionTable>(kTiming, 0);
  static const std::string groups[] = {"pg-orders", "pg-payments", "pg-stock", "pg-mail"};
  for (uint64_t q = 0; q < kOpen; ++q) {
    HalfRecordInfo h;
    h.origin = q;
    h.queue_offset = q;
    h.physical_offset = q * 300;
    h.born_ms = kBornMs + static_cast<int64_t>(q / 1000);
    h.stored_ms = h.born_ms;
    h.producer_group = groups[q % 4];
    t->on_half(h);
  }
  return t;
}

void BM_FillAndMemory(benchmark::State& state) {
  for (auto _ : state) {
    const uint64_t before = rss_anon_bytes();
    auto t = filled_table();
    const uint64_t after = rss_anon_bytes();
    benchmark::DoNotOptimize(t->size());
    state.counters["bytes_per_open"] =
        static_cast<double>(after - before) / static_cast<double>(kOpen);
    state.counters["rss_anon_MiB"] = static_cast<double>(after - before) / (1 << 20);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kOpen));
}
BENCHMARK(BM_FillAndMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

// A round when nothing is due: the scan walks all 1,000,000 entries (and finds the next due).
void BM_DueScanNoneDue(benchmark::State& state) {
  const auto t = filled_table();
  for (auto _ : state) {
    auto scan = t->due(kBornMs, 256);
    benchmark::DoNotOptimize(scan.next_due_ms);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kOpen));
}
BENCHMARK(BM_DueScanNoneDue)->Unit(benchmark::kMillisecond);

// A round in a check storm: every transaction is due, the scan stops at a batch of 256.
void BM_DueScanBatchOfAllDue(benchmark::State& state) {
  const auto t = filled_table();
  for (auto _ : state) {
    auto scan = t->due(kBornMs + 10'000'000, 256);
    benchmark::DoNotOptimize(scan.due.data());
  }
}
BENCHMARK(BM_DueScanBatchOfAllDue)->Unit(benchmark::kMicrosecond);

// H after the oldest open transaction ends (the op arrives, then H is read for the commit).
void BM_EndOldestThenLowWater(benchmark::State& state) {
  auto t = filled_table();
  uint64_t oldest = 0;
  for (auto _ : state) {
    t->on_op(oldest++);
    benchmark::DoNotOptimize(t->low_water());
    if (oldest == kOpen) {
      state.PauseTiming();
      t = filled_table();
      oldest = 0;
      state.ResumeTiming();
    }
  }
}
BENCHMARK(BM_EndOldestThenLowWater)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace comet::bench

BENCHMARK_MAIN();
