#!/usr/bin/env bash
# Builds comet and runs every test with ctest.
#   scripts/test.sh              Release-with-debug-info build in build/, all tests
#   scripts/test.sh --sanitize   AddressSanitizer + UBSan build in build-asan/, the unit suite
#   scripts/test.sh --tsan       ThreadSanitizer build in build-tsan/, the concurrency-heavy suites
# Works on a fresh Debian 12 machine by itself: it installs the packages first (a quick check when
# they are present).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

build_dir=build
# Line tables only (-g1): backtraces keep file:line, and the -O2 build takes a fifth less time
# than with full debug info (-g), most of CI's time being compilation. (The sanitizer builds
# below are Debug builds, with -g.)
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")
if [[ "${1:-}" == "--sanitize" ]]; then
  build_dir=build-asan
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DCOMET_SANITIZE=ON -DCOMET_BUILD_BENCH=OFF)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # The Raft simulation is ~50x slower in this build: fewer seeds (the plain build runs
  # 1000 + 500) keep every code path under the sanitizers at a tenth of the time.
  export COMET_RAFT_SEEDS=${COMET_RAFT_SEEDS:-60}
  # Likewise the master/slave simulation (2,000 seeds in the plain build).
  export COMET_HA_SEEDS=${COMET_HA_SEEDS:-100}
fi
ctest_args=()
targets=()
# Under ASan + UBSan, the unit suite (the multi-process tests run in the plain build; sanitized,
# their build and their run would double CI's time).
if [[ "${1:-}" == "--sanitize" ]]; then
  ctest_args=(-L unit)
  targets=(unit_tests)
fi
if [[ "${1:-}" == "--tsan" ]]; then
  build_dir=build-tsan
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DCOMET_TSAN=ON -DCOMET_BUILD_BENCH=OFF)
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  ctest_args=(-R "Remoting|FrameCodec|Concurrency|CommitLog|Watermark|RouteInfo|NamesrvController|Producer|ConsumerTest|RetryTest|TopicDeletion|ScheduleMessageService|MessageIndex|RocketmqSession|RocketmqConnection|TlsConnection|TlsStream|SignedSession|RebalanceLock|AclGate|MappingCache|SparseConsumeQueue|PullRequestHoldService")
  # Only the executables of those suites: the TSan build is the slowest per file.
  targets=(remoting_test concurrency_test commit_log_test watermark_test namesrv_test
           producer_test consumer_test topic_deletion_test schedule_message_service_test
           message_index_test rocketmq_session_test rocketmq_connection_test tls_connection_test
           tls_stream_test rebalance_lock_manager_test acl_gate_test signed_session_test
           mapping_cache_test sparse_queue_test pull_request_hold_service_test)
fi
if [[ -n "${CI:-}" ]]; then cmake_args+=(-DCOMET_WERROR=ON); fi
# Unity builds (8 sources per compiler run): the sources of a library share Asio, spdlog and
# FlatBuffers, so one run parses and instantiates them once instead of eight times; the build
# takes about a third less time. Translation-unit-local names must therefore be unique within a
# library (the plain CMake build, without this, checks that every file has its own includes).
cmake_args+=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8)

cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}" >/dev/null
ninja -C "$build_dir" "${targets[@]}"
cd "$build_dir"
ctest --output-on-failure -j"$(nproc)" --timeout 300 "${ctest_args[@]}"
