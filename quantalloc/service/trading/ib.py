"""Live trading through Interactive Brokers (TWS or IB Gateway) with ``ib_async``.

:class:`IBBroker` keeps the :class:`~quantalloc.service.trading.orders.Broker` protocol:
orders become IB stock orders on SMART routing (market, stop, limit, market-on-close), a
group becomes an IB one-cancels-all group, and a bracket's children are placed as an OCA
stop and limit around the parent's average fill price once IB reports it filled. A fill is
reported once its order is completely filled, as one fill at the average price with the
commissions summed. :func:`ib_feed` turns IB's streaming 5-minute bars (``keepUpToDate``)
into the same per-timestamp groups a replay gives. Nothing here is reachable without a
gateway; the tests drive these classes with a fake ``IB`` object at that boundary.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import time as clock
from typing import Any

import pandas as pd

from quantalloc.backtest.result import BacktestResult
from quantalloc.errors import ConfigError, DataError
from quantalloc.service.trading.feed import BarBook
from quantalloc.service.trading.ledger import Ledger
from quantalloc.service.trading.orders import Bar, Fill, Order, Side

EXCHANGE_TZ = "America/New_York"
SESSION_END = clock(16, 0)
BAR_MINUTES = 5


class IBBroker:
    """The Broker protocol on an ``ib_async.IB`` connection (see the module notes)."""

    def __init__(self, ib: Any, *, exchange: str = "SMART", currency: str = "USD") -> None:
        self.ib = ib
        self.exchange, self.currency = exchange, currency
        self._live: dict[str, tuple[Order, Any]] = {}
        self._parents: dict[str, str] = {}  # child id -> parent id
        self._reported: set[str] = set()
        self._last: dict[str, float] = {}

    def _contract(self, symbol: str) -> Any:
        from ib_async import Stock

        return Stock(symbol, self.exchange, self.currency)

    def _quantity(self, order: Order) -> float:
        if order.quantity is not None:
            return float(order.quantity)
        reference = order.price or self._last.get(order.symbol)
        if not reference:
            raise DataError(f"order {order.order_id}: no price yet to size {order.symbol} by")
        return float(math.floor((order.notional or 0.0) / reference))  # IB takes whole shares

    def submit(self, order: Order) -> None:
        """Place ``order`` at IB."""
        from ib_async import LimitOrder, MarketOrder, StopOrder
        from ib_async import Order as IBOrder

        quantity = self._quantity(order)
        if quantity < 1:
            return  # less than one share: nothing to place
        action = order.side.upper()
        if order.kind == "market":
            ib_order = MarketOrder(action, quantity)
        elif order.kind == "stop":
            ib_order = StopOrder(action, quantity, float(order.price or 0.0))
        elif order.kind == "limit":
            ib_order = LimitOrder(action, quantity, float(order.price or 0.0))
        else:
            ib_order = IBOrder(action=action, totalQuantity=quantity, orderType="MOC")
        ib_order.orderRef = order.order_id
        ib_order.tif = "DAY"
        if order.oca:
            ib_order.ocaGroup, ib_order.ocaType = order.oca, 1  # cancel the rest on a fill
        trade = self.ib.placeOrder(self._contract(order.symbol), ib_order)
        self._live[order.order_id] = (order, trade)

    def cancel(self, order_id: str) -> None:
        """Cancel a working order at IB."""
        found = self._live.get(order_id)
        if found is not None and found[1].isActive():
            self.ib.cancelOrder(found[1].order)

    def working(self) -> list[Order]:
        """Our orders IB still works."""
        return [order for order, trade in self._live.values() if trade.isActive()]

    def on_bar(self, bar: Bar) -> Sequence[Fill]:
        """Fills IB completed since the last call (and the brackets they start)."""
        self._last[bar.symbol] = bar.close
        out: list[Fill] = []
        for order_id, (order, trade) in list(self._live.items()):
            if order_id in self._reported or trade.orderStatus.status != "Filled":
                continue
            self._reported.add(order_id)
            fill = _aggregate(order, trade, self._parents.get(order_id))
            out.append(fill)
            if order.children:
                self._place_children(order, fill)
        return out

    def _place_children(self, parent: Order, fill: Fill) -> None:
        sign = 1.0 if parent.side == "buy" else -1.0
        for k, child in enumerate(parent.children):
            order = Order(
                order_id=f"{parent.order_id}:{k}", symbol=parent.symbol,
                side="sell" if sign > 0 else "buy", kind=child.kind, quantity=fill.quantity,
                price=round(child.level(fill.price, parent.side), 2),
                oca=f"{parent.order_id}:exits", reason=child.reason,
            )  # fmt: skip
            self._parents[order.order_id] = parent.order_id
            self.submit(order)


def _aggregate(order: Order, trade: Any, parent_id: str | None) -> Fill:
    """One fill from an IB trade's executions: total shares, average price, summed commission."""
    shares = sum(float(f.execution.shares) for f in trade.fills)
    if shares <= 0:
        raise DataError(f"IB reported order {order.order_id} filled without executions")
    value = sum(float(f.execution.shares) * float(f.execution.price) for f in trade.fills)
    fee = sum(float(f.commissionReport.commission or 0.0) for f in trade.fills)
    stamp = pd.Timestamp(trade.fills[-1].time)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(EXCHANGE_TZ).tz_localize(None)
    side: Side = "buy" if trade.fills[0].execution.side in ("BOT", "BUY") else "sell"
    price = value / shares
    return Fill(order.order_id, order.symbol, side, shares, price, fee, stamp, price,
                order.reason, parent_id)  # fmt: skip


def _bar_time(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_convert(EXCHANGE_TZ).tz_localize(None) if stamp.tzinfo is not None else stamp


def _to_bar(symbol: str, data: Any) -> Bar:
    start = _bar_time(data.date)
    ends = (start + pd.Timedelta(minutes=BAR_MINUTES)).time() >= SESSION_END
    return Bar(symbol, start, float(data.open), float(data.high), float(data.low),
               float(data.close), float(data.volume), ends)  # fmt: skip


def ib_feed(
    ib: Any, symbols: Sequence[str], book: BarBook, *, warmup_days: int, max_groups: int = 10**9
) -> Iterator[list[Bar]]:
    """Stream completed 5-minute bars of ``symbols`` from IB, one timestamp at a time.

    History of ``warmup_days`` goes into ``book`` first. A bar is complete once a newer one
    has started (IB keeps updating the last); a timestamp is handed out when every symbol has
    completed it, or a later one. Ends after the regular session's last bar.
    """
    from ib_async import Stock

    lists = {}
    for symbol in symbols:
        bars = ib.reqHistoricalData(
            Stock(symbol, "SMART", "USD"), endDateTime="", durationStr=f"{warmup_days} D",
            barSizeSetting=f"{BAR_MINUTES} mins", whatToShow="TRADES", useRTH=True,
            formatDate=2, keepUpToDate=True,
        )  # fmt: skip
        lists[symbol] = bars
        for data in list(bars)[:-1]:
            book.append(_to_bar(symbol, data))
    sent = {s: len(lists[s]) - 1 for s in symbols}
    pending: dict[pd.Timestamp, list[Bar]] = {}
    count = 0
    while count < max_groups:
        for symbol, bars in lists.items():
            while sent[symbol] < len(bars) - 1:  # completed: all but the bar still forming
                bar = _to_bar(symbol, bars[sent[symbol]])
                pending.setdefault(bar.time, []).append(bar)
                sent[symbol] += 1
        ready = sorted(t for t in pending if all(_done(lists[s], t) for s in symbols))
        for stamp in ready:
            group = sorted(pending.pop(stamp), key=lambda b: b.symbol)
            for bar in group:
                book.append(bar)
            yield group
            count += 1
            if any(b.session_end for b in group) or count >= max_groups:
                return
        ib.waitOnUpdate(timeout=BAR_MINUTES * 60)


def _done(bars: Any, stamp: pd.Timestamp) -> bool:
    return len(bars) >= 2 and _bar_time(bars[-1].date) > stamp


def live_session(
    strategy: str,
    ledger: Ledger,
    params: Mapping[str, Any],
    host: str,
    port: int,
    client_id: int,
    *,
    ib: Any = None,
) -> BacktestResult:
    """Trade one session live at IB (connecting unless ``ib`` is given)."""
    from quantalloc.service.trading.session import make_trader, run

    if ib is None:
        from ib_async import IB

        ib = IB()
        try:
            ib.connect(host, port, clientId=client_id)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"cannot connect to IB at {host}:{port} ({exc}); start TWS or IB Gateway with "
                "the API enabled, or pass --ib-host / --ib-port"
            ) from None
    broker = IBBroker(ib)
    book = BarBook()
    trader = make_trader(strategy, params, broker, ledger, book)
    feed = ib_feed(ib, trader.symbols(book), book, warmup_days=trader.warmup_days)
    try:
        return run(trader, feed, broker)
    finally:
        ib.disconnect()
