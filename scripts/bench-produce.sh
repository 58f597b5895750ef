#!/usr/bin/env bash
# Producer throughput and latency against one local broker (issue 3's benchmark): starts a
# comet-namesrv and a comet-broker (ASYNC_FLUSH, store in a temporary directory), then runs
# comet-bench produce with 1 KiB messages:
#   1. one message per request, 256 in flight: the maximum throughput;
#   2. batches of 32 messages, 32 requests in flight: the maximum throughput;
#   3. and 4. the same two shapes paced at half of the throughput measured, for p50/p99 latency.
# A warm-up run of 200,000 messages comes first and is not reported.
#   scripts/bench-produce.sh [messages]     default 400000 per run
# COMET_BENCH_BIN=<build dir> uses that build; default: a Release build in build-release/.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-400000}

bin=${COMET_BENCH_BIN:-}
if [[ -z "$bin" ]]; then
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOMET_BUILD_TESTS=OFF >/dev/null
  ninja -C build-release comet-namesrv comet-broker comet-bench comet-admin >/dev/null
  bin=build-release
fi

work=$(mktemp -d /tmp/comet-bench-XXXXXX)
source scripts/lib-cluster.sh

start_process namesrv "$bin/namesrv/comet-namesrv" listenPort=0 bindAddress=127.0.0.1 >/dev/null
namesrv=$ready_addr
start_process broker "$bin/broker/comet-broker" listenPort=0 haListenPort=0 bindAddress=127.0.0.1 \
  namesrvAddr="$namesrv" storePathRootDir="$work/store" brokerName=broker-a >/dev/null
"$bin/admin/comet-admin" updateTopic -n "$namesrv" -c DefaultCluster -t BenchTopic -r 8 -w 8 \
  >/dev/null

run() {
  local label=$1
  shift
  echo "== $label"
  "$bin/bench/comet-bench" produce -n "$namesrv" -t BenchTopic --messages "$messages" "$@" |
    tee "$work/last.txt"
  echo
}
throughput() { awk '/throughput/ {print int($2)}' "$work/last.txt"; }

# Warm-up, not reported: connections, routes, and the broker's first pre-fault of a fresh 1 GiB
# segment (see docs/benchmarks.md: first touch of memory is slow on this VM).
"$bin/bench/comet-bench" produce -n "$namesrv" -t BenchTopic --messages 200000 --inflight 256 \
  >/dev/null

run "single: one message per request, 256 in flight" --inflight 256
single=$(throughput)
run "batch: 32 messages per request, 32 in flight" --inflight 32 --batch 32
batch=$(throughput)
run "single at half load ($((single / 2)) msgs/s)" --inflight 256 --rate $((single / 2))
run "batch at half load ($((batch / 2)) msgs/s)" --inflight 32 --batch 32 --rate $((batch / 2))
