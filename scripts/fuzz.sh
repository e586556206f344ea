#!/usr/bin/env bash
# Fuzzes the core's entry points with cargo fuzz (libFuzzer): `call` (any op, dtype, args and
# buffers), `step` (step tables and the kernels behind them), `model` (the model ops' header,
# layer table and passes). A crash (panic, overflow, out-of-bounds access) fails the run and
# leaves the input in fuzz/artifacts/<target>/. Corpora grow in fuzz/corpus/ (git-ignored).
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET=15] [TARGET...]
#
# cargo fuzz needs nightly flags (-Z...); RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
# AddressSanitizer is used when the toolchain ships its runtime (rustup's does); otherwise the
# targets still catch panics and overflows (debug assertions are on), without ASan.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { echo "==> $*"; }
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1

secs="${1:-15}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(call step model)

if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz (cargo install)"
  cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi

sysroot="$(rustc --print sysroot)"
host="$(rustc -vV | sed -n 's/^host: //p')"
if compgen -G "$sysroot/lib/rustlib/$host/lib/*asan*" >/dev/null; then
  sanitizer=address
else
  sanitizer=none
  say "this toolchain has no AddressSanitizer runtime: fuzzing without ASan"
fi

say "building fuzz targets (cargo fuzz build, sanitizer $sanitizer)"
(cd fuzz && cargo fuzz build -O -s "$sanitizer")

status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  log="$(mktemp)"
  say "fuzzing $t for ${secs}s"
  if (cd fuzz && cargo fuzz run -O -s "$sanitizer" "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 \
    -timeout=20 -print_final_stats=1 >"$log" 2>&1); then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    say "$t: ${runs:-?} executions in ${secs}s, no crash"
  else
    status=1
    grep -E "panicked at|ERROR: |SUMMARY|artifact_prefix|Test unit written" "$log" | head -n 20 >&2
    echo "fuzz target $t crashed; full log: $log" >&2
    continue
  fi
  rm -f "$log"
done
exit "$status"
