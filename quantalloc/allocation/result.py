"""The frozen result of an allocation, with pandas accessors."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class ConstraintRow:
    """One labelled constraint after solving.

    ``limit`` / ``lower`` / ``upper`` and ``value`` are in the constraint's unit;
    ``dual`` is the objective gained per unit of relaxation of the limit, in that unit; ``binding``
    is true when the value sits on a limit (within tolerance) or the dual is nonzero.
    """

    name: str
    kind: str
    limit: float
    lower: float | None
    upper: float | None
    value: float
    binding: bool
    dual: float
    unit: str
    soft: bool = False
    violation: float = 0.0


@dataclass(frozen=True)
class Rounding:
    """How the continuous optimum became whole lots (kept within every hard cap)."""

    method: str
    lots: pd.Series
    weights: pd.Series
    objective_value: float
    objective_lost: float
    distance: float
    seconds: float
    status: str
    violations: tuple[str, ...] = ()
    constraints: tuple[ConstraintRow, ...] = ()
    """The constraint rows with values realised at the whole lots (binding and duals from the
    continuous optimum)."""


@dataclass(frozen=True)
class AllocationResult:
    """Weights (fractions of capital), objective, status, timings and constraint rows."""

    weights: pd.Series
    capital: float
    objective_name: str
    objective_value: float
    status: str
    solver: str
    solve_seconds: float
    compile_seconds: float
    constraints: tuple[ConstraintRow, ...]
    metrics: dict[str, float] = field(default_factory=dict)
    rounding: Rounding | None = None
    attempts: tuple[tuple[str, str], ...] = ()

    @property
    def allocated(self) -> pd.Series:
        """Capital per candidate, in currency."""
        return self.weights * self.capital

    @property
    def lots(self) -> pd.Series | None:
        """Whole lots per candidate, when rounding was requested."""
        return None if self.rounding is None else self.rounding.lots

    @property
    def constraint_table(self) -> pd.DataFrame:
        """One row per labelled constraint: name, kind, limit, value, binding, dual, ..."""
        rows = [vars(r) for r in self.constraints]
        columns = list(ConstraintRow.__dataclass_fields__)
        return pd.DataFrame(rows, columns=columns).set_index("name")

    def constraint(self, name: str) -> ConstraintRow:
        """The row named ``name`` (KeyError listing a few known names otherwise)."""
        for row in self.constraints:
            if row.name == name:
                return row
        known = [r.name for r in self.constraints][:8]
        raise KeyError(f"no constraint named {name!r}; known: {known}")

    def nonzero(self, tol: float = 1e-9) -> pd.Series:
        """Weights above ``tol``, largest first."""
        w = self.weights[self.weights.abs() > tol]
        return w.sort_values(ascending=False)
