#!/usr/bin/env bash
# Makes sure everything the WebAssembly build needs is present, installing only what is missing,
# and says what it did. Sourced by scripts/build-wasm.sh (exports WASM_* variables); can also be
# run on its own: `bash scripts/wasm-toolchain.sh`.
#
# Two routes to a wasm32 compiler:
#   rustup  - a rustup toolchain that already has the wasm32-unknown-unknown target.
#   debian  - Debian's rustc-web/cargo-web/rust-web-src (a current rustc with std's source):
#             std is rebuilt for wasm32 with -Zbuild-std (RUSTC_BOOTSTRAP=1). Used where rustup
#             cannot download the target (closed networks, like ours).
# Exports: WASM_ROUTE, WASM_CARGO, WASM_RUSTC, WASM_LINKER, WASM_OPT, WASM_DIS, WASM_PACK,
#          WASM_BINDGEN.

set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export PATH="$HOME/.cargo/bin:$PATH"

say() { echo "==> $*"; }
die() { echo "error: $*" >&2; exit 1; }

apt_updated=0
apt_install() {
  say "installing Debian packages $* (apt-get)"
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# cargo install with --locked, falling back to the newest compatible dependencies when a locked
# version is missing from the registry.
cargo_install() {
  local crate="$1"; shift
  if ! cargo install "$crate" "$@" --locked; then
    say "cargo install $crate --locked failed; retrying without --locked"
    cargo install "$crate" "$@"
  fi
}

# ---- compiler route --------------------------------------------------------------------------
if command -v rustup >/dev/null 2>&1 &&
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  WASM_ROUTE=rustup
  WASM_CARGO="$(rustup which cargo)"
  WASM_RUSTC="$(rustup which rustc)"
  say "compiler: rustup toolchain with wasm32-unknown-unknown ($("$WASM_RUSTC" -V))"
else
  WASM_ROUTE=debian
  missing=()
  for p in rustc-web cargo-web rust-web-src; do deb_installed "$p" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  else
    say "Debian packages rustc-web cargo-web rust-web-src already installed"
  fi
  WASM_CARGO=/usr/bin/cargo
  WASM_RUSTC=/usr/bin/rustc
  sysroot="$("$WASM_RUSTC" --print sysroot)"
  [ -f "$sysroot/lib/rustlib/src/rust/library/std/Cargo.toml" ] ||
    die "std source not found under $sysroot/lib/rustlib/src/rust (package rust-web-src)"
  say "compiler: Debian $("$WASM_RUSTC" -V), std rebuilt for wasm32 with -Zbuild-std"
  # wasm-pack refuses to build unless `rustc --print target-libdir` exists for the target. With
  # -Zbuild-std nothing is read from there; an empty directory satisfies the check.
  libdir="$("$WASM_RUSTC" --target wasm32-unknown-unknown --print target-libdir)"
  if [ ! -d "$libdir" ]; then
    say "creating empty $libdir (system dir; only so wasm-pack's target check passes)"
    mkdir -p "$libdir"
  fi
fi

# ---- linker (the Debian route needs one; rustup's toolchain brings rust-lld) ------------------
lld_ok() { [ -x "$1" ] && "$1" -flavor wasm --version >/dev/null 2>&1; }
WASM_LINKER=""
if [ "$WASM_ROUTE" = debian ]; then
  candidates=()
  if command -v rustup >/dev/null 2>&1; then
    host="$("$(rustup which rustc 2>/dev/null || echo rustc)" -vV 2>/dev/null | sed -n 's/^host: //p')"
    rsys="$("$(rustup which rustc 2>/dev/null || echo rustc)" --print sysroot 2>/dev/null || true)"
    [ -n "$rsys" ] && candidates+=("$rsys/lib/rustlib/$host/bin/rust-lld")
  fi
  candidates+=(/usr/bin/rust-lld /usr/bin/wasm-ld-22 /usr/bin/wasm-ld)
  for c in "${candidates[@]}"; do
    if lld_ok "$c"; then WASM_LINKER="$c"; break; fi
  done
  if [ -z "$WASM_LINKER" ]; then
    apt_install lld
    lld_ok /usr/bin/wasm-ld && WASM_LINKER=/usr/bin/wasm-ld
  fi
  [ -n "$WASM_LINKER" ] || die "no working wasm linker (rust-lld / wasm-ld) found"
  say "linker: $WASM_LINKER ($("$WASM_LINKER" -flavor wasm --version | head -1))"
fi

# ---- wasm-bindgen CLI (must equal the crate's exact pin) --------------------------------------
if [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION already installed"
else
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (cargo install)"
  cargo_install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
WASM_BINDGEN="$(command -v wasm-bindgen)"

# ---- wasm-pack (from crates.io; the npm wrapper downloads binaries and cannot work here) -------
if wasm-pack --version >/dev/null 2>&1; then
  say "$(wasm-pack --version) already installed"
  WASM_PACK="$(command -v wasm-pack)"
else
  say "installing wasm-pack (cargo install)"
  if cargo_install wasm-pack; then
    WASM_PACK="$(command -v wasm-pack)"
  else
    say "wasm-pack could not be installed; building with cargo + wasm-bindgen directly"
    WASM_PACK=""
  fi
fi

# ---- wasm-opt / wasm-dis from the npm `binaryen` devDependency ---------------------------------
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
WASM_DIS="$ROOT/node_modules/.bin/wasm-dis"
if [ ! -x "$WASM_OPT" ] || [ ! -x "$WASM_DIS" ]; then
  say "installing npm devDependencies for binaryen's wasm-opt (npm install)"
  (cd "$ROOT" && npm install --no-audit --no-fund)
fi
[ -x "$WASM_OPT" ] || die "node_modules/.bin/wasm-opt missing after npm install"
say "$("$WASM_OPT" --version) (npm binaryen)"

export WASM_ROUTE WASM_CARGO WASM_RUSTC WASM_LINKER WASM_OPT WASM_DIS WASM_PACK WASM_BINDGEN
