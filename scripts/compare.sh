#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (README's first command): installs the packages,
# builds Release, and runs comet-bench compare twice. For each replication mode (one broker, async
# master/slave, sync master/slave, a 3-member DLedger group) it starts a fresh local cluster in a
# temporary directory, sends the same workload (1 KiB messages), reads every message back and
# checks it, and stops the cluster:
#   1. steady state: throughput and latency (results in comet-compare/);
#   2. the failover drill half way (SIGKILL the master or leader; promoteSlave for master/slave,
#      then the killed broker restarts): the outage and acked messages lost (comet-compare-failover/).
# Each prints a table and writes results.csv, results.json and chart.svg. About a minute and a half.
#   scripts/compare.sh                      both runs, 100,000 messages per mode each
#   scripts/compare.sh [compare options]    one run with those options (comet-bench compare --help)
# COMET_BENCH_BIN=<build dir> uses that build instead of installing and building.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${COMET_BENCH_BIN:-}
if [[ -z "$bin" ]]; then
  bash scripts/install-deps.sh
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOMET_BUILD_TESTS=OFF >/dev/null
  ninja -C build-release comet-namesrv comet-broker comet-bench comet-admin
  bin=build-release
fi
if [[ $# -gt 0 ]]; then exec "$bin/bench/comet-bench" compare "$@"; fi
status=0
"$bin/bench/comet-bench" compare --messages 100000 --out comet-compare || status=$?
"$bin/bench/comet-bench" compare --messages 100000 --failover --out comet-compare-failover ||
  status=$?
exit $status
