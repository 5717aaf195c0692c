"""Option contracts, their settlement and the model quotes a backtest, a broker and a trader
share; prices checked against Black-Scholes written out and put-call parity."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import norm

from quantalloc.backtest.strategies.wheel import WheelParams, next_option
from quantalloc.data import get_chain_source
from quantalloc.errors import DataError
from quantalloc.options.chain_book import chain_quotes
from quantalloc.options.contract import OptionContract, last_trading_day, settle
from quantalloc.options.costs import LiquidityRules, load_spread_table
from quantalloc.options.quotes import ModelQuotes, chain_quote, fill_price
from quantalloc.options.volatility import FLAT, SkewModel

PUT = OptionContract("SPY", dt.date(2024, 1, 12), 98.0, "put")


def test_symbol_intrinsic_and_the_last_trading_day() -> None:
    assert PUT.symbol == "SPY 2024-01-12 P98"
    assert OptionContract("SPY", "2024-01-26", 101.5, "call").symbol == "SPY 2024-01-26 C101.5"
    assert PUT.intrinsic(95.0) == 3.0 and PUT.intrinsic(99.0) == 0.0
    # Good Friday 2016-03-25 is an NYSE holiday: that week's options stop on the Thursday
    assert last_trading_day(dt.date(2016, 3, 25)) == dt.date(2016, 3, 24)
    assert last_trading_day(dt.date(2024, 1, 12)) == dt.date(2024, 1, 12)
    good_friday = OptionContract("SPY", dt.date(2016, 3, 25), 200.0, "put")
    assert good_friday.settles_on(pd.Timestamp("2016-03-24"))
    assert not good_friday.settles_on(pd.Timestamp("2016-03-23"))
    with pytest.raises(ValueError, match="call or put"):
        OptionContract("SPY", dt.date(2024, 1, 12), 98.0, "straddle")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("contract", "position", "spot", "reason", "shares"),
    [
        (PUT, -3, 97.99, "assigned", 300.0),  # a cent in the money: exercised
        (PUT, -3, 97.995, "expired", 0.0),  # half a cent: not (exercise by exception)
        (PUT, -3, 99.0, "expired", 0.0),
        (OptionContract("SPY", dt.date(2024, 1, 12), 101.0, "call"), -2, 103.0, "called_away",
         -200.0),
        (PUT, 1, 90.0, "exercised", -100.0),  # a long put sells the shares at the strike
    ],
)  # fmt: skip
def test_settlement_delivers_shares_at_the_strike(
    contract: OptionContract, position: int, spot: float, reason: str, shares: float
) -> None:
    outcome = settle(contract, position, spot)
    assert (outcome.reason, outcome.shares) == (reason, shares)
    assert outcome.price == (contract.strike if shares else 0.0)


def _bs(kind: str, s: float, k: float, t: float, r: float, q: float, vol: float) -> float:
    """Black-Scholes-Merton (1973), written out here as the reference."""
    d1 = (math.log(s / k) + (r - q + 0.5 * vol**2) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    if kind == "call":
        return s * math.exp(-q * t) * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2)
    return k * math.exp(-r * t) * norm.cdf(-d2) - s * math.exp(-q * t) * norm.cdf(-d1)


def test_model_quotes_price_at_the_vol_index_with_a_spread() -> None:
    closes = {"SPY": 100.0, "^VIX": 20.0}
    quotes = ModelQuotes(lambda sym, _day: closes[sym], vol_symbol="^VIX", rate=0.02,
                         dividend_yield=0.018, skew=FLAT, spread=0.02)  # fmt: skip
    day = pd.Timestamp("2024-01-01")
    q = quotes.quote(PUT, day)
    assert q.source == "model"
    t = 11 / 365.0
    assert q.mark == pytest.approx(_bs("put", 100, 98, t, 0.02, 0.018, 0.2), rel=1e-12)
    assert (q.bid, q.ask) == (pytest.approx(q.mark * 0.98), pytest.approx(q.mark * 1.02))
    assert fill_price(q, "sell") == q.bid and fill_price(q, "buy") == q.ask
    # put-call parity at the same (flat) vol: C - P = S e^{-qt} - K e^{-rt}
    call = quotes.quote(OptionContract("SPY", PUT.expiry, 98.0, "call"), day).mark
    parity = 100 * math.exp(-0.018 * t) - 98 * math.exp(-0.02 * t)
    assert call - q.mark == pytest.approx(parity, rel=1e-10)
    # on and after the expiry date: the intrinsic value
    closes["SPY"] = 95.0
    assert quotes.quote(PUT, pd.Timestamp("2024-01-12")).mark == 3.0
    # the skew raises an out-of-the-money put's vol above the index's
    skewed = ModelQuotes(lambda sym, _day: {"SPY": 100.0, "^VIX": 20.0}[sym],
                         vol_symbol="^VIX", rate=0.02, dividend_yield=0.018,
                         skew=SkewModel(put_slope=1.0, call_slope=0.3), spread=0.0)  # fmt: skip
    assert skewed.quote(PUT, day).mark > q.mark


def test_chain_quotes_plug_into_the_seam_real(shared_data: Path) -> None:
    """The wheel's next put on the SPX chain of 2019-05-01 quoted from the chain: bid and ask
    the file's own (a quoted contract fills at them), mark the mid, ``source`` "chain"; SPX
    monthlies and SPXW weeklies list the same contract, so the root must be named."""
    snap = get_chain_source(str(shared_data / "us/options/spx_2019")).chain("SPX", "2019-05-01")
    book = chain_quotes(snap, load_spread_table("us"), LiquidityRules(), 0.024)
    params = WheelParams(symbol="SPX", strike_step=5.0)
    sale = next_option(params, pd.Timestamp("2019-05-01"), book.spot, 0, 1_000_000.0)
    assert sale is not None
    put, _ = sale
    assert (put.expiry, put.strike, put.right) == (dt.date(2019, 5, 17), 2895.0, "put")
    f = snap.frame
    raw = f.loc[(f["root"] == "SPXW") & (f["expiry"] == "2019-05-17") & (f["strike"] == 2895.0)
                & (f["kind"] == "put")].iloc[0]  # fmt: skip
    q = chain_quote(book, put, root="SPXW")
    assert (q.bid, q.ask, q.source) == (raw["bid"], raw["ask"], "chain")
    assert q.mark == pytest.approx((raw["bid"] + raw["ask"]) / 2, rel=1e-12)
    assert fill_price(q, "sell") == raw["bid"]
    with pytest.raises(DataError, match=r"roots \['SPX', 'SPXW'\]; pass root="):
        chain_quote(book, put)
    with pytest.raises(DataError, match="no tradable put 2897"):
        chain_quote(book, OptionContract("SPX", put.expiry, 2897.0, "put"), root="SPXW")
    with pytest.raises(DataError, match="the chain on SPX"):
        chain_quote(book, PUT)
