"""Fill prices and costs: the spread tables re-measured on the shared quotes, the fill rule on
real NSE and SPX chains, NSE and US fees worked by hand, and the liquidity rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantalloc.data import get_chain_source
from quantalloc.errors import ConfigError
from quantalloc.options.costs import (
    FeeSchedule,
    LiquidityRules,
    SpreadTable,
    estimate_spread_table,
    load_spread_table,
    moneyness,
)
from quantalloc.options.fills import fill_prices

FLAT = SpreadTable(spreads=((0.1,) * 4,) * 6, min_spread=0.05)


def test_stored_tables_are_what_the_shared_quotes_measure(shared_data: Path) -> None:
    from experiments.spreads.estimate import tables

    measured = tables(shared_data)
    for market in ("us", "in"):
        stored = load_spread_table(market)
        np.testing.assert_allclose(stored.spreads, measured[market].spreads, atol=5e-5)
        assert stored.min_spread == measured[market].min_spread
    us = load_spread_table("us")
    # spreads widen out of the money and narrow with time to expiry, row by row
    assert all(np.diff(np.asarray(us.spreads)[1:, 1]) > 0)
    assert all(np.diff(np.asarray(us.spreads)[2]) < 0)


def test_buckets_and_estimate_by_hand() -> None:
    assert moneyness(["call", "put"], [103.0, 97.0], [100.0, 100.0]).tolist() == pytest.approx(
        [0.03, 0.03]
    )
    table = SpreadTable(
        spreads=tuple(tuple(float(10 * i + j) for j in range(4)) for i in range(6)),
        min_spread=0.0,
    )
    # a 3%-OTM call at 20 days: row 2 (2-5%), column 1 (8-30 days); ITM put at 7 days: row 0
    assert table.relative(["call", "put"], [103.0, 110.0], 100.0, [20, 7]).tolist() == [21.0, 0.0]
    chain = pd.DataFrame(
        {
            "kind": ["call"] * 3,
            "strike": [100.0] * 3,
            "spot": 100.0,
            "bid": [0.9, 1.8, 3.0],
            "ask": [1.1, 2.2, 3.0],
            "expiry": pd.Timestamp("2026-03-01"),
            "as_of": pd.Timestamp("2026-02-20"),
        }
    )
    got = estimate_spread_table([chain], min_spread=0.05, source="x", min_count=3)
    # (0.2/1, 0.4/2, 0/3): median 0.2 in the ATM, 8-30 day bucket; every other bucket copies it
    assert np.asarray(got.spreads) == pytest.approx(np.full((6, 4), 0.2))
    shaped = estimate_spread_table([chain], min_spread=0.05, source="x", min_count=3, shape=table)
    # the ATM row follows the shape (10, 11, 12, 13) scaled by 0.2 / 11
    assert np.asarray(shaped.spreads)[1] == pytest.approx(np.array([10, 11, 12, 13]) * 0.2 / 11)


def test_fill_rule_on_nse_bhavcopy_real(shared_data: Path) -> None:
    snap = get_chain_source(str(shared_data / "in/fo_bhavcopy")).chain("RELIANCE", "2026-02-02")
    table = load_spread_table("in")
    fills = fill_prices(snap.frame, table)
    raw = pd.read_csv(shared_data / "in/fo_bhavcopy/BhavCopy_NSE_FO_0_0_0_20260202_F_0000.csv.gz")
    raw = raw[(raw["TckrSymb"] == "RELIANCE") & raw["OptnTp"].isin(["CE", "PE"])]
    raw = raw.assign(
        kind=np.where(raw["OptnTp"] == "CE", "call", "put"),
        expiry=pd.to_datetime(raw["XpryDt"]),
        strike=raw["StrkPric"].astype(float),
    )
    m = fills.merge(raw, on=["expiry", "strike", "kind"], validate="one_to_one")
    assert len(m) == len(snap.frame)  # every row has a close or a settlement price
    traded = m["TtlTradgVol"] > 0
    assert (m.loc[traded, "basis"] == "close").all()
    assert (m.loc[traded, "ref"] == m.loc[traded, "ClsPric"]).all()
    assert (m.loc[~traded, "basis"] == "settlement").all()
    assert (m.loc[~traded, "ref"] == m.loc[~traded, "SttlmPric"]).all()
    stale = ~traded & (m["ClsPric"] != m["SttlmPric"])
    assert stale.sum() > 100  # the README's stale closes exist, and none is used
    dte = (m["expiry"] - pd.Timestamp("2026-02-02")).dt.days
    half = np.maximum(table.relative(m["kind"], m["strike"], m["spot"], dte) * m["ref"], 0.05) / 2
    np.testing.assert_allclose(m["buy"], m["ref"] + half)
    np.testing.assert_allclose(m["sell"], np.maximum(m["ref"] - half, 0.0))


def test_fill_rule_on_spx_quotes_real(shared_data: Path) -> None:
    snap = get_chain_source(str(shared_data / "us/options/spx_2019")).chain("SPX", "2019-05-01")
    fills = fill_prices(snap.frame, load_spread_table("us"))
    quoted = fills["basis"] == "quote"
    assert quoted.mean() > 0.9
    q = fills.loc[quoted]
    assert (q["buy"] == q["ask"]).all() and (q["sell"] == q["bid"]).all()
    assert ((q["ref"] - (q["bid"] + q["ask"]) / 2).abs() < 1e-12).all()


def test_fees_by_hand() -> None:
    nse = FeeSchedule(
        per_lot=20.0,
        premium_rate=0.0003503 + 0.000001,
        buy_rate=0.00003,
        sell_rate=0.001,
        tax_rate=0.18,
    )
    # sell one NIFTY lot (65) at 100: premium 6,500; brokerage 20 + exchange and SEBI 2.2835
    # carry 18% GST = 26.29453; STT 0.1% of 6,500 = 6.5
    assert nse.per_fill(100.0, 65, "sell") == pytest.approx((20 + 6500 * 0.0003513) * 1.18 + 6.5)
    assert nse.per_fill(100.0, 65, "buy") == pytest.approx((20 + 6500 * 0.0003513) * 1.18 + 0.195)
    us = FeeSchedule(per_lot=0.65, regulatory_per_lot=0.05)
    assert us.per_fill([2.0, 0.1], 100, ["buy", "sell"]).tolist() == pytest.approx([0.7, 0.7])
    with pytest.raises(ConfigError, match="unknown fee"):
        FeeSchedule.from_mapping({"per_lots": 1})
    with pytest.raises(ConfigError, match="fee per_lot must be a number >= 0"):
        FeeSchedule(per_lot=-1)


def test_liquidity_rules_count_drops() -> None:
    fills = pd.DataFrame(
        {
            "open_interest": [500, 10, 500, 500, np.nan],
            "volume": [5, 5, 0, 5, 5],
            "rel_spread": [0.05, 0.05, 0.05, 0.5, 0.05],
        }
    )
    keep, counts = LiquidityRules(min_open_interest=100, min_volume=1, max_spread=0.2).mask(fills)
    assert keep.tolist() == [True, False, False, False, False]
    assert counts == {"open_interest": 2, "volume": 1, "spread": 1}
    with pytest.raises(ConfigError, match="max_spread > 0"):
        LiquidityRules(max_spread=0)
