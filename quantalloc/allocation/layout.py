"""What every solve path shares: the labelled rows, the limits in force and the solution record.

``Layout`` is the structure an allocator's terms give a set of candidates (rows, which of them
are soft, the conic constraints, the budget row); :func:`settle` checks a solve's capital and
limit overrides against it and returns the settings in force; a path returns a ``Solution``
(weights, each row's dual in the row's unit, each conic constraint's dual), which the report
and lot rounding read whichever path produced it.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import Budget, LinearConstraint, Row
from quantalloc.allocation.context import Settings
from quantalloc.allocation.risk import ConicConstraint
from quantalloc.allocation.rows import Atoms, Limit, effective_bounds, row_values, stacked
from quantalloc.allocation.solvers import SolveOutcome
from quantalloc.errors import ConfigError


@dataclass
class Layout:
    """The rows and conic constraints of one allocator on one set of candidates."""

    rows: list[Row]
    soft_rows: list[int]
    conic: list[ConicConstraint]
    conic_defaults: list[float | None]
    budget_rows: list[int]
    soft_names: set[str] = field(default_factory=set)

    _matrix: sp.csr_matrix | None = field(default=None, repr=False)

    @property
    def hard_rows(self) -> list[Row]:
        """The rows that must hold (not turned into penalties)."""
        soft = set(self.soft_rows)
        return [r for k, r in enumerate(self.rows) if k not in soft]

    def values(self, w: np.ndarray, settings: Settings) -> np.ndarray:
        """Every row's realised value at weights ``w`` in its own unit (one product)."""
        if self._matrix is None:
            n = self.rows[0].coeffs.shape[0] if self.rows else w.shape[0]
            self._matrix = stacked(self.rows, n)
        return row_values(self.rows, self._matrix, w, settings)

    @property
    def hard_conic(self) -> list[ConicConstraint]:
        """The conic constraints that must hold."""
        return [c for c in self.conic if c.name not in self.soft_names]


def linear_rows(constraints: Sequence[LinearConstraint], data: Candidates) -> list[Row]:
    """Every labelled row the linear constraints produce; ConfigError on a repeated name."""
    rows = [r for c in constraints for r in c.rows(data)]
    dup = {n for n, count in Counter(r.name for r in rows).items() if count > 1}
    if dup:
        raise ConfigError(
            f"constraint names must be unique; repeated {sorted(dup)[:3]}; pass name= to one"
        )
    return rows


def layout(
    linear: Sequence[LinearConstraint],
    conic: Sequence[ConicConstraint],
    soft: Mapping[str, float],
    data: Candidates,
) -> Layout:
    """The layout of these terms on ``data`` (conic terms copied: a solve may move their limit)."""
    rows = linear_rows(linear, data)
    conic = [copy.deepcopy(c) for c in conic]
    unknown = set(soft) - {r.name for r in rows} - {r.source for r in rows}
    unknown -= {c.name for c in conic}
    if unknown:
        raise ConfigError(
            f"soft= names no constraint: {sorted(unknown)}; known: {[r.name for r in rows][:8]}"
        )
    budgets = {c.name for c in linear if isinstance(c, Budget)}
    return Layout(
        rows=rows,
        soft_rows=[k for k, r in enumerate(rows) if r.name in soft or r.source in soft],
        conic=conic,
        conic_defaults=[_adjustable(c) for c in conic],
        budget_rows=[k for k, r in enumerate(rows) if r.source in budgets],
        soft_names=set(soft),
    )


def settle(
    lay: Layout, capital: float, limits: Mapping[str, Limit] | None
) -> tuple[Settings, dict[str, Limit]]:
    """Check a solve's capital and limit overrides; the settings and limits in force.

    The budget fraction is the Budget row's upper limit after overrides (1 without one); a
    conic constraint named in ``limits`` takes that limit for this solve, the others their own.
    """
    limits = dict(limits or {})
    known = {r.name for r in lay.rows} | {r.source for r in lay.rows}
    known |= {c.name for c in lay.conic}
    unknown = set(limits) - known
    if unknown:
        raise ConfigError(
            f"limits= names no constraint: {sorted(unknown)}; known: {sorted(known)[:8]}"
        )
    if not capital > 0 or not math.isfinite(capital):
        raise ConfigError(f"capital must be a positive number; got {capital}", params="capital")
    budget = 1.0
    if lay.budget_rows:
        budget = effective_bounds(lay.rows[lay.budget_rows[0]], limits)[1] or 1.0
    for c, default in zip(lay.conic, lay.conic_defaults, strict=True):
        if c.name in limits:
            value = limits[c.name]
            c.set_limit(float(value if not isinstance(value, tuple) else value[1]))  # type: ignore[arg-type]
        elif default is not None:  # an override lasts one solve only
            c.set_limit(default)
    return Settings(capital=float(capital), budget=float(budget)), limits


@dataclass(frozen=True)
class Solution:
    """A solve path's answer: weights, duals per row (in its unit) and per conic constraint."""

    w: np.ndarray
    row_duals: np.ndarray
    conic_duals: dict[str, float]
    outcome: SolveOutcome
    compile_seconds: float


def row_duals(
    atoms: Atoms, y: np.ndarray | None, rows: Sequence[Row], settings: Settings
) -> np.ndarray:
    """Each row's dual in its own unit from the multipliers ``y`` of the stacked atoms."""
    duals = np.zeros(len(rows))
    if y is not None:
        for j, k in enumerate(atoms.row):
            duals[k] += y[j] * rows[k].scale(settings.capital, settings.budget)
    return duals


def _adjustable(c: ConicConstraint) -> float | None:
    try:
        return c.adjustable()
    except ConfigError:
        return None


__all__ = ["Layout", "Solution", "layout", "linear_rows", "row_duals", "settle"]
