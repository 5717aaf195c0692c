"""Entropy pooling, calibrated scenarios and forward vols, against references and real chains."""

from __future__ import annotations

from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest
from scipy.special import ndtri

from quantalloc.options.book import LegBook
from quantalloc.options.pricing import bs_price
from quantalloc.pipeline.calibration import PriceTargets, calibrate, repricing
from quantalloc.pipeline.entropy import entropy_pooling
from quantalloc.pipeline.horizon import forward_vols
from quantalloc.pipeline.implied import implied_atoms, quote_smile


def test_entropy_pooling_tilts_a_normal_by_its_mean() -> None:
    """Exponential tilting of N(0, 1) by lam has mean lam (the normal's moment generating
    function), so E[x] = 0.4 needs lam = 0.4 and p ~ exp(0.4 x)."""
    n = 4000
    x = ndtri((np.arange(n) + 0.5) / n)
    got = entropy_pooling(np.full(n, 1.0 / n), x[None, :], np.array([0.4]))
    assert got.converged
    assert got.multipliers[0] == pytest.approx(0.4, abs=2e-3)
    want = np.exp(0.4 * x) / np.exp(0.4 * x).sum()
    assert np.abs(got.probabilities - want).max() < 1e-6


def test_entropy_pooling_matches_cvxpy_primal() -> None:
    """The dual's probabilities equal cvxpy's primal min KL(p || q) with the same bands."""
    rng = np.random.default_rng(3)
    n = 300
    x = rng.standard_t(4, size=n)
    q = rng.uniform(0.5, 1.5, n)
    q /= q.sum()
    rows = np.vstack([x, np.maximum(x - 0.5, 0.0), x**2])
    target = np.array([0.1, 0.35, 1.8])
    tol = np.array([0.0, 0.01, 0.05])
    got = entropy_pooling(q, rows, target, tol)
    p = cp.Variable(n, nonneg=True)
    cons = [cp.sum(p) == 1, cp.abs(rows @ p - target) <= tol]
    cp.Problem(cp.Minimize(cp.sum(cp.kl_div(p, q))), cons).solve(solver=cp.CLARABEL)
    assert got.converged
    assert np.abs(got.probabilities - p.value).max() < 1e-6


def _proxy_case(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, PriceTargets, float, float]:
    """Two fat-tailed correlated columns and a skewed proxy smile's Black-Scholes prices."""
    rng = np.random.default_rng(0)
    z = rng.standard_t(4, size=(n, 2))
    z[:, 1] = 0.6 * z[:, 0] + 0.8 * z[:, 1]
    spot, rate, h = np.array([100.0, 50.0]), 0.06, 30 / 365
    prices = spot * np.exp(0.25 * np.sqrt(h) * z / np.sqrt(2.0))
    strikes = np.array([85.0, 92.0, 97.0, 100.0, 103.0, 110.0, 42.0, 47.0, 50.0, 55.0])
    col = np.array([0] * 6 + [1] * 4)
    kind = np.where(strikes < spot[col], -1, 1)
    vol = 0.25 * (1.0 + np.maximum(0.0, np.log(spot[col] / strikes)))
    mid = bs_price(kind.astype(float), spot[col], strikes, h, rate, vol)
    targets = PriceTargets(
        symbol=col.astype(object),
        column=np.concatenate([[0, 1], col]),
        kind=np.concatenate([[0, 0], kind]),
        strike=np.concatenate([[0.0, 0.0], strikes]),
        remaining=np.zeros(12),
        vol=np.concatenate([[0.0, 0.0], vol]),
        mid=np.concatenate([spot, mid]),
        half_spread=np.concatenate([[0.0, 0.0], np.maximum(0.015 * mid, 0.025)]),
    )
    targets = PriceTargets(**{**targets.__dict__, "symbol": targets.column.astype(object)})
    return prices, spot, spot * np.exp(rate * h), targets, rate, h


def test_copula_calibration_prices_a_proxy_smile_and_keeps_the_ranks() -> None:
    """Each column takes the smile's distribution, rank for rank: every price within its
    half-spread, the forward to 1e-9, the joint ranks unchanged."""
    prices, _spot, fwd, targets, rate, h = _proxy_case(1000)
    cal = calibrate(prices, fwd, np.array([0.25, 0.25]), targets, rate=rate, horizon=h)
    opt = targets.kind != 0
    ratio = cal.repricing["spread_ratio"].to_numpy()
    print(f"proxy smile: median {np.median(ratio[opt]):.3f}, worst {ratio[opt].max():.3f}")
    assert ratio[opt].max() <= 1.0
    assert np.abs(cal.repricing["error"].to_numpy()[~opt]).max() < 1e-9 * fwd.max()
    assert (np.argsort(cal.prices, axis=0) == np.argsort(prices, axis=0)).all()
    assert np.allclose(cal.probabilities, 1.0 / 1000)


def test_implied_atoms_of_a_flat_smile_are_the_lognormal_at_the_strikes() -> None:
    """A flat smile is Black-76's lognormal: the atoms price calls and puts struck at the
    quoted strikes as the Black-Scholes formula does (to 1e-9 of the forward), and their mean
    is the forward (put-call parity)."""
    fwd, vol, h, rate = 100.0, 0.3, 0.25, 0.0
    strikes = np.array([70.0, 85.0, 100.0, 120.0, 150.0])
    smile = quote_smile(
        np.ones(5, dtype=int), strikes, bs_price(1.0, fwd, strikes, h, rate, vol), np.full(5, 0.05),
        forward=fwd, atm_vol=vol, rate=rate, horizon=h,
    )  # fmt: skip
    x, w = implied_atoms(smile, fwd, h, strikes, 4000)
    assert w @ x == pytest.approx(fwd, abs=1e-9 * fwd)
    for kind in (1.0, -1.0):
        got = w @ np.maximum(kind * (x[:, None] - strikes), 0.0)
        assert np.abs(got - bs_price(kind, fwd, strikes, h, rate, vol)).max() < 1e-9 * fwd


def test_implied_atoms_drop_a_strike_whose_quote_is_an_arbitrage() -> None:
    """A call priced above the chord of its neighbours (a negative butterfly) cannot be met
    by any distribution: the atoms are a distribution (masses >= 0, mean the forward), price the
    other strikes as quoted and the arbitraged one by the chord."""
    fwd, h = 100.0, 0.25
    strikes = np.array([90.0, 95.0, 100.0, 105.0, 110.0])
    mid = bs_price(1.0, fwd, strikes, h, 0.0, 0.25)
    mid[2] = 0.5 * (mid[1] + mid[3]) + 0.3
    smile = quote_smile(
        np.ones(5, dtype=int), strikes, mid, np.full(5, 0.01),
        forward=fwd, atm_vol=0.25, rate=0.0, horizon=h,
    )  # fmt: skip
    x, w = implied_atoms(smile, fwd, h, strikes, 2000)
    got = w @ np.maximum(x[:, None] - strikes, 0.0)
    assert (w >= 0).all() and w @ x == pytest.approx(fwd, rel=1e-12)
    assert got[2] <= 0.5 * (got[1] + got[3]) + 1e-9
    assert abs(got[0] - mid[0]) < 0.05 and abs(got[-1] - mid[-1]) < 0.05


def test_forward_vol_marks_a_running_leg_at_its_mid() -> None:
    """A leg running 30 days past the horizon gets the vol whose expected discounted mark under
    the scenarios is its mid (checked by pricing it again)."""
    rng = np.random.default_rng(1)
    s_h = 100.0 * np.exp(0.2 * np.sqrt(0.05) * rng.standard_normal((2000, 1)))
    p = np.full(2000, 1 / 2000)
    book = LegBook(
        candidate=np.array([0]), symbol=np.array([0]), kind=np.array([1]),
        units=np.array([1.0]), strike=np.array([105.0]), price=np.array([3.0]),
        remaining=np.array([30 / 365]), vol=np.array([0.2]), n_candidates=1,
    )  # fmt: skip
    vol = forward_vols(book, s_h, p, np.array([3.0]), 0.05, 0.05)
    mark = np.exp(-0.05 * 0.05) * (p @ bs_price(1.0, s_h[:, 0], 105.0, 30 / 365, 0.05, vol[0]))
    assert mark == pytest.approx(3.0, rel=1e-6)


def test_repricing_table_flags_errors_beyond_the_spread() -> None:
    """The report's ratio is |error| / half-spread (0 for an exact forward)."""
    t = PriceTargets(
        symbol=np.array(["A", "A"], dtype=object), column=np.zeros(2, dtype=int),
        kind=np.array([0, 1]), strike=np.array([0.0, 100.0]), remaining=np.zeros(2),
        vol=np.zeros(2), mid=np.array([100.0, 2.0]), half_spread=np.array([0.0, 0.1]),
    )  # fmt: skip
    rows = np.array([[99.0, 101.0], [1.7, 2.5]])
    out = repricing(rows, np.array([0.5, 0.5]), t)
    assert out["spread_ratio"].tolist() == pytest.approx([0.0, 1.0])


@pytest.mark.slow
def test_calibrated_scenarios_reprice_real_chains(shared_data: Path) -> None:
    """The listed contracts of NSE 2026-02-02 (NIFTY, RELIANCE, HDFCBANK) and SPX 2019-05-01,
    calibrated jointly (copula), priced again: median and worst errors over the half-spread.
    SPX's bid/ask mids are all met; NSE's closes hold butterfly arbitrage wider than the
    modelled spreads (no distribution meets them), which sets its worst, not its median."""
    from tests.support.calibration_cases import nse_case, spx_case

    for case in (
        spx_case(shared_data, n=1000),
        nse_case(shared_data, n=1000, stocks=("RELIANCE", "HDFCBANK")),
    ):
        opt = case.targets.kind != 0
        raw = repricing(
            case.targets.values(case.prices, case.rate, case.horizon),
            np.full(1000, 1e-3),
            case.targets,
        )["spread_ratio"].to_numpy()[opt]
        cal = calibrate(
            case.prices, case.forwards, case.atm, case.targets,
            rate=case.rate, horizon=case.horizon,
        )  # fmt: skip
        r = cal.repricing["spread_ratio"].to_numpy()[opt]
        print(
            f"{case.name}: {opt.sum()} contracts; bootstrap median {np.median(raw):.2f} worst "
            f"{raw.max():.1f}; calibrated median {np.median(r):.2f} worst {r.max():.2f} "
            f"half-spreads, {np.mean(r <= 1 + 1e-9):.0%} within"
        )
        assert np.median(r) <= 0.5
        if case.prices.shape[1] == 1:  # SPX bid/ask mids admit a distribution: every one within
            assert r.max() <= 1.0


def test_entropy_pooling_on_one_blas_thread_gives_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dual solve runs with BLAS on one thread (for speed); its answer is the one the
    library's default threads give, bit for bit."""
    import contextlib

    from quantalloc.pipeline import entropy

    rng = np.random.default_rng(4)
    n = 3000
    rows = np.vstack([np.exp(0.2 * rng.standard_normal(n)), rng.standard_normal((4, n))])
    target = np.array([1.01, 0.05, -0.02, 0.0, 0.1])
    prior = np.full(n, 1.0 / n)
    limited = entropy.entropy_pooling(prior, rows, target, 0.001)
    monkeypatch.setattr(entropy, "one_blas_thread", contextlib.nullcontext)
    default = entropy.entropy_pooling(prior, rows, target, 0.001)
    assert limited.converged and limited.iterations > 2
    assert np.array_equal(limited.probabilities, default.probabilities)
    assert np.array_equal(limited.multipliers, default.multipliers)
