#!/usr/bin/env bash
# Producer throughput and latency against a DLedger group (issue 5's benchmark): starts a
# comet-namesrv and three members of one Raft group (ASYNC_FLUSH, stores in a temporary
# directory), waits for a leader, then runs comet-bench produce with 1 KiB messages exactly as
# scripts/bench-ha.sh does: one message per request at full speed (256 in flight), batches of 32,
# and one message per request paced at half of the full-speed throughput (for p50/p99 latency).
# A warm-up run of 200,000 messages comes first and is not reported.
#   scripts/bench-dledger.sh [messages]     default 400000 per run
# The members' DLedger ports are COMET_DLEDGER_PORT (default 40911) and the next two.
# COMET_BENCH_BIN=<build dir> uses that build; default: a Release build in build-release/.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-400000}
port=${COMET_DLEDGER_PORT:-40911}

source scripts/lib-bench.sh
work=$(mktemp -d /tmp/comet-bench-dledger-XXXXXX)
source scripts/lib-cluster.sh

start_process namesrv "$bin/namesrv/comet-namesrv" listenPort=0 bindAddress=127.0.0.1 >/dev/null
namesrv=$ready_addr
peers="n0-127.0.0.1:$port;n1-127.0.0.1:$((port + 1));n2-127.0.0.1:$((port + 2))"
addrs=()
for i in 0 1 2; do
  start_process "n$i" "$bin/broker/comet-broker" listenPort=0 bindAddress=127.0.0.1 \
    namesrvAddr="$namesrv" brokerName=broker-a enableDLegerCommitLog=true dLegerGroup=broker-a \
    dLegerPeers="$peers" dLegerSelfId="n$i" storePathRootDir="$work/n$i" >/dev/null
  addrs+=("$ready_addr")
done
led=$(wait_for_line n0 "is led by")
leader=${led##*is led by n}
leader=${leader%% *}
bench_topic_target="-b ${addrs[$leader]}"  # the followers learn it from the leader
bench_prepare

bench_run "DLEDGER (3 members), single: one message per request, 256 in flight" --inflight 256
single=$(bench_throughput)
bench_run "DLEDGER (3 members), batch: 32 messages per request, 32 in flight" --inflight 32 \
  --batch 32
bench_run "DLEDGER (3 members), single at half load ($((single / 2)) msgs/s)" --inflight 256 \
  --rate $((single / 2))
"$bin/admin/comet-admin" dledgerStatus -n "$namesrv" -b broker-a
