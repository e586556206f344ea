#!/usr/bin/env bash
# Runs the benchmark suite (bench/optimizers.bench.mjs: every optimizer with a core step, clip by
# norm and EMA, on native / native on one thread / wasm / js / the textbook JS loop, beside the
# exact-IEEE C reference bench/c/kernels.c at 1 and 2 threads and the memory probes), after the
# project's set-up (npm dependencies, both bindings, dist/; each step skips work when up to date).
# Each configuration runs in its own process; rounds are interleaved; medians reported.
#
#   bash scripts/bench.sh                          # everything, about 5 minutes on 2 cores
#   bash scripts/bench.sh --quick                  # Adam, SGD+momentum, LAMB, clip, EMA at 1e5..1e7
#   bash scripts/bench.sh --kernels adam,lion --sizes 1e5,1e6 --rounds 7 --no-c
#
# Results: bench/results/latest.json (every figure, with the machine and its load) and
# bench/results/latest.md (the README's tables). Compare figures of one run only.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS=0

bash scripts/setup.sh

if ! command -v gcc >/dev/null 2>&1; then
  echo "==> gcc not found: no C reference columns (Debian: apt-get install gcc)"
fi
echo "==> load average now: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (other work on the machine skews every figure)"

echo "==> running the benchmark suite (bench/optimizers.bench.mjs)"
node bench/optimizers.bench.mjs "$@"

echo "==> done in ${SECONDS}s"
echo "    bench/results/latest.md    (the README's tables)"
echo "    bench/results/latest.json  (every figure, the machine, its load average)"
