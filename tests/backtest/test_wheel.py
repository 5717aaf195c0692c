"""The wheel on hand-made SPY paths; option prices checked against the closed-form formula."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from quantalloc.backtest import BacktestWindow, run_strategy
from tests.backtest.helpers import FrameProvider, frame_from_closes

DAYS = pd.bdate_range("2024-01-01", "2024-02-29", name="date")
# flat 20% vol, no rate, dividends, spread or fees: every price is plain Black-Scholes
PLAIN = {"rate": 0.0, "dividend_yield": 0.0, "put_slope": 0.0, "call_slope": 0.0,
         "option_spread": 0.0, "fee_per_contract": 0.0}  # fmt: skip


def bs(kind: str, s: float, k: float, days: int, vol: float = 0.2) -> float:
    """Black-Scholes (1973) with r = q = 0, written out here as the reference."""
    t = days / 365.0
    d1 = (math.log(s / k) + 0.5 * vol**2 * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    if kind == "call":
        return s * norm.cdf(d1) - k * norm.cdf(d2)
    return k * norm.cdf(-d2) - s * norm.cdf(-d1)


def _provider(spy: pd.Series) -> FrameProvider:
    vix = frame_from_closes(np.full(len(spy), 20.0), pd.DatetimeIndex(spy.index))
    return FrameProvider({"SPY": frame_from_closes(spy.to_numpy(), pd.DatetimeIndex(spy.index)),
                          "^VIX": vix})  # fmt: skip


def _path() -> pd.Series:
    spy = pd.Series(100.0, index=DAYS)
    spy.loc["2024-01-12":] = 95.0  # put (strike 98, expiry Fri 12 Jan) finishes in the money
    spy.loc["2024-01-26":] = 99.0  # call (strike 97, expiry Fri 26 Jan) finishes in the money
    return spy


def test_put_assigned_then_calls_until_called_away() -> None:
    res = run_strategy("wheel", _provider(_path()), DAYS[0], DAYS[-1], 100_000,
                       {**PLAIN, "take_profit": 0.0})  # fmt: skip
    t = res.trades
    put, call = t.iloc[0], t.iloc[1]
    # 1 Jan: strike floor(100 * 0.984) = 98, first Friday >= 11 Jan is 12 Jan (11 days);
    # 100_000 secures floor(100_000 / 9_800) = 10 contracts
    assert (put["symbol"], put["units"]) == ("SPY 2024-01-12 P98", 1000)
    p1 = bs("put", 100, 98, 11)
    assert put["entry_price"] == pytest.approx(p1, rel=1e-9)
    assert put["exit_reason"] == "assigned" and put["exit_price"] == pytest.approx(3.0)
    # 12 Jan at 95: calls at ceil(95 * 1.016) = 97, expiring Fri 26 Jan (14 days)
    c1 = bs("call", 95, 97, 14)
    assert call["symbol"] == "SPY 2024-01-26 C97"
    assert call["entry_price"] == pytest.approx(c1, rel=1e-9)
    assert call["exit_reason"] == "called_away" and call["exit_price"] == pytest.approx(2.0)
    shares = t.loc[t["side"] == "long"].iloc[0]
    assert (shares["entry_price"], shares["exit_price"], shares["units"]) == (95.0, 99.0, 1000)
    # 26 Jan close, right after selling the next put (marked at its sale price):
    # premiums in, intrinsic values out, the shares' gain
    expected = 100_000 + 1000 * (p1 - 3.0) + 1000 * (c1 - 2.0) + 1000 * (99 - 95)
    assert res.equity.loc["2024-01-26"] == pytest.approx(expected, rel=1e-12)
    # back to puts: strike floor(99 * 0.984) = 97, expiring 9 Feb out of the money
    nxt = t.iloc[3]
    assert nxt["symbol"] == "SPY 2024-02-09 P97" and nxt["exit_reason"] == "expired"
    assert res.in_position.all()


def test_take_profit_buys_back_on_the_first_close_at_70_percent_of_premium() -> None:
    spy = pd.Series(100.0, index=DAYS)
    res = run_strategy("wheel", _provider(spy), DAYS[0], DAYS[-1], 100_000, PLAIN)
    first = res.trades.iloc[0]
    p0 = bs("put", 100, 98, 11)
    expiry = pd.Timestamp("2024-01-12")
    marks = {d: bs("put", 100, 98, (expiry - d).days) for d in DAYS[1:5]}
    hit = next(d for d, v in marks.items() if v <= 0.7 * p0)
    assert first["exit_reason"] == "take_profit" and first["exit_time"] == hit
    assert first["exit_price"] == pytest.approx(marks[hit], rel=1e-9)
    assert all(v > 0.7 * p0 for d, v in marks.items() if d < hit)
    # the next put is sold at the same close
    assert res.trades.iloc[1]["entry_time"] == hit


def test_puts_are_always_cash_secured() -> None:
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2020-01-01", periods=250, name="date")
    spy = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.015, len(idx)))), index=idx)
    res = run_strategy("wheel", _provider(spy), idx[0], idx[-1], 50_000)
    puts = res.trades.loc[res.trades["side"] == "short put"]
    strikes = puts["symbol"].str.extract(r"P([\d.]+)$")[0].astype(float)
    equity_before = res.equity.shift(1).fillna(50_000).loc[puts["entry_time"]].to_numpy()
    assert len(puts) > 5
    assert (puts["units"].to_numpy() * strikes.to_numpy() <= equity_before * 1.02).all()


def test_no_look_ahead_future_days_do_not_change_the_past() -> None:
    rng = np.random.default_rng(8)
    idx = pd.bdate_range("2020-01-01", periods=200, name="date")
    spy = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.015, len(idx)))), index=idx)
    full = run_strategy("wheel", _provider(spy), idx[0], idx[-1], 1e5)
    part = run_strategy("wheel", _provider(spy), idx[0], idx[120], 1e5)
    pd.testing.assert_series_equal(part.equity, full.equity.iloc[:121])
    done = part.trades.loc[part.trades["exit_reason"] != "end_of_data"]
    pd.testing.assert_frame_equal(done, full.trades.iloc[: len(done)], check_dtype=False)


def test_real_spy_with_vix(shared_data) -> None:  # type: ignore[no-untyped-def]
    from quantalloc.data.csv_provider import CsvProvider

    res = run_strategy("wheel", CsvProvider(shared_data / "us"), "2015-01-01", "2016-12-30", 1e5)
    reasons = set(res.trades["exit_reason"])
    assert {"take_profit", "assigned", "called_away"} <= reasons
    assert res.metrics["trades"] > 50


def test_another_quote_source_prices_every_fill_and_mark() -> None:
    """``run(quotes=...)``: a source standing in for a chain (bid 1.00, ask 1.10, mark 1.05 for
    every contract) takes the model's place; the same contracts are picked (by the close), each
    sold at its bid, the open option marked at its mark."""
    from quantalloc.backtest.strategies import wheel
    from quantalloc.options.contract import OptionContract
    from quantalloc.options.quotes import OptionQuote

    asked: list[str] = []

    class Flat:
        def quote(self, contract: OptionContract, day: pd.Timestamp) -> OptionQuote:
            asked.append(contract.symbol)
            return OptionQuote(1.00, 1.10, 1.05, "chain")

    p = wheel.WheelParams(**{**PLAIN, "take_profit": 0.0})  # type: ignore[arg-type]
    spy = _path()
    res = wheel.run(BacktestWindow(_provider(spy), DAYS[0], DAYS[-1], 100_000), p, quotes=Flat())
    t = res.trades
    assert list(t["symbol"][:2]) == ["SPY 2024-01-12 P98", "SPY 2024-01-26 C97"]  # as the model
    options = t.loc[t["side"].str.startswith("short")]
    assert (options["entry_price"] == 1.00).all() and set(options["symbol"]) <= set(asked)
    # 2 Jan: 10 puts sold at 1.00 on 1 Jan, marked at 1.05 (no rate, no fees)
    assert res.equity.loc["2024-01-02"] == pytest.approx(100_000 + 1000 * (1.00 - 1.05))
