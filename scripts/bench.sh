#!/usr/bin/env bash
# Runs the benchmark suite (bench/optimizers.bench.mjs through the benny harness bench/harness.mjs)
# and the C reference (bench/c/adam_ref.c, when gcc is available), after making sure the npm
# dependencies, both bindings and dist/ exist (each build step skips work when up to date).
#
#   bash scripts/bench.sh                          # full suite, ~3-5 minutes on a 2-core machine
#   bash scripts/bench.sh --sizes 1e3,1e4 --no-c   # extra arguments go to the suite
#
# Results: bench/results/latest.json (same shape as `downhill bench --json`, plus c-ref rows),
# bench/results/latest.md (the README table), benny's own JSON/chart files in bench/results/benny/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS=0

if [[ ! -d node_modules/benny ]]; then
  echo "==> installing npm dependencies"
  if [[ -f package-lock.json ]]; then npm ci; else npm install; fi
fi

bash scripts/build-native.sh
bash scripts/build-wasm.sh
echo "==> compiling TypeScript (dist/)"
npx tsc -p .

if ! command -v gcc >/dev/null 2>&1; then
  echo "==> gcc not found: the C reference columns (c-ref, c-ref-2t) will be empty"
fi

echo "==> running the benchmark suite (bench/optimizers.bench.mjs)"
node bench/optimizers.bench.mjs "$@"

echo "==> done in ${SECONDS}s"
echo "    bench/results/latest.md    (table for the README)"
echo "    bench/results/latest.json  (machine + rows, as 'downhill bench --json')"
echo "    bench/results/benny/       (benny's own JSON and chart.html per suite)"
