#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs the packages, builds Release, starts a local
# cluster (one comet-namesrv, one comet-broker, stores in a temporary directory), creates a topic,
# produces messages with comet-bench (one per request, then batches), shows the topic's status,
# consumes everything back with a push consumer group, shows the group's progress and a few
# messages, and stops everything it started (by PID) on exit.
#   scripts/demo.sh [messages]     default 200000 messages of 1 KiB
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-200000}

# COMET_DEMO_BIN=<build dir> runs already-built binaries instead of installing and building.
bin=${COMET_DEMO_BIN:-}
if [[ -z "$bin" ]]; then
  bash scripts/install-deps.sh
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOMET_BUILD_TESTS=OFF >/dev/null
  ninja -C build-release comet-namesrv comet-broker comet-bench comet-admin
  bin=build-release
fi

work=$(mktemp -d /tmp/comet-demo-XXXXXX)
source scripts/lib-cluster.sh

echo "== starting a local cluster in $work"
start_process namesrv "$bin/namesrv/comet-namesrv" listenPort=0 bindAddress=127.0.0.1
namesrv=$ready_addr
start_process broker "$bin/broker/comet-broker" listenPort=0 haListenPort=0 bindAddress=127.0.0.1 \
  namesrvAddr="$namesrv" storePathRootDir="$work/store" brokerName=broker-a
admin() { "$bin/admin/comet-admin" "$@" -n "$namesrv"; }

echo
echo "== clusterList"
admin clusterList
echo
echo "== updateTopic DemoTopic (8 queues)"
admin updateTopic -c DefaultCluster -t DemoTopic -r 8 -w 8
echo
echo "== producing $messages messages of 1 KiB, 256 in flight, one message per request"
"$bin/bench/comet-bench" produce -n "$namesrv" -t DemoTopic --messages "$messages" --inflight 256
echo
echo "== producing $messages more in batches of 32"
"$bin/bench/comet-bench" produce -n "$namesrv" -t DemoTopic --messages "$messages" --inflight 32 --batch 32
echo
echo "== topicStatus DemoTopic"
admin topicStatus -t DemoTopic
echo
echo "== consuming all $((2 * messages)) with a push consumer group (8 queues, 4 threads)"
"$bin/bench/comet-bench" consume -n "$namesrv" -t DemoTopic -g DemoGroup --messages $((2 * messages))
echo
echo "== consumerProgress DemoGroup: committed offsets and lag per queue"
admin consumerProgress -g DemoGroup -t DemoTopic
echo
echo "== consumeMessage: the first 3 messages of queue 0"
admin consumeMessage -t DemoTopic -i 0 -c 3
echo
echo "== brokerStatus"
admin brokerStatus -b "$(admin clusterList --json | grep -o '127\.0\.0\.1:[0-9]*' | head -1)"
echo
echo "== stopping the cluster"
