"""Opening-range breakout on 5-minute bars, one symbol a day, flat at the close.

Rules, each day, regular session only (09:30-16:00 exchange time; other bars are dropped):

1. Candidates: every symbol the source holds (or ``symbols``) whose ATR as a share of price is at
   least ``min_atr_pct``. The ATR is the mean true range of the ``atr_days`` previous sessions and
   the price the previous session's close, so both are known before the open.
2. Pick the candidate with the highest volume in the opening range (its first
   ``range_minutes``, 5 by default), known when the range closes.
3. Enter on a break of that range: a buy stop at its high and a sell stop at its low (or one side
   with ``direction``). A bar opening beyond a level fills at its open; when one bar reaches both
   levels, the level nearer that bar's open is taken as touched first. One trade a day.
4. Exits: take profit ``take_profit_atr`` x ATR from the entry, stop ``stop_atr`` x ATR from the
   entry; the stop is assumed first when a bar reaches both, a gap through it fills at the open,
   and on the entry bar itself only the stop is checked (its path after the entry is unknown).
   Whatever is open at the last bar's close is closed there (flat at the close).

The whole equity (``size`` of it) goes into the day's trade, long or short, without leverage.
Equity is reported at each session's close. Many ``(take_profit_atr, stop_atr)`` pairs run in one
compiled call with :func:`run_batch`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numba as nb
import numpy as np
import pandas as pd

from quantalloc.backtest import bars
from quantalloc.backtest import metrics as m
from quantalloc.backtest.engine import CostParams
from quantalloc.backtest.params import param
from quantalloc.backtest.result import BacktestResult, BatchResult, make_result
from quantalloc.backtest.window import BacktestWindow
from quantalloc.data.base import DateLike, PriceProvider
from quantalloc.errors import ConfigError, DataError

NAME = "orb"
BARS_PER_SESSION = 78  # 6.5 hours of 5-minute bars
_DIRECTIONS = ("both", "long", "short")


@dataclass(frozen=True)
class OrbParams(CostParams):
    """Parameters of the opening-range breakout (defaults: the original rules)."""

    symbols: str = param("", help="comma-separated symbols to scan (empty: all the source has)")
    min_atr_pct: float = param(0.10, low=0.0, high=1.0, help="minimum ATR / price to trade")
    atr_days: int = param(14, low=1, high=100, help="sessions in the ATR")
    range_minutes: int = param(5, low=5, high=60, help="opening range length (multiple of 5)")
    take_profit_atr: float = param(0.30, low=0.01, high=10.0, help="take profit, in ATRs")
    stop_atr: float = param(0.50, low=0.01, high=10.0, help="stop-loss, in ATRs")
    direction: str = param("both", choices=_DIRECTIONS, help="which breaks to trade")
    size: float = param(1.0, low=0.01, high=1.0, help="fraction of equity per trade")

    def __post_init__(self) -> None:
        if self.range_minutes % 5:
            raise ConfigError(
                f"orb parameter range_minutes must be a multiple of 5 (5-minute bars), "
                f"got {self.range_minutes}"
            )

    @property
    def range_bars(self) -> int:
        """Bars in the opening range."""
        return self.range_minutes // 5


PARAMS = OrbParams


@dataclass(frozen=True)
class OrbData:
    """The chosen symbol's session bars, day by day (``(days, 78)`` arrays, NaN where missing)."""

    days: pd.DatetimeIndex
    symbol: list[str]
    """Chosen symbol per day ("" when none qualified)."""
    atr: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    times: np.ndarray
    """``(78,)`` bar start times as minutes after 09:30."""


def _symbols(provider: PriceProvider, p: OrbParams) -> list[str]:
    if p.symbols.strip():
        return [s.strip() for s in p.symbols.split(",") if s.strip()]
    found = [s for s in provider.symbols() if not s.startswith("^")]
    if not found:
        raise DataError(
            f"{provider.name} lists no symbols to scan; pass `symbols=A,B` or "
            "`params['symbols']=A,B`",
            params=("symbols", "params"),
        )
    return found


def _session_grid(frame: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Regular-session bars of ``frame`` on a (day, slot) grid: days and (days, 78, 5) values."""
    reg = bars.regular_session(frame)
    idx = pd.DatetimeIndex(reg.index)
    day = idx.normalize()
    days = pd.DatetimeIndex(day.unique())
    slot = ((idx - day) / pd.Timedelta(minutes=5)).to_numpy().astype(int) - 114  # 09:30 = 114
    row = days.get_indexer(day)
    grid = np.full((len(days), BARS_PER_SESSION, 5), np.nan)
    ok = (slot >= 0) & (slot < BARS_PER_SESSION)
    cols = reg[["open", "high", "low", "close", "volume"]].to_numpy()
    grid[row[ok], slot[ok]] = cols[ok]
    return days, grid


def _daily_atr(grid: np.ndarray, atr_days: int) -> tuple[np.ndarray, np.ndarray]:
    """ATR of the ``atr_days`` sessions before each day, and the previous session's close."""
    high = np.nanmax(grid[:, :, 1], axis=1)
    low = np.nanmin(grid[:, :, 2], axis=1)
    closes = grid[:, :, 3]
    last = np.where(~np.isnan(closes), np.arange(closes.shape[1]), -1).max(axis=1)
    close = closes[np.arange(len(closes)), last]
    prev_close = np.r_[np.nan, close[:-1]]
    tr = np.fmax(high - low, np.fmax(np.abs(high - prev_close), np.abs(low - prev_close)))
    tr_series = pd.Series(tr)
    atr = tr_series.rolling(atr_days, min_periods=atr_days).mean().shift(1).to_numpy()
    return atr, prev_close


def warmup_days(params: OrbParams) -> int:
    """Calendar days of bars before the window that the daily ATR of ``atr_days`` needs."""
    return int(params.atr_days * 1.6) + 10


def prepare(
    provider: PriceProvider, start: DateLike | None, end: DateLike | None, params: OrbParams
) -> OrbData:
    """Scan the symbols and pick each day's one (the part that depends on no exit parameter
    nor on capital: the live trader calls this on its bar book)."""
    warm = warmup_days(params)
    grids: dict[str, tuple[pd.DatetimeIndex, np.ndarray]] = {}
    for sym in _symbols(provider, params):
        frame = bars.load_with_warmup(provider, sym, start, end, warm)
        if not bars.is_intraday(pd.DatetimeIndex(frame.index)):
            raise DataError(
                f"{sym}: {provider.name} serves daily bars; orb needs 5-minute bars, e.g. "
                "`data=csv:../shared/data/us_intraday/5min`",
                params="data",
            )
        grids[sym] = _session_grid(frame)
    all_days = pd.DatetimeIndex(sorted(set().union(*[set(d) for d, _ in grids.values()])))
    lo = pd.Timestamp(start) if start is not None else all_days[0]
    hi = pd.Timestamp(end) if end is not None else all_days[-1]
    days = all_days[(all_days >= lo.normalize()) & (all_days <= hi)]
    if not len(days):
        raise DataError(f"no sessions between {start} and {end} in {provider.name}")
    n_days = len(days)
    best_vol = np.full(n_days, -1.0)
    chosen = [""] * n_days
    shape = (n_days, BARS_PER_SESSION)
    out = {k: np.full(shape, np.nan) for k in ("open", "high", "low", "close")}
    atr_out = np.full(n_days, np.nan)
    k_range = params.range_bars
    for sym, (sym_days, grid) in grids.items():
        atr, prev_close = _daily_atr(grid, params.atr_days)
        pos = sym_days.get_indexer(days)
        for d in np.flatnonzero(pos >= 0):
            i = pos[d]
            opening = grid[i, :k_range]
            if np.isnan(opening).any() or not np.isfinite(atr[i]):
                continue
            if atr[i] / prev_close[i] < params.min_atr_pct:
                continue
            vol = float(opening[:, 4].sum())
            if vol > best_vol[d]:
                best_vol[d] = vol
                chosen[d] = sym
                atr_out[d] = atr[i]
                for j, key in enumerate(("open", "high", "low", "close")):
                    out[key][d] = grid[i, :, j]
    return OrbData(
        days=days,
        symbol=chosen,
        atr=atr_out,
        open=out["open"],
        high=out["high"],
        low=out["low"],
        close=out["close"],
        times=np.arange(BARS_PER_SESSION) * 5,
    )


@nb.njit(cache=True)
def _orb_kernel(o, h, lo, c, atr, k_range, tp, sl, side_mode, costs, capital, size):
    n_days, n_bars = o.shape
    n = tp.shape[0]
    equity = np.empty((n, n_days))
    recs = np.full(
        (n, n_days, 8), np.nan
    )  # side, entry bar, exit bar, entry, exit, units, pnl, reason
    slip = costs[3]
    for j in range(n):
        cash = capital
        for d in range(n_days):
            equity[j, d] = cash
            if np.isnan(atr[d]) or np.isnan(o[d, 0]):
                continue
            top = -np.inf
            bottom = np.inf
            for b in range(k_range):
                top = max(top, h[d, b])
                bottom = min(bottom, lo[d, b])
            side = 0
            entry = np.nan
            stop = np.nan
            take = np.nan
            units = 0.0
            cost_in = 0.0
            entry_bar = -1
            last = -1
            for b in range(n_bars):
                if not np.isnan(c[d, b]):
                    last = b
            for b in range(k_range, last + 1):
                if np.isnan(o[d, b]):
                    continue
                exit_px = np.nan
                reason = 0
                if side == 0:
                    up = side_mode != 2 and h[d, b] >= top
                    down = side_mode != 1 and lo[d, b] <= bottom
                    if up and down:
                        if abs(o[d, b] - top) <= abs(o[d, b] - bottom):
                            down = False
                        else:
                            up = False
                    if up or down:
                        side = 1 if up else -1
                        level = top if up else bottom
                        raw = max(o[d, b], level) if up else min(o[d, b], level)
                        px = raw * (1.0 + slip * side)
                        per_unit = px * (1.0 + costs[2]) + costs[1]
                        units = (cash * size - costs[0]) / per_unit
                        if units <= 0.0:
                            side = 0
                            break
                        fee = costs[0] + units * costs[1] + units * px * costs[2]
                        entry = px
                        cost_in = fee
                        entry_bar = b
                        stop = raw - side * sl[j] * atr[d]
                        take = raw + side * tp[j] * atr[d]
                        # on the entry bar only the stop is checked
                        if (side == 1 and lo[d, b] <= stop) or (side == -1 and h[d, b] >= stop):
                            exit_px = stop
                            reason = 1
                else:
                    if side == 1:
                        if o[d, b] <= stop or lo[d, b] <= stop:
                            exit_px = min(o[d, b], stop)
                            reason = 1
                        elif o[d, b] >= take or h[d, b] >= take:
                            exit_px = max(o[d, b], take)
                            reason = 2
                    else:
                        if o[d, b] >= stop or h[d, b] >= stop:
                            exit_px = max(o[d, b], stop)
                            reason = 1
                        elif o[d, b] <= take or lo[d, b] <= take:
                            exit_px = min(o[d, b], take)
                            reason = 2
                if side != 0 and np.isnan(exit_px) and b == last:
                    exit_px = c[d, b]
                    reason = 3
                if side != 0 and not np.isnan(exit_px):
                    px = exit_px * (1.0 - slip * side)
                    fee = costs[0] + units * costs[1] + units * px * costs[2]
                    pnl = side * units * (px - entry) - cost_in - fee
                    cash += pnl
                    recs[j, d] = np.array(
                        [side, entry_bar, b, entry, px, units, pnl, reason], dtype=np.float64
                    )
                    break
            equity[j, d] = cash
    return equity, recs


_REASONS = {1: "stop", 2: "take_profit", 3: "session_close"}


def _simulate(
    data: OrbData, p: OrbParams, tp: np.ndarray, sl: np.ndarray, capital: float
) -> tuple[np.ndarray, np.ndarray]:
    cst = p.costs()
    cost_arr = np.array([cst.fee_per_trade, cst.fee_per_unit, cst.fee_pct, cst.slippage])
    mode = _DIRECTIONS.index(p.direction)
    return _orb_kernel(data.open, data.high, data.low, data.close, data.atr, p.range_bars,
                       tp, sl, mode, cost_arr, float(capital), float(p.size))  # fmt: skip


def run(window: BacktestWindow, p: OrbParams, *, data: OrbData | None = None) -> BacktestResult:
    """Backtest the opening-range breakout over ``window`` (``data``: its bars, already
    prepared)."""
    d = data or prepare(window.provider, window.start, window.end, p)
    capital = window.capital
    equity, recs = _simulate(d, p, np.array([p.take_profit_atr]), np.array([p.stop_atr]), capital)
    rows = []
    for k in np.flatnonzero(~np.isnan(recs[0, :, 0])):
        r = recs[0, k]
        day = d.days[int(k)]
        rows.append(
            {
                "symbol": d.symbol[k],
                "side": "long" if r[0] > 0 else "short",
                "entry_time": day + pd.Timedelta(minutes=570 + 5 * int(r[1])),
                "exit_time": day + pd.Timedelta(minutes=570 + 5 * int(r[2])),
                "entry_price": r[3],
                "exit_price": r[4],
                "units": r[5],
                "pnl": r[6],
                "fees": np.nan,
                "exit_reason": _REASONS[int(r[7])],
            }
        )
    from quantalloc.backtest.result import empty_trades

    trades = pd.DataFrame(rows) if rows else empty_trades()
    if rows:
        trades["fees"] = _fees(trades, p)
    eq = pd.Series(equity[0], index=d.days)
    inpos = pd.Series(~np.isnan(recs[0, :, 0]), index=d.days)
    notes: tuple[str, ...] = ()
    if not rows:
        notes = (f"no day had a symbol with ATR/price >= {p.min_atr_pct:g}; lower min_atr_pct",)
    flat = pd.Series(False, index=d.days)  # flat at every close
    return make_result(NAME, asdict(p), capital, eq, trades, inpos, notes, open_at_close=flat)


def _fees(trades: pd.DataFrame, p: OrbParams) -> pd.Series:
    value = trades["units"] * (trades["entry_price"] + trades["exit_price"])
    return 2 * p.fee_per_trade + 2 * trades["units"] * p.fee_per_unit + value * p.fee_pct


def run_batch(
    window: BacktestWindow, params: Sequence[OrbParams], *, data: OrbData | None = None
) -> BatchResult:
    """Many parameter sets in one compiled call; they may differ only in ``take_profit_atr`` and
    ``stop_atr`` (the symbol choice and costs are shared)."""
    if not params:
        raise ConfigError("run_batch needs at least one parameter set")
    first = params[0]
    for p in params:
        a = {k: v for k, v in asdict(p).items() if k not in ("take_profit_atr", "stop_atr")}
        b = {k: v for k, v in asdict(first).items() if k not in ("take_profit_atr", "stop_atr")}
        if a != b:
            raise ConfigError(
                "orb run_batch: parameter sets may differ only in take_profit_atr and stop_atr"
            )
    d = data or prepare(window.provider, window.start, window.end, first)
    capital = window.capital
    tp = np.array([p.take_profit_atr for p in params])
    sl = np.array([p.stop_atr for p in params])
    equity, recs = _simulate(d, first, tp, sl, capital)
    eq = equity.T
    prev = np.vstack([np.full((1, len(params)), capital), eq[:-1]])
    rets = eq / prev - 1.0
    traded = ~np.isnan(recs[:, :, 0])
    wins = (np.nan_to_num(recs[:, :, 6]) > 0).sum(axis=1)
    summary = m.summary(
        m.curve_returns(rets), exposure=traded.mean(axis=1), trades=traded.sum(axis=1), wins=wins
    )
    table = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in summary.items()})
    return BatchResult(NAME, tuple(params), float(capital), pd.DataFrame(eq, index=d.days), table)
