#!/usr/bin/env bash
# The whole test suite, from a fresh clone: set-up (npm, native and WASM builds, tsc), Chromium
# for the browser smoke test, `cargo test` for the core, a short fuzz run of the core's entry
# points (DOWNHILL_FUZZ_SECONDS per target, default 15), then vitest (all three backends; under
# CI=true a backend that is not built fails the run instead of being skipped).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { echo "==> $*"; }
SECONDS=0

bash scripts/setup.sh

if [[ ! -x /usr/bin/chromium ]]; then
  say "installing Debian's chromium for the browser smoke test (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  say "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
fi

export PATH="$HOME/.cargo/bin:$PATH"
say "cargo test (core, with the threads feature)"
cargo test -p downhill-core --features threads

say "fuzzing the core's entry points (cargo fuzz, 15 s per target; scripts/fuzz.sh)"
bash scripts/fuzz.sh "${DOWNHILL_FUZZ_SECONDS:-15}"

say "cargo clippy (all crates, warnings are errors)"
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy -p downhill-core -p downhill-napi --all-targets --features downhill-core/threads -- -D warnings
else
  say "clippy not installed; skipped"
fi

say "formatting and types (rustfmt --check, prettier --check, tsc --noEmit)"
# The optimizer modules are declared by the registry macro, which cargo fmt does not follow.
rustfmt --edition 2021 --check crates/*/src/*.rs crates/core/src/*/*.rs crates/core/src/bin/*.rs crates/core/tests/*.rs \
  fuzz/src/*.rs fuzz/fuzz_targets/*.rs
npm run --silent lint

say "API docs (TypeDoc: every public symbol documented, the required examples there, every example run)"
node scripts/docs.mjs --check

say "vitest (native, wasm, js, browser)"
report=$(mktemp)
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || true
rm -f "$report"
say "tests finished in ${SECONDS}s"
exit "$status"
