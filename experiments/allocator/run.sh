#!/usr/bin/env bash
# Reproduce this study: writes results/summary.json and results/summary.md.
# The two input tables are written from ../shared/data/us/constituents.csv into a temporary
# folder (each GICS sector an industry, NEUTRAL at equal weight, lot size 100), never committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
data="${QUANTALLOC_SHARED_DATA:-../shared/data}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python - "$data/us/constituents.csv" "$tmp" <<'PY'
import sys
import pandas as pd
c = pd.read_csv(sys.argv[1])
s = sorted(c.sector.unique())
pd.DataFrame({"symbol": c.symbol, "industry": c.sector, "sector": c.sector, "fno_stock": True,
              "lot_size": 100, "market_cap_category": "Large"}).to_csv(f"{sys.argv[2]}/stock_data.csv", index=False)
pd.DataFrame({"industry": s, "sector": s, "position_type": "NEUTRAL",
              "weight_percentage": round(100 / len(s), 2), "rating": "Neutral"}).to_csv(f"{sys.argv[2]}/industries.csv", index=False)
PY
cp "$here/config.toml" "$tmp/config.toml"
printf 'stock_data = "%s"\nindustry_allocations = "%s"\n' "$tmp/stock_data.csv" "$tmp/industries.csv" >> "$tmp/config.toml"
mkdir -p "$here/results"
python -m quantalloc tune --config "$tmp/config.toml" --data "csv:$data/us" \
    --storage "journal:$tmp/study.log" --study allocator-wf --workers "${WORKERS:-2}" \
    --output "$here/results/summary.json"
python experiments/render.py "$here/results/summary.json" > "$here/results/summary.md"
# Baseline: the model's defaults replayed over the same out-of-sample span.
python -m quantalloc backtest allocator --data "csv:$data/us" --start 2016-12-19 --end 2017-11-30 \
    --capital 1000000 -p market=us -p stock_data="$tmp/stock_data.csv" \
    -p industry_allocations="$tmp/industries.csv" --output "$here/results/baseline.json" > /dev/null
