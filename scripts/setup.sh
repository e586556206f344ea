#!/usr/bin/env bash
# Everything a fresh clone needs before it can run: npm dependencies, a host Rust toolchain, then
# the full build (scripts/build.sh: the native addon, the WASM build, ES modules, CommonJS and the
# browser bundle). Each step detects what is already there and says what it does; a second run
# does almost nothing.
#
#   bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { echo "==> $*"; }
SECONDS=0

command -v node >/dev/null || { echo "error: Node.js (>= 18) is required" >&2; exit 1; }

# npm dependencies: install when missing or when package-lock.json changed since the last install.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
else
  say "npm dependencies up to date"
fi

# A host Rust toolchain for the native addon: rustup's if present, else Debian's rustc-web.
export PATH="$HOME/.cargo/bin:$PATH"
if command -v cargo >/dev/null; then
  say "host Rust: $(cargo --version)"
else
  say "no cargo found: installing Debian packages rustc-web cargo-web (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc-web cargo-web >/dev/null
  say "host Rust: $(cargo --version)"
fi

# Everything the tests and the main job load: specs, native addon, WASM, ES modules, CommonJS,
# the browser bundle and the per-platform package folder (each step skips what is up to date).
bash scripts/build.sh
say "setup done in ${SECONDS}s"
