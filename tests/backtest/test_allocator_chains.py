"""The allocator replay with --chains on the NSE bhavcopy: each solve opens listed contracts at
their fills, and a held leg is marked at its reference price in each later session's file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantalloc.backtest.strategies import allocator
from quantalloc.data import CsvProvider, get_chain_source
from quantalloc.markets import get_market
from tests.backtest.test_allocator import Recorder
from tests.pipeline.test_solve_chains import _tables


@pytest.mark.slow
def test_replay_opens_and_marks_listed_contracts(shared_data: Path, tmp_path: Path) -> None:
    args = _tables(shared_data, tmp_path)
    params = allocator.AllocatorParams(
        market="in",
        risk="aggressive",
        rebalance="expiry",
        n_scenarios=300,
        chains=str(shared_data / "in/fo_bhavcopy"),
        stock_data=args[1].split("=", 1)[1],
        industry_allocations=args[3].split("=", 1)[1],
    )
    provider = CsvProvider(shared_data / "in", cache_dir=tmp_path / "cache")
    rec = Recorder()
    result = allocator.run(provider, "2026-01-01", "2026-01-20", 10_000_000.0, params, solver=rec)
    assert rec.results and len(result.trades) > 0
    legs = [leg for r in rec.results for a in r.to_document()["allocations"] for leg in a["legs"]]
    assert legs and all(leg["price_source"] == "chain" for leg in legs if leg["kind"] != "stock")
    # a leg held on 2026-01-09 is marked at that session's reference price: the close when the
    # contract traded, else NSE's settlement price (never a stale close)
    market = get_market("in")
    index = provider.history(market.index_symbol, None, "2026-01-20")
    chains = get_chain_source(str(shared_data / "in/fo_bhavcopy"))
    marker = allocator.Marker(
        provider,
        market,
        pd.Timestamp("2026-01-20"),
        index["close"],
        provider.history(market.vol_index_symbol)["close"],
        skew=1.0,
        chains=chains,
    )
    day = pd.Timestamp("2026-01-09")
    raw = pd.read_csv(shared_data / "in/fo_bhavcopy/BhavCopy_NSE_FO_0_0_0_20260109_F_0000.csv.gz")
    calendar = pd.DatetimeIndex(index.index)
    checked = 0
    first = rec.results[0]
    for pos in allocator.positions_from(first, pd.Timestamp(first.as_of), calendar):
        values = marker.leg_values(pos, day)
        for leg, value in zip(pos.legs, values, strict=True):
            if leg.kind == "stock":
                continue
            row = raw.loc[
                (raw["TckrSymb"] == pos.symbol)
                & (raw["XpryDt"] == leg.expiry.date().isoformat())
                & (raw["StrkPric"] == leg.strike)
                & (raw["OptnTp"] == ("CE" if leg.kind == "call" else "PE"))
            ]
            if row.empty:
                continue
            r: Any = row.iloc[0]
            ref = r["ClsPric"] if r["TtlTradgVol"] > 0 else r["SttlmPric"]
            assert value == pytest.approx(float(ref)), (pos.symbol, leg)
            checked += 1
    assert checked > 0
    assert np.isfinite(result.equity.to_numpy()).all()
