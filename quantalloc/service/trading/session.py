"""A trading session: a bar feed drives a strategy's trader, a broker fills, a ledger books.

Paper trading replays stored bars through :class:`~quantalloc.service.trading.paper.
PaperBroker`; live trading takes the broker's own feed and orders (Interactive Brokers, see
:mod:`quantalloc.service.trading.ib`). Either way the loop is the same: per timestamp, the
broker reports the fills the bars produced, then the trader books them and decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from quantalloc.backtest.result import BacktestResult
from quantalloc.data.base import DateLike, PriceProvider
from quantalloc.errors import ConfigError
from quantalloc.service.trading.feed import BarBook, replay
from quantalloc.service.trading.ledger import Ledger
from quantalloc.service.trading.orders import Bar, Broker, Fill

TRADEABLE = ("orb", "momentum", "wheel")
"""Strategies with a bar-by-bar trader."""


class Trader(Protocol):
    """A strategy trading bar by bar."""

    name: str
    warmup_days: int
    bar_size: str

    def symbols(self, provider: Any) -> list[str]:
        """Symbols whose bars it needs."""
        ...

    def on_bars(self, group: list[Bar], fills: list[Fill]) -> None:
        """Book ``fills`` and decide on one timestamp's bars."""
        ...

    def finish(self) -> BacktestResult:
        """The session's trades and daily equity."""
        ...


def check_tradeable(strategy: str) -> None:
    """ConfigError unless ``strategy`` has a bar-by-bar trader."""
    if strategy not in TRADEABLE:
        raise ConfigError(
            f"strategy {strategy!r} cannot trade bar by bar; choose one of {', '.join(TRADEABLE)}"
        )


def make_trader(
    strategy: str,
    params: Mapping[str, Any] | None,
    broker: Broker,
    ledger: Ledger,
    book: BarBook,
) -> Trader:
    """The trader of ``strategy`` with ``params`` (the backtest's parameter names)."""
    from quantalloc.backtest.registry import make_params

    check_tradeable(strategy)
    p = make_params(strategy, dict(params or {}))
    if strategy == "orb":
        from quantalloc.service.trading.orb import OrbTrader

        return OrbTrader(p, broker, ledger, book)
    if strategy == "wheel":
        from quantalloc.service.trading.wheel import WheelTrader

        return WheelTrader(p, broker, ledger, book)
    from quantalloc.service.trading.momentum import MomentumTrader

    return MomentumTrader(p, broker, ledger, book)


def run(trader: Trader, feed: Iterable[list[Bar]], broker: Broker) -> BacktestResult:
    """Drive ``trader`` through ``feed`` with ``broker``; its result at the end."""
    for group in feed:
        fills = [fill for bar in group for fill in broker.on_bar(bar)]
        trader.on_bars(group, fills)
    return trader.finish()


def paper(
    strategy: str,
    provider: PriceProvider,
    start: DateLike,
    end: DateLike,
    ledger: Ledger,
    params: Mapping[str, Any] | None = None,
) -> BacktestResult:
    """A paper session: ``provider``'s stored bars replayed through the paper broker."""
    from quantalloc.backtest.registry import make_params
    from quantalloc.service.trading.paper import PaperBroker

    check_tradeable(strategy)
    p = make_params(strategy, dict(params or {}))
    book = BarBook()
    if strategy == "wheel":  # options fill at the wheel's own quotes, with its fee
        from quantalloc.service.trading.wheel import book_quotes

        broker = PaperBroker(options=book_quotes(p, book), option_fee=p.fee_per_contract)
    else:
        broker = PaperBroker(p.costs())
    trader = make_trader(strategy, params, broker, ledger, book)
    traded = getattr(trader, "traded_prices", None)
    feed = replay(provider, trader.symbols(provider), start, end, trader.warmup_days, book, traded)
    return run(trader, feed, broker)
