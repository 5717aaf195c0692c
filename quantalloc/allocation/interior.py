"""A primal-dual interior method for expected log growth under linear rows and the drawdown bound.

Solves, over the columns of a working set,

    maximise  sum_s p_s log(1 + r_s . w)
    s.t.      A w <= b,  w >= 0,  and optionally  log sum_s p_s (1 + r_s . w)^-lam <= 0

(the risk-constrained Kelly bound ``E[W^-lam] <= 1`` in its log form, as the direct conic form
writes it). Every scenario enters through ``W = 1 + R w`` only, so a Newton step costs one
``R' diag(d) R`` product (scenarios x columns^2) and a columns x columns solve, however many
scenarios there are; a conic solver instead carries a cone per scenario.

The method is Mehrotra's predictor-corrector on the perturbed KKT conditions with slacks for
every inequality, so it needs no feasible start (floors and the drawdown bound may be violated
at the start) and returns the multipliers of every row with the optimum. Stops are by work
(iterations), never by time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from quantalloc.errors import SolverError

STEP_TO_BOUNDARY = 0.995  # fraction of the step to the boundary of the positive variables


@dataclass(frozen=True)
class GrowthProblem:
    """The restricted problem: returns ``r`` (scenarios x columns), probabilities ``p``, rows
    ``a w <= b`` and the drawdown exponent ``lam`` (None: plain Kelly)."""

    r: np.ndarray
    p: np.ndarray
    a: np.ndarray
    b: np.ndarray
    lam: float | None = None


@dataclass(frozen=True)
class InteriorPoint:
    """Primal and dual iterates (weights, row slacks and multipliers, bound multipliers, and
    the drawdown slack and multiplier); a solve returns its last one for a warm start."""

    w: np.ndarray
    s: np.ndarray
    z: np.ndarray
    v: np.ndarray
    sc: float = 1.0
    zeta: float = 0.0


@dataclass(frozen=True)
class GrowthSolution:
    """The optimum: weights, row multipliers ``y`` (``A w <= b``), the drawdown multiplier ``nu``
    (per unit of ``log E[W^-lam]``, equal to that of ``E[W^-lam]`` where it binds), the expected
    log growth, Newton iterations and the final point."""

    w: np.ndarray
    y: np.ndarray
    nu: float
    objective: float
    iterations: int
    point: InteriorPoint


@dataclass
class _Oracle:
    """Values and derivatives at ``w``: log growth (scaled by ``kappa``) and the drawdown term."""

    wealth: np.ndarray
    grad_f: np.ndarray
    hess_d: np.ndarray  # Hessian of f is R' diag(hess_d) R
    c: float = 0.0
    u: np.ndarray | None = None  # gradient of c is -lam u
    hess_c: np.ndarray | None = None  # Hessian of c is R' diag(hess_c) R - lam^2 u u'


def _oracle(prob: GrowthProblem, kappa: float, w: np.ndarray) -> _Oracle:
    wealth = 1.0 + prob.r @ w
    inv = prob.p / wealth
    out = _Oracle(wealth, -kappa * (prob.r.T @ inv), kappa * inv / wealth)
    if prob.lam is not None:
        lam = prob.lam
        with np.errstate(divide="ignore"):
            expo = np.log(prob.p) - lam * np.log(wealth)
        top = float(expo.max())
        e = np.exp(expo - top)
        total = float(e.sum())
        q = e / total
        out.c = top + math.log(total)
        out.u = prob.r.T @ (q / wealth)
        out.hess_c = lam * (lam + 1.0) * q / wealth**2
    return out


def _start(prob: GrowthProblem, kappa: float, w0: np.ndarray | None) -> InteriorPoint:
    k = prob.r.shape[1]
    w = np.full(k, 0.1 / max(k, 1)) if w0 is None else np.asarray(w0, dtype=float).copy()
    low = float((prob.r @ w).min(initial=0.0))
    if low < -0.5:  # keep every scenario's wealth at least one half
        w *= 0.5 / -low
    s = np.maximum(prob.b - prob.a @ w, 0.1)
    z = np.ones(prob.a.shape[0])
    mu = float(s.mean()) if s.size else 0.1
    v = mu / w
    sc, zeta = 1.0, 0.0
    if prob.lam is not None:
        c = _oracle(prob, kappa, w).c
        sc = max(-c, 0.1)
        zeta = mu / sc
    return InteriorPoint(w, s, z, v, sc, zeta)


def _step_to_boundary(x: np.ndarray, dx: np.ndarray) -> float:
    neg = dx < 0
    if not neg.any():
        return 1.0
    return float(min(1.0, (-x[neg] / dx[neg]).min()))


def solve_growth(
    prob: GrowthProblem,
    *,
    start: np.ndarray | None = None,
    gap_tol: float = 1e-11,
    feas_tol: float = 1e-9,
    max_iterations: int = 150,
) -> GrowthSolution:
    """Maximise expected log growth on ``prob``; SolverError when the iteration limit is met.

    ``gap_tol`` bounds the duality gap in the objective's own unit (expected log growth);
    ``feas_tol`` the rows' violation relative to their right-hand sides.
    """
    r, a = prob.r, prob.a
    k, m = r.shape[1], a.shape[0]
    # rows scaled to unit max-norm, the objective so its gradient at zero is O(1)
    row_scale = np.maximum(np.abs(a).max(axis=1, initial=0.0), 1e-300) if m else np.ones(0)
    a_s = a / row_scale[:, None] if m else a
    b_s = prob.b / row_scale if m else prob.b
    scaled = GrowthProblem(r, prob.p, a_s, b_s, prob.lam)
    kappa = 1.0 / max(float(np.abs(prob.p @ r).max(initial=0.0)), 1e-4)
    pt = _start(scaled, kappa, start)
    lam = prob.lam
    n_comp = m + k + (1 if lam is not None else 0)
    b_norm = 1.0 + float(np.abs(b_s).max(initial=0.0))
    for it in range(max_iterations):
        ev = _oracle(scaled, kappa, pt.w)
        res = _residuals(scaled, ev, pt)
        mu = res.gap / n_comp
        if (
            res.primal <= feas_tol * b_norm
            and res.dual <= feas_tol * (1.0 + float(np.abs(ev.grad_f).max(initial=0.0)))
            and res.gap / kappa <= gap_tol
        ):
            return _solution(prob, scaled, pt, row_scale, kappa, it)
        newton = _Newton(scaled, ev, pt)
        pred = newton.direction(res, 0.0, None)
        alpha = _max_step(scaled, ev, pt, pred)
        mu_aff = _gap_after(pt, pred, alpha) / n_comp
        sigma = min(1.0, (mu_aff / mu) ** 3) if mu > 0 else 0.0
        step = newton.direction(res, sigma * mu, pred)
        alpha = STEP_TO_BOUNDARY * _max_step(scaled, ev, pt, step)
        pt = _move(pt, step, alpha)
    raise SolverError(
        f"the interior method did not converge in {max_iterations} iterations "
        f"({k} columns, {r.shape[0]} scenarios); the limits may conflict with the drawdown bound"
    )


@dataclass(frozen=True)
class _Residuals:
    dual: float
    primal: float
    gap: float
    r_d: np.ndarray
    r_p: np.ndarray
    r_c: float


def _residuals(prob: GrowthProblem, ev: _Oracle, pt: InteriorPoint) -> _Residuals:
    r_d = ev.grad_f - pt.v
    if prob.a.shape[0]:
        r_d = r_d + prob.a.T @ pt.z
    r_p = prob.a @ pt.w + pt.s - prob.b
    r_c = 0.0
    gap = float(pt.s @ pt.z + pt.w @ pt.v)
    if prob.lam is not None:
        assert ev.u is not None
        r_d = r_d - pt.zeta * prob.lam * ev.u
        r_c = ev.c + pt.sc
        gap += pt.sc * pt.zeta
    primal = max(float(np.abs(r_p).max(initial=0.0)), abs(r_c))
    return _Residuals(float(np.abs(r_d).max(initial=0.0)), primal, gap, r_d, r_p, r_c)


@dataclass(frozen=True)
class _Step:
    w: np.ndarray
    s: np.ndarray
    z: np.ndarray
    v: np.ndarray
    sc: float
    zeta: float


class _Newton:
    """The reduced Newton system at one point, factorised once for both of Mehrotra's solves."""

    def __init__(self, prob: GrowthProblem, ev: _Oracle, pt: InteriorPoint) -> None:
        self.prob, self.ev, self.pt = prob, ev, pt
        d = ev.hess_d
        lam = prob.lam
        if lam is not None:
            assert ev.hess_c is not None
            d = d + pt.zeta * ev.hess_c
        x = prob.r * np.sqrt(d)[:, None]
        h = x.T @ x
        if prob.a.shape[0]:
            h += (prob.a.T * (pt.z / pt.s)) @ prob.a
        h[np.diag_indices_from(h)] += pt.v / pt.w
        if lam is not None:
            assert ev.u is not None
            # zeta Hess(c) brings -zeta lam^2 u u'; eliminating the drawdown slack adds
            # (zeta / sc) lam^2 u u' (both rank one along the drawdown gradient)
            h += (pt.zeta / pt.sc - pt.zeta) * lam**2 * np.outer(ev.u, ev.u)
        self.h = h
        self.grad_c = -lam * ev.u if lam is not None and ev.u is not None else None

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        try:
            return np.linalg.solve(self.h, rhs)
        except np.linalg.LinAlgError:
            reg = 1e-12 * max(1.0, float(np.abs(np.diag(self.h)).max()))
            return np.linalg.solve(self.h + reg * np.eye(self.h.shape[0]), rhs)

    def direction(self, res: _Residuals, target: float, pred: _Step | None) -> _Step:
        """The step towards complementarity ``target`` (Mehrotra's corrector when ``pred``)."""
        prob, pt = self.prob, self.pt
        t_s = target - pt.s * pt.z
        t_w = target - pt.w * pt.v
        t_c = target - pt.sc * pt.zeta
        if pred is not None:
            t_s = t_s - pred.s * pred.z
            t_w = t_w - pred.w * pred.v
            t_c = t_c - pred.sc * pred.zeta
        rhs = -res.r_d + t_w / pt.w
        if prob.a.shape[0]:
            rhs -= prob.a.T @ ((t_s + pt.z * res.r_p) / pt.s)
        if self.grad_c is not None:
            rhs -= self.grad_c * ((t_c + pt.zeta * res.r_c) / pt.sc)
        dw = self.solve(rhs)
        ad = prob.a @ dw
        dz = (t_s + pt.z * (res.r_p + ad)) / pt.s
        ds = -res.r_p - ad
        dv = (t_w - pt.v * dw) / pt.w
        dsc = dzeta = 0.0
        if self.grad_c is not None:
            cd = float(self.grad_c @ dw)
            dzeta = (t_c + pt.zeta * (res.r_c + cd)) / pt.sc
            dsc = -res.r_c - cd
        return _Step(dw, ds, dz, dv, dsc, dzeta)


def _max_step(prob: GrowthProblem, ev: _Oracle, pt: InteriorPoint, st: _Step) -> float:
    """Longest step keeping every positive variable and every scenario's wealth positive."""
    alpha = min(
        _step_to_boundary(pt.w, st.w),
        _step_to_boundary(pt.s, st.s),
        _step_to_boundary(pt.z, st.z),
        _step_to_boundary(pt.v, st.v),
        _step_to_boundary(ev.wealth, prob.r @ st.w),
    )
    if prob.lam is not None:
        alpha = min(
            alpha,
            _step_to_boundary(np.array([pt.sc]), np.array([st.sc])),
            _step_to_boundary(np.array([pt.zeta]), np.array([st.zeta])),
        )
    return alpha


def _gap_after(pt: InteriorPoint, st: _Step, alpha: float) -> float:
    gap = float((pt.s + alpha * st.s) @ (pt.z + alpha * st.z))
    gap += float((pt.w + alpha * st.w) @ (pt.v + alpha * st.v))
    return gap + (pt.sc + alpha * st.sc) * (pt.zeta + alpha * st.zeta)


def _move(pt: InteriorPoint, st: _Step, alpha: float) -> InteriorPoint:
    return InteriorPoint(
        pt.w + alpha * st.w,
        pt.s + alpha * st.s,
        pt.z + alpha * st.z,
        pt.v + alpha * st.v,
        pt.sc + alpha * st.sc,
        pt.zeta + alpha * st.zeta,
    )


def _solution(
    prob: GrowthProblem,
    scaled: GrowthProblem,
    pt: InteriorPoint,
    row_scale: np.ndarray,
    kappa: float,
    iterations: int,
) -> GrowthSolution:
    w = np.maximum(pt.w, 0.0)
    wealth = 1.0 + prob.r @ w
    objective = float(prob.p @ np.log(wealth))
    y = pt.z / row_scale / kappa
    unscaled = InteriorPoint(pt.w, pt.s * row_scale, y, pt.v / kappa, pt.sc, pt.zeta / kappa)
    return GrowthSolution(w, y, pt.zeta / kappa, objective, iterations, unscaled)


__all__ = ["GrowthProblem", "GrowthSolution", "InteriorPoint", "solve_growth"]
