# Sourced by the benchmark scripts. Sets $bin: $COMET_BENCH_BIN, or a Release build in
# build-release/ made now (the packages installed first). After a cluster is up ($namesrv, $work,
# $messages set):
#   bench_prepare             creates BenchTopic (8 queues) and runs the unreported warm-up
#   bench_run LABEL ARGS...   comet-bench produce on BenchTopic, printed under "== LABEL"
#   bench_throughput          msgs/s of the last bench_run
bin=${COMET_BENCH_BIN:-}
if [[ -z "$bin" ]]; then
  bash scripts/install-deps.sh
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOMET_BUILD_TESTS=OFF >/dev/null
  ninja -C build-release comet-namesrv comet-broker comet-bench comet-admin >/dev/null
  bin=build-release
fi

# The warm-up covers connections, routes, and the broker's first pre-fault of a fresh 1 GiB
# segment (see docs/benchmarks.md: first touch of memory is slow on this VM).
# $bench_topic_target: where updateTopic creates BenchTopic (default: every master of the cluster).
bench_prepare() {
  "$bin/admin/comet-admin" updateTopic -n "$namesrv" ${bench_topic_target:--c DefaultCluster} \
    -t BenchTopic -r 8 -w 8 \
    >/dev/null
  "$bin/bench/comet-bench" produce -n "$namesrv" -t BenchTopic --messages 200000 --inflight 256 \
    >/dev/null
}

bench_run() {
  local label=$1
  shift
  echo "== $label"
  "$bin/bench/comet-bench" produce -n "$namesrv" -t BenchTopic --messages "$messages" "$@" |
    tee "$work/last.txt"
  echo
}
bench_throughput() { awk '/throughput/ {print int($2)}' "$work/last.txt"; }
