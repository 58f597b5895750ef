#!/usr/bin/env bash
# Installs the pinned RocketMQ client (ali-ons, tests/rocketmq_client/package-lock.json) into
# tests/rocketmq_client/node_modules with `npm ci`, unless it is there already for this lock file
# (its hash is kept in node_modules/.comet-lock-hash). Run by ctest before the RocketMQ client
# tests (the rocketmq_client_npm_ci fixture) and by hand; needs node and npm
# (scripts/install-deps.sh) and, the first time, the npm registry.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../tests/rocketmq_client" && pwd)"
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "rocketmq-client-deps: no $tool on PATH (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
done
hash="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
stamp="$dir/node_modules/.comet-lock-hash"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
  echo "rocketmq-client-deps: node_modules current ($(node --version))"
  exit 0
fi
cd "$dir"
npm ci --no-audit --no-fund --loglevel=error
echo "$hash" > "$stamp"
echo "rocketmq-client-deps: installed ali-ons with node $(node --version)"
