#!/usr/bin/env bash
# Builds the Node native addon (crates/napi) into bindings/native/downhill.<triple>.node, named as
# napi-rs names per-platform binaries (`--platform`: linux-x64-gnu, darwin-arm64, win32-x64-msvc,
# ...). ts/backend/native.ts looks for exactly that name in the package, then for the
# per-platform package `downhill-<triple>` (scripts/build.sh makes its folder in npm/<triple>/).
#
# Portable build: no `target-cpu=native`; the core picks SSE2/AVX2 kernels at run time.
# Skips the build when the addon is newer than every Rust source and manifest (FORCE=1 rebuilds).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The native build uses the rustup toolchain, not a distro cargo that may also be installed.
export PATH="$HOME/.cargo/bin:$PATH"
# Never let a caller's flags turn on host-specific codegen for the published addon.
if [[ "${RUSTFLAGS:-}" == *target-cpu=native* ]]; then
  echo "build-native: ignoring RUSTFLAGS containing target-cpu=native (the addon must stay portable)" >&2
  unset RUSTFLAGS
fi

out_dir=bindings/native

if [[ ! -d node_modules ]]; then
  echo "==> installing npm dependencies (node_modules missing)"
  if [[ -f package-lock.json ]]; then npm ci; else npm install; fi
fi

# The triple-named addon of an earlier build (one per machine: bindings/ is git-ignored).
addon=$(ls -t "$out_dir"/downhill.*.node 2>/dev/null | head -n 1 || true)
if [[ -n "$addon" && "${FORCE:-0}" != 1 ]]; then
  # Build outputs under crates/ (e.g. crates/wasm/target) are not inputs.
  newer=$(find crates Cargo.toml Cargo.lock scripts/build-native.sh \( -type d -name target -prune \) -o \( -type f -newer "$addon" -print -quit \) 2>/dev/null || true)
  if [[ -z "$newer" ]]; then
    echo "==> native addon up to date ($addon)"
    exit 0
  fi
  echo "==> $newer changed since the last build"
fi

echo "==> building native addon (release) with $(cargo --version)"
mkdir -p "$out_dir"
stamp=$(mktemp)
# --platform adds the napi-rs platform name of the host (downhill.linux-x64-gnu.node); --no-js: the
# loader is ours (ts/backend/native.ts), not the CommonJS one the CLI would write.
npx napi build --release --platform --no-js \
  --manifest-path crates/napi/Cargo.toml \
  --package-json-path package.json \
  --output-dir "$out_dir" \
  --dts downhill.d.ts \
  --no-dts-header

addon=$(find "$out_dir" -maxdepth 1 -name 'downhill.*.node' -newer "$stamp" -print -quit)
rm -f "$stamp"
if [[ -z "$addon" ]]; then
  echo "build-native: napi build produced no downhill.<triple>.node in $out_dir" >&2
  exit 1
fi
touch "$addon"
echo "==> built $addon ($(du -h "$addon" | cut -f1))"
