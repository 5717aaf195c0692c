"""Integer lots: turn the continuous optimum into whole lots that keep every hard linear constraint.

The exact method is a mixed-integer program solved with HiGHS: integer lots ``n_i >= 0``, weights
``w_i = n_i * lot_cost_i / capital``, every hard linear row, and the smallest L1 distance to the
continuous weights. HiGHS stops at a node limit (work, not wall-clock time, so the lots do not
depend on the machine's load) and keeps its best point; when it has none or fails, a greedy
rounding (floor, then add lots that keep every row, closest first) takes over. Conic constraints
(drawdown, CVaR cap) are not part of the integer program; they are re-evaluated and any violation
is reported in ``Rounding.violations``.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import Row
from quantalloc.allocation.context import Settings
from quantalloc.allocation.layout import Layout
from quantalloc.allocation.objectives import Objective
from quantalloc.allocation.result import AllocationResult, ConstraintRow, Rounding
from quantalloc.allocation.rows import Limit, effective_bounds, row_value, row_violation, sides
from quantalloc.allocation.solvers import quiet_highs
from quantalloc.errors import ConfigError

FEAS_TOL = 1e-9


SoftRows = tuple[np.ndarray, np.ndarray]
"""Soft rows ``a_s w <= b_s`` the lots should keep: each unit of excess costs ``SOFT_WEIGHT``
units of distance from the continuous weights."""
SOFT_WEIGHT = 10.0


def _mip(
    target: np.ndarray,
    unit: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    max_nodes: int,
    soft: SoftRows | None = None,
) -> np.ndarray | None:
    """Whole lots closest (L1) to ``target`` that keep every row of ``a w <= b`` (and as much
    of the ``soft`` rows as the distance allows).

    First within one lot above the continuous optimum (small and fast); when tight caps and
    floors leave no lattice point there, again with only ``lots >= 0``.
    """
    for upper in (np.ceil(target / unit) + 1, None):
        lots = _mip_within(target, unit, a, b, max_nodes, upper, soft)
        if lots is not None:
            return lots
    return None


def _mip_within(
    target: np.ndarray,
    unit: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    max_nodes: int,
    upper: np.ndarray | None,
    soft: SoftRows | None = None,
) -> np.ndarray | None:
    n = target.shape[0]
    lots = cp.Variable(n, integer=True)
    w = cp.multiply(unit, lots)
    cons = [lots >= 0] + ([lots <= upper] if upper is not None else [])
    if a.shape[0]:
        tol = FEAS_TOL * np.maximum(1.0, np.abs(b))
        cons.append(a @ w <= b + tol)
    cost = cp.norm1(w - target)
    if soft is not None and soft[0].shape[0]:
        cost = cost + SOFT_WEIGHT * cp.sum(cp.pos(soft[0] @ w - soft[1]))
    problem = cp.Problem(cp.Minimize(cost), cons)
    quiet_highs()
    try:
        with warnings.catch_warnings():
            # a node-limited incumbent is expected and accepted ("user_limit"); not a warning
            warnings.simplefilter("ignore", UserWarning)
            # cvxpy's bound propagation multiplies an unbounded lot count by a zero coefficient
            warnings.simplefilter("ignore", RuntimeWarning)
            problem.solve(solver="HIGHS", mip_max_nodes=int(max_nodes))
    except (cp.error.SolverError, ValueError):
        return None
    if lots.value is None or problem.status not in (
        cp.OPTIMAL,
        cp.OPTIMAL_INACCURATE,
        "user_limit",
    ):
        return None
    return np.rint(np.asarray(lots.value, dtype=float))


MAX_GREEDY_MOVES = 100_000
"""Single-lot moves the greedy rounding may make: its loops end even when lots are tiny."""


def _greedy(target: np.ndarray, unit: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lots = np.floor(target / unit + 1e-9)
    moves = 0
    tol = FEAS_TOL * np.maximum(1.0, np.abs(b))

    def ok(x: np.ndarray) -> bool:
        return bool((a @ (unit * x) <= b + tol).all()) if a.shape[0] else True

    def violation(x: np.ndarray) -> float:
        return float(np.maximum(a @ (unit * x) - b, 0).sum()) if a.shape[0] else 0.0

    # repair: the single-lot move (add or remove) that most reduces the total violation,
    # closest to the target on ties, until every row holds or no move helps
    while a.shape[0] and not ok(lots) and moves < MAX_GREEDY_MOVES:
        moves += 1
        slack = a @ (unit * lots) - b
        best_i, best_step, best_v = -1, 0, violation(lots) - 1e-15
        for step in (1, -1):
            trial = slack[:, None] + step * a * unit[None, :]
            v = np.maximum(trial, 0).sum(axis=0)
            if step < 0:
                v[lots <= 0] = np.inf
            i = int(np.argmin(v))
            if v[i] < best_v:
                best_i, best_step, best_v = i, step, float(v[i])
        if best_i < 0:
            break
        lots[best_i] += best_step
    # add lots that bring a weight closer to its target and keep every row, largest gap first
    improved = True
    while improved and moves < MAX_GREEDY_MOVES:
        moves += 1
        improved = False
        gap = target - unit * lots
        for i in np.argsort(-gap):
            if gap[i] <= unit[i] / 2:
                break
            trial = lots.copy()
            trial[i] += 1
            if ok(trial):
                lots = trial
                improved = True
                break
    return lots


@dataclass(frozen=True, kw_only=True)
class LotRounding:
    """Round the continuous allocation to whole lots.

    Parameters
    ----------
    method
        ``"mip"`` (exact, HiGHS, greedy fallback) or ``"greedy"``.
    max_nodes
        Branch-and-bound nodes allowed to the MIP; its best point so far is kept at the limit.
        A limit by work, never by wall-clock time, so the result does not depend on the
        machine's load.
    """

    method: str = "mip"
    max_nodes: int = 1000

    def __post_init__(self) -> None:
        if self.method not in ("mip", "greedy"):
            raise ConfigError(f"rounding method must be 'mip' or 'greedy'; got {self.method!r}")
        if not self.max_nodes >= 1:
            raise ConfigError(f"rounding max_nodes must be >= 1; got {self.max_nodes}")

    def apply(
        self,
        result: AllocationResult,
        data: Candidates,
        objective: Objective,
        lay: Layout,
        settings: Settings,
        limits: Mapping[str, Limit],
    ) -> AllocationResult:
        """The result with ``rounding`` filled in: whole lots, kept within every hard cap, and
        the constraint rows realised with them."""
        if data.lot_cost is None:
            raise ConfigError(
                "rounding to lots needs Candidates(lot_cost=...): the capital one lot ties up"
            )
        start = time.perf_counter()
        unit = data.lot_cost.to_numpy(dtype=float) / settings.capital
        target = result.weights.to_numpy(dtype=float)
        hard_rows = lay.hard_rows
        # soft rows the continuous optimum met are kept by the lots as far as the distance
        # allows (their excess is penalised like distance): a band met before rounding should
        # not be lost to it, nor the whole book to a band whole lots cannot meet
        kept_soft = [
            lay.rows[k]
            for k in lay.soft_rows
            if row_violation(
                lay.rows[k],
                effective_bounds(lay.rows[k], limits),
                row_value(lay.rows[k], target, settings),
            )
            <= 1e-7
        ]
        a, b, _ = sides(hard_rows, limits, settings)
        soft = sides(kept_soft, limits, settings)[:2] if kept_soft else None
        lots = None
        method = self.method
        if method == "mip":
            lots = _mip(target, unit, a, b, self.max_nodes, soft)
            if lots is None:
                method = "greedy (mip fallback)"
        if lots is None:
            lots = _greedy(target, unit, a, b)
        lots = repair_caps(hard_rows, np.rint(lots).astype(int), unit, settings, limits)
        w = unit * lots
        violations = []
        for r in hard_rows:
            value = row_value(r, w, settings)
            if row_violation(r, effective_bounds(r, limits), value) > 1e-7 * max(1.0, abs(value)):
                violations.append(r.name)
        for c in lay.conic:
            if c.evaluate(w, data, settings) > c.limit_value(settings) + 1e-7:
                violations.append(c.name)
        value = objective.evaluate(w, data)
        rounding = Rounding(
            method=method,
            lots=pd.Series(lots, index=data.names, name="lots"),
            weights=pd.Series(w, index=data.names, name="weight"),
            objective_value=float(value),
            objective_lost=float(result.objective_value - value)
            if math.isfinite(value)
            else math.inf,
            distance=float(np.abs(w - target).sum()),
            seconds=time.perf_counter() - start,
            status="ok" if not violations else "violates " + ", ".join(violations[:5]),
            violations=tuple(violations),
            constraints=realised_rows(result.constraints, lay.rows, w, settings),
        )
        return dataclasses.replace(result, rounding=rounding)


def repair_caps(
    rows: list[Row],
    lots: np.ndarray,
    unit: np.ndarray,
    settings: Settings,
    limits: Mapping[str, Limit],
    max_steps: int = 1000,
) -> np.ndarray:
    """Take lots off, one at a time, while a cap (upper or absolute row) is exceeded.

    The integer program keeps the rows within HiGHS's feasibility tolerance, which for a
    currency limit scaled to weights can still leave a few currency units over (seen: 0.45 over
    a 3,333 vega limit). Each step removes one lot of the position pushing the first exceeded
    row hardest. Lower bounds are not repaired (they hold in practice with whole lots of the
    sizes seen); a row still exceeded after ``max_steps`` is left as is.
    """
    lots = lots.copy()
    caps = []
    for r in rows:
        upper = effective_bounds(r, limits)[1]
        if upper is not None:
            caps.append((r, upper))
    for _ in range(max_steps):
        w = lots * unit
        over = next(
            (r for r, up in caps if row_value(r, w, settings) > up * (1 + 1e-9) + 1e-12), None
        )
        if over is None:
            break
        raw = float(over.coeffs @ w)
        push = over.coeffs * unit * (np.sign(raw) if over.absolute else 1.0)
        push = np.where(lots > 0, push, -np.inf)
        i = int(np.argmax(push))
        if push[i] <= 0:
            break
        lots[i] -= 1
    return lots


def realised_rows(
    continuous: tuple[ConstraintRow, ...], rows: list[Row], w: np.ndarray, settings: Settings
) -> tuple[ConstraintRow, ...]:
    """The constraint rows with values realised at whole-lot weights ``w``.

    ``binding`` and ``dual`` stay those of the continuous optimum; a range row's ``limit`` is
    the side its value is nearer. Conic rows keep their continuous values.
    """
    by_name = {r.name: r for r in continuous}
    out = []
    for row in rows:
        cont = by_name.get(row.name)
        if cont is None:
            continue
        value = row_value(row, w, settings)
        limit = cont.upper if cont.upper is not None else cont.lower
        if (
            cont.lower is not None
            and cont.upper is not None
            and value < (cont.lower + cont.upper) / 2
        ):
            limit = cont.lower
        dual = cont.dual if cont.dual is not None and np.isfinite(cont.dual) else 0.0
        out.append(
            dataclasses.replace(
                cont,
                limit=float(limit if limit is not None else cont.limit),
                value=float(value),
                dual=float(dual),
            )
        )
    linear = {r.name for r in out}
    for cont in continuous:
        if cont.name not in linear:
            dual = cont.dual if np.isfinite(cont.dual) else 0.0
            out.append(dataclasses.replace(cont, dual=float(dual)))
    return tuple(out)


__all__ = ["LotRounding", "realised_rows", "repair_caps"]
