#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, builds, lints, type-checks the tests, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test
echo "==> lint" >&2
npx eslint .
echo "==> type check: src and the tests (tsconfig.test.json; vitest strips types without checking them)" >&2
npx tsc -p tsconfig.test.json
echo "==> tests (compiles first, see test/global-setup.ts)" >&2
npx vitest run "$@"
