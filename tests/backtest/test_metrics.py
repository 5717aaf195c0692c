"""Metrics against empyrical-reloaded on the same return series (the reference implementation)."""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from quantalloc.backtest import metrics as m

RNG = np.random.default_rng(7)
SERIES = [
    RNG.normal(0.0005, 0.012, 1000),
    RNG.standard_t(3, 500) * 0.01,
    np.r_[0.01, -0.2, 0.05, 0.0, 0.03, -0.01],
]


@pytest.mark.parametrize("r", SERIES)
def test_each_metric_equals_empyrical(r: np.ndarray) -> None:
    assert m.total_return(r) == pytest.approx(ep.cum_returns_final(r), rel=1e-12)
    assert m.cagr(r) == pytest.approx(ep.annual_return(r), rel=1e-12)
    assert m.volatility(r) == pytest.approx(ep.annual_volatility(r), rel=1e-12)
    assert m.sharpe(r) == pytest.approx(ep.sharpe_ratio(r), rel=1e-12)
    assert m.sortino(r) == pytest.approx(ep.sortino_ratio(r), rel=1e-12)
    assert m.downside_risk(r) == pytest.approx(ep.downside_risk(r), rel=1e-12)
    assert m.max_drawdown(r) == pytest.approx(ep.max_drawdown(r), rel=1e-12)
    assert m.calmar(r) == pytest.approx(ep.calmar_ratio(r), rel=1e-12)


def test_risk_free_and_required_return_follow_empyrical() -> None:
    r = SERIES[0]
    assert m.sharpe(r, risk_free=0.0001) == pytest.approx(ep.sharpe_ratio(r, risk_free=0.0001))
    assert m.sortino(r, required=0.0002) == pytest.approx(
        ep.sortino_ratio(r, required_return=0.0002)
    )


def test_two_dimensional_input_is_column_by_column() -> None:
    mat = np.column_stack([*SERIES[:1], SERIES[0][::-1], SERIES[0] * 2])
    got = m.summary(mat)
    for k in range(mat.shape[1]):
        one = m.summary(mat[:, k])
        for name in ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar"):
            assert got[name][k] == pytest.approx(one[name], rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(3, 80), elements=st.floats(-0.5, 0.5)))
def test_drawdown_and_sharpe_match_empyrical_on_any_series(r: np.ndarray) -> None:
    assert m.max_drawdown(r) == pytest.approx(ep.max_drawdown(r), abs=1e-12)
    ref = ep.sharpe_ratio(r)
    if np.isfinite(ref) and np.std(r) > 1e-9:
        assert m.sharpe(r) == pytest.approx(ref, rel=1e-9)


def test_score_uses_drawdown_magnitude() -> None:
    # (1 + 1.0) * (1 + 0.5) / (1 + 0.25) = 2.4, whatever the sign the drawdown is given with
    assert m.score(1.0, 0.5, -0.25) == pytest.approx(2.4)
    assert m.score(1.0, 0.5, 0.25) == pytest.approx(2.4)
    s = m.summary(SERIES[2])
    expected = (1 + s["sharpe"]) * (1 + s["total_return"]) / (1 + s["max_drawdown"])
    assert s["max_drawdown"] > 0
    assert s["score"] == pytest.approx(expected)


def test_win_rate_exposure_and_trades_pass_through() -> None:
    s = m.summary(SERIES[2], exposure=0.5, trades=4, wins=3)
    assert (s["win_rate"], s["exposure"], s["trades"]) == (0.75, 0.5, 4)
    assert np.isnan(m.summary(SERIES[2], trades=0)["win_rate"])
