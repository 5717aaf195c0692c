#!/usr/bin/env bash
# Reproduce this study: writes results/summary.json, results/summary.md and the baseline.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
data="${QUANTALLOC_SHARED_DATA:-../shared/data}"
mkdir -p "$here/results"
python -m quantalloc tune --config "$here/config.toml" --data "csv:$data/us" \
    --storage memory --study wheel-wf --output "$here/results/summary.json"
python experiments/render.py "$here/results/summary.json" > "$here/results/summary.md"
# Baseline: the original rule (1.6% OTM, >= 10 days, 30% take profit), same span.
python -m quantalloc backtest wheel --data "csv:$data/us" --start "$(
    python -c "import json,sys; print(json.load(open(sys.argv[1]))['folds'][0]['test_start'])" \
    "$here/results/summary.json")" --end 2017-12-29 --output "$here/results/baseline.json" > /dev/null
