"""Overfitting statistics against the papers' worked example and a loop implementation."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from quantalloc.errors import ConfigError, DataError
from quantalloc.tuning.overfitting import (
    deflated_sharpe_from_returns,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)


def test_dsr_numerical_example_of_bailey_lopez_de_prado_2014() -> None:
    # The paper's numerical example: N = 100 trials, annualised V[SR_n] = 1/2, five years of
    # daily returns (T = 1250, 250 days a year), best annualised SR = 2.5, skew -3, kurtosis 10.
    # It reports E[max SR] = 0.1132 (per day) and DSR = 0.9004.
    days = 250
    sr0 = expected_max_sharpe(100, 0.5 / days)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    res = deflated_sharpe_ratio(2.5 / math.sqrt(days), 1250, 100, 0.5 / days, skew=-3, kurtosis=10)
    assert res.dsr == pytest.approx(0.9004, abs=5e-4)
    assert res.expected_max_sharpe == pytest.approx(sr0)


def test_expected_max_sharpe_matches_monte_carlo() -> None:
    # The approximation against the simulated mean of the maximum of N standard normals
    # (the paper's own check; the approximation is meant for N >> 1: about 1% off at N = 100,
    # 3.5% at N = 10, which is why small N is left out).
    rng = np.random.default_rng(7)
    for n in (100, 1000):
        sims = rng.standard_normal((4000, n)).max(axis=1).mean()
        assert expected_max_sharpe(n, 1.0) == pytest.approx(sims, rel=0.02)


def test_psr_normal_case_is_the_t_test_limit() -> None:
    # With skew 0 and kurtosis 3 the PSR against 0 is Z(SR sqrt(T-1) / sqrt(1 + SR^2 / 2)).
    sr, t = 0.08, 500
    ref = stats.norm.cdf(sr * math.sqrt(t - 1) / math.sqrt(1 + sr**2 / 2))
    assert probabilistic_sharpe_ratio(sr, t) == pytest.approx(ref, rel=1e-12)


def test_dsr_from_returns_uses_sample_moments() -> None:
    rng = np.random.default_rng(3)
    r = rng.standard_t(5, 800) * 0.01 + 0.0008
    sharpes = rng.normal(0.0, 0.03, 50)
    res = deflated_sharpe_from_returns(r, sharpes, n_trials=60)
    assert res.n_trials == 60 and res.n_obs == 800
    assert res.skew == pytest.approx(stats.skew(r))
    assert res.kurtosis == pytest.approx(stats.kurtosis(r, fisher=False))
    assert res.sharpe_variance == pytest.approx(np.var(sharpes, ddof=1))
    # more trials with the same spread raise the bar, so the DSR falls
    more = deflated_sharpe_from_returns(r, sharpes, n_trials=600)
    assert more.dsr < res.dsr


def test_dsr_rejects_bad_input() -> None:
    with pytest.raises(ConfigError):
        expected_max_sharpe(0, 1.0)
    with pytest.raises(ConfigError):
        expected_max_sharpe(10, -1.0)
    with pytest.raises(DataError):
        probabilistic_sharpe_ratio(0.1, 1)


def loop_pbo(m: np.ndarray, s: int) -> tuple[float, np.ndarray]:
    """CSCV written straight from Bailey et al. (2015), section 2, one split at a time."""
    t, n = m.shape
    rows = t // s
    subs = [m[i * rows : (i + 1) * rows] for i in range(s)]
    logits = []
    for train_ids in combinations(range(s), s // 2):
        j = np.vstack([subs[i] for i in train_ids])
        jbar = np.vstack([subs[i] for i in range(s) if i not in train_ids])
        r = j.mean(axis=0) / j.std(axis=0, ddof=1)
        rbar = jbar.mean(axis=0) / jbar.std(axis=0, ddof=1)
        n_star = int(np.argmax(r))
        omega = stats.rankdata(rbar)[n_star] / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
    lam = np.array(logits)
    return float(np.mean(lam <= 0)), lam


@pytest.mark.parametrize("s", [4, 8, 10])
def test_pbo_matches_loop_implementation(s: int) -> None:
    rng = np.random.default_rng(s)
    m = rng.normal(0.0, 0.01, (600, 20))
    m[:, 3] += 0.0015  # one configuration with some edge
    ref_pbo, ref_logits = loop_pbo(m, s)
    res = probability_of_backtest_overfitting(m, n_blocks=s)
    assert res.n_splits == math.comb(s, s // 2)
    assert res.pbo == pytest.approx(ref_pbo, abs=1e-12)
    np.testing.assert_allclose(res.logits, ref_logits, rtol=1e-9)


def test_pbo_extremes() -> None:
    rng = np.random.default_rng(11)
    # One configuration dominating everywhere: never overfit.
    m = rng.normal(0.0, 0.01, (400, 10))
    m[:, 0] += 0.01
    assert probability_of_backtest_overfitting(m, 8).pbo == 0.0
    # Pure noise (the paper's high-overfitting case, N=100, T=1000, S=8): the in-sample winner
    # is a coin flip out of sample, so PBO is near 1/2.
    noise = rng.normal(0.0, 1.0, (1000, 100))
    res = probability_of_backtest_overfitting(noise, 8)
    assert 0.3 < res.pbo < 0.7
    assert res.degradation_slope < 0.5


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 12),
    s=st.sampled_from([2, 4, 6]),
)
def test_pbo_property_matches_loop(seed: int, n: int, s: int) -> None:
    m = np.random.default_rng(seed).normal(0.0, 1.0, (s * 5 + 3, n))
    res = probability_of_backtest_overfitting(m, s)
    ref, _ = loop_pbo(m, s)
    assert 0.0 <= res.pbo <= 1.0
    assert res.pbo == pytest.approx(ref)


def test_pbo_rejects_bad_input() -> None:
    m = np.zeros((100, 5))
    with pytest.raises(ConfigError):
        probability_of_backtest_overfitting(m, 7)
    with pytest.raises(DataError):
        probability_of_backtest_overfitting(m[:, :1], 4)
    with pytest.raises(DataError):
        probability_of_backtest_overfitting(m[:5], 4)
    bad = m.copy()
    bad[3, 2] = np.nan
    with pytest.raises(DataError):
        probability_of_backtest_overfitting(bad, 4)


def loop_dsr(selected: np.ndarray, trial_returns: list[np.ndarray]) -> float:
    """DSR written straight from Bailey & Lopez de Prado (2014), eqs. 1-2, without the module."""
    sharpes = []
    for r in trial_returns:  # per-trial Sharpe, one at a time
        mu = sum(r) / len(r)
        sd = math.sqrt(sum((x - mu) ** 2 for x in r) / (len(r) - 1))
        sharpes.append(mu / sd)
    n = len(sharpes)
    mean_sr = sum(sharpes) / n
    v = sum((s - mean_sr) ** 2 for s in sharpes) / (n - 1)
    g = 0.5772156649015329
    sr0 = math.sqrt(v) * (
        (1 - g) * stats.norm.ppf(1 - 1 / n) + g * stats.norm.ppf(1 - 1 / (n * math.e))
    )
    t = len(selected)
    mu = sum(selected) / t
    m2 = sum((x - mu) ** 2 for x in selected) / t
    m3 = sum((x - mu) ** 3 for x in selected) / t
    m4 = sum((x - mu) ** 4 for x in selected) / t
    skew, kurt = m3 / m2**1.5, m4 / m2**2
    sd1 = math.sqrt(sum((x - mu) ** 2 for x in selected) / (t - 1))
    sr = mu / sd1
    z = (sr - sr0) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def test_dsr_matches_loop_implementation() -> None:
    rng = np.random.default_rng(21)
    trials = [rng.standard_t(4, 300) * 0.01 + rng.normal(0, 0.0005) for _ in range(30)]
    sharpes = np.array([t.mean() / t.std(ddof=1) for t in trials])
    best = trials[int(np.argmax(sharpes))]
    ours = deflated_sharpe_from_returns(best, sharpes).dsr
    assert ours == pytest.approx(loop_dsr(best, trials), rel=1e-9)


def test_dsr_controls_false_discoveries_under_the_null() -> None:
    # 300 studies of 50 skill-less strategies each: the best one's plain PSR (against 0) looks
    # significant most of the time, its DSR almost never (the point of the 2014 paper).
    rng = np.random.default_rng(0)
    dsr, psr = [], []
    for _ in range(300):
        m = rng.standard_normal((500, 50))
        srs = m.mean(axis=0) / m.std(axis=0, ddof=1)
        best = m[:, int(np.argmax(srs))]
        res = deflated_sharpe_from_returns(best, srs)
        dsr.append(res.dsr)
        psr.append(probabilistic_sharpe_ratio(res.sharpe, 500, res.skew, res.kurtosis))
    assert np.mean(np.array(psr) > 0.95) > 0.5
    assert np.mean(np.array(dsr) > 0.95) <= 0.05
    assert 0.3 < np.median(dsr) < 0.7  # the benchmark is the expected maximum: about half above
