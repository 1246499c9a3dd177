#!/usr/bin/env bash
# npm run bench: installs what the benchmark needs (npm packages, Debian mitmproxy), builds, runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh runtime
# mitmproxy is the comparison; a C compiler builds the tunnel scenario's reference relay.
need=()
command -v mitmdump >/dev/null 2>&1 || need+=(mitmproxy)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
if [ "${#need[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${need[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
npx tsc -p tsconfig.json
# 1,000 concurrent streams need a few thousand sockets across the processes.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec node dist/bench/run-bench.js "$@"
