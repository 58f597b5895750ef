#!/usr/bin/env bash
# TLS and access control against plaintext, alternated (issue 23's benchmark): for each round and
# each mode, comet-bench compare on a fresh cluster with both off, then with --tls --acl, so that
# the machine's drift hits both sides of a pair alike. Prints every run, then per mode the median
# of each side and their ratio, which docs/benchmarks.md quotes ("A TLS stream of our own").
# Runs of one setting differ by up to 50 % on the shared 2-vCPU VM (fresh page-cache pages), so
# take several rounds.
#   scripts/bench-security.sh [rounds] [modes]    default 3 rounds of single,async,sync,dledger
#   COMET_BENCH_MESSAGES=N (default 400000; warm-up half that)
#   COMET_BENCH_RATES=mode=rate,...   pace those modes at that many msgs/s (the half-load run:
#     e.g. single=72000,async=63000,sync=67000,dledger=41000); the table then compares p99s
#   COMET_BENCH_BASELINE=<build dir>  a third run per round and mode, after "off": TLS + ACL with
#     that build's binaries ("before"), so that a change to the secure path is measured against
#     its baseline in the same rounds
# COMET_BENCH_BIN=<build dir> uses that build; default: a Release build in build-release/.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
modes=${2:-single,async,sync,dledger}
messages=${COMET_BENCH_MESSAGES:-400000}
rates=${COMET_BENCH_RATES:-}
baseline=${COMET_BENCH_BASELINE:-}
settings=(off on)
[[ -n $baseline ]] && settings=(off before on)

source scripts/lib-bench.sh
work=$(mktemp -d /tmp/comet-bench-security-XXXXXX)
trap 'rm -rf "$work"' EXIT

# The --rate of `mode` from COMET_BENCH_RATES, or nothing.
rate_of() { tr ',' '\n' <<<"$rates" | awk -F= -v m="$1" '$1 == m {print $2}'; }

results="$work/results.txt"  # round mode setting msgs/s p99-ms
for round in $(seq 1 "$rounds"); do
  for mode in ${modes//,/ }; do
    pace=()
    rate=$(rate_of "$mode")
    [[ -n $rate ]] && pace=(--rate "$rate")
    for setting in "${settings[@]}"; do
      security=()
      [[ $setting != off ]] && security=(--tls --acl --certs-dir "$work/certs")
      run_bin=$bin
      [[ $setting == before ]] && run_bin=$baseline
      out="$work/$round-$mode-$setting"
      "$run_bin/bench/comet-bench" compare --modes "$mode" --messages "$messages" \
        --warmup $((messages / 2)) "${pace[@]}" "${security[@]}" --out "$out" >"$out.log" 2>&1 || {
        echo "round $round $mode $setting failed:" >&2
        tail -5 "$out.log" >&2
        exit 1
      }
      # | mode | brokers | msgs/s | MB/s | p50 ms | p90 ms | p99 ms | ...
      read -r msgs p99 < <(awk -F'|' -v m="$mode" '$2 ~ "^ *" m " *$" {
        gsub(/ /, "", $4); gsub(/ /, "", $8); print $4, $8}' "$out.log")
      echo "round $round  $mode  $setting  $msgs msgs/s  p99 $p99 ms"
      echo "$round $mode $setting $msgs $p99" >>"$results"
    done
  done
done

# The median of column `col` of `mode`'s runs with `setting`.
median() {
  awk -v m="$1" -v s="$2" -v c="$3" '$2 == m && $3 == s {print $c}' "$results" | sort -g |
    awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
echo
before_head=""
[[ -n $baseline ]] && before_head=" median before | before / off |"
echo "| mode | median off (msgs/s) |$before_head median TLS + ACL | ratio | median p99 off → on (ms) |"
echo "|---|--:|--:|--:|--:|${baseline:+--:|--:|}"
percent() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f %%", 100 * a / b}'; }
for mode in ${modes//,/ }; do
  off=$(median "$mode" off 4)
  on=$(median "$mode" on 4)
  before_cells=""
  if [[ -n $baseline ]]; then
    before=$(median "$mode" before 4)
    before_cells=" ${before%.*} | $(percent "$before" "$off") |"
  fi
  echo "| $mode | ${off%.*} |$before_cells ${on%.*} | $(percent "$on" "$off") |" \
    "$(median "$mode" off 5) → $(median "$mode" on 5) |"
done
