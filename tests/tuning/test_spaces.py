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
    assert {"sma_length", "stop_pct"} <= set(SPACES["momentum"].names)
    assert {"range_minutes", "atr_stop", "atr_target"} <= set(SPACES["orb"].names)
    assert {"put_otm_pct", "dte", "take_profit_pct"} <= set(SPACES["wheel"].names)
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
    space = get_space("momentum", {"sma_length": {"low": 50, "high": 100}, "stop_pct": 0.1})
    assert space.names == ("sma_length",)
    assert space.fixed == {"stop_pct": 0.1}
    trial = optuna.create_study().ask()
    params = space.suggest(trial)
    assert 50 <= params["sma_length"] <= 100 and params["stop_pct"] == 0.1
    with pytest.raises(ConfigError, match="no parameter"):
        get_space("momentum", {"sma_len": 3})
    with pytest.raises(ConfigError, match="outside"):
        get_space("momentum", {"stop_pct": 5.0})
    with pytest.raises(ConfigError, match="above high"):
        get_space("momentum", {"sma_length": {"low": 100, "high": 50}})
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
