"""Momentum traded bar by bar, from the backtest's own signal code.

At each session's close of the traded ETF the trader runs :func:`quantalloc.backtest.
strategies.momentum.prepare` and :func:`~quantalloc.backtest.strategies.momentum.signals` on
the bars received so far and reads today's decision: enter (a market order for the sleeve's
cash, filled at the next open, with a stop ``stop_loss`` and an optional take-profit around
that open) or exit (a market order at the next open). On daily bars this is the daily
engine's rule exactly; on 5-minute bars the stop is watched bar by bar, so a gap inside the
day fills at that bar's open, where the daily engine assumes the stop level.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from quantalloc.backtest import bars
from quantalloc.backtest.result import BacktestResult
from quantalloc.backtest.strategies import momentum
from quantalloc.errors import DataError
from quantalloc.service.trading.feed import BarBook
from quantalloc.service.trading.ledger import Ledger
from quantalloc.service.trading.orders import Bar, Broker, Child, Fill, Order
from quantalloc.service.trading.sleeve import SleeveTrader, trade_row


class MomentumTrader(SleeveTrader):
    """One strategy sleeve trading the momentum rule (see the module notes)."""

    p: momentum.MomentumParams
    name = momentum.NAME
    bar_size = "1 day"

    def __init__(
        self, params: momentum.MomentumParams, broker: Broker, ledger: Ledger, book: BarBook
    ) -> None:
        if params.fill != "next_open":
            raise DataError("momentum trades fill at the next open; drop the fill=close parameter")
        super().__init__(params, broker, ledger, book)
        self.start: pd.Timestamp | None = None
        self.active: dict[pd.Timestamp, bool] = {}
        self.held: dict[pd.Timestamp, bool] = {}
        self.last: Bar | None = None

    def history_days(self) -> int:
        """The signal's SMA history, as :func:`momentum.prepare` loads it."""
        return momentum.warmup_days(self.p.sma_days)

    def symbols(self, provider: Any) -> list[str]:
        """The signal and the traded symbol."""
        return sorted({self.p.signal_symbol, self.p.trade_symbol})

    def traded_prices(self, symbol: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Replayed bars of the traded ETF carry total-return prices when ``adjusted`` (as the
        backtest trades them); a live feed's prices are the market's."""
        if self.p.adjusted and symbol == self.p.trade_symbol:
            return bars.total_return_ohlc(frame)
        return frame

    def on_bars(self, group: list[Bar], fills: list[Fill]) -> None:
        """Book the fills; at the traded symbol's session close, decide."""
        bar = next((b for b in group if b.symbol == self.p.trade_symbol), None)
        if bar is None:
            return
        day = bar.time.normalize()
        self.start = self.start or day
        was_open = self.entry is not None
        self._book(fills)
        self.active[day] = self.active.get(day, False) or was_open or bool(fills)
        self.last = bar
        if not bar.session_end:
            return
        self._decide(day)
        units = self.entry.quantity if self.entry is not None else 0.0
        self.equity[day] = self.ledger.cash() + units * bar.close
        self.held[day] = self.entry is not None

    def finish(self) -> BacktestResult:
        """The session's result, in the backtest's form (an open position marked at the end)."""
        rows = list(self.trades)
        if self.entry is not None and self.last is not None:
            e, close = self.entry, self.last.close
            pnl = e.quantity * close - (e.quantity * e.price + e.fee)
            rows.append(trade_row(e, self.last.time.normalize(), close, pnl, e.fee, "end_of_data",
                                  "long"))  # fmt: skip
        return self.result(rows, lambda d: self.active.get(d, False),
                           lambda d: self.held.get(d, False))  # fmt: skip

    def _decide(self, day: pd.Timestamp) -> None:
        try:
            data = momentum.prepare(self.book, self.start, day, self.p)
        except DataError:  # the first session: fewer than two bars of the window yet
            return
        entries, exits = momentum.signals(data, self.p.sma_days)
        if data.index[-1] != day:
            return
        tag = f"mom-{day.date()}"
        symbol = self.p.trade_symbol
        if self.entry is not None and exits[-1]:
            self.broker.submit(Order(f"{tag}-exit", symbol, "sell", "market",
                                     quantity=self.entry.quantity))  # fmt: skip
        elif self.entry is None and entries[-1] and not exits[-1]:
            children = []
            if self.p.stop_loss > 0:
                children.append(Child("stop", self.p.stop_loss, "stop", relative=True))
            if self.p.take_profit > 0:
                children.append(Child("limit", self.p.take_profit, "take_profit", relative=True))
            cash = self.ledger.cash()
            self.broker.submit(Order(f"{tag}-entry", symbol, "buy", "market", notional=cash,
                                     children=tuple(children)))  # fmt: skip

    def _book(self, fills: list[Fill]) -> None:
        for fill in fills:
            self.ledger.record(fill)
            if fill.side == "buy":
                self.entry = fill
                continue
            e = self.entry
            if e is None:
                raise DataError(f"momentum: a sell fill {fill.order_id} without a position")
            pnl = fill.quantity * fill.price - fill.fee - (e.quantity * e.price + e.fee)
            self.trades.append(trade_row(e, fill.time, fill.price, pnl, e.fee + fill.fee,
                                         fill.reason, "long"))  # fmt: skip
            self.entry = None
