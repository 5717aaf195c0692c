"""Search spaces: declared once per strategy, validated, sampled inside their bounds."""

from __future__ import annotations

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.errors import ConfigError
from quantalloc.tuning.spaces import SPACES, Param, SearchSpace, get_space, space_from_dict


def test_every_builtin_space_samples_inside_its_bounds() -> None:
    for name, space in SPACES.items():
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
        for _ in range(20):
            trial = study.ask()
            params = space.suggest(trial)
            space.check(params)  # raises when out of range
            study.tell(trial, 0.0)
        assert set(space.names) <= set(params), name


def test_builtin_spaces_cover_the_issue() -> None:
    assert {"sma_days", "stop_loss"} <= set(SPACES["momentum"].names)
    assert {"range_minutes", "stop_atr", "take_profit_atr"} <= set(SPACES["orb"].names)
    assert {"put_otm", "min_dte", "take_profit"} <= set(SPACES["wheel"].names)
    alloc = set(SPACES["allocator"].names)
    assert {"kelly_fraction", "drawdown_alpha", "drawdown_beta", "max_strategy", "min_pop"} <= alloc


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "float", "low": 2.0, "high": 1.0},
        {"kind": "float", "low": 0.0, "high": 1.0, "log": True},
        {"kind": "int", "low": 1.5, "high": 4},
        {"kind": "int", "low": 1, "high": 4, "step": 0.5},
        {"kind": "float", "low": 0.1, "high": 1.0, "step": 0.1, "log": True},
        {"kind": "float", "low": 0.0, "high": float("inf")},
        {"kind": "float", "low": None, "high": 1.0},
        {"kind": "categorical"},
        {"kind": "complex", "low": 0, "high": 1},
    ],
)
def test_bad_bounds_are_config_errors(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        Param("x", **kwargs)


def test_overrides_rebound_fix_and_reject() -> None:
    space = get_space("momentum", {"sma_days": {"low": 50, "high": 100}, "stop_loss": 0.1})
    assert space.names == ("sma_days", "take_profit")
    assert space.fixed == {"stop_loss": 0.1}
    trial = optuna.create_study().ask()
    params = space.suggest(trial)
    assert 50 <= params["sma_days"] <= 100 and params["stop_loss"] == 0.1
    with pytest.raises(ConfigError, match="no parameter"):
        get_space("momentum", {"sma_length": 3})
    with pytest.raises(ConfigError, match="outside"):
        get_space("momentum", {"stop_loss": 5.0})
    with pytest.raises(ConfigError, match="above high"):
        get_space("momentum", {"sma_days": {"low": 100, "high": 50}})
    with pytest.raises(ConfigError, match="known"):
        get_space("nope")


def test_space_rules() -> None:
    p = Param("a", "float", 0, 1)
    with pytest.raises(ConfigError, match="more than once"):
        SearchSpace("s", (p, p))
    with pytest.raises(ConfigError, match="nothing to tune"):
        SearchSpace("s", ())
    custom = space_from_dict("mine", {"k": {"kind": "int", "low": 1, "high": 3}, "flag": True})
    assert custom.names == ("k",) and custom.fixed == {"flag": True}


@settings(max_examples=30, deadline=None)
@given(low=st.floats(-100, 100), width=st.floats(0, 100), seed=st.integers(0, 1000))
def test_float_param_samples_stay_in_range(low: float, width: float, seed: int) -> None:
    p = Param("x", "float", low, low + width)
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed)).ask()
    assert p.contains(p.suggest(trial))


def test_check_against_strategy_fields() -> None:
    from quantalloc.tuning.spaces import check_against_strategy

    fields = [
        {"name": "sma_days", "low": 2, "high": 1000, "choices": None},
        {"name": "stop_loss", "low": 0.0, "high": 0.95, "choices": None},
        {"name": "take_profit", "low": 0.0, "high": 10.0, "choices": None},
    ]
    check_against_strategy(SPACES["momentum"], fields)
    with pytest.raises(ConfigError, match="does not have"):
        check_against_strategy(SPACES["momentum"], fields[:2])
    tight = [dict(f, high=0.1) if f["name"] == "stop_loss" else f for f in fields]
    with pytest.raises(ConfigError, match="outside the strategy's"):
        check_against_strategy(SPACES["momentum"], tight)


def test_at_bounds_flags_edge_values() -> None:
    space = get_space("momentum")
    assert space.at_bounds({"sma_days": 300, "stop_loss": 0.1, "take_profit": 0.0}) == ["sma_days"]
    assert space.at_bounds({"sma_days": 150, "stop_loss": 0.02}) == ["stop_loss"]
    assert space.at_bounds({"sma_days": 150, "stop_loss": 0.1}) == []
