"""models/regime.toml: loads, holds the 9-state table, and a broken copy fails clearly."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from quantalloc.config import model_path
from quantalloc.errors import ConfigError
from quantalloc.regime import (
    STATE_NAMES,
    STRATEGY_NAMES,
    load_regime_config,
    parse_regime_config,
    state_name,
    state_rules,
)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    with model_path("regime").open("rb") as fh:
        return tomllib.load(fh)


def test_default_model_loads_with_the_documented_weights(regime_config) -> None:
    assert regime_config.weights == {"technical": 0.40, "options_flow": 0.35, "price_action": 0.25}
    assert regime_config.options_flow.weights == {
        "volume_pcr": 0.50,
        "oi_pcr": 0.30,
        "max_pain": 0.20,
    }
    assert regime_config.price_action.timeframes == {"1W": 5, "2W": 10, "1M": 21, "3M": 63}
    assert set(regime_config.volatility) == {"us", "in"}
    assert regime_config.cache_ttl_seconds == 3600


def test_nine_states_with_known_strategies(regime_config) -> None:
    assert len(STATE_NAMES) == 9 and set(regime_config.states) == set(STATE_NAMES)
    for name in STATE_NAMES:
        rules = state_rules(name, regime_config)
        assert rules.state == name
        assert set(rules.preferred) <= STRATEGY_NAMES and set(rules.avoided) <= STRATEGY_NAMES
        assert not set(rules.preferred) & set(rules.avoided)
        assert 0 < rules.dte_min <= rules.dte_max
        assert 0 < rules.probability_threshold < 1


def test_state_table_follows_the_framework(regime_config) -> None:
    """After the original MARKET_CONDITIONS: direction picks the spreads, high vol sells premium,
    and the high-vol states prefer shorter expiries."""
    selling = {"iron_condor", "short_strangle", "short_straddle", "bull_put_spread",
               "bear_call_spread", "cash_secured_put", "iron_butterfly"}  # fmt: skip
    for name in STATE_NAMES:
        rules = regime_config.states[name]
        if rules.direction == "bullish":
            assert {"bull_call_spread", "bull_put_spread"} & set(rules.preferred)
            assert not {"bear_put_spread", "long_put"} & set(rules.preferred)
        if rules.direction == "bearish":
            assert {"bear_put_spread", "bear_call_spread", "long_put"} & set(rules.preferred)
            assert "bull_call_spread" in rules.avoided
        if rules.vix_level == "high":
            assert set(rules.preferred[:2]) <= selling, name
            assert rules.iv_preference == "sell" and rules.dte_max <= 30
            assert {"long_straddle", "long_strangle"} & set(rules.avoided)
    low = regime_config.states["Bullish_Low_VIX"]
    assert low.preferred[:3] == ("bull_call_spread", "long_call", "bull_put_spread")
    assert (low.dte_min, low.dte_max) == (30, 45)


def test_state_name_folds_spike_into_high() -> None:
    assert state_name("bearish", "spike") == "Bearish_High_VIX"
    assert state_name("neutral", "normal") == "Neutral_Normal_VIX"
    with pytest.raises(ValueError):
        state_name("sideways", "low")
    with pytest.raises(ConfigError, match="unknown market state"):
        state_rules("Bullish_Extreme_VIX", load_regime_config())


def _mutated(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(raw)
    keys = path.split(".")
    node = data
    for k in keys[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "phrase"),
    [
        ("direction.weights.technical", 0.5, "sum to 1.1000, not 1"),
        ("direction.weights.sentiment", 0.0, "must name exactly"),
        ("volatility.us.high_from", 12.0, "low_below < high_from <= spike_from"),
        ("volatility.in.percentile_window", 5, "whole number >= 20"),
        ("volatility.us.low_below", "fifteen", "must be a number"),
        ("direction.bullish_above", -0.5, "must be below bullish_above"),
        ("direction.technical.ma_windows", [50, 20, 200], "must increase"),
        ("direction.options_flow.pcr_expiries", "weekly", "use 'all' or 'nearest'"),
        ("states.Bullish_Low_VIX.preferred", ["naked_call"], "unknown strategies"),
        ("states.Bullish_Low_VIX.avoided", ["long_call"], "both prefers and avoids"),
        ("states.Neutral_High_VIX.dte", [45, 30], "minimum exceeds the maximum"),
        ("states.Neutral_High_VIX.probability_threshold", 1.5, "outside [0.0, 1.0]"),
        ("states.Neutral_High_VIX", _DELETE, "exactly the 9 states"),
        ("confidence", _DELETE, "confidence is missing"),
        ("history.direction_rows", 150, "direction_rows = 150 is below 200"),
        ("history.spike_lookback", 100, "below the percentile window 252"),
    ],
)
def test_broken_model_files_raise_clear_config_errors(raw, path, value, phrase) -> None:
    with pytest.raises(ConfigError, match=phrase.replace("[", r"\[").replace(".", r"\.")) as err:
        parse_regime_config(_mutated(raw, path, value), source="bad.toml")
    assert str(err.value).startswith("bad.toml")


def test_unknown_market_has_no_thresholds(regime_config) -> None:
    with pytest.raises(ConfigError, match=r"no \[volatility\.jp\] thresholds"):
        regime_config.vol_thresholds("jp")
