"""Measure the bid-ask spread tables of models/spreads.toml on the quoted chains in shared/data.

US: the 33 SPX/SPXW end-of-day sessions of 2019 (every contract with a bid). India: the two
Upstox NIFTY chains of June 2024, the only Indian quotes with a bid and an ask here. They carry
no quote date; NIFTY stood at their spots (23,594 and 23,501) in the week before each expiry,
so they are dated 7 days before expiry, which puts them in the <= 7-day bucket. The Indian
buckets with fewer than 20 quotes (every longer expiry) follow the US table's shape, scaled row
by row to the measured buckets.

Run from the repository root: ``python experiments/spreads/estimate.py [--write]``; without
``--write`` it prints the tables, with it it rewrites models/spreads.toml.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd

from quantalloc.data.chains import load_chain
from quantalloc.options.costs import SpreadTable, estimate_spread_table

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("QUANTALLOC_SHARED_DATA", ROOT.parent / "shared" / "data"))
TICK = {"us": 0.05, "in": 0.05}


def us_table(shared: Path = SHARED) -> SpreadTable:
    files = sorted((shared / "us/options/spx_2019").glob("SPX_*.csv.gz"))
    return estimate_spread_table(
        (load_chain(f) for f in files),
        min_spread=TICK["us"],
        source=f"SPX/SPXW end-of-day quotes, {len(files)} sessions 2019-04-25 .. 2019-06-13",
    )


def in_table(shape: SpreadTable, shared: Path = SHARED) -> SpreadTable:
    chains = []
    for path in sorted((shared / "in/options").glob("NIFTY_*_chain_a.json")):
        chain = load_chain(path)
        chain["as_of"] = chain["expiry"] - pd.Timedelta(days=7)
        chains.append(chain)
    return estimate_spread_table(
        chains,
        min_spread=TICK["in"],
        source="NIFTY Upstox chains of 2024-06-20 and 2024-06-27 (<= 7 days); longer expiries "
        "follow the SPX table's shape",
        shape=shape,
    )


def tables(shared: Path = SHARED) -> dict[str, SpreadTable]:
    us = us_table(shared)
    return {"us": us, "in": in_table(us, shared)}


def to_toml(found: dict[str, SpreadTable]) -> str:
    lines = [
        "# Median full bid-ask spread, (ask - bid) / mid, per moneyness bucket (rows: ITM, ATM",
        "# +-2%, 2-5%, 5-10%, 10-20%, >20% out of the money) and expiry bucket (columns: <= 7,",
        "# 8-30, 31-90, > 90 days), and the absolute floor (one tick). Written by",
        "# experiments/spreads/estimate.py --write; tests/options/test_costs.py re-measures it.",
        "",
    ]
    for market, table in found.items():
        raw = table.to_mapping()
        lines += [f"[{market}]", f"source = {json.dumps(raw['source'])}"]
        lines.append(f"min_spread = {raw['min_spread']}")
        lines.append("spreads = [")
        lines += [f"  {row}," for row in raw["spreads"]]
        lines += ["]", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    found = tables()
    for market, table in found.items():
        print(market, table.source)
        print(pd.DataFrame(table.spreads).round(4).to_string())
        print(pd.DataFrame(table.counts).to_string())
    if "--write" in sys.argv:
        (ROOT / "models/spreads.toml").write_text(to_toml(found))
        print("wrote models/spreads.toml")
