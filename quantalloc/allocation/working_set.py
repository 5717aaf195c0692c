"""Exact and risk-constrained Kelly at scale: column generation around an interior method.

Kelly optima under caps hold few candidates, so the problem is solved on a working set of
columns and the rest are priced by the KKT conditions: a candidate at zero may stay there when
its marginal growth ``E[r_i / W]``, less the prices of the rows it enters ``(G' y)_i`` and, with
the drawdown bound, plus ``nu lam E_q[r_i / W]``, is not positive. Violators join the set and the
restricted problem is solved again, warm-started from the last point; when none is left the
restricted optimum is the global one (the problem is convex and every candidate's KKT condition
holds).

The restricted problem goes to :func:`~quantalloc.allocation.interior.solve_growth`, whose
Newton steps cost scenarios x columns^2 whatever the scenario count, with the drawdown bound
inside it. Rows with a positive lower bound (target floors) need candidates that can meet them:
an LP over every candidate (HiGHS) finds a feasible point first, or proves there is none, and
its support joins the first working set, so every restricted problem is feasible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from quantalloc.allocation.highs import LinearModel, solve_highs
from quantalloc.allocation.interior import (
    GrowthProblem,
    GrowthSolution,
    InteriorPoint,
    solve_growth,
)
from quantalloc.errors import InfeasibleError, SolverError
from quantalloc.threads import one_blas_thread

PRICE_TOL = 1e-9  # a reduced gain above this (relative to the largest marginal growth) prices in


@dataclass(frozen=True)
class WorkingSetInfo:
    """How the column generation went: rounds, final columns, Newton iterations in all."""

    iterations: int
    final_size: int
    engine: str
    support: int
    seconds: float
    newton: int = 0


def feasible_support(g: sp.csr_matrix, h: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Candidates of a point meeting ``G w <= h``, ``w >= 0`` (an LP over every candidate,
    maximising the mean return); InfeasibleError when no such point exists."""
    n = g.shape[1]
    model = LinearModel(
        cost=-mu,
        a=g,
        row_lower=np.full(g.shape[0], -np.inf),
        row_upper=h,
        col_lower=np.zeros(n),
        col_upper=np.full(n, np.inf),
    )
    result = solve_highs(model)
    if result.x is None:
        raise InfeasibleError(f"the linear constraints cannot all hold (HiGHS: {result.status})")
    return np.flatnonzero(result.x > 1e-12)


def first_columns(g: sp.csr_matrix, h: np.ndarray, mu: np.ndarray, initial: int) -> np.ndarray:
    """The first working set: the best ``initial`` by mean return, and with floors the support
    of a feasible point."""
    chosen = [np.argsort(-mu, kind="stable")[: min(mu.size, initial)]]
    if (h < 0).any():
        chosen.append(feasible_support(g, h, mu))
    return np.unique(np.concatenate(chosen))


@dataclass
class Restricted:
    """The rows and columns of one restricted problem."""

    cols: np.ndarray
    rows: np.ndarray
    problem: GrowthProblem

    @classmethod
    def build(
        cls,
        r: np.ndarray,
        p: np.ndarray,
        g: sp.csc_matrix,
        h: np.ndarray,
        cols: np.ndarray,
        lam: float | None,
    ) -> Restricted:
        sub = g[:, cols]
        rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
        empty = np.setdiff1d(np.arange(g.shape[0]), rows)
        if (h[empty] < 0).any():  # a floor none of these columns enters
            raise InfeasibleError("a lower bound has no candidate in the working set")
        a = sub[rows].toarray() if rows.size else np.zeros((0, cols.size))
        return cls(cols, rows, GrowthProblem(np.ascontiguousarray(r[:, cols]), p, a, h[rows], lam))

    def warm(self, old: Restricted, point: InteriorPoint) -> np.ndarray:
        """Start weights for this problem from ``point``, the last point of ``old``: the kept
        columns' weights, new columns (and those at zero) at a small weight."""
        w_old = dict(zip(old.cols.tolist(), point.w, strict=True))
        floor = 1e-2 * max(float(point.w.max(initial=0.0)), 1e-6)
        return np.array([max(w_old.get(c, floor), floor) for c in self.cols.tolist()])


def _gains(
    r: np.ndarray,
    p: np.ndarray,
    g: sp.csr_matrix,
    y_full: np.ndarray,
    nu: float,
    lam: float | None,
    w_full: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Each candidate's reduced gain at ``w_full`` and the scale it is compared against."""
    wealth = 1.0 + r @ w_full
    grad = r.T @ (p / wealth)
    gain = grad - g.T @ y_full
    if lam is not None and nu > 0:
        with np.errstate(divide="ignore"):
            expo = np.log(p) - lam * np.log(wealth)
        q = np.exp(expo - expo.max())
        q /= q.sum()
        gain = gain + nu * lam * (r.T @ (q / wealth))
    return gain, max(1.0, float(np.abs(grad).max()))


def kelly_working_set(
    r: np.ndarray,
    p: np.ndarray,
    g: sp.spmatrix | np.ndarray,
    h: np.ndarray,
    *,
    lam: float | None = None,
    initial: int = 40,
    grow: int = 40,
    max_iterations: int = 50,
) -> tuple[np.ndarray, np.ndarray, float, float, WorkingSetInfo]:
    """Maximise ``E[log(1 + r . w)]`` s.t. ``G w <= h``, ``w >= 0`` by column generation.

    With ``lam`` also ``E[(1 + r . w)^-lam] <= 1`` (risk-constrained Kelly). Returns the full
    weights, the multipliers ``y`` of ``G w <= h``, the drawdown bound's multiplier (per unit of
    ``E[W^-lam]``), the objective and run info. InfeasibleError when the rows cannot all hold;
    SolverError when the interior method stops at its iteration limit.

    BLAS runs on one thread here: the products are small (scenarios x tens of columns), and a
    second thread measured slower on the shared 2-core machine (up to 10x under load) while
    making the last bits depend on the thread count.
    """
    with one_blas_thread():
        return _column_generation(r, p, g, h, lam, initial, grow, max_iterations)


def _column_generation(
    r: np.ndarray,
    p: np.ndarray,
    g: sp.spmatrix | np.ndarray,
    h: np.ndarray,
    lam: float | None,
    initial: int,
    grow: int,
    max_iterations: int,
) -> tuple[np.ndarray, np.ndarray, float, float, WorkingSetInfo]:
    start = time.perf_counter()
    g_csr = sp.csr_matrix(g)
    g_csc = g_csr.tocsc()
    n = r.shape[1]
    mu = p @ r
    cols = first_columns(g_csr, h, mu, initial)
    w_full = np.zeros(n)
    y_full = np.zeros(g_csr.shape[0])
    rounds = newton = 0
    restricted: Restricted | None = None
    sol: GrowthSolution | None = None
    while rounds < max_iterations:
        rounds += 1
        nxt = Restricted.build(r, p, g_csc, h, cols, lam)
        warm = nxt.warm(restricted, sol.point) if restricted and sol else None
        sol = solve_growth(nxt.problem, start=warm)
        restricted = nxt
        newton += sol.iterations
        w_full[:] = 0.0
        w_full[cols] = sol.w
        y_full[:] = 0.0
        y_full[nxt.rows] = sol.y
        gain, scale = _gains(r, p, g_csr, y_full, sol.nu, lam, w_full)
        outside = np.setdiff1d(np.arange(n), cols)
        viol = outside[gain[outside] > PRICE_TOL * scale]
        if viol.size == 0:
            break
        add = viol[np.argsort(-gain[viol], kind="stable")][: max(grow, cols.size // 2)]
        cols = np.sort(np.concatenate([cols, add]))
    else:
        raise SolverError(
            f"the working set still grew after {max_iterations} rounds ({cols.size} columns)"
        )
    assert sol is not None
    info = WorkingSetInfo(
        iterations=rounds,
        final_size=int(cols.size),
        engine="interior",
        support=int((w_full > 1e-9).sum()),
        seconds=time.perf_counter() - start,
        newton=newton,
    )
    return w_full, y_full, sol.nu, sol.objective, info


__all__ = ["WorkingSetInfo", "feasible_support", "first_columns", "kelly_working_set"]
