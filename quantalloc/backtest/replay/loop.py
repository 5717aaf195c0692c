"""The replay's day loop: settle, take profits and stops, rebalance, mark; one close at a time.

At each session's close, in this order:

1. positions whose (front) expiry settles at this close are closed: options at their intrinsic
   value against the underlying's close, plus the market's exercise charges when in the money
   (NSE stock options settle by delivery, index options in cash); stock legs sold at the close;
   legs expiring later (a calendar's back month) sold at this session's fill;
2. every other open position is marked (:meth:`Pricer.marks`); a position whose marked premium
   has gained ``take_profit`` of its entry premium, or lost ``stop_loss`` of it, is closed at
   this session's fills (the stop is checked first);
3. when a rebalance is due, the :class:`Decider` opens new positions; each leg pays its fill
   (a chain leg the solve's chain fill, a model leg the model price and half the spread) and
   the fees of :class:`~quantalloc.backtest.replay.costs.ReplayCosts`;
4. equity = cash + the marks of the open positions.

A position still open after the last session is marked there (``exit_reason="end_of_data"``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from quantalloc.backtest.replay.book import Leg, Position
from quantalloc.backtest.replay.costs import settle_value
from quantalloc.backtest.replay.pricing import Price, Pricer


@dataclass(frozen=True)
class ReplayProgress:
    """Where a replay stands after a session's close."""

    session: int
    sessions: int
    rebalances: int
    day: pd.Timestamp
    equity: float


ProgressFn = Callable[[ReplayProgress], None]


class Decider(Protocol):
    """What the replay opens, and when."""

    def due(self, i: int, day: pd.Timestamp, open_positions: list[Position]) -> bool:
        """Whether session ``i`` rebalances."""
        ...

    def decide(self, i: int, day: pd.Timestamp, free: float) -> list[Position] | None:
        """Positions to open at ``day``'s close with ``free`` capital (None: no decision)."""
        ...


@dataclass(frozen=True)
class ExitRules:
    """Take-profit and stop on the marked premium (0: off), and how options settle."""

    take_profit: float = 0.0
    stop_loss: float = 0.0
    physical: Callable[[str], bool] = lambda symbol: False


@dataclass
class ReplayRun:
    """What one pass of the loop produced."""

    equity: pd.Series
    in_position: pd.Series
    open_at_close: pd.Series
    trades: list[dict[str, Any]]
    notes: list[str]
    rebalances: int
    seconds: float
    decide_seconds: float
    opened: dict[pd.Timestamp, list[Position]] = field(default_factory=dict)


def run_loop(
    days: pd.DatetimeIndex,
    capital: float,
    pricer: Pricer,
    decider: Decider,
    rules: ExitRules,
    *,
    reprice_entries: bool = False,
    progress: ProgressFn | None = None,
) -> ReplayRun:
    """Replay ``days`` from ``capital`` (see the module notes). ``reprice_entries``: fill every
    entry at the model (the proxy re-pricing) instead of at the decider's leg prices."""
    start = time.perf_counter()
    loop = _Loop(pricer, rules, capital, reprice_entries)
    n = len(days)
    equity, held, carried = np.empty(n), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    decide_seconds = 0.0
    rebalances = 0
    opened: dict[pd.Timestamp, list[Position]] = {}
    for i, stamp in enumerate(days):
        day = pd.Timestamp(stamp)
        held[i] = bool(loop.open)
        loop.settle(day)
        marks = loop.exits(day)
        if decider.due(i, day, loop.open):
            free = loop.cash + sum(marks.values()) - sum(p.capital for p in loop.open)
            t0 = time.perf_counter()
            new = decider.decide(i, day, free)
            decide_seconds += time.perf_counter() - t0
            if new is not None:
                rebalances += 1
                opened[day] = [p.fresh() for p in new]
                for pos in new:
                    loop.enter(pos, day)
                    marks[pos.number] = loop.value(pos, day)
        equity[i] = loop.cash + sum(marks.values())
        held[i] = held[i] or bool(loop.open)
        carried[i] = bool(loop.open)
        if progress is not None:
            progress(ReplayProgress(i + 1, n, rebalances, day, float(equity[i])))
    last = pd.Timestamp(days[-1])
    for pos in loop.open:
        prices = pricer.marks(pos, last, count=False)  # counted at that close
        loop.record(pos, last, "end_of_data", prices, 0.0)
    return ReplayRun(
        equity=pd.Series(equity, index=days),
        in_position=pd.Series(held, index=days),
        open_at_close=pd.Series(carried, index=days),
        trades=loop.trades,
        notes=loop.notes,
        rebalances=rebalances,
        seconds=time.perf_counter() - start,
        decide_seconds=decide_seconds,
        opened=opened,
    )


class _Loop:
    """The cash, the open positions and the closed trades of one pass."""

    def __init__(self, pricer: Pricer, rules: ExitRules, capital: float, reprice: bool) -> None:
        self.pricer = pricer
        self.costs = pricer.costs
        self.rules = rules
        self.cash = float(capital)
        self.reprice = reprice
        self.open: list[Position] = []
        self.trades: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def enter(self, pos: Position, day: pd.Timestamp) -> None:
        """Open ``pos`` at ``day``'s fills and pay for it."""
        legs = []
        for leg in pos.legs:
            if self.reprice:
                fill = self.pricer.entry_fill(pos, leg, day)
            elif leg.is_option and leg.source != "chain":
                fill = Price(self.costs.model_fill(leg.price, leg.side), "model")
            elif leg.is_option:  # the session's fill itself (the solve's document rounds it)
                fill = self.pricer.chain_fill(pos, leg, day, leg.side) or Price(leg.price, "chain")
            else:
                fill = Price(leg.price, leg.source)
            legs.append(dataclasses.replace(leg, price=fill.value, source=fill.source))
        pos.legs = tuple(legs)
        pos.entry_value = float(pos.units @ np.array([leg.price for leg in legs]))
        pos.fees = sum(self.costs.fee(leg, leg.price, leg.side, pos.lot_size) for leg in legs)
        self.cash -= pos.entry_value + pos.fees
        self.open.append(pos)

    def value(self, pos: Position, day: pd.Timestamp) -> float:
        """Net marked value of ``pos`` at ``day`` (its marks counted)."""
        prices = self.pricer.marks(pos, day)
        return float(pos.units @ np.array([p.value for p in prices]))

    def settle(self, day: pd.Timestamp) -> None:
        """Close the positions whose front expiry settles at ``day``'s close."""
        still = []
        for pos in self.open:
            if pos.settle_day is None or pos.settle_day > day:
                still.append(pos)
                continue
            spot = self.pricer.model.spot(pos.symbol, day)
            prices, fees = [], 0.0
            for leg in pos.legs:
                if leg.is_option and leg.expiry > pos.expiry:  # a back month: sold at its fill
                    price = self.pricer.exit_fill(pos, leg, day)
                    fees += self.costs.fee(leg, price.value, _close_side(leg), pos.lot_size)
                else:
                    price = Price(settle_value(leg, spot), self.pricer.label)
                    physical = self.rules.physical(pos.symbol)
                    fees += self.costs.exercise_charge(leg, spot, physical)
                    if not leg.is_option:
                        fees += self.costs.fee(leg, spot, _close_side(leg), pos.lot_size)
                prices.append(price)
            self.record(pos, day, "expiry", prices, fees)
        self.open = still

    def exits(self, day: pd.Timestamp) -> dict[int, float]:
        """Mark the open positions; close those that reach the take-profit or the stop.
        Returns the marked values of the positions still open, by position number."""
        marks: dict[int, float] = {}
        still = []
        tp, sl = self.rules.take_profit, self.rules.stop_loss
        for pos in self.open:
            value = self.value(pos, day)
            basis = abs(pos.entry_value)
            gain = value - pos.entry_value
            reason = None
            if pos.opened < day and basis > 0:
                if sl > 0 and gain <= -sl * basis:
                    reason = "stop_loss"
                elif tp > 0 and gain >= tp * basis:
                    reason = "take_profit"
            if reason is None:
                marks[pos.number] = value
                still.append(pos)
                continue
            prices = [self.pricer.exit_fill(pos, leg, day) for leg in pos.legs]
            fees = sum(
                self.costs.fee(leg, p.value, _close_side(leg), pos.lot_size)
                for leg, p in zip(pos.legs, prices, strict=True)
            )
            self.record(pos, day, reason, prices, fees)
        self.open = still
        return marks

    def record(
        self, pos: Position, day: pd.Timestamp, reason: str, prices: list[Price], fees: float
    ) -> None:
        """Book the exit of ``pos`` at ``prices`` (per share, per leg) with ``fees``."""
        pos.exit_prices = tuple(p.value for p in prices)
        pos.exit_sources = tuple(p.source for p in prices)
        value = float(pos.units @ np.array(pos.exit_prices))
        self.trades.append(pos.trade_row(day, reason, value, fees))
        if reason != "end_of_data":
            self.cash += value - fees


def _close_side(leg: Leg) -> str:
    return "sell" if leg.units > 0 else "buy"


__all__ = ["Decider", "ExitRules", "ProgressFn", "ReplayProgress", "ReplayRun", "run_loop"]
