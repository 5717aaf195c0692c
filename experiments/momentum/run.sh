#!/usr/bin/env bash
# Reproduce this study: writes results/summary.json and results/summary.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
data="${QUANTALLOC_SHARED_DATA:-../shared/data}"
mkdir -p "$here/results"
python -m quantalloc tune --config "$here/config.toml" --data "csv:$data/us" \
    --storage memory --study momentum-wf --output "$here/results/summary.json"
python experiments/render.py "$here/results/summary.json" > "$here/results/summary.md"
# Baseline: the original rule (252-day SMA, 5% stop) over the same out-of-sample span.
python -m quantalloc backtest momentum --data "csv:$data/us" --start 2013-03-14 --end 2017-12-29 \
    --output "$here/results/baseline.json" > /dev/null
