"""A simulated IB gateway for a whole live session, in place of TWS / IB Gateway.

No gateway is reachable from the machine these tests run on, so this object plays the part
of ``ib_async.IB`` for :func:`quantalloc.service.trading.ib.live_session`: it serves real
5-minute bars from the shared data (regular session, as ``useRTH=True``), streams the day's
bars one at a time (``keepUpToDate``), and executes the orders it was sent against each bar
once the bar is complete, by its own reading of IB's rules (market at the open, stop and limit
when touched, bracket children active once their parent filled, only their stop on the bar
the parent filled in, one-cancels-all groups, market-on-close at the last bar's close). It is
written apart from the paper broker on purpose: a second reading of the same rules.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from ib_async import BarData, CommissionReport, Execution, OrderStatus, Trade
from ib_async import Fill as IBFill

from quantalloc.backtest.bars import regular_session

NY = "America/New_York"
ZONE = ZoneInfo(NY)
STEP = pd.Timedelta(minutes=5)


def _bar_data(time: pd.Timestamp, row: Any) -> BarData:
    return BarData(date=time.to_pydatetime().replace(tzinfo=ZONE), open=row.open, high=row.high,
                   low=row.low, close=row.close, volume=row.volume)  # fmt: skip


class SimGateway:
    """A gateway streaming the bars of ``frames`` from ``day`` to ``last`` (default: that day
    only), 5-minute or daily (``bar_size``); the warm-up before is read from the data, as the
    live session reads it through the data layer."""

    def __init__(
        self,
        frames: dict[str, pd.DataFrame],
        day: pd.Timestamp,
        last: pd.Timestamp | None = None,
        bar_size: str = "5 mins",
    ) -> None:
        self.bar_size = bar_size
        self.step = STEP if bar_size == "5 mins" else pd.Timedelta(hours=16)  # daily: the close
        end = (last if last is not None else day) + pd.Timedelta(1, "D")
        self.bars: dict[str, list[BarData]] = {}
        self.stream: list[tuple[pd.Timestamp, str, Any]] = []
        self.rows: dict[tuple[str, pd.Timestamp], Any] = {}
        for symbol, frame in frames.items():
            regular = regular_session(frame) if bar_size == "5 mins" else frame
            window = regular.loc[(regular.index >= day) & (regular.index < end)]
            self.bars[symbol] = []
            for t, r in zip(window.index, window.itertuples(), strict=True):
                self.stream.append((t, symbol, r))
                self.rows[(symbol, t)] = r
        self.stream.sort(key=lambda item: (item[0], item[1]))
        self.session_last: dict[tuple[str, pd.Timestamp], pd.Timestamp] = {}
        for symbol, t in sorted(self.rows, key=lambda k: k[1]):
            self.session_last[(symbol, t.normalize())] = t
        self.now = day + pd.Timedelta(hours=9, minutes=30)
        self.pending = sorted(self.rows, key=lambda k: (k[1], k[0]))  # executed in time order
        self.trades: list[Trade] = []
        self.disconnected = False

    # -- what ib_async.IB offers ---------------------------------------------------------------

    def clock(self) -> pd.Timestamp:
        return self.now

    def reqHistoricalData(self, contract: Any, **kwargs: Any) -> list[BarData]:
        assert kwargs["useRTH"] and kwargs["barSizeSetting"] == self.bar_size
        assert kwargs["keepUpToDate"]  # today's bars, streamed from now on (history: the data)
        return self.bars[contract.symbol]

    def placeOrder(self, contract: Any, order: Any) -> Trade:
        for trade in self.trades:
            if trade.order is order:
                return trade  # a modification: the new prices are read at the next bar
        order.orderId = len(self.trades) + 1
        trade = Trade(contract=contract, order=order, orderStatus=OrderStatus(status="Submitted"))
        self.trades.append(trade)
        return trade

    def cancelOrder(self, order: Any) -> None:
        for trade in self.trades:
            if trade.order is order and trade.orderStatus.status == "Submitted":
                trade.orderStatus.status = "Cancelled"

    def waitOnUpdate(self, timeout: float = 0) -> bool:
        if self.stream:
            time, symbol, row = self.stream.pop(0)
            self.bars[symbol].append(_bar_data(time, row))
            self.now = max(self.now, time)
        else:
            self.now = self.stream_end() + self.step  # the close: the last bars complete
        while self.pending and self.pending[0][1] + self.step <= self.now:
            self._execute(*self.pending.pop(0))
        return True

    def stream_end(self) -> pd.Timestamp:
        return max(t for _, t in self.rows)

    def disconnect(self) -> None:
        self.disconnected = True

    # -- the exchange --------------------------------------------------------------------------

    def _working(self, symbol: str) -> list[Trade]:
        out = []
        for t in self.trades:
            if t.contract.symbol != symbol or t.orderStatus.status != "Submitted":
                continue
            parent = next((p for p in self.trades if p.order.orderId == t.order.parentId), None)
            if parent is None or parent.orderStatus.status == "Filled":
                out.append(t)
        return out

    def _execute(self, symbol: str, time: pd.Timestamp) -> None:
        bar = self.rows[(symbol, time)]
        working = self._working(symbol)
        for t in [t for t in working if t.order.orderType == "MKT"]:
            self._fill(t, bar.open, time)
        working = self._working(symbol)  # a market parent's legs work from its fill on
        exits = [t for t in working if t.order.parentId and t.order.orderType in ("STP", "LMT")]
        exits.sort(key=lambda t: t.order.orderType != "STP")  # the stop first
        entries = [
            t for t in working if not t.order.parentId and t.order.orderType in ("STP", "LMT")
        ]
        entries.sort(key=lambda t: abs(bar.open - _level(t)))  # the level nearer the open first
        for t in exits + entries:
            if t.orderStatus.status != "Submitted":
                continue
            price = _touch(t, bar)
            if price is not None:
                self._fill(t, price, time)
                if not t.order.parentId:
                    self._entry_bar(t, bar, time)
        if time == self.session_last[(symbol, time.normalize())]:
            for t in self._working(symbol):
                if t.order.orderType == "MOC":
                    self._fill(t, bar.close, time)

    def _entry_bar(self, parent: Trade, bar: Any, time: pd.Timestamp) -> None:
        """On the parent's bar only the children's stop is assumed reached (at its price)."""
        for t in self._working(parent.contract.symbol):
            if t.order.parentId == parent.order.orderId and t.order.orderType == "STP":
                stop = t.order.auxPrice
                if (bar.low <= stop) if t.order.action == "SELL" else (bar.high >= stop):
                    self._fill(t, stop, time)

    def _fill(self, t: Trade, price: float, time: pd.Timestamp) -> None:
        side = "BOT" if t.order.action == "BUY" else "SLD"
        stamp = time.to_pydatetime().replace(tzinfo=ZONE)
        ref = t.order.orderRef
        execution = Execution(execId=f"{ref}.1", side=side, shares=t.order.totalQuantity,
                              price=price, orderRef=ref)  # fmt: skip
        commission = CommissionReport(execId=f"{ref}.1", commission=0.0)
        t.fills.append(IBFill(t.contract, execution, commission, stamp))
        t.orderStatus.status = "Filled"
        if t.order.ocaGroup:
            for other in self.trades:
                same = other.order.ocaGroup == t.order.ocaGroup and other is not t
                if same and other.orderStatus.status == "Submitted":
                    other.orderStatus.status = "Cancelled"


def _level(t: Trade) -> float:
    return float(t.order.auxPrice if t.order.orderType == "STP" else t.order.lmtPrice)


def _touch(t: Trade, bar: Any) -> float | None:
    level = _level(t)
    rising = (t.order.orderType == "STP") == (t.order.action == "BUY")
    if rising:
        return bar.open if bar.open >= level else (level if bar.high >= level else None)
    return bar.open if bar.open <= level else (level if bar.low <= level else None)
