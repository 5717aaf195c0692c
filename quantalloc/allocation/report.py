"""Reading a solution: constraint rows (value, binding, dual) and portfolio metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from quantalloc.allocation.atoms import Limit, effective_bounds
from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import Row
from quantalloc.allocation.context import Settings
from quantalloc.allocation.objectives import cvar, expected_log_growth
from quantalloc.allocation.result import ConstraintRow

if TYPE_CHECKING:
    from quantalloc.allocation.problem import Compiled

BINDING_TOL = 1e-5


def row_value(row: Row, w: np.ndarray, settings: Settings) -> float:
    """A row's realised value in its own unit (absolute value for ``|a.w|`` rows)."""
    raw = float(row.coeffs @ w) / row.scale(settings.capital, settings.budget)
    return abs(raw) if row.absolute else raw


def row_violation(row: Row, bounds: tuple[float | None, float | None], value: float) -> float:
    """How far ``value`` lies outside the row's bounds (0 when it holds)."""
    lower, upper = bounds
    excess = 0.0
    if upper is not None:
        excess = max(excess, value - upper)
    if lower is not None and not row.absolute:
        excess = max(excess, lower - value)
    return excess


def report_rows(
    data: Candidates,
    compiled: Compiled,
    settings: Settings,
    limits: Mapping[str, Limit],
    w: np.ndarray,
) -> list[ConstraintRow]:
    """Constraint rows (value, binding, dual) for weights ``w``."""
    duals = np.zeros(len(compiled.rows))
    con = compiled.lin_con
    y_all = compiled.atom_duals
    if y_all is None and con is not None and con.dual_value is not None:
        y_all = np.asarray(con.dual_value, dtype=float).ravel()
    for atoms, y in ((compiled.hard, y_all),):
        if y is not None:
            for j, k in enumerate(atoms.row):
                r = compiled.rows[k]
                duals[k] += y[j] * r.scale(settings.capital, settings.budget)
    soft = set(compiled.soft_rows)
    out = []
    for k, r in enumerate(compiled.rows):
        lower, upper = effective_bounds(r, limits)
        value = row_value(r, w, settings)
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
    for c, con in compiled.conic:
        value = c.evaluate(w, data, settings)
        limit = c.limit_value(settings)
        if con is None:  # solved outside cvxpy (working set): dual recorded by name
            dual_f = compiled.conic_duals.get(c.name, 0.0)
        else:
            dual = con.dual_value
            dual_f = float(np.asarray(dual).ravel()[0]) if dual is not None else 0.0
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
                soft=c.name in compiled.soft_names,
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
