"""The frozen result of one backtest, with its JSON form."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.atomic import write_atomic
from quantalloc.backtest import metrics as m

TRADE_COLUMNS: tuple[str, ...] = (
    "symbol",
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "units",
    "pnl",
    "fees",
    "exit_reason",
)
"""Columns of :attr:`BacktestResult.trades` (one row per trade; an ``end_of_data`` row is still
open at the last bar and marked there)."""


@dataclass(frozen=True)
class BacktestResult:
    """One strategy run: daily equity, its returns, the trades and the metrics.

    ``equity`` is the account value at each day's close (intraday strategies report their
    end-of-day value), ``returns`` its simple daily returns (the first against ``capital``),
    ``trades`` a frame with :data:`TRADE_COLUMNS`, ``metrics`` the dict of
    :data:`quantalloc.backtest.metrics.METRIC_NAMES`, and ``in_position`` a daily boolean Series
    (a position was open during the day).
    """

    strategy: str
    params: dict[str, Any]
    capital: float
    equity: pd.Series
    returns: pd.Series
    trades: pd.DataFrame
    metrics: dict[str, float]
    in_position: pd.Series
    notes: tuple[str, ...] = field(default=())
    open_at_close: pd.Series | None = None
    """Daily booleans: a position is carried past the close, so its capital cannot be moved
    then (None: same as ``in_position``). The multi-strategy allocator locks on it."""
    weights: pd.DataFrame | None = None
    """Multi-strategy runs: each strategy's share of the capital after each close."""
    data_source: str = ""
    """The price source the run read (``csv:DIR``, ``yahoo``, ``demo:us``), for its reports."""
    synthetic: bool = False
    """True when the prices were generated (the demo market), not real."""
    timings: dict[str, float] = field(default_factory=dict)
    """Replays: wall-clock seconds (``seconds_per_rebalance``, ...); reported, never used."""
    sections: dict[str, Any] = field(default_factory=dict)
    """Further JSON sections of a strategy (a replay's ``pricing`` counts, ``comparison``)."""

    @property
    def locked(self) -> pd.Series:
        """Days whose close finds a position open (``open_at_close``, else ``in_position``)."""
        return self.in_position if self.open_at_close is None else self.open_at_close

    @property
    def drawdown(self) -> pd.Series:
        """Drawdown of the equity below its running peak (negative fractions)."""
        return pd.Series(m.drawdown(self.returns.to_numpy()), index=self.equity.index)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: strategy, params, capital, metrics, equity (date -> value), trades."""
        trades = self.trades.copy()
        for col in ("entry_time", "exit_time"):
            if col in trades:
                trades[col] = trades[col].astype(str)
        return {
            "strategy": self.strategy,
            "params": _jsonable(self.params),
            "capital": self.capital,
            "data": self.data_source,
            "synthetic": self.synthetic,
            "start": _day(self.equity.index[0]) if len(self.equity) else None,
            "end": _day(self.equity.index[-1]) if len(self.equity) else None,
            "metrics": _jsonable(self.metrics),
            "equity": {_day(k): round(float(v), 6) for k, v in self.equity.items()},
            "trades": _jsonable(trades.to_dict(orient="records")),
            "notes": list(self.notes),
            **({"timings": dict(self.timings)} if self.timings else {}),
            **_jsonable(self.sections),
            **(
                {}
                if self.weights is None
                else {
                    "weights": {
                        _day(k): {c: round(float(v), 6) for c, v in row.items()}
                        for k, row in self.weights.iterrows()
                    }
                }
            ),
        }

    def write_json(self, path: str | Path) -> None:
        """Write :meth:`to_dict` to ``path`` atomically (temp file, then rename)."""
        write_json_atomic(path, self.to_dict())


def make_result(
    strategy: str,
    params: dict[str, Any],
    capital: float,
    equity: pd.Series,
    trades: pd.DataFrame,
    in_position: pd.Series,
    notes: tuple[str, ...] = (),
    open_at_close: pd.Series | None = None,
    weights: pd.DataFrame | None = None,
) -> BacktestResult:
    """Build a :class:`BacktestResult`, computing returns and metrics from ``equity``."""
    equity = equity.astype(float).rename("equity")
    returns = m.returns_from_equity(equity, capital)
    closed = trades.loc[trades["exit_reason"] != "end_of_data"] if len(trades) else trades
    metrics = m.summary(
        m.curve_returns(returns.to_numpy()),
        exposure=float(in_position.mean()) if len(in_position) else 0.0,
        trades=len(closed),
        wins=int((closed["pnl"] > 0).sum()) if len(closed) else 0,
    )
    return BacktestResult(
        strategy=strategy,
        params=dict(params),
        capital=float(capital),
        equity=equity,
        returns=returns,
        trades=trades.reset_index(drop=True),
        metrics=metrics,
        in_position=in_position.astype(bool).rename("in_position"),
        notes=tuple(notes),
        open_at_close=None if open_at_close is None else open_at_close.astype(bool),
        weights=weights,
    )


def empty_trades() -> pd.DataFrame:
    """A trades frame with no rows and the standard columns."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in TRADE_COLUMNS})


def _day(stamp: Any) -> str:
    ts = pd.Timestamp(stamp)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def write_json_atomic(path: str | Path, payload: Any) -> None:
    """Write ``payload`` as JSON to ``path`` through a temp file and ``os.replace``."""
    write_atomic(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")


@dataclass(frozen=True)
class BatchResult:
    """Many parameter sets of one strategy run in one call (for tuning).

    ``equity`` has one column per parameter set (columns 0..n-1, in the order of ``params``),
    ``metrics`` one row per parameter set with the columns of
    :data:`quantalloc.backtest.metrics.METRIC_NAMES`.
    """

    strategy: str
    params: tuple[Any, ...]
    capital: float
    equity: pd.DataFrame
    metrics: pd.DataFrame

    def best(self, by: str = "score") -> int:
        """Position of the parameter set with the highest ``by`` metric (NaN counts as lowest)."""
        return int(np.nanargmax(self.metrics[by].fillna(-np.inf).to_numpy()))


def trades_from_records(
    records: np.ndarray | None, index: pd.DatetimeIndex, symbol: str, side: str = "long"
) -> pd.DataFrame:
    """The trades frame of the engine's trade records (see ``SimOutput.records``)."""
    from quantalloc.backtest.engine import EXIT_REASONS

    if records is None or not len(records):
        return empty_trades()
    entry = records[:, 1].astype(int)
    exit_ = records[:, 2].astype(int)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "side": side,
            "entry_time": index[entry],
            "exit_time": index[exit_],
            "entry_price": records[:, 3],
            "exit_price": records[:, 4],
            "units": records[:, 5],
            "pnl": records[:, 6],
            "fees": records[:, 7],
            "exit_reason": [EXIT_REASONS[int(r)] for r in records[:, 8]],
        }
    )
