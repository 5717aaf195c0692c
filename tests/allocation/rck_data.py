"""The finite-outcome example of Busseti, Ryu & Boyd (2016), section 7.1, regenerated.

Recipe (their public notebook ``finite_outcome.ipynb`` in github.com/cvxgrp/kelly_code): numpy's
legacy generator seeded 0; 100 outcome probabilities uniform(0, 1) normalised; gross returns of
20 assets x 100 outcomes uniform(0.7, 1.3); 30 times set one random entry to 0.1 and one to 2.5;
the last asset is cash (1.0). Monte Carlo: reseed 0, draw 10,000 x 100 outcomes with those
probabilities. Their table: Kelly growth 0.062, Prob(W_min < 0.7) 0.398; RCK (lambda = 6.456)
growth 0.043, drawdown 0.073.
"""

from __future__ import annotations

import numpy as np

N_ASSETS, N_OUTCOMES = 20, 100
MC_PATHS, MC_STEPS = 10_000, 100
ALPHA, BETA = 0.7, 0.1


def paper_returns() -> tuple[np.ndarray, np.ndarray]:
    """(gross returns outcomes x assets, probabilities) exactly as the paper's code draws them."""
    rs = np.random.RandomState(0)
    pi = rs.uniform(size=N_OUTCOMES)
    pi /= pi.sum()
    r = rs.uniform(low=0.7, high=1.3, size=(N_ASSETS, N_OUTCOMES))
    for _ in range(30):
        r[rs.choice(range(N_ASSETS)), rs.choice(range(N_OUTCOMES))] = 0.1
        r[rs.choice(range(N_ASSETS)), rs.choice(range(N_OUTCOMES))] = 2.5
    r[-1, :] = 1.0
    return r.T.copy(), pi


def monte_carlo_outcomes(pi: np.ndarray) -> np.ndarray:
    """Outcome indices, paths x steps, drawn as the paper's code does (seed 0)."""
    rs = np.random.RandomState(0)
    return rs.choice(len(pi), size=MC_PATHS * MC_STEPS, p=pi).reshape(MC_PATHS, MC_STEPS)


def growth_and_drawdown(
    gross: np.ndarray, b: np.ndarray, outcomes: np.ndarray, alpha: float = ALPHA
) -> tuple[float, float]:
    """Monte Carlo growth rate E[log W_T] / T and Prob(min_t W_t < alpha), W_0 = 1."""
    log_ret = np.log(gross @ b)[outcomes]
    log_w = np.cumsum(log_ret, axis=1)
    w_min = np.exp(np.minimum(log_w.min(axis=1), 0.0))
    return float(log_w[:, -1].mean() / outcomes.shape[1]), float((w_min < alpha).mean())
