// Micro-benchmarks of the message index (commitlog/index_service.h):
// - lookups by key and by UNIQ_KEY through MessageStore::query_messages on a store of
//   COMET_INDEX_BENCH_MESSAGES messages (10,000,000 by default), built once per run in a mkdtemp
//   directory under /tmp and removed at the end; each reports p50/p99 per lookup;
// - the index's size per message: bytes its files really take (st_blocks) and their length;
// - the dispatcher's work per message (decode, ConsumeQueue unit, and with index:1 the index
//   entries) on pre-encoded records, with the index off and on.
// Default index sizes (maxHashSlotNum 5,000,000, maxIndexNum 20,000,000), async flush, warm page
// cache (the store was just written). Not part of CI: scripts/bench-store.sh-style runs only.
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "commitlog/consume_queue.h"
#include "commitlog/index_service.h"
#include "commitlog/message_store.h"
#include "common/record_codec.h"

namespace comet::bench {
namespace {

using commitlog::ConsumeQueue;
using commitlog::CqUnit;
using commitlog::IndexService;
using commitlog::MessageStore;
using commitlog::StoreConfig;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kTopic = "BenchTopic";
constexpr uint32_t kQueues = 8;
constexpr size_t kBodySize = 100;
constexpr size_t kBatchSize = 64;
constexpr int64_t kLookups = 20'000;
constexpr int64_t kDispatched = 2'000'000;
constexpr size_t kEncodedRecords = 64 * 1024;

uint64_t store_messages() {
  const char* env = std::getenv("COMET_INDEX_BENCH_MESSAGES");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 10'000'000;
}

std::string key_of(uint64_t i) {
  return "order-" + std::to_string(i);
}

// A UNIQ_KEY shaped like RocketMQ's (32 hex digits), distinct per message.
std::string uniq_of(uint64_t i) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "7F00000100002A9F%016" PRIX64,
                static_cast<uint64_t>(i * 0x9E3779B97F4A7C15ull));
  return buf;
}

std::string properties_of(uint64_t i) {
  return encode_properties({{std::string(kPropertyTags), "TagA"},
                            {std::string(kPropertyKeys), key_of(i)},
                            {std::string(kPropertyUniqKey), uniq_of(i)}});
}

std::string make_temp_dir() {
  std::string dir = "/tmp/comet-index-bench-XXXXXX";
  return ::mkdtemp(dir.data()) != nullptr ? dir : std::string();
}

void remove_dir(const std::string& dir) {
  std::error_code ec;
  if (!dir.empty()) std::filesystem::remove_all(dir, ec);
}

// The store of store_messages() keyed messages, built on first use.
struct KeyedStore {
  std::string dir;
  std::unique_ptr<MessageStore> store;
  uint64_t messages = 0;
  double build_seconds = 0;
  Status status;
};
KeyedStore* g_keyed = nullptr;

Status build_keyed_store(KeyedStore& k) {
  k.dir = make_temp_dir();
  if (k.dir.empty()) return Status::io_error("mkdtemp under /tmp failed");
  StoreConfig config;
  config.store_path_root_dir = k.dir;
  COMET_ASSIGN_OR_RETURN(k.store, MessageStore::open(config));
  const std::string body(kBodySize, 'x');
  std::vector<std::string> props(kBatchSize);
  std::vector<Message> batch(kBatchSize);
  const auto start = SteadyClock::now();
  for (uint64_t n = 0; n < k.messages;) {
    size_t b = 0;
    for (; b < kBatchSize && n < k.messages; ++b, ++n) {
      props[b] = properties_of(n);
      batch[b] = Message{};
      batch[b].topic = kTopic;
      batch[b].queue_id = static_cast<uint32_t>(n % kQueues);
      batch[b].body = body;
      batch[b].properties = props[b];
    }
    COMET_RETURN_IF_ERROR(k.store->put_messages({batch.data(), b}).status());
  }
  COMET_RETURN_IF_ERROR(
      k.store->dispatched().wait(k.store->commit_log().max_offset(), std::chrono::minutes(10)));
  k.build_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  return Status::ok();
}

KeyedStore& keyed_store() {
  if (g_keyed == nullptr) {
    g_keyed = new KeyedStore;
    g_keyed->messages = store_messages();
    g_keyed->status = build_keyed_store(*g_keyed);
    std::fprintf(stderr, "index bench: %" PRIu64 " messages stored and indexed in %.1f s\n",
                 g_keyed->messages, g_keyed->build_seconds);
  }
  return *g_keyed;
}

void drop_keyed_store() {
  if (g_keyed == nullptr) return;
  if (g_keyed->store) (void)g_keyed->store->shutdown();
  g_keyed->store.reset();
  remove_dir(g_keyed->dir);
  delete g_keyed;
  g_keyed = nullptr;
}

void set_percentiles(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.counters["max_us"] = us.back();
}

void lookup_bench(benchmark::State& state, std::string (*key)(uint64_t)) {
  KeyedStore& k = keyed_store();
  if (!k.status.is_ok()) {
    state.SkipWithError(k.status.to_string().c_str());
    return;
  }
  std::mt19937_64 rng(42);
  std::vector<double> us;
  us.reserve(static_cast<size_t>(state.max_iterations));
  for (auto _ : state) {
    const std::string wanted = key(rng() % k.messages);
    const auto t0 = SteadyClock::now();
    auto r = k.store->query_messages(kTopic, wanted, 32, 0, INT64_MAX);
    us.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
    if (!r.is_ok() || r->messages.size() != 1) {
      state.SkipWithError(("lookup of " + wanted + " did not find exactly its message").c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
  set_percentiles(state, us);
}

void BM_LookupByKey(benchmark::State& state) {
  lookup_bench(state, &key_of);
}

void BM_LookupByUniqKey(benchmark::State& state) {
  lookup_bench(state, &uniq_of);
}

// Bytes the index files take on disk (allocated blocks) and their length, per message stored.
void BM_IndexBytesPerMessage(benchmark::State& state) {
  KeyedStore& k = keyed_store();
  if (!k.status.is_ok()) {
    state.SkipWithError(k.status.to_string().c_str());
    return;
  }
  uint64_t allocated = 0;
  uint64_t logical = 0;
  uint64_t files = 0;
  for (auto _ : state) {
    allocated = logical = files = 0;
    for (const auto& e : std::filesystem::directory_iterator(k.store->config().index_dir())) {
      struct stat st {};
      if (::stat(e.path().c_str(), &st) != 0) continue;
      allocated += static_cast<uint64_t>(st.st_blocks) * 512;
      logical += static_cast<uint64_t>(st.st_size);
      ++files;
    }
  }
  const auto per = [&](uint64_t bytes) {
    return static_cast<double>(bytes) / static_cast<double>(k.messages);
  };
  state.counters["allocated_B_per_msg"] = per(allocated);
  state.counters["logical_B_per_msg"] = per(logical);
  state.counters["files"] = static_cast<double>(files);
  state.counters["messages"] = static_cast<double>(k.messages);
  state.counters["build_s"] = k.build_seconds;
}

// The dispatcher's per-record work: decode (no CRC, as the dispatcher), the ConsumeQueue unit,
// and with index:1 the index. Records are encoded beforehand and replayed with moving offsets.
void BM_Dispatch(benchmark::State& state) {
  const bool with_index = state.range(0) != 0;
  const std::string dir = make_temp_dir();
  StoreConfig config;
  config.store_path_root_dir = dir;
  std::vector<std::unique_ptr<ConsumeQueue>> cqs;
  for (uint32_t q = 0; q < kQueues; ++q) {
    cqs.push_back(std::make_unique<ConsumeQueue>(std::string(kTopic), q,
                                                 dir + "/consumequeue/" + std::to_string(q),
                                                 config.mapped_file_size_consume_queue));
  }
  IndexService index(config);
  if (dir.empty() || !index.load().is_ok()) {
    state.SkipWithError("cannot set up the store directory");
    return;
  }
  std::vector<std::string> encoded(kEncodedRecords);
  const std::string body(kBodySize, 'x');
  for (size_t i = 0; i < kEncodedRecords; ++i) {
    const std::string props = properties_of(i);
    Message m;
    m.topic = kTopic;
    m.queue_id = static_cast<uint32_t>(i % kQueues);
    m.body = body;
    m.properties = props;
    encoded[i].resize(record::encoded_size(m));
    record::encode(m, 0, 0, 1'700'000'000'000 + static_cast<int64_t>(i), {},
                   reinterpret_cast<uint8_t*>(encoded[i].data()));
  }
  uint64_t phy = 0;
  std::vector<uint64_t> next(kQueues, 0);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& e = encoded[i++ % kEncodedRecords];
    auto d = record::decode(reinterpret_cast<const uint8_t*>(e.data()), e.size(), false);
    RecordView& r = d.record;
    r.physical_offset = phy;
    r.queue_offset = next[r.queue_id]++;
    phy += r.total_size;
    const CqUnit unit{r.physical_offset, r.total_size,
                      tag_hash(find_property(r.properties, kPropertyTags))};
    Status s = cqs[r.queue_id]->put(r.queue_offset, unit);
    if (s.is_ok() && with_index) s = index.index(r);
    if (!s.is_ok()) {
      state.SkipWithError(s.to_string().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  cqs.clear();
  remove_dir(dir);
}

BENCHMARK(BM_Dispatch)
    ->ArgName("index")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(kDispatched)
    ->Unit(benchmark::kNanosecond);
BENCHMARK(BM_LookupByKey)->Iterations(kLookups)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LookupByUniqKey)->Iterations(kLookups)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexBytesPerMessage)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace comet::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  comet::bench::drop_keyed_store();
  benchmark::Shutdown();
  return 0;
}
