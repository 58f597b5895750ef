// Micro-benchmarks of the storage engine: appends under ASYNC_FLUSH and SYNC_FLUSH (one sync per
// message, group commit across blocking writers, pipelined writers) and sequential reads through
// the ConsumeQueue and straight off the CommitLog.
//
// Every benchmark runs against a fresh store in its own mkdtemp directory under /tmp, made by a
// Setup hook before the benchmark's threads start and removed by the Teardown hook after they
// finish. Messages carry a 1 KiB body and a TAGS property; bytes count whole records as the
// CommitLog stores them. Iteration counts are fixed (one run per benchmark, so one store) so
// that no benchmark writes more than about 2.5 GB and the binary takes about 30 s on two cores.
#include <stdlib.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "commitlog/message_store.h"
#include "common/record_codec.h"
#include "common/status.h"

namespace comet::bench {
namespace {

using commitlog::AppendResult;
using commitlog::CommitLog;
using commitlog::FlushDiskType;
using commitlog::GetResult;
using commitlog::GetStatus;
using commitlog::MessageStore;
using commitlog::ReadView;
using commitlog::StoreConfig;

constexpr std::string_view kTopic = "BenchTopic";
constexpr uint32_t kQueues = 8;
constexpr size_t kBodySize = 1024;
constexpr uint64_t kSegmentSize = uint64_t{1} << 30;
constexpr size_t kBatchSize = 32;
constexpr int kWriterThreads = 8;
constexpr int kPipelineDepth = 32;
constexpr uint64_t kPrefillMessages = 1'000'000;
constexpr uint32_t kReadBatch = 32;
constexpr uint64_t kReadMaxBytes = 1 << 20;
constexpr uint32_t kRawReadBytes = 256 * 1024;

using SteadyClock = std::chrono::steady_clock;

const std::string& body() {
  static const std::string* const kBody = [] {
    auto* b = new std::string(kBodySize, '\0');
    for (size_t i = 0; i < b->size(); ++i)
      (*b)[i] = static_cast<char>('a' + i % 26);
    return b;
  }();
  return *kBody;
}

const std::string& properties() {
  static const std::string* const kProperties =
      new std::string(encode_properties({{std::string(kPropertyTags), "TagA"}}));
  return *kProperties;
}

Message make_message(uint32_t queue_id) {
  Message m;
  m.topic = kTopic;
  m.queue_id = queue_id;
  m.body = body();
  m.properties = properties();
  return m;
}

int64_t record_size() {
  return static_cast<int64_t>(record::encoded_size(make_message(0)));
}

struct Env {
  std::string dir;
  std::unique_ptr<MessageStore> store;
  uint64_t syncs_at_start = 0;
  Status status;  // why the setup failed, reported by every thread of the benchmark
};

// Set by a Setup hook, read by the benchmark's threads, cleared by the Teardown hook.
constinit Env* g_env = nullptr;

Status open_store(Env& env, FlushDiskType flush) {
  std::string dir = "/tmp/comet-bench-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return Status::from_errno("mkdtemp " + dir, errno);
  env.dir = dir;
  StoreConfig config;
  config.store_path_root_dir = dir;
  config.mapped_file_size_commit_log = kSegmentSize;
  config.flush_disk_type = flush;
  COMET_ASSIGN_OR_RETURN(env.store, MessageStore::open(config));
  // The first append maps segment 0 and asks the allocator for segment 1: not a timed cost.
  return env.store->put_message(make_message(0)).status();
}

Status prefill(MessageStore& store, uint64_t messages) {
  std::vector<Message> batch;
  batch.reserve(kBatchSize);
  for (uint64_t n = 0; n < messages;) {
    batch.clear();
    for (; batch.size() < kBatchSize && n < messages; ++n)
      batch.push_back(make_message(static_cast<uint32_t>(n % kQueues)));
    auto r = store.put_messages(batch);
    if (!r.is_ok()) return r.status();
  }
  return store.dispatched().wait(store.commit_log().max_offset(), std::chrono::seconds(30));
}

void setup(FlushDiskType flush, uint64_t prefill_messages) {
  g_env = new Env;
  g_env->status = open_store(*g_env, flush);
  if (g_env->status.is_ok()) g_env->syncs_at_start = g_env->store->commit_log().sync_count();
  if (g_env->status.is_ok() && prefill_messages > 0) {
    g_env->status = prefill(*g_env->store, prefill_messages);
  }
}

void setup_async_flush(const benchmark::State&) {
  setup(FlushDiskType::kAsyncFlush, 0);
}

void setup_sync_flush(const benchmark::State&) {
  setup(FlushDiskType::kSyncFlush, 0);
}

void setup_prefilled(const benchmark::State&) {
  setup(FlushDiskType::kAsyncFlush, kPrefillMessages);
}

void teardown(const benchmark::State&) {
  if (g_env->store) {
    Status s = g_env->store->shutdown();
    if (!s.is_ok()) std::fprintf(stderr, "store shutdown: %s\n", s.to_string().c_str());
    g_env->store.reset();
  }
  if (!g_env->dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(g_env->dir, ec);
    if (ec) std::fprintf(stderr, "remove %s: %s\n", g_env->dir.c_str(), ec.message().c_str());
  }
  delete g_env;
  g_env = nullptr;
}

MessageStore* store_or_skip(benchmark::State& state) {
  if (g_env->status.is_ok()) return g_env->store.get();
  state.SkipWithError(g_env->status.to_string().c_str());
  return nullptr;
}

void set_write_counters(benchmark::State& state, int64_t messages) {
  state.SetItemsProcessed(messages);
  state.SetBytesProcessed(messages * record_size());
}

// Mean time from calling put until the message is durable, averaged over the writer threads.
void set_latency_counter(benchmark::State& state, SteadyClock::duration total, int64_t messages) {
  if (messages == 0) return;
  const double us = std::chrono::duration<double, std::micro>(total).count();
  state.counters["latency_us"] =
      benchmark::Counter(us / static_cast<double>(messages), benchmark::Counter::kAvgThreads);
}

// Messages per msync round since the benchmark started: how well group commit groups. Each
// thread reports at its end; threads run equal iteration counts, so the average is close.
void set_group_counter(benchmark::State& state, MessageStore& store) {
  const uint64_t syncs = store.commit_log().sync_count() - g_env->syncs_at_start;
  if (syncs == 0) return;
  const double total = static_cast<double>(state.iterations()) * state.threads();
  state.counters["msgs_per_sync"] =
      benchmark::Counter(total / static_cast<double>(syncs), benchmark::Counter::kAvgThreads);
}

// Appends one thread has in flight, bounded; completions arrive on the store's flush thread.
class InFlight {
 public:
  explicit InFlight(int limit) : limit_(limit) {}

  // Takes a slot once one is free. Fails with the first error an append completed with, or
  // with kTimeout when no slot frees up within `timeout`.
  Status acquire(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return count_ < limit_ || !error_.is_ok(); })) {
      return Status::timeout("no append completed within " + std::to_string(timeout.count()) +
                             " ms with " + std::to_string(count_) + " in flight");
    }
    if (!error_.is_ok()) return error_;
    ++count_;
    return Status::ok();
  }

  void release(const Status& s, SteadyClock::time_point submitted) {
    const auto latency = SteadyClock::now() - submitted;
    std::lock_guard lock(mu_);
    --count_;
    ++completed_;
    total_latency_ += latency;
    if (!s.is_ok() && error_.is_ok()) error_ = s;
    cv_.notify_one();
  }

  // Waits until every append taken has completed.
  Status drain(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return count_ == 0; })) {
      return Status::timeout(std::to_string(count_) + " append(s) still in flight after " +
                             std::to_string(timeout.count()) + " ms");
    }
    return error_;
  }

  int64_t completed() {
    std::lock_guard lock(mu_);
    return completed_;
  }
  SteadyClock::duration total_latency() {
    std::lock_guard lock(mu_);
    return total_latency_;
  }

 private:
  const int limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
  int64_t completed_ = 0;
  SteadyClock::duration total_latency_{};
  Status error_;
};

void BM_AppendAsyncFlush(benchmark::State& state) {
  MessageStore* store = store_or_skip(state);
  if (store == nullptr) return;
  Message msg = make_message(0);
  for (auto _ : state) {
    auto r = store->put_message(msg);
    if (!r.is_ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      break;
    }
    msg.queue_id = (msg.queue_id + 1) % kQueues;
  }
  set_write_counters(state, state.iterations());
}

void BM_AppendBatchAsyncFlush(benchmark::State& state) {
  MessageStore* store = store_or_skip(state);
  if (store == nullptr) return;
  std::vector<Message> batch(kBatchSize, make_message(0));
  uint32_t queue = 0;
  for (auto _ : state) {
    for (Message& m : batch)
      m.queue_id = queue;
    auto r = store->put_messages(batch);
    if (!r.is_ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      break;
    }
    queue = (queue + 1) % kQueues;
  }
  set_write_counters(state, state.iterations() * static_cast<int64_t>(kBatchSize));
}

// Blocking SYNC_FLUSH appends: with one thread every message waits for its own sync (the
// baseline); with several, writers that arrive during a sync share the next one.
void BM_AppendSyncFlush(benchmark::State& state) {
  MessageStore* store = store_or_skip(state);
  if (store == nullptr) return;
  Message msg = make_message(static_cast<uint32_t>(state.thread_index()) % kQueues);
  SteadyClock::duration latency{};
  for (auto _ : state) {
    const auto start = SteadyClock::now();
    auto r = store->put_message(msg);
    latency += SteadyClock::now() - start;
    if (!r.is_ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      break;
    }
    msg.queue_id = (msg.queue_id + 1) % kQueues;
  }
  set_write_counters(state, state.iterations());
  set_latency_counter(state, latency, state.iterations());
  set_group_counter(state, *store);
}

void BM_AppendSyncFlushPerMessage(benchmark::State& state) {
  BM_AppendSyncFlush(state);
}

void BM_AppendSyncFlushGroupCommit(benchmark::State& state) {
  BM_AppendSyncFlush(state);
}

void BM_AppendSyncFlushPipelined(benchmark::State& state) {
  MessageStore* store = store_or_skip(state);
  if (store == nullptr) return;
  const auto timeout = std::chrono::milliseconds(store->config().sync_flush_timeout_ms);
  auto in_flight = std::make_shared<InFlight>(kPipelineDepth);
  Message msg = make_message(static_cast<uint32_t>(state.thread_index()) % kQueues);
  int64_t submitted = 0;
  for (auto _ : state) {
    if (Status s = in_flight->acquire(timeout); !s.is_ok()) {
      state.SkipWithError(s.to_string().c_str());
      break;
    }
    store->put_message_async(msg, [in_flight, start = SteadyClock::now()](Result<AppendResult> r) {
      in_flight->release(r.status(), start);
    });
    msg.queue_id = (msg.queue_id + 1) % kQueues;
    if (++submitted == state.max_iterations) {
      if (Status s = in_flight->drain(timeout); !s.is_ok()) {
        state.SkipWithError(s.to_string().c_str());
        break;
      }
    }
  }
  if (submitted != state.max_iterations) (void)in_flight->drain(timeout);
  set_write_counters(state, state.iterations());
  set_latency_counter(state, in_flight->total_latency(), in_flight->completed());
  set_group_counter(state, *store);
}

void BM_SequentialRead(benchmark::State& state) {
  MessageStore* store = store_or_skip(state);
  if (store == nullptr) return;
  std::array<uint64_t, kQueues> next{};
  uint32_t queue = 0;
  int64_t messages = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    GetResult g = store->get_messages(kTopic, queue, next[queue], kReadBatch, kReadMaxBytes);
    if (g.status != GetStatus::kFound) {
      state.SkipWithError(std::string(commitlog::get_status_name(g.status)).c_str());
      break;
    }
    benchmark::DoNotOptimize(g.messages.data());
    messages += static_cast<int64_t>(g.messages.size());
    bytes += static_cast<int64_t>(g.total_bytes);
    next[queue] = g.next_begin_offset < g.max_offset ? g.next_begin_offset : g.min_offset;
    queue = (queue + 1) % kQueues;
  }
  state.SetItemsProcessed(messages);
  state.SetBytesProcessed(bytes);
}

// Decodes (with CRC) the records of `view` up to the last whole one; returns the bytes consumed
// or, when not even the first record can be decoded, the reason.
Result<size_t> decode_records(const ReadView& view, int64_t& records, int64_t& bytes) {
  size_t pos = 0;
  while (pos < view.size) {
    auto d = record::decode(view.data + pos, view.size - pos, /*verify_crc=*/true);
    if (d.outcome == record::Outcome::kRecord) {
      ++records;
      bytes += d.size;
    } else if (d.outcome == record::Outcome::kTruncated && pos > 0) {
      break;  // a record or blank cut by the read window: read again from here
    } else if (d.outcome != record::Outcome::kBlank) {
      return Status::corruption("offset " + std::to_string(view.offset + pos) + ": " + d.reason);
    }
    benchmark::DoNotOptimize(d);
    pos += d.size;
  }
  return pos;
}

void BM_SequentialReadRaw(benchmark::State& state) {
  MessageStore* store = store_or_skip(state);
  if (store == nullptr) return;
  const CommitLog& log = store->commit_log();
  const uint64_t end = log.max_offset();
  uint64_t offset = log.min_offset();
  int64_t records = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    auto view = log.read(offset, kRawReadBytes);
    if (!view.is_ok()) {
      state.SkipWithError(view.status().to_string().c_str());
      break;
    }
    auto consumed = decode_records(*view, records, bytes);
    if (!consumed.is_ok()) {
      state.SkipWithError(consumed.status().to_string().c_str());
      break;
    }
    offset += *consumed;
    if (offset >= end) offset = log.min_offset();
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(bytes);
}

BENCHMARK(BM_AppendAsyncFlush)
    ->Setup(setup_async_flush)
    ->Teardown(teardown)
    ->Iterations(2'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_AppendBatchAsyncFlush)
    ->Setup(setup_async_flush)
    ->Teardown(teardown)
    ->Iterations(2'000'000 / kBatchSize)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_AppendSyncFlushPerMessage)
    ->Setup(setup_sync_flush)
    ->Teardown(teardown)
    ->Iterations(5'000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_AppendSyncFlushGroupCommit)
    ->Setup(setup_sync_flush)
    ->Teardown(teardown)
    ->Threads(kWriterThreads)
    ->Iterations(4'000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_AppendSyncFlushPipelined)
    ->Setup(setup_sync_flush)
    ->Teardown(teardown)
    ->Threads(kWriterThreads)
    ->Iterations(40'000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_SequentialRead)
    ->Setup(setup_prefilled)
    ->Teardown(teardown)
    ->Iterations(1'000'000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_SequentialReadRaw)
    ->Setup(setup_prefilled)
    ->Teardown(teardown)
    ->Iterations(40'000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace comet::bench

int main(int argc, char** argv) {
  // The store logs every open and recovery at info; keep the table readable unless asked.
  ::setenv("COMET_LOG_LEVEL", "warn", /*overwrite=*/0);
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "-h" && std::string_view(argv[i]) != "--help") continue;
    static char kHelp[] = "--help";
    argv[i] = kHelp;  // Google Benchmark knows only --help; it prints its options and exits 0
    std::printf(
        "comet-commitlog-bench: Google Benchmark micro-benchmarks of the CommitLog (appends with\n"
        "ASYNC_FLUSH and SYNC_FLUSH, group commit, sequential reads) in temporary directories.\n"
        "e.g. --benchmark_filter=Append --benchmark_repetitions=5\n\n");
    std::fflush(stdout);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
