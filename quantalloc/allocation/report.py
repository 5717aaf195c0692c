"""Reading a solution: constraint rows (value, binding, dual) and portfolio metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.context import Settings
from quantalloc.allocation.layout import Layout, Solution
from quantalloc.allocation.measures import cvar, expected_log_growth
from quantalloc.allocation.result import ConstraintRow
from quantalloc.allocation.rows import Limit, effective_bounds, row_violation

BINDING_TOL = 1e-5


def report_rows(
    data: Candidates,
    lay: Layout,
    settings: Settings,
    limits: Mapping[str, Limit],
    w: np.ndarray,
    solution: Solution,
) -> list[ConstraintRow]:
    """Constraint rows (value, binding, dual) for weights ``w`` and the solution's duals."""
    duals = solution.row_duals
    soft = set(lay.soft_rows)
    out = []
    values = lay.values(w, settings)
    for k, r in enumerate(lay.rows):
        lower, upper = effective_bounds(r, limits)
        value = float(values[k])
        viol = row_violation(r, (lower, upper), value)
        tol = BINDING_TOL * max(1.0, abs(value))
        near = (upper is not None and abs(upper - value) <= tol) or (
            lower is not None and not r.absolute and abs(value - lower) <= tol
        )
        kind = (
            "abs"
            if r.absolute
            else (
                "range"
                if lower is not None and upper is not None
                else ("upper" if upper is not None else "lower")
            )
        )
        limit = upper if upper is not None else lower
        out.append(
            ConstraintRow(
                name=r.name,
                kind=kind,
                limit=float(limit if limit is not None else math.nan),
                lower=lower,
                upper=upper,
                value=value,
                binding=bool(near or abs(duals[k]) > 1e-7),
                dual=float(duals[k]),
                unit=r.unit,
                soft=k in soft,
                violation=viol,
            )
        )
    for c in lay.conic:
        value = c.evaluate(w, data, settings)
        limit = c.limit_value(settings)
        dual_f = solution.conic_duals.get(c.name, 0.0)
        tol = 1e-4 * max(1.0, abs(limit))
        out.append(
            ConstraintRow(
                name=c.name,
                kind="conic",
                limit=limit,
                lower=None,
                upper=limit,
                value=value,
                binding=bool(abs(value - limit) <= tol or dual_f > 1e-7),
                dual=dual_f,
                unit=c.unit,
                soft=c.name in lay.soft_names,
                violation=max(0.0, value - limit),
            )
        )
    return out


def portfolio_metrics(w: np.ndarray, data: Candidates) -> dict[str, float]:
    """Expected log growth, expected return, CVaR 95%, worst scenario and invested fraction."""
    x = data.r @ w
    return {
        "expected_log_growth": expected_log_growth(w, data),
        "expected_return": float(data.p @ x),
        "cvar_95": cvar(w, data, 0.95),
        "worst_scenario_return": float(x.min()),
        "invested": float(w.sum()),
    }
