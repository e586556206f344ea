#!/usr/bin/env bash
# Builds the WebAssembly backend into bindings/wasm/ (downhill_wasm.js, downhill_wasm_bg.wasm,
# downhill_wasm.d.ts): crates/wasm compiled for wasm32-unknown-unknown with simd128 and
# panic=abort, wasm-bindgen glue for `--target web` (works in Node ESM and browsers), then
# binaryen's wasm-opt -O3. Installs only missing tools (scripts/wasm-toolchain.sh).
#
#   bash scripts/build-wasm.sh           # skips the build when the outputs are up to date
#   FORCE=1 bash scripts/build-wasm.sh   # rebuilds anyway
#   NO_WASM_PACK=1 ...                   # cargo build + wasm-bindgen without wasm-pack

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT=bindings/wasm
WASM="$OUT/downhill_wasm_bg.wasm"
OUTPUTS=("$OUT/downhill_wasm.js" "$WASM" "$OUT/downhill_wasm.d.ts")
TARGET_DIR="$ROOT/target/wasm" # apart from the native build's target/
SECONDS=0

# ---- up to date? ------------------------------------------------------------------------------
up_to_date() {
  local o
  for o in "${OUTPUTS[@]}"; do [ -f "$o" ] || return 1; done
  # Any source, manifest, lockfile or this build's scripts newer than the oldest output?
  local oldest
  oldest="$(ls -tr "${OUTPUTS[@]}" | head -1)"
  [ -z "$(find crates/core crates/wasm Cargo.toml Cargo.lock scripts/build-wasm.sh \
    scripts/wasm-toolchain.sh -newer "$oldest" -print -quit 2>/dev/null)" ]
}
if [ "${FORCE:-0}" != 1 ] && up_to_date; then
  echo "==> bindings/wasm up to date (FORCE=1 to rebuild)"
  exit 0
fi

# ---- tools ------------------------------------------------------------------------------------
# shellcheck source=wasm-toolchain.sh
source "$ROOT/scripts/wasm-toolchain.sh"

# ---- compile ----------------------------------------------------------------------------------
export CARGO_TARGET_DIR="$TARGET_DIR"
# The workspace's release profile unwinds (the napi addon catches panics); here a panic must
# abort, i.e. trap the instance (ts/backend/wasm.ts recovers from traps).
export CARGO_PROFILE_RELEASE_PANIC=abort
export RUSTFLAGS="-C target-feature=+simd128"
CARGO_ARGS=()
if [ "$WASM_ROUTE" = debian ]; then
  # Debian's cargo/rustc first on PATH: wasm-pack runs `cargo` and `rustc` from PATH.
  export PATH="$(dirname "$WASM_CARGO"):$PATH"
  export RUSTC="$WASM_RUSTC"
  export RUSTC_BOOTSTRAP=1 # -Zbuild-std on a stable compiler
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$WASM_LINKER"
  CARGO_ARGS=(-Zbuild-std=std,panic_abort)
fi

mkdir -p "$OUT"
if [ -n "$WASM_PACK" ] && [ "${NO_WASM_PACK:-0}" != 1 ]; then
  echo "==> wasm-pack build (route: $WASM_ROUTE; wasm-opt is run below, not by wasm-pack)"
  # --mode no-install: use the wasm-bindgen CLI on PATH, never download one.
  WASM_PACK_NO_UPDATE_CHECK=1 "$WASM_PACK" build crates/wasm --release --target web \
    --mode no-install --no-pack --no-opt --no-gitignore \
    --out-dir ../../bindings/wasm --out-name downhill_wasm -- "${CARGO_ARGS[@]}"
else
  echo "==> cargo build + wasm-bindgen (route: $WASM_ROUTE)"
  "$WASM_CARGO" build -p downhill-wasm --lib --release --target wasm32-unknown-unknown "${CARGO_ARGS[@]}"
  "$WASM_BINDGEN" --target web --out-dir "$OUT" --out-name downhill_wasm \
    "$TARGET_DIR/wasm32-unknown-unknown/release/downhill_wasm.wasm"
fi
rm -f "$OUT/package.json" "$OUT/README.md" "$OUT/.gitignore"

# ---- optimize ---------------------------------------------------------------------------------
# The feature set LLVM's generic wasm32 CPU + simd128 emits (see `wasm-opt --print-features`).
FEATURES=(--enable-simd --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
  --enable-call-indirect-overlong)
before=$(stat -c %s "$WASM")
echo "==> wasm-opt -O3 ($before bytes before)"
"$WASM_OPT" -O3 "${FEATURES[@]}" "$WASM" -o "$WASM.opt"
mv "$WASM.opt" "$WASM"
touch "$OUT/downhill_wasm.js" "$OUT/downhill_wasm.d.ts" # the outputs share one build time

# ---- verify SIMD ------------------------------------------------------------------------------
simd=$("$WASM_DIS" "${FEATURES[@]}" "$WASM" | grep -c 'f32x4' || true)
if [ "$simd" -eq 0 ]; then
  echo "error: $WASM contains no f32x4 instructions: simd128 was not used" >&2
  exit 1
fi
echo "==> SIMD check: $simd f32x4 instructions in $WASM"
echo "==> built $OUT in ${SECONDS}s: $(stat -c %s "$WASM") bytes wasm"
