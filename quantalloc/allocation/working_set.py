"""Exact Kelly at scale: column generation over candidates with a direct Clarabel conic form.

The naive form (one exponential cone per scenario over every candidate, built through cvxpy) spends
most of its time compiling and factorising a dense scenarios x candidates block. Kelly optima with
caps have small supports, so we solve on a working set of candidates and price the rest with the
KKT conditions: for a candidate at zero, the gradient ``g_i = E[r_i / (1 + r . w)]`` minus the dual
prices of the linear rows it enters, ``(G' y)_i``, must be <= 0. Violators join the set and the
restricted problem is solved again; when none is left the restricted optimum is the global one
(the problem is convex and the KKT conditions hold for every candidate).

The restricted problem is handed to Clarabel directly (``min -p.t`` with ``(t_s, 1, 1 + r_s.w)`` in
the exponential cone), skipping cvxpy's compilation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import clarabel
import numpy as np
import scipy.sparse as sp

from quantalloc.allocation.barrier import rck_barrier
from quantalloc.errors import InfeasibleError, SolverError

PRICE_TOL = 1e-8
BARRIER_SCENARIOS = 5_000  # risk-constrained Kelly with this many scenarios goes to the barrier
RETRY_SETTINGS: tuple[dict[str, object], ...] = (
    {},
    {"equilibrate_enable": False},
    {"static_regularization_constant": 1e-10},
    {"max_step_fraction": 0.95},
)


Array = np.ndarray


@dataclass(frozen=True)
class WorkingSetInfo:
    """How the column generation went."""

    iterations: int
    final_size: int
    engine: str
    support: int
    seconds: float


def _restricted(
    r: np.ndarray,
    p: np.ndarray,
    g: np.ndarray,
    h: np.ndarray,
    cols: np.ndarray,
    lam: float | None = None,
    form: str = "exp",
) -> tuple[np.ndarray, np.ndarray, float, float, str]:
    """Solve the restricted problem; return (w_J, y, nu, objective, status).

    max p.t  s.t.  (t_s, 1, 1 + r_s.w) in K_exp,  G_J w <= h,  w >= 0, and with ``lam`` the
    drawdown bound  sum_s S p_s u_s <= S  with  u_s >= (1 + r_s.w)^-lam  as a power cone (the
    row scaled by the scenario count S so its entries stay O(1)); ``nu`` is that row's dual.
    """
    q, a, b, cones = _restricted_form(r[:, cols], p, g[:, cols], h, lam, form)
    k, m = cols.shape[0], g.shape[0]
    # "AlmostSolved" happens with steep drawdown cones (large lambda): retry with settings that
    # measured better on such problems before accepting reduced accuracy
    for tweaks in RETRY_SETTINGS:
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        for key, value in tweaks.items():
            setattr(settings, key, value)
        n_var = q.shape[0]
        solver = clarabel.DefaultSolver(sp.csc_matrix((n_var, n_var)), q, a, b, cones, settings)
        sol = solver.solve()
        if str(sol.status) == "Solved":
            break
    x = np.asarray(sol.x)
    z = np.asarray(sol.z)
    nu = float(z[m + k]) if lam is not None else 0.0
    return x[:k], z[:m], nu, -float(sol.obj_val), str(sol.status)


def _restricted_form(
    rj: Array, p: Array, gj: Array, h: Array, lam: float | None, form: str
) -> tuple[Array, sp.csc_matrix, Array, list[Any]]:
    """Clarabel's ``q``, ``A``, ``b`` and cones of the restricted problem (see ``_restricted``)
    on the working set's columns ``rj`` and ``gj``."""
    n_scen, k = rj.shape
    m = gj.shape[0]
    n_u = n_scen if lam is not None else 0
    n_var = k + n_scen + n_u  # x = [w (k), t (S), u (S if drawdown)]
    blocks = []
    b_parts = []
    if m:
        blocks.append(sp.hstack([sp.csr_matrix(gj), sp.csr_matrix((m, n_scen + n_u))]))
        b_parts.append(h)
    blocks.append(sp.hstack([-sp.eye(k), sp.csr_matrix((k, n_scen + n_u))]))
    b_parts.append(np.zeros(k))
    n_nonneg = m + k
    if lam is not None:
        blocks.append(
            sp.csr_matrix(
                (n_scen * p, (np.zeros(n_scen, dtype=int), k + n_scen + np.arange(n_scen))),
                shape=(1, n_var),
            )
        )
        b_parts.append(np.array([float(n_scen)]))
        n_nonneg += 1
    # growth cones, three rows per scenario: (t_s, 1, 1 + r_s . w)
    scen = np.arange(n_scen)
    a_t = sp.csr_matrix((-np.ones(n_scen), (3 * scen, k + scen)), shape=(3 * n_scen, n_var))
    rr, cc = np.nonzero(np.ones_like(rj, dtype=bool))
    a_w = sp.csr_matrix((-rj.ravel(), (3 * rr + 2, cc)), shape=(3 * n_scen, n_var))
    blocks.append(a_t + a_w)
    b_exp = np.zeros(3 * n_scen)
    b_exp[1::3] = 1.0
    b_exp[2::3] = 1.0
    b_parts.append(b_exp)
    if lam is not None and form == "power":
        # risk cones, three rows per scenario: (u_s, 1 + r_s . w, 1) in the power cone with
        # exponent 1 / (1 + lam), i.e. u_s >= (1 + r_s . w)^-lam
        data = np.concatenate([-np.ones(n_scen), -rj.ravel()])
        rows = np.concatenate([3 * scen, 3 * rr + 1])
        cols_ = np.concatenate([k + n_scen + scen, cc])
        blocks.append(sp.csr_matrix((data, (rows, cols_)), shape=(3 * n_scen, n_var)))
        b_risk = np.zeros(3 * n_scen)
        b_risk[1::3] = 1.0
        b_risk[2::3] = 1.0
        b_parts.append(b_risk)
    elif lam is not None:
        # risk cones through the growth variable: (-lam t_s, 1, u_s) in K_exp, u_s >= W_s^-lam
        data = np.concatenate([np.full(n_scen, lam), -np.ones(n_scen)])
        rows = np.concatenate([3 * scen, 3 * scen + 2])
        cols_ = np.concatenate([k + scen, k + n_scen + scen])
        blocks.append(sp.csr_matrix((data, (rows, cols_)), shape=(3 * n_scen, n_var)))
        b_risk = np.zeros(3 * n_scen)
        b_risk[1::3] = 1.0
        b_parts.append(b_risk)
    a = sp.vstack(blocks).tocsc()
    b = np.concatenate(b_parts)
    q = np.concatenate([np.zeros(k), -p, np.zeros(n_u)])
    cones = [clarabel.NonnegativeConeT(n_nonneg)] + [clarabel.ExponentialConeT()] * n_scen
    if lam is not None and form == "power":
        cones += [clarabel.PowerConeT(1.0 / (1.0 + lam))] * n_scen
    elif lam is not None:
        cones += [clarabel.ExponentialConeT()] * n_scen
    return q, a, b, cones


def _solve_restricted(
    r: Array, p: Array, g: Array, h: Array, cols: Array, lam: float | None, engines: set[str]
) -> tuple[Array, Array, float, float, str]:
    """The restricted problem by Clarabel, or for RCK by the Newton barrier where Clarabel
    stalls or stops short; the engines used are added to ``engines``."""
    if lam is not None and r.shape[0] >= BARRIER_SCENARIOS:
        w_j, y, nu, obj, status = np.zeros(0), np.zeros(0), 0.0, 0.0, "skipped"
        # measured: Clarabel stalls here (InsufficientProgress)
    else:
        w_j, y, nu, obj, status = _restricted(r, p, g, h, cols, lam)
        engines.add("clarabel")
    if status in ("Solved", "AlmostSolved") or lam is None:
        return w_j, y, nu, obj, status
    # steep drawdown cones with many scenarios: the Newton barrier on the working set
    try:
        w_j, y, nu_e, obj = rck_barrier(r[:, cols], p, g[:, cols], h, lam)
    except SolverError:
        if status != "skipped":
            raise
        engines.add("clarabel")  # the barrier needs a strictly feasible start
        return _restricted(r, p, g, h, cols, lam)
    engines.add("barrier")
    return w_j, y, nu_e / r.shape[0], obj, "Solved"  # nu per unit of S E[W^-lam]


def _priced_in(
    r: np.ndarray,
    p: np.ndarray,
    g: np.ndarray,
    y: np.ndarray,
    nu: float,
    lam: float | None,
    w_full: np.ndarray,
    cols: np.ndarray,
    grow: int,
) -> np.ndarray:
    """Candidates outside the working set whose reduced cost says they would add growth."""
    n = r.shape[1]
    wealth = 1.0 + r @ w_full
    grad = r.T @ (p / wealth)
    reduced = grad - (g.T @ y if g.shape[0] else 0.0)
    if lam is not None and nu > 0:  # minus nu times the gradient of S E[W^-lam] - S
        reduced = reduced + nu * lam * r.shape[0] * (r.T @ (p * wealth ** (-lam - 1)))
    outside = np.setdiff1d(np.arange(n), cols)
    if outside.size == 0:
        return outside
    viol = outside[reduced[outside] > PRICE_TOL * max(1.0, float(np.abs(grad).max()))]
    return viol[np.argsort(-reduced[viol])][: max(grow, cols.size // 2)]


def kelly_working_set(
    r: np.ndarray,
    p: np.ndarray,
    g: np.ndarray,
    h: np.ndarray,
    *,
    lam: float | None = None,
    initial: int = 40,
    grow: int = 40,
    max_iterations: int = 50,
) -> tuple[np.ndarray, np.ndarray, float, float, WorkingSetInfo]:
    """Maximise ``E[log(1 + r . w)]`` s.t. ``G w <= h``, ``w >= 0`` by column generation.

    With ``lam`` also ``E[(1 + r . w)^-lam] <= 1`` (risk-constrained Kelly); its gradient enters
    the pricing through the dual ``nu``. Returns the full weights, the duals ``y`` of
    ``G w <= h``, the dual of the drawdown bound (per unit of ``E[W^-lam]``), the objective and
    run info.
    """
    start = time.perf_counter()
    n = r.shape[1]
    mu = p @ r
    order = np.argsort(-mu)
    chosen = [order[: min(n, initial)]]
    # rows with a positive lower bound (targets, minimum weights) need candidates that can meet
    # them from the start: add the best few by mean return that enter each such row
    for j in np.flatnonzero(h < 0):
        enters = np.flatnonzero(g[j] < 0)
        chosen.append(enters[np.argsort(-mu[enters])][:5])
    cols = np.unique(np.concatenate(chosen))
    w_full = np.zeros(n)
    iteration = 0
    engines: set[str] = set()
    while iteration < max_iterations:
        iteration += 1
        w_j, y, nu, obj, status = _solve_restricted(r, p, g, h, cols, lam, engines)
        if status not in ("Solved", "AlmostSolved"):
            if status in ("PrimalInfeasible", "AlmostPrimalInfeasible") and cols.size < n:
                cols = np.arange(n)  # lower bounds may need candidates outside the set
                continue
            if status in ("PrimalInfeasible", "AlmostPrimalInfeasible"):
                raise InfeasibleError("the linear constraints cannot all hold (Clarabel)")
            raise SolverError(
                f"Clarabel stopped with {status} on the working-set Kelly problem ({cols.size} "
                "candidates); try method='direct' or fewer scenarios"
            )
        w_full[:] = 0.0
        w_full[cols] = np.maximum(w_j, 0.0)
        add = _priced_in(r, p, g, y, nu, lam, w_full, cols, grow)
        if add.size == 0:
            break
        cols = np.sort(np.concatenate([cols, add]))
    info = WorkingSetInfo(
        iterations=iteration,
        final_size=int(cols.size),
        engine=" + ".join(sorted(engines)),
        support=int((w_full > 1e-9).sum()),
        seconds=time.perf_counter() - start,
    )
    return w_full, y, nu * r.shape[0], obj, info
