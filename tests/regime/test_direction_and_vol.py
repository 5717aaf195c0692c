"""Direction parts, their combination, the vol-regime rules, and the state on series built here."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.regime import market_state, vol_regime
from quantalloc.regime.direction import (
    ChainReading,
    classify,
    combine,
    confidence,
    options_flow_components,
    options_flow_score,
)
from quantalloc.regime.volatility import classify_level

CONTRACT_KEYS = (
    "state direction vix_regime direction_score confidence technical_score "
    "options_flow_score price_action_score vix pcr"
).split()  # the `market` object of the solve JSON (DESIGN.md section 3)


def _series(values, start: str = "2019-01-01") -> pd.Series:
    return pd.Series(
        np.asarray(values, dtype=float), index=pd.bdate_range(start, periods=len(values))
    )


# --- combination --------------------------------------------------------------------------------


def test_missing_options_weight_is_redistributed_in_proportion() -> None:
    weights = {"technical": 0.40, "options_flow": 0.35, "price_action": 0.25}
    score, used = combine({"technical": 0.5, "options_flow": None, "price_action": -0.1}, weights)
    assert used == pytest.approx({"technical": 0.40 / 0.65, "options_flow": 0.0,
                                  "price_action": 0.25 / 0.65})  # fmt: skip
    assert score == pytest.approx((0.40 * 0.5 - 0.25 * 0.1) / 0.65)
    full, used_full = combine(
        {"technical": 0.5, "options_flow": 1.0, "price_action": -0.1}, weights
    )
    assert used_full == weights
    assert full == pytest.approx(0.40 * 0.5 + 0.35 * 1.0 - 0.25 * 0.1)


def test_classify_cut_offs_are_strict() -> None:
    assert classify(0.15, 0.15, -0.15) == "neutral"
    assert classify(0.1501, 0.15, -0.15) == "bullish"
    assert classify(-0.1501, 0.15, -0.15) == "bearish"


@settings(max_examples=50, deadline=None)
@given(
    parts=st.lists(st.one_of(st.none(), st.floats(-1, 1)), min_size=3, max_size=3),
    quality=st.floats(0, 1),
)
def test_score_and_confidence_stay_in_range(parts, quality, regime_config) -> None:
    named = dict(zip(("technical", "options_flow", "price_action"), parts, strict=True))
    score, used = combine(named, regime_config.weights)
    assert -1 <= score <= 1
    assert sum(used.values()) == pytest.approx(1.0) or all(p is None for p in parts)
    conf, agreement, margin = confidence(
        named, used, score, quality, regime_config.confidence, 0.15, -0.15
    )
    assert 0 <= conf <= quality + 1e-12 and 0 <= agreement <= 1 and 0 <= margin <= 1


def test_confidence_rewards_agreement(regime_config) -> None:
    weights = regime_config.weights
    agree = {"technical": 0.7, "options_flow": 0.7, "price_action": 0.7}
    split = {"technical": 1.0, "options_flow": 0.7, "price_action": 0.25}
    s1, u1 = combine(agree, weights)
    s2, u2 = combine(split, weights)
    c1, a1, m1 = confidence(agree, u1, s1, 1.0, regime_config.confidence, 0.15, -0.15)
    c2, a2, _ = confidence(split, u2, s2, 1.0, regime_config.confidence, 0.15, -0.15)
    assert a1 == 1.0 and m1 == 1.0 and c1 == pytest.approx(1.0)  # unanimous and decisive
    assert a2 < a1 and c2 < c1


# --- options flow: contrarian reading -----------------------------------------------------------


def test_put_call_ratios_are_read_contrarian(regime_config) -> None:
    cfg = regime_config.options_flow
    neutral = {"volume": 1.0, "oi": 1.2}
    fearful = ChainReading(pcr_volume=1.25, pcr_oi=1.5, max_pain=103.0, spot=100.0)
    parts = options_flow_components(fearful, neutral, cfg)
    # score = (PCR / neutral - 1) / 0.25: (1.25/1.0 - 1)/0.25 = +1; (1.5/1.2 - 1)/0.25 = +1;
    # max pain 3% above spot over the 3% scale = +1
    assert parts == pytest.approx({"volume_pcr": 1.0, "oi_pcr": 1.0, "max_pain": 1.0})
    greedy = ChainReading(pcr_volume=0.9, pcr_oi=1.14, max_pain=98.5, spot=100.0)
    # (0.9 - 1)/0.25 = -0.4; (1.14/1.2 - 1)/0.25 = -0.2; -1.5% / 3% = -0.5
    parts = options_flow_components(greedy, neutral, cfg)
    assert parts == pytest.approx({"volume_pcr": -0.4, "oi_pcr": -0.2, "max_pain": -0.5})
    score, _ = options_flow_score(greedy, neutral, cfg)
    assert score == pytest.approx(0.5 * -0.4 + 0.3 * -0.2 + 0.2 * -0.5)


def test_options_flow_without_volume_uses_the_rest(regime_config) -> None:
    cfg = regime_config.options_flow
    neutral = {"volume": 1.0, "oi": 1.0}
    only_oi = ChainReading(pcr_volume=None, pcr_oi=1.125, max_pain=None, spot=100.0)
    score, parts = options_flow_score(only_oi, neutral, cfg)
    assert math.isnan(parts["volume_pcr"]) and score == pytest.approx(0.5)
    nothing = ChainReading(pcr_volume=None, pcr_oi=None, max_pain=None, spot=100.0)
    assert options_flow_score(nothing, neutral, cfg)[0] is None


# --- volatility rules ---------------------------------------------------------------------------


def test_vol_level_bands_and_spike_rules(regime_config) -> None:
    th = regime_config.vol_thresholds("us")  # 15 / 22 / 30, jump 30%
    assert classify_level(12.0, th)[0] == "low"
    assert classify_level(18.0, th)[0] == "normal"
    assert classify_level(25.0, th)[0] == "high"
    assert classify_level(31.0, th)[0] == "spike"
    # 25 is 56% above a 20-day mean of 16: a sudden jump into the high band is a spike
    assert classify_level(25.0, th, ma20=16.0)[0] == "spike"
    assert classify_level(25.0, th, ma20=23.0)[0] == "high"
    # the percentile settles the middle band only
    assert classify_level(18.0, th, percentile=95.0)[0] == "high"
    assert classify_level(18.0, th, percentile=5.0)[0] == "low"
    assert classify_level(12.0, th, percentile=99.0)[0] == "low"
    # no "low" within the cool-down after a spike
    regime, reason = classify_level(12.0, th, days_since_spike=3)
    assert regime == "normal" and "after a spike" in reason


def test_vol_regime_figures_on_a_built_series(regime_config) -> None:
    th = regime_config.vol_thresholds("us")
    calm = [16.0 + 0.01 * (i % 7) for i in range(300)]
    series = _series([*calm, 16.5, 17, 17.5, 18.2, 19.0])
    vr = vol_regime(series, th)
    assert vr.level == 19.0
    assert vr.percentile == 100.0  # the highest reading of the year
    assert vr.regime == "high"  # normal level, top percentile
    assert vr.ma5 == pytest.approx(np.mean([16.5, 17, 17.5, 18.2, 19.0]))
    assert vr.trend == "rising" and vr.days_since_spike is None
    after = _series([*calm, 40.0, *[14.0] * 6])
    vr2 = vol_regime(after, th)
    assert vr2.days_since_spike == 6 and vr2.regime == "normal"  # cool-down keeps it off "low"
    assert vr2.trend == "falling" and vr2.ma5 == pytest.approx(14.0)


# --- the state on built markets -----------------------------------------------------------------


def _market(drift: float, vol_level: float, n: int = 320) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(drift + 0.004 * rng.standard_normal(n)))
    idx = pd.bdate_range("2019-01-01", periods=n, name="date")
    frame = pd.DataFrame(
        {"open": close, "high": close * 1.004, "low": close * 0.996, "close": close,
         "volume": 1e6},
        index=idx,
    )  # fmt: skip
    vol = pd.Series(vol_level * np.exp(0.03 * rng.standard_normal(n)), index=idx)
    return frame, vol


def test_a_steady_rise_in_calm_markets_is_bullish_low_vix(regime_config) -> None:
    prices, vol = _market(drift=0.002, vol_level=11.0)
    state = market_state(prices, vol, market="us", config=regime_config)
    assert state.state == "Bullish_Low_VIX"
    assert state.technical_score > 0.5 and state.price_action_score > 0.3
    assert state.missing == ("options_flow",) and state.options_flow_score is None
    assert state.weights["options_flow"] == 0.0
    assert sum(state.weights.values()) == pytest.approx(1.0)
    assert any("its 35% weight was spread" in n for n in state.notes)


def test_a_steady_fall_with_high_vol_is_bearish_high_vix(regime_config) -> None:
    prices, vol = _market(drift=-0.002, vol_level=26.0)
    state = market_state(prices, vol, market="us", config=regime_config)
    assert state.state == "Bearish_High_VIX" and state.vol.regime == "high"
    assert "bear_put_spread" in state.rules.preferred


def test_to_dict_carries_the_solve_contract_and_is_json(regime_config) -> None:
    prices, vol = _market(drift=0.0, vol_level=17.0)
    out = market_state(prices, vol, market="in", config=regime_config).to_dict()
    assert list(out)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    text = json.dumps(out)
    assert json.loads(text)["state"] in {
        f"{d}_{v}_VIX" for d in ("Bullish", "Neutral", "Bearish") for v in ("Low", "Normal", "High")
    }
    assert out["market"] == "in" and out["pcr"] is None and out["missing"] == ["options_flow"]


@settings(max_examples=15, deadline=None)
@given(
    cut=st.integers(270, 330),
    shock=st.floats(-0.3, 0.3),
    vol_jump=st.floats(0.5, 4.0),
)
def test_later_rows_never_change_a_past_state(cut, shock, vol_jump, regime_config) -> None:
    """Whatever follows the as-of date (a crash, a rally, a vol explosion), the state on that
    date is the one computed from the data up to it."""
    prices, vol = _market(drift=0.0005, vol_level=16.0, n=360)
    future = prices.index > prices.index[cut]
    moved = prices.copy()
    moved.loc[future, ["open", "high", "low", "close"]] *= 1.0 + shock
    vol2 = vol.copy()
    vol2.loc[future] *= vol_jump
    day = prices.index[cut]
    a = market_state(prices.loc[:day], vol.loc[:day], market="us", config=regime_config)
    b = market_state(moved, vol2, as_of=day, market="us", config=regime_config)
    assert a == b
