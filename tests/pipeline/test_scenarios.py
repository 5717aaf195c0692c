"""Joint horizon scenarios: bootstrap identities, rescaling, reproducibility, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.errors import DataError
from quantalloc.pipeline.scenarios import (
    block_bootstrap,
    build_scenarios,
    joint_log_returns,
    rescale,
)


def _closes(n_days: int = 400, n_sym: int = 3, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rets = rng.normal(0.0003, 0.015, size=(n_days, n_sym))
    prices = 100 * np.exp(np.cumsum(rets, axis=0))
    idx = pd.bdate_range("2020-01-01", periods=n_days, name="date")
    return pd.DataFrame(prices, index=idx, columns=[f"S{i}" for i in range(n_sym)])


def _naive_bootstrap(
    returns: np.ndarray, horizon: int, n: int, b: int, rng: np.random.Generator
) -> np.ndarray:
    """The textbook loop: concatenate circular blocks day by day, then sum the first h days."""
    t = returns.shape[0]
    b = min(b, horizon, t)
    k = -(-horizon // b)
    starts = rng.integers(0, t, size=(n, k))
    out = np.zeros((n, returns.shape[1]))
    for s in range(n):
        days = [(st_ + j) % t for st_ in starts[s] for j in range(b)][:horizon]
        out[s] = returns[days].sum(axis=0)
    return out


@settings(max_examples=30, deadline=None)
@given(
    horizon=st.integers(1, 40),
    block=st.integers(1, 12),
    t=st.integers(5, 60),
    seed=st.integers(0, 2**16),
)
def test_prefix_sum_bootstrap_equals_the_naive_loop(
    horizon: int, block: int, t: int, seed: int
) -> None:
    returns = np.random.default_rng(seed).normal(size=(t, 2))
    fast = block_bootstrap(returns, horizon, 25, block, np.random.default_rng(seed))
    slow = _naive_bootstrap(returns, horizon, 25, block, np.random.default_rng(seed))
    np.testing.assert_allclose(fast, slow, atol=1e-10)


def test_constant_returns_sum_to_horizon_times_the_daily_return() -> None:
    # identity: whatever rows are drawn, h days of a constant r sum to h * r
    returns = np.full((50, 2), 0.001)
    out = block_bootstrap(returns, 17, 100, 5, np.random.default_rng(0))
    np.testing.assert_allclose(out, 17 * 0.001)


def test_whole_rows_are_drawn_so_a_fixed_linear_relation_survives() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=200)
    returns = np.column_stack([a, 2.0 * a, -a])
    out = block_bootstrap(returns, 10, 500, 5, rng)
    np.testing.assert_allclose(out[:, 1], 2.0 * out[:, 0], atol=1e-12)
    np.testing.assert_allclose(out[:, 2], -out[:, 0], atol=1e-12)


def test_bootstrap_variance_scales_with_the_horizon_for_iid_days() -> None:
    # iid days: Var(sum of h days) = h * daily variance (up to sampling error of 20,000 draws)
    returns = np.random.default_rng(5).normal(0, 0.01, size=(2000, 1))
    out = block_bootstrap(returns, 20, 20_000, 5, np.random.default_rng(6))
    assert out.var() == pytest.approx(20 * returns.var(), rel=0.05)


def test_rescale_hits_the_implied_vol_and_drift_exactly() -> None:
    draws = np.random.default_rng(0).standard_t(4, size=(3000, 3)) * [0.01, 0.05, 0.2]
    vol = np.array([0.2, 0.35, 0.5])
    drift = np.array([0.05, -0.1, 0.0])
    tau = 21 / 252
    out = rescale(draws, vol, drift, tau)
    np.testing.assert_allclose(out.mean(axis=0), (drift - vol**2 / 2) * tau, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), vol * np.sqrt(tau), rtol=1e-12)


@pytest.mark.parametrize("method", ["bootstrap", "parametric"])
def test_scenarios_are_seeded_and_reproducible(method: str) -> None:
    closes = _closes()
    spot = closes.iloc[-1]
    kwargs = dict(horizon_days=21, n_scenarios=500, method=method, seed=11)
    a = build_scenarios(closes, spot, {s: 0.25 for s in closes}, 0.05, **kwargs)  # type: ignore[arg-type]
    b = build_scenarios(closes, spot, {s: 0.25 for s in closes}, 0.05, **kwargs)  # type: ignore[arg-type]
    c = build_scenarios(closes, spot, {s: 0.25 for s in closes}, 0.05, **{**kwargs, "seed": 12})  # type: ignore[arg-type]
    np.testing.assert_array_equal(a.prices, b.prices)
    assert not np.allclose(a.prices, c.prices)
    assert a.prices.shape == (500, 3)
    assert a.symbols == ("S0", "S1", "S2")


def test_parametric_scenarios_keep_the_historical_correlation() -> None:
    rng = np.random.default_rng(2)
    common = rng.normal(0, 0.01, 800)
    rets = np.column_stack([common + rng.normal(0, 0.005, 800), common + rng.normal(0, 0.005, 800)])
    closes = pd.DataFrame(
        100 * np.exp(np.cumsum(rets, axis=0)),
        index=pd.bdate_range("2019-01-01", periods=800),
        columns=["A", "B"],
    )
    hist = np.corrcoef(np.diff(np.log(closes.to_numpy()), axis=0).T)[0, 1]
    sc = build_scenarios(
        closes,
        closes.iloc[-1],
        [0.3, 0.3],
        0.0,
        horizon_days=10,
        n_scenarios=20_000,
        method="parametric",
        seed=1,
        lookback_days=None,
    )
    assert np.corrcoef(sc.log_returns.T)[0, 1] == pytest.approx(hist, abs=0.02)


def test_lognormal_mean_of_parametric_scenarios() -> None:
    # E[S_T] = S_0 exp(mu tau) for normal z (moment of the lognormal)
    closes = _closes(n_sym=1)
    sc = build_scenarios(
        closes,
        [100.0],
        [0.3],
        0.08,
        horizon_days=63,
        n_scenarios=200_000,
        method="parametric",
        seed=4,
    )
    assert sc.prices.mean() == pytest.approx(100 * np.exp(0.08 * 63 / 252), rel=2e-3)


def test_too_little_common_history_is_a_data_error() -> None:
    closes = _closes(n_days=30)
    with pytest.raises(DataError, match="need >= 60"):
        joint_log_returns(closes)


def test_bad_vol_names_the_symbol() -> None:
    closes = _closes()
    with pytest.raises(DataError, match="S1"):
        build_scenarios(closes, closes.iloc[-1], [0.2, float("nan"), 0.2], 0.0, horizon_days=5)


def test_price_only_marking_equals_the_options_engine() -> None:
    from quantalloc.options import black_scholes
    from quantalloc.options.pricing import bs_price

    rng = np.random.default_rng(9)
    n = 500
    sign = rng.choice([-1.0, 1.0], n)
    spot, strike = rng.uniform(50, 150, n), rng.uniform(50, 150, n)
    t, vol = rng.uniform(0.01, 2.0, n), rng.uniform(0.05, 1.0, n)
    ref = black_scholes(np.where(sign > 0, "call", "put"), spot, strike, t, 0.03, vol).price
    np.testing.assert_allclose(
        bs_price(sign, spot, strike, t, 0.03, vol), ref, rtol=1e-12, atol=1e-12
    )
