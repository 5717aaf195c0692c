#!/usr/bin/env bash
# Reproduce this study: writes results/summary.json, results/summary.md and the baseline.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
data="${QUANTALLOC_SHARED_DATA:-../shared/data}"
mkdir -p "$here/results"
python -m quantalloc tune --config "$here/config.toml" --data "csv:$data/us" \
    --storage memory --study multi-wf --output "$here/results/summary.json"
python experiments/render.py "$here/results/summary.json" > "$here/results/summary.md"
# Baseline: the original rule (score objective, 10-50% weights, 252-day lookback, immediate cadence), same span.
python -m quantalloc backtest multi --param strategies=momentum,wheel --data "csv:$data/us" --start "$(
    python -c "import json,sys; print(json.load(open(sys.argv[1]))['folds'][0]['test_start'])" \
    "$here/results/summary.json")" --end 2017-12-29 --output "$here/results/baseline.json" > /dev/null
