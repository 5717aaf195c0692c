"""The Interactive Brokers adapter at its boundary.

No IB gateway (TWS / IB Gateway) is reachable from the machine these tests run on, so the
``ib_async.IB`` connection is replaced by a fake that records what would be sent and lets
the test play the gateway's part (executions, bars). Everything on our side of that boundary
is real, including ``ib_async``'s own order, contract, trade and fill objects.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from ib_async import BarData, CommissionReport, Execution, OrderStatus, Position, Trade
from ib_async import Fill as IBFill

from quantalloc.options.contract import OptionContract
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
        self.modified: list[Any] = []
        self.bars: dict[str, list[BarData]] = {}
        self.updates: list[tuple[str, BarData]] = []
        self.disconnected = False
        self.now: pd.Timestamp | None = None
        self.held: list[Position] = []  # what the account holds, as the test sets it

    def positions(self) -> list[Position]:
        return list(self.held)

    def placeOrder(self, contract: Any, order: Any) -> Trade:
        for trade in self.trades:
            if trade.order is order:  # the same order again: IB modifies it
                self.modified.append(order)
                return trade
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
        assert kwargs["barSizeSetting"] == "5 mins" and kwargs["useRTH"]
        assert kwargs["keepUpToDate"] and kwargs["endDateTime"] == ""  # streamed from now on
        return self.bars[contract.symbol]

    def clock(self) -> pd.Timestamp:
        """Exchange time: the newest bar is still forming (IB's keepUpToDate)."""
        if self.now is not None:
            return self.now
        newest = max(b[-1].date for b in self.bars.values())
        return pd.Timestamp(newest).tz_convert(NY).tz_localize(None)

    def waitOnUpdate(self, timeout: float = 0) -> bool:
        if not self.updates:  # the session is over: the last bars complete by the clock
            assert self.now is None, "the feed waited after the session ended"
            self.now = self.clock() + pd.Timedelta(minutes=5)
            return True
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
    exits = (Child("stop", 2.0, "stop"), Child("limit", 1.5, "take_profit"),
             Child("close", 0.0, "session_close"))  # fmt: skip
    for side, level in (("buy", 101.0), ("sell", 99.0)):
        broker.submit(Order(f"d1-{side}", "SPY", side, "stop", notional=10_000.0, price=level,
                            oca="d1-entry", children=exits))  # fmt: skip
    buy, b_stop, b_take, b_close, sell = ib.trades[:5]
    assert (buy.contract.symbol, buy.contract.exchange, buy.contract.currency) == (
        "SPY", "SMART", "USD")  # fmt: skip
    assert (buy.order.orderType, buy.order.action, buy.order.auxPrice) == ("STP", "BUY", 101.0)
    assert buy.order.totalQuantity == 99  # floor(10,000 / 101): IB takes whole shares
    assert (sell.order.action, sell.order.totalQuantity) == ("SELL", 101)  # floor(10,000 / 99)
    assert buy.order.ocaGroup == sell.order.ocaGroup == "d1-entry" and buy.order.ocaType == 1
    # the bracket is attached: children of the parent, sent with the last one, around the level
    assert [t.order.parentId for t in (b_stop, b_take, b_close)] == [buy.order.orderId] * 3
    assert [t.order.transmit for t in (buy, b_stop, b_take, b_close)] == [False, False, False,
                                                                          True]  # fmt: skip
    assert (b_stop.order.orderType, b_stop.order.action, b_stop.order.auxPrice) == (
        "STP", "SELL", 99.0)  # fmt: skip
    assert (b_take.order.orderType, b_take.order.lmtPrice) == ("LMT", 102.5)
    assert b_close.order.orderType == "MOC" and b_stop.order.totalQuantity == 99
    assert b_stop.order.ocaGroup == b_close.order.ocaGroup == "d1-buy:exits"
    # the gateway fills the buy stop in two executions, above the level; IB's OCA cancels
    # the sell stop; the adapter moves the bracket around the average fill
    ib.execute("d1-buy", [(60, 101.0, 0.6), (39, 101.2, 0.4)])
    sell.orderStatus.status = "Cancelled"
    bar = Bar("SPY", pd.Timestamp("2025-06-03 10:00"), 100, 102, 99.5, 101.5)
    (fill,) = broker.on_bar(bar)
    assert fill.order_id == "d1-buy" and fill.side == "buy" and fill.quantity == 99
    assert fill.price == pytest.approx((60 * 101.0 + 39 * 101.2) / 99)  # volume-weighted
    assert fill.fee == pytest.approx(1.0)  # commissions summed
    assert fill.time == pd.Timestamp("2025-06-03 10:00:31")  # the last execution, New York time
    assert broker.on_bar(bar) == []  # reported once
    assert ib.modified == [b_stop.order, b_take.order]  # re-sent with the same order ids
    assert b_stop.order.auxPrice == round(fill.price - 2.0, 2)
    assert b_take.order.lmtPrice == round(fill.price + 1.5, 2)
    # the stop fills: reported as the bracket's exit
    ib.execute("d1-buy:0", [(99, 99.0, 1.0)])
    (exit_fill,) = broker.on_bar(bar)
    assert exit_fill.side == "sell" and exit_fill.reason == "stop"
    assert exit_fill.parent_id == "d1-buy"
    assert b_take.order in ib.cancelled and b_close.order in ib.cancelled  # flat: legs die
    # a market parent's bracket is attached around the last close, then moved to its fill
    broker.submit(Order("m1", "SPY", "buy", "market", quantity=10,
                        children=(Child("stop", 0.05, "stop", relative=True),)))  # fmt: skip
    parent, leg = ib.trades[-2:]
    assert parent.order.orderType == "MKT" and not parent.order.transmit
    assert leg.order.parentId == parent.order.orderId and leg.order.transmit
    assert leg.order.auxPrice == round(101.5 * 0.95, 2)  # the last bar closed at 101.5
    ib.execute("m1", [(10, 200.0, 0.0)])
    broker.on_bar(bar)
    assert leg.order.auxPrice == 190.0 and leg.order.orderRef == "m1:0"


def test_the_feed_groups_completed_bars_and_ends_with_the_session() -> None:
    ib = FakeIB()
    day2 = pd.DatetimeIndex(["2025-06-02 09:30"], name="date")
    history = BarBook({s: pd.DataFrame({"open": p, "high": p + 1, "low": p - 1, "close": p,
                                        "volume": 1.0}, index=day2)
                       for s, p in (("SPY", 100.0), ("QQQ", 200.0))})  # fmt: skip
    ib.bars = {"SPY": [_bar(5, 101)], "QQQ": [_bar(5, 201)]}
    ib.updates = [(s, _bar(minute, base + k)) for k, minute in enumerate((10, 385))
                  for s, base in (("SPY", 102), ("QQQ", 202))]  # fmt: skip
    book = BarBook()
    groups = list(ib_feed(ib, ["SPY", "QQQ"], book, warmup_days=10, history=history,
                          clock=ib.clock))  # fmt: skip
    times = [g[0].time for g in groups]
    assert times == [pd.Timestamp("2025-06-03 09:35"), pd.Timestamp("2025-06-03 09:40"),
                     pd.Timestamp("2025-06-03 15:55")]  # fmt: skip
    assert [b.symbol for b in groups[0]] == ["QQQ", "SPY"]
    assert groups[-1][0].session_end and not groups[0][0].session_end
    seen = book.history("SPY")  # warm-up plus the streamed bars, in exchange time
    assert seen.index[0] == pd.Timestamp("2025-06-02 09:30") and len(seen) == 4
    assert ib.now == pd.Timestamp("2025-06-03 16:00")  # the last bar closed by the clock


def test_a_live_session_refuses_a_strategy_without_a_bar_trader() -> None:
    from quantalloc.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot trade bar by bar"):
        live_session("multi", MemoryLedger(1e5), {}, "127.0.0.1", 1, 1, ib=FakeIB())


def test_option_orders_are_ib_options_settled_at_the_close_and_checked_against_ib() -> None:
    """A short put placed on an ``ib_async`` ``Option``, filled at IB, reported by ``poll``;
    at its last close in the money it is assigned (no price, 100 shares a contract at the
    strike); the next session the adapter checks IB's positions, and a difference stops it."""
    from quantalloc.errors import DataError

    ib = FakeIB()
    broker = IBBroker(ib)
    put = OptionContract("SPY", dt.date(2016, 3, 25), 200.0, "put")  # Good Friday: Thursday
    broker.on_bar(Bar("SPY", pd.Timestamp("2016-03-14"), 201, 202, 200, 201.5, session_end=True))
    broker.submit(Order("w-1", put.symbol, "sell", "market", quantity=3, contract=put))
    (trade,) = ib.trades
    c = trade.contract
    assert (c.secType, c.symbol, c.lastTradeDateOrContractMonth, c.strike, c.right) == (
        "OPT", "SPY", "20160325", 200.0, "P")  # fmt: skip
    assert (c.multiplier, c.exchange, c.currency) == ("100", "SMART", "USD")
    assert (trade.order.orderType, trade.order.action, trade.order.totalQuantity) == (
        "MKT", "SELL", 3)  # fmt: skip
    ib.execute("w-1", [(2, 1.50, 1.30), (1, 1.53, 0.65)])
    (fill,) = broker.poll()
    assert fill.contract == put and fill.quantity == 3 and fill.fee == pytest.approx(1.95)
    assert fill.price == pytest.approx((2 * 1.50 + 1.53) / 3)
    assert fill.cash == pytest.approx(3 * 100 * fill.price - 1.95)  # per share x multiplier
    assert broker.poll() == []  # reported once
    ib.held = [Position("U1", c, -3.0, 150.0)]
    day = pd.Timestamp("2016-03-24")  # the last session before the Good Friday expiry
    assert broker.on_bar(Bar("SPY", day - pd.Timedelta(days=1), 200, 201, 199, 200.5,
                             session_end=True)) == []  # fmt: skip
    fills = broker.on_bar(Bar("SPY", day, 199, 200, 197, 198.0, session_end=True))
    assert [(f.symbol, f.side, f.quantity, f.price, f.reason) for f in fills] == [
        (put.symbol, "buy", 3.0, 0.0, "assigned"),
        ("SPY", "buy", 300.0, 200.0, "assigned"),
    ]
    # IB books the assignment overnight: the next session it must show no put
    with pytest.raises(
        DataError, match=r"IB holds -3 of SPY 2016-03-25 P200, the trader's books 0"
    ):
        broker.on_bar(Bar("SPY", pd.Timestamp("2016-03-28"), 198, 199, 197, 198.5))
    ib.held = []
    assert broker.on_bar(Bar("SPY", pd.Timestamp("2016-03-28"), 198, 199, 197, 198.5)) == []


@pytest.mark.slow
def test_live_orb_sessions_through_a_simulated_gateway_trade_as_the_backtest(
    shared_data: Path,
) -> None:
    """Three live sessions (one a day, as the CronJob runs them) against the simulated gateway
    of tests/service/ib_gateway.py, on real 5-minute bars, take the backtest's trades: the same
    symbol, side, bars and exit reason, at the same entry price; exits differ only by the
    rounding of the bracket to whole cents, and sizes by IB's whole shares."""
    from quantalloc.backtest.registry import run_strategy
    from quantalloc.data import get_provider
    from tests.service.ib_gateway import SimGateway

    provider = get_provider(f"csv:{shared_data / 'us_intraday' / '5min'}", "us")
    params = {"symbols": "SPY,QQQ,NVDA,TSLA,MSTR,SMCI,SOXL", "min_atr_pct": "0.03",
              "slippage": "0"}  # IB's fills carry the market's price  # fmt: skip
    days = pd.DatetimeIndex(["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05"])
    backtest = run_strategy("orb", provider, days[0], days[-1], 100_000.0, params)
    frames = {s: provider.history(s, "2025-04-15", days[-1]) for s in params["symbols"].split(",")}
    ledger = MemoryLedger(100_000.0)
    trades = []
    for day in days:
        gateway = SimGateway(frames, day)
        result = live_session("orb", ledger, params, "sim", 0, 1, ib=gateway,
                              history=provider, clock=gateway.clock)  # fmt: skip
        assert gateway.disconnected
        trades.extend(result.trades.to_dict(orient="records"))
    expected = backtest.trades.to_dict(orient="records")
    assert len(expected) >= 3 and len(trades) == len(expected)
    for mine, theirs in zip(trades, expected, strict=True):
        for key in ("symbol", "side", "entry_time", "exit_time", "exit_reason"):
            assert mine[key] == theirs[key], (key, mine, theirs)
        assert mine["entry_price"] == pytest.approx(theirs["entry_price"], rel=1e-12)
        assert mine["exit_price"] == pytest.approx(theirs["exit_price"], abs=0.005 + 1e-9)
        assert mine["units"] == int(mine["units"]) and abs(mine["units"] - theirs["units"]) < 2
    booked = 100_000.0 + sum(t["pnl"] for t in trades)
    assert ledger.cash() == pytest.approx(booked, rel=1e-12)  # every fill went to the ledger
    assert ledger.cash() == pytest.approx(backtest.equity.iloc[-1], rel=2e-3)


@pytest.mark.slow
def test_live_momentum_on_daily_bars_through_a_simulated_gateway(shared_data: Path) -> None:
    """One long-running momentum trader (``--sessions N``) on the daily bars the simulated
    gateway streams: market orders at the next open, the stop and take-profit worked at IB
    from the fill on. It takes the backtest's trades (raw prices: IB's are not dividend
    adjusted), entries at the same open, exits within the cent the legs are rounded to."""
    from quantalloc.backtest.registry import run_strategy
    from quantalloc.data import get_provider
    from tests.service.ib_gateway import SimGateway

    provider = get_provider(f"csv:{shared_data / 'us'}", "us")
    params = {"sma_days": "100", "stop_loss": "0.08", "take_profit": "0.3", "adjusted": "false",
              "slippage": "0"}  # fmt: skip
    first, last = pd.Timestamp("2015-06-01"), pd.Timestamp("2017-12-29")
    backtest = run_strategy("momentum", provider, first, last, 100_000.0, params)
    frames = {s: provider.history(s, first, last) for s in ("SPY", "SPXL")}
    sessions = len(frames["SPXL"])
    gateway = SimGateway(frames, first, last, bar_size="1 day")
    ledger = MemoryLedger(100_000.0)
    result = live_session("momentum", ledger, params, "sim", 0, 2, ib=gateway,
                          sessions=sessions, history=provider, clock=gateway.clock)  # fmt: skip
    assert gateway.disconnected and len(result.equity) == sessions
    expected = backtest.trades.to_dict(orient="records")
    trades = result.trades.to_dict(orient="records")
    assert {t["exit_reason"] for t in expected} >= {"stop", "take_profit", "signal"}
    assert len(trades) == len(expected)
    closes = frames["SPXL"]["close"]
    cash = 100_000.0
    for mine, theirs in zip(trades, expected, strict=True):
        for key in ("entry_time", "exit_time", "exit_reason"):
            assert mine[key] == theirs[key], (key, mine, theirs)
        assert mine["entry_price"] == pytest.approx(theirs["entry_price"], rel=1e-12)
        assert mine["exit_price"] == pytest.approx(theirs["exit_price"], abs=0.005 + 1e-9)
        # IB takes whole shares, sized by the sleeve's cash at the decision's close
        decided = closes.loc[: mine["entry_time"] - pd.Timedelta(days=1)].iloc[-1]
        assert mine["units"] == math.floor(cash / decided)
        cash += mine["pnl"]
    assert result.equity.iloc[-1] == pytest.approx(cash, rel=1e-12)  # every fill booked
    # sizes differ from the backtest's (whole shares at the close before, not the open)
    assert result.equity.iloc[-1] == pytest.approx(backtest.equity.iloc[-1], rel=1e-2)


class _NoDividends:
    """The shared daily files without their adjusted close: IB's bars carry none."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.synthetic = inner, f"{inner.name} (no adj_close)", False

    def history(self, symbol: str, start: Any = None, end: Any = None) -> pd.DataFrame:
        return self.inner.history(symbol, start, end).drop(columns="adj_close", errors="ignore")


@pytest.mark.slow
def test_live_wheel_through_a_simulated_gateway_takes_the_backtests_trades(
    shared_data: Path,
) -> None:
    """One long-running wheel trader on the daily SPY and VIX bars the simulated gateway
    streams (tests/service/ib_gateway.py; no IB gateway is reachable here). Its option market
    quotes the wheel's model (bid and ask 2% around it, $0.65 a contract) and settles expiring
    contracts at the close by the clearing house's rule, booking the assignment overnight as
    IB does; the adapter checks the account's positions every session. The trader takes the
    backtest's trades, to 1e-9, on the same bars (without an adjusted close: IB's carry no
    dividends)."""
    from quantalloc.backtest.registry import make_params, run_strategy
    from quantalloc.backtest.strategies import wheel
    from quantalloc.data import get_provider
    from tests.service.ib_gateway import SimGateway

    provider = _NoDividends(get_provider(f"csv:{shared_data / 'us'}", "us"))
    first, last = pd.Timestamp("2015-01-02"), pd.Timestamp("2015-12-31")
    backtest = run_strategy("wheel", provider, first, last, 100_000.0, {})
    frames = {
        "SPY": provider.history("SPY", first, last),
        "VIX": provider.history("^VIX", first, last),
    }  # IB's symbol of the CBOE index
    levels = {"SPY": frames["SPY"]["close"], "^VIX": frames["VIX"]["close"]}
    market = wheel.make_quotes(make_params("wheel", {}),
                               lambda symbol, day: float(levels[symbol].loc[day]))  # fmt: skip
    gateway = SimGateway(frames, first, last, bar_size="1 day", options=market, option_fee=0.65)
    sessions = len(frames["SPY"])
    ledger = MemoryLedger(100_000.0)
    result = live_session("wheel", ledger, {}, "sim", 0, 3, ib=gateway, sessions=sessions,
                          history=provider, clock=gateway.clock)  # fmt: skip
    assert gateway.disconnected and len(result.equity) == sessions
    expected = backtest.trades.to_dict(orient="records")
    trades = result.trades.to_dict(orient="records")
    reasons = {t["exit_reason"] for t in expected}
    assert {"take_profit", "expired", "assigned", "called_away"} <= reasons
    assert len(trades) == len(expected)
    for mine, theirs in zip(trades, expected, strict=True):
        for key in ("symbol", "side", "entry_time", "exit_time", "exit_reason"):
            assert mine[key] == theirs[key], (key, mine, theirs)
        for key in ("entry_price", "exit_price", "units", "pnl", "fees"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-9, abs=1e-7), (key, mine)
    assert result.equity.index.equals(backtest.equity.index)
    np.testing.assert_allclose(result.equity.to_numpy(), backtest.equity.to_numpy(), rtol=1e-9)
    # the account the gateway keeps holds what the trader's books hold at the end
    held = {p.contract.symbol if p.contract.secType == "STK" else p.contract.right:
            p.position for p in gateway.positions()}  # fmt: skip
    open_rows = [t for t in expected if t["exit_reason"] == "end_of_data"]
    assert held == {("SPY" if t["side"] == "long" else t["side"][6].upper()):
                    (t["units"] if t["side"] == "long" else -t["units"] / 100)
                    for t in open_rows}  # fmt: skip
    assert any(f.contract is not None for f in ledger.fills) and ledger.flows  # interest booked
