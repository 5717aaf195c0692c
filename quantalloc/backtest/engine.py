"""The bar-by-bar simulation engine: one instrument, many parameter sets per call.

A signal decided on bar ``t`` (from data up to and including ``t``'s close) fills at bar
``t + 1``'s open by default, or at ``t``'s own close with ``fill="close"``. While a position is
open, its stop-loss and take-profit (set from the entry price) are checked against the range of
every bar from the entry bar on (from the next bar for a fill at a close): a bar opening
beyond a level fills at that open (a gap through the stop is not filled at the stop price), a
bar whose range reaches a level fills at the level, and when one bar reaches both, the stop is
assumed to have come first. ``force_exit`` closes any position at that bar's close (the end of
an intraday session: flat at the close), and no new position opens on such a bar.

Costs, in :class:`Costs`: a fixed fee per trade (per fill), a fee per unit, a fee as a share of
the traded value, and slippage as a share of the price, always against the trader (buys fill
higher, sells lower). A long position invests ``size`` times the equity, in fractional units unless
``whole_units`` is set.

The loop is compiled with numba (serial: on a shared 2-core machine threads cost more than they
save) and runs over the columns of a ``(bars, n)`` signal matrix, so tuning evaluates hundreds
of parameter sets in one call (see :func:`simulate`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numba as nb
import numpy as np

from quantalloc.backtest.params import param
from quantalloc.errors import ConfigError

FILL_MODES = ("next_open", "close")

# exit reasons recorded in trades
EXIT_SIGNAL, EXIT_STOP, EXIT_TAKE_PROFIT, EXIT_SESSION, EXIT_END = 0, 1, 2, 3, 4
EXIT_REASONS = ("signal", "stop", "take_profit", "session_close", "end_of_data")


@dataclass(frozen=True, kw_only=True)
class Costs:
    """Trading costs applied to every fill; a strategy's parameters inherit them (tunable).

    Each field is a :func:`~quantalloc.backtest.params.param`: its bounds are the tuner's search
    range, and :meth:`__post_init__` rejects what no market charges (negative or non-finite
    values, fractions of 1 or more).
    """

    fee_per_trade: float = param(0.0, low=0.0, help="fixed fee per fill, in currency")
    fee_per_unit: float = param(0.0, low=0.0, help="fee per unit (share) traded, in currency")
    fee_pct: float = param(0.0, low=0.0, high=0.1, help="fee as a fraction of traded value")
    slippage: float = param(0.0, low=0.0, high=0.1, help="adverse fill as a fraction of price")

    def __post_init__(self) -> None:
        for f in fields(Costs):
            value = getattr(self, f.name)
            if not np.isfinite(value) or value < 0:
                raise ConfigError(f"cost {f.name} must be a finite number >= 0, got {value}")
        if self.fee_pct >= 1 or self.slippage >= 1:
            raise ConfigError("fee_pct and slippage are fractions of the price and must be < 1")

    def costs(self) -> Costs:
        """The cost fields alone (a strategy's parameters carry more)."""
        return Costs(**{f.name: getattr(self, f.name) for f in fields(Costs)})


@dataclass(frozen=True, kw_only=True)
class CostParams(Costs):
    """The costs a strategy's parameters inherit: 5 bp of slippage unless tuned otherwise."""

    slippage: float = param(0.0005, low=0.0, high=0.1, help="adverse fill as a fraction of price")


@dataclass(frozen=True)
class SimOutput:
    """Arrays from :func:`simulate`; columns follow the signal matrix's columns."""

    equity: np.ndarray
    """``(bars, n)`` mark-to-market equity at each bar's close."""
    in_position: np.ndarray
    """``(bars, n)`` bool: a position was held at some point of the bar."""
    held_at_close: np.ndarray
    """``(bars, n)`` bool: a position is carried past the bar's close."""
    trades: np.ndarray
    """``(n,)`` closed trades per column."""
    wins: np.ndarray
    """``(n,)`` closed trades with a positive net profit."""
    records: np.ndarray | None
    """``(k, 9)`` trade records when asked for: column, entry bar, exit bar, entry price,
    exit price, units, net P&L (after all fees), fees, exit reason (see ``EXIT_REASONS``)."""


def _as_matrix(values: np.ndarray, n_bars: int, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.bool_)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n_bars:
        raise ConfigError(f"{name} must have {n_bars} rows (one per bar), got shape {arr.shape}")
    return arr


def _per_column(values: float | np.ndarray, n: int, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ConfigError(f"{name} must be a number or have one value per column ({n})")
    finite = arr[np.isfinite(arr)]
    if np.any(finite <= 0):
        raise ConfigError(f"{name} must be > 0 (a fraction of the entry price) or NaN for none")
    return arr


def simulate(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    *,
    capital: float,
    stop_loss: float | np.ndarray = np.nan,
    take_profit: float | np.ndarray = np.nan,
    costs: Costs | None = None,
    fill: str = "next_open",
    size: float = 1.0,
    whole_units: bool = False,
    force_exit: np.ndarray | None = None,
    record_trades: bool = False,
) -> SimOutput:
    """Simulate a long-only entry/exit rule for every column of ``entries`` / ``exits``.

    Parameters
    ----------
    open_, high, low, close
        ``(bars,)`` prices of the traded instrument.
    entries, exits
        ``(bars,)`` or ``(bars, n)`` booleans decided at each bar's close: enter when flat, exit
        when long (an exit wins when both are set). A column is one parameter set.
    capital
        Starting cash of every column.
    stop_loss, take_profit
        Distances from the entry price as fractions (0.05 = 5%), one number or one per column;
        NaN switches the level off.
    costs
        Fees and slippage (:class:`Costs`); none by default.
    fill
        ``"next_open"`` (default) or ``"close"`` (same-bar close, an explicit choice).
    size
        Fraction of equity invested on entry (0 < size <= 1; no leverage).
    whole_units
        Buy whole units only (as backtesting.py does).
    force_exit
        ``(bars,)`` booleans: close at that bar's close and open nothing on it (session end).
    record_trades
        Also return one record per closed trade (for reports; leave off when tuning).
    """
    o = np.ascontiguousarray(open_, dtype=float)
    h = np.ascontiguousarray(high, dtype=float)
    lo = np.ascontiguousarray(low, dtype=float)
    c = np.ascontiguousarray(close, dtype=float)
    n_bars = c.shape[0]
    if not (o.shape == h.shape == lo.shape == c.shape == (n_bars,)):
        raise ConfigError("open, high, low and close must be 1-D arrays of the same length")
    ent = _as_matrix(entries, n_bars, "entries")
    ext = _as_matrix(exits, n_bars, "exits")
    if ext.shape[1] == 1 and ent.shape[1] > 1:
        ext = np.repeat(ext, ent.shape[1], axis=1)
    if ent.shape[1] == 1 and ext.shape[1] > 1:
        ent = np.repeat(ent, ext.shape[1], axis=1)
    if ent.shape != ext.shape:
        raise ConfigError(f"entries {ent.shape} and exits {ext.shape} differ in shape")
    n = ent.shape[1]
    if fill not in FILL_MODES:
        raise ConfigError(f"fill must be one of {FILL_MODES}, got {fill!r}")
    if not (0 < size <= 1):
        raise ConfigError(
            f"size is the fraction of equity invested and must be in (0, 1], got {size}"
        )
    if not (np.isfinite(capital) and capital > 0):
        raise ConfigError(f"capital must be a positive number, got {capital}")
    sl = _per_column(stop_loss, n, "stop_loss")
    tp = _per_column(take_profit, n, "take_profit")
    fx = np.zeros(n_bars, dtype=np.bool_) if force_exit is None else np.asarray(force_exit, bool)
    if fx.shape != (n_bars,):
        raise ConfigError("force_exit must have one value per bar")
    cst = costs or Costs()
    cost_arr = np.array([cst.fee_per_trade, cst.fee_per_unit, cst.fee_pct, cst.slippage])
    max_rec = (n_bars + 1) if record_trades else 0
    # one contiguous row per parameter set: each column's loop reads and writes sequentially
    equity_t, inpos_t, held_t, trades, wins, recs, nrec = _kernel(
        o, h, lo, c, np.ascontiguousarray(ent.T), np.ascontiguousarray(ext.T), sl, tp, fx,
        float(capital), cost_arr, fill == "close", float(size), bool(whole_units), max_rec,
    )  # fmt: skip
    equity, inpos, held = equity_t.T, inpos_t.T, held_t.T
    records = None
    if record_trades:
        records = np.concatenate([recs[j, : nrec[j]] for j in range(n)], axis=0)
    return SimOutput(
        equity=equity,
        in_position=inpos,
        held_at_close=held,
        trades=trades,
        wins=wins,
        records=records,
    )


@nb.njit(cache=True)
def _buy_units(cash: float, price: float, costs: np.ndarray, size: float, whole: bool) -> float:
    budget = cash * size - costs[0]
    per_unit = price * (1.0 + costs[2]) + costs[1]
    if budget <= 0.0 or per_unit <= 0.0:
        return 0.0
    units = budget / per_unit
    if whole:
        units = np.floor(units + 1e-9)
    return units


@nb.njit(cache=True)
def _entry(
    ref: float, cash: float, costs: np.ndarray, size: float, whole: bool, sl: float, tp: float
) -> tuple[float, float, float, float, float, float]:
    """A buy at ``ref`` plus slippage: units (0: none affordable), price, cash spent (fee
    included), fee, stop and take levels."""
    px = ref * (1.0 + costs[3])
    units = _buy_units(cash, px, costs, size, whole)
    fee = costs[0] + units * costs[1] + units * px * costs[2]
    stop = ref * (1.0 - sl) if not np.isnan(sl) else np.nan
    take = ref * (1.0 + tp) if not np.isnan(tp) else np.nan
    return units, px, units * px + fee, fee, stop, take


@nb.njit(cache=True)
def _kernel(o, h, lo, c, ent, ext, sl, tp, fx, capital, costs, at_close, size, whole, max_rec):
    n, n_bars = ent.shape
    equity = np.empty((n, n_bars))
    inpos = np.zeros((n, n_bars), dtype=np.bool_)
    held = np.zeros((n, n_bars), dtype=np.bool_)
    trades = np.zeros(n, dtype=np.int64)
    wins = np.zeros(n, dtype=np.int64)
    recs = np.zeros((n, max_rec, 9))
    nrec = np.zeros(n, dtype=np.int64)
    slip = costs[3]
    for j in range(n):
        cash = capital
        units = 0.0
        entry_px = 0.0
        entry_bar = -1
        entry_cost = 0.0  # cash spent on entry, fees included
        entry_fees = 0.0
        pending = 0  # 1 = buy at next open, -1 = sell at next open
        stop_px = np.nan
        take_px = np.nan
        for t in range(n_bars):
            exit_px = np.nan
            reason = -1
            # 1. orders decided at the previous close fill at this open
            if pending == -1 and units > 0.0:
                exit_px = o[t]
                reason = 0
            elif pending == 1 and units == 0.0 and not fx[t]:
                fill = _entry(o[t], cash, costs, size, whole, sl[j], tp[j])
                if fill[0] > 0.0:
                    units, entry_px, entry_cost, entry_fees, stop_px, take_px = fill
                    entry_bar = t
                    cash -= entry_cost
            pending = 0
            # 2. stops against the bar's range (stop first when both are reached)
            if units > 0.0 and np.isnan(exit_px):
                if not np.isnan(stop_px) and (lo[t] <= stop_px or o[t] <= stop_px):
                    exit_px = min(o[t], stop_px)
                    reason = 1
                elif not np.isnan(take_px) and (h[t] >= take_px or o[t] >= take_px):
                    exit_px = max(o[t], take_px)
                    reason = 2
            # 3. decisions at the close
            if units > 0.0 and np.isnan(exit_px):
                if fx[t]:
                    exit_px = c[t]
                    reason = 3
                elif ext[j, t]:
                    if at_close:
                        exit_px = c[t]
                        reason = 0
                    else:
                        pending = -1
            if units > 0.0 or not np.isnan(exit_px):
                inpos[j, t] = True
            if not np.isnan(exit_px) and units > 0.0:
                px = exit_px * (1.0 - slip)
                fee = costs[0] + units * costs[1] + units * px * costs[2]
                proceeds = units * px - fee
                cash += proceeds
                pnl = proceeds - entry_cost
                trades[j] += 1
                if pnl > 0.0:
                    wins[j] += 1
                if max_rec > 0:
                    fees = entry_fees + fee
                    recs[j, nrec[j]] = np.array(
                        [j, entry_bar, t, entry_px, px, units, pnl, fees, reason], dtype=np.float64
                    )
                    nrec[j] += 1
                units = 0.0
                stop_px = np.nan
                take_px = np.nan
            # entries decided at this close (also right after an exit at this bar)
            if units == 0.0 and ent[j, t] and not ext[j, t] and not fx[t]:
                if at_close:
                    fill = _entry(c[t], cash, costs, size, whole, sl[j], tp[j])
                    if fill[0] > 0.0:
                        units, entry_px, entry_cost, entry_fees, stop_px, take_px = fill
                        entry_bar = t
                        cash -= entry_cost
                        inpos[j, t] = True
                else:
                    pending = 1
            equity[j, t] = cash + units * c[t]
            held[j, t] = units > 0.0
        # a position still open at the end is recorded as an open trade marked at the last close
        if units > 0.0 and max_rec > 0:
            last = n_bars - 1
            pnl = units * c[last] - entry_cost
            recs[j, nrec[j]] = np.array(
                [j, entry_bar, last, entry_px, c[last], units, pnl, entry_fees, 4], dtype=np.float64
            )
            nrec[j] += 1
    return equity, inpos, held, trades, wins, recs, nrec
