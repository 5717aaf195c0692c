"""Implied volatility: round trips, no-arbitrage bounds with reasons, QuantLib side by side."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.errors import ConfigError, DataError
from quantalloc.options import IV_REASONS, black_scholes, implied_vol, implied_vol_with_reasons
from tests.options.quantlib_ref import ql, quantlib_implied_vol, random_inputs


def test_round_trip_many_random_options() -> None:
    # price with a known vol, recover it; compare where the price is informative (vega not tiny)
    x = random_inputs(20000, seed=11)
    k = x["spot"] * x["strike_ratio"]
    args = (x["spot"], k, x["t"], x["rate"])
    res = black_scholes(x["kind"], *args, x["vol"], x["dividend"])
    got = implied_vol_with_reasons(x["kind"], res.price, *args, x["dividend"])
    informative = res.vega > 1e-4 * x["spot"]
    assert informative.mean() > 0.9
    assert np.all(got.reason[informative] == "")
    assert np.max(np.abs(got.vol[informative] - x["vol"][informative])) < 1e-9
    # everywhere a vol was found, it reprices the option to ~1e-12 of spot
    ok = np.isfinite(got.vol)
    repriced = black_scholes(x["kind"], *args, np.where(ok, got.vol, 0.2), x["dividend"]).price
    assert np.max(np.abs(repriced - res.price)[ok] / x["spot"][ok]) < 1e-12


def test_hull_example_recovers_twenty_percent() -> None:
    # Hull's S=42, K=40, r=10%, T=0.5 call is worth 4.7594 at sigma = 20%
    price = float(black_scholes("call", 42, 40, 0.5, 0.10, 0.20).price)
    assert float(implied_vol("call", price, 42, 40, 0.5, 0.10)) == pytest.approx(0.20, abs=1e-12)


def test_bounds_give_nan_with_reasons() -> None:
    # call S=100, K=90, r=0, T=1: intrinsic 10, upper bound S = 100
    prices = np.array([9.0, 10.0, 100.0, 150.0, np.nan, 12.0])
    res = implied_vol_with_reasons("call", prices, 100.0, 90.0, 1.0, 0.0)
    assert res.reason.tolist() == [
        "below_lower_bound",
        "at_lower_bound",
        "at_or_above_upper_bound",
        "at_or_above_upper_bound",
        "nan_input",
        "",
    ]
    assert np.isnan(res.vol[[0, 2, 3, 4]]).all()
    assert res.vol[1] == 0.0  # exactly intrinsic: zero vol
    assert res.vol[5] > 0 and res.ok.tolist() == [False, True, False, False, False, True]
    assert set(res.reason.tolist()) <= set(IV_REASONS)
    # a put's upper bound is K e^{-rT} = 100 e^{-0.05} = 95.12
    put = implied_vol_with_reasons("put", [95.0, 95.2], 100.0, 100.0, 1.0, 0.05)
    assert put.reason.tolist() == ["", "at_or_above_upper_bound"]


def test_shape_and_kind_array() -> None:
    kinds = np.array([["call", "put"], ["put", "call"]])
    vols = np.array([[0.1, 0.2], [0.3, 0.4]])
    prices = black_scholes(kinds, 100.0, 105.0, 0.25, 0.02, vols).price
    got = implied_vol(kinds, prices, 100.0, 105.0, 0.25, 0.02)
    assert got.shape == (2, 2)
    assert np.allclose(got, vols, atol=1e-10)


def test_extreme_but_valid_cases() -> None:
    # deep OTM short-dated and very high vol: still recovered
    cases = [("put", 60.0, 7 / 365, 0.9), ("call", 150.0, 2.0, 3.5), ("call", 100.0, 1e-3, 0.05)]
    for kind, k, t, v in cases:
        price = black_scholes(kind, 100.0, k, t, 0.03, v).price
        assert float(implied_vol(kind, price, 100.0, k, t, 0.03)) == pytest.approx(v, rel=1e-8)


def test_bad_inputs() -> None:
    with pytest.raises(DataError, match="expired"):
        implied_vol("call", 1.0, 100, 100, 0.0, 0.0)
    with pytest.raises(DataError, match="strike"):
        implied_vol("call", 1.0, 100, -1, 1.0, 0.0)
    with pytest.raises(ConfigError, match="unknown option kind"):
        implied_vol("future", 1.0, 100, 100, 1.0, 0.0)


@pytest.mark.skipif(ql is None, reason="QuantLib not installed")
def test_side_by_side_with_quantlib() -> None:
    x = random_inputs(60, seed=12)
    k = x["spot"] * x["strike_ratio"]
    vol = np.clip(x["vol"], 0.05, 1.0)
    price = black_scholes(x["kind"], x["spot"], k, x["t"], x["rate"], vol, x["dividend"]).price
    ours = implied_vol(x["kind"], price, x["spot"], k, x["t"], x["rate"], x["dividend"])
    worst = 0.0
    for i in range(k.size):
        vega = float(black_scholes(x["kind"][i], x["spot"][i], k[i], x["t"][i], x["rate"][i],
                                   vol[i], x["dividend"][i]).vega)  # fmt: skip
        if vega < 1e-3 * x["spot"][i]:
            continue  # QuantLib's solver needs a usable vega
        ref = quantlib_implied_vol(str(x["kind"][i]), float(price[i]), float(x["spot"][i]),
                                   float(k[i]), int(x["days"][i]), float(x["rate"][i]),
                                   float(x["dividend"][i]))  # fmt: skip
        worst = max(worst, abs(ref - ours[i]))
    print(f"largest implied-vol difference vs QuantLib: {worst:.2e}")
    assert worst < 1e-8


finite = dict(allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["call", "put"]),
    st.floats(0.6, 1.6, **finite),
    st.floats(0.02, 3.0, **finite),
    st.floats(0.0, 0.1, **finite),
    st.floats(0.03, 1.5, **finite),
)
def test_round_trip_property(kind: str, m: float, t: float, r: float, v: float) -> None:
    g = black_scholes(kind, 100.0, 100.0 * m, t, r, v)
    got = implied_vol_with_reasons(kind, g.price, 100.0, 100.0 * m, t, r)
    if float(g.vega) > 1e-3:
        assert got.reason.item() == ""
        assert float(got.vol) == pytest.approx(v, abs=1e-8)
    else:  # price carries too little information: either recovered or flagged at the bound
        assert got.reason.item() in ("", "at_lower_bound")


def test_real_chain_against_yahoo_ivs(shared_data) -> None:  # type: ignore[no-untyped-def]
    # Yahoo's own implied vols use their rate, dividend and clock conventions, so ours (r = 4%,
    # q = 1.2%, calendar days from the quote date, mid prices) agree only within a few vol points
    import pandas as pd

    from quantalloc.data.chains import load_chain

    chain = load_chain(shared_data / "us/options/SPY_2026-05-01.csv")
    t = (chain["expiry"] - chain["as_of"]).dt.days.to_numpy() / 365
    mid = ((chain["bid"] + chain["ask"]) / 2).to_numpy()
    res = implied_vol_with_reasons(
        chain["kind"], mid, chain["spot"], chain["strike"], t, 0.04, 0.012
    )
    reasons = pd.Series(res.reason).value_counts()
    assert reasons[""] > 0.9 * len(chain)
    assert set(reasons.index) <= set(IV_REASONS)
    near = ((chain["strike"] / chain["spot"] - 1).abs() < 0.05) & (chain["bid"] > 0) & (t > 0.05)
    diff = np.abs(res.vol - chain["implied_vol"].to_numpy())[near.to_numpy()]
    assert near.sum() > 500
    assert np.nanmedian(diff) < 0.04
