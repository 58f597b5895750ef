#!/usr/bin/env bash
# Producer throughput and latency against a master/slave group (issue 4's benchmark): for each of
# ASYNC_MASTER and SYNC_MASTER, starts a comet-namesrv, a master and a slave (ASYNC_FLUSH, stores
# in a temporary directory), waits until the slave streams, then runs comet-bench produce with
# 1 KiB messages: one message per request at full speed (256 in flight), batches of 32, and one
# message per request paced at half of the full-speed throughput (for p50/p99 latency).
# A warm-up run of 200,000 messages comes first and is not reported.
#   scripts/bench-ha.sh [messages]                     default 400000 per run
#   scripts/bench-ha.sh --mode SYNC_MASTER [messages]  one mode only
# COMET_BENCH_BIN=<build dir> uses that build; default: a Release build in build-release/.
set -euo pipefail
cd "$(dirname "$0")/.."
modes=(ASYNC_MASTER SYNC_MASTER)
if [[ "${1:-}" == "--mode" ]]; then
  modes=("$2")
  shift 2
fi
messages=${1:-400000}

source scripts/lib-bench.sh
if [[ ${#modes[@]} -gt 1 ]]; then
  for mode in "${modes[@]}"; do
    COMET_BENCH_BIN=$bin "$0" --mode "$mode" "$messages"
  done
  exit 0
fi
mode=${modes[0]}

work=$(mktemp -d /tmp/comet-bench-ha-XXXXXX)
source scripts/lib-cluster.sh

start_process namesrv "$bin/namesrv/comet-namesrv" listenPort=0 bindAddress=127.0.0.1 >/dev/null
namesrv=$ready_addr
common=(listenPort=0 haListenPort=0 bindAddress=127.0.0.1 namesrvAddr="$namesrv" brokerName=broker-a)
start_process master "$bin/broker/comet-broker" "${common[@]}" brokerRole="$mode" \
  storePathRootDir="$work/master" >/dev/null
start_process slave "$bin/broker/comet-broker" "${common[@]}" brokerRole=SLAVE brokerId=1 \
  storePathRootDir="$work/slave" >/dev/null
wait_for_line slave "streaming from master" >/dev/null
wait_for_line master "in sync from offset" >/dev/null
bench_prepare

bench_run "$mode, single: one message per request, 256 in flight" --inflight 256
single=$(bench_throughput)
bench_run "$mode, batch: 32 messages per request, 32 in flight" --inflight 32 --batch 32
bench_run "$mode, single at half load ($((single / 2)) msgs/s)" --inflight 256 --rate $((single / 2))
"$bin/admin/comet-admin" haStatus -n "$namesrv" -b broker-a
