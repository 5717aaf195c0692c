"""Entropy pooling: the probabilities nearest a prior that satisfy linear moment constraints.

Meucci (2008), "Fully Flexible Views: Theory and Practice": among all probability vectors ``p``
over the scenarios with ``lo <= A p <= hi``, take the one of minimum relative entropy
``sum p log(p / q)`` to the prior ``q``. The solution is an exponential tilt of the prior,
``p(lam) ~ q exp(A' lam)``, with ``lam`` minimising the convex dual

    g(lam) = log sum_s q_s exp((A' lam)_s) - sum_i [lam_i+ hi_i - lam_i- lo_i]

with ``lam = lam+ - lam-`` and ``0 <= lam+, lam- <= penalty``. The cap makes the constraints
soft: the primal is then ``min KL(p || q) + penalty * sum_i dist(A_i p, [lo_i, hi_i]) / scale_i``,
so prices that no distribution can meet (a chain's closes with a butterfly arbitrage wider than
their spreads) are missed by the least amount instead of sending the dual to infinity. It is
solved with L-BFGS-B (scipy), whose iterations bound the work, so a solve is deterministic. Each
row is centred on its target and scaled by its spread over the scenarios first, which keeps the
multipliers of a forward (thousands of points) and a far put (a few points) on one footing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from quantalloc.errors import ConfigError, DataError
from quantalloc.threads import one_blas_thread

MAX_ITERATIONS = 5000
PENALTY = 25.0


@dataclass(frozen=True, slots=True)
class Pooled:
    """The posterior probabilities and how well they meet the constraints."""

    probabilities: np.ndarray
    multipliers: np.ndarray
    violation: np.ndarray
    """Per row, how far ``A p`` lies outside ``[lo, hi]`` (0 inside), in the row's units."""
    iterations: int
    converged: bool
    relative_entropy: float

    @property
    def effective_scenarios(self) -> float:
        """Effective number of scenarios, ``1 / sum p^2`` (Kish)."""
        return float(1.0 / np.sum(self.probabilities**2))


def entropy_pooling(
    prior: np.ndarray,
    rows: np.ndarray,
    target: np.ndarray,
    tolerance: np.ndarray | float = 0.0,
    *,
    max_iterations: int = MAX_ITERATIONS,
    penalty: float = PENALTY,
) -> Pooled:
    """Minimum relative entropy probabilities with ``|rows @ p - target| <= tolerance``.

    Parameters
    ----------
    prior
        Prior probabilities ``q`` over the ``n`` scenarios (non-negative, summing to 1).
    rows
        Constraint functions, shape ``(m, n)``: row ``i`` holds a quantity's value in each scenario.
    target, tolerance
        Per row, the expectation asked for and the half-width allowed around it (0: equality).
    max_iterations
        Work limit of the dual solver (iterations, never seconds).
    penalty
        Cap on each scaled multiplier: the price of a unit of violation (see the module notes).
    """
    q = np.asarray(prior, dtype=float).ravel()
    a = np.atleast_2d(np.asarray(rows, dtype=float))
    b = np.asarray(target, dtype=float).ravel()
    m = a.shape[0]
    tol = np.broadcast_to(np.asarray(tolerance, dtype=float), (m,)).copy()
    _check(q, a, b, tol)
    if m == 0:
        return Pooled(q.copy(), np.zeros(0), np.zeros(0), 0, True, 0.0)
    scale = np.sqrt(q @ ((a - (a @ q)[:, None]) ** 2).T)
    scale = np.where(scale > 1e-12, scale, np.maximum(np.abs(b), 1.0))
    z = (a - b[:, None]) / scale[:, None]
    t = tol / scale
    logq = np.log(np.where(q > 0, q, 1.0)) + np.where(q > 0, 0.0, -np.inf)

    def split(x: np.ndarray) -> np.ndarray:
        return x[:m] - x[m:]

    def dual(x: np.ndarray) -> tuple[float, np.ndarray]:
        lam = split(x)
        e = logq + lam @ z
        lse = logsumexp(e)
        p = np.exp(e - lse)
        grad_lam = z @ p
        value = lse + t @ (x[:m] + x[m:])
        grad = np.concatenate([grad_lam + t, -grad_lam + t])
        return float(value), grad

    bounds = [(0.0, penalty)] * (2 * m)
    with one_blas_thread():
        res = minimize(
            dual,
            np.zeros(2 * m),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={
                "maxiter": max_iterations,
                "maxfun": 2 * max_iterations,
                "gtol": 1e-9,
                "ftol": 1e-15,
            },
        )
    lam = split(res.x)
    e = logq + lam @ z
    p = np.exp(e - logsumexp(e))
    got = a @ p
    violation = np.maximum(np.abs(got - b) - tol, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = float(np.sum(np.where(p > 0, p * (np.log(p) - logq), 0.0)))
    ok = bool(np.all(violation <= 1e-6 * scale))
    return Pooled(p, lam / scale, violation, int(res.nit), ok, kl)


def _check(q: np.ndarray, a: np.ndarray, b: np.ndarray, tol: np.ndarray) -> None:
    m, n = a.shape
    if q.shape[0] != n or b.shape[0] != m:
        raise ConfigError(
            f"entropy_pooling: prior has {q.shape[0]} scenarios, rows are {a.shape}, "
            f"target has {b.shape[0]} values; give one prior value per column, one target per row"
        )
    if np.any(q < 0) or abs(q.sum() - 1.0) > 1e-9 or np.any(tol < 0):
        raise DataError("entropy_pooling: prior must be >= 0 and sum to 1, tolerance >= 0")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise DataError("entropy_pooling: rows and target must be finite")


__all__ = ["Pooled", "entropy_pooling"]
