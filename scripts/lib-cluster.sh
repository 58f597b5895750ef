# Sourced by scripts that run a local cluster: start_process NAME CMD... runs CMD with stdout on a
# fifo, waits (30 s at most) for its "<name> ready on host:port" line and sets $ready_addr.
# Every process started is stopped by PID (SIGTERM, then waited for) when the script exits, and
# the work directory is removed.
# Needs: $work (an existing directory); fills the array pids.
pids=()
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
  local line
  if ! read -r -t 30 -u "$fd" line; then
    echo "$name did not start; its log:" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
  echo "$line"
  ready_addr=${line##* }
}
