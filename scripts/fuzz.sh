#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan + UBSan) in build-fuzz/ and runs each
# for a bounded time from its seed corpus.
#   scripts/fuzz.sh [seconds per target (30)] [target ...]
# Targets: frame_fuzzer (the frame decoder), record_fuzzer (the CommitLog record decoder),
# broker_fuzzer (every request handler of an in-process broker), metadata_record_fuzzer (the
# metadata records a replica applies from the CommitLog), timer_fuzzer (timer log entries and the
# TIMER_*/REAL_* properties of timer messages), transaction_fuzzer (op records and the half,
# check-copy and commit rewrites of transactional messages), index_file_fuzzer (a recovered message
# index file: validation, repair, look-ups and undo), rocketmq_fuzzer (the RocketMQ 4.x headers,
# frames, batch and store-format bodies, JSON bodies and zlib bodies), rocketmq_session_fuzzer (a
# RocketMQ connection's frames through RocketmqSession, and its native answers back), acl_fuzzer
# (accounts files, whitelist patterns, credentials files, and signed frames through a broker's
# access-control gate), tls_detect_fuzzer (a TLS server port's test of a connection's first
# bytes), fault_rule_fuzzer (comet-faultfs's control lines). Inputs that
# once failed are kept in tests/fuzz/regressions/<target name>-* and are run first. A failure
# prints the fuzzer's report and leaves the input in build-fuzz/artifacts/; replay it with
#   build-fuzz/tests/fuzz/<target> build-fuzz/artifacts/<file>
# Installs the packages first (clang and its sanitizer runtimes among them), as scripts/test.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

seconds=${1:-30}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(frame_fuzzer record_fuzzer broker_fuzzer metadata_record_fuzzer timer_fuzzer
    transaction_fuzzer index_file_fuzzer rocketmq_fuzzer rocketmq_session_fuzzer acl_fuzzer
    tls_detect_fuzzer fault_rule_fuzzer)
fi

cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
  -DCOMET_FUZZ=ON -DCOMET_BUILD_TESTS=OFF -DCOMET_BUILD_BENCH=OFF \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 >/dev/null
ninja -C build-fuzz fuzz_seeds "${targets[@]}"

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
corpus=build-fuzz/corpus
rm -rf "$corpus/seeds"
build-fuzz/tests/fuzz/fuzz_seeds "$corpus/seeds"
mkdir -p build-fuzz/artifacts
failed=0
for t in "${targets[@]}"; do
  name=${t%_fuzzer}
  bin=build-fuzz/tests/fuzz/$t
  log=build-fuzz/$t.log
  mkdir -p "$corpus/$name"
  regressions=(tests/fuzz/regressions/"$name"-*)
  if [[ -e "${regressions[0]}" ]] && ! "$bin" "${regressions[@]}" >"$log" 2>&1; then
    echo "fuzz: $t fails on a kept regression input:"
    tail -40 "$log"
    failed=1
    continue
  fi
  # -timeout: one input taking 10 s is a finding; -rss_limit_mb bounds memory.
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -print_funcs=0 -artifact_prefix=build-fuzz/artifacts/"$t"- "$corpus/$name" \
    "$corpus/seeds/$name" >"$log" 2>&1; then
    runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    cov=$(grep -E '^#[0-9]+\s+DONE' "$log" | grep -oE 'cov: [0-9]+' | tail -1)
    echo "fuzz: $t: ${runs:-?} inputs in ${seconds} s, ${cov:-cov: ?}, no failure"
  else
    echo "fuzz: $t FAILED; the report:"
    grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)' "$log" | tail -60
    failed=1
  fi
done
exit $failed
