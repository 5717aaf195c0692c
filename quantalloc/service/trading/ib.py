"""Live trading through Interactive Brokers (TWS or IB Gateway) with ``ib_async``.

:class:`IBBroker` keeps the :class:`~quantalloc.service.trading.orders.Broker` protocol:
orders become IB stock orders on SMART routing (market, stop, limit, market-on-close), a
group becomes an IB one-cancels-all group, and a bracket's legs become IB child orders in one
OCA group, attached to the parent at once (around its trigger price, or for a market parent
the last close seen) so IB works them from the moment the parent fills, and moved around the
parent's average fill price when that differs. A fill is reported once its order is
completely filled, as one fill at the average price with the commissions summed.

Option orders go to IB as market orders on an ``Option`` contract (SMART, the contract's
expiry as ``YYYYMMDD``, strike, ``C``/``P``, multiplier); :meth:`IBBroker.poll` waits for
them to fill (the traders place them at the close, while the options still trade). Options
settle at the close of their last trading day as the clearing house settles them (exercise by
exception, a cent in the money): the adapter reports that settlement from the underlying's
closing bar, as IB books it overnight, and checks it the next session against IB's positions
(``ib.positions()``); a contract IB holds differently from the trader's books (an early
assignment, a trade by hand) stops the trader with the two numbers.

:func:`ib_feed` turns IB's streaming bars (``keepUpToDate``; 5-minute bars for the breakout,
daily bars for momentum) into the per-timestamp groups a replay gives, after a warm-up read
from a price provider (IB's bars through :mod:`quantalloc.data.vendors.ibkr` by default).
Nothing here is reachable without a gateway; the tests drive these classes with fake and
simulated ``IB`` objects at that boundary.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from quantalloc.backtest.result import BacktestResult
from quantalloc.data.base import PriceProvider
from quantalloc.errors import ConfigError, DataError
from quantalloc.options.contract import OptionContract
from quantalloc.service.trading.feed import BarBook
from quantalloc.service.trading.ledger import Ledger
from quantalloc.service.trading.orders import (
    Bar,
    Fill,
    Order,
    Side,
    opposite,
    settlement_fills,
)

EXCHANGE_TZ = "America/New_York"
_EXCHANGE_ZONE = ZoneInfo(EXCHANGE_TZ)
SESSION_END = dtime(16, 0)
BAR_MINUTES = 5
OPTION_WAITS = 60
"""``waitOnUpdate`` rounds (each up to :data:`OPTION_WAIT_S`) an option order may take to fill."""
OPTION_WAIT_S = 5.0


class IBBroker:
    """The Broker protocol on an ``ib_async.IB`` connection (see the module notes)."""

    def __init__(self, ib: Any, *, exchange: str = "SMART", currency: str = "USD") -> None:
        self.ib = ib
        self.exchange, self.currency = exchange, currency
        self._live: dict[str, tuple[Order, Any]] = {}
        self._parents: dict[str, str] = {}  # child id -> parent id
        self._reported: set[str] = set()
        self._last: dict[str, float] = {}
        self._net: dict[str, float] = {}
        self._options: dict[str, OptionContract] = {}  # held option contracts by symbol
        self._settled: dict[str, OptionContract] = {}  # settled here, to check at IB
        self._session: pd.Timestamp | None = None

    def _contract(self, order: Order) -> Any:
        from ib_async import Option, Stock

        c = order.contract
        if c is None:
            return Stock(order.symbol, self.exchange, self.currency)
        return Option(c.underlying, c.expiry.strftime("%Y%m%d"), c.strike, c.right[0].upper(),
                      self.exchange, multiplier=f"{c.multiplier:g}",
                      currency=self.currency)  # fmt: skip

    def _quantity(self, order: Order) -> float:
        if order.quantity is not None:
            return float(order.quantity)
        reference = order.price or self._last.get(order.symbol)
        if not reference:
            raise DataError(f"order {order.order_id}: no price yet to size {order.symbol} by")
        return float(math.floor((order.notional or 0.0) / reference))  # IB takes whole shares

    def submit(self, order: Order) -> None:
        """Place ``order`` at IB with its bracket attached (around its trigger price, or the
        last close for a market order; moved to the fill price when it differs)."""
        quantity = self._quantity(order)
        if quantity < 1:
            return  # less than one share: nothing to place
        reference = order.price or self._last.get(order.symbol)
        attach = bool(order.children) and reference is not None
        parent = self._place(order, quantity, transmit=not attach)
        if attach:  # IB works the legs from the parent's fill on; moved there once known
            legs = self._legs(order, float(reference or 0.0), quantity)
            for k, leg in enumerate(legs):
                self._place(leg, quantity, parent=parent, transmit=k == len(legs) - 1)

    def _place(self, order: Order, quantity: float, *, parent: Any = None,
               transmit: bool = True) -> Any:  # fmt: skip
        from ib_async import LimitOrder, MarketOrder, StopOrder
        from ib_async import Order as IBOrder

        action = order.side.upper()
        if order.kind == "market":
            ib_order: IBOrder = MarketOrder(action, quantity)
        elif order.kind == "stop":
            ib_order = StopOrder(action, quantity, float(order.price or 0.0))
        elif order.kind == "limit":
            ib_order = LimitOrder(action, quantity, float(order.price or 0.0))
        else:
            ib_order = IBOrder(action=action, totalQuantity=quantity, orderType="MOC")
        ib_order.orderRef, ib_order.tif, ib_order.transmit = order.order_id, "DAY", transmit
        if order.oca:
            ib_order.ocaGroup, ib_order.ocaType = order.oca, 1  # cancel the rest on a fill
        if parent is not None:
            ib_order.parentId = parent.order.orderId
        trade = self.ib.placeOrder(self._contract(order), ib_order)
        self._live[order.order_id] = (order, trade)
        return trade

    def _legs(self, parent: Order, price: float, quantity: float) -> list[Order]:
        """The bracket's exit orders around ``price``, one cancelling the other."""
        legs = []
        for k, child in enumerate(parent.children):
            leg = Order(
                order_id=f"{parent.order_id}:{k}", symbol=parent.symbol,
                side=opposite(parent.side), kind=child.kind, quantity=quantity,
                price=None if child.kind == "close" else round(child.level(price, parent.side), 2),
                oca=f"{parent.order_id}:exits", reason=child.reason,
            )  # fmt: skip
            self._parents[leg.order_id] = parent.order_id
            legs.append(leg)
        return legs

    def cancel(self, order_id: str) -> None:
        """Cancel a working order at IB."""
        found = self._live.get(order_id)
        if found is not None and found[1].isActive():
            self.ib.cancelOrder(found[1].order)

    def working(self) -> list[Order]:
        """Our orders IB still works."""
        return [order for order, trade in self._live.values() if trade.isActive()]

    def on_bar(self, bar: Bar) -> Sequence[Fill]:
        """Fills IB completed since the last call (and the brackets they start); at the
        underlying's close, the settlement of its options in their last session."""
        day = bar.time.normalize()
        if self._session is None or day > self._session:
            self._session = day
            self._reconcile()
        self._last[bar.symbol] = bar.close
        out = self._collect()
        if bar.session_end:
            out.extend(self._settle(bar))
        return out

    def poll(self) -> Sequence[Fill]:
        """The option orders sent, once IB has filled them (waiting for IB's updates)."""
        for _ in range(OPTION_WAITS):
            pending = [trade for order, trade in self._live.values()
                       if order.contract is not None and trade.isActive()]  # fmt: skip
            if not pending:
                return self._collect()
            self.ib.waitOnUpdate(timeout=OPTION_WAIT_S)
        names = ", ".join(t.order.orderRef for t in pending)
        raise DataError(f"IB did not fill option orders {names} in {OPTION_WAITS} updates; "
                        "check them in TWS (market hours, permissions, quotes)")  # fmt: skip

    def _collect(self) -> list[Fill]:
        out: list[Fill] = []
        for order_id, (order, trade) in list(self._live.items()):
            if order_id in self._reported or trade.orderStatus.status != "Filled":
                continue
            self._reported.add(order_id)
            fill = _aggregate(order, trade, self._parents.get(order_id))
            out.append(fill)
            if order.children:
                self._place_children(order, fill)
            self._move(fill)
            if order.contract is not None:  # held options settle at expiry; closed ones not
                if self._net.get(fill.symbol, 0.0):
                    self._options[order.symbol] = order.contract
                else:
                    self._options.pop(order.symbol, None)
            if abs(self._net.get(fill.symbol, 0.0)) < 1e-9 and order.contract is None:
                # flat (say, an exit at market): its bracket must not fill later
                for leg_id in [k for k in self._parents if k in self._live]:
                    if self._live[leg_id][0].symbol == fill.symbol:
                        self.cancel(leg_id)
        return out

    def _move(self, fill: Fill) -> None:
        net = self._net.get(fill.symbol, 0.0) + fill.quantity * (1 if fill.side == "buy" else -1)
        self._net[fill.symbol] = 0.0 if abs(net) < 1e-9 else net

    def _settle(self, bar: Bar) -> list[Fill]:
        out: list[Fill] = []
        for symbol, contract in list(self._options.items()):
            if contract.underlying != bar.symbol or not contract.settles_on(bar.time):
                continue
            held = self._net.get(symbol, 0.0)
            del self._options[symbol]
            self._settled[symbol] = contract
            if held:
                for fill in settlement_fills(contract, held, bar.close, bar.time):
                    self._move(fill)
                    out.append(fill)
        return out

    def _reconcile(self) -> None:
        """At a new session: IB holds what the trader's books say of each option contract."""
        if not self._options and not self._settled:
            return
        at_ib: dict[tuple[str, str, float, str], float] = {}
        for pos in self.ib.positions():
            c = pos.contract
            if getattr(c, "secType", "") == "OPT":
                key = (c.symbol, str(c.lastTradeDateOrContractMonth)[:8], float(c.strike),
                       str(c.right)[:1].upper())  # fmt: skip
                at_ib[key] = at_ib.get(key, 0.0) + float(pos.position)
        for symbol, c in [*self._options.items(), *self._settled.items()]:
            key = (c.underlying, c.expiry.strftime("%Y%m%d"), float(c.strike), c.right[0].upper())
            mine = self._net.get(symbol, 0.0) if symbol in self._options else 0.0
            if abs(at_ib.get(key, 0.0) - mine) > 1e-9:
                raise DataError(
                    f"IB holds {at_ib.get(key, 0.0):g} of {symbol}, the trader's books "
                    f"{mine:g} (an early assignment, or a trade by hand); reconcile the sleeve "
                    "(GET /portfolio/NAME) with the account before trading on"
                )
        self._settled.clear()

    def _place_children(self, parent: Order, fill: Fill) -> None:
        """A market parent's bracket, placed around its average fill price once known; an
        attached bracket moved there when the parent filled away from its trigger (a gap)."""
        legs = self._legs(parent, fill.price, fill.quantity)
        if f"{parent.order_id}:0" not in self._live:
            for leg in legs:
                self._place(leg, fill.quantity)
            return
        for leg in legs:
            placed, trade = self._live[leg.order_id]
            if leg.price is None or placed.price == leg.price or not trade.isActive():
                continue
            if leg.kind == "stop":
                trade.order.auxPrice = leg.price
            else:
                trade.order.lmtPrice = leg.price
            self.ib.placeOrder(trade.contract, trade.order)  # same order id: a modification
            self._live[leg.order_id] = (leg, trade)


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
                order.reason, parent_id, order.contract)  # fmt: skip


def _bar_time(value: Any) -> pd.Timestamp:
    """A bar's start in exchange time, tz-naive (IB sends aware datetimes with formatDate=2)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(_EXCHANGE_ZONE).replace(tzinfo=None)
    return pd.Timestamp(value)


BAR_SIZES = {"5 mins": pd.Timedelta(minutes=BAR_MINUTES), "1 day": pd.Timedelta(hours=16)}
"""IB bar sizes the traders use, and when such a bar is complete after its start (a daily bar
starts at midnight and is complete at the 16:00 close)."""


def _to_bar(symbol: str, data: Any, complete_after: pd.Timedelta) -> Bar:
    start = _bar_time(data.date)
    ends = complete_after >= pd.Timedelta(hours=1) or (start + complete_after).time() >= SESSION_END
    return Bar(symbol, start, float(data.open), float(data.high), float(data.low),
               float(data.close), float(data.volume), ends)  # fmt: skip


def exchange_now() -> pd.Timestamp:
    """The exchange's wall-clock time now (New York, tz-naive like the bars)."""
    return pd.Timestamp.now(tz=EXCHANGE_TZ).tz_localize(None)


def ib_feed(
    ib: Any,
    symbols: Sequence[str],
    book: BarBook,
    *,
    warmup_days: int,
    history: PriceProvider,
    bar_size: str = "5 mins",
    sessions: int = 1,
    clock: Callable[[], pd.Timestamp] = exchange_now,
) -> Iterator[list[Bar]]:
    """Stream completed bars of ``symbols`` from IB, one timestamp at a time.

    ``warmup_days`` of bars before today come from ``history`` into ``book`` (at IB, the data
    layer's :class:`~quantalloc.data.vendors.ibkr.IbkrBars`, which keeps IB's pacing rules);
    today's bars are news. A bar is complete once a newer one has started (IB keeps updating
    the last) or its time has passed on ``clock``; a timestamp is handed out when every symbol
    has completed it. Ends after ``sessions`` session closes (0: runs until stopped).
    """
    from quantalloc.data.vendors.ibkr import contract_of

    if bar_size not in BAR_SIZES:
        raise ConfigError(f"bar size {bar_size!r} is not one of {', '.join(BAR_SIZES)}")
    step = BAR_SIZES[bar_size]
    today = clock().normalize()
    lists, sent = {}, {}
    first, yesterday = today - pd.Timedelta(days=warmup_days), today - pd.Timedelta(days=1)
    book.load({s: history.history(s, first, yesterday) for s in symbols})
    for symbol in symbols:
        contract = contract_of(symbol, "us")  # a stock at SMART, or an index (^VIX: CBOE)
        lists[symbol] = ib.reqHistoricalData(
            contract, endDateTime="", durationStr="1 D" if step < pd.Timedelta(hours=1)
            else "5 D", barSizeSetting=bar_size, whatToShow="TRADES", useRTH=True,
            formatDate=2, keepUpToDate=True,
        )  # fmt: skip
        earlier = [d for d in lists[symbol] if _bar_time(d.date) < today]
        for data in earlier:
            book.append(_to_bar(symbol, data, step))
        sent[symbol] = len(earlier)
    pending: dict[pd.Timestamp, list[Bar]] = {}
    closes = 0
    while True:
        now = clock()
        for symbol, bars in lists.items():
            while sent[symbol] < len(bars):  # complete: a newer bar started, or time is up
                data = bars[sent[symbol]]
                if sent[symbol] == len(bars) - 1 and _bar_time(data.date) + step > now:
                    break
                bar = _to_bar(symbol, data, step)
                pending.setdefault(bar.time, []).append(bar)
                sent[symbol] += 1
        ready = sorted(t for t in pending if all(_done(lists[s], t, now, step) for s in symbols))
        for stamp in ready:
            group = sorted(pending.pop(stamp), key=lambda b: b.symbol)
            for bar in group:
                book.append(bar)
            yield group
            closes += any(b.session_end for b in group)
            if sessions and closes >= sessions:
                return
        ib.waitOnUpdate(timeout=300)


def _done(bars: Any, stamp: pd.Timestamp, now: pd.Timestamp, step: pd.Timedelta) -> bool:
    """Every bar of this symbol up to ``stamp`` is complete."""
    if len(bars) and _bar_time(bars[-1].date) > stamp:
        return True
    return now >= stamp + step


def live_session(
    strategy: str,
    ledger: Ledger,
    params: Mapping[str, Any],
    host: str,
    port: int,
    client_id: int,
    *,
    ib: Any = None,
    sessions: int = 1,
    history: PriceProvider | None = None,
    clock: Callable[[], pd.Timestamp] = exchange_now,
) -> BacktestResult:
    """Trade ``sessions`` sessions live at IB (0: until stopped; connecting unless ``ib`` is
    given), the warm-up from ``history`` (default: IB's own bars through the data layer)."""
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
    if history is None:
        from quantalloc.data.vendors.ibkr import IbkrBars

        interval = "5m" if trader.bar_size == "5 mins" else "1d"
        history = IbkrBars("us", interval=interval, client=ib, lookback_days=trader.warmup_days)
    feed = ib_feed(
        ib, trader.symbols(book), book, warmup_days=trader.warmup_days, history=history,
        bar_size=trader.bar_size, sessions=sessions, clock=clock,
    )  # fmt: skip
    try:
        return run(trader, feed, broker)
    finally:
        ib.disconnect()
