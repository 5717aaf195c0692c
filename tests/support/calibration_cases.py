"""Real calibration cases from the shared data: joint bootstrap scenarios and listed contracts.

``nse_case``: NIFTY and nine NIFTY 50 stocks on the F&O session 2026-02-02, horizon the monthly
expiry 2026-02-24; the bootstrap's joint shape from the daily closes 2020-10 .. 2025-09 (the
stocks) and ^NSEI (the index). ``spx_case``: SPX on 2019-05-01, horizon the 2019-05-31 monthly
(PM weekly, SPXW), shape from ^GSPC 2000-2017. Used by tests/pipeline/test_calibration.py and
benchmarks/bench_calibration.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quantalloc.data import get_chain_source
from quantalloc.options.chain_book import ChainQuotes, chain_quotes
from quantalloc.options.costs import LiquidityRules, load_spread_table
from quantalloc.pipeline.calibration import (
    PriceTargets,
    chain_targets,
    concat_targets,
    forward_targets,
)
from quantalloc.pipeline.scenarios import build_scenarios
from quantalloc.pipeline.smiles import market_smile

NSE_STOCKS = ("RELIANCE", "HDFCBANK", "ICICIBANK", "INFY", "TCS", "SBIN", "ITC", "LT", "AXISBANK")
LIQUID = LiquidityRules(min_open_interest=1.0, min_volume=1.0, max_spread=0.25)


@dataclass(frozen=True)
class Case:
    """Bootstrap prices, spots, smiles at the horizon and the contracts to price."""

    name: str
    prices: np.ndarray
    forwards: np.ndarray
    atm: np.ndarray
    targets: PriceTargets
    rate: float
    horizon: float


def _closes_in(root: Path, symbols: tuple[str, ...]) -> pd.DataFrame:
    cols = {}
    for s in symbols:
        f = pd.read_csv(root / "in/daily" / f"{s}.csv")
        idx = pd.to_datetime(f["timestamp"].str[:10])
        cols[s] = pd.Series(f["close"].to_numpy(float), index=idx)
    nsei = pd.read_csv(root / "in/index/_NSEI.csv")
    cols["NIFTY"] = pd.Series(
        nsei["spot_price"].to_numpy(float), index=pd.to_datetime(nsei["date"])
    )
    return pd.DataFrame(cols).dropna()


def _case(
    name: str,
    books: dict[str, ChainQuotes],
    closes: pd.DataFrame,
    expiry: str,
    session: str,
    rate: float,
    n: int,
    max_sds: float,
) -> Case:
    when, exp = pd.Timestamp(session), pd.Timestamp(expiry)
    h = (exp - when).days / 365.0
    symbols = tuple(books)
    spot = np.array([books[s].spot for s in symbols])
    atm, fwd = {}, []
    for s in symbols:
        ms = market_smile(books[s].fills, books[s].spot, when, rate)
        fwd.append(ms.forward(h))
        atm[s] = float(ms.vol(np.array([fwd[-1]]), h)[0])
    scen = build_scenarios(
        closes[list(symbols)],
        dict(zip(symbols, spot, strict=True)),
        atm,
        rate,
        horizon_days=int(np.busday_count(when.date(), exp.date())),
        n_scenarios=n,
        seed=7,
    )
    forwards = np.array(fwd)
    parts = [forward_targets(symbols, forwards * np.exp(-rate * h))]
    for j, s in enumerate(symbols):
        parts.append(
            chain_targets(
                books[s].fills,
                j,
                session=when,
                horizon_expiry=exp,
                spot=books[s].spot,
                atm_vol=atm[s],
                max_sds=max_sds,
            )
        )
    return Case(
        name, scen.prices, forwards, np.array(list(atm.values())), concat_targets(parts), rate, h
    )


def nse_case(root: Path, n: int = 2000, stocks: tuple[str, ...] = NSE_STOCKS) -> Case:
    """NIFTY and ``stocks`` on 2026-02-02 to the 2026-02-24 expiry (rate 6.5%)."""
    source = get_chain_source(str(root / "in/fo_bhavcopy"))
    spreads = load_spread_table("in")
    books = {
        s: chain_quotes(source.chain(s, "2026-02-02"), spreads, LIQUID, 0.065)
        for s in ("NIFTY", *stocks)
    }
    closes = _closes_in(root, ("NIFTY", *stocks)[1:])
    return _case("NSE 2026-02-02", books, closes, "2026-02-24", "2026-02-02", 0.065, n, 2.0)


def spx_case(root: Path, n: int = 2000) -> Case:
    """SPX on 2019-05-01 to the 2019-05-31 expiry (rate 2.4%)."""
    source = get_chain_source(str(root / "us/options/spx_2019"))
    book = chain_quotes(source.chain("SPX", "2019-05-01"), load_spread_table("us"), LIQUID, 0.024)
    g = pd.read_csv(root / "us/etf/_GSPC.csv", index_col="Date", parse_dates=True)
    closes = pd.DataFrame({"SPX": g["Close"].astype(float)})
    return _case("SPX 2019-05-01", {"SPX": book}, closes, "2019-05-31", "2019-05-01", 0.024, n, 2.0)


__all__ = ["Case", "nse_case", "spx_case"]
