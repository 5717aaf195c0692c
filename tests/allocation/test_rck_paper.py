"""Reproduce the finite-outcome example of the risk-constrained Kelly paper (section 7.1)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from quantalloc.allocation import Allocator, Budget, Candidates, FractionalKelly, kelly_weights
from tests.allocation.rck_data import (
    ALPHA,
    BETA,
    growth_and_drawdown,
    monte_carlo_outcomes,
    paper_returns,
)


@pytest.fixture(scope="module")
def paper() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gross, pi = paper_returns()
    return gross, pi, monte_carlo_outcomes(pi)


def test_kelly_matches_paper_table(paper) -> None:  # type: ignore[no-untyped-def]
    gross, pi, outcomes = paper
    b = kelly_weights(gross, pi)
    growth, drawdown = growth_and_drawdown(gross, b, outcomes)
    # paper's notebook: Kelly growth 0.062, Prob(W_min < 0.7) 0.398 (same data, same MC draws)
    assert growth == pytest.approx(0.062, abs=5e-4)
    assert drawdown == pytest.approx(0.398, abs=2e-3)


def test_rck_matches_paper_table_and_bound(paper) -> None:  # type: ignore[no-untyped-def]
    gross, pi, outcomes = paper
    b = kelly_weights(gross, pi, drawdown=(ALPHA, BETA))
    growth, drawdown = growth_and_drawdown(gross, b, outcomes)
    # paper: RCK with lambda = log(0.1)/log(0.7) = 6.456 -> growth 0.043, drawdown 0.073
    assert growth == pytest.approx(0.043, abs=5e-4)
    assert drawdown == pytest.approx(0.073, abs=2e-3)
    assert drawdown <= BETA
    lam = math.log(BETA) / math.log(ALPHA)
    # the convex constraint E[(r.b)^-lambda] <= 1 holds at the optimum (eq. 6 of the paper)
    assert pi @ (gross @ b) ** (-lam) <= 1 + 1e-6


def test_quadratic_versions_and_fractional_kelly(paper) -> None:  # type: ignore[no-untyped-def]
    gross, pi, outcomes = paper
    kelly = kelly_weights(gross, pi)
    g_kelly, d_kelly = growth_and_drawdown(gross, kelly, outcomes)
    quad = kelly_weights(gross, pi, method="quadratic")
    qrck = kelly_weights(gross, pi, method="quadratic", drawdown=(ALPHA, BETA))
    g_quad, _ = growth_and_drawdown(gross, quad, outcomes)
    g_qrck, d_qrck = growth_and_drawdown(gross, qrck, outcomes)
    # Kelly maximises growth: approximations grow slower; QRCK respects the drawdown target too
    assert g_quad < g_kelly and g_qrck < g_kelly
    assert d_qrck <= BETA
    # quadratic drawdown constraint of the paper: (lam+1)/2 E[(r.b-1)^2] <= E[r.b-1]
    lam = math.log(BETA) / math.log(ALPHA)
    x = gross @ qrck - 1
    assert (lam + 1) / 2 * (pi @ x**2) <= pi @ x + 1e-7
    # fractional Kelly f*b_kelly + (1-f)*cash: drawdown falls with f; the RCK bet beats the
    # fractional bet of equal drawdown on growth (the paper's figure 2 conclusion)
    cash = np.zeros_like(kelly)
    cash[-1] = 1.0
    rck = kelly_weights(gross, pi, drawdown=(ALPHA, BETA))
    g_rck, d_rck = growth_and_drawdown(gross, rck, outcomes)
    frac = {
        f: growth_and_drawdown(gross, f * kelly + (1 - f) * cash, outcomes)
        for f in np.linspace(0.1, 1.0, 10)
    }
    drawdowns = [frac[f][1] for f in sorted(frac)]
    assert drawdowns == sorted(drawdowns)
    assert frac[1.0] == (g_kelly, d_kelly)
    same_risk = [g for g, d in frac.values() if d <= d_rck]
    assert max(same_risk) < g_rck


def test_engine_fractional_kelly_is_the_papers_fractional_bet(paper) -> None:  # type: ignore[no-untyped-def]
    gross, pi, _ = paper
    kelly = kelly_weights(gross, pi)
    risky = Candidates(returns=pd.DataFrame(gross[:, :-1] - 1.0), probabilities=pi)
    alloc = Allocator(objective=FractionalKelly(fraction=0.3), constraints=[Budget(limit=1.0)])
    w = alloc.solve(risky).weights.to_numpy()
    # cash is implicit: 1 - sum(w); paper: f * b_kelly + (1 - f) * e_cash
    np.testing.assert_allclose(w, 0.3 * kelly[:-1], atol=1e-5)
