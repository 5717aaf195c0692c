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
from typing import TYPE_CHECKING

import cvxpy as cp
import numpy as np
import pandas as pd

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import Row
from quantalloc.allocation.context import Settings
from quantalloc.allocation.result import AllocationResult, Rounding
from quantalloc.errors import ConfigError

if TYPE_CHECKING:
    from quantalloc.allocation.problem import Allocator, Compiled, Limit

FEAS_TOL = 1e-9


def _sides(
    rows: list[Row], limits: Mapping[str, Limit], settings: Settings
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Hard rows as ``A w <= b`` (weight space)."""
    from quantalloc.allocation.problem import effective_bounds

    coeffs, rhs, names = [], [], []
    for r in rows:
        lower, upper = effective_bounds(r, limits)
        scale = r.scale(settings.capital, settings.budget)
        if upper is not None:
            coeffs.append(r.coeffs)
            rhs.append(upper * scale)
            names.append(r.name)
            if r.absolute:
                coeffs.append(-r.coeffs)
                rhs.append(upper * scale)
                names.append(r.name)
        if lower is not None and not r.absolute:
            coeffs.append(-r.coeffs)
            rhs.append(-lower * scale)
            names.append(r.name)
    n = rows[0].coeffs.shape[0] if rows else 0
    a = np.vstack(coeffs) if coeffs else np.zeros((0, n))
    return a, np.asarray(rhs, dtype=float), names


def _mip(
    target: np.ndarray, unit: np.ndarray, a: np.ndarray, b: np.ndarray, max_nodes: int
) -> np.ndarray | None:
    """Whole lots closest (L1) to ``target`` that keep every row of ``a w <= b``.

    First within one lot above the continuous optimum (small and fast); when tight caps and
    floors leave no lattice point there, again with only ``lots >= 0``.
    """
    for upper in (np.ceil(target / unit) + 1, None):
        lots = _mip_within(target, unit, a, b, max_nodes, upper)
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
) -> np.ndarray | None:
    n = target.shape[0]
    lots = cp.Variable(n, integer=True)
    w = cp.multiply(unit, lots)
    cons = [lots >= 0] + ([lots <= upper] if upper is not None else [])
    if a.shape[0]:
        tol = FEAS_TOL * np.maximum(1.0, np.abs(b))
        cons.append(a @ w <= b + tol)
    problem = cp.Problem(cp.Minimize(cp.norm1(w - target)), cons)
    try:
        with warnings.catch_warnings():
            # a node-limited incumbent is expected and accepted ("user_limit"); not a warning
            warnings.simplefilter("ignore", UserWarning)
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
        allocator: Allocator,
        compiled: Compiled,
        settings: Settings,
        limits: Mapping[str, Limit],
    ) -> AllocationResult:
        """The result with ``rounding`` filled in."""
        from quantalloc.allocation.problem import effective_bounds, row_value, row_violation

        if data.lot_cost is None:
            raise ConfigError(
                "rounding to lots needs Candidates(lot_cost=...): the capital one lot ties up"
            )
        start = time.perf_counter()
        unit = data.lot_cost.to_numpy(dtype=float) / settings.capital
        target = result.weights.to_numpy(dtype=float)
        soft = set(compiled.soft_rows)
        hard_rows = [r for k, r in enumerate(compiled.rows) if k not in soft]
        a, b, _ = _sides(hard_rows, limits, settings)
        lots = None
        method = self.method
        if method == "mip":
            lots = _mip(target, unit, a, b, self.max_nodes)
            if lots is None:
                method = "greedy (mip fallback)"
        if lots is None:
            lots = _greedy(target, unit, a, b)
        w = unit * lots
        violations = []
        for r in hard_rows:
            value = row_value(r, w, settings)
            if row_violation(r, effective_bounds(r, limits), value) > 1e-7 * max(1.0, abs(value)):
                violations.append(r.name)
        for c, _ in compiled.conic:
            if c.evaluate(w, data, settings) > c.limit_value(settings) + 1e-7:
                violations.append(c.name)
        value = allocator.objective.evaluate(w, data)
        rounding = Rounding(
            method=method,
            lots=pd.Series(lots.astype(int), index=data.names, name="lots"),
            weights=pd.Series(w, index=data.names, name="weight"),
            objective_value=float(value),
            objective_lost=float(result.objective_value - value)
            if math.isfinite(value)
            else math.inf,
            distance=float(np.abs(w - target).sum()),
            seconds=time.perf_counter() - start,
            status="ok" if not violations else "violates " + ", ".join(violations[:5]),
            violations=tuple(violations),
        )
        return dataclasses.replace(result, rounding=rounding)
