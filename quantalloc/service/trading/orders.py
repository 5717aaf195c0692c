"""What strategies, brokers and the API exchange while trading: bars, orders, fills.

One :class:`Broker` protocol serves paper and live trading. A strategy submits
:class:`Order` objects; the broker reports :class:`Fill` objects for the bars it sees. An order
may be a bracket's parent: its ``children`` (a stop-loss and a take-profit) become working
orders, one cancelling the other, once it fills, at distances from its fill price.

An order on an :class:`~quantalloc.options.contract.OptionContract` (``contract`` set, the
``symbol`` its own) is a market order for whole contracts that executes at once at the
broker's current quote; the broker reports it from :meth:`Broker.poll`. Options settle at the
close of their last trading day: the broker then reports the contracts leaving at no price
(reason ``expired``, ``assigned``, ``called_away`` or ``exercised``) and, for an exercise, the
shares delivered at the strike (:func:`settlement_fills`), with the bars' fills.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import pandas as pd

from quantalloc.options.contract import OptionContract, settle

Side = Literal["buy", "sell"]


def opposite(side: Side) -> Side:
    """The side that closes a position opened by ``side``."""
    return "sell" if side == "buy" else "buy"


Kind = Literal["market", "stop", "limit", "close"]
"""``market`` fills at the next bar's open; ``stop`` / ``limit`` when a bar reaches ``price``;
``close`` (market on close) at the close of the symbol's next session-end bar."""


@dataclass(frozen=True)
class Bar:
    """One bar of one symbol; ``time`` is its start (exchange-local, tz-naive)."""

    symbol: str
    time: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    session_end: bool = False
    """The last bar of the symbol's regular session that day."""


@dataclass(frozen=True)
class Child:
    """A bracket leg placed when its parent fills, ``distance`` away from the parent's price."""

    kind: Literal["stop", "limit", "close"]
    distance: float
    reason: str
    """Exit reason it stands for (``stop``, ``take_profit``, ``session_close``)."""
    relative: bool = False
    """``distance`` is a fraction of the parent's price (0.05: 5% away), not a price step."""

    def level(self, price: float, parent_side: str) -> float:
        """The leg's price around a parent filled at ``price`` (pre-slippage)."""
        sign = 1.0 if parent_side == "buy" else -1.0
        toward = -1.0 if self.kind == "stop" else 1.0
        step = self.distance * price if self.relative else self.distance
        return price + toward * sign * step


@dataclass(frozen=True)
class Order:
    """An order: ``quantity`` units, or ``notional`` cash to invest (units at the fill price)."""

    order_id: str
    symbol: str
    side: Side
    kind: Kind
    quantity: float | None = None
    notional: float | None = None
    price: float | None = None
    """Stop trigger or limit price."""
    oca: str | None = None
    """One-cancels-all group: the first of the group to fill cancels the others."""
    children: tuple[Child, ...] = ()
    exits_on_fill_bar: Literal["all", "stop"] = "all"
    """Which children may fill on the bar the parent fills in: ``all`` (the whole bar comes
    after a fill at the open), or ``stop`` only, at its level (the path after a fill inside
    the bar is unknown: assume the worst)."""
    reason: str = "signal"
    contract: OptionContract | None = None
    """An option order's contract (``symbol`` is its symbol, ``quantity`` whole contracts)."""

    def __post_init__(self) -> None:
        if (self.quantity is None) == (self.notional is None):
            raise ValueError(f"order {self.order_id}: give quantity or notional, not both")
        if self.kind in ("stop", "limit") and self.price is None:
            raise ValueError(f"order {self.order_id}: a {self.kind} order needs a price")
        c = self.contract
        if c is not None and (self.symbol != c.symbol or self.kind != "market"
                              or self.quantity is None or self.quantity != int(self.quantity)
                              or self.children):  # fmt: skip
            raise ValueError(
                f"order {self.order_id}: an option order is a market order for whole contracts "
                f"of its contract, symbol {c.symbol!r}, without brackets"
            )


@dataclass(frozen=True)
class Fill:
    """An executed order: units at ``price`` (costs included in ``fee``)."""

    order_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    fee: float
    time: pd.Timestamp
    raw_price: float
    """The market price before slippage (brackets are placed around it)."""
    reason: str = "signal"
    parent_id: str | None = None
    contract: OptionContract | None = None
    """Set on an option's fill (``quantity`` in contracts, ``price`` per share)."""

    @property
    def multiplier(self) -> float:
        """Shares per unit of ``quantity`` (an option's multiplier, else 1)."""
        return self.contract.multiplier if self.contract is not None else 1.0

    @property
    def cash(self) -> float:
        """Signed cash the fill moves: a sale's proceeds less fees, a purchase's cost negative."""
        sign = 1.0 if self.side == "sell" else -1.0
        return sign * self.quantity * self.price * self.multiplier - self.fee


@dataclass
class Position:
    """The strategy's view of one open position, built from its fills."""

    symbol: str
    quantity: float
    entry: Fill
    fees: float = 0.0
    children: list[str] = field(default_factory=list)


class Broker(Protocol):
    """Where orders go: :class:`~quantalloc.service.trading.paper.PaperBroker` or a live one."""

    def submit(self, order: Order) -> None:
        """Place ``order``; it works from the next bar on."""
        ...

    def cancel(self, order_id: str) -> None:
        """Cancel a working order (no error when it is gone)."""
        ...

    def on_bar(self, bar: Bar) -> Sequence[Fill]:
        """The fills ``bar`` produced (paper), or the fills reported since the last call (live)."""
        ...

    def working(self) -> list[Order]:
        """Orders still working."""
        ...

    def poll(self) -> Sequence[Fill]:
        """Fills of orders that execute at once (option orders) since the last report; a live
        broker waits for the ones it was sent."""
        ...


def settlement_fills(
    contract: OptionContract, position: float, spot: float, time: pd.Timestamp
) -> list[Fill]:
    """What a broker reports when ``position`` contracts (negative: short) settle at ``spot``:
    the contracts leaving at no price and, on an exercise, the shares at the strike."""
    outcome = settle(contract, position, spot)
    tag = f"settle:{contract.symbol}"
    out = [Fill(tag, contract.symbol, "buy" if position < 0 else "sell", abs(position), 0.0,
                0.0, time, 0.0, outcome.reason, contract=contract)]  # fmt: skip
    if outcome.shares:
        side: Side = "buy" if outcome.shares > 0 else "sell"
        out.append(Fill(f"{tag}:shares", contract.underlying, side, abs(outcome.shares),
                        outcome.price, 0.0, time, outcome.price, outcome.reason))  # fmt: skip
    return out
