#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, builds, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test
echo "==> lint" >&2
npx eslint .
echo "==> tests (compiles first, see test/global-setup.ts)" >&2
npx vitest run "$@"
