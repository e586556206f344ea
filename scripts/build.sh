#!/usr/bin/env bash
# The full build, everything `npm pack` ships and the tests load, each step skipped when its
# output is newer than its inputs (FORCE=1 rebuilds the Rust parts, which check it themselves):
#
#   1. ts/generated/specs.ts from the core's registry (downhill-specgen)
#   2. the native addon bindings/native/downhill.<triple>.node (scripts/build-native.sh)
#   3. the WASM build bindings/wasm/ (scripts/build-wasm.sh)
#   4. tsc: ES modules and .d.ts in dist/
#   5. dist/cjs/ (CommonJS twin) and dist/browser/index.js (browser entry) (scripts/build-js.mjs)
#   6. npm/<triple>/: the per-platform package of napi-rs's layout (`napi create-npm-dirs` from
#      package.json's napi.targets) with this machine's addon copied in, ready to publish
#
# Needs npm dependencies and a Rust toolchain: scripts/setup.sh installs them and then runs this.
#
#   bash scripts/build.sh     (npm run build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { echo "==> $*"; }
SECONDS=0
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || { echo "build: no cargo on PATH; run bash scripts/setup.sh (it installs one)" >&2; exit 1; }
[[ -d node_modules ]] || { echo "build: node_modules missing; run npm ci (or bash scripts/setup.sh)" >&2; exit 1; }

# 1. The TypeScript view of the core's optimizer specs (generated, git-ignored).
specs=ts/generated/specs.ts
if [[ ! -f $specs || -n "$(find crates/core -name '*.rs' -newer $specs -print -quit)" ]]; then
  say "generating $specs from the core's registry (downhill-specgen)"
  mkdir -p ts/generated
  cargo run --quiet --release -p downhill-core --bin downhill-specgen "$specs"
  touch "$specs" # specgen leaves an unchanged file alone; the date says it was checked
else
  say "$specs up to date"
fi

# 2, 3. The Rust builds check their own inputs.
bash scripts/build-native.sh
bash scripts/build-wasm.sh

# 4. ES modules.
if [[ ! -f dist/cli.js || -n "$(find ts tsconfig.json -newer dist/cli.js -print -quit)" ]]; then
  say "compiling TypeScript (tsc)"
  npx tsc -p tsconfig.json
  touch dist/cli.js # tsc leaves unchanged outputs alone; this file dates the whole compile
  chmod +x dist/cli.js
else
  say "TypeScript output up to date (dist/)"
fi

# 5. CommonJS and the browser bundle, from dist/.
if [[ ! -f dist/browser/index.js || ! -f dist/cjs/index.js ||
  -n "$(find dist/cli.js scripts/build-js.mjs -newer dist/browser/index.js -print -quit)" ]]; then
  node scripts/build-js.mjs
else
  say "CommonJS and browser builds up to date (dist/cjs/, dist/browser/)"
fi

# 6. The per-platform package folder for this machine's addon.
addon=$(ls -t bindings/native/downhill.*.node | head -n 1)
triple=${addon#bindings/native/downhill.}
triple=${triple%.node}
if [[ ! -f npm/$triple/package.json || package.json -nt npm/$triple/package.json || $addon -nt npm/$triple/$(basename "$addon") ]]; then
  say "per-platform package folders (napi create-npm-dirs) and npm/$triple/$(basename "$addon")"
  if ! log=$(npx napi create-npm-dirs --package-json-path package.json --npm-dir npm 2>&1); then
    echo "$log" >&2
    exit 1
  fi
  if [[ -d npm/$triple ]]; then
    cp "$addon" "npm/$triple/"
    touch npm/"$triple"/package.json
  else
    say "note: $triple is not in package.json's napi.targets; no per-platform package for it"
  fi
else
  say "per-platform package npm/$triple up to date"
fi
say "build done in ${SECONDS}s"
