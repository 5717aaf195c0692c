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

from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from ib_async import BarData, CommissionReport, Execution, OrderStatus, Position, Stock, Trade
from ib_async import Fill as IBFill

from quantalloc.backtest.bars import regular_session
from quantalloc.options.contract import OptionContract
from quantalloc.options.quotes import OptionQuotes

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
        options: OptionQuotes | None = None,
        option_fee: float = 0.0,
    ) -> None:
        self.bar_size = bar_size
        self.options, self.option_fee = options, option_fee
        self.held: dict[tuple[str, ...], float] = {}  # the account's positions, by contract
        self.contracts: dict[tuple[str, ...], Any] = {}  # contract key -> the contract
        self.settling: dict[pd.Timestamp, list[tuple[tuple[str, ...], float]]] = {}
        self.last_streamed: pd.Timestamp | None = None
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
        if contract.secType == "OPT":  # the option market is open at the close: filled now
            assert order.orderType == "MKT" and self.options is not None
            day = self._last_close()
            quote = self.options.quote(_terms(contract), day)
            price = quote.ask if order.action == "BUY" else quote.bid
            self._fill(trade, price, day + self.step, order.totalQuantity * self.option_fee)
        return trade

    def positions(self) -> list[Position]:
        """The account's non-zero positions, by the gateway's own books."""
        return [Position("SIM", self.contracts[key], quantity, 0.0)
                for key, quantity in self.held.items() if quantity]  # fmt: skip

    def cancelOrder(self, order: Any) -> None:
        for trade in self.trades:
            if trade.order is order and trade.orderStatus.status == "Submitted":
                trade.orderStatus.status = "Cancelled"

    def waitOnUpdate(self, timeout: float = 0) -> bool:
        streamed = self.last_streamed
        if (
            self.stream
            and streamed is not None
            and self.stream[0][0].normalize() > (streamed.normalize())
            and self.now < streamed + self.step
        ):
            self.now = streamed + self.step  # the session closes before the next one opens
        elif self.stream:
            time, symbol, row = self.stream.pop(0)
            self.bars[symbol].append(_bar_data(time, row))
            self.now = max(self.now, time)
            self.last_streamed = time
        else:
            self.now = self.stream_end() + self.step  # the close: the last bars complete
        self._overnight()
        while self.pending and self.pending[0][1] + self.step <= self.now:
            self._execute(*self.pending.pop(0))
        return True

    def _overnight(self) -> None:
        """Expiries of the sessions before today are in the account (booked overnight)."""
        for day in sorted(d for d in self.settling if d < self.now.normalize()):
            for key, delta in self.settling.pop(day):
                self.held[key] = self.held.get(key, 0.0) + delta

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
            self._expire(symbol, time, float(bar.close))

    def _last_close(self) -> pd.Timestamp:
        """The latest session whose bars are complete by now (where the option market is)."""
        return max(t for (_, t) in self.rows if t + self.step <= self.now).normalize()

    def _expire(self, underlying: str, time: pd.Timestamp, close: float) -> None:
        """Options on ``underlying`` in their last session settle at its close."""
        for key, contract in list(self.contracts.items()):
            held = self.held.get(key, 0.0)
            if contract.secType != "OPT" or contract.symbol != underlying or not held:
                continue
            if time.normalize() < _last_session(contract.lastTradeDateOrContractMonth):
                continue
            moves = [(key, -held)]  # the contracts leave the account overnight
            strike, mult = float(contract.strike), float(contract.multiplier)
            itm = close - strike if contract.right == "C" else strike - close
            if itm >= 0.01 - 1e-12:  # exercise by exception: the shares at the strike
                buys = (contract.right == "C") == (held > 0)
                stock = Stock(underlying, "SMART", "USD")
                self.contracts.setdefault(_key(stock), stock)
                moves.append((_key(stock), abs(held) * mult * (1 if buys else -1)))
            self.settling.setdefault(time.normalize(), []).extend(moves)

    def _entry_bar(self, parent: Trade, bar: Any, time: pd.Timestamp) -> None:
        """On the parent's bar only the children's stop is assumed reached (at its price)."""
        for t in self._working(parent.contract.symbol):
            if t.order.parentId == parent.order.orderId and t.order.orderType == "STP":
                stop = t.order.auxPrice
                if (bar.low <= stop) if t.order.action == "SELL" else (bar.high >= stop):
                    self._fill(t, stop, time)

    def _fill(self, t: Trade, price: float, time: pd.Timestamp, commission: float = 0.0) -> None:
        side = "BOT" if t.order.action == "BUY" else "SLD"
        stamp = time.to_pydatetime().replace(tzinfo=ZONE)
        ref = t.order.orderRef
        execution = Execution(execId=f"{ref}.1", side=side, shares=t.order.totalQuantity,
                              price=price, orderRef=ref)  # fmt: skip
        report = CommissionReport(execId=f"{ref}.1", commission=commission)
        t.fills.append(IBFill(t.contract, execution, report, stamp))
        t.orderStatus.status = "Filled"
        key = _key(t.contract)
        self.contracts.setdefault(key, t.contract)
        sign = 1.0 if side == "BOT" else -1.0
        self.held[key] = self.held.get(key, 0.0) + sign * float(t.order.totalQuantity)
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


def _key(contract: Any) -> tuple[str, ...]:
    return (contract.secType, contract.symbol, str(contract.lastTradeDateOrContractMonth),
            f"{float(contract.strike or 0):g}", str(contract.right))  # fmt: skip


def _terms(contract: Any) -> OptionContract:
    """The option market's reading of an IB ``Option`` contract."""
    right = "call" if contract.right == "C" else "put"
    expiry = pd.Timestamp(contract.lastTradeDateOrContractMonth).date()
    return OptionContract(contract.symbol, expiry, float(contract.strike), right,
                          float(contract.multiplier))  # fmt: skip


@lru_cache(maxsize=512)
def _last_session(expiry: str) -> pd.Timestamp:
    """The last XNYS session on or before ``expiry`` (YYYYMMDD)."""
    import exchange_calendars as xc

    cal = xc.get_calendar("XNYS")
    return pd.Timestamp(cal.date_to_session(pd.Timestamp(expiry), direction="previous"))
