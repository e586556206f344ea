#!/usr/bin/env bash
# Everything a fresh clone needs before it can run: npm dependencies, a host Rust toolchain,
# the native addon, the WASM build and the compiled TypeScript. Each step detects what is
# already there and says what it does; a second run does almost nothing.
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

# The TypeScript view of the core's optimizer specs (generated, git-ignored).
specs=ts/generated/specs.ts
if [[ ! -f $specs || -n "$(find crates/core -name '*.rs' -newer $specs -print -quit)" ]]; then
  say "generating $specs from the core's registry (downhill-specgen)"
  mkdir -p ts/generated
  cargo run --quiet --release -p downhill-core --bin downhill-specgen "$specs"
else
  say "$specs up to date"
fi

bash scripts/build-native.sh
bash scripts/build-wasm.sh

if [[ ! -f dist/cli.js || -n "$(find ts tsconfig.json -newer dist/cli.js -print -quit)" ]]; then
  say "compiling TypeScript (tsc)"
  npx tsc -p tsconfig.json
  chmod +x dist/cli.js
else
  say "TypeScript output up to date (dist/)"
fi
say "setup done in ${SECONDS}s"
