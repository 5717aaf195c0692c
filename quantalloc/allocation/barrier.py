"""A small primal barrier (Newton) method for risk-constrained Kelly on a working set.

Used when Clarabel stalls on the conic form (many scenarios, steep ``W^-lambda``): with few
columns the Newton system is tiny (columns x columns), while every scenario enters exactly through
``W = 1 + R w``. Maximises ``E[log W]`` s.t. ``E[W^-lam] <= 1``, ``G w <= h``, ``w >= 0`` from a
strictly feasible start; duals come from the barrier (``mu / slack``).
"""

from __future__ import annotations

import numpy as np

from quantalloc.errors import SolverError


def _start(r: np.ndarray, p: np.ndarray, g: np.ndarray, h: np.ndarray, lam: float) -> np.ndarray:
    k = r.shape[1]
    mu = p @ r
    best = int(np.argmax(mu))
    if mu[best] <= 0:
        raise SolverError("no candidate has a positive expected return; the optimum is all cash")
    base = np.full(k, 1e-9)
    for eps in 10.0 ** -np.arange(2, 12):
        w = base.copy()
        w[best] += eps
        wealth = 1 + r @ w
        if (wealth > 0).all() and p @ wealth**-lam < 1 and (g @ w < h).all():
            return w
    raise SolverError(
        "no strictly feasible start for the barrier method (lower bounds or zero limits); "
        "use method='direct'"
    )


def rck_barrier(
    r: np.ndarray,
    p: np.ndarray,
    g: np.ndarray,
    h: np.ndarray,
    lam: float,
    gap_tol: float = 1e-10,
    max_newton: int = 400,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Return (w, y for G w <= h, nu for E[W^-lam] <= 1, objective)."""
    keep = np.abs(g).sum(axis=1) > 0
    if (h[~keep] < 0).any():
        raise SolverError("a limit below zero on a row without candidates: infeasible")
    g, h_k = g[keep], h[keep]
    w = _start(r, p, g, h_k, lam)
    n_ineq = g.shape[0] + w.shape[0] + 1
    t = 1.0
    newton = 0

    def parts(w: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        wealth = 1 + r @ w
        risk = float(p @ wealth**-lam)
        return wealth, risk, h_k - g @ w, w

    while True:
        for _ in range(100):
            wealth, risk, slack, ww = parts(w)
            # phi(w) = t * E log W + log(1 - risk) + sum log(slack) + sum log(w)
            inv_w = p / wealth
            grad = t * (r.T @ inv_w)
            hess = -t * (r.T * (p / wealth**2)) @ r
            d_risk = -lam * (r.T @ (p * wealth ** (-lam - 1)))
            h_risk = lam * (lam + 1) * (r.T * (p * wealth ** (-lam - 2))) @ r
            c = 1 - risk
            grad += -d_risk / c
            hess += -h_risk / c - np.outer(d_risk, d_risk) / c**2
            grad += -(g.T @ (1 / slack)) + 1 / ww
            hess += -(g.T * (1 / slack**2)) @ g - np.diag(1 / ww**2)
            try:
                step = np.linalg.solve(hess, -grad)
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(hess, -grad, rcond=None)[0]
            decrement = float(grad @ step)  # Newton decrement squared (maximisation)
            if decrement / 2 <= 1e-12:
                break

            def phi(x: np.ndarray, t: float = t) -> float:
                wl, rk, sl, xx = parts(x)
                if (wl <= 0).any() or rk >= 1 or (sl <= 0).any() or (xx <= 0).any():
                    return -np.inf
                return float(
                    t * (p @ np.log(wl)) + np.log(1 - rk) + np.log(sl).sum() + np.log(xx).sum()
                )

            f0, s = phi(w), 1.0
            while phi(w + s * step) < f0 + 0.25 * s * float(grad @ step) and s > 1e-12:
                s *= 0.5
            w = w + s * step
            newton += 1
            if newton > max_newton:
                raise SolverError(f"barrier method did not converge in {max_newton} Newton steps")
        if n_ineq / t < gap_tol:
            break
        t *= 10.0
    wealth, risk, slack, _ = parts(w)
    y = np.zeros(keep.shape[0])
    y[keep] = 1 / (t * slack)
    nu = 1 / (t * (1 - risk))
    return w, y, nu, float(p @ np.log(wealth))
