#!/usr/bin/env bash
# The main job: the study card's linear regression (y = 3x + 2 + noise) fitted by gradient
# descent through `minimize()` on the fastest backend that loads. Sets everything up first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo
node dist/cli.js info
echo
node examples/linear-regression.mjs "$@"
