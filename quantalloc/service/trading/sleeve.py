"""What every bar-by-bar trader shares: its sleeve, its trade rows and its result.

A trader (momentum, orb) holds its strategy's parameters, the broker it orders through, the
ledger of its sleeve's cash and the book of bars received; it keeps one position at a time
(``entry``, the opening fill), the closed trades as the backtest's trade rows, and the equity
per session. :meth:`SleeveTrader.result` turns them into the backtest's result form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pandas as pd

from quantalloc.backtest.result import BacktestResult, empty_trades, make_result
from quantalloc.service.trading.feed import BarBook
from quantalloc.service.trading.ledger import Ledger
from quantalloc.service.trading.orders import Broker, Fill

SESSION_NOTE = "paper or live session through the broker"


def trade_row(
    entry: Fill, exit_time: Any, exit_price: float, pnl: float, fees: float, reason: str, side: str
) -> dict[str, Any]:
    """One closed (or marked) trade in the backtest's trade-row form."""
    return {
        "symbol": entry.symbol,
        "side": side,
        "entry_time": entry.time,
        "exit_time": exit_time,
        "entry_price": entry.price,
        "exit_price": exit_price,
        "units": entry.quantity,
        "pnl": pnl,
        "fees": fees,
        "exit_reason": reason,
    }


class SleeveTrader:
    """The state a trader keeps about its sleeve (see the module notes).

    Subclasses set ``name`` and ``bar_size`` and implement ``history_days``, ``symbols``,
    ``on_bars`` and ``finish`` (the :class:`~quantalloc.service.trading.session.Trader` protocol).
    """

    name: str
    bar_size: str
    """IB bar size of its live feed."""

    def __init__(self, params: Any, broker: Broker, ledger: Ledger, book: BarBook) -> None:
        self.p = params
        self.broker, self.ledger, self.book = broker, ledger, book
        self.capital = ledger.cash()
        self.warmup_days = self.history_days()
        self.entry: Fill | None = None
        self.trades: list[dict[str, Any]] = []
        self.equity: dict[pd.Timestamp, float] = {}

    def history_days(self) -> int:
        """Calendar days of bars before the first session the rule needs (as its backtest
        loads them)."""
        raise NotImplementedError

    def result(
        self,
        rows: list[dict[str, Any]],
        in_position: Callable[[pd.Timestamp], bool],
        open_at_close: Callable[[pd.Timestamp], bool],
    ) -> BacktestResult:
        """The session's result: ``rows`` as trades, the equity per session, and per session
        whether a position was held during it and at its close."""
        equity = pd.Series(self.equity, dtype=float).sort_index()
        trades = pd.DataFrame(rows) if rows else empty_trades()
        days = equity.index
        inpos = pd.Series([in_position(d) for d in days], index=days, dtype=bool)
        held = pd.Series([open_at_close(d) for d in days], index=days, dtype=bool)
        return make_result(self.name, asdict(self.p), self.capital, equity, trades, inpos,
                           (SESSION_NOTE,), open_at_close=held)  # fmt: skip


__all__ = ["SESSION_NOTE", "SleeveTrader", "trade_row"]
