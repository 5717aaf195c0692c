"""quantalloc's backtest engine side by side with vectorbt and backtesting.py on one SMA rule.

Rule (all three engines): long while the close is above its N-day simple moving average, flat
otherwise; decided at the close, filled at the next bar's open; no fees, no stops. N takes 200
values (10, 11, ..., 209): one parameter set each.

Data: SPY daily bars 2000-01-03 .. 2017-12-29 from ../shared/data/us/etf/SPY.csv (4,528 bars,
about 18 years). To reach 20 years the script appends SPY's own 2000-2001 bars again, rescaled
to continue from the last 2017 close (so the series is real price paths, stitched once, on
continued business-day dates): 5,031 bars. Say so wherever the figures are quoted.

Checks printed: the largest relative difference between quantalloc's equity curves and
vectorbt's (all 200 columns) and backtesting.py's (the runs it makes). backtesting.py buys
whole shares only (with all the equity by default in 0.6), so quantalloc runs with
``whole_units=True`` for that comparison, and backtesting.py first decides one bar after its SMA
is known, so quantalloc's signal on that one bar is dropped there. Timings exclude each
library's first (JIT-compiling) call.

Run: ``python benchmarks/bench_backtest.py [--bt-runs 20]`` (needs the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quantalloc.backtest.engine import simulate
from quantalloc.backtest.indicators import above_below, sma_matrix

CAPITAL = 100_000.0
WINDOWS = np.arange(10, 210)


def load_series() -> pd.DataFrame:
    """SPY 2000-2017 plus its 2000-2001 bars again, rescaled and on continued dates."""
    root = Path(
        os.environ.get(
            "QUANTALLOC_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
        )
    )
    raw = pd.read_csv(root / "us" / "etf" / "SPY.csv", parse_dates=["Date"], index_col="Date")
    raw = raw.rename(columns=str.lower)[["open", "high", "low", "close", "volume"]]
    head = raw.loc[:"2001-12-31"]
    scale = raw["close"].iloc[-1] / head["close"].iloc[0]
    tail = head * np.array([scale, scale, scale, scale, 1.0])
    tail.index = pd.bdate_range(raw.index[-1] + pd.offsets.BDay(1), periods=len(tail))
    out = pd.concat([raw, tail.iloc[1:]])
    out.index.name = "date"
    return out


def sma_signals(close: np.ndarray, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bars, windows) entry / exit booleans: close above / at-or-below its SMA."""
    return above_below(close, sma_matrix(close, windows))


def run_quantalloc(df: pd.DataFrame, **kw: object) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    c = df["close"].to_numpy()
    ent, ext = sma_signals(c, WINDOWS)
    out = simulate(df["open"].to_numpy(), df["high"].to_numpy(), df["low"].to_numpy(), c,
                   ent, ext, capital=CAPITAL, **kw)  # type: ignore[arg-type]  # fmt: skip
    return out.equity, time.perf_counter() - t0


def vectorbt_portfolio(df: pd.DataFrame, entries: np.ndarray, exits: np.ndarray) -> np.ndarray:
    """vectorbt equity for signals decided at each close and filled at the next open."""
    import vectorbt as vbt

    shift = lambda a: pd.DataFrame(np.vstack([np.zeros((1, a.shape[1]), bool), a[:-1]]),  # noqa: E731
                                   index=df.index)  # fmt: skip
    pf = vbt.Portfolio.from_signals(
        df["close"], shift(entries), shift(exits), price=df["open"], init_cash=CAPITAL,
        size=np.inf, fees=0.0, freq="1D",
    )  # fmt: skip
    return np.asarray(pf.value().to_numpy())


def run_vectorbt(df: pd.DataFrame) -> tuple[np.ndarray, float]:
    import vectorbt as vbt

    t0 = time.perf_counter()
    close = df["close"]
    ma = vbt.MA.run(close, window=list(WINDOWS), short_name="sma")
    known = ma.ma.notna().to_numpy()
    above = ma.ma.lt(close, axis=0).to_numpy() & known  # close > sma
    equity = vectorbt_portfolio(df, above, known & ~above)
    return equity, time.perf_counter() - t0


def pandas_signals(close: pd.Series, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference signals: pandas' rolling mean, the indicator backtesting.py is given."""
    sma = np.column_stack([close.rolling(int(w)).mean().to_numpy() for w in windows])
    known = ~np.isnan(sma)
    above = known & (close.to_numpy()[:, None] > np.where(known, sma, np.inf))
    return above, known & ~above


def run_backtesting_py(df: pd.DataFrame, windows: np.ndarray) -> tuple[np.ndarray, float]:
    from backtesting import Backtest, Strategy

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaRule(Strategy):
        n = 50

        def init(self) -> None:
            self.sma = self.I(sma, self.data.Close, self.n)

        def next(self) -> None:
            if self.data.Close[-1] > self.sma[-1]:
                if not self.position:
                    self.buy()
            elif self.position:
                self.position.close()

    data = df.rename(columns=str.capitalize)
    curves = []
    t0 = time.perf_counter()
    for w in windows:
        bt = Backtest(data, SmaRule, cash=CAPITAL, commission=0.0, trade_on_close=False)
        stats = bt.run(n=int(w))
        curves.append(stats["_equity_curve"]["Equity"].to_numpy())
    return np.column_stack(curves), time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bt-runs", type=int, default=20, help="backtesting.py runs (of 200)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats (best is kept)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    df = load_series()
    years = len(df) / 252
    print(
        "data: SPY daily 2000-2017 + its 2000-2001 bars appended once (rescaled): "
        f"{len(df)} bars (~{years:.1f} years of 252 days), {len(WINDOWS)} parameter sets"
    )
    small = df.iloc[:300]
    run_quantalloc(small)  # JIT warm-up (also cached on disk by numba)
    run_vectorbt(small)
    qa_t = min(run_quantalloc(df)[1] for _ in range(args.repeat))
    vb_t = min(run_vectorbt(df)[1] for _ in range(args.repeat))
    # equity check: every engine gets the same reference signals (pandas' rolling mean), so
    # floating-point ties between a close and its SMA cannot make the curves differ
    o, h, lo, c = (df[k].to_numpy() for k in ("open", "high", "low", "close"))
    ref_ent, ref_ext = pandas_signals(df["close"], WINDOWS)
    own_ent, _ = sma_signals(c, WINDOWS)
    ties = int((own_ent != ref_ent).sum())
    qa_eq = simulate(o, h, lo, c, ref_ent, ref_ext, capital=CAPITAL).equity
    diff_vb = np.max(np.abs(qa_eq - vectorbt_portfolio(df, ref_ent, ref_ext)) / qa_eq)
    runs = max(1, min(args.bt_runs, len(WINDOWS)))
    pick = np.linspace(0, len(WINDOWS) - 1, runs).astype(int)
    bt_eq, bt_t = run_backtesting_py(df, WINDOWS[pick])
    ent, ext = ref_ent[:, pick].copy(), ref_ext[:, pick].copy()
    for k, w in enumerate(WINDOWS[pick]):
        # backtesting.py first calls next() one bar after its indicator is first known
        ent[w - 1, k] = ext[w - 1, k] = False
    qa_whole = simulate(o, h, lo, c, ent, ext, capital=CAPITAL, whole_units=True).equity
    diff_bt = np.max(np.abs(qa_whole - bt_eq) / bt_eq)
    bt_200 = bt_t / runs * len(WINDOWS)
    print(f"{'engine':<16}{'200 sets (s)':>14}{'per set (ms)':>14}{'vs quantalloc':>15}")
    print(f"{'quantalloc':<16}{qa_t:>14.3f}{qa_t / 200 * 1e3:>14.2f}{1.0:>14.1f}x")
    print(f"{'vectorbt':<16}{vb_t:>14.3f}{vb_t / 200 * 1e3:>14.2f}{vb_t / qa_t:>14.1f}x")
    print(f"{'backtesting.py':<16}{bt_200:>14.3f}{bt_t / runs * 1e3:>14.2f}{bt_200 / qa_t:>14.1f}x"
          f"   (ran {runs} of 200 sets, scaled to 200)")  # fmt: skip
    print(f"max relative equity difference vs vectorbt (200 curves, same signals): {diff_vb:.2e}")
    print(f"max relative equity difference vs backtesting.py ({runs} curves, whole shares): "
          f"{diff_bt:.2e}")  # fmt: skip
    print(
        f"signals where quantalloc's own SMA and pandas' disagree (ties): {ties} of {ref_ent.size}"
    )
    print("timings: best of", args.repeat, "warm runs, signals included; shared 2-core machine")


if __name__ == "__main__":
    main()
