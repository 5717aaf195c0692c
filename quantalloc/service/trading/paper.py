"""A paper broker that fills as the backtest engines do, one bar at a time.

For each bar of a symbol, in this order:

1. market orders placed before the bar fill at its open;
2. working stop and limit orders: a bar opening beyond the level fills at the open, a bar
   whose range reaches it fills at the level; of a position's exits the stop is assumed
   first when the bar reaches both; of entries in one group (a buy stop above and a sell stop
   below) the level nearer the open is taken as touched first, the other cancelled;
3. a filled bracket parent places its children around its (pre-slippage) fill price; on that
   same bar they may fill too: all of them by rule 2 (``exits_on_fill_bar="all"``, as the
   daily engine does for a fill at the open), or only the stop, at its level, when the path
   after the fill is unknown (``"stop"``, as the opening-range breakout assumes);
4. on a session's last bar, ``close`` (market-on-close) orders fill at its close; a bracket's
   ``close`` leg so ends the position at the close when neither its stop nor its
   take-profit came first.

Every fill pays slippage against the trader (a buy higher, a sell lower, by
``costs.slippage``) and the fees of :class:`~quantalloc.backtest.engine.Costs`. An order for
``notional`` cash buys ``(notional - fee_per_trade) / (price * (1 + fee_pct) + fee_per_unit)``
units, as the engines size. When a symbol's position goes back to zero, its remaining exits
are cancelled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from quantalloc.backtest.engine import Costs
from quantalloc.errors import ConfigError, DataError
from quantalloc.options.contract import OptionContract
from quantalloc.options.quotes import OptionQuotes, fill_price
from quantalloc.service.trading.orders import Bar, Fill, Order, opposite, settlement_fills


class PaperBroker:
    """Fills orders against the bars it is shown (see the module notes)."""

    def __init__(
        self,
        costs: Costs | None = None,
        *,
        whole_units: bool = False,
        options: OptionQuotes | None = None,
        option_fee: float = 0.0,
    ) -> None:
        self.costs = costs or Costs()
        self.whole_units = whole_units
        self.options, self.option_fee = options, option_fee
        self._orders: dict[str, Order] = {}
        self._exits: dict[str, str] = {}  # child order id -> parent order id
        self._net: dict[str, float] = {}
        self._new: list[Fill] = []
        self._now: list[Fill] = []  # option fills, reported by poll()
        self._seen: dict[str, pd.Timestamp] = {}  # symbol -> its last bar's time
        self._contracts: dict[str, OptionContract] = {}

    # -- the Broker protocol -------------------------------------------------------------------

    def submit(self, order: Order) -> None:
        """Place ``order``; it works from the next bar on (an option order fills at once)."""
        if order.contract is not None:
            self._fill_option(order, order.contract)
            return
        self._orders[order.order_id] = order

    def poll(self) -> Sequence[Fill]:
        """Option fills since the last call."""
        out, self._now = self._now, []
        return out

    def cancel(self, order_id: str) -> None:
        """Cancel a working order."""
        self._orders.pop(order_id, None)
        self._exits.pop(order_id, None)

    def working(self) -> list[Order]:
        """Working orders, in the order they were placed."""
        return list(self._orders.values())

    def position(self, symbol: str) -> float:
        """Net units held (negative: short)."""
        return self._net.get(symbol, 0.0)

    def on_bar(self, bar: Bar) -> Sequence[Fill]:
        """Process ``bar``: return the fills it produced, in time order."""
        self._new = []
        mine = [o for o in self._orders.values() if o.symbol == bar.symbol]
        for order in [o for o in mine if o.kind == "market"]:
            fill = self._fill(order, bar.open, bar.time)
            if fill is not None and order.children:
                self._place_children(order, fill, bar)
        exits = [o for o in mine if o.order_id in self._exits]
        self._trigger(exits, bar, is_exit=True)
        entries = [o for o in mine if o.kind in ("stop", "limit") and o.order_id not in self._exits]
        self._trigger(entries, bar, is_exit=False)
        if bar.session_end:
            for order in [o for o in self._orders.values() if o.symbol == bar.symbol]:
                if order.kind == "close" and order.order_id in self._orders:
                    self._fill(order, bar.close, bar.time)
            self._settle(bar)
        self._seen[bar.symbol] = bar.time
        out, self._new = self._new, []
        return out

    # -- options -------------------------------------------------------------------------------

    def _fill_option(self, order: Order, contract: OptionContract) -> None:
        if self.options is None:
            raise ConfigError(f"order {order.order_id}: this paper broker has no option quotes; "
                              "give it the strategy's (PaperBroker(options=...))")  # fmt: skip
        seen = self._seen.get(contract.underlying)
        if seen is None:
            raise DataError(f"order {order.order_id}: no bar of {contract.underlying} yet to "
                            f"quote {contract.symbol} at")  # fmt: skip
        quote = self.options.quote(contract, seen.normalize())
        contracts = float(order.quantity or 0.0)
        fill = Fill(order.order_id, order.symbol, order.side, contracts,
                    fill_price(quote, order.side), contracts * self.option_fee, seen, quote.mark,
                    order.reason, contract=contract)  # fmt: skip
        self._contracts[contract.symbol] = contract
        self._move(fill)
        self._now.append(fill)

    def _settle(self, bar: Bar) -> None:
        """Options on ``bar``'s symbol in their last session settle at its close."""
        for symbol, contract in list(self._contracts.items()):
            if contract.underlying != bar.symbol or not contract.settles_on(bar.time):
                continue
            held = self._net.get(symbol, 0.0)
            del self._contracts[symbol]
            if held:
                for fill in settlement_fills(contract, held, bar.close, bar.time):
                    self._move(fill)
                    self._new.append(fill)

    def _move(self, fill: Fill) -> None:
        net = self._net.get(fill.symbol, 0.0) + (fill.quantity if fill.side == "buy" else
                                                 -fill.quantity)  # fmt: skip
        self._net[fill.symbol] = 0.0 if abs(net) < 1e-9 else net

    # -- filling -------------------------------------------------------------------------------

    def _trigger(self, orders: list[Order], bar: Bar, *, is_exit: bool) -> None:
        hits = [(o, level) for o in orders if (level := _touched(o, bar)) is not None]
        if not hits:
            return
        if is_exit:  # a position's exits: the stop first when the bar reaches both
            hits.sort(key=lambda h: 0 if h[0].kind == "stop" else 1)
        else:  # entries: the level nearer the open first
            hits.sort(key=lambda h: abs(bar.open - (h[0].price or 0.0)))
        order, raw = hits[0]
        if order.order_id not in self._orders:
            return
        fill = self._fill(order, raw, bar.time)
        if fill is not None and not is_exit and order.children:
            self._place_children(order, fill, bar)

    def _place_children(self, parent: Order, fill: Fill, bar: Bar) -> None:
        sign = 1.0 if parent.side == "buy" else -1.0
        exit_side = opposite(parent.side)
        group = f"{parent.order_id}:exits"
        children = []
        for k, child in enumerate(parent.children):
            order = Order(
                order_id=f"{parent.order_id}:{k}",
                symbol=parent.symbol,
                side=exit_side,
                kind=child.kind,
                quantity=fill.quantity,
                price=None if child.kind == "close" else child.level(fill.raw_price, parent.side),
                oca=group,
                reason=child.reason,
            )
            self._orders[order.order_id] = order
            self._exits[order.order_id] = parent.order_id
            children.append(order)
        if parent.exits_on_fill_bar == "all":
            self._trigger([c for c in children if c.kind != "close"], bar, is_exit=True)
            return
        stops = [c for c in children if c.kind == "stop"]
        for stop in stops:  # entered inside the bar: only the adverse case is assumed
            reached = bar.low <= (stop.price or 0.0) if sign > 0 else bar.high >= (stop.price or 0)
            if reached and stop.order_id in self._orders:
                self._fill(stop, float(stop.price or 0.0), bar.time)

    def _fill(self, order: Order, raw: float, time: pd.Timestamp) -> Fill | None:
        c = self.costs
        sign = 1.0 if order.side == "buy" else -1.0
        price = raw * (1.0 + sign * c.slippage)
        if order.notional is not None:
            units = (order.notional - c.fee_per_trade) / (
                price * (1.0 + c.fee_pct) + c.fee_per_unit
            )
            if self.whole_units:
                units = math.floor(units + 1e-9)
        else:
            units = float(order.quantity or 0.0)
        self._remove(order)
        if units <= 0:
            return None
        fee = c.fee_per_trade + units * c.fee_per_unit + units * price * c.fee_pct
        fill = Fill(order.order_id, order.symbol, order.side, units, price, fee, time, raw,
                    order.reason, self._exits.pop(order.order_id, None))  # fmt: skip
        net = self._net.get(order.symbol, 0.0) + sign * units
        self._net[order.symbol] = 0.0 if abs(net) < 1e-9 else net
        if self._net[order.symbol] == 0.0:  # flat: its exits die with the position
            for oid in [k for k, o in self._orders.items() if o.symbol == order.symbol]:
                if oid in self._exits:
                    self.cancel(oid)
        self._new.append(fill)
        return fill

    def _remove(self, order: Order) -> None:
        self._orders.pop(order.order_id, None)
        if order.oca is not None:
            for oid in [k for k, o in self._orders.items() if o.oca == order.oca]:
                self._orders.pop(oid, None)
                self._exits.pop(oid, None)


def _touched(order: Order, bar: Bar) -> float | None:
    """The raw fill price when ``bar`` reaches ``order``'s level, else None."""
    if order.kind == "close":
        return None
    level = float(order.price or 0.0)
    rising = (order.kind == "stop") == (order.side == "buy")  # buy stop / sell limit: from below
    if rising:
        if bar.open >= level:
            return bar.open
        return level if bar.high >= level else None
    if bar.open <= level:
        return bar.open
    return level if bar.low <= level else None
