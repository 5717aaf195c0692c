"""The opening-range breakout traded bar by bar, from the backtest's own code.

At the close of the opening range the trader calls :func:`quantalloc.backtest.strategies.orb.
prepare` on the bars received so far (so the symbol is chosen, and its ATR measured, exactly
as the backtest does on that day), then places the breakout as two stop orders, one
cancelling the other, each with its bracket: a stop ``stop_atr`` x ATR and a take-profit
``take_profit_atr`` x ATR from the entry, and a market-on-close leg, so a position still open
at the session's close is closed there (whichever leg fills first cancels the others). At the
symbol's last bar an entry that never triggered is cancelled. Sizing is ``size`` x the
sleeve's cash, read from the ledger (the portfolio API) before each entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.backtest.result import BacktestResult
from quantalloc.backtest.strategies import orb
from quantalloc.errors import DataError
from quantalloc.service.trading.orders import Bar, Child, Fill, Order, Side
from quantalloc.service.trading.sleeve import SleeveTrader, trade_row

_SIDES: dict[str, tuple[Side, ...]] = {"both": ("buy", "sell"), "long": ("buy",),
                                       "short": ("sell",)}  # fmt: skip


@dataclass
class _Plan:
    symbol: str
    atr: float
    top: float
    bottom: float


class OrbTrader(SleeveTrader):
    """One strategy sleeve trading the breakout (see the module notes)."""

    p: orb.OrbParams
    name = orb.NAME
    bar_size = "5 mins"
    day: pd.Timestamp | None = None
    """The session of the bars seen last."""
    plan: _Plan | None = None
    """The day's breakout plan, once the opening range is known."""

    def history_days(self) -> int:
        """The ATR's history, as :func:`orb.prepare` loads it."""
        return orb.warmup_days(self.p)

    def symbols(self, provider: Any) -> list[str]:
        """The symbols to watch (as the backtest scans them)."""
        return orb._symbols(provider, self.p)

    # -- the bar loop --------------------------------------------------------------------------

    def on_bars(self, group: list[Bar], fills: list[Fill]) -> None:
        """Handle one timestamp's bars after the broker filled what they reached."""
        day = group[0].time.normalize()
        if day != self.day:
            self._end_day()
            self.day, self.plan, self.entry = day, None, None
        self._book(fills)
        range_end = day + pd.Timedelta(minutes=570 + 5 * (self.p.range_bars - 1))
        if group[0].time == range_end:
            self._place(day)
        if self.plan is None:
            return
        bar = next((x for x in group if x.symbol == self.plan.symbol), None)
        if bar is not None and bar.session_end:
            self._flatten()

    def finish(self) -> BacktestResult:
        """The session's result, in the backtest's form."""
        self._end_day()
        traded = {pd.Timestamp(t["entry_time"]).normalize() for t in self.trades}
        return self.result(self.trades, lambda d: d in traded, lambda d: False)

    # -- steps ---------------------------------------------------------------------------------

    def _end_day(self) -> None:
        if self.day is not None:
            self.equity[self.day] = self.ledger.cash()

    def _place(self, day: pd.Timestamp) -> None:
        try:
            data = orb.prepare(self.book, day, day, self.p)
        except DataError:
            return
        symbol, atr = data.symbol[0], float(data.atr[0])
        if not symbol or not np.isfinite(atr):
            return
        k = self.p.range_bars
        plan = _Plan(symbol, atr, float(np.max(data.high[0, :k])), float(np.min(data.low[0, :k])))
        self.plan = plan
        notional = self.ledger.cash() * self.p.size
        exits = (Child("stop", self.p.stop_atr * atr, "stop"),
                 Child("limit", self.p.take_profit_atr * atr, "take_profit"),
                 Child("close", 0.0, "session_close"))  # fmt: skip
        tag = f"orb-{day.date()}"
        sides: tuple[Side, ...] = _SIDES[self.p.direction]
        for side in sides:
            level = plan.top if side == "buy" else plan.bottom
            self.broker.submit(
                Order(f"{tag}-{side}", symbol, side, "stop", notional=notional, price=level,
                      oca=f"{tag}-entry", children=exits, exits_on_fill_bar="stop")
            )  # fmt: skip

    def _flatten(self) -> None:
        """At the symbol's last bar: an entry that never triggered is cancelled."""
        for order in self.broker.working():
            if order.oca is not None and order.oca.endswith("-entry"):
                self.broker.cancel(order.order_id)
        self.plan = None

    def _book(self, fills: list[Fill]) -> None:
        for fill in fills:
            self.ledger.record(fill)
            if self.entry is None:
                self.entry = fill
                continue
            entry, sign = self.entry, (1.0 if self.entry.side == "buy" else -1.0)
            pnl = sign * fill.quantity * (fill.price - entry.price) - entry.fee - fill.fee
            side = "long" if sign > 0 else "short"
            self.trades.append(trade_row(entry, fill.time, fill.price, pnl, entry.fee + fill.fee,
                                         fill.reason, side))  # fmt: skip
            self.entry = None
