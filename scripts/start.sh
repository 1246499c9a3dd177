#!/usr/bin/env bash
# Runs Edge in the foreground (local mode unless a config says otherwise), installing npm packages first on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh runtime
[ -f dist/src/cli.js ] && [ ! src/cli.ts -nt dist/src/cli.js ] || npx tsc -p tsconfig.json
# V8 flags: src/agent-v8-flags.ts says why.
exec node --max-semi-space-size=32 bin/bifrost-edge.js run "$@"
