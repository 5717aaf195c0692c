"""Momentum on a leveraged ETF: hold SPXL while SPY closes above its 252-day SMA at month end.

Rules (decided at a close, filled at the next open by default):

- on the last trading day of a month, if SPY's close is above its ``sma_days`` simple moving
  average, be long the traded ETF (enter if flat);
- on the last trading day of a month with SPY at or below the SMA, exit;
- while long, a stop ``stop_loss`` below the entry price exits at once (a gap through it fills at
  the open); an optional ``take_profit`` likewise;
- after a stop-out the strategy re-enters as soon as the rule allows, i.e. at the next month end
  with SPY above its SMA.

The SMA is computed over SPY's history before ``start`` too (known at the time), so a test
window begins trading on its first month end. Prices of the traded ETF are total-return adjusted
(``adjusted=true``: OHLC scaled by adj_close / close) so dividends are not lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.backtest import bars
from quantalloc.backtest import metrics as m
from quantalloc.backtest.engine import CostParams, simulate
from quantalloc.backtest.params import param
from quantalloc.backtest.result import (
    BacktestResult,
    BatchResult,
    make_result,
    trades_from_records,
)
from quantalloc.backtest.window import BacktestWindow
from quantalloc.data.base import DateLike, PriceProvider
from quantalloc.errors import ConfigError, DataError

NAME = "momentum"


@dataclass(frozen=True)
class MomentumParams(CostParams):
    """Parameters of the momentum strategy (defaults: the original rule)."""

    signal_symbol: str = param("SPY", help="symbol whose close is compared with its SMA")
    trade_symbol: str = param("SPXL", help="symbol held while the signal is on")
    sma_days: int = param(252, low=2, high=1000, help="SMA length in trading days")
    stop_loss: float = param(0.05, low=0.0, high=0.95, help="stop below entry (0 = none)")
    take_profit: float = param(0.0, low=0.0, high=10.0, help="take profit above entry (0 = none)")
    fill: str = param("next_open", choices=("next_open", "close"), help="when signals fill")
    adjusted: bool = param(True, help="trade total-return adjusted prices")


PARAMS = MomentumParams
"""The parameter dataclass (``PARAMS()`` gives the defaults)."""


@dataclass(frozen=True)
class MomentumData:
    """Prices of one window, prepared once and reusable for many parameter sets."""

    index: pd.DatetimeIndex
    """Trading days of the window."""
    ohlc: pd.DataFrame
    """Traded ETF's open, high, low, close on ``index``."""
    signal_close: pd.Series
    """Signal symbol's close over the warm-up and the window."""
    trade_symbol: str


def warmup_days(sma_days: int) -> int:
    """Calendar days of signal history before the window that an SMA of ``sma_days`` trading
    days needs (a trading day is about 1.45 calendar days; 1.6 and 15 days leave room)."""
    return int(sma_days * 1.6) + 15


def prepare(
    provider: PriceProvider,
    start: DateLike | None,
    end: DateLike | None,
    p: MomentumParams,
    *,
    max_sma_days: int | None = None,
) -> MomentumData:
    """Load the prices from ``start`` to ``end`` (and enough earlier signal history for
    ``max_sma_days``). Loading needs no capital: the live trader calls this on its bar book."""
    longest = max(max_sma_days or 0, p.sma_days)
    sig = bars.as_daily(
        bars.load_with_warmup(provider, p.signal_symbol, start, end, warmup_days(longest))
    )
    trade = bars.as_daily(provider.history(p.trade_symbol, start, end))
    if p.adjusted:
        trade = bars.total_return_ohlc(trade)
    if len(trade) < 2:
        raise DataError(f"{p.trade_symbol}: fewer than 2 bars between {start} and {end}")
    return MomentumData(
        index=pd.DatetimeIndex(trade.index),
        ohlc=trade[["open", "high", "low", "close"]],
        signal_close=sig["close"],
        trade_symbol=p.trade_symbol,
    )


def signals(data: MomentumData, sma_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit booleans on ``data.index`` for one SMA length (decided at each close)."""
    sma = data.signal_close.rolling(sma_days, min_periods=sma_days).mean()
    close = data.signal_close.reindex(data.index, method="ffill").to_numpy()
    level = sma.reindex(data.index, method="ffill").to_numpy()
    known = ~np.isnan(level) & ~np.isnan(close)
    above = known & (close > np.where(known, level, np.inf))
    month_end = bars.month_end_flags(data.index)
    return month_end & above, month_end & known & ~above


def _level(x: float) -> float:
    return np.nan if x == 0 else x


def run(
    window: BacktestWindow, p: MomentumParams, *, data: MomentumData | None = None
) -> BacktestResult:
    """Backtest the momentum rule over ``window`` (``data``: its prices, already prepared)."""
    d = data or prepare(window.provider, window.start, window.end, p)
    capital = window.capital
    entries, exits = signals(d, p.sma_days)
    o = d.ohlc
    out = simulate(
        o["open"].to_numpy(), o["high"].to_numpy(), o["low"].to_numpy(), o["close"].to_numpy(),
        entries, exits, capital=capital, stop_loss=_level(p.stop_loss),
        take_profit=_level(p.take_profit), costs=p.costs(), fill=p.fill, record_trades=True,
    )  # fmt: skip
    equity = pd.Series(out.equity[:, 0], index=d.index)
    trades = trades_from_records(out.records, d.index, d.trade_symbol)
    inpos = pd.Series(out.in_position[:, 0], index=d.index)
    held = pd.Series(out.held_at_close[:, 0], index=d.index)
    return make_result(NAME, asdict(p), capital, equity, trades, inpos, open_at_close=held)


def run_batch(
    window: BacktestWindow, params: Sequence[MomentumParams], *, data: MomentumData | None = None
) -> BatchResult:
    """Backtest many parameter sets in one compiled call (they may differ in ``sma_days``,
    ``stop_loss`` and ``take_profit``; symbols, fill, adjustment and costs must be shared)."""
    if not params:
        raise ConfigError("run_batch needs at least one parameter set")
    first = params[0]
    shared = ("signal_symbol", "trade_symbol", "fill", "adjusted", "fee_per_trade",
              "fee_per_unit", "fee_pct", "slippage")  # fmt: skip
    for p in params:
        for name in shared:
            if getattr(p, name) != getattr(first, name):
                raise ConfigError(
                    f"run_batch: parameter {name} must be the same in every set "
                    f"({getattr(first, name)!r} vs {getattr(p, name)!r}); run separate batches"
                )
    longest = max(p.sma_days for p in params)
    d = data or prepare(window.provider, window.start, window.end, first, max_sma_days=longest)
    capital = window.capital
    by_sma = {n: signals(d, n) for n in sorted({p.sma_days for p in params})}
    entries = np.column_stack([by_sma[p.sma_days][0] for p in params])
    exits = np.column_stack([by_sma[p.sma_days][1] for p in params])
    o = d.ohlc
    out = simulate(
        o["open"].to_numpy(), o["high"].to_numpy(), o["low"].to_numpy(), o["close"].to_numpy(),
        entries, exits, capital=capital,
        stop_loss=np.array([_level(p.stop_loss) for p in params]),
        take_profit=np.array([_level(p.take_profit) for p in params]),
        costs=first.costs(), fill=first.fill,
    )  # fmt: skip
    equity = pd.DataFrame(out.equity, index=d.index)
    prev = np.vstack([np.full((1, len(params)), capital), out.equity[:-1]])
    rets = out.equity / prev - 1.0
    summary: dict[str, Any] = m.summary(
        m.curve_returns(rets),
        exposure=out.in_position.mean(axis=0),
        trades=out.trades,
        wins=out.wins,
    )
    table = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in summary.items()})
    return BatchResult(NAME, tuple(params), float(capital), equity, table)
