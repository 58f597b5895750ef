#!/usr/bin/env bash
# Many topics on one broker (issue 25): comet-bench scale with the release build, for 1, 100,
# 1,000 and 10,000 topics of 8 queues, 1 KiB messages, 4 per queue at 10,000 topics (320,000).
# Prints the table docs/benchmarks.md quotes ("Many topics") and writes results.csv,
# results.json and scale-chart.svg to the output directory.
#   scripts/bench-scale.sh [out-dir] [topics-list]   default ./comet-scale, 1,100,1000,10000
#   any further arguments go to comet-bench scale (e.g. --disk-budget-gb 8)
# COMET_BENCH_BIN=<build dir> uses that build; default: a Release build in build-release/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-comet-scale}
topics=${2:-1,100,1000,10000}
shift $(($# > 2 ? 2 : $#))

source scripts/lib-bench.sh
"$bin/bench/comet-bench" scale --topics-list "$topics" --queues-per-topic 8 --msg-size 1024 \
  --out "$out" "$@"
