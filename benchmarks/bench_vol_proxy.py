"""The volatility proxy's error against real chains' at-the-money implied vols.

For every session and symbol with a chain, the chain's 30-day ATM implied vol (Black-76 at the
strike nearest the parity forward, interpolated in total variance between expiries) against:

- **today's proxy**: the symbol's 63-day realized vol x vol index / the index's 63-day realized
  vol (``quantalloc.options.vol_proxy``);
- **the new proxy**: the symbol's own forecast over 21 trading days (EWMA, lambda 0.94; or
  GARCH(1,1) fitted with ``arch`` on the history before the first session and filtered forward)
  x the index's measured ratio (median over the trailing year of vol index / index forecast).

NSE 2026: the 48 NIFTY 50 stocks with options on the 30 F&O sessions 2026-01-01 .. 2026-02-13;
the vol index is the NIFTY chain's (India VIX's series ends 2025-11-14), prices from
``csv:../shared/data/in`` (daily files, cash-market and F&O day files; the 2025-12 hole is left
out of the returns). SPX 2019: the index itself on its 33 sessions; the shared data has no S&P
500 closes for 2018-2019 beyond the chains' own, so the forecasts run on those closes, started
from the long-run level of a fit on ^GSPC 2000-2017, and the ratio reads the dates where both
exist (2017 and the 2019 sessions). Today's proxy of the index itself is the VIX level.

    python benchmarks/bench_vol_proxy.py [--csv rows.csv]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from quantalloc.data import CsvProvider  # noqa: E402
from quantalloc.data.chain_source import FolderChainSource  # noqa: E402
from quantalloc.errors import DataError  # noqa: E402
from quantalloc.options.chain_vols import atm_vols, constant_maturity_vol  # noqa: E402
from quantalloc.options.forecast import (  # noqa: E402
    TRADING_DAYS,
    Garch,
    daily_returns,
    ewma_variances,
    measured_ratio,
)
from quantalloc.options.volatility import vol_proxy  # noqa: E402
from quantalloc.regime.vol_index import vol_index_from_chain  # noqa: E402

SHARED = Path(os.environ.get("QUANTALLOC_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
HORIZON = 21  # trading days, about 30 calendar days


def forecasts(close: pd.Series, fit_until: pd.Timestamp, seed_var: float | None = None) -> dict:
    """EWMA and GARCH forecast paths (annualised, 21 trading days), causal after ``fit_until``."""
    rets = daily_returns(close)
    if seed_var is None:
        ewma = np.sqrt(ewma_variances(rets) * TRADING_DAYS)
    else:
        v, out = seed_var, []
        for x in rets.to_numpy(float):
            v = 0.94 * v + 0.06 * x * x
            out.append(v)
        ewma = pd.Series(np.sqrt(np.asarray(out) * TRADING_DAYS), index=rets.index)
    model = Garch.fit(rets.loc[rets.index <= fit_until])
    garch = pd.Series(model.horizon_vol(model.variances(rets).to_numpy(), HORIZON), rets.index)
    return {"ewma": ewma, "garch": garch}


def nse_rows() -> pd.DataFrame:
    prices = CsvProvider(SHARED / "in")
    chains = FolderChainSource(SHARED / "in" / "fo_bhavcopy")
    sessions = chains.sessions()
    first = sessions[0] - pd.Timedelta(days=1)
    vix_chain = {}
    for s in sessions:
        snap = chains.chain("NIFTY", s)
        vix_chain[s] = vol_index_from_chain(snap.frame, s, 0.065, "in").level
    series = prices.history("^INDIAVIX")["close"]
    implied = pd.concat([series, pd.Series(vix_chain)]).sort_index() / 100.0
    index_close = prices.history("^NSEI")["close"]
    index_fc = forecasts(index_close, first)
    rows = []
    for s in sessions:
        level = vix_chain[s]
        ratio = {m: measured_ratio(implied, index_fc[m], s) for m in index_fc}
        idx_hist = index_close.loc[index_close.index <= s]
        for sym in chains.symbols(s):
            if sym in ("NIFTY", "BANKNIFTY"):
                continue
            try:
                atm = constant_maturity_vol(atm_vols(chains.chain(sym, s).frame, s, 0.065), 30)
                close = prices.history(sym, end=s)["close"]
            except DataError:
                continue
            fc = _symbol_forecasts(sym, prices, first)
            old = vol_proxy(close, idx_hist, level)
            rows.append(
                {
                    "data": "NSE 2026",
                    "session": s.date(),
                    "symbol": sym,
                    "atm_iv": atm,
                    "today": old,
                    **{f"new_{m}": float(fc[m].loc[:s].iloc[-1]) * ratio[m] for m in fc},
                }
            )
    return pd.DataFrame(rows)


_CACHE: dict[str, dict] = {}


def _symbol_forecasts(sym: str, prices: CsvProvider, first: pd.Timestamp) -> dict:
    """The symbol's forecast paths over its whole history (each value uses only earlier
    returns; GARCH's parameters come from before ``first``)."""
    if sym not in _CACHE:
        _CACHE[sym] = forecasts(prices.history(sym)["close"], first)
    return _CACHE[sym]


def spx_rows() -> pd.DataFrame:
    chains = FolderChainSource(SHARED / "us" / "options" / "spx_2019")
    vix = pd.read_csv(SHARED / "us" / "vix_daily_cboe.csv", index_col=0, parse_dates=True)
    vix = vix["CLOSE"] / 100.0
    gspc = CsvProvider(SHARED / "us" / "etf").history("^GSPC")["close"]
    old_rets = daily_returns(gspc)
    long_var = Garch.fit(old_rets).long_run
    sessions = chains.sessions()
    spot = pd.Series({s: float(chains.chain("SPX", s).frame["spot"].iloc[0]) for s in sessions})
    close = pd.concat([gspc, spot])
    rets = daily_returns(close)  # the 2018 hole is left out (more than 7 days)
    model = Garch.fit(old_rets)
    g_var = model.variances(rets)
    garch = pd.Series(model.horizon_vol(g_var.to_numpy(), HORIZON), index=rets.index)
    new_rets = rets.loc[rets.index >= sessions[0]]
    v, ew = long_var, []
    for x in new_rets.to_numpy(float):
        v = 0.94 * v + 0.06 * x * x
        ew.append(v)
    ewma_old = np.sqrt(ewma_variances(old_rets) * TRADING_DAYS)
    ewma = pd.concat([ewma_old, pd.Series(np.sqrt(np.asarray(ew) * TRADING_DAYS), new_rets.index)])
    paths = {"ewma": ewma, "garch": garch}
    rows = []
    for s in sessions:
        chain = chains.chain("SPX", s).frame
        atm = constant_maturity_vol(atm_vols(chain, s, 0.024), 30)
        row = {"data": "SPX 2019", "session": s.date(), "symbol": "SPX", "atm_iv": atm}
        row["today"] = float(vix.loc[s])  # index over itself: the ratio cancels, the VIX is left
        for m, path in paths.items():
            known = path.loc[path.index <= s]
            if s not in known.index:  # the first session has no return yet: long-run level
                known = pd.concat([known, pd.Series([np.sqrt(long_var * TRADING_DAYS)], [s])])
            row[f"new_{m}"] = float(known.iloc[-1]) * measured_ratio(vix, path, s)
        rows.append(row)
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for data, group in rows.groupby("data", sort=False):
        rec: dict[str, object] = {"data": data, "sessions x symbols": len(group)}
        for col, label in (("today", "today"), ("new_ewma", "new EWMA"), ("new_garch", "GARCH")):
            err = (group[col] - group["atm_iv"]).abs() * 100.0
            rec[f"{label} median"] = round(float(err.median()), 2)
            rec[f"{label} p90"] = round(float(err.quantile(0.9)), 2)
        rec["ATM IV median"] = round(float(group["atm_iv"].median()) * 100, 1)
        out.append(rec)
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="also write every (session, symbol) row to this file")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the data's gaps and jumps are known; see the README
    start = time.perf_counter()
    rows = pd.concat([nse_rows(), spx_rows()], ignore_index=True)
    if args.csv:
        rows.to_csv(args.csv, index=False)
    print("absolute error against the chain's 30-day ATM implied vol, in vol points")
    print(summary(rows).to_string(index=False))
    worst = rows.assign(err=(rows["today"] - rows["atm_iv"]).abs()).nlargest(5, "err")
    print("\ntoday's proxy, worst five (vols as fractions):")
    cols = ["data", "session", "symbol", "atm_iv", "today", "new_ewma", "new_garch"]
    print(worst[cols].round(3).to_string(index=False))
    print(f"\n{len(rows)} rows in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
