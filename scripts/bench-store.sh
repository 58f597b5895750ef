#!/usr/bin/env bash
# Builds Release and runs the storage-engine micro-benchmarks (Google Benchmark).
# Appends of 1 KiB messages with ASYNC_FLUSH and SYNC_FLUSH (single, batched, group commit) and
# sequential reads.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOMET_BUILD_TESTS=OFF >/dev/null
ninja -C build-release comet-commitlog-bench
exec ./build-release/bench/comet-commitlog-bench --benchmark_counters_tabular=true "$@"
