"""The wheel traded session by session, from the backtest's own rules, through a broker.

At each close of the underlying the trader runs what :func:`quantalloc.backtest.strategies.
wheel.run` runs for that day, on the same :class:`~quantalloc.backtest.strategies.wheel_book.
WheelBook`: the sleeve's cash earns ``rate`` since the last close and its shares their
dividends (booked as cash flows); the broker's settlement of an expiring option (and the
shares an assignment delivers) is booked; an option that has lost ``take_profit`` of its
premium is bought back; then, with no option open, the next one is sold
(:func:`~quantalloc.backtest.strategies.wheel.next_option`, puts sized by the sleeve's cash
read from the ledger). Option orders are market orders the broker fills at once at its
quotes (:meth:`~quantalloc.service.trading.orders.Broker.poll`).

Prices come from :func:`~quantalloc.backtest.strategies.wheel.make_quotes` over the bars
received so far (:func:`book_quotes`): the paper broker fills through the same source, so a
paper session ends with the backtest's trades and equity. Dividends come from the bars'
adjusted close; a live feed carries none, so live sessions book no dividends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pandas as pd

from quantalloc.backtest.result import BacktestResult, empty_trades, make_result
from quantalloc.backtest.strategies import wheel
from quantalloc.backtest.strategies.wheel_book import WheelBook
from quantalloc.data.base import PriceProvider
from quantalloc.errors import DataError
from quantalloc.options.quotes import OptionQuotes
from quantalloc.service.trading.feed import BarBook
from quantalloc.service.trading.ledger import Ledger
from quantalloc.service.trading.orders import Bar, Broker, Fill, Order

SETTLED = ("expired", "assigned", "called_away", "exercised")


def book_closes(
    book: PriceProvider, vol: tuple[str, PriceProvider] | None = None
) -> Callable[[str, pd.Timestamp], float]:
    """``closes(symbol, day)`` from the bars received so far (the vol index from ``vol``'s
    provider when it comes from another source)."""
    frames: dict[str, pd.Series] = {}

    def closes(symbol: str, day: pd.Timestamp) -> float:
        if vol is not None and symbol == vol[0]:
            if symbol not in frames:
                frames[symbol] = vol[1].history(symbol)["close"]
            seen = frames[symbol].loc[:day]
        else:
            seen = book.history(symbol, None, day)["close"]
        if not len(seen):
            raise DataError(
                f"{symbol}: no close on or before {pd.Timestamp(day).date()}; start later"
            )
        return float(seen.iloc[-1])

    return closes


def book_quotes(p: wheel.WheelParams, book: PriceProvider) -> OptionQuotes:
    """The wheel's option quotes over ``book`` (the trader's and the paper broker's)."""
    vol = None
    if p.vol_data:
        from quantalloc.data.sources import get_provider

        vol = (p.vol_symbol, get_provider(p.vol_data, "us"))
    return wheel.make_quotes(p, book_closes(book, vol))


class WheelTrader:
    """One strategy sleeve trading the wheel (see the module notes)."""

    name = wheel.NAME
    bar_size = "1 day"
    """IB bar size of its live feed."""

    def __init__(
        self,
        params: wheel.WheelParams,
        broker: Broker,
        ledger: Ledger,
        book: BarBook,
        quotes: OptionQuotes | None = None,
    ) -> None:
        self.p = params
        self.broker, self.ledger, self.book = broker, ledger, book
        self.quotes = quotes if quotes is not None else book_quotes(params, book)
        """Marks and take-profit checks; give a paper broker the same source."""
        self.capital = ledger.cash()
        self.warmup_days = 10  # the vol index's last level before the first day, as run() loads
        self.wb = WheelBook(params.symbol)
        self.equity: dict[pd.Timestamp, float] = {}
        self.held: dict[pd.Timestamp, bool] = {}
        self.fresh_put: dict[pd.Timestamp, bool] = {}
        self.last: tuple[pd.Timestamp, float] | None = None

    def symbols(self, provider: Any) -> list[str]:
        """The underlying, and the vol index when it comes with the bars."""
        return [self.p.symbol] if self.p.vol_data else [self.p.symbol, self.p.vol_symbol]

    def on_bars(self, group: list[Bar], fills: list[Fill]) -> None:
        """At the underlying's close: accrue, book the broker's fills, then decide."""
        bar = next((b for b in group if b.symbol == self.p.symbol), None)
        if bar is None:
            if fills:
                raise DataError(f"wheel: fills {[f.order_id for f in fills]} without a bar")
            return
        day, spot = bar.time.normalize(), bar.close
        self._accrue(day)
        self._book(fills, day, spot)
        mark = self._decide(day, spot)
        self.equity[day] = self.ledger.cash() + self.wb.shares * spot - self.wb.liability(mark)
        self.held[day] = self.wb.option is not None or self.wb.shares > 0
        self.last = (day, spot)

    def finish(self) -> BacktestResult:
        """The session's result, in the backtest's form (what is open marked at the end)."""
        rows: list[dict[str, Any]] = []
        if self.last is not None:
            day, spot = self.last
            opt = self.wb.option
            mark = self.quotes.quote(opt.contract, day).mark if opt is not None else None
            rows = self.wb.finish(day, spot, mark)
        equity = pd.Series(self.equity, dtype=float).sort_index()
        held = pd.Series([self.held[d] for d in equity.index], index=equity.index, dtype=bool)
        fresh = pd.Series([self.fresh_put.get(d, False) for d in equity.index],
                          index=equity.index, dtype=bool)  # fmt: skip
        trades = pd.DataFrame(rows) if rows else empty_trades()
        note = ("paper or live session through the broker",)
        return make_result(self.name, asdict(self.p), self.capital, equity, trades, held, note,
                           open_at_close=held & ~fresh)  # fmt: skip

    # -- one close -----------------------------------------------------------------------------

    def _accrue(self, day: pd.Timestamp) -> None:
        """Interest on the sleeve's cash since the last close; dividends on its shares."""
        if self.last is not None:
            amount = wheel.interest(self.p, self.ledger.cash(), (day - self.last[0]).days)
            if amount:
                self.ledger.credit(amount, "interest", day, f"wheel-{day.date()}-interest")
        if self.wb.shares:
            recent = self.book.history(self.p.symbol, self.last[0] if self.last else None, day)
            per_share = float(wheel.dividends(recent).iloc[-1]) if len(recent) > 1 else 0.0
            if per_share:
                self.ledger.credit(per_share * self.wb.shares, "dividend", day,
                                   f"wheel-{day.date()}-dividend")  # fmt: skip

    def _decide(self, day: pd.Timestamp, spot: float) -> float:
        """Take profit, then sell the next option; the open option's mark at this close."""
        p, mark = self.p, 0.0
        opt = self.wb.option
        if opt is not None:
            if opt.contract.settles_on(day):
                raise DataError(f"wheel: the broker did not settle {opt.contract.symbol} on "
                                f"{day.date()}, its last trading day")  # fmt: skip
            quote = self.quotes.quote(opt.contract, day)
            mark = quote.mark
            if wheel.take_profit_due(p, opt, quote):
                self.broker.submit(Order(f"wheel-{day.date()}-close", opt.contract.symbol, "buy",
                                         "market", quantity=opt.contracts, reason="take_profit",
                                         contract=opt.contract))  # fmt: skip
                self._book(list(self.broker.poll()), day, spot)
        if self.wb.option is not None:
            return mark
        sale = wheel.next_option(p, day, spot, self.wb.shares, self.ledger.cash())
        if sale is None:
            return mark
        contract, contracts = sale
        self.broker.submit(Order(f"wheel-{day.date()}-open", contract.symbol, "sell", "market",
                                 quantity=contracts, contract=contract))  # fmt: skip
        self._book(list(self.broker.poll()), day, spot)
        self.fresh_put[day] = contract.right == "put"
        return self.quotes.quote(contract, day).mark

    def _book(self, fills: list[Fill], day: pd.Timestamp, spot: float) -> None:
        """Each fill to the ledger, and its meaning to the wheel's book."""
        expected = 0.0  # shares a settlement delivers, and the broker's fill of them
        for fill in fills:
            self.ledger.record(fill)
            c = fill.contract
            if c is None:
                delivered = fill.quantity if fill.side == "buy" else -fill.quantity
                if fill.reason not in SETTLED or abs(delivered - expected) > 1e-9:
                    raise DataError(f"wheel: unexpected {fill.side} of {fill.quantity:g} "
                                    f"{fill.symbol} ({fill.reason}) at the broker")  # fmt: skip
                expected = 0.0
            elif fill.reason in SETTLED:
                if self.wb.option is None or self.wb.option.contract != c:
                    raise DataError(f"wheel: the broker settled {c.symbol}, which it does not "
                                    "hold")  # fmt: skip
                expected = self.wb.settled(day, spot)
            elif fill.side == "sell":
                self.wb.opened(c, int(fill.quantity), fill.price, fill.fee, day)
            else:
                self.wb.bought_back(day, fill.price, fill.fee, fill.reason)
        if expected:
            raise DataError(f"wheel: the broker delivered no shares for an exercise of "
                            f"{expected:g} on {day.date()}")  # fmt: skip
