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

source scripts/lib-bench.sh

work=$(mktemp -d /tmp/comet-bench-XXXXXX)
source scripts/lib-cluster.sh

start_process namesrv "$bin/namesrv/comet-namesrv" listenPort=0 bindAddress=127.0.0.1 >/dev/null
namesrv=$ready_addr
start_process broker "$bin/broker/comet-broker" listenPort=0 haListenPort=0 bindAddress=127.0.0.1 \
  namesrvAddr="$namesrv" storePathRootDir="$work/store" brokerName=broker-a >/dev/null
bench_prepare

bench_run "single: one message per request, 256 in flight" --inflight 256
single=$(bench_throughput)
bench_run "batch: 32 messages per request, 32 in flight" --inflight 32 --batch 32
batch=$(bench_throughput)
bench_run "single at half load ($((single / 2)) msgs/s)" --inflight 256 --rate $((single / 2))
bench_run "batch at half load ($((batch / 2)) msgs/s)" --inflight 32 --batch 32 --rate $((batch / 2))
