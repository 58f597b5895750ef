#!/usr/bin/env bash
# TLS and access control against plaintext, alternated (issue 23's benchmark): for each round and
# each mode, comet-bench compare on a fresh cluster with both off, then with --tls --acl, so that
# the machine's drift hits both sides of a pair alike. Prints every run, then per mode the median
# of each side and their ratio, which docs/benchmarks.md quotes ("Signed sessions over TLS").
# Runs of one setting differ by up to 50 % on the shared 2-vCPU VM (fresh page-cache pages), so
# take several rounds.
#   scripts/bench-security.sh [rounds] [modes]    default 3 rounds of single,async,sync,dledger
#   COMET_BENCH_MESSAGES=N (default 400000; warm-up half that)
# COMET_BENCH_BIN=<build dir> uses that build; default: a Release build in build-release/.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
modes=${2:-single,async,sync,dledger}
messages=${COMET_BENCH_MESSAGES:-400000}

source scripts/lib-bench.sh
work=$(mktemp -d /tmp/comet-bench-security-XXXXXX)
trap 'rm -rf "$work"' EXIT

results="$work/results.txt"  # round mode setting msgs/s
for round in $(seq 1 "$rounds"); do
  for mode in ${modes//,/ }; do
    for setting in off on; do
      security=()
      [[ $setting == on ]] && security=(--tls --acl --certs-dir "$work/certs")
      out="$work/$round-$mode-$setting"
      "$bin/bench/comet-bench" compare --modes "$mode" --messages "$messages" \
        --warmup $((messages / 2)) "${security[@]}" --out "$out" >"$out.log" 2>&1 || {
        echo "round $round $mode $setting failed:" >&2
        tail -5 "$out.log" >&2
        exit 1
      }
      rate=$(awk -F'|' -v m="$mode" '$2 ~ "^ *" m " *$" {gsub(/ /, "", $4); print $4}' "$out.log")
      echo "round $round  $mode  $setting  $rate msgs/s"
      echo "$round $mode $setting $rate" >>"$results"
    done
  done
done

echo
echo "| mode | median off (msgs/s) | median TLS + ACL | ratio |"
echo "|---|--:|--:|--:|"
for mode in ${modes//,/ }; do
  median() { awk -v m="$mode" -v s="$1" '$2 == m && $3 == s {print $4}' "$results" | sort -n |
    awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
  off=$(median off)
  on=$(median on)
  echo "| $mode | $off | $on | $(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.0f %%", 100 * a / b}') |"
done
