#!/usr/bin/env bash
# Builds the two WebAssembly builds of the backend, each into its own folder:
#
#   bindings/wasm/          single-threaded: crates/wasm for wasm32-unknown-unknown with simd128
#                           and panic=abort; its own linear memory per instance.
#   bindings/wasm-threads/  threaded (ARCHITECTURE.md, "Threaded WASM"): the same crate with its
#                           `threads` feature, +atomics,+bulk-memory,+mutable-globals, a shared
#                           imported memory (at most 4 GiB), std rebuilt with those features.
#
# Each gets wasm-bindgen glue for `--target web` (the TS backend instantiates the `_bg.wasm`
# itself), then binaryen's wasm-opt -O3, then a check of its instructions: SIMD in both, atomics
# in the threaded build and none in the single one. Installs only missing tools
# (scripts/wasm-toolchain.sh).
#
#   bash scripts/build-wasm.sh                     # both; skips a build whose outputs are up to date
#   WASM_VARIANTS=single bash scripts/build-wasm.sh  # only one (single | threads)
#   FORCE=1 bash scripts/build-wasm.sh             # rebuilds anyway
#   NO_WASM_PACK=1 ...                             # cargo build + wasm-bindgen without wasm-pack

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS=0

# Per variant: output folder, cargo target dir (apart from the native build's target/, and from
# each other: their RUSTFLAGS differ, and sharing a dir would rebuild std on every switch).
out_of() { [ "$1" = threads ] && echo bindings/wasm-threads || echo bindings/wasm; }
target_of() { [ "$1" = threads ] && echo "$ROOT/target/wasm-threads" || echo "$ROOT/target/wasm"; }
outputs_of() {
  local o
  o="$(out_of "$1")"
  echo "$o/downhill_wasm.js" "$o/downhill_wasm_bg.wasm" "$o/downhill_wasm.d.ts"
}

# ---- up to date? ------------------------------------------------------------------------------
up_to_date() {
  local outs o oldest
  read -r -a outs <<<"$(outputs_of "$1")"
  for o in "${outs[@]}"; do [ -f "$o" ] || return 1; done
  # Any source, manifest, lockfile or this build's scripts newer than the oldest output?
  oldest="$(ls -tr "${outs[@]}" | head -1)"
  [ -z "$(find crates/core crates/wasm Cargo.toml Cargo.lock scripts/build-wasm.sh \
    scripts/wasm-toolchain.sh -newer "$oldest" -print -quit 2>/dev/null)" ]
}

VARIANTS=()
for v in ${WASM_VARIANTS:-single threads}; do
  case "$v" in
    single | threads) ;;
    *) echo "error: WASM_VARIANTS: unknown variant '$v' (single | threads)" >&2; exit 1 ;;
  esac
  if [ "${FORCE:-0}" != 1 ] && up_to_date "$v"; then
    echo "==> $(out_of "$v") up to date (FORCE=1 to rebuild)"
  else
    VARIANTS+=("$v")
  fi
done
[ "${#VARIANTS[@]}" -gt 0 ] || exit 0

# ---- tools ------------------------------------------------------------------------------------
# shellcheck source=wasm-toolchain.sh
source "$ROOT/scripts/wasm-toolchain.sh"

# The workspace's release profile unwinds (the napi addon catches panics); here a panic must
# abort, i.e. trap the instance (ts/backend/wasm.ts recovers from traps).
export CARGO_PROFILE_RELEASE_PANIC=abort
CARGO_ARGS=()
if [ "$WASM_ROUTE" = debian ]; then
  # Debian's cargo/rustc first on PATH: wasm-pack runs `cargo` and `rustc` from PATH.
  export PATH="$(dirname "$WASM_CARGO"):$PATH"
  export RUSTC="$WASM_RUSTC"
  export RUSTC_BOOTSTRAP=1 # -Zbuild-std on a stable compiler
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$WASM_LINKER"
  CARGO_ARGS=(-Zbuild-std=std,panic_abort)
fi

# The feature set LLVM's generic wasm32 CPU + simd128 emits (see `wasm-opt --print-features`);
# the threaded build adds atomics and shared memory (binaryen's "threads").
FEATURES=(--enable-simd --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
  --enable-call-indirect-overlong)

build() {
  local variant="$1" out wasm flags features cargo_args
  out="$(out_of "$variant")"
  wasm="$out/downhill_wasm_bg.wasm"
  export CARGO_TARGET_DIR
  CARGO_TARGET_DIR="$(target_of "$variant")"
  features=("${FEATURES[@]}")
  cargo_args=("${CARGO_ARGS[@]}")
  flags="-C target-feature=+simd128"
  if [ "$variant" = threads ]; then
    # The linker is told what wasm-bindgen's thread transform needs: a shared memory that the
    # instance imports (every thread's instance gets the same one) and the thread-local-storage
    # symbols it initialises per thread. A shared memory cannot grow past its declared maximum,
    # so that is wasm32's 4 GiB (V8 reserves the address space of every memory anyway).
    flags="-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals"
    for a in --shared-memory --import-memory --max-memory=4294967296 --export=__wasm_init_tls \
      --export=__tls_size --export=__tls_align --export=__tls_base; do
      flags+=" -C link-arg=$a"
    done
    features+=(--enable-threads)
    cargo_args+=(--features threads)
  fi
  export RUSTFLAGS="$flags"

  mkdir -p "$out"
  if [ -n "$WASM_PACK" ] && [ "${NO_WASM_PACK:-0}" != 1 ]; then
    echo "==> [$variant] wasm-pack build (route: $WASM_ROUTE; wasm-opt is run below, not by wasm-pack)"
    # --mode no-install: use the wasm-bindgen CLI on PATH, never download one.
    WASM_PACK_NO_UPDATE_CHECK=1 "$WASM_PACK" build crates/wasm --release --target web \
      --mode no-install --no-pack --no-opt --no-gitignore \
      --out-dir "../../$out" --out-name downhill_wasm -- "${cargo_args[@]}"
  else
    echo "==> [$variant] cargo build + wasm-bindgen (route: $WASM_ROUTE)"
    "$WASM_CARGO" build -p downhill-wasm --lib --release --target wasm32-unknown-unknown "${cargo_args[@]}"
    "$WASM_BINDGEN" --target web --out-dir "$out" --out-name downhill_wasm \
      "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/downhill_wasm.wasm"
  fi
  rm -f "$out/package.json" "$out/README.md" "$out/.gitignore"

  # ---- optimize -------------------------------------------------------------------------------
  local before
  before=$(stat -c %s "$wasm")
  echo "==> [$variant] wasm-opt -O3 ($before bytes before)"
  "$WASM_OPT" -O3 "${features[@]}" "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
  touch "$out/downhill_wasm.js" "$out/downhill_wasm.d.ts" # the outputs share one build time

  # ---- verify SIMD and atomics ----------------------------------------------------------------
  local text simd atomics shared
  text="$(mktemp)"
  "$WASM_DIS" "${features[@]}" "$wasm" >"$text"
  simd=$(grep -c 'f32x4' "$text" || true)
  atomics=$(grep -cE '\b(i32|i64)\.atomic\.|memory\.atomic\.(wait|notify)|atomic\.fence' "$text" || true)
  shared=$(grep -cE '^ *\(import .*\(memory .* shared\)' "$text" || true)
  rm -f "$text"
  if [ "$simd" -eq 0 ]; then
    echo "error: $wasm contains no f32x4 instructions: simd128 was not used" >&2
    exit 1
  fi
  if [ "$variant" = threads ]; then
    if [ "$atomics" -eq 0 ] || [ "$shared" -eq 0 ]; then
      echo "error: $wasm has $atomics atomic instructions and $shared shared memory imports: not a threaded build" >&2
      exit 1
    fi
  elif [ "$atomics" -ne 0 ] || [ "$shared" -ne 0 ]; then
    echo "error: $wasm has $atomics atomic instructions / $shared shared memories: the single-threaded build must have none" >&2
    exit 1
  fi
  echo "==> [$variant] checks: $simd f32x4 instructions, $atomics atomic instructions, $shared shared memory import(s)"
  echo "==> [$variant] built $out: $(stat -c %s "$wasm") bytes wasm"
}

for v in "${VARIANTS[@]}"; do build "$v"; done
echo "==> WASM build(s) done in ${SECONDS}s"
