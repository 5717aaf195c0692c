"""The Interactive Brokers adapter at its boundary.

No IB gateway (TWS / IB Gateway) is reachable from the machine these tests run on, so the
``ib_async.IB`` connection is replaced by a fake that records what would be sent and lets
the test play the gateway's part (executions, bars). Everything on our side of that boundary
is real, including ``ib_async``'s own order, contract, trade and fill objects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from ib_async import BarData, CommissionReport, Execution, OrderStatus, Trade
from ib_async import Fill as IBFill

from quantalloc.service.trading.feed import BarBook
from quantalloc.service.trading.ib import IBBroker, ib_feed, live_session
from quantalloc.service.trading.ledger import MemoryLedger
from quantalloc.service.trading.orders import Bar, Child, Order

NY = "America/New_York"


class FakeIB:
    """Stands in for ``ib_async.IB``: keeps placed orders; the test fills them and adds bars."""

    def __init__(self) -> None:
        self.trades: list[Trade] = []
        self.cancelled: list[Any] = []
        self.bars: dict[str, list[BarData]] = {}
        self.updates: list[tuple[str, BarData]] = []
        self.disconnected = False

    def placeOrder(self, contract: Any, order: Any) -> Trade:
        order.orderId = len(self.trades) + 1
        trade = Trade(contract=contract, order=order, orderStatus=OrderStatus(status="Submitted"))
        self.trades.append(trade)
        return trade

    def cancelOrder(self, order: Any) -> None:
        self.cancelled.append(order)
        for trade in self.trades:
            if trade.order is order:
                trade.orderStatus.status = "Cancelled"

    def execute(self, ref: str, parts: list[tuple[float, float, float]]) -> None:
        """The gateway fills order ``ref`` in ``parts`` of (shares, price, commission)."""
        trade = next(t for t in self.trades if t.order.orderRef == ref)
        side = "BOT" if trade.order.action == "BUY" else "SLD"
        for k, (shares, price, commission) in enumerate(parts):
            when = dt.datetime(2025, 6, 3, 14, 0, 30 + k, tzinfo=dt.UTC)
            trade.fills.append(IBFill(
                trade.contract,
                Execution(execId=f"{ref}.{k}", side=side, shares=shares, price=price,
                          orderRef=ref),
                CommissionReport(execId=f"{ref}.{k}", commission=commission), when))  # fmt: skip
        trade.orderStatus.status = "Filled"

    def reqHistoricalData(self, contract: Any, **kwargs: Any) -> list[BarData]:
        assert kwargs["barSizeSetting"] == "5 mins" and kwargs["keepUpToDate"] is True
        return self.bars[contract.symbol]

    def waitOnUpdate(self, timeout: float = 0) -> bool:
        if not self.updates:
            raise AssertionError("the feed waited with no update left to give")
        symbol, bar = self.updates.pop(0)
        self.bars[symbol].append(bar)
        return True

    def disconnect(self) -> None:
        self.disconnected = True


def _bar(minute: int, price: float, day: int = 3) -> BarData:
    start = pd.Timestamp(2025, 6, day, 9, 30, tz=NY) + pd.Timedelta(minutes=minute)
    return BarData(date=start.to_pydatetime(), open=price, high=price + 1, low=price - 1,
                   close=price + 0.5, volume=1000)  # fmt: skip


def test_a_bracketed_stop_pair_becomes_ib_orders_and_fills() -> None:
    ib = FakeIB()
    broker = IBBroker(ib)
    exits = (Child("stop", 2.0, "stop"), Child("limit", 1.5, "take_profit"))
    for side, level in (("buy", 101.0), ("sell", 99.0)):
        broker.submit(Order(f"d1-{side}", "SPY", side, "stop", notional=10_000.0, price=level,
                            oca="d1-entry", children=exits))  # fmt: skip
    buy, sell = ib.trades
    assert (buy.contract.symbol, buy.contract.exchange, buy.contract.currency) == (
        "SPY", "SMART", "USD")  # fmt: skip
    assert (buy.order.orderType, buy.order.action, buy.order.auxPrice) == ("STP", "BUY", 101.0)
    assert buy.order.totalQuantity == 99  # floor(10,000 / 101): IB takes whole shares
    assert (sell.order.action, sell.order.totalQuantity) == ("SELL", 101)  # floor(10,000 / 99)
    assert buy.order.ocaGroup == sell.order.ocaGroup == "d1-entry" and buy.order.ocaType == 1
    assert [o.order_id for o in broker.working()] == ["d1-buy", "d1-sell"]
    # the gateway fills the buy stop in two executions; IB's OCA cancels the sell stop
    ib.execute("d1-buy", [(60, 101.0, 0.6), (39, 101.2, 0.4)])
    sell.orderStatus.status = "Cancelled"
    bar = Bar("SPY", pd.Timestamp("2025-06-03 10:00"), 100, 102, 99.5, 101.5)
    (fill,) = broker.on_bar(bar)
    assert fill.order_id == "d1-buy" and fill.side == "buy" and fill.quantity == 99
    assert fill.price == pytest.approx((60 * 101.0 + 39 * 101.2) / 99)  # volume-weighted
    assert fill.fee == pytest.approx(1.0)  # commissions summed
    assert fill.time == pd.Timestamp("2025-06-03 10:00:31")  # the last execution, New York time
    assert broker.on_bar(bar) == []  # reported once
    stop, take = ib.trades[2:]
    assert (stop.order.orderType, stop.order.action, stop.order.totalQuantity) == (
        "STP",
        "SELL",
        99,
    )
    assert stop.order.auxPrice == pytest.approx(round(fill.price - 2.0, 2))
    assert (take.order.orderType, take.order.lmtPrice) == ("LMT", round(fill.price + 1.5, 2))
    assert stop.order.ocaGroup == take.order.ocaGroup == "d1-buy:exits"
    # the stop fills: reported as the bracket's exit
    ib.execute("d1-buy:0", [(99, 99.0, 1.0)])
    (exit_fill,) = broker.on_bar(bar)
    assert exit_fill.side == "sell" and exit_fill.reason == "stop"
    assert exit_fill.parent_id == "d1-buy"
    broker.cancel("d1-buy:1")
    assert ib.cancelled == [take.order]
    broker.submit(Order("d1-close", "SPY", "sell", "close", quantity=5))
    assert ib.trades[-1].order.orderType == "MOC"


def test_the_feed_groups_completed_bars_and_ends_with_the_session() -> None:
    ib = FakeIB()
    ib.bars = {"SPY": [_bar(0, 100, day=2), _bar(5, 101)], "QQQ": [_bar(0, 200, day=2),
                                                                  _bar(5, 201)]}  # fmt: skip
    ib.updates = [(s, _bar(minute, base + k)) for k, minute in enumerate((10, 385, 390))
                  for s, base in (("SPY", 102), ("QQQ", 202))]  # fmt: skip
    book = BarBook()
    groups = list(ib_feed(ib, ["SPY", "QQQ"], book, warmup_days=5))
    times = [g[0].time for g in groups]
    assert times == [pd.Timestamp("2025-06-03 09:35"), pd.Timestamp("2025-06-03 09:40"),
                     pd.Timestamp("2025-06-03 15:55")]  # fmt: skip
    assert [b.symbol for b in groups[0]] == ["QQQ", "SPY"]
    assert groups[-1][0].session_end and not groups[0][0].session_end
    seen = book.history("SPY")  # warm-up plus the streamed bars, in exchange time
    assert seen.index[0] == pd.Timestamp("2025-06-02 09:30") and len(seen) == 4


def test_a_live_session_refuses_a_strategy_without_a_bar_trader() -> None:
    from quantalloc.errors import ConfigError

    with pytest.raises(ConfigError, match="wheel trades options"):
        live_session("wheel", MemoryLedger(1e5), {}, "127.0.0.1", 1, 1, ib=FakeIB())
