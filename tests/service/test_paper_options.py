"""The paper broker's option fills and settlement, by hand on a few daily bars: a sale at the
bid and a purchase at the ask of the strategy's quotes plus the fee a contract, settlement at
the close of the last trading day (shares at the strike), nothing on the day before."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from quantalloc.errors import DataError
from quantalloc.options.contract import OptionContract
from quantalloc.options.quotes import OptionQuote
from quantalloc.service.trading.orders import Bar, Order
from quantalloc.service.trading.paper import PaperBroker

PUT = OptionContract("SPY", dt.date(2024, 1, 12), 98.0, "put")


class FixedQuotes:
    """Quotes set by the test: (bid, ask, mark) per day."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, pd.Timestamp]] = []

    def quote(self, contract: OptionContract, day: pd.Timestamp) -> OptionQuote:
        self.asked.append((contract.symbol, day))
        return OptionQuote(1.96, 2.04, 2.0, "model")


def _bar(day: str, close: float) -> Bar:
    return Bar("SPY", pd.Timestamp(day), close, close + 1, close - 1, close, session_end=True)


def test_option_orders_fill_at_the_quotes_and_settle_at_the_strike() -> None:
    quotes = FixedQuotes()
    broker = PaperBroker(options=quotes, option_fee=0.65)
    with pytest.raises(DataError, match="no bar of SPY yet"):
        broker.submit(Order("o-0", PUT.symbol, "sell", "market", quantity=2, contract=PUT))
    assert broker.on_bar(_bar("2024-01-02", 100.0)) == []
    broker.submit(Order("o-1", PUT.symbol, "sell", "market", quantity=2, contract=PUT))
    (sale,) = broker.poll()
    assert (sale.price, sale.fee, sale.quantity, sale.raw_price) == (1.96, 1.30, 2, 2.0)
    assert sale.cash == pytest.approx(2 * 100 * 1.96 - 1.30)
    assert quotes.asked == [(PUT.symbol, pd.Timestamp("2024-01-02"))]  # the last close seen
    assert broker.position(PUT.symbol) == -2 and broker.poll() == []
    broker.submit(Order("o-2", PUT.symbol, "buy", "market", quantity=1, contract=PUT))
    (buy,) = broker.poll()
    assert (buy.price, buy.fee) == (2.04, 0.65) and broker.position(PUT.symbol) == -1
    assert broker.on_bar(_bar("2024-01-11", 97.0)) == []  # in the money, not yet expiring
    fills = broker.on_bar(_bar("2024-01-12", 96.5))
    assert [(f.symbol, f.side, f.quantity, f.price, f.fee, f.reason) for f in fills] == [
        (PUT.symbol, "buy", 1.0, 0.0, 0.0, "assigned"), ("SPY", "buy", 100.0, 98.0, 0.0,
                                                         "assigned")]  # fmt: skip
    assert broker.position(PUT.symbol) == 0 and broker.position("SPY") == 100
    assert broker.on_bar(_bar("2024-01-16", 99.0)) == []  # settled once


def test_a_broker_without_option_quotes_refuses_option_orders() -> None:
    from quantalloc.errors import ConfigError

    broker = PaperBroker()
    broker.on_bar(_bar("2024-01-02", 100.0))
    with pytest.raises(ConfigError, match="no option quotes"):
        broker.submit(Order("o-1", PUT.symbol, "sell", "market", quantity=1, contract=PUT))
    with pytest.raises(ValueError, match="market order for whole contracts"):
        Order("o-2", PUT.symbol, "sell", "limit", quantity=1, price=2.0, contract=PUT)
