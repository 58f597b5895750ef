# Sourced by scripts that run a local cluster: start_process NAME CMD... runs CMD with stdout on a
# fifo, waits (30 s at most) for its "<name> ready on host:port" line and sets $ready_addr.
# Every process started is stopped by PID (SIGTERM, then waited for) when the script exits, and
# the work directory is removed.
# Needs: $work (an existing directory); fills the array pids.
pids=()
declare -A out_fds
cleanup_cluster() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup_cluster EXIT

start_process() {
  local name=$1
  shift
  mkfifo "$work/$name.out"
  "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  exec {fd}<"$work/$name.out"
  local line=""
  # Lifecycle lines may come first (a DLedger member can hear of a leader before it is ready).
  while [[ "$line" != *" ready on "* ]]; do
    if ! read -r -t 30 -u "$fd" line; then
      echo "$name did not start; its log:" >&2
      cat "$work/$name.log" >&2
      exit 1
    fi
  done
  echo "$line"
  ready_addr=${line##* }
  out_fds[$name]=$fd
}

# wait_for_line NAME TEXT: reads NAME's stdout (30 s at most) until a line contains TEXT.
wait_for_line() {
  local name=$1 text=$2 line
  while read -r -t 30 -u "${out_fds[$name]}" line; do
    if [[ "$line" == *"$text"* ]]; then
      echo "$line"
      return 0
    fi
  done
  echo "$name printed no line with '$text' within 30 s; its log:" >&2
  tail -20 "$work/$name.log" >&2
  exit 1
}
